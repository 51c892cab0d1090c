package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

func TestEventValidation(t *testing.T) {
	ok := ev(1)
	cases := []struct {
		name string
		mod  func(e *Event)
		ok   bool
	}{
		{"valid", func(e *Event) {}, true},
		{"minimal", func(e *Event) { *e = Event{Actor: "system", Action: "key.rotate", Outcome: OutcomeOK} }, true},
		{"denied with reason", func(e *Event) { e.Outcome, e.Reason = OutcomeDenied, "forbidden: role agent" }, true},
		{"unicode reason", func(e *Event) { e.Reason = "customer reported a typo — email set 2025-01-02" }, true},
		{"category path", func(e *Event) { e.Categories = []string{"user.contact.email", "custom:loyalty/tier-1"} }, true},
		{"no action", func(e *Event) { e.Action = "" }, false},
		{"upper-case action", func(e *Event) { e.Action = "Subject.Read" }, false},
		{"action with trailing dot", func(e *Event) { e.Action = "subject." }, false},
		{"action with space", func(e *Event) { e.Action = "subject read" }, false},
		{"action starting with a digit", func(e *Event) { e.Action = "1subject.read" }, false},
		{"long action", func(e *Event) { e.Action = "a." + strings.Repeat("b", 70) }, false},
		{"no outcome", func(e *Event) { e.Outcome = "" }, false},
		{"unknown outcome", func(e *Event) { e.Outcome = "success" }, false},
		{"no actor", func(e *Event) { e.Actor = "" }, false},
		{"actor with space", func(e *Event) { e.Actor = "john smith" }, false},
		{"subject id with newline", func(e *Event) { e.SubjectID = "a\nb" }, false},
		{"long subject id", func(e *Event) { e.SubjectID = strings.Repeat("x", 129) }, false},
		{"long request id", func(e *Event) { e.RequestID = strings.Repeat("x", 129) }, false},
		{"an email as a field", func(e *Event) { e.Fields = []string{"jane@example.com"} }, false},
		{"a sentence as a category", func(e *Event) { e.Categories = []string{"lives in Oslo"} }, false},
		{"a comma in a name", func(e *Event) { e.Fields = []string{"a,b"} }, false},
		{"an empty name", func(e *Event) { e.Fields = []string{""} }, false},
		{"too many fields", func(e *Event) { e.Fields = make([]string, maxNames+1) }, false},
		{"reason with a newline", func(e *Event) { e.Reason = "a\nb" }, false},
		{"reason not UTF-8", func(e *Event) { e.Reason = "\xff" }, false},
		{"long reason", func(e *Event) { e.Reason = strings.Repeat("x", maxReasonLen+1) }, false},
		{"time before 1970", func(e *Event) { e.At = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
	}
	for _, c := range cases {
		e := ok
		c.mod(&e)
		err := e.validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: validate = %v, want ok %v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v is not ErrInvalidEvent", c.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "jane@example.com") {
			t.Errorf("%s: the error repeats the value: %v", c.name, err)
		}
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	if err := l.Append(nil, "t", ev(1)); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Append on nil Log = %v", err)
	}
	if err := l.Record(context.Background(), nil, "t", ev(1)); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Record on nil Log = %v", err)
	}
}

func TestShardsFor(t *testing.T) {
	if ShardsFor("sqlite") != 1 || ShardsFor("postgres") != DefaultShards {
		t.Fatal("ShardsFor")
	}
}

