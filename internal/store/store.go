// Package store is the persistence contract every Trustee engine fulfils.
//
// Domain packages never see SQL, drivers or engine quirks: they call Read or
// Write with a function that uses the typed methods of Tx. Two engines
// implement the contract (store/sqlite, embedded, and store/postgres), and one
// conformance suite (store/storetest) runs against both, so behaviour that a
// test pins down on one engine holds on the other.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Store is an open database holding Trustee's data.
//
// Write functions may run more than once (a PostgreSQL serialization retry) and
// may share a physical transaction with other callers' functions (SQLite group
// commit), so they must not have effects outside the Tx except through
// Tx.OnCommit. A Write function must not call Read or Write itself.
type Store interface {
	// Read runs fn against a consistent, read-only view of the data.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn atomically: every change fn makes is committed, durably,
	// before Write returns nil, or none is.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Migrations reports the schema version applied and the latest one this
	// build knows, so readiness can require the schema to be current.
	Migrations(ctx context.Context) (MigrationStatus, error)
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close waits for pending writes and releases the database.
	Close() error
}

// MigrationStatus compares the schema in the database with the build.
type MigrationStatus struct {
	Current int64
	Latest  int64
}

// UpToDate reports whether every embedded migration has been applied.
func (m MigrationStatus) UpToDate() bool { return m.Current >= m.Latest }

// Tx is one unit of work. Its methods are only valid inside the function given
// to Read or Write. Every method that touches tenant data takes the tenant id
// and never returns another tenant's rows. The errors named below
// (ErrNotFound, ErrConflict, ErrLeaseLost, ErrInvalid) leave the transaction
// usable on every engine, so a function may handle one and go on; after any
// other error it should return.
type Tx interface {
	TenantTx
	PolicyTx
	APIKeyTx
	JobTx
	VaultTx
	AuditTx
	ControlsTx
	TokensTx
	OutboxTx
	SuppressionTx
	AudienceTx
	StaffTx
	BreachTx
	ExportsTx
	RequestsTx
	PropagationTx
	// OnCommit registers fn to run after the transaction has committed
	// (never if it rolls back), for in-memory caches that must not see
	// uncommitted state. Hooks run on the caller's goroutine before Read or
	// Write returns.
	OnCommit(fn func())
	// Context returns the context of the Read or Write call, for code that
	// needs one inside fn. It is marked so that a Read or Write made with it
	// on the same Store fails at once instead of deadlocking the single
	// SQLite writer or escaping the transaction.
	Context() context.Context
}

// Errors every engine returns, so callers can branch with errors.Is.
var (
	// ErrNotFound means the row does not exist (or belongs to another tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule would be broken.
	ErrConflict = errors.New("conflict")
	// ErrLeaseLost means a job or lease is no longer held by the caller.
	ErrLeaseLost = errors.New("lease lost")
	// ErrReadOnly means a write was attempted inside Read.
	ErrReadOnly = errors.New("write in a read-only transaction")
	// ErrClosed means the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrInvalid means a value breaks the shape documented here (an empty
	// id, a malformed slug, an unknown mode or status), so nothing was
	// written; callers report it as bad input rather than a server fault.
	ErrInvalid = errors.New("invalid value")
)

// NewID returns a new UUIDv7 string, the id format of every row, so ids sort
// by creation time in indexes and listings.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Tenant is one controller, or one customer of a processor. Everything else
// is scoped to a tenant.
type Tenant struct {
	ID        string // UUIDv7
	Slug      string // unique, URL-safe: [a-z0-9][a-z0-9-]{0,62}
	Name      string
	Mode      string // controller | processor
	CreatedAt time.Time
}

// TenantTx manages tenants.
type TenantTx interface {
	// CreateTenant inserts t; ErrConflict if the id or slug is taken.
	CreateTenant(t Tenant) error
	// GetTenant returns the tenant with this id, or ErrNotFound.
	GetTenant(id string) (Tenant, error)
	// GetTenantBySlug returns the tenant with this slug, or ErrNotFound.
	GetTenantBySlug(slug string) (Tenant, error)
	// ListTenants returns all tenants ordered by slug.
	ListTenants() ([]Tenant, error)
	// UpdateTenantMode records the mode of the active policy.
	UpdateTenantMode(id, mode string) error
}

// PolicyVersion is one immutable applied version of a tenant's policy.
type PolicyVersion struct {
	TenantID      string
	Version       int    // 1, 2, 3 ... per tenant, assigned by InsertPolicyVersion
	Hash          string // "sha256:" + hex of the canonical policy
	Format        string // "yaml" or "json": the format of Source
	Source        []byte // the text as applied
	Revision      string // the policy's own label, may be empty
	EffectiveDate string // YYYY-MM-DD, may be empty
	AppliedAt     time.Time
	AppliedBy     string // actor, e.g. "apikey:ab12cd" or "cli"
}

