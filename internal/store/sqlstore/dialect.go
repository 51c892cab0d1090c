package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ErrKind classifies an engine error so shared code can map it onto the store
// sentinels without knowing the driver.
type ErrKind int

// Error kinds an engine's Classify reports.
const (
	KindOther      ErrKind = iota // anything else
	KindConflict                  // unique or primary key violation
	KindForeignKey                // a referenced row does not exist
	KindReadOnly                  // a write in a read-only transaction
	KindRetry                     // serialization failure or deadlock: run again
	KindClosed                    // the database handle is closed
)

// Dialect is what differs between engines at the SQL level. The shared
// queries are written with ? placeholders and portable SQL; a Dialect rebinds
// them and interprets errors.
type Dialect struct {
	// Name is the engine name, "sqlite" or "postgres".
	Name string
	// Numbered makes Rebind turn ? into $1, $2 ... (PostgreSQL).
	Numbered bool
	// SkipLocked is appended to the row-selecting subquery of ClaimJobs so
	// concurrent claimers skip each other's rows (PostgreSQL); empty where
	// a single writer already serialises claims (SQLite).
	SkipLocked string
	// Classify tells which kind of failure err is.
	Classify func(err error) ErrKind
	// Describe returns a short text for an engine error that contains no
	// SQL and no values (codes, constraint names, generic messages), and
	// false if err is not the engine's own error.
	Describe func(err error) (string, bool)

	cache   sync.Map // query → rebound query
	entries atomic.Int64
}

// maxCachedQueries bounds the rebind cache; queries built with a variable
// number of placeholders could otherwise grow it without end.
const maxCachedQueries = 4096

// Rebind returns q with placeholders in the dialect's syntax, computing each
// distinct query string once.
func (d *Dialect) Rebind(q string) string {
	if !d.Numbered {
		return q
	}
	if v, ok := d.cache.Load(q); ok {
		return v.(string)
	}
	r := rebindNumbered(q)
	if d.entries.Load() < maxCachedQueries {
		if _, loaded := d.cache.LoadOrStore(q, r); !loaded {
			d.entries.Add(1)
		}
	}
	return r
}

// rebindNumbered replaces each ? outside quotes with $n.
func rebindNumbered(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Error is an engine error as the store reports it: the operation, the store
// sentinel it maps to (if any) and a description free of SQL and values. The
// driver's error stays reachable through errors.As for code that needs it.
type Error struct {
	Op     string // e.g. "create tenant"
	Kind   error  // store.ErrConflict, store.ErrNotFound, ... or nil
	Detail string // safe description, may be empty
	Err    error  // the driver error, may be nil
}

// Error implements error.
func (e *Error) Error() string {
	msg := "store: " + e.Op
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap exposes the sentinel and the driver error to errors.Is and As.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// errDBClosed is how database/sql reports a closed *sql.DB; it has no
// exported sentinel.
const errDBClosedText = "sql: database is closed"

// Wrap maps err from operation op onto the store's errors. It is idempotent:
// an error that is already an *Error is returned unchanged.
func (d *Dialect) Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &Error{Op: op, Kind: store.ErrNotFound}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Op: op, Detail: err.Error(), Err: err}
	case errors.Is(err, store.ErrClosed), err.Error() == errDBClosedText:
		return &Error{Op: op, Kind: store.ErrClosed, Err: err}
	case errors.Is(err, sql.ErrTxDone), errors.Is(err, sql.ErrConnDone):
		return &Error{Op: op, Detail: err.Error(), Err: err}
	}
	e := &Error{Op: op, Err: err}
	if d.Classify != nil {
		switch d.Classify(err) {
		case KindConflict:
			e.Kind = store.ErrConflict
		case KindForeignKey:
			e.Kind = store.ErrNotFound
		case KindReadOnly:
			e.Kind = store.ErrReadOnly
		case KindClosed:
			e.Kind = store.ErrClosed
		}
	}
	if d.Describe != nil {
		if s, ok := d.Describe(err); ok {
			e.Detail = s
			return e
		}
	}
	// Not the engine's own error: database/sql conversion and scan errors
	// can quote values, so only the type is shown.
	e.Detail = "unexpected " + typeName(err)
	return e
}

func typeName(err error) string {
	s := strings.TrimPrefix(strings.TrimPrefix(typeString(err), "*"), "errors.")
	if s == "errorString" || s == "" {
		return "error"
	}
	return s + " error"
}
