// Package sqlite is Trustee's embedded engine: one SQLite file, pure Go
// (modernc.org/sqlite), no server to run.
//
// SQLite allows one writer at a time. Instead of letting connections fight
// for the write lock ("database is locked" under load, the failure Trustee
// exists to avoid), one goroutine owns the only write connection and commits
// Write functions in groups: it takes every request waiting, runs each in its
// own SAVEPOINT inside one BEGIN IMMEDIATE transaction, and commits once, so a
// single fsync (synchronous=FULL, durable) serves the whole group. A function
// that fails or panics rolls back to its savepoint only; the others commit.
// Reads use a separate pool of query-only connections, each Read in its own
// transaction, which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

//go:embed migrations
var migrations embed.FS

// EngineName is what Store.Engine reports.
const EngineName = "sqlite"

// Defaults for sqlstore.Options fields left zero.
const (
	DefaultMaxBatch    = 512
	DefaultBusyTimeout = 5 * time.Second
)

// maxCachedStmts bounds the prepared statements kept per connection pool.
const maxCachedStmts = 256

// DB is an open SQLite database with its single writer. It implements
// sqlstore.DB; OpenStore wraps it as a store.Store.
type DB struct {
	path    string
	wdb     *sql.DB // exactly one connection, used only by the writer goroutine (and migrations before it starts)
	rdb     *sql.DB // query_only connections for Read
	dialect *sqlstore.Dialect
	wstmts  *sqlstore.StmtCache
	rstmts  *sqlstore.StmtCache
	mig     *sqlstore.Migrator
	log     *slog.Logger

	maxBatch int
	reqs     chan *request

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	isShut atomic.Bool // closed, readable without the lock
	done   chan struct{}
	once   sync.Once
	err    error // Close's result

	writerID atomic.Uint64 // goroutine id of the writer
	busy     atomic.Bool   // the writer is running a batch

	commits atomic.Int64 // transactions the writer committed
	writes  atomic.Int64 // Write functions in them that succeeded
}

// Stats counts the writer's work since Open.
type Stats struct {
	Commits int64 // transactions committed
	Writes  int64 // successful Write functions they carried
}

// Stats reports how well group commit is batching: Writes/Commits is the
// average group size.
func (db *DB) Stats() Stats {
	return Stats{Commits: db.commits.Load(), Writes: db.writes.Load()}
}

// request is one Write call waiting for the writer.
type request struct {
	ctx   context.Context
	fn    func(*sqlstore.Conn) error
	state atomic.Int32 // statePending → stateTaken by the writer, or → stateAbandoned by the caller
	done  chan struct{}
	err   error
	hooks []func()
}

const (
	statePending int32 = iota
	stateTaken
	stateAbandoned
)

// Dialect returns SQLite's dialect for the shared queries.
func Dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:     EngineName,
		Classify: classify,
		Describe: describe,
	}
}

func classify(err error) sqlstore.ErrKind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return sqlstore.KindOther
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.KindConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.KindForeignKey
	}
	if se.Code()&0xff == sqlite3.SQLITE_READONLY {
		return sqlstore.KindReadOnly
	}
	return sqlstore.KindOther
}

// describe returns SQLite's own message: it names tables, columns and
// constraints, never bound values (the shared queries bind every value).
func describe(err error) (string, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return "", false
	}
	return "sqlite: " + se.Error(), true
}

// Open opens (creating if needed) the SQLite database at path, applies the
// embedded migrations of opts.Schema and starts the writer.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	fsys, err := sqlstore.MigrationSet(migrations, opts.SchemaName())
	if err != nil {
		return nil, err
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	busyMS := strconv.FormatInt(busy.Milliseconds(), 10)

	w := url.Values{}
	w.Set("_txlock", "immediate")
	w.Add("_pragma", "busy_timeout("+busyMS+")")
	w.Add("_pragma", "journal_mode(WAL)")
	w.Add("_pragma", "synchronous(FULL)")
	w.Add("_pragma", "foreign_keys(1)")
	w.Add("_pragma", "temp_store(MEMORY)")
	wdb, err := sql.Open("sqlite", path+"?"+w.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening sqlite %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	db := &DB{path: path, wdb: wdb, dialect: Dialect(), log: opts.Log().With("engine", EngineName)}
	fail := func(err error) (*DB, error) {
		wdb.Close()
		if db.rdb != nil {
			db.rdb.Close()
		}
		return nil, err
	}
	var mode string
	if err := wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(fmt.Errorf("store: opening sqlite %s: %w", path, db.dialect.Wrap("open", err)))
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("store: sqlite %s: journal_mode is %q, want wal (is the file on a filesystem without shared memory?)", path, mode))
	}

	r := url.Values{}
	r.Add("_pragma", "busy_timeout("+busyMS+")")
	r.Add("_pragma", "foreign_keys(1)")
	r.Add("_pragma", "temp_store(MEMORY)")
	r.Set("_query_only", "1")
	rdb, err := sql.Open("sqlite", path+"?"+r.Encode())
	if err != nil {
		return fail(fmt.Errorf("store: opening sqlite %s: %w", path, err))
	}
	db.rdb = rdb
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxIdleTime(10 * time.Minute)

	db.mig, err = sqlstore.NewMigrator(goose.DialectSQLite3, wdb, rdb, fsys, opts.SchemaName(), db.log)
	if err != nil {
		return fail(err)
	}
	if err := db.mig.Up(ctx); err != nil {
		return fail(err)
	}

	db.maxBatch = opts.MaxBatch
	if db.maxBatch <= 0 {
		db.maxBatch = DefaultMaxBatch
	}
	db.wstmts = sqlstore.NewStmtCache(wdb, maxCachedStmts)
	db.rstmts = sqlstore.NewStmtCache(rdb, maxCachedStmts)
	db.reqs = make(chan *request, db.maxBatch)
	db.done = make(chan struct{})
	go db.writer()
	return db, nil
}

