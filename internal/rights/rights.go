// Package rights runs data-subject requests from intake to an answer: it
// takes requests from the API, the privacy center and staff, checks the
// requester's identity at the level the policy sets, keeps the statutory
// clock (internal/clock), records every status change in the request's
// history and the audit log, tells the person what happens through the
// outbox, and hands approved, verified requests to a fulfil.Fulfiller, which
// decides what fulfilling them means. See docs/rights.md.
package rights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/clock"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/inputerr"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Statuses of a request. The workflow is received → verifying →
// in_progress → (extended) → completed | refused | withdrawn; a processor
// tenant's requests wait in awaiting_controller for the customer's
// instruction.
const (
	StatusReceived           = "received"
	StatusVerifying          = "verifying"
	StatusAwaitingController = "awaiting_controller"
	StatusInProgress         = "in_progress"
	StatusExtended           = "extended"
	StatusCompleted          = "completed"
	StatusRefused            = "refused"
	StatusWithdrawn          = "withdrawn"
)

// Statuses lists every status, for validation and documentation.
var Statuses = []string{StatusReceived, StatusVerifying, StatusAwaitingController, StatusInProgress, StatusExtended,
	StatusCompleted, StatusRefused, StatusWithdrawn}

// final reports whether nothing more happens to a request in status s.
func final(s string) bool {
	return s == StatusCompleted || s == StatusRefused || s == StatusWithdrawn
}

// Channels a request arrives by.
const (
	ChannelAPI           = "api"
	ChannelPrivacyCenter = "privacy_center"
	ChannelStaff         = "staff"
)

// Refusal reasons (GDPR Art. 12(5), identity not verified Art. 12(6),
// exemptions such as Art. 17(3)).
const (
	RefuseManifestlyUnfounded = "manifestly_unfounded"
	RefuseExcessive           = "excessive"
	RefuseIdentityNotVerified = "identity_not_verified"
	RefuseExemption           = "exemption"
	RefuseOther               = "other"
)

// RefusalReasons lists the refusal reasons.
var RefusalReasons = []string{RefuseManifestlyUnfounded, RefuseExcessive, RefuseIdentityNotVerified, RefuseExemption, RefuseOther}

// Verification methods recorded on a request.
const (
	MethodNone      = "none"
	MethodEmailCode = "email_code"
	MethodAppToken  = "app_token"
	MethodManual    = "manual"
)

// Defaults of the workflow.
const (
	// CodeTTL is how long an emailed code is valid.
	CodeTTL = 15 * time.Minute
	// MaxCodeAttempts is how many wrong codes end a code; a new one must
	// then be sent.
	MaxCodeAttempts = 5
	// RepeatWindow is how far back a request of the same type by the same
	// subject makes a new one "repeated" (shown for the excessive
	// decision).
	RepeatWindow = 30 * 24 * time.Hour
	// DueSoonWithin is what due_soon means in listings.
	DueSoonWithin = 7 * 24 * time.Hour
	// RemindWithin is how close to its due date a request is when the
	// reminders job writes to the privacy contact.
	RemindWithin = 3 * 24 * time.Hour
	// sealPurpose is the keys.SealTenant purpose of request details.
	sealPurpose = "rights.request"
)

// Errors callers branch on. Messages never contain personal data.
var (
	ErrNotFound    = errors.New("no such request")
	ErrNoPolicy    = errors.New("the tenant has no policy yet")
	ErrBadCode     = errors.New("the code is wrong or has expired")
	ErrBadToken    = errors.New("the token is not valid")
	ErrNotVerified = errors.New("the requester's identity has not been verified")
	// ErrNoFulfiller means the server was built without fulfilment.
	ErrNoFulfiller = errors.New("fulfilment is not configured on this server")
	ErrNoExport    = errors.New("the request has no export")
	// ErrNoSubject means a subject id names no (live) subject.
	ErrNoSubject = errors.New("no such subject")
)

// StateError means the action is not possible in the request's current
// state (HTTP 409): completing with recipients outstanding, approving an
// unverified request, extending twice.
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

func stateErr(format string, args ...any) error {
	return &StateError{Msg: fmt.Sprintf(format, args...)}
}

// Actor is who acts on a request, for the audit log and the history.
type Actor struct {
	ID        string // "apikey:ab12", "staff:<id>", "cli", "subject", "system:rights"
	Role      string
	RequestID string // the HTTP request id, for the audit log
}

