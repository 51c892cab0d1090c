// Package audit is Trustee's tamper-evident audit log: who did what to whose
// personal data, for which purpose, with what outcome — names and
// identifiers only, never values.
//
// Each tenant's log is a few independent hash chains (shards). An event row
// stores its shard, its seq (1, 2, 3 ... per shard) and the hash of the
// previous event, and its own hash covers that and every other column. A
// head row per shard holds the newest seq and hash; appending locks it,
// inserts the event and moves it, inside the caller's transaction, so an
// operation and its audit event commit together or not at all. Shards exist
// for PostgreSQL, where concurrent transactions of one tenant would
// otherwise all queue on one head lock; SQLite's single writer needs one.
//
// Checkpoints sign every head of a tenant with its Ed25519 audit key,
// periodically and on demand. Verify walks every chain in bounded pages and
// reports the first broken link: an edited, deleted, inserted or reordered
// row anywhere breaks a hash or a seq; deleting the newest rows leaves the
// head pointing past them; rolling the head back too is caught by the
// signed checkpoints for everything they cover. docs/security.md says what
// this proves and what it cannot.
package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Event is one audited action.
type Event struct {
	// Actor is who acted: "apikey:<id>", "cli", "system", ...
	Actor string
	// Role is the actor's role (admin, dpo, agent, service, auditor), if any.
	Role string
	// Action is what was done, dotted lower case: subject.read,
	// subject.create, policy.apply, auth.denied, key.shred, audit.verify ...
	Action string
	// SubjectID is whose data was touched; empty when no subject is.
	SubjectID string
	// Purpose is why (a purpose key of the policy), if the action has one.
	Purpose string
	// Outcome is OutcomeOK, OutcomeDenied or OutcomeError.
	Outcome string
	// Reason explains the outcome in short machine-readable form, e.g.
	// "withheld email:consent_missing". Never values.
	Reason string
	// RequestID ties the event to the HTTP request (and its logs).
	RequestID string
	// Fields are the field or collection names involved (never values).
	Fields []string
	// Categories are the data categories involved.
	Categories []string
	// At is when it happened; zero means now.
	At time.Time
}

// Outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// Limits on events. Names are short identifiers by construction; a value
// that breaks these rules is a programming error (or an attempt to put data
// where names belong), so Append refuses it and the operation fails.
const (
	maxActionLen = 64
	maxIDLen     = 128  // actor, subject id, purpose, request id, role
	maxReasonLen = 4096 // the store's bound
	maxNameLen   = 128
	maxNames     = 1024
)

// ErrInvalidEvent means an event breaks the rules above. It is a server
// fault, not bad input: the caller built the event.
var ErrInvalidEvent = errors.New("invalid audit event")

// ErrNotConfigured is returned by a nil *Log, so that a service wired
// without an audit log fails its operations instead of running unaudited.
var ErrNotConfigured = errors.New("audit: no audit log configured")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("audit: %w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
}

// validate checks e. Messages name the field, never its content.
func (e *Event) validate() error {
	if e.Action == "" || len(e.Action) > maxActionLen || !isAction(e.Action) {
		return invalidf("action must be dotted lower-case words, e.g. subject.read")
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeError:
	default:
		return invalidf("outcome must be ok, denied or error")
	}
	if e.Actor == "" {
		return invalidf("actor is empty")
	}
	for _, f := range []struct{ name, val string }{
		{"actor", e.Actor}, {"role", e.Role}, {"subject id", e.SubjectID}, {"purpose", e.Purpose}, {"request id", e.RequestID},
	} {
		if len(f.val) > maxIDLen || !isToken(f.val) {
			return invalidf("%s must be at most %d printable characters without spaces", f.name, maxIDLen)
		}
	}
	if len(e.Reason) > maxReasonLen || !isText(e.Reason) {
		return invalidf("reason must be at most %d bytes of UTF-8 text without control characters", maxReasonLen)
	}
	for _, l := range []struct {
		name  string
		names []string
	}{{"fields", e.Fields}, {"categories", e.Categories}} {
		if len(l.names) > maxNames {
			return invalidf("more than %d %s", maxNames, l.name)
		}
		for _, n := range l.names {
			if n == "" || len(n) > maxNameLen || !isName(n) {
				return invalidf("%s must be names of letters, digits and _ . : / - (never values)", l.name)
			}
		}
	}
	if !e.At.IsZero() && (e.At.UnixMicro() < 0 || e.At.Year() > 9999) {
		return invalidf("time out of range")
	}
	return nil
}

// isAction: [a-z][a-z0-9_]* words separated by dots.
func isAction(s string) bool {
	prevDot := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			prevDot = false
		case (c >= '0' && c <= '9' || c == '_') && !prevDot:
		case c == '.' && !prevDot && i < len(s)-1:
			prevDot = true
		default:
			return false
		}
	}
	return true
}

// isToken: printable ASCII without spaces (ids, keys, request ids).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// isName: what field, collection and category names are made of. No '@',
// spaces or commas, so an email address or a sentence cannot pass.
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '.' || c == ':' || c == '/' || c == '-':
		default:
			return false
		}
	}
	return true
}

// isText: valid UTF-8 without control characters.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// Keys gives a tenant's audit keys. keys.Manager implements it; tests use
// generated keys.
type Keys interface {
	// AuditSigner returns the private key that signs checkpoints.
	AuditSigner(ctx context.Context, tenantID string) (ed25519.PrivateKey, error)
	// AuditPublicKey returns the public key that verifies them.
	AuditPublicKey(ctx context.Context, tenantID string) (ed25519.PublicKey, error)
}

