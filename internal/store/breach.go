package store

import "time"

// Breach register (GDPR Art. 33 and 34). The store keeps one row per
// incident with the columns the workflow branches on (status, times,
// confirmed risk) and the descriptive part as a JSON document the breach
// package owns (Details), plus the affected set as rows of subject ids: ids
// only, never values, so the register itself leaks nothing.

// Breach statuses, in the order the workflow moves through them.
const (
	BreachOpen              = "open"
	BreachAssessed          = "assessed"
	BreachAuthorityNotified = "authority_notified"
	BreachPeopleNotified    = "people_notified"
	BreachClosed            = "closed"
)

// Notice states of an affected subject (Art. 34 notices).
const (
	NoticePending     = "pending"     // not notified (yet)
	NoticeQueued      = "queued"      // an email is in the outbox
	NoticeDelivered   = "delivered"   // the mail server accepted it
	NoticeFailed      = "failed"      // the outbox gave up, or it was cancelled
	NoticeUnreachable = "unreachable" // no email address: needs a public communication (Art. 34(3)(c))
)

// MaxBreachAffectedBatch bounds the rows of one AddBreachAffected and one
// page of ListBreachAffected.
const MaxBreachAffectedBatch = 5000

// Breach is one personal data breach of a tenant.
type Breach struct {
	TenantID string
	ID       string // UUIDv7
	Status   string // BreachOpen ... BreachClosed
	Title    string
	// DetectedAt is when the incident was detected; AwareAt when the
	// controller became aware of a personal data breach, the start of the
	// 72-hour clock of Art. 33(1).
	DetectedAt time.Time
	AwareAt    time.Time
	// Details is a JSON document owned by the breach package (nature,
	// categories, scope, consequences, measures, assessment, notification).
	Details string
	// Risk is the risk level the DPO confirmed; "" until assessed.
	Risk                string
	AssessedAt          time.Time // zero until then
	AuthorityNotifiedAt time.Time
	PeopleNotifiedAt    time.Time
	ClosedAt            time.Time
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// BreachAffected is one subject in a breach's affected set.
type BreachAffected struct {
	SubjectID string
	// Basis is why the subject is in the set: "explicit", "read_by_actor",
	// "stored_in_window".
	Basis       string
	NoticeState string // NoticePending ... NoticeUnreachable
	// MessageID is the outbox message of the notice, once queued.
	MessageID string
	UpdatedAt time.Time
}

// BreachAffectedFilter pages through an affected set in subject id order.
type BreachAffectedFilter struct {
	After string // subject ids greater than this
	State string // only this notice state; "" for all
	Limit int    // 1..MaxBreachAffectedBatch
}

// BreachTx stores the breach register. Every method is scoped by tenant.
type BreachTx interface {
	// InsertBreach stores a new breach. ErrConflict if the id is taken,
	// ErrNotFound if there is no such tenant, ErrInvalid for an unknown
	// status or missing times.
	InsertBreach(b Breach) error
	// UpdateBreach replaces the breach's mutable columns (everything but
	// tenant, id, created by and created at). ErrNotFound if the tenant has
	// no such breach.
	UpdateBreach(b Breach) error
	// GetBreach returns one breach, or ErrNotFound.
	GetBreach(tenantID, id string) (Breach, error)
	// ListBreaches returns up to limit (1..1000) breaches, newest first.
	ListBreaches(tenantID string, limit int) ([]Breach, error)
	// AddBreachAffected adds subjects to the breach's affected set as
	// pending; a subject already in it keeps its row. It returns how many
	// were new. ErrNotFound if the tenant has no such breach.
	AddBreachAffected(tenantID, breachID string, rows []BreachAffected) (int, error)
	// ClearBreachAffected removes the affected set (before computing it
	// again) and returns how many rows it removed.
	ClearBreachAffected(tenantID, breachID string) (int64, error)
	// ListBreachAffected returns a page of the affected set in subject id
	// order.
	ListBreachAffected(tenantID, breachID string, f BreachAffectedFilter) ([]BreachAffected, error)
	// CountBreachAffected counts the affected set per notice state.
	CountBreachAffected(tenantID, breachID string) (map[string]int64, error)
	// SetBreachNotice records the notice state (and the outbox message,
	// if not empty) of one affected subject. ErrNotFound if the subject is
	// not in the set.
	SetBreachNotice(tenantID, breachID, subjectID, state, messageID string, at time.Time) error
	// SetBreachNoticeByMessage records the state of the affected subject
	// whose notice is the outbox message given, and reports whether there
	// was one.
	SetBreachNoticeByMessage(tenantID, messageID, state string, at time.Time) (bool, error)
}
