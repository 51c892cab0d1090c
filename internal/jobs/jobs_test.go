package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// clock is a test clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// forEngine runs fn on each engine with a fresh store.
func forEngine(t *testing.T, fn func(t *testing.T, s store.Store)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

func newRunner(t *testing.T, s store.Store, c *clock, opts jobs.Options) *jobs.Runner {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Millisecond
	}
	if c != nil {
		opts.Now = c.Now
	}
	r := jobs.New(s, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Stop(ctx)
	})
	return r
}

func start(t *testing.T, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func getJob(t *testing.T, s store.Store, id string) store.Job {
	t.Helper()
	var j store.Job
	err := s.Read(context.Background(), func(tx store.Tx) error {
		var err error
		j, err = tx.GetJob(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func status(t *testing.T, s store.Store, id string) func() bool {
	return func() bool { return getJob(t, s, id).Status == store.JobDone }
}

func TestRunsJobWhenEnqueued(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		// A long poll interval: only Enqueue's wake-up can start the job quickly.
		r := newRunner(t, s, nil, jobs.Options{PollInterval: time.Hour})
		type greeting struct{ Name string }
		got := make(chan greeting, 1)
		r.Register("greet", func(ctx context.Context, j store.Job) error {
			var g greeting
			if err := jobs.Decode(j, &g); err != nil {
				return err
			}
			got <- g
			return nil
		})
		start(t, r)
		time.Sleep(20 * time.Millisecond) // let the first poll pass
		id, err := r.Enqueue(context.Background(), "greet", "tenant-1", greeting{Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g.Name != "Ada" {
				t.Fatalf("payload = %+v", g)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Enqueue did not wake the runner")
		}
		eventually(t, "job done", status(t, s, id))
		if j := getJob(t, s, id); j.TenantID != "tenant-1" || j.Attempts != 1 || j.MaxAttempts != jobs.DefaultMaxAttempts {
			t.Errorf("job = %+v", j)
		}
	})
}

func TestEnqueueOptions(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		c := newClock()
		r := newRunner(t, s, c, jobs.Options{})
		ctx := context.Background()
		at := c.Now().Add(time.Hour)
		a, err := r.Enqueue(ctx, "k", "", json.RawMessage(`{"raw":true}`), jobs.DedupeKey("x"), jobs.RunAt(at), jobs.MaxAttempts(3))
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Enqueue(ctx, "k", "", nil, jobs.DedupeKey("x"))
		if err != nil || b != a {
			t.Fatalf("dedupe: %s, %v; want %s", b, err, a)
		}
		j := getJob(t, s, a)
		if string(j.Payload) != `{"raw":true}` || !j.RunAt.Equal(at) || j.MaxAttempts != 3 || j.Key != "x" {
			t.Errorf("job = %+v", j)
		}
		cases := []struct {
			name    string
			kind    string
			payload any
			opts    []jobs.EnqueueOption
		}{
			{"empty kind", "", nil, nil},
			{"unmarshalable payload", "k", func() {}, nil},
			{"zero attempts", "k", nil, []jobs.EnqueueOption{jobs.MaxAttempts(0)}},
		}
		for _, c := range cases {
			if _, err := r.Enqueue(ctx, c.kind, "", c.payload, c.opts...); err == nil {
				t.Errorf("%s: enqueued", c.name)
			}
		}
	})
}

func TestEnqueueTxOnlyOnCommit(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		r := newRunner(t, s, nil, jobs.Options{PollInterval: time.Hour})
		var runs atomic.Int32
		r.Register("k", func(context.Context, store.Job) error { runs.Add(1); return nil })
		start(t, r)
		time.Sleep(20 * time.Millisecond)
		errRollback := errors.New("rollback")
		err := s.Write(context.Background(), func(tx store.Tx) error {
			if _, err := r.EnqueueTx(tx, "k", "", "lost"); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		var id string
		err = s.Write(context.Background(), func(tx store.Tx) error {
			var err error
			id, err = r.EnqueueTx(tx, "k", "", "kept")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "committed job done (woken by OnCommit)", status(t, s, id))
		time.Sleep(20 * time.Millisecond)
		if n := runs.Load(); n != 1 {
			t.Fatalf("%d runs, want 1", n)
		}
	})
}

func TestRetryBackoffThenDead(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		c := newClock()
		base := time.Minute
		r := newRunner(t, s, c, jobs.Options{BackoffBase: base, BackoffMax: 3 * time.Minute})
		var calls atomic.Int32
		r.Register("flaky", func(context.Context, store.Job) error {
			calls.Add(1)
			return errors.New("upstream unavailable")
		})
		start(t, r)
		id, err := r.Enqueue(context.Background(), "flaky", "", nil, jobs.MaxAttempts(4))
		if err != nil {
			t.Fatal(err)
		}
		// Attempt n fails and is retried after base·2^(n-1), capped at 3m,
		// jittered into [d/2, d].
		for attempt, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
			eventually(t, fmt.Sprintf("attempt %d to fail", attempt+1), func() bool {
				j := getJob(t, s, id)
				return j.Status == store.JobQueued && j.Attempts == attempt+1
			})
			j := getJob(t, s, id)
			wait := j.RunAt.Sub(c.Now())
			if wait < d/2 || wait > d {
				t.Fatalf("attempt %d: retry in %v, want within [%v, %v]", attempt+1, wait, d/2, d)
			}
			if j.LastError != "upstream unavailable" {
				t.Errorf("last error = %q", j.LastError)
			}
			c.Advance(d)
		}
		eventually(t, "job dead", func() bool { return getJob(t, s, id).Status == store.JobDead })
		if n := calls.Load(); n != 4 {
			t.Errorf("%d calls, want 4", n)
		}
	})
}

func TestPanicAndPermanent(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		r := newRunner(t, s, newClock(), jobs.Options{})
		r.Register("panics", func(context.Context, store.Job) error { panic("nil map") })
		r.Register("bad", func(context.Context, store.Job) error { return jobs.Permanent(errors.New("tenant gone")) })
		r.Register("ok", func(context.Context, store.Job) error { return nil })
		start(t, r)
		ctx := context.Background()
		p, _ := r.Enqueue(ctx, "panics", "", nil, jobs.MaxAttempts(1))
		b, _ := r.Enqueue(ctx, "bad", "", nil, jobs.MaxAttempts(5))
		ok, _ := r.Enqueue(ctx, "ok", "", nil)
		eventually(t, "panicking job dead", func() bool { return getJob(t, s, p).Status == store.JobDead })
		eventually(t, "permanent failure dead", func() bool { return getJob(t, s, b).Status == store.JobDead })
		eventually(t, "other job done", status(t, s, ok))
		if e := getJob(t, s, p).LastError; !strings.Contains(e, "panic: nil map") {
			t.Errorf("panic recorded as %q", e)
		}
		if j := getJob(t, s, b); j.Attempts != 1 || j.LastError != "tenant gone" {
			t.Errorf("permanent failure: %+v", j)
		}
	})
}

