package store

import "time"

// OutboxMessage is one email or webhook waiting for delivery, delivered, or
// given up on. Everything personal about it (recipient address, subject
// line, bodies, webhook URL, secret and body) is in Payload, sealed under a
// tenant key by package outbox; the other columns are metadata safe to list
// in a console. Payload is removed once the message is delivered, handled
// by hand or cancelled, so the table does not become an archive of personal
// data.
type OutboxMessage struct {
	TenantID  string
	ID        string // UUIDv7
	SubjectID string // whose message it is; "" if nobody's in particular
	Topic     string // e.g. rights.verification_code, breach.notice
	Channel   string // OutboxEmail | OutboxWebhook
	// Destination is the recipient's email domain or the webhook's host,
	// never the full address or URL.
	Destination string
	// DedupeKey, if set, is unique per tenant while the row exists: a
	// second message with the same key is not inserted (see
	// InsertOutboxMessage).
	DedupeKey   string
	Status      string // OutboxQueued | OutboxDelivered | OutboxDead | OutboxHandled | OutboxCancelled
	Attempts    int    // delivery attempts made
	MaxAttempts int    // dead after this many failed attempts
	// NextAttemptAt is when the next attempt is due; zero unless queued.
	NextAttemptAt time.Time
	// LastError describes the last failure (or why the message waits)
	// without addresses, URLs, bodies or secrets.
	LastError string
	// LastCode is the last HTTP status (webhooks) or SMTP reply code
	// (email), 0 if none was received.
	LastCode int
	// JobID is the job that makes the next attempt; "" when none is due.
	// Each attempt records its outcome only if it is still the message's
	// job, so a retry-now or a manual "handled" cannot race an attempt
	// that is already running into a wrong status.
	JobID string
	// Payload is the sealed message; nil once deleted. Lists leave it out
	// and set HasPayload instead.
	Payload    []byte
	HasPayload bool

	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time // zero unless delivered
	HandledAt   time.Time // when a person marked it handled, or it was cancelled
	HandledBy   string    // actor, e.g. apikey:<id>
	Note        string    // the person's note, or the reason for cancelling
}

// Outbox channels.
const (
	OutboxEmail   = "email"
	OutboxWebhook = "webhook"
)

// Outbox statuses. Queued is the only one with a next attempt; Dead keeps
// its payload so it can be retried; Delivered, Handled and Cancelled are
// final and hold no payload (the schema enforces it).
const (
	OutboxQueued    = "queued"
	OutboxDelivered = "delivered"
	OutboxDead      = "dead"
	OutboxHandled   = "handled"
	OutboxCancelled = "cancelled"
)

// OutboxFilter selects a tenant's messages for listing, newest first.
type OutboxFilter struct {
	TenantID  string // required
	Status    string // optional: one of the statuses
	Topic     string // optional: exact topic
	SubjectID string // optional
	Channel   string // optional: email or webhook
	// Before is a cursor: only messages with an id below it (older).
	Before string
	Limit  int // default 100, at most 1000
}

// OutboxTx stores the outbox. Messages are written in the same transaction
// as the change that causes them, together with the job that delivers them
// (JobTx), so a message exists exactly when its cause committed.
type OutboxTx interface {
	// InsertOutboxMessage stores m (queued, with its payload). If m.DedupeKey
	// is set and the tenant already has a message with that key, it inserts
	// nothing and returns the existing message's id with inserted false.
	// ErrNotFound if the tenant does not exist, ErrConflict if the id is
	// taken, ErrInvalid for a malformed message.
	InsertOutboxMessage(m OutboxMessage) (id string, inserted bool, err error)
	// GetOutboxMessage returns one message with its payload, or
	// ErrNotFound.
	GetOutboxMessage(tenantID, id string) (OutboxMessage, error)
	// ListOutboxMessages returns the tenant's messages matching f, newest
	// first, without payloads.
	ListOutboxMessages(f OutboxFilter) ([]OutboxMessage, error)
	// UpdateOutboxMessage writes the mutable columns of m (status,
	// attempts, next attempt, last error and code, job, payload, delivered
	// and handled times, handled by, note, updated at) if the stored
	// message's job is still expectJobID; ErrConflict if another job or a
	// person has taken it over meanwhile, ErrNotFound if it is absent.
	// A nil m.Payload deletes the payload; on SQLite its bytes are
	// overwritten in the file (secure_delete), not merely unlinked.
	UpdateOutboxMessage(m OutboxMessage, expectJobID string) error
	// ListStalledOutbox returns up to limit queued messages of any tenant
	// whose next attempt was due before the given time, oldest first,
	// without payloads: for the sweep that re-enqueues attempts whose job
	// died. It crosses tenants on purpose, as the job system does.
	ListStalledOutbox(before time.Time, limit int) ([]OutboxMessage, error)
	// DeleteOutboxMessages deletes up to limit of the tenant's delivered,
	// handled or cancelled messages last updated before the given time,
	// and reports how many it deleted.
	DeleteOutboxMessages(tenantID string, finishedBefore time.Time, limit int) (int, error)
}
