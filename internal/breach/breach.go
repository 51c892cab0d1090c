// Package breach is the personal data breach register (GDPR Art. 33 and
// 34): incidents with their nature, categories, scope, likely consequences
// and measures; the affected set computed from the audit log (who a leaked
// API key read, whose data in given categories was stored in a window) or
// given explicitly; a risk suggestion the DPO confirms or overrides; the
// 72-hour clock for telling the supervisory authority, with the notification
// document Art. 33(3) requires; and notices to the people affected through
// the outbox, tracked per person.
//
// The register holds ids and the controller's own descriptions only: no
// personal data values. Every change is audited. Only GDPR-style rules are
// implemented; Details.Regime is the seam for US state breach laws.
package breach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/inputerr"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// AuthorityDeadline is the time from awareness within which the supervisory
// authority must be told (Art. 33(1)): 72 hours, not working days.
const AuthorityDeadline = 72 * time.Hour

// Risk levels, from the risk to people's rights and freedoms (Art. 33(1),
// 34(1)): none or low needs no notice to people (and none to the authority
// when the breach is unlikely to result in a risk); risk needs the
// authority; high needs the people affected too.
const (
	RiskNone = "none"
	RiskLow  = "low"
	RiskRisk = "risk"
	RiskHigh = "high"
)

// RegimeGDPR is the only notification regime implemented (GDPR and UK
// GDPR); Details.Regime names it so others can be added.
const RegimeGDPR = "gdpr"

// Service is the breach register. It is safe for concurrent use.
type Service struct {
	Store   store.Store
	Tenants *tenant.Service
	Vault   *vault.Service
	Audit   *audit.Log
	// Outbox sends the notices to people; nil refuses NotifyPeople.
	Outbox *outbox.Outbox
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Actor is who acts, for the audit log.
type Actor struct {
	ID        string // e.g. "apikey:ab12..." or "cli"
	Role      string
	RequestID string
}

// Errors callers branch on.
var (
	ErrNotFound = errors.New("breach: no such breach")
	// ErrState means the step does not fit where the breach is (notifying
	// people of a breach not assessed as high risk, changing a closed one).
	ErrState = errors.New("breach: not possible in the breach's current state")
	// ErrNoOutbox means no outbox is configured to send notices.
	ErrNoOutbox = errors.New("breach: no outbox to send notices")
)

// StateError explains an ErrState.
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrState) true.
func (e *StateError) Unwrap() error { return ErrState }

func stateErr(format string, args ...any) error {
	return &StateError{Msg: fmt.Sprintf(format, args...)}
}

// Scope says whose data the breach concerns. The affected set is the union
// of what each part finds.
type Scope struct {
	// SubjectIDs are subjects known to be concerned.
	SubjectIDs []string `json:"subject_ids,omitempty" yaml:"subject_ids,omitempty"`
	// APIKeyIDs are compromised API keys: every subject they read in the
	// window is concerned. Actors does the same for any audit actor
	// ("apikey:<id>", "staff:<id>", ...).
	APIKeyIDs []string `json:"api_key_ids,omitempty" yaml:"api_key_ids,omitempty"`
	Actors    []string `json:"actors,omitempty" yaml:"actors,omitempty"`
	// Categories limit reads by those actors to these data categories (a
	// category covers its sub-categories); without actors, every subject
	// whose data in these categories was stored or changed in the window is
	// concerned.
	Categories []string `json:"categories,omitempty" yaml:"categories,omitempty"`
	// From and Until bound the window of access (Until exclusive); zero
	// means open-ended.
	From  time.Time `json:"from,omitzero" yaml:"from,omitempty"`
	Until time.Time `json:"until,omitzero" yaml:"until,omitempty"`
}

// Empty reports whether the scope names nothing to search.
func (s Scope) Empty() bool {
	return len(s.SubjectIDs) == 0 && len(s.APIKeyIDs) == 0 && len(s.Actors) == 0 && len(s.Categories) == 0 &&
		s.From.IsZero() && s.Until.IsZero()
}

// actors returns every audit actor of the scope.
func (s Scope) actors() []string {
	out := append([]string{}, s.Actors...)
	for _, k := range s.APIKeyIDs {
		out = append(out, "apikey:"+k)
	}
	return out
}

// Contact is a DPO or contact point given with the breach, overriding the
// policy's.
type Contact = policy.Contact