func TestConcurrencyBound(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		r := newRunner(t, s, newClock(), jobs.Options{Concurrency: 2})
		release := make(chan struct{})
		var inFlight, peak atomic.Int32
		r.Register("slow", func(ctx context.Context, _ store.Job) error {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			inFlight.Add(-1)
			return nil
		})
		var ids []string
		for range 6 {
			id, err := r.Enqueue(context.Background(), "slow", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		start(t, r)
		eventually(t, "two handlers running", func() bool { return inFlight.Load() == 2 })
		time.Sleep(50 * time.Millisecond)
		if p := peak.Load(); p != 2 {
			t.Fatalf("peak concurrency %d, want 2", p)
		}
		close(release)
		for _, id := range ids {
			eventually(t, "all jobs done", status(t, s, id))
		}
		if p := peak.Load(); p != 2 {
			t.Fatalf("peak concurrency %d, want 2", p)
		}
	})
}

// TestHeartbeat: a job running longer than its lease keeps it, so another
// runner cannot claim it.
func TestHeartbeat(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		c := newClock()
		opts := jobs.Options{LeaseDuration: time.Minute, Heartbeat: 5 * time.Millisecond}
		r1 := newRunner(t, s, c, opts)
		release := make(chan struct{})
		started := make(chan struct{})
		r1.Register("long", func(ctx context.Context, _ store.Job) error {
			close(started)
			<-release
			return nil
		})
		r2 := newRunner(t, s, c, opts)
		var stolen atomic.Bool
		r2.Register("long", func(context.Context, store.Job) error { stolen.Store(true); return nil })

		id, _ := r1.Enqueue(context.Background(), "long", "", nil)
		start(t, r1)
		<-started
		start(t, r2)
		// Ten lease lengths pass, in steps shorter than the lease (as the
		// real heartbeat interval is); each time the lease follows the clock.
		for range 30 {
			c.Advance(20 * time.Second)
			eventually(t, "lease renewed", func() bool {
				return getJob(t, s, id).LeaseUntil.Sub(c.Now()) >= time.Minute
			})
		}
		close(release)
		eventually(t, "job done", status(t, s, id))
		if stolen.Load() {
			t.Fatal("a job with a live heartbeat was claimed by another runner")
		}
	})
}

