package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// StmtCache keeps prepared statements of one *sql.DB by query text, so an
// engine whose driver does not cache them (modernc's SQLite parses every
// statement anew, about a third of a small write's CPU) prepares each query
// once per connection. PostgreSQL needs none: pgx caches per connection.
//
// Preparing on the *sql.DB needs a free connection, which a caller inside a
// transaction may be holding (SQLite's writer has exactly one), so a query
// seen for the first time runs unprepared and is prepared in the background;
// later uses find it ready.
type StmtCache struct {
	db  *sql.DB
	max int

	mu      sync.Mutex
	m       map[string]*sql.Stmt // nil value: being prepared
	closed  bool
	pending sync.WaitGroup
}

// NewStmtCache caches up to max statements of db; queries beyond that run
// unprepared, so queries built with a variable shape cannot grow it forever.
func NewStmtCache(db *sql.DB, max int) *StmtCache {
	return &StmtCache{db: db, max: max, m: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil if it is not ready
// (and then starts preparing it if there is room).
func (c *StmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok || c.closed || len(c.m) >= c.max {
		return st
	}
	c.m[query] = nil
	c.pending.Add(1)
	go c.prepare(query)
	return nil
}

func (c *StmtCache) prepare(query string) {
	defer c.pending.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		delete(c.m, query) // the statement's own use reports the error
	case c.closed:
		st.Close()
	default:
		c.m[query] = st
	}
}

// Stmt returns query prepared within tx, or nil to run it unprepared.
func (c *StmtCache) Stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	st := c.get(query)
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// Close closes every cached statement; later lookups run unprepared. Call
// Wait after closing the *sql.DB to let background preparations end.
func (c *StmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, st := range c.m {
		if st != nil {
			errs = append(errs, st.Close())
		}
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// Wait waits for background preparations to end.
func (c *StmtCache) Wait() { c.pending.Wait() }