var systemActor = Actor{ID: "system:rights", Role: "system"}

// Service runs the workflow. The zero value is not usable; set Store,
// Tenants, Keys, Vault, Audit and Outbox. Fulfiller and Exporter are
// optional: without them approving and exports answer ErrNoFulfiller.
type Service struct {
	Store   store.Store
	Tenants *tenant.Service
	Keys    *keys.Manager
	Vault   *vault.Service
	Audit   *audit.Log
	Outbox  *outbox.Outbox
	// Fulfiller carries out approved requests (internal/fulfil).
	Fulfiller fulfil.Fulfiller
	// Exporter hands out download links of access exports.
	Exporter fulfil.Exporter
	// Clock is the time; nil means the system clock.
	Clock  clock.Clock
	Logger *slog.Logger
	// PublicFloor is the least time a privacy-center intake takes to
	// answer (default DefaultPublicFloor; negative: no floor). A known
	// identity costs more work (reading the address, sending the code)
	// than an unknown one; without a floor the answer's timing would tell
	// a stranger who is a customer.
	PublicFloor time.Duration
}

// DefaultPublicFloor is the default PublicFloor: above the time a known
// identity's intake takes on a loaded server.
const DefaultPublicFloor = 400 * time.Millisecond

// padPublic waits until at least the public floor has passed since start.
// It uses the real clock, not s.Clock: it is about what an observer sees.
func (s *Service) padPublic(ctx context.Context, start time.Time) {
	floor := s.PublicFloor
	if floor == 0 {
		floor = DefaultPublicFloor
	}
	d := floor - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *Service) now() time.Time { return clock.OrSystem(s.Clock).Now().UTC() }

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) active(ctx context.Context, tenantID string) (*tenant.Active, error) {
	a, err := s.Tenants.Active(ctx, tenantID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		return nil, ErrNoPolicy
	}
	return a, err
}

// State is the workflow's record of a request beyond the queue's columns,
// stored as JSON. It never holds personal values: codes only as MACs.
type State struct {
	CreatedBy string `json:"created_by"`
	// StaffVia is how a person reached staff: phone, letter, email,
	// in_person.
	StaffVia string `json:"staff_via,omitempty"`
	// IdentityKind is the kind of identifier the requester gave.
	IdentityKind string `json:"identity_kind,omitempty"`
	// Site is the privacy center site key of a public request.
	Site string `json:"site,omitempty"`

	Schedule     ScheduleInfo     `json:"schedule"`
	Verification VerificationInfo `json:"verification"`
	Repeated     int              `json:"repeated,omitempty"`
	Extension    *Extension       `json:"extension,omitempty"`
	Instruction  *Instruction     `json:"instruction,omitempty"`
	Outcome      *Outcome         `json:"outcome,omitempty"`
	Refusal      *Refusal         `json:"refusal,omitempty"`
	Fee          *Fee             `json:"fee,omitempty"`
	Acknowledged time.Time        `json:"acknowledged,omitzero"`
}

// ScheduleInfo are a request's deadlines, as computed at intake (and by an
// extension).
type ScheduleInfo struct {
	Rule              string    `json:"rule"`
	Calendar          string    `json:"calendar,omitempty"`
	LawDue            time.Time `json:"law_due"`
	SLADue            time.Time `json:"sla_due,omitzero"`
	ConfirmBy         time.Time `json:"confirm_by,omitzero"`
	ExtensionNoticeBy time.Time `json:"extension_notice_by,omitzero"`
	MaxExtended       time.Time `json:"max_extended,omitzero"`
}

// VerificationInfo is where the identity check stands.
type VerificationInfo struct {
	// Level is what the policy requires for the type.
	Level      string    `json:"level"`
	Method     string    `json:"method,omitempty"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	VerifiedBy string    `json:"verified_by,omitempty"`
	// Checked is what staff checked for a manual verification.
	Checked string `json:"checked,omitempty"`
	// CodeMAC is the MAC of the current code under the tenant's key; empty
	// when no code is outstanding.
	CodeMAC     []byte    `json:"code_mac,omitempty"`
	CodeExpires time.Time `json:"code_expires,omitzero"`
	CodeSentAt  time.Time `json:"code_sent_at,omitzero"`
	Attempts    int       `json:"attempts,omitempty"`
	// NoContact is set when no email address is on file to send a code to
	// (the identity matched nobody, or the subject has no email).
	NoContact bool `json:"no_contact,omitempty"`
}

// Verified reports whether the identity check is done.
func (v VerificationInfo) Verified() bool { return !v.VerifiedAt.IsZero() }

// Extension records an extension of the deadline.
type Extension struct {
	By     string    `json:"by"` // 1mo, 2mo, 45d...
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	// PreviousDue is the due time before the extension.
	PreviousDue time.Time `json:"previous_due"`
}

// Instruction is a processor's customer's decision on a request.
type Instruction struct {
	Decision string    `json:"decision"` // proceed | refuse
	Note     string    `json:"note,omitempty"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
}

