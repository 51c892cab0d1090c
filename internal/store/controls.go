package store

import "time"

// Controls are what limits the use of a subject's data beyond the policy:
// restrictions (GDPR Art. 18), objections (Art. 21), legal holds and the
// consent ledger. The decision engine (internal/decide) reads them through
// SubjectControls on every purpose-scoped read; the rights and consent
// packages write them.
//
// Lists of categories, collections and purposes are stored comma-separated,
// so their items must be non-empty and contain no comma or white space (policy
// keys never do); an empty list means "all" where the field says so.

// Restriction grounds: the four cases of GDPR Art. 18(1).
const (
	// GroundAccuracyContested is Art. 18(1)(a): the person contests the
	// accuracy of the data, for the time it takes to verify it.
	GroundAccuracyContested = "accuracy_contested"
	// GroundUnlawfulProcessing is Art. 18(1)(b): the processing is unlawful
	// and the person asks for restriction instead of erasure.
	GroundUnlawfulProcessing = "unlawful_processing"
	// GroundNoLongerNeededButClaims is Art. 18(1)(c): we no longer need the
	// data, but the person needs it kept for legal claims.
	GroundNoLongerNeededButClaims = "no_longer_needed_but_claims"
	// GroundObjectionPending is Art. 18(1)(d): the person objected under
	// Art. 21(1) and we are assessing whether our grounds override theirs.
	GroundObjectionPending = "objection_pending"
)

// Restriction is a restriction of processing (GDPR Art. 18) of some or all
// of a subject's data. While it is active (LiftedAt zero) the data may only
// be stored, and used for the purposes in AllowedPurposes, which the person
// placing the restriction sets from the exceptions of Art. 18(2): the
// person's consent, legal claims, protecting another person's rights, or an
// important public interest.
type Restriction struct {
	TenantID  string
	ID        string // UUIDv7
	SubjectID string
	// Categories restricted; a category covers its sub-categories. Empty
	// means all of the subject's data.
	Categories []string
	Ground     string // one of the Ground* constants
	// Reason says why, for the DPO. It may quote the person's request, so
	// it is never shown in decisions or logs.
	Reason string
	// AllowedPurposes are the purpose keys still allowed besides storage
	// (Art. 18(2)). Empty: storage only.
	AllowedPurposes []string
	RequestID       string // the data-subject request it came from, if any
	Actor           string // who placed it, e.g. "apikey:ab12cd"
	CreatedAt       time.Time
	LiftedAt        time.Time // zero: active
}

// Objection kinds: the rights of GDPR Art. 21.
const (
	// ObjectDirectMarketing is Art. 21(2)-(3): an objection to direct
	// marketing, which must be honoured at once and without conditions.
	ObjectDirectMarketing = "direct_marketing"
	// ObjectLegitimateInterest is Art. 21(1) against processing based on
	// legitimate interests (Art. 6(1)(f)).
	ObjectLegitimateInterest = "legitimate_interest"
	// ObjectPublicTask is Art. 21(1) against processing based on a public
	// task or official authority (Art. 6(1)(e)).
	ObjectPublicTask = "public_task"
)

// Objection statuses.
const (
	// ObjectionUpheld stops the processing. A direct-marketing objection is
	// upheld when it is made.
	ObjectionUpheld = "upheld"
	// ObjectionPending is an Art. 21(1) objection being assessed; the data
	// is restricted for the purpose meanwhile (Art. 18(1)(d)).
	ObjectionPending = "pending"
	// ObjectionOverridden means the controller demonstrated compelling
	// legitimate grounds that override the person's (Art. 21(1)); the
	// processing may go on. Never possible for direct marketing.
	ObjectionOverridden = "overridden"
	// ObjectionWithdrawn means the person took the objection back (for
	// example by subscribing to a newsletter again).
	ObjectionWithdrawn = "withdrawn"
)

