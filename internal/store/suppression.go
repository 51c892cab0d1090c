package store

import "time"

// This file is the storage contract of the consent package beyond the
// ledger itself (controls.go): the marketing suppression list, the
// renewal marks that a policy change sets on consent-based purposes, the
// registry of cookie-banner sites, and the queries behind audiences (who
// may be contacted for a purpose now).

// Suppression is one entry of a tenant's marketing suppression list: an
// identifier (email address or phone number) that must never receive
// direct marketing again, for example because the person unsubscribed or
// objected (GDPR Art. 21(3)). It holds no readable identifier and no link
// to a subject: Hash is a keyed hash that can only be recomputed from the
// identifier with the tenant's index key, so the entry survives the
// erasure of the person it came from and still stops a re-created account
// with the same address from being emailed.
type Suppression struct {
	TenantID string
	// Kind is the identity kind hashed: "email" or "phone".
	Kind string
	// Hash is the keyed hash of the identifier (see consent.SuppressionHash).
	Hash []byte
	// Purpose is the direct-marketing purpose suppressed; empty means every
	// direct-marketing purpose.
	Purpose string
	// Reason says how it came about: unsubscribe, objection, api. Never
	// personal data.
	Reason string
	// CreatedAt is when it was (last) put on the list.
	CreatedAt time.Time
	// LiftedAt is when the person subscribed again; zero: in force.
	LiftedAt time.Time
}

// Suppression kinds: the identity kinds direct marketing reaches.
const (
	SuppressEmail = "email"
	SuppressPhone = "phone"
)

// SuppressionTx stores the marketing suppression list. Every method is
// scoped by tenant.
type SuppressionTx interface {
	// Suppress puts s on the list. Putting an entry that exists (same
	// kind, hash and purpose) back in force clears its LiftedAt and keeps
	// its first CreatedAt; it is never an error. ErrInvalid for a bad
	// shape.
	Suppress(s Suppression) error
	// LiftSuppression takes an entry out of force at the given time (the
	// person subscribed again), keeping it on record. ErrNotFound if there
	// is no such entry in force.
	LiftSuppression(tenantID, kind string, hash []byte, purpose string, at time.Time) error
	// Suppressions returns the entries in force whose hash is one of
	// hashes (of any kind), at most one query per 500 hashes.
	Suppressions(tenantID string, hashes [][]byte) ([]Suppression, error)
	// CountSuppressions returns how many entries are in force.
	CountSuppressions(tenantID string) (int, error)
	// ConsentStats counts the tenant's ledger events that occurred in
	// [since, until), per purpose, kind, method and UTC day, for the
	// console's consent dashboard. Ordered by day, purpose, kind, method.
	ConsentStats(tenantID string, since, until time.Time) ([]ConsentStat, error)
}

// ConsentStat is how many consent events of one purpose, kind and method
// occurred on one UTC day: the dashboard's unit of counting. It carries no
// subject, so the dashboard shows no one's choices.
type ConsentStat struct {
	Day     time.Time // midnight UTC
	Purpose string
	Kind    string
	Method  string
	Count   int
}

// ConsentRenewal marks that consents for a purpose given under a policy
// version before SinceVersion no longer count: a newer version added or
// widened the consent-based purpose (policy.DiffResult.Reconsent), so the
// person must be asked again (GDPR Art. 4(11): consent is specific and
// informed).
type ConsentRenewal struct {
	TenantID     string
	Purpose      string
	SinceVersion int
	// Reason is the diff's reason, for the DPO (no personal data).
	Reason    string
	CreatedAt time.Time
}

// ConsentSite registers a cookie-banner site key of a tenant, so the public
// endpoints (which have no API key) find the tenant from the key alone.
type ConsentSite struct {
	Key           string
	TenantID      string
	PolicyVersion int // the version that last declared it
	UpdatedAt     time.Time
}