// PolicyTx stores policy versions.
type PolicyTx interface {
	// InsertPolicyVersion stores v as the tenant's newest version, setting
	// v.Version to one more than the current highest.
	InsertPolicyVersion(v *PolicyVersion) error
	// ActivePolicy returns the newest version, or ErrNotFound if none.
	ActivePolicy(tenantID string) (PolicyVersion, error)
	// GetPolicyVersion returns one version, or ErrNotFound.
	GetPolicyVersion(tenantID string, version int) (PolicyVersion, error)
	// ListPolicyVersions returns all versions newest first, without Source.
	ListPolicyVersions(tenantID string) ([]PolicyVersion, error)
}

// APIKey is a credential of one tenant with one role. Only a hash of its
// secret is stored.
type APIKey struct {
	ID         string // public key id, unique across tenants
	TenantID   string
	Role       string
	Name       string
	SecretHash []byte // SHA-256 of the secret part
	CreatedAt  time.Time
	CreatedBy  string
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: active
}

// APIKeyTx stores API keys.
type APIKeyTx interface {
	// CreateAPIKey inserts k; ErrConflict if the id is taken.
	CreateAPIKey(k APIKey) error
	// GetAPIKey returns a key by id for authentication, whatever its tenant,
	// or ErrNotFound.
	GetAPIKey(id string) (APIKey, error)
	// ListAPIKeys returns the tenant's keys, newest first.
	ListAPIKeys(tenantID string) ([]APIKey, error)
	// RevokeAPIKey marks the key revoked at the given time; ErrNotFound if
	// the tenant has no such key. Revoking twice keeps the first time.
	RevokeAPIKey(tenantID, id string, at time.Time) error
}

// Job is a durable unit of background work.
type Job struct {
	ID          string // UUIDv7
	TenantID    string // may be empty for system jobs
	Kind        string // handler name, e.g. "retention.sweep"
	Key         string // optional dedupe key: one unfinished job per (Kind, Key)
	Payload     []byte // JSON
	Status      JobStatus
	RunAt       time.Time
	Attempts    int
	MaxAttempts int
	LeaseOwner  string
	LeaseUntil  time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// JobStatus is where a job is in its life.
type JobStatus string

// Job statuses.
const (
	JobQueued  JobStatus = "queued"  // waiting for RunAt
	JobRunning JobStatus = "running" // leased by a worker until LeaseUntil
	JobDone    JobStatus = "done"    // finished successfully
	JobDead    JobStatus = "dead"    // failed MaxAttempts times
)

// JobFilter selects jobs for listing.
type JobFilter struct {
	TenantID string
	Kind     string
	Status   JobStatus
	Limit    int
}

// JobTx is the durable job queue with leases. A running job whose lease has
// expired (its worker died) can be claimed again.
type JobTx interface {
	// EnqueueJob inserts j as queued. If j.Key is set and an unfinished job
	// of the same kind and key exists, it returns that job's id and inserts
	// nothing. An empty ID is filled with NewID, a zero CreatedAt with the
	// current time, a zero RunAt with CreatedAt; MaxAttempts below 1 counts
	// as 1. ErrInvalid if Kind is empty.
	EnqueueJob(j Job) (id string, err error)
	// ClaimJobs leases up to limit jobs of the given kinds (all kinds if
	// none) that are queued and due, or running with an expired lease, to
	// owner until leaseUntil, incrementing Attempts. No job is ever held by
	// two owners at once, even across processes. A running job whose lease
	// expired after its last allowed attempt is marked dead instead (its
	// worker keeps dying), so it cannot loop forever. Jobs come back in
	// RunAt order.
	ClaimJobs(owner string, kinds []string, now, leaseUntil time.Time, limit int) ([]Job, error)
	// ExtendJobLease keeps a running job; ErrLeaseLost if owner lost it.
	// A job is owner's while it is running under owner's name: an expired
	// lease that nobody has claimed again still counts, as nobody else can
	// be running the job.
	ExtendJobLease(id, owner string, until time.Time) error
	// CompleteJob marks the job done; ErrLeaseLost if owner lost it.
	CompleteJob(id, owner string, now time.Time) error
	// FailJob records errMsg; the job is queued again at retryAt, or dead
	// when retryAt is zero. ErrLeaseLost if owner lost it.
	FailJob(id, owner, errMsg string, now, retryAt time.Time) error
	// GetJob returns one job, or ErrNotFound.
	GetJob(id string) (Job, error)
	// ListJobs returns jobs matching f, newest first.
	ListJobs(f JobFilter) ([]Job, error)
	// AcquireLease takes or renews the named lease for owner until the given
	// time if it is free, expired, or already owner's, and reports whether
	// owner now holds it. Used for singleton schedulers across instances.
	AcquireLease(name, owner string, now, until time.Time) (bool, error)
	// ReleaseLease gives the lease up if owner holds it.
	ReleaseLease(name, owner string) error
}