// Details is the descriptive part of a breach, stored as JSON.
type Details struct {
	Regime string `json:"regime"`
	// Nature is what happened (Art. 33(3)(a)).
	Nature string `json:"nature"`
	// Categories are the data categories concerned.
	Categories []string `json:"categories,omitempty"`
	Scope      Scope    `json:"scope"`
	// ApproxRecords is the approximate number of personal data records
	// concerned, if known (Art. 33(3)(a)); 0 means unknown.
	ApproxRecords int64 `json:"approx_records,omitempty"`
	// Consequences are the likely consequences (Art. 33(3)(c)); Measures
	// the measures taken or proposed, including to mitigate (Art. 33(3)(d)).
	Consequences string `json:"consequences"`
	Measures     string `json:"measures"`
	// PersonAdvice is what people can do to protect themselves, for the
	// notice (Art. 34(2)).
	PersonAdvice string `json:"person_advice,omitempty"`
	// DPO overrides the policy's DPO contact (Art. 33(3)(b)).
	DPO *Contact `json:"dpo,omitempty"`
	// Encrypted: the data concerned stayed encrypted and the keys were not
	// compromised (a copy of the data store without the key store).
	Encrypted bool `json:"encrypted,omitempty"`
	// Children: children's data is concerned.
	Children bool `json:"children,omitempty"`

	// Assessment is the risk suggestion and the DPO's confirmation.
	Assessment *Assessment `json:"assessment,omitempty"`
	// Authority records the notification of the supervisory authority.
	Authority *AuthorityNotice `json:"authority,omitempty"`
	// AffectedComputedAt is when the affected set was last computed.
	AffectedComputedAt time.Time `json:"affected_computed_at,omitzero"`
	// CloseNote says why the breach was closed.
	CloseNote string `json:"close_note,omitempty"`
}

