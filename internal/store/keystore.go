package store

import (
	"context"
	"errors"
	"time"
)

// KeyStore is the database that holds Trustee's wrapped keys, kept apart from
// the data they protect: its own SQLite file, or its own tables (and, when the
// operator gives it a separate DSN, its own schema or database) on
// PostgreSQL. A copy of the data store without the key store therefore holds
// only ciphertexts whose keys it does not have, and a subject's data key can
// be destroyed (crypto-shredding) without rewriting, or even reaching, the
// data and its backups.
//
// Nothing in it is usable without the root key: every row holds key material
// only in wrapped (encrypted) form. The same rules as Store apply to Write
// functions: they may run more than once and may share a physical
// transaction with other callers, so their only side effects go through
// KeyTx.OnCommit, and they must not call Read or Write themselves.
type KeyStore interface {
	// Read runs fn against a consistent, read-only view of the keys.
	Read(ctx context.Context, fn func(KeyTx) error) error
	// Write runs fn atomically and durably: every change fn makes is
	// committed before Write returns nil, or none is.
	Write(ctx context.Context, fn func(KeyTx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Migrations reports the key schema's applied and latest versions.
	Migrations(ctx context.Context) (MigrationStatus, error)
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close waits for pending writes and releases the database.
	Close() error
}

// ErrKeyDestroyed means the subject's data key was destroyed (the subject was
// crypto-shredded). It is distinct from ErrNotFound ("never created") so that
// erasure can be proven, and a destroyed key is never replaced by a new one.
var ErrKeyDestroyed = errors.New("key destroyed")

// Purposes of tenant keys. Each is versioned per tenant; the highest version
// is the current one.
const (
	// KeyPurposeKEK wraps the tenant's subject data keys.
	KeyPurposeKEK = "kek"
	// KeyPurposeIndex is the HMAC key of the tenant's blind indexes.
	KeyPurposeIndex = "index"
	// KeyPurposeAuditSigning is the Ed25519 seed that signs the tenant's
	// audit checkpoints.
	KeyPurposeAuditSigning = "audit_signing"
)

// TenantKey is one version of one of a tenant's keys, wrapped by the root key.
type TenantKey struct {
	TenantID string
	Purpose  string // KeyPurposeKEK | KeyPurposeIndex | KeyPurposeAuditSigning
	Version  int    // 1, 2, ... per tenant and purpose
	// Wrapped is the key material encrypted under the root key, with
	// associated data binding it to tenant, purpose and version.
	Wrapped []byte
	// RootKeyID is the id (in the root keyset) of the root key that wrapped
	// it, so a root key can be retired once nothing references it.
	RootKeyID uint32
	CreatedAt time.Time
	// RetiredAt is when a newer version replaced this one for new work;
	// zero while it is current. A retired key still decrypts what it
	// protected.
	RetiredAt time.Time
}

// SubjectKey is a subject's data key (DEK), wrapped by a version of its
// tenant's KEK. Deleting it is crypto-shredding.
type SubjectKey struct {
	TenantID   string
	SubjectID  string
	Wrapped    []byte // the DEK encrypted under the tenant KEK, bound to tenant and subject
	KEKVersion int    // which version of the tenant's KEK wrapped it
	CreatedAt  time.Time
}

// ShreddedKey is the ledger entry left when a subject's data key is
// destroyed: when, and for whom, without any key material, so "was this
// subject erased?" has an answer after the key is gone.
type ShreddedKey struct {
	TenantID    string
	SubjectID   string
	DestroyedAt time.Time
}

// KeyTx is one unit of work on the key store. Its methods are only valid
// inside the function given to Read or Write. ErrNotFound, ErrConflict,
// ErrKeyDestroyed and ErrInvalid leave the transaction usable on every
// engine.
type KeyTx interface {
	// InsertTenantKey stores k; ErrConflict if the tenant already has that
	// purpose and version (another instance created it first: read it back
	// and use that one).
	InsertTenantKey(k TenantKey) error
	// ListTenantKeys returns the tenant's keys ordered by purpose and
	// version (empty if it has none).
	ListTenantKeys(tenantID string) ([]TenantKey, error)
	// ListKeyTenants returns the ids of every tenant that has keys, sorted.
	ListKeyTenants() ([]string, error)
	// RewrapTenantKey replaces the wrapping of one tenant key (same key
	// material, new root key) if it is still wrapped by fromRootKeyID;
	// ErrNotFound if it is not (absent, or rewrapped meanwhile).
	RewrapTenantKey(tenantID, purpose string, version int, fromRootKeyID uint32, wrapped []byte, rootKeyID uint32) error
	// RetireTenantKeys sets RetiredAt on every version of purpose below
	// version that is not retired yet.
	RetireTenantKeys(tenantID, purpose string, version int, at time.Time) error
	// TenantKeysNotWrappedBy returns up to limit tenant keys (of any tenant)
	// whose root key is not rootKeyID, for re-wrapping after a root
	// rotation.
	TenantKeysNotWrappedBy(rootKeyID uint32, limit int) ([]TenantKey, error)
	// CountTenantKeysByRoot counts tenant keys per root key id.
	CountTenantKeysByRoot() (map[uint32]int, error)

	// InsertSubjectKey stores a new data key; ErrConflict if the subject
	// has one, ErrKeyDestroyed if its key was destroyed (a shredded
	// subject never gets a key again).
	InsertSubjectKey(k SubjectKey) error
	// GetSubjectKey returns the subject's data key; ErrKeyDestroyed if it
	// was destroyed, ErrNotFound if it never existed.
	GetSubjectKey(tenantID, subjectID string) (SubjectKey, error)
	// DestroySubjectKey deletes the subject's data key and records the
	// destruction in the ledger at the given time (kept from the first
	// call if repeated). It reports whether a key was deleted; destroying
	// a subject that never had a key still records it.
	DestroySubjectKey(tenantID, subjectID string, at time.Time) (bool, error)
	// GetShredded returns the ledger entry, or ErrNotFound.
	GetShredded(tenantID, subjectID string) (ShreddedKey, error)
	// SubjectKeysNotAt returns up to limit of the tenant's subject keys
	// wrapped by a KEK version other than kekVersion, ordered by subject
	// id, for re-wrapping in batches.
	SubjectKeysNotAt(tenantID string, kekVersion int, limit int) ([]SubjectKey, error)
	// RewrapSubjectKey replaces the wrapping of a subject key if it is
	// still wrapped by fromVersion; ErrNotFound if it is not (destroyed or
	// rewrapped meanwhile), so a rewrap never resurrects a shredded key.
	RewrapSubjectKey(tenantID, subjectID string, fromVersion int, wrapped []byte, kekVersion int) error
	// CountSubjectKeys counts the tenant's subject keys per KEK version.
	CountSubjectKeys(tenantID string) (map[int]int, error)
	// CountShredded counts the tenant's ledger entries.
	CountShredded(tenantID string) (int, error)

	// OnCommit registers fn to run after the transaction has committed.
	OnCommit(fn func())
	// Context returns the context of the Read or Write call.
	Context() context.Context
}
