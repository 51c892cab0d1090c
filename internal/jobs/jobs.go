// Package jobs runs Trustee's background work (retention sweeps, deadline
// reminders, outbox delivery, backup pruning) from the durable job table of
// the store, so work survives restarts and several instances sharing one
// PostgreSQL database run each job once.
//
// A Runner claims due jobs of the kinds it has handlers for, holds a lease on
// each while its handler runs (renewed by a heartbeat, so long jobs keep it),
// and records the outcome: done, queued again after an exponential, jittered
// backoff, or dead after the job's MaxAttempts. A worker that dies leaves its
// lease to expire, and the job is claimed again: delivery is at least once,
// so handlers must be idempotent. Periodic runs a function once per period
// across all instances.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Handler does the work of one job. It should return when ctx ends (the
// runner is stopping or the lease was lost). A nil error completes the job;
// an error fails this attempt (wrap it with Permanent to give up at once).
type Handler func(ctx context.Context, j store.Job) error

// Options configure a Runner. Zero fields take the defaults shown.
type Options struct {
	// Owner names this runner in leases; default hostname/pid/random.
	Owner string
	// Concurrency bounds the handlers running at once (default 4).
	Concurrency int
	// PollInterval is how often the runner looks for due jobs when nothing
	// wakes it (default 1s). A local Enqueue wakes it at once.
	PollInterval time.Duration
	// LeaseDuration is how long a claimed job is held without a heartbeat
	// (default 1m): the time until a crashed worker's job runs again.
	LeaseDuration time.Duration
	// Heartbeat is how often a running job's lease is extended (default
	// LeaseDuration/3).
	Heartbeat time.Duration
	// BackoffBase is the delay before the second attempt (default 10s); it
	// doubles with every attempt, with jitter, up to BackoffMax (default
	// 1h).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxAttempts is the default for Enqueue (default 10).
	MaxAttempts int
	// Now is the clock (default time.Now); tests inject one to move time
	// without sleeping.
	Now func() time.Time
	// Logger receives job events (default: discarded). Job ids, kinds and
	// error texts only, never payloads.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultConcurrency   = 4
	DefaultPollInterval  = time.Second
	DefaultLeaseDuration = time.Minute
	DefaultBackoffBase   = 10 * time.Second
	DefaultBackoffMax    = time.Hour
	DefaultMaxAttempts   = 10
)

// finishTimeout bounds recording a job's outcome, which must not depend on
// the handler's (possibly cancelled) context.
const finishTimeout = 30 * time.Second

// Runner claims and runs jobs. Create it with New, Register handlers and
// Periodic tasks, then Start; Stop ends it gracefully.
type Runner struct {
	st   store.Store
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	handlers  map[string]Handler
	kinds     []string // sorted keys of handlers
	periodics []*periodic
	state     int // stateNew, stateRunning, stateStopped

	base     context.Context // parent of every handler context
	cancel   context.CancelFunc
	stop     chan struct{}
	loopDone chan struct{}
	wake     chan struct{}
	work     sync.WaitGroup // running handlers and periodic loops
	running  atomic.Int32
	claimSeq atomic.Uint64
}

const (
	stateNew = iota
	stateRunning
	stateStopped
)

// New returns a Runner over st.
func New(st store.Store, opts Options) *Runner {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = DefaultLeaseDuration
	}
	if opts.Heartbeat <= 0 || opts.Heartbeat >= opts.LeaseDuration {
		opts.Heartbeat = opts.LeaseDuration / 3
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffBase)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		opts.Owner = DefaultOwner()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		st:       st,
		opts:     opts,
		log:      log.With("component", "jobs", "owner", opts.Owner),
		handlers: map[string]Handler{},
		wake:     make(chan struct{}, 1),
	}
}

// DefaultOwner returns hostname/pid/random, unique per process start, so a
// restarted instance never mistakes its predecessor's leases for its own.
func DefaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
}

// Owner returns the runner's lease owner name.
func (r *Runner) Owner() string { return r.opts.Owner }

