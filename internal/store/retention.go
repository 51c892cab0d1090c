package store

import "time"

// Retention: every field value and collection record stores its due time
// (FieldValue.ExpiresAt, Record.ExpiresAt), computed by the vault from the
// policy's retention rule on every write and recomputed when a trigger moves.
// The sweep (internal/retention) reads only due rows, through an index on
// (tenant, expires_at), in a keyset order, so its cost follows the number of
// due rows, never the size of the tables.

// Item kinds of a DueItem.
const (
	ItemField  = "field"
	ItemRecord = "record"
)

// DueItem is a field value or a record with a known due time.
type DueItem struct {
	SubjectID string
	Kind      string // ItemField | ItemRecord
	// Name is the field or the collection.
	Name string
	// RecordID is the record's id (records only).
	RecordID    string
	CollectedAt time.Time
	// ExpiresAt is the stored due time; zero when it is not known (NULL).
	ExpiresAt time.Time
	// Ciphertext is the record's ciphertext, only when DueFilter.WithData
	// asked for it (anonymisation may keep declared attributes of it).
	Ciphertext []byte
}

// Key returns the row's identity, for DeleteItems and SetExpiries.
func (d DueItem) Key() ItemKey {
	return ItemKey{SubjectID: d.SubjectID, Kind: d.Kind, Name: d.Name, RecordID: d.RecordID}
}

// ItemKey names one field value or record of a tenant.
type ItemKey struct {
	SubjectID string
	Kind      string // ItemField | ItemRecord
	Name      string
	RecordID  string
}

// DueCursor is a position in the sweep's order: expires_at, subject id, name,
// record id. The zero cursor is the start.
type DueCursor struct {
	ExpiresAt time.Time
	SubjectID string
	Name      string
	RecordID  string
}

// IsZero reports whether c is the start.
func (c DueCursor) IsZero() bool { return c.ExpiresAt.IsZero() && c.SubjectID == "" }

// DueFilter selects due rows of one kind.
type DueFilter struct {
	TenantID string
	// SubjectID, if set, limits the rows to one subject (an immediate sweep
	// after a trigger moved).
	SubjectID string
	// Before: rows with expires_at <= Before.
	Before time.Time
	// After: rows strictly after this position (keyset pagination).
	After DueCursor
	// Limit bounds the rows returned (1 to 5000).
	Limit int
	// WithData loads record ciphertexts.
	WithData bool
}

// ExpiryUpdate sets one row's due time; a zero At stores NULL (not known).
type ExpiryUpdate struct {
	Key ItemKey
	At  time.Time
}

// ScanCursor is a position in primary-key order (subject id, name, record
// id), for recomputing every row of a tenant in batches.
type ScanCursor struct {
	SubjectID string
	Name      string
	RecordID  string
}

// AnonymisedCount is what anonymisation keeps of records: how many there
// were per collection, category, generalised period and kept attributes.
type AnonymisedCount struct {
	TenantID   string
	Collection string
	Category   string
	// Period is the generalised collection time: "2026-03" (month) or
	// "2026" (year).
	Period string
	// Attributes is a canonical JSON object of the attributes the policy
	// keeps, or "" for none.
	Attributes string
	Total      int64
	UpdatedAt  time.Time
}

// RetentionState records which rules the stored due times follow, and the
// recompute in progress after a policy change.
type RetentionState struct {
	TenantID string
	// Applied is the rule signature (JSON) the stored expires_at values
	// follow; "" before the first recompute.
	Applied string
	// Target is the signature a recompute is applying; "" when none runs.
	Target string
	// Progress is where that recompute stopped (opaque to the store).
	Progress  string
	UpdatedAt time.Time
}

// Subject triggers that SetSubjectTrigger moves.
const (
	TriggerContractEnd   = "contract_end"
	TriggerAccountClosed = "account_closed"
)

