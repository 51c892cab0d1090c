package store

import "time"

// AuditEvent is one row of a tenant's audit log as stored: the event itself
// (names and identifiers only, never personal values) and its place in one
// of the tenant's hash chains. Hashing is the audit package's business; the
// store keeps the bytes it is given and enforces only the linkage (Seq and
// PrevHash must extend the shard's head), so no writer can fork a chain.
type AuditEvent struct {
	TenantID   string
	Shard      int   // which of the tenant's chains, 0 ≤ Shard < its shard count
	Seq        int64 // 1, 2, 3 ... within the shard, without gaps
	At         time.Time
	Actor      string // e.g. "apikey:<id>", "cli", "system"
	Role       string
	Action     string // e.g. "subject.read"
	SubjectID  string // may be empty
	Purpose    string // may be empty
	Outcome    string // ok | denied | error
	Reason     string // short machine-readable reason, may be empty
	RequestID  string
	Fields     []string // field or collection names, never values
	Categories []string // data category names
	PrevHash   []byte   // Hash of the shard's previous event (the genesis hash for Seq 1)
	Hash       []byte   // SHA-256 over PrevHash and every other column
}

// AuditHead is the newest point of one shard of a tenant's audit log. It is
// the row appenders lock, and it lets verification notice that the newest
// events were deleted: the head still names them.
type AuditHead struct {
	TenantID string
	Shard    int
	Seq      int64  // seq of the newest event; 0 when the shard is empty
	Hash     []byte // hash of that event; the genesis hash when Seq is 0
}

// AuditCursor is a position in the newest-first order of ListAuditEvents:
// (At, Shard, Seq) descending.
type AuditCursor struct {
	At    time.Time
	Shard int
	Seq   int64
}

// AuditFilter selects audit events for ListAuditEvents. Empty fields do not
// filter.
type AuditFilter struct {
	SubjectID string
	Action    string
	Actor     string
	Since     time.Time    // events at or after Since
	Until     time.Time    // events before Until
	Before    *AuditCursor // only events after this position (older), for paging
	Limit     int          // 1..MaxAuditList; 0 means DefaultAuditList
}

// Bounds of ListAuditEvents.
const (
	DefaultAuditList = 100
	MaxAuditList     = 1000
	// MaxAuditShards bounds a tenant's shard count.
	MaxAuditShards = 256
	// MaxAuditScan bounds one page of ScanAuditEvents and
	// ListAuditCheckpoints.
	MaxAuditScan = 10000
	// MaxAuditRun bounds the events of one AppendAuditEvents.
	MaxAuditRun = 1000
)

// AuditCheckpoint is a signed statement of every shard head of a tenant at
// one time. Checkpoints are numbered per tenant and chained: PrevHash is the
// digest of the previous checkpoint's signed message, so one cannot be
// removed from the middle unnoticed.
type AuditCheckpoint struct {
	TenantID  string
	Seq       int64 // 1, 2, 3 ... per tenant
	At        time.Time
	Heads     []AuditHead // ordered by shard; TenantID may be left empty
	PrevHash  []byte      // 32 bytes; zero for the first checkpoint
	KeyID     string      // identifies the signing key
	Signature []byte
}

// AuditTx stores the hash-chained audit log: each tenant's events form a
// few independent chains (shards), each with a head row that appenders lock,
// so concurrent transactions of one tenant need not queue on one lock.
type AuditTx interface {
	// InitAuditHeads creates shards 0..shards-1 for the tenant, each at
	// seq 0 with the given genesis hash, unless the tenant already has
	// heads, and returns the tenant's shard count. Safe under concurrency:
	// a racing initialisation adds nothing twice. ErrNotFound if there is
	// no such tenant; ErrInvalid if shards is outside 1..MaxAuditShards.
	InitAuditHeads(tenantID string, shards int, genesis []byte) (int, error)
	// LockAuditHead locks one head of the tenant for appending until the
	// transaction ends and returns it. It prefers shard start (taken
	// modulo the shard count) and, on engines with row locks, moves on to
	// the next shard that no other transaction holds, waiting only when
	// all are held; a shard this transaction already holds counts as free.
	// ErrNotFound if the tenant has no heads yet (see InitAuditHeads).
	LockAuditHead(tenantID string, start int) (AuditHead, error)
	// AppendAuditEvents inserts a run of events of one shard and makes the
	// last its head, in a few statements whatever the run's length. The run
	// must extend the head: the first event's Seq is head.Seq+1 and its
	// PrevHash head.Hash, and each next event has the next Seq and the
	// previous event's Hash as PrevHash; else ErrConflict and nothing
	// changes. Call LockAuditHead first.
	AppendAuditEvents(events []AuditEvent) error
	// AuditHeads returns the tenant's heads ordered by shard (none if the
	// tenant has never been audited).
	AuditHeads(tenantID string) ([]AuditHead, error)
	// ScanAuditEvents returns up to limit (≤ MaxAuditScan) events of one
	// shard with afterSeq < seq ≤ maxSeq, in seq order.
	ScanAuditEvents(tenantID string, shard int, afterSeq, maxSeq int64, limit int) ([]AuditEvent, error)
	// AuditSeqRange returns the lowest and highest seq stored in the
	// shard, whatever its head says; 0, 0 if it has no events.
	// Verification uses it to find rows outside the chain.
	AuditSeqRange(tenantID string, shard int) (first, last int64, err error)
	// AuditShardRange returns the lowest and highest shard that have
	// events, or ErrNotFound; verification uses it to find events without
	// a head.
	AuditShardRange(tenantID string) (lo, hi int, err error)
	// ListAuditEvents returns events matching f, newest first: by At, then
	// shard and seq, descending.
	ListAuditEvents(tenantID string, f AuditFilter) ([]AuditEvent, error)
	// InsertAuditCheckpoint stores c. ErrConflict if the tenant already has
	// a checkpoint c.Seq; ErrNotFound if there is no such tenant.
	InsertAuditCheckpoint(c AuditCheckpoint) error
	// LastAuditCheckpoint returns the tenant's newest checkpoint, or
	// ErrNotFound.
	LastAuditCheckpoint(tenantID string) (AuditCheckpoint, error)
	// ListAuditCheckpoints returns up to limit (≤ MaxAuditScan) checkpoints
	// with seq > afterSeq, in seq order.
	ListAuditCheckpoints(tenantID string, afterSeq int64, limit int) ([]AuditCheckpoint, error)
}