// Register sets the handler for a kind of job. Like http.Handle it panics on
// a programming error: an empty kind, a nil handler or a kind registered
// twice. Handlers may be registered before or after Start.
func (r *Runner) Register(kind string, h Handler) {
	if kind == "" || h == nil {
		panic("jobs: Register needs a kind and a handler")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.handlers[kind]; dup {
		panic("jobs: kind " + kind + " registered twice")
	}
	r.handlers[kind] = h
	r.kinds = append(r.kinds, kind)
	slices.Sort(r.kinds)
	r.Wake()
}

// Wake makes the runner look for due jobs now instead of at its next poll,
// for jobs enqueued by a path that does not wake it already.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// EnqueueOption adjusts a job being enqueued.
type EnqueueOption func(*store.Job)

// RunAt makes the job due at t instead of now.
func RunAt(t time.Time) EnqueueOption { return func(j *store.Job) { j.RunAt = t } }

// DedupeKey makes the job unique among unfinished jobs of its kind: while
// one with the same key is queued or running, Enqueue returns its id.
func DedupeKey(key string) EnqueueOption { return func(j *store.Job) { j.Key = key } }

// MaxAttempts overrides Options.MaxAttempts for this job.
func MaxAttempts(n int) EnqueueOption { return func(j *store.Job) { j.MaxAttempts = n } }

// NewJob builds the job Enqueue would store: payload marshalled with
// encoding/json (a json.RawMessage passes through), due now unless RunAt
// says otherwise.
func (r *Runner) NewJob(kind, tenantID string, payload any, opts ...EnqueueOption) (store.Job, error) {
	if kind == "" {
		return store.Job{}, errors.New("jobs: enqueue: empty kind")
	}
	var data []byte
	if payload != nil {
		var err error
		if data, err = json.Marshal(payload); err != nil {
			return store.Job{}, fmt.Errorf("jobs: enqueue %s: payload: %w", kind, err)
		}
	}
	now := r.opts.Now()
	j := store.Job{
		ID: store.NewID(), TenantID: tenantID, Kind: kind, Payload: data,
		RunAt: now, CreatedAt: now, MaxAttempts: r.opts.MaxAttempts,
	}
	for _, o := range opts {
		o(&j)
	}
	if j.MaxAttempts < 1 {
		return store.Job{}, fmt.Errorf("jobs: enqueue %s: max attempts must be at least 1", kind)
	}
	return j, nil
}

// Enqueue stores a job in its own transaction and wakes the local runner.
// It returns the job's id, or the id of the unfinished job with the same
// DedupeKey.
func (r *Runner) Enqueue(ctx context.Context, kind, tenantID string, payload any, opts ...EnqueueOption) (string, error) {
	var id string
	err := r.st.Write(ctx, func(tx store.Tx) error {
		var err error
		id, err = r.EnqueueTx(tx, kind, tenantID, payload, opts...)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// EnqueueTx stores a job within tx, so it exists exactly when the change
// that caused it commits (the outbox pattern), and wakes the local runner
// after the commit.
func (r *Runner) EnqueueTx(tx store.Tx, kind, tenantID string, payload any, opts ...EnqueueOption) (string, error) {
	j, err := r.NewJob(kind, tenantID, payload, opts...)
	if err != nil {
		return "", err
	}
	id, err := tx.EnqueueJob(j)
	if err != nil {
		return "", err
	}
	tx.OnCommit(r.Wake)
	return id, nil
}

// Decode unmarshals a job's JSON payload into v.
func Decode(j store.Job, v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("jobs: decoding payload of %s job %s: %w", j.Kind, j.ID, err)
	}
	return nil
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the job is marked dead at once instead of retried
// (bad payload, a tenant that no longer exists).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Start begins polling for jobs and running periodic tasks. Cancelling ctx
// stops the runner abruptly (handlers see their context end); Stop is the
// graceful way.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stateRunning:
		return errors.New("jobs: runner already started")
	case stateStopped:
		return errors.New("jobs: runner stopped; create a new one")
	}
	r.state = stateRunning
	r.base, r.cancel = context.WithCancel(ctx)
	r.stop = make(chan struct{})
	r.loopDone = make(chan struct{})
	go r.loop()
	for _, p := range r.periodics {
		r.startPeriodic(p)
	}
	return nil
}

// Stop stops claiming jobs and waits for running handlers and periodic tasks
// until ctx ends. Handlers still running then have their context cancelled
// and stop renewing their leases, so their jobs run again elsewhere once the
// leases expire; Stop then returns ctx's error.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if r.state != stateRunning {
		r.state = stateStopped
		r.mu.Unlock()
		return nil
	}
	r.state = stateStopped
	close(r.stop)
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		<-r.loopDone
		r.work.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		return ctx.Err()
	}
}