// RetentionTx is what the retention sweep, its recompute and the plan need
// from the store. Every method is scoped by tenant.
type RetentionTx interface {
	// DueFields returns field values with expires_at <= f.Before after the
	// cursor, in (expires_at, subject, field) order.
	DueFields(f DueFilter) ([]DueItem, error)
	// DueRecords returns records with expires_at <= f.Before after the
	// cursor, in (expires_at, subject, collection, id) order.
	DueRecords(f DueFilter) ([]DueItem, error)
	// CountDue counts rows with expires_at <= before, per field name and per
	// collection, reading only those rows.
	CountDue(tenantID string, before time.Time) (fields, records map[string]int64, err error)
	// DeleteItems deletes exactly the rows named (all of one kind) and
	// returns those it deleted: a row deleted meanwhile by someone else is
	// not returned, so callers count and audit only what they did.
	DeleteItems(tenantID, kind string, keys []ItemKey) ([]ItemKey, error)
	// SetExpiries sets the due time of each row named (one kind per call).
	SetExpiries(tenantID, kind string, updates []ExpiryUpdate) error
	// SetSubjectExpiry sets expires_at of the subject's fields named in
	// fields and of its records in the collections named, to at (NULL if
	// zero): rules counted from a subject's trigger give all of them the
	// same due time.
	SetSubjectExpiry(tenantID, subjectID string, fields, collections []string, at time.Time) error
	// CapSubjectExpiry lowers expires_at of those rows to at where it is
	// NULL or later (an erasure makes everything not kept by law due).
	CapSubjectExpiry(tenantID, subjectID string, fields, collections []string, at time.Time) error
	// ScanFields and ScanRecords return up to limit rows after the cursor in
	// primary-key order, limited to the names given (all if none), for the
	// recompute.
	ScanFields(tenantID string, after ScanCursor, names []string, limit int) ([]DueItem, error)
	ScanRecords(tenantID string, after ScanCursor, names []string, limit int) ([]DueItem, error)
	// LockSubjects returns the subjects with these ids and, on engines with
	// row locks, locks them until the transaction ends (in id order, so two
	// lockers cannot deadlock), so a trigger that moves concurrently waits
	// for the retention decision made on them, or the decision sees it.
	LockSubjects(tenantID string, ids []string) ([]Subject, error)
	// SubjectHasData reports whether the subject has any field or record.
	SubjectHasData(tenantID, subjectID string) (bool, error)
	// SetSubjectTrigger sets the subject's contract_end_at or
	// account_closed_at (trigger is TriggerContractEnd or
	// TriggerAccountClosed) to at, NULL if zero, and updated_at. It changes
	// nothing else, so a concurrent activity is never overwritten.
	// ErrNotFound if there is no such subject.
	SetSubjectTrigger(tenantID, subjectID, trigger string, at, updatedAt time.Time) error
	// ListMinors returns up to limit ids of active subjects with age status
	// "minor" (below the minimum age, no parental consent), after the id
	// given, in id order.
	ListMinors(tenantID, after string, limit int) ([]string, error)
	// AddAnonymisedCounts adds each row's Total to its (collection,
	// category, period, attributes) counter, creating it at need.
	AddAnonymisedCounts(rows []AnonymisedCount) error
	// ListAnonymisedCounts returns the tenant's counters, of one
	// collection or of all ("").
	ListAnonymisedCounts(tenantID, collection string) ([]AnonymisedCount, error)
	// ScanSubjects returns up to limit subjects of the tenant after the
	// id given, in id order (re-applying the erasure ledger after a
	// restore).
	ScanSubjects(tenantID, after string, limit int) ([]Subject, error)
	// ScanIdentities returns up to limit identities of the tenant after
	// (kind, blind), in that order.
	ScanIdentities(tenantID, afterKind string, afterBlind []byte, limit int) ([]Identity, error)
	// GetRetentionState returns the tenant's state, or ErrNotFound.
	GetRetentionState(tenantID string) (RetentionState, error)
	// PutRetentionState inserts or replaces the tenant's state.
	PutRetentionState(s RetentionState) error
}