// Assessment is the DPO's risk decision.
type Assessment struct {
	Suggested string    `json:"suggested"`
	Reasons   []string  `json:"reasons,omitempty"`
	Confirmed string    `json:"confirmed"`
	Override  string    `json:"override_reason,omitempty"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// AuthorityNotice is the notification of the supervisory authority.
type AuthorityNotice struct {
	At          time.Time `json:"at"`
	Reference   string    `json:"reference,omitempty"`
	DelayReason string    `json:"delay_reason,omitempty"`
	Late        bool      `json:"late"`
	By          string    `json:"by"`
}

// Breach is a breach as the register shows it.
type Breach struct {
	store.Breach
	Details Details
	// Deadline is AwareAt + 72 hours; Overdue is true when it has passed
	// and the authority was not told (or was told late).
	Deadline time.Time
	Overdue  bool
	// Notices counts the affected set per notice state; Affected is the
	// total.
	Notices  map[string]int64
	Affected int64
	// Suggested is the current risk suggestion with its reasons.
	Suggested        string
	SuggestedReasons []string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Input is a new breach, or the fields of an update.
type Input struct {
	Title         string    `json:"title" yaml:"title"`
	Nature        string    `json:"nature" yaml:"nature"`
	DetectedAt    time.Time `json:"detected_at" yaml:"detected_at"`
	AwareAt       time.Time `json:"aware_at,omitzero" yaml:"aware_at,omitempty"`
	Categories    []string  `json:"categories,omitempty" yaml:"categories,omitempty"`
	Scope         Scope     `json:"scope" yaml:"scope,omitempty"`
	ApproxRecords int64     `json:"approx_records,omitempty" yaml:"approx_records,omitempty"`
	Consequences  string    `json:"consequences" yaml:"consequences"`
	Measures      string    `json:"measures" yaml:"measures"`
	PersonAdvice  string    `json:"person_advice,omitempty" yaml:"person_advice,omitempty"`
	DPO           *Contact  `json:"dpo,omitempty" yaml:"dpo,omitempty"`
	Encrypted     bool      `json:"encrypted,omitempty" yaml:"encrypted,omitempty"`
	Children      bool      `json:"children,omitempty" yaml:"children,omitempty"`
}

// Limits of the input.
const (
	maxTitle    = 200
	maxText     = 8000
	maxList     = 1000
	maxName     = 128
	maxReason   = 2000
	maxAffected = 10_000_000
)

// validate checks in against the policy's taxonomy (nil: no policy).
func (in *Input) validate(tax *policy.Taxonomy, now time.Time) error {
	var ie InputError
	in.Title, in.Nature = strings.TrimSpace(in.Title), strings.TrimSpace(in.Nature)
	if in.Title == "" {
		ie.Add("title", "is required")
	} else if len(in.Title) > maxTitle {
		ie.Add("title", "must be at most %d bytes", maxTitle)
	}
	if in.Nature == "" {
		ie.Add("nature", "is required: say what happened (Art. 33(3)(a))")
	}
	for _, f := range []struct{ name, v string }{{"nature", in.Nature}, {"consequences", in.Consequences}, {"measures", in.Measures}, {"person_advice", in.PersonAdvice}} {
		if len(f.v) > maxText {
			ie.Add(f.name, "must be at most %d bytes", maxText)
		}
	}
	if in.DetectedAt.IsZero() {
		ie.Add("detected_at", "is required")
	} else if in.DetectedAt.After(now.Add(5 * time.Minute)) {
		ie.Add("detected_at", "lies in the future")
	}
	if in.AwareAt.IsZero() {
		in.AwareAt = in.DetectedAt
	}
	if !in.AwareAt.IsZero() {
		if in.AwareAt.After(now.Add(5 * time.Minute)) {
			ie.Add("aware_at", "lies in the future")
		}
		if !in.DetectedAt.IsZero() && in.AwareAt.Before(in.DetectedAt) {
			ie.Add("aware_at", "is before detected_at")
		}
	}
	if in.ApproxRecords < 0 || in.ApproxRecords > 1<<50 {
		ie.Add("approx_records", "must be a count")
	}
	checkNames := func(field string, names []string, category bool) {
		if len(names) > maxList {
			ie.Add(field, "has more than %d entries", maxList)
			return
		}
		for i, n := range names {
			switch {
			case n == "" || len(n) > maxName || strings.ContainsAny(n, " \t\r\n"):
				ie.Add(fmt.Sprintf("%s[%d]", field, i), "must be a name of at most %d characters without spaces", maxName)
			case category && tax != nil && !tax.Has(n):
				ie.Add(fmt.Sprintf("%s[%d]", field, i), "is not a data category of the policy")
			}
		}
	}
	checkNames("categories", in.Categories, true)
	checkNames("scope.categories", in.Scope.Categories, true)
	checkNames("scope.api_key_ids", in.Scope.APIKeyIDs, false)
	checkNames("scope.actors", in.Scope.Actors, false)
	checkNames("scope.subject_ids", in.Scope.SubjectIDs, false)
	if !in.Scope.From.IsZero() && !in.Scope.Until.IsZero() && !in.Scope.Until.After(in.Scope.From) {
		ie.Add("scope.until", "must be after scope.from")
	}
	if in.DPO != nil && (strings.TrimSpace(in.DPO.Name) == "" || len(in.DPO.Name)+len(in.DPO.Email)+len(in.DPO.Address)+len(in.DPO.Phone) > maxText) {
		ie.Add("dpo.name", "is required when a DPO contact is given")
	}
	in.DetectedAt, in.AwareAt = in.DetectedAt.UTC(), in.AwareAt.UTC()
	in.Scope.From, in.Scope.Until = in.Scope.From.UTC(), in.Scope.Until.UTC()
	if in.Scope.From.IsZero() {
		in.Scope.From = time.Time{}
	}
	if in.Scope.Until.IsZero() {
		in.Scope.Until = time.Time{}
	}
	return ie.Err()
}

// taxonomy returns the active policy's taxonomy, or nil without a policy.
func (s *Service) policyDoc(ctx context.Context, tenantID string) (*policy.Document, error) {
	if s.Tenants == nil {
		return nil, nil
	}
	a, err := s.Tenants.Active(ctx, tenantID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return a.Doc, nil
}

func taxOf(doc *policy.Document) *policy.Taxonomy {
	if doc == nil {
		return nil
	}
	return doc.Taxonomy()
}

// event builds an audit event about breach id: no personal data, the
// breach id in the reason.
func (a Actor) event(action, id, extra string) audit.Event {
	reason := "breach " + id
	if extra != "" {
		reason += " " + extra
	}
	return audit.Event{Actor: a.ID, Role: a.Role, Action: action, RequestID: a.RequestID, Outcome: audit.OutcomeOK, Reason: reason}
}

// Create records a new breach as open.
func (s *Service) Create(ctx context.Context, tenantID string, in Input, by Actor) (Breach, error) {
	now := s.now()
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return Breach{}, err
	}
	if err := in.validate(taxOf(doc), now); err != nil {
		return Breach{}, err
	}
	d := Details{Regime: RegimeGDPR}
	applyInput(&d, in)
	raw, err := json.Marshal(d)
	if err != nil {
		return Breach{}, err
	}
	b := store.Breach{TenantID: tenantID, ID: store.NewID(), Status: store.BreachOpen, Title: in.Title,
		DetectedAt: in.DetectedAt, AwareAt: in.AwareAt, Details: string(raw), CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.InsertBreach(b); err != nil {
			return err
		}
		ev := by.event("breach.create", b.ID, "")
		ev.Categories = in.Categories
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Breach{}, err
	}
	return s.Get(ctx, tenantID, b.ID)
}

func applyInput(d *Details, in Input) {
	d.Nature, d.Categories, d.Scope, d.ApproxRecords = in.Nature, in.Categories, in.Scope, in.ApproxRecords
	d.Consequences, d.Measures, d.PersonAdvice, d.DPO = in.Consequences, in.Measures, in.PersonAdvice, in.DPO
	d.Encrypted, d.Children = in.Encrypted, in.Children
}

func inputOf(b store.Breach, d Details) Input {
	return Input{Title: b.Title, Nature: d.Nature, DetectedAt: b.DetectedAt, AwareAt: b.AwareAt, Categories: d.Categories,
		Scope: d.Scope, ApproxRecords: d.ApproxRecords, Consequences: d.Consequences, Measures: d.Measures,
		PersonAdvice: d.PersonAdvice, DPO: d.DPO, Encrypted: d.Encrypted, Children: d.Children}
}

// Update replaces the descriptive fields with what fn makes of them (fn
// gets the current values). A closed breach cannot change.
func (s *Service) Update(ctx context.Context, tenantID, id string, fn func(*Input), by Actor) (Breach, error) {
	now := s.now()
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return Breach{}, err
	}
	err = s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		if b.Status == store.BreachClosed {
			return stateErr("the breach is closed")
		}
		in := inputOf(*b, *d)
		fn(&in)
		if err := in.validate(taxOf(doc), now); err != nil {
			return err
		}
		applyInput(d, in)
		b.Title, b.DetectedAt, b.AwareAt = in.Title, in.DetectedAt, in.AwareAt
		ev := by.event("breach.update", id, "")
		ev.Categories = in.Categories
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Breach{}, err
	}
	return s.Get(ctx, tenantID, id)
}

// mutate loads a breach in a write transaction, lets fn change it and
// stores it.
func (s *Service) mutate(ctx context.Context, tenantID, id string, fn func(tx store.Tx, b *store.Breach, d *Details) error) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		b, err := tx.GetBreach(tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var d Details
		if err := json.Unmarshal([]byte(b.Details), &d); err != nil {
			return fmt.Errorf("breach %s: stored details: %w", id, err)
		}
		if err := fn(tx, &b, &d); err != nil {
			return err
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		b.Details, b.UpdatedAt = string(raw), s.now()
		return tx.UpdateBreach(b)
	})
}

// Get returns one breach with its clock, notice counts and risk suggestion.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Breach, error) {
	var b store.Breach
	var counts map[string]int64
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if b, err = tx.GetBreach(tenantID, id); err != nil {
			return err
		}
		counts, err = tx.CountBreachAffected(tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Breach{}, ErrNotFound
	}
	if err != nil {
		return Breach{}, err
	}
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return Breach{}, err
	}
	return s.view(b, counts, taxOf(doc))
}

func (s *Service) view(b store.Breach, counts map[string]int64, tax *policy.Taxonomy) (Breach, error) {
	out := Breach{Breach: b, Notices: counts, Deadline: b.AwareAt.Add(AuthorityDeadline)}
	if err := json.Unmarshal([]byte(b.Details), &out.Details); err != nil {
		return Breach{}, fmt.Errorf("breach %s: stored details: %w", b.ID, err)
	}
	if out.Notices == nil {
		out.Notices = map[string]int64{}
	}
	for _, n := range out.Notices {
		out.Affected += n
	}
	if a := out.Details.Authority; a != nil {
		out.Overdue = a.Late
	} else {
		out.Overdue = s.now().After(out.Deadline) && b.Status != store.BreachClosed
	}
	out.Suggested, out.SuggestedReasons = Suggest(out.Details, out.Affected, tax)
	return out, nil
}

// List returns up to limit breaches, newest first (without counts).
func (s *Service) List(ctx context.Context, tenantID string, limit int) ([]Breach, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []store.Breach
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListBreaches(tenantID, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]Breach, 0, len(rows))
	for _, r := range rows {
		v, err := s.view(r, nil, taxOf(doc))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ValidRisk reports whether level is a risk level.
func ValidRisk(level string) bool {
	switch level {
	case RiskNone, RiskLow, RiskRisk, RiskHigh:
		return true
	}
	return false
}

// Assess records the DPO's risk decision: the suggestion confirmed, or
// overridden with a reason (both audited). It can be repeated until the
// breach is closed.
func (s *Service) Assess(ctx context.Context, tenantID, id, risk, reason string, by Actor) (Breach, error) {
	var ie InputError
	if !ValidRisk(risk) {
		ie.Add("risk", "must be none, low, risk or high")
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > maxReason {
		ie.Add("reason", "must be at most %d bytes", maxReason)
	}
	if err := ie.Err(); err != nil {
		return Breach{}, err
	}
	cur, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Breach{}, err
	}
	now := s.now()
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return Breach{}, err
	}
	err = s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		if b.Status == store.BreachClosed {
			return stateErr("the breach is closed")
		}
		suggested, reasons := Suggest(*d, cur.Affected, taxOf(doc))
		if risk != suggested && reason == "" {
			return &InputError{Problems: []FieldProblem{{Field: "reason", Message: "is required to override the suggested risk level " + suggested}}}
		}
		d.Assessment = &Assessment{Suggested: suggested, Reasons: reasons, Confirmed: risk, Override: reason, By: by.ID, At: now}
		b.Risk, b.AssessedAt = risk, now
		if b.Status == store.BreachOpen {
			b.Status = store.BreachAssessed
		}
		extra := "risk=" + risk + " suggested=" + suggested
		if risk != suggested {
			extra += " overridden"
		}
		ev := by.event("breach.assess", id, extra)
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Breach{}, err
	}
	return s.Get(ctx, tenantID, id)
}

// RecordAuthority records that the supervisory authority was notified at
// (zero: now). Later than 72 hours after awareness, delayReason is
// required (Art. 33(1)).
func (s *Service) RecordAuthority(ctx context.Context, tenantID, id string, at time.Time, reference, delayReason string, by Actor) (Breach, error) {
	now := s.now()
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	reference, delayReason = strings.TrimSpace(reference), strings.TrimSpace(delayReason)
	var ie InputError
	if at.After(now.Add(5 * time.Minute)) {
		ie.Add("at", "lies in the future")
	}
	if len(reference) > maxName {
		ie.Add("reference", "must be at most %d bytes", maxName)
	}
	if len(delayReason) > maxText {
		ie.Add("delay_reason", "must be at most %d bytes", maxText)
	}
	if err := ie.Err(); err != nil {
		return Breach{}, err
	}
	err := s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		if b.Status == store.BreachClosed {
			return stateErr("the breach is closed")
		}
		if at.Before(b.AwareAt) {
			return &InputError{Problems: []FieldProblem{{Field: "at", Message: "is before the breach's aware_at"}}}
		}
		late := at.After(b.AwareAt.Add(AuthorityDeadline))
		if late && delayReason == "" {
			return &InputError{Problems: []FieldProblem{{Field: "delay_reason",
				Message: "is required: the notification is later than 72 hours after awareness (Art. 33(1))"}}}
		}
		d.Authority = &AuthorityNotice{At: at, Reference: reference, DelayReason: delayReason, Late: late, By: by.ID}
		b.AuthorityNotifiedAt = at
		if b.Status == store.BreachOpen || b.Status == store.BreachAssessed {
			b.Status = store.BreachAuthorityNotified
		}
		extra := ""
		if late {
			extra = "late"
		}
		ev := by.event("breach.authority_notified", id, extra)
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Breach{}, err
	}
	return s.Get(ctx, tenantID, id)
}

// Close closes the breach; note says why (e.g. "no risk, documented only").
func (s *Service) Close(ctx context.Context, tenantID, id, note string, by Actor) (Breach, error) {
	note = strings.TrimSpace(note)
	if len(note) > maxText {
		return Breach{}, &InputError{Problems: []FieldProblem{{Field: "note", Message: fmt.Sprintf("must be at most %d bytes", maxText)}}}
	}
	now := s.now()
	err := s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		if b.Status == store.BreachClosed {
			return stateErr("the breach is already closed")
		}
		if b.Risk == "" {
			return stateErr("assess the risk before closing the breach")
		}
		b.Status, b.ClosedAt, d.CloseNote = store.BreachClosed, now, note
		ev := by.event("breach.close", id, "")
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Breach{}, err
	}
	return s.Get(ctx, tenantID, id)
}

// InputError is bad input with every mistake located; nothing was changed.
type InputError = inputerr.Error

// FieldProblem is one mistake and the input field it concerns.
type FieldProblem = inputerr.FieldProblem
