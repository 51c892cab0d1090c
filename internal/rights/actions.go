package rights

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/clock"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// open reports whether an action may still change r.
func open(r *Request) error {
	if final(r.Status) {
		return stateErr("the request is already %s", r.Status)
	}
	return nil
}

func text(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", inputErr(field, "is required")
	}
	if len(s) > maxStaffNote || !utf8.ValidString(s) {
		return "", inputErr(field, "must be at most %d bytes of text", maxStaffNote)
	}
	return s, nil
}

// contact returns the subject's email address for telling them about r,
// or "" when there is none.
func (s *Service) contact(ctx context.Context, r *Request, by Actor) (string, error) {
	if r.SubjectID == "" {
		return "", nil
	}
	c, err := s.Vault.ContactEmail(ctx, r.TenantID, r.SubjectID, "request "+r.ID, vault.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID})
	if errors.Is(err, vault.ErrNoContact) || errors.Is(err, vault.ErrNotFound) || errors.Is(err, vault.ErrErased) {
		return "", nil
	}
	return c, err
}

// Approved is the answer to Approve.
type Approved struct {
	Request *Request
	// PDFPassword opens the export's PDF. It is returned here once, to the
	// staff member who approved, and never stored or emailed: staff give it
	// to the person by another channel (phone, SMS, letter) than the email
	// that tells them the export is ready (see docs/rights.md).
	PDFPassword string
	// TransmitSecret signs the webhook that carries a portability export
	// to the other controller's URL; returned once, like PDFPassword, for
	// that controller to verify it.
	TransmitSecret string
	Recipients     []fulfil.RecipientStatus
}

// Approve fulfils a verified request through the Fulfiller and records the
// outcome. With nothing left to await from recipients the request is
// completed at once and the person told; otherwise it stays in progress
// until Complete. Approving again after a crash finishes the work (the
// Fulfiller is idempotent per request).
func (s *Service) Approve(ctx context.Context, tenantID, id string, by Actor) (*Approved, error) {
	if s.Fulfiller == nil {
		return nil, ErrNoFulfiller
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := s.approvable(r); err != nil {
		return nil, err
	}
	d := r.Details
	res, err := s.Fulfiller.Fulfil(ctx, fulfil.Input{TenantID: tenantID, RequestID: r.ID, SubjectID: r.SubjectID,
		Type: policy.RequestType(r.Type), Categories: d.Categories, Purpose: d.Purpose, ObjectionKind: d.ObjectionKind, Ground: d.Ground,
		AllowedPurposes: d.AllowedPurposes, Fields: d.Fields, Reason: d.Reason, Actor: by.ID, TransmitURL: d.TransmitURL})
	if err != nil {
		return nil, fmt.Errorf("rights: fulfil request %s: %w", r.ID, err)
	}
	recips, err := s.Fulfiller.Recipients(ctx, tenantID, r.ID)
	if err != nil {
		return nil, err
	}
	pending := slices.ContainsFunc(recips, func(x fulfil.RecipientStatus) bool { return !x.Done() })
	password, secret := res.PDFPassword, res.TransmitSecret
	res.PDFPassword, res.TransmitSecret = "", "" // never stored
	to, err := s.contact(ctx, r, by)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out, err := s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if err := s.approvable(r); err != nil {
			return err
		}
		r.State.Outcome = &Outcome{Result: res, At: now, Actor: by.ID}
		status := r.Status
		if !pending {
			status = StatusCompleted
			if err := s.mail(tx, r, to, "rights.completed", "completed:"+r.ID, completedMail(a, r, res.Summary)); err != nil {
				return err
			}
		}
		return s.transition(tx, r, status, by, "approved: "+res.Summary, "request.approve",
			fmt.Sprintf("fulfilled recipients=%d controls=%d export=%t", res.Recipients, len(res.Controls), res.ExportID != ""), now)
	})
	if err != nil {
		return nil, err
	}
	return &Approved{Request: out, PDFPassword: password, TransmitSecret: secret, Recipients: recips}, nil
}

// approvable says whether r may be fulfilled now.
func (s *Service) approvable(r *Request) error {
	if err := open(r); err != nil {
		return err
	}
	if !r.Verified() {
		return ErrNotVerified
	}
	if r.SubjectID == "" {
		return stateErr("the request matched no subject; there is nothing to fulfil (refuse or complete it with a note)")
	}
	if r.Status == StatusAwaitingController {
		return stateErr("the controller has not instructed us yet (processor mode)")
	}
	if ins := r.State.Instruction; ins != nil && ins.Decision == "refuse" {
		return stateErr("the controller instructed us to refuse this request")
	}
	return nil
}