// TestRecordListVerify: events recorded come back from List exactly, in
// order, through every filter and page, and verify.
func TestRecordListVerify(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		base := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
		clock := base
		var mu sync.Mutex
		l := New(Options{Shards: ShardsFor(st.Engine()), Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		}})
		a := storetest.NewTenant(t, st, "acme")
		b := storetest.NewTenant(t, st, "beta")
		const n = 23
		for i := range n {
			if err := l.Record(ctx, st, a.ID, ev(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Record(ctx, st, b.ID, ev(0)); err != nil {
			t.Fatal(err)
		}

		page, err := List(ctx, st, a.ID, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != n || page.NextCursor != "" {
			t.Fatalf("%d events, cursor %q", len(page.Events), page.NextCursor)
		}
		for i, e := range page.Events {
			want := ev(n - 1 - i)
			want.At = base.Add(time.Duration(n-i) * time.Second)
			if !reflect.DeepEqual(e.Event, want) {
				t.Fatalf("event %d = %+v, want %+v", i, e.Event, want)
			}
			if len(e.Hash) != HashSize || e.Seq < 1 {
				t.Fatalf("event %d position %d/%d", i, e.Shard, e.Seq)
			}
		}

		// Pages of 5 by cursor equal the whole list.
		var got []StoredEvent
		cursor := ""
		for range 10 {
			p, err := List(ctx, st, a.ID, Filter{Limit: 5, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Events...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if !reflect.DeepEqual(got, page.Events) {
			t.Fatalf("paged list differs: %d vs %d events", len(got), len(page.Events))
		}

		count := func(f Filter) int {
			p, err := List(ctx, st, a.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(p.Events)
		}
		filters := []struct {
			name string
			f    Filter
			want int
		}{
			{"subject", Filter{SubjectID: "subj-1"}, 6},
			{"action", Filter{Action: "record.list"}, 7},
			{"actor", Filter{Actor: "apikey:k0"}, 8},
			{"since", Filter{Since: base.Add(20 * time.Second)}, 4},
			{"until", Filter{Until: base.Add(3 * time.Second)}, 2},
			{"subject and action", Filter{SubjectID: "subj-0", Action: "subject.read"}, 2},
			{"nothing", Filter{SubjectID: "nobody"}, 0},
		}
		for _, c := range filters {
			if got := count(c.f); got != c.want {
				t.Errorf("%s: %d events, want %d", c.name, got, c.want)
			}
		}
		if _, err := List(ctx, st, a.ID, Filter{Cursor: "not-a-cursor"}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}

		rep, err := Verify(ctx, st, a.ID, nil)
		if err != nil || !rep.Intact || rep.Events != n || rep.Shards != ShardsFor(st.Engine()) || rep.SignaturesChecked {
			t.Fatalf("verify = %+v, %v", rep, err)
		}
		// A tenant that was never audited verifies, empty.
		c := storetest.NewTenant(t, st, "gamma")
		if rep, err := Verify(ctx, st, c.ID, nil); err != nil || !rep.Intact || rep.Events != 0 || rep.Shards != 0 {
			t.Fatalf("empty tenant: %+v, %v", rep, err)
		}
	})
}

// TestAuditFailureFailsOperation: Append runs in the caller's transaction,
// so when it fails the operation it records does not happen.
func TestAuditFailureFailsOperation(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		l := New(Options{Shards: 2})
		a := storetest.NewTenant(t, st, "acme")
		for _, c := range []struct {
			name   string
			tenant string
			e      Event
		}{
			{"invalid event", a.ID, Event{Actor: "x", Action: "subject.read", Outcome: "ok", Fields: []string{"jane@example.com"}}},
			{"unknown tenant", store.NewID(), ev(1)},
		} {
			err := st.Write(ctx, func(tx store.Tx) error {
				if _, err := tx.EnqueueJob(store.Job{Kind: "operation", TenantID: a.ID, Key: c.name}); err != nil {
					return err
				}
				return l.Append(tx, c.tenant, c.e)
			})
			if err == nil {
				t.Fatalf("%s: the write succeeded", c.name)
			}
			var jobs []store.Job
			_ = st.Read(ctx, func(tx store.Tx) error {
				jobs, err = tx.ListJobs(store.JobFilter{Kind: "operation"})
				return err
			})
			if len(jobs) != 0 {
				t.Fatalf("%s: the operation committed without its audit event", c.name)
			}
		}
	})
}

// TestConcurrentRecord: many writers on one tenant, on every shard, leave a
// log that verifies with every event in it.
func TestConcurrentRecord(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		l := New(Options{Shards: ShardsFor(st.Engine())})
		a := storetest.NewTenant(t, st, "acme")
		const writers, each = 24, 25
		var wg sync.WaitGroup
		var failed atomic.Int32
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if err := l.Record(ctx, st, a.ID, ev(w*each+i)); err != nil {
						t.Error(err)
						failed.Add(1)
						return
					}
				}
			})
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.FailNow()
		}
		rep, err := Verify(ctx, st, a.ID, nil)
		if err != nil || !rep.Intact || rep.Events != writers*each {
			t.Fatalf("verify = %+v, %v", rep, err)
		}
	})
}