// Objection is a person's objection to processing (GDPR Art. 21).
type Objection struct {
	TenantID  string
	ID        string // UUIDv7
	SubjectID string
	// Purpose is the purpose key objected to. Empty means every purpose of
	// the kind: every direct-marketing purpose for ObjectDirectMarketing,
	// every purpose based on legitimate interests (or on a public task) for
	// the other kinds.
	Purpose string
	Kind    string // one of the Object* constants
	Status  string // one of the Objection* statuses
	// Reason holds the grounds the person gave (Art. 21(1): "grounds
	// relating to his or her particular situation"); may be personal data.
	Reason string
	// Resolution records the assessment: why it was upheld or overridden.
	Resolution string
	RequestID  string
	Actor      string
	CreatedAt  time.Time
	ResolvedAt time.Time // when the status last changed from pending; zero while pending
}

// LegalHold keeps data that would otherwise be erased or expire, for a
// stated purpose such as a legal obligation or a legal claim (GDPR Art.
// 17(3)(b) and (e)). Held data that is past its retention, or belongs to an
// erased subject, may be used only for the hold's purpose.
type LegalHold struct {
	TenantID string
	ID       string // UUIDv7
	// SubjectID is the subject held; empty holds every subject of the
	// tenant (for example a regulator's investigation).
	SubjectID string
	// Categories and Collections say what is held; both empty means all
	// of the subject's data. A category covers its sub-categories.
	Categories  []string
	Collections []string
	// Purpose is the purpose key the held data may still be used for (e.g.
	// a legal_obligation purpose such as bookkeeping). Empty: preserve only,
	// no use at all.
	Purpose   string
	Reason    string // why, e.g. the case or the law; required
	Actor     string
	Until     time.Time // zero: until released
	CreatedAt time.Time
	// ReleasedAt is when the hold was released; zero: not released.
	ReleasedAt time.Time
}

// ActiveAt reports whether the hold keeps data at the given time.
func (h LegalHold) ActiveAt(now time.Time) bool {
	return h.ReleasedAt.IsZero() && (h.Until.IsZero() || h.Until.After(now))
}

// Consent event kinds.
const (
	// ConsentGiven records a consent.
	ConsentGiven = "given"
	// ConsentWithdrawn records a withdrawal (GDPR Art. 7(3)), or a refusal
	// in a banner ("reject all").
	ConsentWithdrawn = "withdrawn"
	// ConsentExpired records that a consent ran out its lifetime.
	ConsentExpired = "expired"
)

// Consent methods: how a choice was expressed.
const (
	MethodBanner      = "banner"      // the cookie banner or privacy center
	MethodCheckbox    = "checkbox"    // a box in the application's own form
	MethodEmail       = "email"       // by email (e.g. a reply or double opt-in)
	MethodPhone       = "phone"       // by telephone, recorded by staff
	MethodPaper       = "paper"       // a signed form
	MethodAPI         = "api"         // the application's backend, on the person's instruction
	MethodOnBehalf    = "on_behalf"   // given by someone who confirmed they had the person's consent (or a parent, Art. 8)
	MethodGPC         = "gpc"         // a Global Privacy Control signal
	MethodUnsubscribe = "unsubscribe" // an unsubscribe link (RFC 8058)
	MethodSystem      = "system"      // by Trustee itself, e.g. an expiry
)

// ConsentMethods lists every valid method.
var ConsentMethods = []string{
	MethodBanner, MethodCheckbox, MethodEmail, MethodPhone, MethodPaper, MethodAPI,
	MethodOnBehalf, MethodGPC, MethodUnsubscribe, MethodSystem,
}

// PurposeSaleShare is the pseudo-purpose under which the CCPA "Do not sell
// or share my personal information" choice is kept in the consent ledger:
// a withdrawn event is an opt-out, a given event an opt-in again, no event
// the default (not opted out). Purpose keys in a policy are lower snake
// case, so this dotted key cannot clash with one.
const PurposeSaleShare = "ccpa.sale_share"

