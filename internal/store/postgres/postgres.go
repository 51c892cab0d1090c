// Package postgres is Trustee's server engine: PostgreSQL through pgx's
// database/sql driver, for deployments with several instances.
//
// Write runs one READ COMMITTED transaction per call and runs it again (a few
// times, with jittered backoff) when PostgreSQL reports a serialization
// failure or deadlock, which the contract allows. Read runs a READ ONLY,
// REPEATABLE READ transaction: one snapshot for the whole function. The
// search_path given in the DSN (postgres://...?search_path=trustee) is used
// for every connection, so Trustee can live in its own schema.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

//go:embed migrations
var migrations embed.FS

// EngineName is what Store.Engine reports.
const EngineName = "postgres"

// Defaults for sqlstore.Options fields left zero.
const (
	DefaultMaxConns    = 10
	DefaultMaxAttempts = 5
)

// DB is an open PostgreSQL database. It implements sqlstore.DB; OpenStore
// wraps it as a store.Store.
type DB struct {
	db          *sql.DB
	dialect     *sqlstore.Dialect
	mig         *sqlstore.Migrator
	log         *slog.Logger
	schema      string
	maxAttempts int

	mu       sync.RWMutex // guards closed against new calls
	closed   bool
	inflight sync.WaitGroup
	once     sync.Once
	err      error
}

// Dialect returns PostgreSQL's dialect for the shared queries.
func Dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       EngineName,
		Numbered:   true,
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		Classify:   classify,
		Describe:   describe,
	}
}

func classify(err error) sqlstore.ErrKind {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return sqlstore.KindOther
	}
	switch pe.Code {
	case "23505": // unique_violation
		return sqlstore.KindConflict
	case "23503": // foreign_key_violation
		return sqlstore.KindForeignKey
	case "25006": // read_only_sql_transaction
		return sqlstore.KindReadOnly
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return sqlstore.KindRetry
	}
	return sqlstore.KindOther
}

// describe keeps PostgreSQL's SQLSTATE and constraint name, and its message
// except for data exceptions and integrity violations (classes 22 and 23),
// whose messages and details quote the offending values.
func describe(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := "postgres: SQLSTATE " + pe.Code
		if len(pe.Code) == 5 && pe.Code[:2] != "22" && pe.Code[:2] != "23" {
			s += ": " + pe.Message
		}
		if pe.ConstraintName != "" {
			s += " (constraint " + pe.ConstraintName + ")"
		}
		return s, true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return "postgres: " + ce.Error(), true // host, user and database; never the password
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "postgres: network: " + ne.Error(), true
	}
	if pgconn.Timeout(err) {
		return "postgres: timeout", true
	}
	return "", false
}

// Open connects to PostgreSQL at dsn (a postgres:// or postgresql:// URL, or
// a key=value string), applies the embedded migrations of opts.Schema in the
// DSN's search_path schema, and returns the engine.
func Open(ctx context.Context, dsn string, opts sqlstore.Options) (*DB, error) {
	fsys, err := sqlstore.MigrationSet(migrations, opts.SchemaName())
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis; say nothing
		// about the DSN's text.
		return nil, errors.New("store: the postgres DSN cannot be parsed (it is not shown, as it may hold a password)")
	}
	sdb := stdlib.OpenDB(*cfg)
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	sdb.SetConnMaxLifetime(time.Hour)

	db := &DB{
		db:          sdb,
		dialect:     Dialect(),
		log:         opts.Log().With("engine", EngineName),
		maxAttempts: opts.MaxAttempts,
	}
	if db.maxAttempts <= 0 {
		db.maxAttempts = DefaultMaxAttempts
	}
	fail := func(err error) (*DB, error) {
		sdb.Close()
		return nil, err
	}
	var schema sql.NullString
	if err := sdb.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fail(db.dialect.Wrap("connect", err))
	}
	if !schema.Valid {
		return fail(errors.New("store: postgres: no schema of the search_path exists; create it first (CREATE SCHEMA ...) or fix search_path"))
	}
	db.schema = schema.String

	// Instances starting together take turns migrating: a session advisory
	// lock keyed by schema and migration set, so different schemas (tests
	// in parallel, the key store) never wait for each other.
	h := fnv.New64a()
	h.Write([]byte("trustee/" + db.schema + "/" + opts.SchemaName()))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()&0x7fffffffffffffff)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fail(err)
	}
	db.mig, err = sqlstore.NewMigrator(goose.DialectPostgres, sdb, sdb, fsys, opts.SchemaName(), db.log, goose.WithSessionLocker(locker))
	if err != nil {
		return fail(err)
	}
	if err := db.mig.Up(ctx); err != nil {
		return fail(err)
	}
	return db, nil
}

