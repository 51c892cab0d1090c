package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

// errGoexit answers the callers of a batch in which a Write function called
// runtime.Goexit (t.FailNow in a test, for instance): the whole transaction
// is rolled back, as the writer goroutine itself is unwinding.
var errGoexit = errors.New("store: write aborted: a function in the same commit group called runtime.Goexit")

// writer is the only goroutine that writes. It runs until Close closes the
// request channel and every queued request has been answered.
func (db *DB) writer() {
	db.writerID.Store(goid())
	normal := false
	defer func() {
		if normal {
			close(db.done)
			return
		}
		// Goexit in a Write function: commitBatch has answered its batch;
		// carry on with a fresh writer so the store keeps working.
		go db.writer()
	}()
	batch := make([]*request, 0, db.maxBatch)
	for {
		r, ok := <-db.reqs
		if !ok {
			normal = true
			return
		}
		batch = append(batch[:0], r)
	drain:
		for len(batch) < db.maxBatch {
			select {
			case r, ok := <-db.reqs:
				if !ok {
					break drain // the next receive ends the loop
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.commitBatch(batch)
		clear(batch)
	}
}

// commitBatch runs the batch's functions in one transaction, each in its own
// savepoint, commits once and answers every caller.
func (db *DB) commitBatch(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if !r.state.CompareAndSwap(statePending, stateTaken) {
			continue // its caller gave up before we started; nobody waits
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	db.busy.Store(true)
	var tx *sql.Tx
	completed := false
	defer func() {
		if !completed { // unwinding from runtime.Goexit
			if tx != nil {
				_ = tx.Rollback()
			}
			for _, r := range live {
				if r.err == nil {
					r.err = errGoexit
				}
				r.hooks = nil
			}
		}
		db.busy.Store(false)
		for _, r := range live {
			close(r.done)
		}
	}()

	// Statements use a context no caller can cancel: modernc interrupts the
	// connection on cancellation and SQLite would then roll back the whole
	// shared transaction. Each caller's context is checked before its
	// function runs instead.
	bg := context.Background()
	tx, err := db.wdb.BeginTx(bg, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		err = db.dialect.Wrap("begin write", err)
		for _, r := range live {
			r.err = err
		}
		completed = true
		return
	}
	succeeded := make([]*request, 0, len(live))
	var broken error
	for _, r := range live {
		if broken != nil {
			r.err = broken
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := db.execTx(tx, "SAVEPOINT w"); err != nil {
			broken = db.dialect.Wrap("write savepoint", err)
			r.err = broken
			continue
		}
		c := sqlstore.NewConn(sqlstore.ConnConfig{
			StmtCtx: bg, UserCtx: r.ctx, Tx: tx, Dialect: db.dialect, Owner: db, Stmts: db.wstmts,
		})
		ferr := sqlstore.Call(r.fn, c)
		hooks := c.Finish()
		if ferr != nil {
			r.err = ferr
			// Undo this function's changes only. If SQLite already rolled
			// back the whole transaction (I/O error, disk full), the
			// savepoint is gone and the group fails as a whole.
			if _, err := db.execTx(tx, "ROLLBACK TO w"); err != nil {
				broken = db.dialect.Wrap("write rollback to savepoint", err)
			} else if _, err := db.execTx(tx, "RELEASE w"); err != nil {
				broken = db.dialect.Wrap("write release savepoint", err)
			}
			continue
		}
		if _, err := db.execTx(tx, "RELEASE w"); err != nil {
			broken = db.dialect.Wrap("write release savepoint", err)
			r.err = broken
			continue
		}
		r.hooks = hooks
		succeeded = append(succeeded, r)
	}
	if broken != nil {
		_ = tx.Rollback()
		for _, r := range succeeded {
			r.err, r.hooks = broken, nil
		}
		completed = true
		return
	}
	if err := tx.Commit(); err != nil {
		err = db.dialect.Wrap("commit", err)
		for _, r := range succeeded {
			r.err, r.hooks = err, nil
		}
	} else {
		db.commits.Add(1)
		db.writes.Add(int64(len(succeeded)))
	}
	completed = true
}

// execTx runs one of the writer's own statements (savepoints), prepared
// once.
func (db *DB) execTx(tx *sql.Tx, query string) (sql.Result, error) {
	bg := context.Background()
	st := db.wstmts.Stmt(bg, tx, query)
	if st == nil {
		return tx.ExecContext(bg, query)
	}
	return st.ExecContext(bg)
}
