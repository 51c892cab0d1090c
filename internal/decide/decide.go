package decide

import (
	"errors"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Reason says, machine-readably, why a purpose may not use an item. The
// values are part of the API: they never change meaning and are never
// reused. An allowed decision has no reason.
type Reason string

// Reasons, in the order the engine checks them (see the package doc). Each
// names the rule that denied, so an application can tell a person what to do
// (give consent, wait for an assessment) and a DPO can check the rule.
const (
	// NotInPurpose: the purpose's categories do not cover the item's
	// category (GDPR Art. 5(1)(b) purpose limitation).
	NotInPurpose Reason = "not_in_purpose"
	// NoSpecialCondition: the item is special category data (Art. 9) and
	// the purpose names no Art. 9(2) condition. The policy validator
	// refuses such policies; this guards hand-made or older documents.
	NoSpecialCondition Reason = "no_special_category_condition"
	// SubjectErased: the subject was erased (Art. 17) and the item is not
	// kept by a legal hold or a retention rule required by law.
	SubjectErased Reason = "subject_erased"
	// LegalHoldOnly: the item is kept only because of a legal hold (or a
	// legal retention duty) after erasure or expiry, and the purpose is not
	// the one it is kept for (Art. 17(3)(b), (e)).
	LegalHoldOnly Reason = "legal_hold_only"
	// RetentionExpired: the item's retention period has ended (Art.
	// 5(1)(e) storage limitation); it awaits deletion or anonymisation.
	RetentionExpired Reason = "retention_expired"
	// UnderMinimumAge: the subject is below the policy's minimum age
	// without parental consent (Art. 8); only purposes based on a legal
	// obligation or vital interests may use the data.
	UnderMinimumAge Reason = "under_minimum_age"
	// Restricted: processing of the item is restricted (Art. 18) and the
	// purpose is not among the restriction's Art. 18(2) exceptions.
	Restricted Reason = "restricted"
	// Objected: the subject objected (Art. 21): to direct marketing
	// (always effective), or to a purpose based on legitimate interests or
	// a public task (upheld, or pending assessment).
	Objected Reason = "objected"
	// OptedOut: the purpose is a sale or sharing under the CCPA and the
	// subject opted out (Cal. Civ. Code 1798.120, 1798.135).
	OptedOut Reason = "opted_out"
	// ConsentWithdrawn: the purpose is based on consent and the latest
	// choice for it is a withdrawal (Art. 7(3)).
	ConsentWithdrawn Reason = "consent_withdrawn"
	// ConsentMissing: the purpose is based on consent and there is no
	// valid one: never given, expired, or given under a policy version
	// whose consents no longer cover the purpose (renewal needed). The
	// Detail says which.
	ConsentMissing Reason = "consent_missing"
)

// Reasons lists every reason in precedence order: when several rules deny,
// the decision carries the first.
var Reasons = []Reason{
	NotInPurpose, NoSpecialCondition, SubjectErased, LegalHoldOnly, RetentionExpired,
	UnderMinimumAge, Restricted, Objected, OptedOut, ConsentWithdrawn, ConsentMissing,
}

// Details: fixed texts, so a decision never carries personal data and
// building one never allocates.
const (
	DetailNotInPurpose       = "the purpose does not use this data category"
	DetailNoSpecialCondition = "special category data (GDPR Art. 9) needs a special_category_condition on the purpose"
	DetailErased             = "the subject has been erased"
	DetailErasedHeld         = "the subject has been erased; this data is kept under a legal hold and may be used only for the hold's purpose"
	DetailErasedKeptByLaw    = "the subject has been erased; this data is kept only because the law requires it and may be used only for purposes based on a legal obligation"
	DetailExpired            = "the retention period of this data has ended"
	DetailExpiredHeld        = "the retention period of this data has ended; it is kept under a legal hold and may be used only for the hold's purpose"
	DetailUnderAge           = "the subject is below the minimum age without parental consent; only legal obligations and vital interests may use the data"
	DetailRestricted         = "processing of this data is restricted (GDPR Art. 18) and the purpose is not among the restriction's exceptions"
	DetailSubjectRestricted  = "processing of the subject's data is restricted (GDPR Art. 18)"
	DetailObjectedMarketing  = "the subject objected to direct marketing (GDPR Art. 21(3))"
	DetailObjectedUpheld     = "the subject objected to this processing and the objection was upheld (GDPR Art. 21(1))"
	DetailObjectedPending    = "the subject objected to this processing; pending assessment, the data is restricted meanwhile (GDPR Art. 18(1)(d))"
	DetailOptedOut           = "the subject opted out of the sale or sharing of personal information (CCPA)"
	DetailConsentWithdrawn   = "consent for this purpose was withdrawn"
	DetailConsentNever       = "consent for this purpose has never been given"
	DetailConsentExpired     = "consent for this purpose has expired"
	DetailConsentRenewal     = "consent was given under an earlier policy version that did not cover this purpose as it is now; it must be renewed"
	DetailConsentUnknown     = "no valid consent for this purpose"
)

// ErrUnknownPurpose is returned when the purpose is not in the policy. It is
// an error rather than a denial: a read naming an unknown purpose is a
// mistake of the caller (HTTP 422), not a privacy decision.
var ErrUnknownPurpose = errors.New("unknown purpose")

// ErrNoPolicy is returned when no policy document is given.
var ErrNoPolicy = errors.New("no policy")

// Age statuses of a subject (store.Subject.AgeStatus).
const (
	// AgeMinor is below the policy's minimum age without parental consent.
	AgeMinor = "minor"
	// AgeMinorConsented is below the minimum age with a recorded parental
	// consent (Art. 8(1)); treated like an adult here, and consents for
	// consent-based purposes are expected to be given by the parent
	// (method on_behalf).
	AgeMinorConsented = "minor_consented"
)

// SubjectRestricted is a subject state some callers use for "all data
// restricted"; the engine honours it like a restriction of everything
// with no exceptions. (The store knows only active and erased.)
const SubjectRestricted = "restricted"

// Subject is the snapshot of one data subject the engine decides on:
// everything besides the policy that can deny a use. Build it with Snapshot
// after loading the subject and its controls; it is read-only to the engine,
// so one snapshot may serve any number of decisions and goroutines.
type Subject struct {
	// State is store.SubjectActive (or ""), store.SubjectErased or
	// SubjectRestricted.
	State string
	// AgeStatus is "", AgeMinor or AgeMinorConsented.
	AgeStatus string
	// Controls are the restrictions, objections, holds and consent states
	// in force (store.ControlsTx.SubjectControls).
	Controls store.Controls
	// OptedOutSaleShare is a CCPA "do not sell or share" opt-out known
	// from outside the ledger, e.g. a Global Privacy Control signal on the
	// request. An opt-out in the ledger (store.PurposeSaleShare withdrawn)
	// counts whether or not this is set.
	OptedOutSaleShare bool
	// ConsentValidSince maps a consent-based purpose to the first policy
	// version whose consents still cover it: consents given under an
	// earlier version need renewal, because a later version added or
	// widened the purpose (policy.DiffResult.Reconsent). Missing or 0: every
	// version counts.
	ConsentValidSince map[string]int
}

// Item is one piece of a subject's data to decide on: a field, or a record
// of a collection.
type Item struct {
	// Name is the field name, or an id of a collection record; it is
	// copied into the decision.
	Name string
	// Collection is the collection a record belongs to; empty for a
	// field. Legal holds naming collections, and the retention rule that
	// tells whether data is kept by law, are found through it (or through
	// Name when it is empty).
	Collection string
	// Category is the item's data category.
	Category string
	// ExpiresAt is when the item's retention ends; zero: no end yet.
	ExpiresAt time.Time
}

// Decision is the answer for one item or category.
type Decision struct {
	Item     string `json:"item,omitempty" doc:"Field name or record id the decision is about; empty when asked about a category." example:"email"`
	Category string `json:"category" doc:"Data category decided on." example:"user.contact.email"`
	Allowed  bool   `json:"allowed" doc:"Whether the purpose may use the data now."`
	Reason   Reason `json:"reason,omitempty" enum:"not_in_purpose,no_special_category_condition,subject_erased,legal_hold_only,retention_expired,under_minimum_age,restricted,objected,opted_out,consent_withdrawn,consent_missing" doc:"Why not, machine-readable; empty when allowed. See docs/decisions.md." example:"consent_missing"`
	Detail   string `json:"detail,omitempty" doc:"Why not, for people; never contains personal data." example:"consent for this purpose has never been given"`
	Ref      string `json:"ref,omitempty" doc:"Id of the control that denied: a restriction, objection, legal hold or consent event (receipt)." example:"01964b8e-8c1a-7cde-9f00-3a5e2b1c4d6f"`
}

// Decide decides for each item whether the purpose may use it now, and
// appends the decisions to out in the order of items (pass out with enough
// capacity, or reuse one, to decide without allocating). It fails only for a
// purpose the policy does not have.
func Decide(doc *policy.Document, purpose string, s *Subject, items []Item, now time.Time, out []Decision) ([]Decision, error) {
	e, err := newEngine(doc, purpose, s, now)
	if err != nil {
		return out, err
	}
	for i := range items {
		out = append(out, e.decide(&items[i]))
	}
	return out, nil
}

// DecideCategory decides whether the purpose may use data of the category
// now, without an item: nothing has expired, and holds are matched by
// category only. A restriction or objection touching any part of the
// category denies it.
func DecideCategory(doc *policy.Document, purpose string, s *Subject, category string, now time.Time) (Decision, error) {
	e, err := newEngine(doc, purpose, s, now)
	if err != nil {
		return Decision{}, err
	}
	it := Item{Category: category}
	return e.decide(&it), nil
}

// DecideItem decides for one item. Use it rather than DecideCategory to gate
// a whole collection (Item{Name: c, Collection: c, Category: ...}), so that
// legal holds naming the collection and legal retention duties count.
func DecideItem(doc *policy.Document, purpose string, s *Subject, item Item, now time.Time) (Decision, error) {
	e, err := newEngine(doc, purpose, s, now)
	if err != nil {
		return Decision{}, err
	}
	return e.decide(&item), nil
}

// engine holds what is fixed for one call: the policy, the purpose, the
// subject and the time.
type engine struct {
	doc *policy.Document
	tax *policy.Taxonomy
	p   *policy.Purpose
	s   *Subject
	now time.Time
}

var emptySubject Subject

func newEngine(doc *policy.Document, purpose string, s *Subject, now time.Time) (engine, error) {
	if doc == nil || doc.Policy == nil {
		return engine{}, ErrNoPolicy
	}
	p := doc.PurposeByKey(purpose)
	if p == nil {
		return engine{}, fmt.Errorf("%w: %q", ErrUnknownPurpose, purpose)
	}
	if s == nil {
		s = &emptySubject
	}
	return engine{doc: doc, tax: doc.Taxonomy(), p: p, s: s, now: now}, nil
}

func deny(it *Item, r Reason, detail, ref string) Decision {
	return Decision{Item: it.Name, Category: it.Category, Reason: r, Detail: detail, Ref: ref}
}

// decide applies the rules in precedence order; the first that denies
// decides. See the package doc for the table.
func (e *engine) decide(it *Item) Decision {
	p, s, cat := e.p, e.s, it.Category

	// 1. Purpose limitation.
	if !e.coversAll(p.Categories, cat) {
		return deny(it, NotInPurpose, DetailNotInPurpose, "")
	}
	// 2. Art. 9: special category data needs an Art. 9(2) condition.
	special := e.tax.IsSpecial(cat)
	if special && p.SpecialCategoryCondition == "" {
		return deny(it, NoSpecialCondition, DetailNoSpecialCondition, "")
	}
	// 3. Erasure: only data kept by a hold or by law survives, for the
	// purpose it is kept for.
	if s.State == store.SubjectErased {
		held, holdOK, ref := e.holds(it)
		byLaw := e.keptByLaw(it)
		switch {
		case holdOK || (byLaw && p.LegalBasis == policy.BasisLegalObligation):
			// Kept for this purpose: the remaining rules still apply.
		case held:
			return deny(it, LegalHoldOnly, DetailErasedHeld, ref)
		case byLaw:
			return deny(it, LegalHoldOnly, DetailErasedKeptByLaw, "")
		default:
			return deny(it, SubjectErased, DetailErased, "")
		}
	}
	// 4. Storage limitation: expired data is released only under a hold,
	// for the hold's purpose.
	if !it.ExpiresAt.IsZero() && !it.ExpiresAt.After(e.now) {
		held, holdOK, ref := e.holds(it)
		switch {
		case holdOK:
		case held:
			return deny(it, LegalHoldOnly, DetailExpiredHeld, ref)
		default:
			return deny(it, RetentionExpired, DetailExpired, "")
		}
	}
	// 5. Children (Art. 8): below the minimum age without parental
	// consent, only what the law requires or a life needs.
	if s.AgeStatus == AgeMinor && p.LegalBasis != policy.BasisLegalObligation && p.LegalBasis != policy.BasisVitalInterests {
		return deny(it, UnderMinimumAge, DetailUnderAge, "")
	}
	// 6. Restriction (Art. 18): storage only, plus the listed exceptions.
	if s.State == SubjectRestricted {
		return deny(it, Restricted, DetailSubjectRestricted, "")
	}
	for i := range s.Controls.Restrictions {
		r := &s.Controls.Restrictions[i]
		if !r.LiftedAt.IsZero() && !r.LiftedAt.After(e.now) {
			continue
		}
		if e.overlapsAny(r.Categories, cat) && !contains(r.AllowedPurposes, p.Key) {
			return deny(it, Restricted, DetailRestricted, r.ID)
		}
	}
	// 7. Objection (Art. 21).
	if d, ok := e.objection(it); ok {
		return d
	}
	// 8. CCPA opt-out of sale and sharing.
	if p.SaleOrShare {
		if s.OptedOutSaleShare {
			return deny(it, OptedOut, DetailOptedOut, "")
		}
		if st, ok := s.Controls.Consent(store.PurposeSaleShare); ok && st.Kind == store.ConsentWithdrawn {
			return deny(it, OptedOut, DetailOptedOut, st.EventID)
		}
	}
	// 9. Consent (Art. 6(1)(a), and Art. 9(2)(a) explicit consent).
	if p.LegalBasis == policy.BasisConsent || (special && p.SpecialCategoryCondition == "explicit_consent") {
		if d, ok := e.consent(it); ok {
			return d
		}
	}
	return Decision{Item: it.Name, Category: cat, Allowed: true}
}

// coversAll reports whether one of the keys covers the whole category.
func (e *engine) coversAll(keys []string, cat string) bool {
	for _, k := range keys {
		if e.tax.Covers(k, cat) {
			return true
		}
	}
	return false
}

// overlapsAny reports whether a control naming keys touches any part of the
// category: an empty list touches everything, and a key touches a category
// that covers it or that it covers. Denials apply on any overlap (a
// restriction of user.contact.email denies a question about user.contact);
// exemptions (holds, purposes) need full cover. Both err on the side of the
// person.
func (e *engine) overlapsAny(keys []string, cat string) bool {
	if len(keys) == 0 {
		return true
	}
	for _, k := range keys {
		if e.tax.Covers(k, cat) || e.tax.Covers(cat, k) {
			return true
		}
	}
	return false
}

// holds reports whether an active legal hold keeps the item, whether one
// that does is for this purpose, and the id of the first that keeps it.
func (e *engine) holds(it *Item) (held, forPurpose bool, ref string) {
	coll := it.Collection
	if coll == "" {
		coll = it.Name
	}
	for i := range e.s.Controls.Holds {
		h := &e.s.Controls.Holds[i]
		if !h.ActiveAt(e.now) {
			continue
		}
		keeps := len(h.Categories) == 0 && len(h.Collections) == 0
		if !keeps && coll != "" && contains(h.Collections, coll) {
			keeps = true
		}
		if !keeps && e.coversAll(h.Categories, it.Category) {
			keeps = true
		}
		if !keeps {
			continue
		}
		if !held {
			held, ref = true, h.ID
		}
		if h.Purpose == e.p.Key { // never "" (preserve only): purpose keys are not empty
			return true, true, h.ID
		}
	}
	return held, false, ref
}

// keptByLaw reports whether the item's retention rule names a law that
// requires keeping it (retention kept_by_law): such data survives erasure,
// for legal obligations only (Art. 17(3)(b)).
func (e *engine) keptByLaw(it *Item) bool {
	name := it.Collection
	if name == "" {
		name = it.Name
	}
	if name == "" {
		return false
	}
	r := e.doc.RetentionFor(name)
	return r != nil && r.KeptByLaw != ""
}

// objection applies Art. 21. A direct-marketing purpose is stopped by any
// active objection that reaches it, unconditionally (Art. 21(3)); a purpose
// based on legitimate interests or a public task by an upheld or pending
// one (pending: restricted meanwhile, Art. 18(1)(d)). Objections do not
// reach purposes on other bases (consent is withdrawn, not objected to).
func (e *engine) objection(it *Item) (Decision, bool) {
	p := e.p
	li := p.LegalBasis == policy.BasisLegitimateInterests
	pt := p.LegalBasis == policy.BasisPublicTask
	if !p.DirectMarketing && !li && !pt {
		return Decision{}, false
	}
	for i := range e.s.Controls.Objections {
		o := &e.s.Controls.Objections[i]
		if o.Status != store.ObjectionUpheld && o.Status != store.ObjectionPending {
			continue
		}
		var reaches bool
		switch {
		case o.Purpose != "":
			reaches = o.Purpose == p.Key
		case o.Kind == store.ObjectDirectMarketing:
			reaches = p.DirectMarketing
		case o.Kind == store.ObjectLegitimateInterest:
			reaches = li
		case o.Kind == store.ObjectPublicTask:
			reaches = pt
		}
		if !reaches {
			continue
		}
		switch {
		case p.DirectMarketing:
			return deny(it, Objected, DetailObjectedMarketing, o.ID), true
		case o.Status == store.ObjectionPending:
			return deny(it, Objected, DetailObjectedPending, o.ID), true
		default:
			return deny(it, Objected, DetailObjectedUpheld, o.ID), true
		}
	}
	return Decision{}, false
}

// consent checks the latest consent event of the purpose.
func (e *engine) consent(it *Item) (Decision, bool) {
	p := e.p
	st, ok := e.s.Controls.Consent(p.Key)
	if !ok {
		return deny(it, ConsentMissing, DetailConsentNever, ""), true
	}
	switch st.Kind {
	case store.ConsentWithdrawn:
		return deny(it, ConsentWithdrawn, DetailConsentWithdrawn, st.EventID), true
	case store.ConsentExpired:
		return deny(it, ConsentMissing, DetailConsentExpired, st.EventID), true
	case store.ConsentGiven:
	default:
		return deny(it, ConsentMissing, DetailConsentUnknown, st.EventID), true
	}
	// The lifetime recorded with the consent, or the purpose's current
	// lifetime if that is shorter: a policy that shortens the lifetime
	// applies to consents already given.
	exp := st.ExpiresAt
	if p.Consent != nil && !p.Consent.Lifetime.IsZero() && e.now.Sub(st.At) >= minSpan(p.Consent.Lifetime) {
		// Calendar arithmetic is most of the cost of a consent check, so
		// it is done only when the lifetime can have run out.
		if l := p.Consent.Lifetime.AddTo(st.At); exp.IsZero() || l.Before(exp) {
			exp = l
		}
	}
	if !exp.IsZero() && !exp.After(e.now) {
		return deny(it, ConsentMissing, DetailConsentExpired, st.EventID), true
	}
	if v := e.s.ConsentValidSince[p.Key]; v > 0 && st.PolicyVersion < v {
		return deny(it, ConsentMissing, DetailConsentRenewal, st.EventID), true
	}
	return Decision{}, false
}

// minSpan is a lower bound of how long the period lasts from any start: a
// consent younger than that cannot have outlived it. Months count as 28
// days, years as 365, and two hours are taken off for daylight saving
// changes in the start's time zone.
func minSpan(p policy.Period) time.Duration {
	var days int
	switch p.Unit {
	case policy.Days, policy.WorkingDays:
		days = p.N
	case policy.Weeks:
		days = 7 * p.N
	case policy.Months:
		days = 28 * p.N
	case policy.Years:
		days = 365 * p.N
	}
	return time.Duration(days)*24*time.Hour - 2*time.Hour
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