// OpenStore opens the data schema at path as a store.Store.
func OpenStore(ctx context.Context, path string, opts sqlstore.Options) (store.Store, error) {
	if s := opts.SchemaName(); s != sqlstore.SchemaData {
		return nil, fmt.Errorf("store: OpenStore serves the %q schema, not %q; use Open for other schemas", sqlstore.SchemaData, s)
	}
	db, err := Open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewStore(db), nil
}

func checkPath(path string) error {
	switch {
	case path == "":
		return errors.New("store: sqlite path is empty")
	case path == ":memory:" || strings.HasPrefix(path, "file::memory:") || strings.Contains(path, "mode=memory"):
		return errors.New("store: sqlite in-memory databases are not supported (the writer and the readers need one shared file); use a file path, e.g. in a temporary directory")
	case strings.ContainsAny(path, "?#"):
		return fmt.Errorf("store: sqlite path %q contains '?' or '#', which SQLite would read as URI parameters", path)
	}
	return nil
}

// Engine reports "sqlite".
func (db *DB) Engine() string { return EngineName }

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Ping checks that a read connection answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.isShut.Load() {
		return store.ErrClosed
	}
	return db.dialect.Wrap("ping", db.rdb.PingContext(ctx))
}

// Migrations reports the applied and latest migration versions.
func (db *DB) Migrations(ctx context.Context) (store.MigrationStatus, error) {
	if db.isShut.Load() {
		return store.MigrationStatus{}, store.ErrClosed
	}
	return db.mig.Status(ctx)
}

// nestedCheckAfter is how long a Write waits before it checks whether it
// was called on the writer goroutine itself (from inside a Write function,
// with a context that lacks tx.Context()'s marker) and would wait forever.
// Checking only after a wait keeps the common path free of the goroutine id
// lookup.
const nestedCheckAfter = 50 * time.Millisecond

// onWriter reports whether the caller is the writer goroutine running a
// batch, that is, a Write function calling Write.
func (db *DB) onWriter() bool {
	return db.busy.Load() && goid() == db.writerID.Load()
}

// ReadConn runs fn in a read transaction on a query-only connection.
func (db *DB) ReadConn(ctx context.Context, fn func(*sqlstore.Conn) error) error {
	if db.isShut.Load() {
		return store.ErrClosed
	}
	if sqlstore.InWrite(ctx, db) {
		return sqlstore.ErrNested
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Statements run under a context that cannot be cancelled: with a
	// cancellable one, database/sql and the driver start a watcher
	// goroutine per transaction and per statement, which costs more than
	// the short indexed reads Trustee makes. ctx was checked above and
	// stays the caller's context (Tx.Context).
	sctx := context.WithoutCancel(ctx)
	tx, err := db.rdb.BeginTx(sctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return db.dialect.Wrap("begin read", err)
	}
	c := sqlstore.NewConn(sqlstore.ConnConfig{
		StmtCtx: sctx, UserCtx: ctx, Tx: tx, Dialect: db.dialect, ReadOnly: true, Stmts: db.rstmts,
	})
	err = sqlstore.Call(fn, c)
	hooks := c.Finish()
	// A read transaction has nothing to commit; ending it releases the
	// snapshot so the WAL can be checkpointed.
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

// WriteConn hands fn to the writer and waits for the group it joins to
// commit. If ctx ends before the writer has started fn, fn never runs and
// ctx's error is returned; once fn has started, WriteConn waits for the
// outcome, so a nil error always means committed and an error always means
// not committed.
func (db *DB) WriteConn(ctx context.Context, fn func(*sqlstore.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if sqlstore.InWrite(ctx, db) {
		return sqlstore.ErrNested
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	if err := db.send(ctx, r); err != nil {
		return err
	}
	if err := db.await(ctx, r); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	for _, h := range r.hooks {
		h()
	}
	return nil
}

// send queues r for the writer.
func (db *DB) send(ctx context.Context, r *request) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return store.ErrClosed
	}
	select {
	case db.reqs <- r:
		return nil
	default:
	}
	// The queue is full: wait, unless we are the writer itself.
	check := time.NewTimer(nestedCheckAfter)
	defer check.Stop()
	for {
		select {
		case db.reqs <- r:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-check.C:
			if db.onWriter() {
				return sqlstore.ErrNested
			}
		}
	}
}

// await waits for the writer's answer to r. If ctx ends before the writer
// has taken r, r is abandoned and never runs.
func (db *DB) await(ctx context.Context, r *request) error {
	select {
	case <-r.done:
		return nil
	default:
	}
	check := time.NewTimer(nestedCheckAfter)
	defer check.Stop()
	checkC := check.C
	for {
		select {
		case <-r.done:
			return nil
		case <-ctx.Done():
			if r.state.CompareAndSwap(statePending, stateAbandoned) {
				return ctx.Err()
			}
			<-r.done
			return nil
		case <-checkC:
			checkC = nil
			if db.onWriter() && r.state.CompareAndSwap(statePending, stateAbandoned) {
				return sqlstore.ErrNested
			}
		}
	}
}

// Close stops accepting writes, lets the writer commit every write already
// queued, and closes the database.
func (db *DB) Close() error {
	db.once.Do(func() {
		db.mu.Lock()
		db.closed = true
		close(db.reqs)
		db.mu.Unlock()
		<-db.done
		db.isShut.Store(true)
		db.err = errors.Join(db.wstmts.Close(), db.rstmts.Close(), db.wdb.Close(), db.rdb.Close())
		db.wstmts.Wait()
		db.rstmts.Wait()
	})
	return db.err
}

var _ sqlstore.DB = (*DB)(nil)
