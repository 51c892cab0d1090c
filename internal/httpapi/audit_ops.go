package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
)

// AuditEventInfo is one event of the audit log. It names fields and
// categories, never their values.
type AuditEventInfo struct {
	ID         string    `json:"id" doc:"Position in the log: <shard>.<seq>." example:"3.1042"`
	At         time.Time `json:"at" doc:"When it happened."`
	Actor      string    `json:"actor" doc:"Who acted: apikey:<id>, cli or system." example:"apikey:k3j5v7x9z2b4d6f8"`
	Role       string    `json:"role,omitempty" doc:"The actor's role."`
	Action     string    `json:"action" doc:"What was done, e.g. subject.read, subject.update, policy.apply, auth.denied, audit.verify." example:"subject.read"`
	SubjectID  string    `json:"subject_id,omitempty" doc:"Whose data, if a subject's."`
	Purpose    string    `json:"purpose,omitempty" doc:"The purpose given for the access."`
	Outcome    string    `json:"outcome" enum:"ok,denied,error"`
	Reason     string    `json:"reason,omitempty" doc:"Why the outcome, e.g. which fields were withheld and why." example:"withheld email:consent_missing"`
	RequestID  string    `json:"request_id,omitempty" doc:"The request that caused it."`
	Fields     []string  `json:"fields,omitempty" doc:"Field or collection names involved; never values."`
	Categories []string  `json:"categories,omitempty" doc:"Data categories involved."`
	Hash       string    `json:"hash" doc:"SHA-256 of this event chained to the one before it, hex."`
}

func auditEventInfo(e audit.StoredEvent) AuditEventInfo {
	return AuditEventInfo{
		ID: strconv.Itoa(e.Shard) + "." + strconv.FormatInt(e.Seq, 10), At: e.At,
		Actor: e.Actor, Role: e.Role, Action: e.Action, SubjectID: e.SubjectID, Purpose: e.Purpose,
		Outcome: e.Outcome, Reason: e.Reason, RequestID: e.RequestID, Fields: e.Fields, Categories: e.Categories,
		Hash: hex.EncodeToString(e.Hash),
	}
}

type listAuditInput struct {
	Subject string    `query:"subject" maxLength:"128" pattern:"^[A-Za-z0-9._:-]+$" doc:"Only events about this subject id."`
	Action  string    `query:"action" maxLength:"64" pattern:"^[a-z][a-z0-9_.]*$" doc:"Only this action, e.g. subject.read."`
	Actor   string    `query:"actor" maxLength:"128" pattern:"^[!-~]+$" doc:"Only this actor, e.g. apikey:<id>."`
	Since   time.Time `query:"since" doc:"Only events at or after this time (RFC 3339)."`
	Until   time.Time `query:"until" doc:"Only events before this time (RFC 3339)."`
	Cursor  string    `query:"cursor" maxLength:"128" doc:"next_cursor of the previous page."`
	Limit   int       `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Events per page."`
}

type listAuditOutput struct {
	Body struct {
		Events     []AuditEventInfo `json:"events" doc:"Newest first."`
		NextCursor string           `json:"next_cursor,omitempty" doc:"Pass as cursor for the next (older) page; absent on the last page."`
	}
}

// AuditBreak is the first broken link verification found.
type AuditBreak struct {
	Kind       string `json:"kind" enum:"hash_mismatch,prev_hash_mismatch,gap,head_mismatch,rows_beyond_head,stray_row,head_missing,bad_checkpoint_signature,checkpoint_chain,checkpoint_mismatch,rows_missing_after_checkpoint" doc:"What is wrong."`
	Shard      *int   `json:"shard,omitempty" doc:"The chain concerned; absent when the break is in the checkpoints alone."`
	Seq        int64  `json:"seq,omitempty" doc:"The first position in the chain that is wrong or missing."`
	Checkpoint int64  `json:"checkpoint,omitempty" doc:"The checkpoint concerned."`
	Detail     string `json:"detail" doc:"What was found."`
}

// AuditCheckpointInfo describes a signed checkpoint.
type AuditCheckpointInfo struct {
	Seq   int64     `json:"seq" doc:"Checkpoint number, 1 for the tenant's first."`
	At    time.Time `json:"at"`
	KeyID string    `json:"key_id" doc:"The audit key that signed it (first 8 bytes of the SHA-256 of the public key, hex)."`
}

// AuditReport is the outcome of verifying a tenant's audit log.
type AuditReport struct {
	Intact            bool                 `json:"intact" doc:"True when no broken link was found."`
	Shards            int                  `json:"shards" doc:"Hash chains the tenant's log is made of."`
	Events            int64                `json:"events" doc:"Events verified (those appended while verifying are left to the next run)."`
	Checkpoints       int64                `json:"checkpoints" doc:"Signed checkpoints verified."`
	SignaturesChecked bool                 `json:"signatures_checked" doc:"Whether checkpoint signatures were checked with the tenant's audit key."`
	LastCheckpoint    *AuditCheckpointInfo `json:"last_checkpoint,omitempty" doc:"The newest checkpoint; events after it rest on their hash chain alone."`
	Break             *AuditBreak          `json:"break,omitempty" doc:"The first broken link, when not intact."`
}

