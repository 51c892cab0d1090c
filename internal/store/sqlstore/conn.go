package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Conn is one transaction as the shared queries see it. An engine creates it
// with NewConn for each Read or Write function and calls Finish when the
// function returns; the methods then refuse further use, so a Tx that escapes
// its function cannot touch a later transaction.
type Conn struct {
	stmtCtx  context.Context // statements run with this
	userCtx  context.Context // what Context returns
	tx       *sql.Tx
	d        *Dialect
	stmts    *StmtCache
	readOnly bool
	hooks    []func()
	retry    bool
	done     bool
}

// ConnConfig is what an engine gives NewConn.
type ConnConfig struct {
	// StmtCtx runs the statements. An engine may make it uncancellable
	// (SQLite's shared writer transaction must not be interrupted by one
	// caller).
	StmtCtx context.Context
	// UserCtx is the caller's context, returned by Context.
	UserCtx context.Context
	// Tx is the database transaction.
	Tx *sql.Tx
	// Dialect rebinds queries and maps errors.
	Dialect *Dialect
	// ReadOnly refuses mutating methods with store.ErrReadOnly.
	ReadOnly bool
	// Owner identifies the store for a write, so Context is marked and
	// nested calls can be refused (see MarkWrite and InWrite).
	Owner any
	// Stmts, if set, prepares each query once (see StmtCache).
	Stmts *StmtCache
}

// NewConn wraps a transaction for one Read or Write function.
func NewConn(cfg ConnConfig) *Conn {
	user := cfg.UserCtx
	if !cfg.ReadOnly && cfg.Owner != nil {
		user = MarkWrite(user, cfg.Owner)
	}
	return &Conn{stmtCtx: cfg.StmtCtx, userCtx: user, tx: cfg.Tx, d: cfg.Dialect, stmts: cfg.Stmts, readOnly: cfg.ReadOnly}
}

// Dialect returns the engine's dialect, for queries that differ.
func (c *Conn) Dialect() *Dialect { return c.d }

// Context returns the caller's context, marked as inside a write.
func (c *Conn) Context() context.Context { return c.userCtx }

// OnCommit registers fn to run once the transaction has committed.
func (c *Conn) OnCommit(fn func()) {
	if fn != nil && !c.done {
		c.hooks = append(c.hooks, fn)
	}
}

// Finish ends the Conn's life and returns its OnCommit hooks.
func (c *Conn) Finish() []func() {
	c.done = true
	h := c.hooks
	c.hooks = nil
	return h
}

// Retryable reports whether a statement in this transaction failed with a
// serialization failure or deadlock, so the engine may run the function
// again whatever error the function itself returned.
func (c *Conn) Retryable() bool { return c.retry }

func (c *Conn) usable(op string) error {
	if c.done {
		return &Error{Op: op, Detail: "transaction used after its function returned"}
	}
	return nil
}

// Writable returns ErrReadOnly inside Read, so a mutating method fails before
// any SQL runs (the engine's read-only transaction is the second guard).
func (c *Conn) Writable(op string) error {
	if err := c.usable(op); err != nil {
		return err
	}
	if c.readOnly {
		return &Error{Op: op, Kind: store.ErrReadOnly}
	}
	return nil
}

// Wrap maps err onto the store's errors and notes retryable failures.
func (c *Conn) Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if c.d.Classify != nil && c.d.Classify(err) == KindRetry {
		c.retry = true
	}
	return c.d.Wrap(op, err)
}

// Exec runs a statement that changes data.
func (c *Conn) Exec(op, query string, args ...any) (sql.Result, error) {
	if err := c.Writable(op); err != nil {
		return nil, err
	}
	q := c.d.Rebind(query)
	st := c.stmts.Stmt(c.stmtCtx, c.tx, q)
	var res sql.Result
	var err error
	if st != nil {
		res, err = st.ExecContext(c.stmtCtx, args...)
	} else {
		res, err = c.tx.ExecContext(c.stmtCtx, q, args...)
	}
	if err != nil {
		return nil, c.Wrap(op, err)
	}
	return res, nil
}

// ExecAffected runs Exec and returns the number of rows it changed.
func (c *Conn) ExecAffected(op, query string, args ...any) (int64, error) {
	res, err := c.Exec(op, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, c.Wrap(op, err)
	}
	return n, nil
}

// Query runs a statement that returns rows. A statement that also changes
// data (UPDATE ... RETURNING) must be preceded by Writable.
func (c *Conn) Query(op, query string, args ...any) (*sql.Rows, error) {
	if err := c.usable(op); err != nil {
		return nil, err
	}
	q := c.d.Rebind(query)
	st := c.stmts.Stmt(c.stmtCtx, c.tx, q)
	var rows *sql.Rows
	var err error
	if st != nil {
		rows, err = st.QueryContext(c.stmtCtx, args...)
	} else {
		rows, err = c.tx.QueryContext(c.stmtCtx, q, args...)
	}
	if err != nil {
		return nil, c.Wrap(op, err)
	}
	return rows, nil
}

// QueryRow runs a statement expected to return one row and scans it into
// dest; no row is store.ErrNotFound.
func (c *Conn) QueryRow(op, query string, args []any, dest ...any) error {
	if err := c.usable(op); err != nil {
		return err
	}
	q := c.d.Rebind(query)
	st := c.stmts.Stmt(c.stmtCtx, c.tx, q)
	var err error
	if st != nil {
		err = st.QueryRowContext(c.stmtCtx, args...).Scan(dest...)
	} else {
		err = c.tx.QueryRowContext(c.stmtCtx, q, args...).Scan(dest...)
	}
	return c.Wrap(op, err)
}

// PanicError is what Read and Write return when their function panicked: the
// transaction (or, under group commit, that function's savepoint) is rolled
// back and the panic is reported to its caller only.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("store: function panicked: %v", e.Value) }

// Call runs fn(c), turning a panic into a *PanicError so that one caller's
// bug cannot take down a transaction shared with others.
func Call(fn func(*Conn) error, c *Conn) (err error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	err = fn(c)
	normal = true
	return err
}

// writeMark records, in a context, the stores whose Write function is
// running, innermost first.
type writeMark struct {
	owner  any
	parent *writeMark
}

type writeMarkKey struct{}

// MarkWrite returns ctx marked as being inside a Write function of owner.
func MarkWrite(ctx context.Context, owner any) context.Context {
	parent, _ := ctx.Value(writeMarkKey{}).(*writeMark)
	return context.WithValue(ctx, writeMarkKey{}, &writeMark{owner: owner, parent: parent})
}

// InWrite reports whether ctx comes from inside a Write function of owner.
func InWrite(ctx context.Context, owner any) bool {
	m, _ := ctx.Value(writeMarkKey{}).(*writeMark)
	for ; m != nil; m = m.parent {
		if m.owner == owner {
			return true
		}
	}
	return false
}
