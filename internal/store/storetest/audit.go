package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"AuditHeads", testAuditHeads},
		{"AuditAppendScan", testAuditAppendScan},
		{"AuditAppendConflicts", testAuditAppendConflicts},
		{"AuditAppendRuns", testAuditAppendRuns},
		{"AuditInvalid", testAuditInvalid},
		{"AuditLockStart", testAuditLockStart},
		{"AuditLockSkipsHeld", testAuditLockSkipsHeld},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditList", testAuditList},
		{"AuditCheckpoints", testAuditCheckpoints},
	})
}

// auditGenesis is the genesis hash these tests use; the store treats it as
// opaque bytes.
var auditGenesis = make([]byte, 32)

// linkHash stands in for the audit package's hash: the store only checks
// that an event extends its head, not how hashes are made.
func linkHash(prev []byte, seq int64) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(seq)))
	return h.Sum(nil)
}

// auditAppend locks a head starting at shard start and appends e to it,
// filling in its chain position.
func auditAppend(tx store.Tx, tenantID string, start int, e store.AuditEvent) (store.AuditEvent, error) {
	h, err := tx.LockAuditHead(tenantID, start)
	if err != nil {
		return e, err
	}
	e.TenantID, e.Shard, e.Seq, e.PrevHash = tenantID, h.Shard, h.Seq+1, h.Hash
	e.Hash = linkHash(e.PrevHash, e.Seq)
	if e.At.IsZero() {
		e.At = t0
	}
	if e.Action == "" {
		e.Action = "subject.read"
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	return e, tx.AppendAuditEvents([]store.AuditEvent{e})
}

func initAudit(t testing.TB, s store.Store, tenantID string, shards int) {
	t.Helper()
	write(t, s, func(tx store.Tx) error {
		n, err := tx.InitAuditHeads(tenantID, shards, auditGenesis)
		if err == nil && n != shards {
			err = fmt.Errorf("InitAuditHeads = %d, want %d", n, shards)
		}
		return err
	})
}

func testAuditHeads(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	b := NewTenant(t, s, "audit-b")

	err := s.Read(ctx(t), func(tx store.Tx) error {
		_, err := tx.InitAuditHeads(a.ID, 2, auditGenesis)
		wantErr(t, err, store.ErrReadOnly)
		_, err = tx.LockAuditHead(a.ID, 0)
		wantErr(t, err, store.ErrReadOnly)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	write(t, s, func(tx store.Tx) error {
		// Expected failures leave the transaction usable.
		_, err := tx.InitAuditHeads("no-such-tenant", 2, auditGenesis)
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.LockAuditHead(a.ID, 0)
		wantErr(t, err, store.ErrNotFound)
		for _, n := range []int{0, -1, store.MaxAuditShards + 1} {
			_, err = tx.InitAuditHeads(a.ID, n, auditGenesis)
			wantErr(t, err, store.ErrInvalid)
		}
		_, err = tx.InitAuditHeads(a.ID, 2, nil)
		wantErr(t, err, store.ErrInvalid)

		n, err := tx.InitAuditHeads(a.ID, 3, auditGenesis)
		if err != nil || n != 3 {
			t.Fatalf("InitAuditHeads = %d, %v", n, err)
		}
		// Fixed once made: a later call with another count changes nothing.
		n, err = tx.InitAuditHeads(a.ID, 5, auditGenesis)
		if err != nil || n != 3 {
			t.Fatalf("second InitAuditHeads = %d, %v; want 3", n, err)
		}
		return nil
	})

	read(t, s, func(tx store.Tx) error {
		hs, err := tx.AuditHeads(a.ID)
		if err != nil {
			return err
		}
		want := []store.AuditHead{
			{TenantID: a.ID, Shard: 0, Hash: auditGenesis},
			{TenantID: a.ID, Shard: 1, Hash: auditGenesis},
			{TenantID: a.ID, Shard: 2, Hash: auditGenesis},
		}
		if !reflect.DeepEqual(hs, want) {
			t.Errorf("AuditHeads = %+v, want %+v", hs, want)
		}
		hs, err = tx.AuditHeads(b.ID)
		if err != nil || len(hs) != 0 {
			t.Errorf("other tenant's heads = %+v, %v; want none", hs, err)
		}
		return nil
	})
}

func testAuditAppendScan(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	b := NewTenant(t, s, "audit-b")
	initAudit(t, s, a.ID, 2)
	initAudit(t, s, b.ID, 1)

	full := store.AuditEvent{
		At: t0, Actor: "apikey:abc", Role: "agent", Action: "subject.read", SubjectID: store.NewID(),
		Purpose: "support", Outcome: "ok", Reason: "withheld email:consent_missing — seen", RequestID: "req-1",
		Fields: []string{"name", "email"}, Categories: []string{"user.contact.email", "user.name"},
	}
	var appended []store.AuditEvent
	write(t, s, func(tx store.Tx) error {
		for i := range 5 {
			e := store.AuditEvent{Actor: "system", At: t0.Add(time.Duration(i) * time.Second)}
			if i == 2 {
				e = full
			}
			got, err := auditAppend(tx, a.ID, i%2, e)
			if err != nil {
				return err
			}
			appended = append(appended, got)
		}
		_, err := auditAppend(tx, b.ID, 0, store.AuditEvent{Actor: "system"})
		return err
	})
	if appended[0].Shard != 0 || appended[1].Shard != 1 || appended[2].Shard != 0 || appended[2].Seq != 2 {
		t.Fatalf("positions = %+v", appended)
	}

	read(t, s, func(tx store.Tx) error {
		hs, err := tx.AuditHeads(a.ID)
		if err != nil {
			return err
		}
		if len(hs) != 2 || hs[0].Seq != 3 || !bytes.Equal(hs[0].Hash, appended[4].Hash) || hs[1].Seq != 2 || !bytes.Equal(hs[1].Hash, appended[3].Hash) {
			t.Errorf("heads = %+v", hs)
		}
		got, err := tx.ScanAuditEvents(a.ID, 0, 0, 100, 100)
		if err != nil {
			return err
		}
		want := []store.AuditEvent{appended[0], appended[2], appended[4]}
		for i := range want {
			want[i].At = us(want[i].At)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ScanAuditEvents =\n%+v\nwant\n%+v", got, want)
		}
		if got[1].At.Location() != time.UTC {
			t.Errorf("At location = %v", got[1].At.Location())
		}
		// Bounds: after, max and limit.
		got, err = tx.ScanAuditEvents(a.ID, 0, 1, 2, 100)
		if err != nil || len(got) != 1 || got[0].Seq != 2 {
			t.Errorf("ScanAuditEvents(after 1, max 2) = %+v, %v", got, err)
		}
		got, err = tx.ScanAuditEvents(a.ID, 0, 0, 100, 2)
		if err != nil || len(got) != 2 || got[1].Seq != 2 {
			t.Errorf("ScanAuditEvents(limit 2) = %+v, %v", got, err)
		}
		for _, lim := range []int{0, -1, store.MaxAuditScan + 1} {
			_, err = tx.ScanAuditEvents(a.ID, 0, 0, 100, lim)
			wantErr(t, err, store.ErrInvalid)
		}
		got, err = tx.ScanAuditEvents(b.ID, 1, 0, 100, 100)
		if err != nil || len(got) != 0 {
			t.Errorf("scan of another tenant's missing shard = %+v, %v", got, err)
		}
		if first, last, err := tx.AuditSeqRange(a.ID, 1); err != nil || first != 1 || last != 2 {
			t.Errorf("AuditSeqRange = %d, %d, %v; want 1, 2", first, last, err)
		}
		if first, last, err := tx.AuditSeqRange(a.ID, 7); err != nil || first != 0 || last != 0 {
			t.Errorf("AuditSeqRange(empty) = %d, %d, %v; want 0, 0", first, last, err)
		}
		if lo, hi, err := tx.AuditShardRange(a.ID); err != nil || lo != 0 || hi != 1 {
			t.Errorf("AuditShardRange = %d, %d, %v; want 0, 1", lo, hi, err)
		}
		_, _, err = tx.AuditShardRange(store.NewID())
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
}

func testAuditAppendConflicts(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	initAudit(t, s, a.ID, 1)
	write(t, s, func(tx store.Tx) error {
		first, err := auditAppend(tx, a.ID, 0, store.AuditEvent{Actor: "system"})
		if err != nil {
			return err
		}
		h, err := tx.LockAuditHead(a.ID, 0)
		if err != nil {
			return err
		}
		bad := []struct {
			name string
			seq  int64
			prev []byte
		}{
			{"seq taken", 1, first.PrevHash},
			{"seq skips", 3, first.Hash},
			{"wrong prev", 2, auditGenesis},
		}
		for _, c := range bad {
			e := first
			e.Seq, e.PrevHash, e.Hash = c.seq, c.prev, linkHash(c.prev, c.seq)
			if err := tx.AppendAuditEvents([]store.AuditEvent{e}); !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: AppendAuditEvent = %v, want ErrConflict", c.name, err)
			}
		}
		// The transaction is still usable and the head unchanged.
		if h.Seq != 1 || !bytes.Equal(h.Hash, first.Hash) {
			t.Errorf("head = %+v", h)
		}
		_, err = auditAppend(tx, a.ID, 0, store.AuditEvent{Actor: "system"})
		return err
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ScanAuditEvents(a.ID, 0, 0, 10, 10)
		if err != nil || len(got) != 2 || got[1].Seq != 2 || !bytes.Equal(got[1].PrevHash, got[0].Hash) {
			t.Errorf("events = %+v, %v", got, err)
		}
		return nil
	})
}

func testAuditInvalid(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	initAudit(t, s, a.ID, 1)
	long := string(make([]byte, 5000))
	cases := []struct {
		name string
		mod  func(e *store.AuditEvent)
	}{
		{"no action", func(e *store.AuditEvent) { e.Action = "" }},
		{"no outcome", func(e *store.AuditEvent) { e.Outcome = "" }},
		{"zero time", func(e *store.AuditEvent) { e.At = time.Time{} }},
		{"negative time", func(e *store.AuditEvent) { e.At = time.Unix(-10, 0) }},
		{"comma in a field", func(e *store.AuditEvent) { e.Fields = []string{"a,b"} }},
		{"empty category", func(e *store.AuditEvent) { e.Categories = []string{""} }},
		{"long reason", func(e *store.AuditEvent) { e.Reason = long }},
		{"long actor", func(e *store.AuditEvent) { e.Actor = long }},
		{"no hash", func(e *store.AuditEvent) { e.Hash = nil }},
		{"no prev", func(e *store.AuditEvent) { e.PrevHash = nil }},
		{"shard", func(e *store.AuditEvent) { e.Shard = -1 }},
		{"seq", func(e *store.AuditEvent) { e.Seq = 0 }},
		{"tenant", func(e *store.AuditEvent) { e.TenantID = "" }},
	}
	write(t, s, func(tx store.Tx) error {
		h, err := tx.LockAuditHead(a.ID, 0)
		if err != nil {
			return err
		}
		for _, c := range cases {
			e := store.AuditEvent{TenantID: a.ID, Seq: h.Seq + 1, At: t0, Actor: "x", Action: "subject.read", Outcome: "ok",
				PrevHash: h.Hash, Hash: linkHash(h.Hash, 1)}
			c.mod(&e)
			if err := tx.AppendAuditEvents([]store.AuditEvent{e}); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: AppendAuditEvent = %v, want ErrInvalid", c.name, err)
			}
		}
		return nil
	})
	err := s.Read(ctx(t), func(tx store.Tx) error {
		wantErr(t, tx.AppendAuditEvents([]store.AuditEvent{{}}), store.ErrReadOnly)
		wantErr(t, tx.InsertAuditCheckpoint(store.AuditCheckpoint{}), store.ErrReadOnly)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read(t, s, func(tx store.Tx) error {
		hs, err := tx.AuditHeads(a.ID)
		if err != nil || len(hs) != 1 || hs[0].Seq != 0 {
			t.Errorf("heads after refused appends = %+v, %v", hs, err)
		}
		return nil
	})
}

func testAuditLockStart(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	initAudit(t, s, a.ID, 3)
	// With nobody else holding a head, start picks the shard; a start
	// past the last shard wraps to the first.
	for _, c := range []struct{ start, want int }{{0, 0}, {2, 2}, {1, 1}, {3, 0}, {100, 0}, {-4, 0}} {
		write(t, s, func(tx store.Tx) error {
			h, err := tx.LockAuditHead(a.ID, c.start)
			if err != nil {
				return err
			}
			if h.Shard != c.want {
				t.Errorf("LockAuditHead(start %d) = shard %d, want %d", c.start, h.Shard, c.want)
			}
			// The same transaction may lock it again.
			h2, err := tx.LockAuditHead(a.ID, c.start)
			if err == nil && h2.Shard != h.Shard {
				t.Errorf("second lock in one transaction moved from shard %d to %d", h.Shard, h2.Shard)
			}
			return err
		})
	}
}

// testAuditLockSkipsHeld: on engines with row locks, a head held by one
// transaction is passed over by another, and when all are held the next
// appender waits instead of failing. SQLite serialises writes, so there is
// nothing to skip.
func testAuditLockSkipsHeld(t *testing.T, s store.Store) {
	if s.Engine() == "sqlite" {
		t.Skip("single writer: transactions never hold heads concurrently")
	}
	a := NewTenant(t, s, "audit-a")
	initAudit(t, s, a.ID, 2)

	// hold keeps a transaction with shard `start` locked until release
	// closes, reporting the shard it got.
	hold := func(start int, got chan<- int, release <-chan struct{}, done chan<- error) {
		done <- s.Write(ctx(t), func(tx store.Tx) error {
			e, err := auditAppend(tx, a.ID, start, store.AuditEvent{Actor: "holder"})
			if err != nil {
				return err
			}
			got <- e.Shard
			<-release
			return nil
		})
	}
	got1, got2 := make(chan int, 1), make(chan int, 1)
	rel1, rel2 := make(chan struct{}), make(chan struct{})
	done := make(chan error, 3)
	go hold(0, got1, rel1, done)
	if sh := <-got1; sh != 0 {
		t.Fatalf("first holder got shard %d", sh)
	}
	go hold(0, got2, rel2, done) // prefers 0, which is held: gets 1
	select {
	case sh := <-got2:
		if sh != 1 {
			t.Errorf("second holder got shard %d, want 1 (0 is held)", sh)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second appender waited for a held shard although another was free")
	}

	// Both held: a third appender waits, then proceeds when one is free.
	third := make(chan int, 1)
	go func() {
		done <- s.Write(ctx(t), func(tx store.Tx) error {
			e, err := auditAppend(tx, a.ID, 1, store.AuditEvent{Actor: "third"})
			if err == nil {
				third <- e.Shard
			}
			return err
		})
	}()
	select {
	case sh := <-third:
		t.Fatalf("third appender got shard %d while both were held", sh)
	case <-time.After(200 * time.Millisecond):
	}
	close(rel2)
	select {
	case sh := <-third:
		if sh != 1 {
			t.Errorf("third appender got shard %d, want 1 (released)", sh)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("third appender did not proceed when a shard was released")
	}
	close(rel1)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	read(t, s, func(tx store.Tx) error {
		hs, err := tx.AuditHeads(a.ID)
		if err != nil || hs[0].Seq != 1 || hs[1].Seq != 2 {
			t.Errorf("heads = %+v, %v", hs, err)
		}
		return nil
	})
}

// testAuditConcurrent: many writers appending to one tenant leave every
// shard gap-free and linked, with the head on the last row.
func testAuditConcurrent(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	const shards, writers, each = 4, 32, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.Write(ctx(t), func(tx store.Tx) error {
					_, err := tx.InitAuditHeads(a.ID, shards, auditGenesis)
					if err != nil {
						return err
					}
					_, err = auditAppend(tx, a.ID, (w+i)%shards, store.AuditEvent{Actor: fmt.Sprintf("w%d", w)})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	read(t, s, func(tx store.Tx) error {
		hs, err := tx.AuditHeads(a.ID)
		if err != nil {
			return err
		}
		if len(hs) != shards {
			t.Fatalf("%d heads, want %d", len(hs), shards)
		}
		total := 0
		for _, h := range hs {
			rows, err := tx.ScanAuditEvents(a.ID, h.Shard, 0, h.Seq, store.MaxAuditScan)
			if err != nil {
				return err
			}
			prev := auditGenesis
			for i, r := range rows {
				if r.Seq != int64(i+1) || !bytes.Equal(r.PrevHash, prev) {
					t.Fatalf("shard %d row %d: seq %d, linked %v", h.Shard, i, r.Seq, bytes.Equal(r.PrevHash, prev))
				}
				prev = r.Hash
			}
			if int64(len(rows)) != h.Seq || !bytes.Equal(prev, h.Hash) {
				t.Errorf("shard %d: %d rows, head %d", h.Shard, len(rows), h.Seq)
			}
			total += len(rows)
		}
		if total != writers*each {
			t.Errorf("%d events, want %d", total, writers*each)
		}
		return nil
	})
}

func testAuditList(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	b := NewTenant(t, s, "audit-b")
	initAudit(t, s, a.ID, 2)
	initAudit(t, s, b.ID, 1)
	subj1, subj2 := store.NewID(), store.NewID()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// 12 events: two per second (one per shard), so times tie and order
	// falls to shard and seq.
	var all []store.AuditEvent
	write(t, s, func(tx store.Tx) error {
		for i := range 12 {
			e := store.AuditEvent{
				At:     base.Add(time.Duration(i/2) * time.Second),
				Actor:  []string{"apikey:one", "apikey:two"}[i%2],
				Action: []string{"subject.read", "subject.update", "record.list"}[i%3],
			}
			if i%4 < 2 {
				e.SubjectID = subj1
			} else if i%4 == 2 {
				e.SubjectID = subj2
			}
			got, err := auditAppend(tx, a.ID, i%2, e)
			if err != nil {
				return err
			}
			all = append(all, got)
		}
		_, err := auditAppend(tx, b.ID, 0, store.AuditEvent{Actor: "apikey:one", SubjectID: subj1, At: base})
		return err
	})
	// Newest first: later time, then higher shard, then higher seq.
	newest := make([]store.AuditEvent, len(all))
	for i := range all {
		newest[len(all)-1-i] = all[i]
	}
	list := func(f store.AuditFilter) []store.AuditEvent {
		t.Helper()
		var out []store.AuditEvent
		read(t, s, func(tx store.Tx) error {
			var err error
			out, err = tx.ListAuditEvents(a.ID, f)
			return err
		})
		return out
	}
	keys := func(es []store.AuditEvent) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = fmt.Sprintf("%d/%d", e.Shard, e.Seq)
		}
		return out
	}
	filter := func(keep func(e store.AuditEvent) bool) []store.AuditEvent {
		var out []store.AuditEvent
		for _, e := range newest {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	cases := []struct {
		name string
		f    store.AuditFilter
		want []store.AuditEvent
	}{
		{"all", store.AuditFilter{}, newest},
		{"subject", store.AuditFilter{SubjectID: subj1}, filter(func(e store.AuditEvent) bool { return e.SubjectID == subj1 })},
		{"action", store.AuditFilter{Action: "record.list"}, filter(func(e store.AuditEvent) bool { return e.Action == "record.list" })},
		{"actor", store.AuditFilter{Actor: "apikey:two"}, filter(func(e store.AuditEvent) bool { return e.Actor == "apikey:two" })},
		{"since until", store.AuditFilter{Since: base.Add(2 * time.Second), Until: base.Add(4 * time.Second)},
			filter(func(e store.AuditEvent) bool {
				return !e.At.Before(base.Add(2*time.Second)) && e.At.Before(base.Add(4*time.Second))
			})},
		{"subject and action", store.AuditFilter{SubjectID: subj1, Action: "subject.read"},
			filter(func(e store.AuditEvent) bool { return e.SubjectID == subj1 && e.Action == "subject.read" })},
		{"limit", store.AuditFilter{Limit: 3}, newest[:3]},
		{"unknown subject", store.AuditFilter{SubjectID: "nobody"}, nil},
	}
	for _, c := range cases {
		if got := keys(list(c.f)); !reflect.DeepEqual(got, keys(c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, got, keys(c.want))
		}
	}
	// Keyset paging visits every event once, in order.
	var paged []store.AuditEvent
	var before *store.AuditCursor
	for range 10 {
		page := list(store.AuditFilter{Limit: 5, Before: before})
		paged = append(paged, page...)
		if len(page) < 5 {
			break
		}
		last := page[len(page)-1]
		before = &store.AuditCursor{At: last.At, Shard: last.Shard, Seq: last.Seq}
	}
	if !reflect.DeepEqual(keys(paged), keys(newest)) {
		t.Errorf("paged = %v, want %v", keys(paged), keys(newest))
	}
	read(t, s, func(tx store.Tx) error {
		for _, lim := range []int{-1, store.MaxAuditList + 1} {
			_, err := tx.ListAuditEvents(a.ID, store.AuditFilter{Limit: lim})
			wantErr(t, err, store.ErrInvalid)
		}
		got, err := tx.ListAuditEvents(b.ID, store.AuditFilter{})
		if err != nil || len(got) != 1 || got[0].TenantID != b.ID {
			t.Errorf("tenant b = %+v, %v", got, err)
		}
		return nil
	})
}

func testAuditCheckpoints(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	b := NewTenant(t, s, "audit-b")
	mk := func(seq int64) store.AuditCheckpoint {
		return store.AuditCheckpoint{
			TenantID: a.ID, Seq: seq, At: t0.Add(time.Duration(seq) * time.Minute),
			Heads: []store.AuditHead{
				{TenantID: a.ID, Shard: 0, Seq: seq * 10, Hash: linkHash(nil, seq)},
				{TenantID: a.ID, Shard: 1, Seq: 0, Hash: auditGenesis},
			},
			PrevHash: linkHash(auditGenesis, seq), KeyID: "0123456789abcdef", Signature: bytes.Repeat([]byte{byte(seq)}, 64),
		}
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.LastAuditCheckpoint(a.ID)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		for seq := int64(1); seq <= 5; seq++ {
			if err := tx.InsertAuditCheckpoint(mk(seq)); err != nil {
				return err
			}
		}
		wantErr(t, tx.InsertAuditCheckpoint(mk(3)), store.ErrConflict)
		other := mk(1)
		other.TenantID = "no-such-tenant"
		wantErr(t, tx.InsertAuditCheckpoint(other), store.ErrNotFound)
		for name, mod := range map[string]func(c *store.AuditCheckpoint){
			"no heads":        func(c *store.AuditCheckpoint) { c.Heads = nil },
			"unordered heads": func(c *store.AuditCheckpoint) { c.Heads[0], c.Heads[1] = c.Heads[1], c.Heads[0] },
			"no signature":    func(c *store.AuditCheckpoint) { c.Signature = nil },
			"no key id":       func(c *store.AuditCheckpoint) { c.KeyID = "" },
			"seq 0":           func(c *store.AuditCheckpoint) { c.Seq = 0 },
			"zero time":       func(c *store.AuditCheckpoint) { c.At = time.Time{} },
		} {
			c := mk(9)
			mod(&c)
			if err := tx.InsertAuditCheckpoint(c); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: InsertAuditCheckpoint = %v, want ErrInvalid", name, err)
			}
		}
		// Still usable after the expected failures.
		return tx.InsertAuditCheckpoint(mk(6))
	})
	read(t, s, func(tx store.Tx) error {
		last, err := tx.LastAuditCheckpoint(a.ID)
		if err != nil {
			return err
		}
		want := mk(6)
		want.At = us(want.At)
		if !reflect.DeepEqual(last, want) {
			t.Errorf("LastAuditCheckpoint =\n%+v\nwant\n%+v", last, want)
		}
		page, err := tx.ListAuditCheckpoints(a.ID, 2, 3)
		if err != nil {
			return err
		}
		if len(page) != 3 || page[0].Seq != 3 || page[2].Seq != 5 {
			t.Errorf("ListAuditCheckpoints(after 2, limit 3) = %+v", page)
		}
		if _, err := tx.ListAuditCheckpoints(a.ID, 0, 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("limit 0: %v", err)
		}
		page, err = tx.ListAuditCheckpoints(b.ID, 0, 10)
		if err != nil || len(page) != 0 {
			t.Errorf("tenant b = %+v, %v", page, err)
		}
		return nil
	})
}

// run builds n events extending h.
func run(h store.AuditHead, n int) []store.AuditEvent {
	out := make([]store.AuditEvent, n)
	prev, seq := h.Hash, h.Seq
	for i := range out {
		seq++
		out[i] = store.AuditEvent{TenantID: h.TenantID, Shard: h.Shard, Seq: seq, At: t0.Add(time.Duration(i) * time.Millisecond),
			Actor: fmt.Sprintf("a%d", i), Action: "subject.read", Outcome: "ok", Fields: []string{"f"}, PrevHash: prev, Hash: linkHash(prev, seq)}
		prev = out[i].Hash
	}
	return out
}

// testAuditAppendRuns: a run of events goes in whole, cut into multi-row
// inserts, or not at all.
func testAuditAppendRuns(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "audit-a")
	b := NewTenant(t, s, "audit-b")
	initAudit(t, s, a.ID, 1)
	initAudit(t, s, b.ID, 1)
	var want []store.AuditEvent
	write(t, s, func(tx store.Tx) error {
		if err := tx.AppendAuditEvents(nil); err != nil {
			t.Errorf("empty run: %v", err)
		}
		h, err := tx.LockAuditHead(a.ID, 0)
		if err != nil {
			return err
		}
		bad := run(h, 3)
		bad[2].Seq = 5
		wantErr(t, tx.AppendAuditEvents(bad), store.ErrConflict)
		bad = run(h, 3)
		bad[1].PrevHash = auditGenesis
		wantErr(t, tx.AppendAuditEvents(bad), store.ErrConflict)
		bad = run(h, 3)
		bad[1].TenantID = b.ID
		wantErr(t, tx.AppendAuditEvents(bad), store.ErrConflict)
		wantErr(t, tx.AppendAuditEvents(run(h, store.MaxAuditRun+1)), store.ErrInvalid)
		bad = run(h, 3)
		bad[2].Action = ""
		wantErr(t, tx.AppendAuditEvents(bad), store.ErrInvalid)

		// 101 = 64 + 16 + 16 + 4 + 1 rows.
		want = run(h, 101)
		if err := tx.AppendAuditEvents(want); err != nil {
			return err
		}
		// The next run continues from the new head.
		h, err = tx.LockAuditHead(a.ID, 0)
		if err != nil {
			return err
		}
		more := run(h, 2)
		want = append(want, more...)
		return tx.AppendAuditEvents(more)
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ScanAuditEvents(a.ID, 0, 0, 1000, 1000)
		if err != nil {
			return err
		}
		for i := range want {
			want[i].At = us(want[i].At)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scanned %d events, want the %d appended", len(got), len(want))
		}
		hs, err := tx.AuditHeads(a.ID)
		if err != nil || hs[0].Seq != 103 || !bytes.Equal(hs[0].Hash, want[102].Hash) {
			t.Errorf("head = %+v, %v", hs, err)
		}
		return nil
	})
}
