package store

import (
	"context"
	"time"
)

// LedgerStore is the erasure ledger's database: which subjects and
// identities were erased, as keyed hashes, kept apart from the data store
// and the key store (its own SQLite file, or its own tables on PostgreSQL,
// ideally in a schema or database no restore overwrites), so that restoring
// either store from an older backup never rolls it back. It holds no
// identifier in clear and no key.
type LedgerStore interface {
	// RecordErasures adds entries; an entry already present keeps the
	// later of the two erasure times.
	RecordErasures(ctx context.Context, entries []LedgerEntry) error
	// LedgerTenants returns the tenant ids that have entries, sorted.
	LedgerTenants(ctx context.Context) ([]string, error)
	// LedgerEntries returns up to limit entries of the tenant after the
	// given (kind, hash), in that order.
	LedgerEntries(ctx context.Context, tenantID, afterKind string, afterHash []byte, limit int) ([]LedgerEntry, error)
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close releases the database.
	Close() error
}

// Kinds of ledger entries.
const (
	LedgerSubject  = "subject"
	LedgerIdentity = "identity"
)

// LedgerEntry is one erased subject or identity.
type LedgerEntry struct {
	TenantID string
	Kind     string // LedgerSubject | LedgerIdentity
	// Hash is a keyed hash (HMAC-SHA256 under the tenant's blind-index
	// key) of the subject id or of the identity's blind index.
	Hash     []byte
	ErasedAt time.Time
}