// TestVerifyWhileAppending: verification of a live log does not mistake
// appends committed while it runs for tampering.
func TestVerifyWhileAppending(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		keys := newTestKeys()
		l := New(Options{Shards: 4, Keys: keys})
		a := storetest.NewTenant(t, st, "acme")
		for i := range 50 {
			if err := l.Record(ctx, st, a.ID, ev(i)); err != nil {
				t.Fatal(err)
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := l.Record(ctx, st, a.ID, ev(i+w)); err != nil {
						t.Error(err)
						return
					}
					if w == 0 && i%10 == 0 {
						if _, err := l.CheckpointNow(ctx, st, a.ID, keys.key(a.ID)); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		pub, _ := keys.AuditPublicKey(ctx, a.ID)
		for range 15 {
			rep, err := verify(ctx, st, a.ID, pub, 7)
			if err != nil || !rep.Intact {
				t.Errorf("live verify: %v, %v", rep.Break, err)
				break
			}
		}
		close(stop)
		wg.Wait()
	})
}

func TestCheckpoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		keys := newTestKeys()
		l := New(Options{Shards: 2, Keys: keys})
		a := storetest.NewTenant(t, st, "acme")
		b := storetest.NewTenant(t, st, "beta")
		storetest.NewTenant(t, st, "never-audited")
		priv := keys.key(a.ID)

		// Nothing to sign yet.
		if res, err := l.CheckpointNow(ctx, st, a.ID, priv); err != nil || res.Created {
			t.Fatalf("checkpoint of an empty log: %+v, %v", res, err)
		}
		for i := range 5 {
			if err := l.Record(ctx, st, a.ID, ev(i)); err != nil {
				t.Fatal(err)
			}
		}
		res, err := l.CheckpointNow(ctx, st, a.ID, priv)
		if err != nil || !res.Created || res.Seq != 1 || len(res.Digest) != 64 {
			t.Fatalf("first checkpoint: %+v, %v", res, err)
		}
		// Idle: its own announcement does not count as a change.
		if res, err := l.CheckpointNow(ctx, st, a.ID, priv); err != nil || res.Created {
			t.Fatalf("idle checkpoint: %+v, %v", res, err)
		}
		// The announcement is in the log.
		p, err := List(ctx, st, a.ID, Filter{Action: ActionCheckpoint})
		if err != nil || len(p.Events) != 1 || p.Events[0].Reason != "checkpoint 1" || p.Events[0].Actor != "system" {
			t.Fatalf("announcement: %+v, %v", p.Events, err)
		}
		if err := l.Record(ctx, st, a.ID, ev(9)); err != nil {
			t.Fatal(err)
		}
		if err := Checkpoint(ctx, st, a.ID, priv); err != nil {
			t.Fatal(err)
		}
		if err := Checkpoint(ctx, st, a.ID, ed25519.PrivateKey("short")); err == nil {
			t.Fatal("a malformed key signed a checkpoint")
		}

		pub, _ := keys.AuditPublicKey(ctx, a.ID)
		rep, err := Verify(ctx, st, a.ID, pub)
		if err != nil || !rep.Intact || rep.Checkpoints != 2 || !rep.SignaturesChecked || rep.Events != 5+1+1+1 {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
		rep, err = l.VerifyTenant(ctx, st, a.ID)
		if err != nil || !rep.Intact || !rep.SignaturesChecked {
			t.Fatalf("VerifyTenant: %+v, %v", rep, err)
		}
		// Another key: every checkpoint is reported as not signed by it.
		otherPub, _, _ := ed25519.GenerateKey(nil)
		rep, err = Verify(ctx, st, a.ID, otherPub)
		if err != nil || rep.Intact || rep.Break.Kind != BreakSignature || rep.Break.Checkpoint != 1 || !strings.Contains(rep.Break.Detail, KeyID(otherPub)) {
			t.Fatalf("verify with another key: %+v, %v", rep.Break, err)
		}
		if _, err := Verify(ctx, st, a.ID, ed25519.PublicKey("short")); err == nil {
			t.Fatal("a malformed public key was accepted")
		}

		// CheckpointAll through a scheduler: every audited tenant whose log
		// moved gets one, the others none.
		if err := l.Record(ctx, st, a.ID, ev(10)); err != nil {
			t.Fatal(err)
		}
		if err := l.Record(ctx, st, b.ID, ev(1)); err != nil {
			t.Fatal(err)
		}
		var sched fakeScheduler
		l.SchedulePeriodic(&sched, st, time.Minute)
		if sched.name != PeriodicName || sched.every != time.Minute {
			t.Fatalf("scheduled %q every %v", sched.name, sched.every)
		}
		if err := sched.fn(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			tenant string
			want   int64
		}{{a.ID, 3}, {b.ID, 1}} {
			pub, _ := keys.AuditPublicKey(ctx, c.tenant)
			rep, err := Verify(ctx, st, c.tenant, pub)
			if err != nil || !rep.Intact || rep.Checkpoints != c.want {
				t.Errorf("after CheckpointAll: %+v, %v", rep, err)
			}
		}
		keys.mu.Lock()
		n := len(keys.keys)
		keys.mu.Unlock()
		if n != 2 {
			t.Errorf("%d tenants' keys were asked for, want 2 (never-audited needs none)", n)
		}
	})
}

type fakeScheduler struct {
	name  string
	every time.Duration
	fn    func(context.Context) error
}

func (s *fakeScheduler) Periodic(name string, every time.Duration, fn func(context.Context) error) {
	s.name, s.every, s.fn = name, every, fn
}

// failingKeys fails for one tenant.
type failingKeys struct {
	*testKeys
	bad string
}