// DefaultShards is the shard count for new tenants on engines with row
// locks. Sixteen heads keep a pool of connections from queueing on one
// another while keeping verification's per-shard overhead negligible.
const DefaultShards = 16

// ShardsFor returns the shard count suited to an engine: one on SQLite,
// whose single writer serialises appends anyway, DefaultShards elsewhere.
func ShardsFor(engine string) int {
	if engine == "sqlite" {
		return 1
	}
	return DefaultShards
}

// Options configure a Log. The zero value works.
type Options struct {
	// Shards is the number of chains a tenant gets with its first event
	// (1..256; default DefaultShards). It is fixed for the tenant then;
	// use ShardsFor(store.Engine()).
	Shards int
	// Keys signs checkpoints and verifies them; nil leaves checkpoints
	// to explicit Checkpoint calls and VerifyTenant to the chain alone.
	Keys Keys
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives checkpoint digests and failures (default: discarded).
	// Never event contents.
	Logger *slog.Logger
}

// Log appends to and reads the audit log. It is safe for concurrent use and
// keeps no state about tenants, so any number of instances may share a
// database.
type Log struct {
	opts     Options
	next     atomic.Uint32 // round-robin start shard
	batchers sync.Map      // store.Store → *batcher, for Record
}

// New returns a Log.
func New(opts Options) *Log {
	if opts.Shards <= 0 {
		opts.Shards = DefaultShards
	}
	opts.Shards = min(opts.Shards, store.MaxAuditShards)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Log{opts: opts}
}

func (l *Log) now() time.Time {
	if l.opts.Now == nil {
		return time.Now()
	}
	return l.opts.Now()
}

func (l *Log) shards() int {
	if l.opts.Shards <= 0 {
		return DefaultShards
	}
	return min(l.opts.Shards, store.MaxAuditShards)
}

// Append adds e to the tenant's log inside tx, the caller's write
// transaction: the event commits with the operation it records, or neither
// does, and an error here must fail the operation (return it from the Write
// function). It costs three statements: lock a head, move it, insert the
// event.
func (l *Log) Append(tx store.Tx, tenantID string, e Event) error {
	if l == nil {
		return ErrNotConfigured
	}
	if err := e.validate(); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = l.now()
	}
	return l.appendRun(tx, tenantID, []Event{e})
}

// AppendAll adds es to the tenant's log inside tx, like Append, as runs on
// one shard: one head lock and multi-row inserts per store.MaxAuditRun
// events instead of three statements per event, for operations that record
// many events in one transaction (a retention sweep's batch, one event per
// subject it touched).
func (l *Log) AppendAll(tx store.Tx, tenantID string, es []Event) error {
	if l == nil {
		return ErrNotConfigured
	}
	now := l.now()
	run := make([]Event, 0, min(len(es), store.MaxAuditRun))
	for i := range es {
		e := es[i]
		if err := e.validate(); err != nil {
			return err
		}
		if e.At.IsZero() {
			e.At = now
		}
		run = append(run, e)
		if len(run) == store.MaxAuditRun || i == len(es)-1 {
			if err := l.appendRun(tx, tenantID, run); err != nil {
				return err
			}
			run = run[:0]
		}
	}
	return nil
}

// appendRun appends validated, timed events of one tenant as one run on
// one shard: one lock, one head update and a few multi-row inserts
// however many events there are.
func (l *Log) appendRun(tx store.Tx, tenantID string, es []Event) error {
	n := l.shards()
	start := int(l.next.Add(1) % uint32(n))
	head, err := tx.LockAuditHead(tenantID, start)
	if errors.Is(err, store.ErrNotFound) {
		// The tenant's first event: create its chains.
		if _, err = tx.InitAuditHeads(tenantID, n, genesis); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		head, err = tx.LockAuditHead(tenantID, start)
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	rows := make([]store.AuditEvent, len(es))
	prev, seq := head.Hash, head.Seq
	for i := range es {
		e := &es[i]
		seq++
		rows[i] = store.AuditEvent{
			TenantID: tenantID, Shard: head.Shard, Seq: seq, At: e.At.Truncate(time.Microsecond).UTC(),
			Actor: e.Actor, Role: e.Role, Action: e.Action, SubjectID: e.SubjectID, Purpose: e.Purpose,
			Outcome: e.Outcome, Reason: e.Reason, RequestID: e.RequestID, Fields: e.Fields, Categories: e.Categories,
			PrevHash: prev,
		}
		rows[i].Hash = EventHash(&rows[i])
		prev = rows[i].Hash
	}
	if err := tx.AppendAuditEvents(rows); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Record appends e in a write transaction of its own, for actions that
// change nothing else (a read, a denied request), and returns once the
// event is durable; the caller must not release what it records (the data
// read) if it fails. Concurrent Records are batched: each transaction
// carries every event waiting for it, appended per tenant as one run, so
// under load an event costs a row in a multi-row insert rather than a
// transaction. If ctx ends first Record returns its error, and the event
// may still be recorded (an audit event for an access that did not happen
// is the safe side).
func (l *Log) Record(ctx context.Context, st store.Store, tenantID string, e Event) error {
	if l == nil {
		return ErrNotConfigured
	}
	if err := e.validate(); err != nil {
		return err // before queueing for the writer
	}
	if e.At.IsZero() {
		e.At = l.now()
	}
	return l.batcher(st).record(ctx, tenantID, e)
}
