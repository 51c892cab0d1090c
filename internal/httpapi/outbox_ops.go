package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/outbox"
)

// OutboxMessageInfo describes an email or webhook in the outbox without
// anything personal: no address, subject line, body, URL or secret.
type OutboxMessageInfo struct {
	ID            string     `json:"id" doc:"Message id; also the Trustee-Delivery header of a webhook and the local part of an email's Message-ID."`
	SubjectID     string     `json:"subject_id,omitempty" doc:"Whose message it is, if a subject's."`
	Topic         string     `json:"topic" doc:"What it is about." example:"rights.verification_code"`
	Channel       string     `json:"channel" enum:"email,webhook"`
	Destination   string     `json:"destination" doc:"The recipient's email domain or the webhook's host; never the address or URL." example:"example.no"`
	Status        string     `json:"status" enum:"queued,delivered,dead,handled,cancelled" doc:"queued: waiting for an attempt; delivered; dead: given up (a dead letter); handled: closed by a person; cancelled."`
	Attempts      int        `json:"attempts" doc:"Delivery attempts made."`
	MaxAttempts   int        `json:"max_attempts" doc:"Attempts before it is dead-lettered."`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" doc:"When a queued message is tried next."`
	LastError     string     `json:"last_error,omitempty" doc:"Why the last attempt failed, or why it waits (e.g. SMTP not configured)." example:"HTTP 503"`
	LastCode      int        `json:"last_code,omitempty" doc:"Last HTTP status (webhook) or SMTP reply code (email)."`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	HandledAt     *time.Time `json:"handled_at,omitempty" doc:"When a person marked it handled, or it was cancelled."`
	HandledBy     string     `json:"handled_by,omitempty" doc:"Who marked it handled." example:"apikey:k3j5v7x9z2b4d6f8"`
	Note          string     `json:"note,omitempty" doc:"The note given when it was marked handled or cancelled."`
	HasPayload    bool       `json:"has_payload" doc:"Whether the encrypted message is still stored: while queued or dead; deleted once delivered, handled or cancelled."`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func outboxInfo(s outbox.Status) OutboxMessageInfo {
	return OutboxMessageInfo{
		ID: s.ID, SubjectID: s.SubjectID, Topic: s.Topic, Channel: s.Channel, Destination: s.Destination,
		Status: string(s.State), Attempts: s.Attempts, MaxAttempts: s.MaxAttempts, NextAttemptAt: optTime(s.NextAttemptAt),
		LastError: s.LastError, LastCode: s.LastCode, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		DeliveredAt: optTime(s.DeliveredAt), HandledAt: optTime(s.HandledAt), HandledBy: s.HandledBy, Note: s.Note,
		HasPayload: s.HasPayload,
	}
}

type listOutboxInput struct {
	Status  string `query:"status" enum:"queued,delivered,dead,handled,cancelled" doc:"Only messages in this status; dead lists the dead letters."`
	Topic   string `query:"topic" maxLength:"100" pattern:"^[a-z0-9._-]+$" doc:"Only this topic, e.g. breach.notice."`
	Subject string `query:"subject" maxLength:"128" pattern:"^[A-Za-z0-9._:-]+$" doc:"Only messages of this subject id."`
	Channel string `query:"channel" enum:"email,webhook" doc:"Only emails or only webhooks."`
	Cursor  string `query:"cursor" maxLength:"64" pattern:"^[0-9a-f-]+$" doc:"next_cursor of the previous page."`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Messages per page."`
}

type listOutboxOutput struct {
	Body struct {
		Messages   []OutboxMessageInfo `json:"messages" doc:"Newest first."`
		NextCursor string              `json:"next_cursor,omitempty" doc:"Pass as cursor for the next (older) page; absent on the last page."`
	}
}

type outboxIDInput struct {
	ID string `path:"id" pattern:"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" doc:"Message id."`
}

type outboxHandledInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" doc:"Message id."`
	Body struct {
		Note string `json:"note" minLength:"1" maxLength:"1000" doc:"What was done instead, e.g. \"Phoned the recipient's DPO, who confirmed the erasure.\" Kept with the message." example:"Confirmed the erasure with the recipient by phone."`
	}
}

type outboxMessageOutput struct {
	Body OutboxMessageInfo
}

// Audit actions of the outbox operations: a person deciding about a
// delivery (retrying it, or declaring it handled) is on the record.
const (
	actionOutboxRetry   = "outbox.retry"
	actionOutboxHandled = "outbox.handled"
)

