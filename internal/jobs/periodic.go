package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// periodic is a function run once per period across all instances.
type periodic struct {
	name  string
	every time.Duration
	fn    func(ctx context.Context) error
	last  time.Time // start of the last period handled here
}

// Periodic runs fn once per period of length every, periods aligned as
// time.Truncate aligns them (every 24h is one UTC day), on one of the
// instances sharing
// the store: the first to take the lease "periodic:NAME" for the period runs
// it, the others skip that period. The lease is renewed while fn runs, so a
// slow run never overlaps another. A failed run is logged and not retried
// within its period; fn must be idempotent, as a run cut short by a crash is
// not repeated until the next period. Like Register it panics on a
// programming error (empty name, nil fn, period under a second, name used
// twice).
func (r *Runner) Periodic(name string, every time.Duration, fn func(ctx context.Context) error) {
	if name == "" || fn == nil || every < time.Second {
		panic("jobs: Periodic needs a name, a function and a period of at least a second")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.periodics {
		if p.name == name {
			panic("jobs: periodic " + name + " registered twice")
		}
	}
	p := &periodic{name: name, every: every, fn: fn}
	r.periodics = append(r.periodics, p)
	if r.state == stateRunning {
		r.startPeriodic(p)
	}
}

// startPeriodic runs p's loop; r.mu is held.
func (r *Runner) startPeriodic(p *periodic) {
	r.work.Add(1)
	go func() {
		defer r.work.Done()
		t := time.NewTicker(min(r.opts.PollInterval, p.every))
		defer t.Stop()
		for {
			r.periodicOnce(p)
			select {
			case <-r.stop:
				return
			case <-r.base.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// periodicOnce runs p if a new period has begun and this instance wins its
// lease.
func (r *Runner) periodicOnce(p *periodic) {
	now := r.opts.Now()
	start := now.Truncate(p.every)
	if start.Equal(p.last) {
		return
	}
	end := start.Add(p.every)
	lease := "periodic:" + p.name
	log := r.log.With("periodic", p.name, "period", start)
	var won bool
	err := r.st.Write(r.base, func(tx store.Tx) error {
		var err error
		won, err = tx.AcquireLease(lease, r.opts.Owner, now, end)
		return err
	})
	if err != nil {
		if r.base.Err() == nil {
			log.Warn("periodic lease failed; will try again", "err", err)
		}
		return
	}
	p.last = start
	if !won {
		return // another instance has this period
	}

	ctx, cancel := context.WithCancel(r.base)
	defer cancel()
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(r.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := r.opts.Now()
			until := end
			if u := now.Add(r.opts.LeaseDuration); u.After(until) {
				until = u
			}
			err := r.st.Write(ctx, func(tx store.Tx) error {
				ok, err := tx.AcquireLease(lease, r.opts.Owner, now, until)
				if err == nil && !ok {
					err = errors.New("lease taken by another instance")
				}
				return err
			})
			if err != nil && ctx.Err() == nil {
				log.Warn("renewing periodic lease failed", "err", err)
			}
		}
	}()
	err = callPeriodic(ctx, p.fn)
	cancel()
	<-beat
	if err != nil {
		log.Error("periodic run failed", "err", err)
		return
	}
	log.Debug("periodic run done")
}

func callPeriodic(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx)
}