// loop claims jobs whenever it is woken or the poll interval passes.
func (r *Runner) loop() {
	defer close(r.loopDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.base.Done():
			return
		case <-r.wake:
		case <-timer.C:
		}
		r.poll()
		timer.Reset(r.opts.PollInterval)
	}
}

// poll claims as many due jobs as there are free slots and starts them.
func (r *Runner) poll() {
	free := r.opts.Concurrency - int(r.running.Load())
	if free <= 0 {
		return // a finishing handler wakes the loop
	}
	r.mu.Lock()
	kinds := slices.Clone(r.kinds)
	r.mu.Unlock()
	if len(kinds) == 0 {
		return
	}
	// Each claim gets its own owner name, so if this runner claims a job
	// again after losing its lease, the old attempt cannot act for the new.
	owner := fmt.Sprintf("%s#%d", r.opts.Owner, r.claimSeq.Add(1))
	now := r.opts.Now()
	var claimed []store.Job
	err := r.st.Write(r.base, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimJobs(owner, kinds, now, now.Add(r.opts.LeaseDuration), free)
		return err
	})
	if err != nil {
		if r.base.Err() == nil {
			r.log.Warn("claiming jobs failed", "err", err)
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range claimed {
		r.running.Add(1)
		r.work.Add(1)
		go r.run(j, owner, r.handlers[j.Kind])
	}
	if len(claimed) == free {
		r.Wake() // there may be more
	}
}

// run executes one claimed job and records its outcome.
func (r *Runner) run(j store.Job, owner string, h Handler) {
	defer func() {
		r.running.Add(-1)
		r.work.Done()
		r.Wake()
	}()
	log := r.log.With("job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	ctx, cancel := context.WithCancel(r.base)
	defer cancel()
	var lost atomic.Bool
	beat := make(chan struct{})
	go r.heartbeat(ctx, j.ID, owner, &lost, cancel, beat)

	err := call(ctx, h, j)
	cancel()
	<-beat

	switch {
	case lost.Load():
		log.Warn("job lease lost; another worker has it now", "err", err)
		return
	case err != nil && r.base.Err() != nil:
		// Shutting down: leave the lease to expire so the job runs again.
		log.Info("job interrupted by shutdown", "err", err)
		return
	}
	now := r.opts.Now()
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(r.base), finishTimeout)
	defer fcancel()
	var ferr error
	if err == nil {
		ferr = r.st.Write(fctx, func(tx store.Tx) error { return tx.CompleteJob(j.ID, owner, now) })
		log.Debug("job done")
	} else {
		var retryAt time.Time
		if !IsPermanent(err) && j.Attempts < j.MaxAttempts {
			retryAt = now.Add(r.backoff(j.Attempts))
		}
		ferr = r.st.Write(fctx, func(tx store.Tx) error { return tx.FailJob(j.ID, owner, err.Error(), now, retryAt) })
		if retryAt.IsZero() {
			log.Error("job dead", "err", err)
		} else {
			log.Warn("job failed; will retry", "err", err, "retry_at", retryAt)
		}
	}
	if ferr != nil {
		log.Warn("recording job outcome failed; it will run again when its lease expires", "err", ferr)
	}
}

// call runs h, turning a panic into an error so one bad job cannot take the
// process down.
func call(ctx context.Context, h Handler, j store.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, j)
}

// heartbeat extends the job's lease until ctx ends; if the lease is lost it
// cancels the handler.
func (r *Runner) heartbeat(ctx context.Context, id, owner string, lost *atomic.Bool, cancel context.CancelFunc, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(r.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		until := r.opts.Now().Add(r.opts.LeaseDuration)
		err := r.st.Write(ctx, func(tx store.Tx) error { return tx.ExtendJobLease(id, owner, until) })
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			lost.Store(true)
			cancel()
			return
		case err != nil && ctx.Err() == nil:
			r.log.Warn("extending job lease failed", "job", id, "err", err)
		}
	}
}

// backoff returns the delay after the given failed attempt (1-based):
// BackoffBase doubling per attempt, capped at BackoffMax, then jittered into
// [d/2, d] so jobs that failed together do not retry together.
func (r *Runner) backoff(attempt int) time.Duration {
	d := r.opts.BackoffBase
	for i := 1; i < attempt && d < r.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.opts.BackoffMax)
	return d/2 + rand.N(d/2+1)
}