func (s *Server) registerOutbox() {
	tag := "Outbox"

	list := op(http.MethodGet, "/v1/outbox", "listOutbox", "List outgoing emails and webhooks", auth.PermOutboxManage, tag)
	list.Description += " Newest first, filtered by status, topic, subject and channel, paged with a cursor. " +
		"Shows status, attempts and the last error, never addresses, subject lines, bodies, URLs or secrets. " +
		"status=dead lists the dead letters."
	register(s.api, list, func(ctx context.Context, in *listOutboxInput) (*listOutboxOutput, error) {
		if err := s.outboxReady(ctx); err != nil {
			return nil, err
		}
		limit := in.Limit
		if limit == 0 {
			limit = 100
		}
		msgs, err := s.deps.Outbox.List(ctx, caller(ctx).TenantID, outbox.Filter{
			State: outbox.State(in.Status), Topic: in.Topic, SubjectID: in.Subject, Channel: in.Channel,
			Before: in.Cursor, Limit: limit,
		})
		if err != nil {
			return nil, err
		}
		out := &listOutboxOutput{}
		out.Body.Messages = make([]OutboxMessageInfo, len(msgs))
		for i, m := range msgs {
			out.Body.Messages[i] = outboxInfo(m)
		}
		if len(msgs) == limit {
			out.Body.NextCursor = msgs[len(msgs)-1].ID
		}
		return out, nil
	})

	retry := op(http.MethodPost, "/v1/outbox/{id}/retry", "retryOutboxMessage", "Retry a message now", auth.PermOutboxManage, tag)
	retry.Description += " Makes the next attempt of a queued or dead message due now; a dead letter gets a fresh " +
		"series of attempts. 409 if it is already delivered, handled or cancelled. Audited (outbox.retry)."
	retry.Errors = append(retry.Errors, http.StatusNotFound, http.StatusConflict)
	register(s.api, retry, func(ctx context.Context, in *outboxIDInput) (*outboxMessageOutput, error) {
		if err := s.outboxReady(ctx); err != nil {
			return nil, err
		}
		tenantID := caller(ctx).TenantID
		if err := s.deps.Outbox.RetryNow(ctx, tenantID, in.ID); err != nil {
			return nil, outboxProblem(ctx, in.ID, err)
		}
		return s.outboxAfter(ctx, tenantID, in.ID, actionOutboxRetry, "retry requested")
	})

	handled := op(http.MethodPost, "/v1/outbox/{id}/handled", "markOutboxHandled", "Mark a message handled by hand", auth.PermOutboxManage, tag)
	handled.Description += " Records that a person took care of a queued or dead message another way (for example, " +
		"a recipient that never acknowledges was phoned): delivery stops, the encrypted message is deleted, and who " +
		"did it and the note are kept. 409 if it is already delivered, handled or cancelled. Audited (outbox.handled)."
	handled.Errors = append(handled.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, handled, func(ctx context.Context, in *outboxHandledInput) (*outboxMessageOutput, error) {
		if err := s.outboxReady(ctx); err != nil {
			return nil, err
		}
		p := caller(ctx)
		if err := s.deps.Outbox.MarkHandled(ctx, p.TenantID, in.ID, in.Body.Note, p.Actor()); err != nil {
			return nil, outboxProblem(ctx, in.ID, err)
		}
		return s.outboxAfter(ctx, p.TenantID, in.ID, actionOutboxHandled, "marked handled by hand")
	})
}

// outboxReady answers 503 when the server was assembled without an
// outbox (only the OpenAPI generator does that).
func (s *Server) outboxReady(ctx context.Context) error {
	if s.deps.Outbox == nil {
		return errf(ctx, http.StatusServiceUnavailable, "", "The outbox is not configured.")
	}
	return nil
}

// outboxAfter audits an action on a message and answers with its status.
// The note is not audited: it is free text and may name people.
func (s *Server) outboxAfter(ctx context.Context, tenantID, id, action, what string) (*outboxMessageOutput, error) {
	st, err := s.deps.Outbox.Get(ctx, tenantID, id)
	if err != nil {
		return nil, outboxProblem(ctx, id, err)
	}
	if s.deps.Audit != nil && s.deps.Store != nil {
		ev := s.auditEvent(ctx, action)
		ev.SubjectID = st.SubjectID
		ev.Reason = fmt.Sprintf("outbox message %s (%s, %s) %s", st.ID, st.Topic, st.Channel, what)
		if err := s.deps.Audit.Record(ctx, s.deps.Store, tenantID, ev); err != nil {
			return nil, err
		}
	}
	return &outboxMessageOutput{Body: outboxInfo(st)}, nil
}

// outboxProblem maps the outbox's errors onto problems.
func outboxProblem(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "This tenant has no outbox message %s.", id)
	case errors.Is(err, outbox.ErrFinal):
		return errf(ctx, http.StatusConflict, "", "Outbox message %s is already delivered, handled or cancelled.", id)
	case errors.Is(err, outbox.ErrInvalid):
		return errf(ctx, http.StatusUnprocessableEntity, "", "A note saying what was done is required.")
	}
	return err
}