// TestStopGraceful: Stop waits for running handlers.
func TestStopGraceful(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		r := newRunner(t, s, newClock(), jobs.Options{})
		started := make(chan struct{})
		r.Register("k", func(ctx context.Context, _ store.Job) error {
			close(started)
			time.Sleep(50 * time.Millisecond)
			return nil
		})
		id, _ := r.Enqueue(context.Background(), "k", "", nil)
		start(t, r)
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if j := getJob(t, s, id); j.Status != store.JobDone {
			t.Fatalf("after Stop the job is %s", j.Status)
		}
		// A stopped runner claims nothing more.
		later, _ := r.Enqueue(context.Background(), "k", "", nil)
		time.Sleep(30 * time.Millisecond)
		if j := getJob(t, s, later); j.Status != store.JobQueued {
			t.Fatalf("stopped runner ran a job: %s", j.Status)
		}
		if err := r.Start(context.Background()); err == nil {
			t.Fatal("a stopped runner started again")
		}
	})
}

// TestStopTimeoutThenReclaim: a handler that outlives Stop's deadline has
// its context cancelled and its lease left to expire; another runner then
// runs the job.
func TestStopTimeoutThenReclaim(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		c := newClock()
		opts := jobs.Options{LeaseDuration: time.Minute, Heartbeat: 5 * time.Millisecond}
		r1 := newRunner(t, s, c, opts)
		started := make(chan struct{})
		r1.Register("k", func(ctx context.Context, _ store.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		id, _ := r1.Enqueue(context.Background(), "k", "", nil)
		start(t, r1)
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := r1.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want deadline exceeded", err)
		}
		time.Sleep(20 * time.Millisecond)
		if j := getJob(t, s, id); j.Status != store.JobRunning || j.LastError != "" {
			t.Fatalf("interrupted job = %+v, want still running, no failure recorded", j)
		}
		r2 := newRunner(t, s, c, opts)
		r2.Register("k", func(context.Context, store.Job) error { return nil })
		start(t, r2)
		time.Sleep(20 * time.Millisecond)
		if j := getJob(t, s, id); j.Status != store.JobRunning {
			t.Fatalf("job reclaimed before its lease expired: %+v", j)
		}
		c.Advance(time.Minute)
		eventually(t, "reclaimed job done", status(t, s, id))
		if j := getJob(t, s, id); j.Attempts != 2 {
			t.Errorf("attempts = %d, want 2", j.Attempts)
		}
	})
}