func (k failingKeys) AuditSigner(ctx context.Context, tenantID string) (ed25519.PrivateKey, error) {
	if tenantID == k.bad {
		return nil, errors.New("key store down")
	}
	return k.testKeys.AuditSigner(ctx, tenantID)
}

func TestCheckpointAllGoesOn(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ctx := testCtx(t)
	a := storetest.NewTenant(t, st, "acme")
	b := storetest.NewTenant(t, st, "beta")
	keys := failingKeys{testKeys: newTestKeys(), bad: a.ID}
	l := New(Options{Keys: keys})
	for _, tn := range []string{a.ID, b.ID} {
		if err := l.Record(ctx, st, tn, ev(1)); err != nil {
			t.Fatal(err)
		}
	}
	err := l.CheckpointAll(ctx, st)
	if err == nil || !strings.Contains(err.Error(), "acme") || !strings.Contains(err.Error(), "key store down") {
		t.Fatalf("CheckpointAll = %v", err)
	}
	rep, _ := Verify(ctx, st, b.ID, nil)
	if rep.Checkpoints != 1 {
		t.Fatalf("beta was not checkpointed after acme failed: %+v", rep)
	}
	if err := New(Options{}).CheckpointAll(ctx, st); err == nil {
		t.Fatal("CheckpointAll without keys succeeded")
	}
}

func TestCursor(t *testing.T) {
	c := store.AuditCursor{At: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC), Shard: 3, Seq: 42}
	got, err := decodeCursor(encodeCursor(c))
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "!!", encodeCursorRaw("v2.1.2.3"), encodeCursorRaw("v1.1.2"), encodeCursorRaw("v1.-1.0.1"),
		encodeCursorRaw("v1.1.999.1"), encodeCursorRaw("v1.1.0.0"), encodeCursorRaw("v1.x.0.1"), strings.Repeat("A", 200)} {
		if _, err := decodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("decodeCursor(%q) = %v", bad, err)
		}
	}
}

func encodeCursorRaw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestBreakString(t *testing.T) {
	b := Break{Kind: BreakHash, Shard: 2, Seq: 7, Detail: "the row's contents do not match its hash"}
	if got := b.String(); got != "hash_mismatch at shard 2, seq 7: the row's contents do not match its hash" {
		t.Errorf("String = %q", got)
	}
	b = Break{Kind: BreakSignature, Shard: -1, Checkpoint: 3}
	if got := b.String(); got != "bad_checkpoint_signature (checkpoint 3)" {
		t.Errorf("String = %q", got)
	}
}

// TestRecordBatches: concurrent Records share transactions, and an event
// for a tenant that does not exist fails alone.
func TestRecordBatches(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		l := New(Options{Shards: ShardsFor(st.Engine())})
		a := storetest.NewTenant(t, st, "acme")
		b := storetest.NewTenant(t, st, "beta")
		ghost := store.NewID()
		var wg sync.WaitGroup
		var okA, okB, ghostFailed atomic.Int32
		for i := range 90 {
			wg.Go(func() {
				tenant := []string{a.ID, b.ID, ghost}[i%3]
				err := l.Record(ctx, st, tenant, ev(i))
				switch {
				case tenant == ghost && errors.Is(err, store.ErrNotFound):
					ghostFailed.Add(1)
				case err != nil:
					t.Errorf("tenant %d: %v", i%3, err)
				case tenant == a.ID:
					okA.Add(1)
				default:
					okB.Add(1)
				}
			})
		}
		wg.Wait()
		if okA.Load() != 30 || okB.Load() != 30 || ghostFailed.Load() != 30 {
			t.Fatalf("a %d, b %d, ghost failures %d", okA.Load(), okB.Load(), ghostFailed.Load())
		}
		for _, tn := range []string{a.ID, b.ID} {
			if rep, err := Verify(ctx, st, tn, nil); err != nil || !rep.Intact || rep.Events != 30 {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		}
	})
}

func TestRecordMisuse(t *testing.T) {
	st := storetest.OpenSQLite(t)
	l := New(Options{})
	a := storetest.NewTenant(t, st, "acme")

	// Inside a Write function Record would wait for the writer its caller
	// holds; it refuses at once instead.
	done := make(chan error, 1)
	go func() {
		done <- st.Write(testCtx(t), func(tx store.Tx) error {
			return l.Record(tx.Context(), st, a.ID, ev(1))
		})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "Append") {
			t.Fatalf("Record inside Write = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Record inside a Write function deadlocked")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Record(ctx, st, a.ID, ev(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record with a cancelled context = %v", err)
	}
	if err := l.Record(context.Background(), st, a.ID, Event{Action: "x"}); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("invalid event = %v", err)
	}
}