// Outcome is what fulfilment did (fulfil.Result without the password).
type Outcome struct {
	fulfil.Result
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
}

// Refusal records why a request was refused.
type Refusal struct {
	Reason string    `json:"reason"`
	Text   string    `json:"text,omitempty"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
}

// Fee is a fee asked for an excessive request instead of refusing it
// (GDPR Art. 12(5)(a)), in minor units of the currency.
type Fee struct {
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Text     string    `json:"text,omitempty"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
}

// Details is what the person asked for (the parts of fulfil.Input a type
// uses). It may hold personal data, so it is sealed under the tenant's key
// at rest.
type Details struct {
	Categories      []string                   `json:"categories,omitempty"`
	Purpose         string                     `json:"purpose,omitempty"`
	ObjectionKind   string                     `json:"objection_kind,omitempty"`
	Ground          string                     `json:"ground,omitempty"`
	AllowedPurposes []string                   `json:"allowed_purposes,omitempty"`
	Fields          map[string]json.RawMessage `json:"fields,omitempty"`
	TransmitURL     string                     `json:"transmit_url,omitempty"`
	Reason          string                     `json:"reason,omitempty"`
}

func (d Details) empty() bool {
	return len(d.Categories) == 0 && d.Purpose == "" && d.ObjectionKind == "" && d.Ground == "" && len(d.AllowedPurposes) == 0 &&
		len(d.Fields) == 0 && d.TransmitURL == "" && d.Reason == ""
}

// Request is a request as the API and the console show it.
type Request struct {
	store.Request
	State   State
	Details Details
	History []store.RequestEvent
}

// Verified reports whether the requester's identity is verified.
func (r *Request) Verified() bool { return r.State.Verification.Verified() }

// Overdue reports whether the request is open past its due time.
func (r *Request) Overdue(now time.Time) bool {
	return r.ClosedAt.IsZero() && clock.Overdue(r.DueAt, now)
}

// DueSoon reports whether the request is open and due within DueSoonWithin.
func (r *Request) DueSoon(now time.Time) bool {
	return r.ClosedAt.IsZero() && clock.DueSoon(r.DueAt, now, DueSoonWithin)
}

func (s *Service) decode(ctx context.Context, row store.Request) (*Request, error) {
	r := &Request{Request: row}
	if len(row.State) > 0 {
		if err := json.Unmarshal(row.State, &r.State); err != nil {
			return nil, fmt.Errorf("rights: request %s: state: %w", row.ID, err)
		}
	}
	if len(row.Details) > 0 {
		plain, err := s.Keys.OpenTenant(ctx, row.TenantID, sealPurpose, []byte(row.ID), row.Details)
		if err != nil {
			return nil, fmt.Errorf("rights: request %s: details: %w", row.ID, err)
		}
		if err := json.Unmarshal(plain, &r.Details); err != nil {
			return nil, fmt.Errorf("rights: request %s: details: %w", row.ID, err)
		}
	}
	return r, nil
}

// encodeState puts r.State back into the row.
func (r *Request) encodeState() error {
	b, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	r.Request.State = b
	return nil
}