// ConsentEvent is one entry of the append-only consent ledger. Its ID is
// also the receipt id the person can quote. The current state of a purpose
// is derived from the ledger (the latest event), never overwritten.
type ConsentEvent struct {
	TenantID string
	ID       string // UUIDv7; the receipt id
	// SubjectID is the subject, or empty for an anonymous browser not yet
	// linked to one (then BrowserID is set).
	SubjectID string
	// BrowserID is the banner's random browser id, if the choice came from
	// a browser; at least one of SubjectID and BrowserID is set.
	BrowserID string
	Purpose   string // purpose key, or PurposeSaleShare
	Kind      string // ConsentGiven | ConsentWithdrawn | ConsentExpired
	// PolicyVersion and PolicyHash identify the policy the choice was made
	// under: what the person was told. Version 0 means unknown.
	PolicyVersion int
	PolicyHash    string
	Method        string // one of ConsentMethods
	// Proof of what happened, never raw identifiers: TextHash is a hash of
	// the request for consent as shown, IPHash a keyed hash of the IP
	// address (a raw address is refused), UserAgent the browser's, PageURL
	// the page without its query string.
	TextHash  string
	IPHash    string
	UserAgent string
	PageURL   string
	Source    string // where it came from: a site key, an application, a request id
	Actor     string // who recorded it: "subject", "apikey:ab12cd", "staff:…"
	// At is when the person made the choice (it may precede RecordedAt for
	// a paper form recorded later). The latest At per purpose wins.
	At time.Time
	// ExpiresAt ends a given consent (from the purpose's consent lifetime);
	// zero: until withdrawn. Only set for ConsentGiven.
	ExpiresAt time.Time
	// RecordedAt is when Trustee wrote the event; set by AppendConsent.
	RecordedAt time.Time
	// LinkedAt is when an anonymous browser's event was attributed to
	// SubjectID by LinkBrowserConsents; zero otherwise.
	LinkedAt time.Time
}

// ConsentState is the current state of one purpose for a subject or a
// browser: its latest ledger event.
type ConsentState struct {
	Purpose       string
	Kind          string // kind of the latest event
	EventID       string // the latest event, i.e. its receipt id
	Method        string
	PolicyVersion int
	PolicyHash    string
	At            time.Time
	ExpiresAt     time.Time
}

// Controls are the controls in force for one subject at one time: what the
// decision engine needs besides the policy and the subject row.
type Controls struct {
	// Restrictions not lifted, oldest first.
	Restrictions []Restriction
	// Objections upheld or pending, oldest first.
	Objections []Objection
	// Holds of the subject and of the whole tenant, not released and not
	// past their Until, oldest first.
	Holds []LegalHold
	// Consents has the latest ledger event per purpose (including
	// withdrawals and PurposeSaleShare), ordered by purpose.
	Consents []ConsentState
}

// Consent returns the current state of the purpose and whether there is
// one.
func (c *Controls) Consent(purpose string) (ConsentState, bool) {
	for i := range c.Consents {
		if c.Consents[i].Purpose == purpose {
			return c.Consents[i], true
		}
	}
	return ConsentState{}, false
}