// OpenStore opens the data schema at dsn as a store.Store.
func OpenStore(ctx context.Context, dsn string, opts sqlstore.Options) (store.Store, error) {
	if s := opts.SchemaName(); s != sqlstore.SchemaData {
		return nil, fmt.Errorf("store: OpenStore serves the %q schema, not %q; use Open for other schemas", sqlstore.SchemaData, s)
	}
	db, err := Open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewStore(db), nil
}

// Engine reports "postgres".
func (db *DB) Engine() string { return EngineName }

// Schema returns the PostgreSQL schema Trustee's tables live in.
func (db *DB) Schema() string { return db.schema }

// SQL returns the underlying pool, for tools and tests.
func (db *DB) SQL() *sql.DB { return db.db }

// enter registers a call so Close can wait for it.
func (db *DB) enter() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return store.ErrClosed
	}
	db.inflight.Add(1)
	return nil
}

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.inflight.Done()
	return db.dialect.Wrap("ping", db.db.PingContext(ctx))
}

// Migrations reports the applied and latest migration versions.
func (db *DB) Migrations(ctx context.Context) (store.MigrationStatus, error) {
	if err := db.enter(); err != nil {
		return store.MigrationStatus{}, err
	}
	defer db.inflight.Done()
	return db.mig.Status(ctx)
}

// ReadConn runs fn in a READ ONLY, REPEATABLE READ transaction.
func (db *DB) ReadConn(ctx context.Context, fn func(*sqlstore.Conn) error) error {
	if sqlstore.InWrite(ctx, db) {
		return sqlstore.ErrNested
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.inflight.Done()
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return db.dialect.Wrap("begin read", err)
	}
	c := sqlstore.NewConn(sqlstore.ConnConfig{StmtCtx: ctx, UserCtx: ctx, Tx: tx, Dialect: db.dialect, ReadOnly: true})
	err = sqlstore.Call(fn, c)
	hooks := c.Finish()
	if rerr := tx.Rollback(); err == nil && rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
		err = db.dialect.Wrap("end read", rerr)
	}
	if err != nil {
		return err
	}
	for _, h := range hooks {
		h()
	}
	return nil
}

// WriteConn runs fn in a transaction and commits it, running it again on a
// serialization failure or deadlock.
func (db *DB) WriteConn(ctx context.Context, fn func(*sqlstore.Conn) error) error {
	if sqlstore.InWrite(ctx, db) {
		return sqlstore.ErrNested
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.inflight.Done()
	for attempt := 1; ; attempt++ {
		hooks, retry, err := db.writeOnce(ctx, fn)
		if err == nil {
			for _, h := range hooks {
				h()
			}
			return nil
		}
		if !retry || attempt >= db.maxAttempts || ctx.Err() != nil {
			return err
		}
		db.log.Debug("write retried", "attempt", attempt, "err", err)
		// Jittered exponential backoff: 2ms, 4ms, 8ms ... halves to full.
		d := time.Duration(2<<attempt) * time.Millisecond
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (db *DB) writeOnce(ctx context.Context, fn func(*sqlstore.Conn) error) (hooks []func(), retry bool, err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, db.dialect.Wrap("begin write", err)
	}
	c := sqlstore.NewConn(sqlstore.ConnConfig{StmtCtx: ctx, UserCtx: ctx, Tx: tx, Dialect: db.dialect, Owner: db})
	ferr := sqlstore.Call(fn, c)
	hooks = c.Finish()
	if ferr != nil {
		_ = tx.Rollback()
		return nil, c.Retryable() || classify(ferr) == sqlstore.KindRetry, ferr
	}
	if err := tx.Commit(); err != nil {
		return nil, classify(err) == sqlstore.KindRetry, db.dialect.Wrap("commit", err)
	}
	return hooks, false, nil
}

// Close waits for calls in progress and closes the pool.
func (db *DB) Close() error {
	db.once.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.inflight.Wait()
		db.err = db.db.Close()
	})
	return db.err
}

var _ sqlstore.DB = (*DB)(nil)
