// Package sqlstore is the one SQL implementation of store.Tx shared by the
// SQLite and PostgreSQL engines.
//
// An engine (store/sqlite, store/postgres) owns connections, transactions and
// its concurrency rules and hands each Read or Write function a *Conn: a
// database/sql transaction plus a Dialect that rebinds placeholders and maps
// engine errors onto the store sentinels. NewStore turns such an engine (a DB)
// into a store.Store whose Tx runs the queries in this package, so both
// engines execute the same SQL text, apart from the few dialect differences
// the Dialect names.
//
// The split is deliberate: the key store will open the same engines with its
// own migration set (Options.Schema "keys") and build its own Tx on *Conn,
// reusing the writer, retries and error mapping without seeing data tables.
package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// DB is an open engine before it is given a typed Tx: the seam between the
// engine's transaction machinery and the schema-specific queries.
type DB interface {
	// ReadConn runs fn in a read-only transaction with a consistent view.
	ReadConn(ctx context.Context, fn func(*Conn) error) error
	// WriteConn runs fn atomically and durably, with the engine's
	// batching or retries; fn may run more than once.
	WriteConn(ctx context.Context, fn func(*Conn) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Migrations reports applied vs embedded migration versions.
	Migrations(ctx context.Context) (store.MigrationStatus, error)
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close waits for pending writes and releases the database.
	Close() error
}

// Migration sets. Each is a folder of goose migrations per engine
// (migrations/<set>/*.sql) and its own version table, so the data and the
// key store can live in separate files or schemas and evolve separately.
const (
	// SchemaData holds tenants, policies, API keys, jobs and leases.
	SchemaData = "data"
	// SchemaKeys holds the key store: wrapped tenant and subject keys and
	// the ledger of destroyed keys (see NewKeyStore).
	SchemaKeys = "keys"
)

// Options tune an engine when it is opened. The zero value is ready to use:
// every field has a default suited to a small deployment.
type Options struct {
	// Schema selects the migration set to apply and the tables the store
	// serves; empty means SchemaData.
	Schema string
	// Logger receives engine events (migrations applied, retries). Nil
	// discards them. Never given values or SQL arguments.
	Logger *slog.Logger

	// ReadConns bounds SQLite's read-only connection pool (default: max(4,
	// GOMAXPROCS)).
	ReadConns int
	// MaxBatch bounds how many Write functions SQLite's writer commits in
	// one transaction (default 512).
	MaxBatch int
	// BusyTimeout is SQLite's busy_timeout, a safety net for other
	// processes touching the file (default 5s); the single writer means
	// Trustee itself never waits on it.
	BusyTimeout time.Duration

	// MaxConns bounds PostgreSQL's connection pool (default 10).
	MaxConns int
	// MaxAttempts bounds how often a PostgreSQL Write runs when it hits a
	// serialization failure or deadlock (default 5).
	MaxAttempts int
}

// SchemaName returns o.Schema or its default.
func (o Options) SchemaName() string {
	if o.Schema == "" {
		return SchemaData
	}
	return o.Schema
}

// Log returns the logger to use, never nil.
func (o Options) Log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// ErrNested is returned when Read or Write is called from inside a Write
// function of the same store: on SQLite that would deadlock the single
// writer, and on any engine the inner call would escape the transaction.
var ErrNested = errors.New("store: Read or Write called inside a Write function of the same store")

// NewStore serves the data schema (tenants, policies, API keys, jobs, leases)
// over db.
func NewStore(db DB) store.Store { return &dataStore{db: db} }

type dataStore struct{ db DB }

func (s *dataStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	return s.db.ReadConn(ctx, func(c *Conn) error { return fn(&dataTx{c: c}) })
}

func (s *dataStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	return s.db.WriteConn(ctx, func(c *Conn) error { return fn(&dataTx{c: c}) })
}

func (s *dataStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s *dataStore) Migrations(ctx context.Context) (store.MigrationStatus, error) {
	return s.db.Migrations(ctx)
}

func (s *dataStore) Engine() string { return s.db.Engine() }

func (s *dataStore) Close() error { return s.db.Close() }

// Unwrap returns the engine under a store made by NewStore, so tests and
// tools can reach engine-level operations; nil for other stores.
func Unwrap(s store.Store) DB {
	if d, ok := s.(*dataStore); ok {
		return d.db
	}
	return nil
}

// dataTx is the store.Tx of the data schema.
type dataTx struct{ c *Conn }

func (t *dataTx) OnCommit(fn func())       { t.c.OnCommit(fn) }
func (t *dataTx) Context() context.Context { return t.c.Context() }

var _ store.Tx = (*dataTx)(nil)