// ControlsTx stores what limits the use of a subject's data beyond the
// policy: restrictions, objections, legal holds, and the consent ledger the
// decision engine reads. Every method is scoped by tenant; a subject or id of
// another tenant behaves like one that does not exist.
type ControlsTx interface {
	// SubjectControls returns the controls in force for the subject at
	// now, in one indexed query: the read path calls it on every
	// purpose-scoped read. An unknown subject has no controls (the caller
	// has loaded the subject already).
	SubjectControls(tenantID, subjectID string, now time.Time) (Controls, error)

	// AddRestriction inserts r (LiftedAt must be zero; a zero CreatedAt is
	// now). ErrNotFound if the subject does not exist, ErrConflict if the id
	// is taken, ErrInvalid for a bad shape.
	AddRestriction(r Restriction) error
	// LiftRestriction ends the restriction at the given time; lifting twice
	// keeps the first time. ErrNotFound if there is no such restriction.
	LiftRestriction(tenantID, id string, at time.Time) error
	// GetRestriction returns one restriction, or ErrNotFound.
	GetRestriction(tenantID, id string) (Restriction, error)
	// ListRestrictions returns every restriction of the subject, lifted
	// ones too, newest first.
	ListRestrictions(tenantID, subjectID string) ([]Restriction, error)

	// AddObjection inserts o. An empty Status becomes upheld for a
	// direct-marketing objection and pending otherwise; a direct-marketing
	// objection cannot be pending (Art. 21(3)). Only upheld and pending are
	// valid on insert; an upheld objection is resolved at CreatedAt.
	// ErrNotFound if the subject does not exist, ErrConflict if the id is
	// taken, ErrInvalid for a bad shape.
	AddObjection(o Objection) error
	// ResolveObjection moves an objection to status (upheld, overridden
	// or withdrawn) at the given time with a note: pending may become any
	// of them, upheld only withdrawn. ErrInvalid for overriding a
	// direct-marketing objection or an unknown status, ErrConflict for any
	// other move, ErrNotFound if there is no such objection.
	ResolveObjection(tenantID, id, status, resolution string, at time.Time) error
	// GetObjection returns one objection, or ErrNotFound.
	GetObjection(tenantID, id string) (Objection, error)
	// ListObjections returns every objection of the subject, newest first.
	ListObjections(tenantID, subjectID string) ([]Objection, error)

	// AddLegalHold inserts h (ReleasedAt must be zero; Reason is
	// required). ErrNotFound if h names a subject that does not exist,
	// ErrConflict if the id is taken, ErrInvalid for a bad shape.
	AddLegalHold(h LegalHold) error
	// ReleaseLegalHold releases the hold at the given time; releasing twice
	// keeps the first time. ErrNotFound if there is no such hold.
	ReleaseLegalHold(tenantID, id string, at time.Time) error
	// GetLegalHold returns one hold, or ErrNotFound.
	GetLegalHold(tenantID, id string) (LegalHold, error)
	// ListLegalHolds returns the holds of the subject and the tenant-wide
	// ones, released ones too, newest first; an empty subjectID lists every
	// hold of the tenant.
	ListLegalHolds(tenantID, subjectID string) ([]LegalHold, error)

	// AppendConsent adds e to the ledger (RecordedAt is set to now, a zero
	// At to RecordedAt). ErrNotFound if e names a subject that does not
	// exist, ErrConflict if the id is taken, ErrInvalid for a bad shape
	// (including a raw IP address in IPHash).
	AppendConsent(e ConsentEvent) error
	// GetConsentEvent returns one event by its receipt id, or ErrNotFound.
	GetConsentEvent(tenantID, id string) (ConsentEvent, error)
	// ConsentHistory returns every event of the subject, newest first.
	ConsentHistory(tenantID, subjectID string) ([]ConsentEvent, error)
	// BrowserConsentHistory returns every event recorded from the browser
	// id, linked or not, newest first.
	BrowserConsentHistory(tenantID, browserID string) ([]ConsentEvent, error)
	// CurrentConsents returns the latest event per purpose of the subject,
	// ordered by purpose, in one indexed query.
	CurrentConsents(tenantID, subjectID string) ([]ConsentState, error)
	// CurrentBrowserConsents returns the latest event per purpose recorded
	// from the browser id, ordered by purpose.
	CurrentBrowserConsents(tenantID, browserID string) ([]ConsentState, error)
	// LinkBrowserConsents attributes the browser's anonymous events (those
	// with no subject yet) to the subject, marking them linked at the given
	// time, and returns how many it linked. Events already attributed to a
	// subject are left alone. ErrNotFound if the subject does not exist.
	LinkBrowserConsents(tenantID, browserID, subjectID string, at time.Time) (int, error)
}
