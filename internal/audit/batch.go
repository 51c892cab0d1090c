package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

// Batching of Record. Callers queue their events; up to maxFlushers
// goroutines per store take everything queued (up to maxBatch events) and
// write it in one transaction. With few callers each event gets its own
// transaction at once (no added latency); under load the queue fills while
// flushes run, and the cost of a transaction is shared by the batch.
const (
	maxFlushers  = 4
	maxBatch     = store.MaxAuditRun / 4
	flushTimeout = 30 * time.Second
)

type pending struct {
	tenant string
	e      Event
	err    error
	done   chan struct{}
}

type batcher struct {
	l  *Log
	st store.Store

	mu       sync.Mutex
	queue    []*pending
	flushers int
}

func (l *Log) batcher(st store.Store) *batcher {
	if b, ok := l.batchers.Load(st); ok {
		return b.(*batcher)
	}
	b, _ := l.batchers.LoadOrStore(st, &batcher{l: l, st: st})
	return b.(*batcher)
}

func (b *batcher) record(ctx context.Context, tenantID string, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The batch is written by another goroutine, which the store cannot
	// tell is nested in the caller's Write: on SQLite it would wait for
	// the writer the caller holds. Refuse at once, as Write would.
	if db := sqlstore.Unwrap(b.st); db != nil && sqlstore.InWrite(ctx, db) {
		return fmt.Errorf("audit: Record inside a Write function (use Append with its Tx): %w", sqlstore.ErrNested)
	}
	p := &pending{tenant: tenantID, e: e, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	start := b.flushers < maxFlushers
	if start {
		b.flushers++
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes batches until the queue is empty.
func (b *batcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 {
			b.flushers--
			b.queue = nil // let a burst's backing array go
			b.mu.Unlock()
			return
		}
		batch := make([]*pending, n)
		copy(batch, b.queue)
		b.queue = b.queue[n:]
		b.mu.Unlock()
		b.write(batch)
	}
}

// write appends batch in one transaction, one run per tenant. A tenant that
// does not exist fails its own events only.
func (b *batcher) write(batch []*pending) {
	var order []string
	groups := map[string][]*pending{}
	for _, p := range batch {
		if _, ok := groups[p.tenant]; !ok {
			order = append(order, p.tenant)
		}
		groups[p.tenant] = append(groups[p.tenant], p)
	}
	failed := map[string]error{}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	err := b.st.Write(ctx, func(tx store.Tx) error {
		clear(failed) // the function may run more than once
		for _, tenant := range order {
			ps := groups[tenant]
			es := make([]Event, len(ps))
			for i, p := range ps {
				es[i] = p.e
			}
			err := b.l.appendRun(tx, tenant, es)
			if errors.Is(err, store.ErrNotFound) {
				failed[tenant] = err // the transaction stays usable
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("audit: record: %w", err)
	}
	for _, p := range batch {
		p.err = err
		if err == nil {
			p.err = failed[p.tenant]
		}
		close(p.done)
	}
}