// Extend extends the deadline once, with a reason the person is told:
// under GDPR by one or two further months, within the first month; under
// the CCPA by up to 45 days, within the first 45.
func (s *Service) Extend(ctx context.Context, tenantID, id, by string, reason string, actor Actor) (*Request, error) {
	reason, err := text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	period, perr := policy.ParsePeriod(by)
	if perr != nil {
		return nil, inputErr("by", "%q is not a period such as 1mo, 2mo or 45d", by)
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	to, err := s.contact(ctx, r, actor)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if err := open(r); err != nil {
			return err
		}
		if r.State.Extension != nil {
			return stateErr("the request was already extended on %s; the law allows one extension", day(r.State.Extension.At))
		}
		if policy.RequestType(r.Type) == policy.ReqCCPAOptOut || policy.RequestType(r.Type) == policy.ReqCCPALimit {
			return stateErr("opt-out and limit requests cannot be extended")
		}
		if nb := r.State.Schedule.ExtensionNoticeBy; !nb.IsZero() && now.After(nb) {
			return stateErr("an extension must be notified within the first period (by %s)", day(nb))
		}
		d, err := clock.RulesFor(a.Doc.Policy).Extend(policy.Jurisdiction(r.Jurisdiction), r.ReceivedAt, period)
		if err != nil {
			return inputErr("by", "%s", err.Error())
		}
		r.State.Extension = &Extension{By: period.String(), Reason: reason, At: now, Actor: actor.ID, PreviousDue: r.DueAt}
		r.DueAt = d.At
		r.State.Schedule.Rule = string(d.Rule)
		if err := s.mail(tx, r, to, "rights.extended", "extended:"+r.ID, extendedMail(a, r, reason)); err != nil {
			return err
		}
		return s.transition(tx, r, StatusExtended, actor, "extended by "+period.String()+": "+reason, "request.extend",
			"by "+period.String()+" due "+r.DueAt.Format(time.RFC3339), now)
	})
}

// RefuseInput is a refusal, or a fee instead of one.
type RefuseInput struct {
	Reason string // one of RefusalReasons
	Text   string
	// FeeAmount (minor units) and FeeCurrency ask for a fee instead of
	// refusing an excessive request, when the policy's fees are
	// excessive_only.
	FeeAmount   int64
	FeeCurrency string
}

// Refuse refuses a request with a reason, telling the person why and their
// options (complaint to the supervisory authority, judicial remedy); or,
// for an excessive request under a policy that allows fees, records a fee
// and tells the person, leaving the request open.
func (s *Service) Refuse(ctx context.Context, tenantID, id string, in RefuseInput, by Actor) (*Request, error) {
	if !slices.Contains(RefusalReasons, in.Reason) {
		return nil, inputErr("reason", "must be one of %s", strings.Join(RefusalReasons, ", "))
	}
	txt, err := text("text", in.Text, in.Reason == RefuseOther)
	if err != nil {
		return nil, err
	}
	fee := in.FeeAmount != 0 || in.FeeCurrency != ""
	if fee {
		if in.Reason != RefuseExcessive {
			return nil, inputErr("fee", "a fee may be asked only for an excessive request")
		}
		if in.FeeAmount <= 0 || in.FeeAmount > 1_000_000_00 {
			return nil, inputErr("fee.amount", "must be a positive amount in minor units (cents)")
		}
		if len(in.FeeCurrency) != 3 || strings.ToUpper(in.FeeCurrency) != in.FeeCurrency {
			return nil, inputErr("fee.currency", "must be an ISO 4217 code such as EUR")
		}
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	to, err := s.contact(ctx, r, by)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if err := open(r); err != nil {
			return err
		}
		if fee {
			if a.Doc.Policy.Rights.Fees != policy.FeesExcessiveOnly {
				return inputErr("fee", "the policy does not allow fees (rights.fees is not excessive_only)")
			}
			r.State.Fee = &Fee{Amount: in.FeeAmount, Currency: in.FeeCurrency, Text: txt, At: now, Actor: by.ID}
			if err := s.mail(tx, r, to, "rights.fee", "fee:"+r.ID, feeMail(a, r, r.State.Fee)); err != nil {
				return err
			}
			return s.transition(tx, r, r.Status, by, fmt.Sprintf("fee asked: %s %s", formatAmount(in.FeeAmount), in.FeeCurrency),
				"request.fee", "fee "+in.FeeCurrency, now)
		}
		r.State.Refusal = &Refusal{Reason: in.Reason, Text: txt, At: now, Actor: by.ID}
		if err := s.mail(tx, r, to, "rights.refused", "refused:"+r.ID, refusedMail(a, r, in.Reason, txt)); err != nil {
			return err
		}
		return s.transition(tx, r, StatusRefused, by, "refused ("+in.Reason+")"+optNote(txt), "request.refuse", "reason "+in.Reason, now)
	})
}

func optNote(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// Withdraw closes a request the person no longer wants answered.
func (s *Service) Withdraw(ctx context.Context, tenantID, id string, by Actor) (*Request, error) {
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	to, err := s.contact(ctx, r, by)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if err := open(r); err != nil {
			return err
		}
		if r.State.Outcome != nil {
			return stateErr("the request has already been carried out")
		}
		if err := s.mail(tx, r, to, "rights.withdrawn", "withdrawn:"+r.ID, withdrawnMail(a, r)); err != nil {
			return err
		}
		return s.transition(tx, r, StatusWithdrawn, by, "withdrawn by the person", "request.withdraw", "", now)
	})
}

