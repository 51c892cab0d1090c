package store

import (
	"fmt"
	"time"
)

// Subject is a data subject of a tenant. The row carries no personal data in
// clear: identities are keyed hashes, values are ciphertexts elsewhere.
type Subject struct {
	TenantID  string
	ID        string // UUIDv7
	State     string // SubjectActive | SubjectErased
	Anonymous bool   // created without any identity (e.g. a browser id)
	// AgeStatus is "" (not known to be a child), "minor" (below the
	// policy's minimum age, no parental consent) or "minor_consented".
	AgeStatus       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastActivityAt  time.Time // retention trigger last_activity
	ContractEndAt   time.Time // retention trigger contract_end; zero: not ended
	AccountClosedAt time.Time // retention trigger account_closed; zero: open
	ErasedAt        time.Time
	// HasControls is set by the store once the subject has a restriction,
	// objection, legal hold or consent event; reads of subjects without it
	// need not query controls. It is never cleared.
	HasControls bool
}

// SubjectData is what a purpose-scoped read loads in one query: the subject,
// its encrypted fields, and whether controls must be read too.
type SubjectData struct {
	Subject Subject
	Fields  []FieldValue
	// TenantHolds is true when the tenant has a legal hold over every
	// subject in force, so controls must be read even without HasControls.
	TenantHolds bool
}

// NeedsControls reports whether SubjectControls can change a decision.
func (d SubjectData) NeedsControls() bool { return d.Subject.HasControls || d.TenantHolds }

// Subject states.
const (
	SubjectActive = "active"
	SubjectErased = "erased"
)

// Identity points from a keyed hash of a normalised identifier (the blind
// index) to its subject. The plain value exists only encrypted, as the field
// it came from.
type Identity struct {
	TenantID  string
	Kind      string // email | phone | external_id | login
	Blind     []byte // HMAC-SHA256 under the tenant's index key
	SubjectID string
	Field     string // the field the identity was taken from
	CreatedAt time.Time
}

// FieldValue is one encrypted field of a subject.
type FieldValue struct {
	TenantID    string
	SubjectID   string
	Field       string
	Ciphertext  []byte // sealed with the subject's data key, bound to tenant, subject and field
	Source      string // provided | observed | inferred | third_party
	CollectedAt time.Time
	UpdatedAt   time.Time
	// ExpiresAt is when the retention rule ends (zero: not known yet, e.g.
	// counted from a contract end that has not happened). Written on
	// insert and update; reads of values do not load it.
	ExpiresAt time.Time
}

// Record is one encrypted entry of a subject's collection.
type Record struct {
	TenantID    string
	SubjectID   string
	Collection  string
	ID          string // UUIDv7; also the pagination cursor
	Ciphertext  []byte // bound to tenant, subject, collection and record id
	Source      string
	CollectedAt time.Time
	// ExpiresAt is when the retention rule ends (zero: not known yet).
	// Written on insert; reads of records do not load it.
	ExpiresAt time.Time
}

// Idempotency remembers the answer to a request sent with an
// Idempotency-Key, so a retried create returns the same subject.
type Idempotency struct {
	TenantID    string
	Key         string
	RequestHash []byte // SHA-256 of method, path and body
	Status      int
	Body        []byte // the response body (ids only, never personal data)
	CreatedAt   time.Time
}

// IdentityConflict is returned (wrapped in ErrConflict) when an identity is
// already taken in the tenant, naming the subject that holds it.
type IdentityConflict struct {
	Kind      string
	Field     string
	SubjectID string
}

func (e *IdentityConflict) Error() string {
	return fmt.Sprintf("%s identity already belongs to subject %s", e.Kind, e.SubjectID)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *IdentityConflict) Is(target error) bool { return target == ErrConflict }

// VaultTx stores subjects, identities, encrypted fields and collection
// records. Every method is scoped by tenant id; a subject id of another
// tenant behaves exactly like one that does not exist.
type VaultTx interface {
	// RetentionTx keeps the due times of the rows below; it is part of the
	// vault's contract because every vault write sets them.
	RetentionTx
	// CreateSubject inserts s with its identities and fields at once. If an
	// identity is taken it returns *IdentityConflict (which Is ErrConflict)
	// and inserts nothing.
	CreateSubject(s Subject, ids []Identity, fields []FieldValue) error
	// GetSubject returns the subject, or ErrNotFound.
	GetSubject(tenantID, id string) (Subject, error)
	// UpdateSubject writes the mutable columns of s (state, age status,
	// trigger times, updated and erased times); ErrNotFound if absent.
	UpdateSubject(s Subject) error
	// TouchSubject sets updated_at to at and, if activity, last_activity_at
	// too.
	TouchSubject(tenantID, id string, at time.Time, activity bool) error
	// FindIdentity returns the subject holding the blind index, or
	// ErrNotFound.
	FindIdentity(tenantID, kind string, blind []byte) (string, error)
	// ListIdentities returns the subject's identities.
	ListIdentities(tenantID, subjectID string) ([]Identity, error)
	// SetIdentity makes id the subject's identity for id.Field, replacing
	// the previous one of that field; *IdentityConflict if another subject
	// holds it.
	SetIdentity(id Identity) error
	// DeleteIdentity removes the identity taken from field, if any.
	DeleteIdentity(tenantID, subjectID, field string) error
	// GetFields returns the subject's encrypted fields ordered by name.
	GetFields(tenantID, subjectID string) ([]FieldValue, error)
	// PutFields inserts or replaces the given fields.
	PutFields(fields []FieldValue) error
	// DeleteField removes one field; ErrNotFound if it was not set.
	DeleteField(tenantID, subjectID, field string) error
	// AppendRecord inserts a collection record.
	AppendRecord(r Record) error
	// ListRecords returns up to limit records of the collection with ids
	// after the cursor ("" for the first page), oldest first.
	ListRecords(tenantID, subjectID, collection, after string, limit int) ([]Record, error)
	// EraseSubject deletes the subject's fields, records and identities,
	// except the fields and collections named in keep (held by law), and
	// marks the subject erased at the given time.
	EraseSubject(tenantID, id string, at time.Time, keepFields, keepCollections []string) error
	// LoadSubject returns the subject with its fields in one query, or
	// ErrNotFound.
	LoadSubject(tenantID, id string) (SubjectData, error)
	// LoadSubjectMeta is LoadSubject without the fields, for decisions
	// that read no values.
	LoadSubjectMeta(tenantID, id string) (SubjectData, error)
	// LoadSubjectByIdentity is LoadSubject through a blind index.
	LoadSubjectByIdentity(tenantID, kind string, blind []byte) (SubjectData, error)
	// GetIdempotency returns a remembered answer, or ErrNotFound.
	GetIdempotency(tenantID, key string) (Idempotency, error)
	// PutIdempotency remembers an answer; ErrConflict if the key exists.
	PutIdempotency(i Idempotency) error
}