// TestSeveralRunnersRunEachJobOnce: runners sharing a database (on
// PostgreSQL, separate connection pools, as separate processes would have)
// run every job exactly once.
func TestSeveralRunnersRunEachJobOnce(t *testing.T) {
	for _, e := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + storetest.SQLitePath(t) }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresSchemaDSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			dsn := e.dsn(t)
			stores := []store.Store{storetest.OpenDSN(t, dsn, engines.Options{})}
			if e.name == "postgres" {
				stores = append(stores, storetest.OpenDSN(t, dsn, engines.Options{}), storetest.OpenDSN(t, dsn, engines.Options{}))
			}
			const n = 100
			var mu sync.Mutex
			runs := map[string]int{}
			var runners []*jobs.Runner
			for i := range 3 {
				r := newRunner(t, stores[i%len(stores)], nil, jobs.Options{Concurrency: 3})
				r.Register("count", func(_ context.Context, j store.Job) error {
					mu.Lock()
					runs[j.ID]++
					mu.Unlock()
					return nil
				})
				runners = append(runners, r)
			}
			var ids []string
			for i := range n {
				id, err := runners[i%3].Enqueue(context.Background(), "count", "", i)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			for _, r := range runners {
				start(t, r)
			}
			for _, id := range ids {
				eventually(t, "all jobs done", status(t, stores[0], id))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if runs[id] != 1 {
					t.Errorf("job %s ran %d times", id, runs[id])
				}
			}
		})
	}
}

// TestPeriodicOncePerPeriod: two instances, one run per period.
func TestPeriodicOncePerPeriod(t *testing.T) {
	forEngine(t, func(t *testing.T, s store.Store) {
		c := newClock()
		var mu sync.Mutex
		perPeriod := map[time.Time]int{}
		byRunner := map[string]int{}
		var runners []*jobs.Runner
		for range 2 {
			r := newRunner(t, s, c, jobs.Options{})
			r.Periodic("sweep", time.Hour, func(ctx context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				perPeriod[c.Now().Truncate(time.Hour)]++
				byRunner[r.Owner()]++
				return nil
			})
			runners = append(runners, r)
		}
		for _, r := range runners {
			start(t, r)
		}
		const periods = 4
		for p := range periods {
			eventually(t, fmt.Sprintf("run in period %d", p), func() bool {
				mu.Lock()
				defer mu.Unlock()
				return perPeriod[c.Now().Truncate(time.Hour)] == 1
			})
			time.Sleep(20 * time.Millisecond) // give the other instance its chance to (wrongly) run
			c.Advance(time.Hour)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(perPeriod) != periods {
			t.Errorf("runs in %d periods, want %d", len(perPeriod), periods)
		}
		for period, n := range perPeriod {
			if n != 1 {
				t.Errorf("period %v: %d runs", period, n)
			}
		}
	})
}

func TestRegisterMisuse(t *testing.T) {
	r := jobs.New(nil, jobs.Options{})
	r.Register("k", func(context.Context, store.Job) error { return nil })
	for name, fn := range map[string]func(){
		"empty kind":   func() { r.Register("", func(context.Context, store.Job) error { return nil }) },
		"nil handler":  func() { r.Register("x", nil) },
		"duplicate":    func() { r.Register("k", func(context.Context, store.Job) error { return nil }) },
		"short period": func() { r.Periodic("p", time.Millisecond, func(context.Context) error { return nil }) },
		"nil periodic": func() { r.Periodic("q", time.Hour, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			fn()
		})
	}
}

func TestDefaultOwner(t *testing.T) {
	a, b := jobs.DefaultOwner(), jobs.DefaultOwner()
	if a == b || strings.Count(a, "/") != 2 {
		t.Fatalf("owners %q and %q", a, b)
	}
}