// AudienceQuery selects one page of candidates for a purpose's audience:
// active subjects the SQL can already tell may be used for the purpose. The
// caller re-checks every candidate with the decision engine, so a filter
// here may only drop subjects the engine would deny too.
type AudienceQuery struct {
	TenantID string
	Purpose  string
	// After is the last subject id of the previous page ("" for the first).
	After string
	// Limit bounds the page (1 to 5000).
	Limit int
	// Now is the time consents must not have expired by.
	Now time.Time
	// RequireConsent keeps only subjects whose latest consent event for
	// Purpose is a given one, not expired by Now (its recorded expiry),
	// under policy version MinConsentVersion or later.
	RequireConsent    bool
	MinConsentVersion int
	// ConsentBefore, if above 0, keeps instead subjects whose latest
	// consent for Purpose is a given one under a version before it: those
	// whose consent needs renewal.
	ConsentBefore int
	// ExcludeMinors drops subjects below the minimum age without parental
	// consent (age status "minor").
	ExcludeMinors bool
	// CheckObjections drops subjects with an upheld or pending objection
	// naming Purpose, or naming no purpose and of one of ObjectionKinds
	// (the kinds that reach the purpose, as in the decision engine). Leave
	// it off for purposes whose legal basis objections do not reach.
	CheckObjections bool
	ObjectionKinds  []string
	// ExcludeSaleShareOptOut drops subjects whose latest PurposeSaleShare
	// event is a withdrawal (CCPA opt-out).
	ExcludeSaleShareOptOut bool
}

// AudienceCandidate is one subject of an audience page: what the decision
// engine needs besides its controls.
type AudienceCandidate struct {
	Subject Subject // TenantID, ID, State, AgeStatus, HasControls are set
}

// AudienceTx holds the consent package's other tables and the queries
// behind audiences. Every method is scoped by tenant, except the site
// registry, whose keys are unique across tenants.
type AudienceTx interface {
	// AddConsentRenewal records a renewal mark; recording the same
	// (tenant, purpose, version) again is a no-op. ErrInvalid for a bad
	// shape.
	AddConsentRenewal(r ConsentRenewal) error
	// ConsentValidSince returns, per purpose, the highest SinceVersion
	// marked: the first policy version whose consents still count
	// (decide.Subject.ConsentValidSince). Nil when there are none.
	ConsentValidSince(tenantID string) (map[string]int, error)

	// SetConsentSites makes keys the tenant's site keys: new ones are
	// registered, ones the tenant no longer declares are removed. If a key
	// belongs to another tenant it returns *SiteConflict (which Is
	// ErrConflict) and changes nothing.
	SetConsentSites(tenantID string, keys []string, version int, at time.Time) error
	// ConsentSiteByKey returns a registered site, or ErrNotFound.
	ConsentSiteByKey(key string) (ConsentSite, error)

	// AudienceCandidates returns one page of candidates, in subject id
	// order, with at most q.Limit entries.
	AudienceCandidates(q AudienceQuery) ([]AudienceCandidate, error)
	// ControlsOf returns the controls in force at now of each subject (the
	// batch form of SubjectControls, one query per 500 subjects). Subjects
	// without controls are absent from the map.
	ControlsOf(tenantID string, subjectIDs []string, now time.Time) (map[string]Controls, error)
	// IdentitiesOf returns the identities of the given kinds of each
	// subject, one query per 500 subjects.
	IdentitiesOf(tenantID string, subjectIDs []string, kinds []string) ([]Identity, error)
	// DueConsentExpiries returns up to limit given consents that are the
	// latest event of their purpose for their subject (or, not linked to
	// one, their browser) and whose recorded expiry is at or before now,
	// earliest expiry first: what the expiry sweep turns into expired
	// events.
	DueConsentExpiries(tenantID string, now time.Time, limit int) ([]ConsentEvent, error)
}

// SiteConflict says a site key is registered by another tenant.
type SiteConflict struct{ Key string }

func (e *SiteConflict) Error() string { return "site key " + e.Key + " is used by another tenant" }

// Is makes errors.Is(err, ErrConflict) true.
func (e *SiteConflict) Is(target error) bool { return target == ErrConflict }