func auditReport(r audit.Report) AuditReport {
	out := AuditReport{Intact: r.Intact, Shards: r.Shards, Events: r.Events, Checkpoints: r.Checkpoints, SignaturesChecked: r.SignaturesChecked}
	if c := r.LastCheckpoint; c != nil {
		out.LastCheckpoint = &AuditCheckpointInfo{Seq: c.Seq, At: c.At, KeyID: c.KeyID}
	}
	if b := r.Break; b != nil {
		out.Break = &AuditBreak{Kind: string(b.Kind), Seq: b.Seq, Checkpoint: b.Checkpoint, Detail: b.Detail}
		if b.Shard >= 0 {
			shard := b.Shard
			out.Break.Shard = &shard
		}
	}
	return out
}

type verifyAuditOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         AuditReport
}

// Audit actions of these operations: reading the audit log is itself
// recorded, as it reveals who accessed whose data.
const (
	actionAuditList   = "audit.list"
	actionAuditVerify = "audit.verify"
)

func (s *Server) registerAudit() {
	tag := "Audit"

	list := op(http.MethodGet, "/v1/audit", "listAuditEvents", "List audit events", auth.PermAuditRead, tag)
	list.Description += " Newest first, filtered by subject, action, actor and time, paged with an opaque cursor. " +
		"Events name fields and categories, never values. Each call is itself audited (audit.list)."
	list.Errors = append(list.Errors, http.StatusBadRequest)
	register(s.api, list, func(ctx context.Context, in *listAuditInput) (*listAuditOutput, error) {
		if err := s.auditReady(ctx); err != nil {
			return nil, err
		}
		p := caller(ctx)
		page, err := audit.List(ctx, s.deps.Store, p.TenantID, audit.Filter{
			SubjectID: in.Subject, Action: in.Action, Actor: in.Actor, Since: in.Since, Until: in.Until,
			Cursor: in.Cursor, Limit: in.Limit,
		})
		if errors.Is(err, audit.ErrBadCursor) {
			return nil, errf(ctx, http.StatusBadRequest, "", "The cursor is not one this API returned; start again without it.")
		}
		if err != nil {
			return nil, err
		}
		ev := s.auditEvent(ctx, actionAuditList)
		ev.SubjectID = in.Subject
		ev.Reason = fmt.Sprintf("%d event(s) listed", len(page.Events))
		if err := s.deps.Audit.Record(ctx, s.deps.Store, p.TenantID, ev); err != nil {
			return nil, err // no unaudited reads, of the audit log either
		}
		out := &listAuditOutput{}
		out.Body.Events = make([]AuditEventInfo, len(page.Events))
		for i, e := range page.Events {
			out.Body.Events[i] = auditEventInfo(e)
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	verify := op(http.MethodGet, "/v1/audit/verify", "verifyAuditLog", "Verify the audit log", auth.PermAuditRead, tag)
	verify.Description += " Walks every hash chain of the tenant's audit log and checks the signed checkpoints, " +
		"and reports the first broken link: an edited, deleted, inserted or reordered row. " +
		"A broken log is a 200 with intact false; errors mean the log could not be read. " +
		"Large logs may take longer than a request may last; `trustee audit verify` has no such limit. " +
		"Each call is itself audited (audit.verify)."
	register(s.api, verify, func(ctx context.Context, _ *struct{}) (*verifyAuditOutput, error) {
		if err := s.auditReady(ctx); err != nil {
			return nil, err
		}
		p := caller(ctx)
		rep, err := s.deps.Audit.VerifyTenant(ctx, s.deps.Store, p.TenantID)
		if err != nil {
			return nil, err
		}
		ev := s.auditEvent(ctx, actionAuditVerify)
		if rep.Intact {
			ev.Reason = fmt.Sprintf("intact: %d event(s) in %d shard(s), %d checkpoint(s)", rep.Events, rep.Shards, rep.Checkpoints)
		} else {
			ev.Reason = "broken: " + rep.Break.String()
		}
		if !rep.SignaturesChecked {
			ev.Reason += "; signatures not checked"
		}
		if err := s.deps.Audit.Record(ctx, s.deps.Store, p.TenantID, ev); err != nil {
			return nil, err
		}
		return &verifyAuditOutput{CacheControl: "no-store", Body: auditReport(rep)}, nil
	})
}

// auditReady answers 503 when the server was assembled without an audit
// log (only the OpenAPI generator does that).
func (s *Server) auditReady(ctx context.Context) error {
	if s.deps.Audit == nil || s.deps.Store == nil {
		return errf(ctx, http.StatusServiceUnavailable, "", "The audit log is not configured.")
	}
	return nil
}

// auditEvent is the event recording the caller's own access to the log.
func (s *Server) auditEvent(ctx context.Context, action string) audit.Event {
	p := caller(ctx)
	return audit.Event{Actor: p.Actor(), Role: string(p.Role), Action: action, Outcome: audit.OutcomeOK, RequestID: RequestID(ctx)}
}