// Complete closes a fulfilled request once every recipient concerned has
// acknowledged or been marked handled; a StateError otherwise.
func (s *Service) Complete(ctx context.Context, tenantID, id, note string, by Actor) (*Request, error) {
	note, err := text("note", note, false)
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := open(r); err != nil {
		return nil, err
	}
	if r.State.Outcome == nil && r.SubjectID != "" {
		return nil, stateErr("the request has not been approved (fulfilled) yet")
	}
	if r.State.Outcome == nil && note == "" {
		return nil, inputErr("note", "say how a request that matched no subject was answered")
	}
	if r.SubjectID != "" {
		if s.Fulfiller == nil {
			return nil, ErrNoFulfiller
		}
		recips, err := s.Fulfiller.Recipients(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		var waiting []string
		for _, x := range recips {
			if !x.Done() {
				waiting = append(waiting, x.Recipient+" ("+x.State+")")
			}
		}
		if len(waiting) > 0 {
			return nil, stateErr("recipients have not acknowledged yet: %s", strings.Join(waiting, ", "))
		}
	}
	to, err := s.contact(ctx, r, by)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if err := open(r); err != nil {
			return err
		}
		summary := note
		if r.State.Outcome != nil {
			summary = r.State.Outcome.Summary
		}
		if err := s.mail(tx, r, to, "rights.completed", "completed:"+r.ID, completedMail(a, r, summary)); err != nil {
			return err
		}
		return s.transition(tx, r, StatusCompleted, by, "completed"+optNote(note), "request.complete", "", now)
	})
}

// Instruct records a processor's customer's instruction on a request
// awaiting it: proceed (the request goes on to verification or work) or
// refuse (staff then refuse it with a reason).
func (s *Service) Instruct(ctx context.Context, tenantID, id, decision, note string, by Actor) (*Request, error) {
	if decision != "proceed" && decision != "refuse" {
		return nil, inputErr("decision", "must be proceed or refuse")
	}
	note, err := text("note", note, false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		if a.Doc.Policy.Mode != policy.ModeProcessor {
			return stateErr("instructions are recorded only for a processor tenant")
		}
		if r.Status != StatusAwaitingController {
			return stateErr("the request is %s, not awaiting the controller's instruction", r.Status)
		}
		r.State.Instruction = &Instruction{Decision: decision, Note: note, At: now, Actor: by.ID}
		to := r.Status
		if decision == "proceed" {
			to = StatusVerifying
			if r.Verified() {
				to = StatusInProgress
			}
		}
		return s.transition(tx, r, to, by, "controller instructed: "+decision+optNote(note), "request.instruct", "decision "+decision, now)
	})
}

// Recipients returns the propagation status of a request (empty without
// a Fulfiller or when nothing had to be passed on).
func (s *Service) Recipients(ctx context.Context, tenantID, id string) ([]fulfil.RecipientStatus, error) {
	if s.Fulfiller == nil {
		return nil, nil
	}
	return s.Fulfiller.Recipients(ctx, tenantID, id)
}

// MarkRecipientHandled records that a person told a recipient by hand.
func (s *Service) MarkRecipientHandled(ctx context.Context, tenantID, id, recipient, note string, by Actor) (*Request, error) {
	note, err := text("note", note, true)
	if err != nil {
		return nil, err
	}
	if s.Fulfiller == nil {
		return nil, ErrNoFulfiller
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if r.State.Outcome == nil {
		return nil, stateErr("the request has not been fulfilled yet")
	}
	recips, err := s.Fulfiller.Recipients(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(recips, func(x fulfil.RecipientStatus) bool { return x.Recipient == recipient }) {
		return nil, ErrNotFound
	}
	if err := s.Fulfiller.MarkHandled(ctx, tenantID, id, recipient, note, by.ID); err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		return s.transition(tx, r, r.Status, by, "recipient "+recipient+" handled by hand: "+note, "request.recipient_handled",
			"recipient "+recipient, now)
	})
}

// ExportLink returns a signed, single-use download link of the request's
// export in one format (json, csv, pdf).
func (s *Service) ExportLink(ctx context.Context, tenantID, id, format string) (string, time.Time, error) {
	if format != "json" && format != "csv" && format != "pdf" {
		return "", time.Time{}, inputErr("format", "must be json, csv or pdf")
	}
	if s.Exporter == nil {
		return "", time.Time{}, ErrNoFulfiller
	}
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if r.State.Outcome == nil || r.State.Outcome.ExportID == "" {
		return "", time.Time{}, ErrNoExport
	}
	return s.Exporter.Link(ctx, tenantID, r.State.Outcome.ExportID, format)
}