// Get returns a request with its history, or ErrNotFound.
func (s *Service) Get(ctx context.Context, tenantID, id string) (*Request, error) {
	var row store.Request
	var hist []store.RequestEvent
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		row, err = tx.GetRequest(tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		hist, err = tx.ListRequestEvents(tenantID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	r, err := s.decode(ctx, row)
	if err != nil {
		return nil, err
	}
	r.History = hist
	return r, nil
}

// Filter selects requests for the queue.
type Filter struct {
	Statuses  []string
	Type      string
	SubjectID string
	DueBefore time.Time
	// Overdue keeps open requests past their due time; DueSoon open ones
	// due within DueSoonWithin (and not yet overdue).
	Overdue bool
	DueSoon bool
	Limit   int
	Offset  int
}

// List returns the tenant's requests matching f, soonest due first.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]*Request, error) {
	for _, st := range f.Statuses {
		if !slices.Contains(Statuses, st) {
			return nil, inputErr("status", "%q is not a status (one of %s)", st, strings.Join(Statuses, ", "))
		}
	}
	if f.Type != "" && !slices.Contains(policy.RequestTypes, policy.RequestType(f.Type)) {
		return nil, inputErr("type", "%q is not a request type", f.Type)
	}
	now := s.now()
	sf := store.RequestFilter{TenantID: tenantID, Statuses: f.Statuses, Type: f.Type, SubjectID: f.SubjectID, DueBefore: f.DueBefore,
		Limit: f.Limit, Offset: f.Offset}
	if f.Overdue || f.DueSoon {
		sf.Open = true
		due := now
		if f.DueSoon {
			due = now.Add(DueSoonWithin)
		}
		if sf.DueBefore.IsZero() || due.Before(sf.DueBefore) {
			sf.DueBefore = due
		}
	}
	var rows []store.Request
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListRequests(sf)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Request, 0, len(rows))
	for _, row := range rows {
		r, err := s.decode(ctx, row)
		if err != nil {
			return nil, err
		}
		if f.Overdue && !r.Overdue(now) {
			continue
		}
		if f.DueSoon && !f.Overdue && r.Overdue(now) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// transition changes r's status inside tx: it updates the row (failing
// with ErrConflict if someone else changed it meanwhile), appends the
// history row and the audit event. note goes to the history only (it may
// hold personal data); auditReason to the audit log.
func (s *Service) transition(tx store.Tx, r *Request, to string, by Actor, note, action, auditReason string, at time.Time) error {
	from := r.Status
	r.Status = to
	r.UpdatedAt = at
	if final(to) && r.ClosedAt.IsZero() {
		r.ClosedAt = at
	}
	if err := r.encodeState(); err != nil {
		return err
	}
	if err := tx.UpdateRequest(r.Request); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	r.Version++
	if len(note) > 1024 {
		note = note[:1024]
	}
	if _, err := tx.AppendRequestEvent(store.RequestEvent{TenantID: r.TenantID, RequestID: r.ID, From: from, To: to, At: at,
		Actor: by.ID, Note: note}); err != nil {
		return err
	}
	reason := "request " + r.ID + " " + r.Type
	if from != to {
		reason += " " + orNone(from) + "->" + to
	}
	if auditReason != "" {
		reason += " " + auditReason
	}
	return s.Audit.Append(tx, r.TenantID, audit.Event{Actor: by.ID, Role: by.Role, RequestID: by.RequestID, Action: action,
		SubjectID: r.SubjectID, Outcome: audit.OutcomeOK, Reason: reason, At: at})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// update loads a request, lets fn change it inside a write transaction,
// and retries once when another writer changed it meanwhile.
func (s *Service) update(ctx context.Context, tenantID, id string, fn func(tx store.Tx, r *Request, a *tenant.Active) error) (*Request, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out *Request
	for attempt := 0; ; attempt++ {
		var row store.Request
		err = s.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			row, err = tx.GetRequest(tenantID, id)
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		r, err := s.decode(ctx, row)
		if err != nil {
			return nil, err
		}
		snapshot := *r
		err = s.Store.Write(ctx, func(tx store.Tx) error {
			cp := snapshot // a write may run more than once
			cp.State = cloneState(snapshot.State)
			if err := fn(tx, &cp, a); err != nil {
				return err
			}
			out = &cp
			return nil
		})
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		// Read back what was committed, with its history.
		if got, err := s.Get(ctx, tenantID, id); err == nil {
			return got, nil
		}
		return out, nil
	}
}

// cloneState deep-copies the parts of a state a write function changes.
func cloneState(s State) State {
	b, _ := json.Marshal(s)
	var c State
	_ = json.Unmarshal(b, &c)
	return c
}

func inputErr(field, format string, args ...any) error { return inputerr.New(field, format, args...) }

// InputError is bad input with every mistake located; nothing was changed.
type InputError = inputerr.Error

// FieldProblem is one mistake and the input field it concerns.
type FieldProblem = inputerr.FieldProblem
