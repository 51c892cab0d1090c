package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"OutboxInsertGet", testOutboxInsertGet},
		{"OutboxDedupe", testOutboxDedupe},
		{"OutboxUpdate", testOutboxUpdate},
		{"OutboxList", testOutboxList},
		{"OutboxStalled", testOutboxStalled},
		{"OutboxDelete", testOutboxDelete},
		{"OutboxInvalid", testOutboxInvalid},
		{"OutboxWithJob", testOutboxWithJob},
	})
}

func newOutbox(tenantID, topic string) store.OutboxMessage {
	return store.OutboxMessage{
		TenantID: tenantID, ID: store.NewID(), Topic: topic, Channel: store.OutboxEmail, Status: store.OutboxQueued,
		Destination: "example.com", MaxAttempts: 10, JobID: store.NewID(),
		Payload: []byte("sealed " + topic), CreatedAt: t0, NextAttemptAt: t0,
	}
}

func insertOutbox(t testing.TB, s store.Store, m store.OutboxMessage) string {
	t.Helper()
	var id string
	write(t, s, func(tx store.Tx) error {
		var err error
		var ok bool
		id, ok, err = tx.InsertOutboxMessage(m)
		if err == nil && !ok {
			err = fmt.Errorf("message %s not inserted", m.ID)
		}
		return err
	})
	return id
}

func getOutbox(t testing.TB, s store.Store, tenantID, id string) store.OutboxMessage {
	t.Helper()
	var m store.OutboxMessage
	read(t, s, func(tx store.Tx) (err error) { m, err = tx.GetOutboxMessage(tenantID, id); return err })
	return m
}

func listOutbox(t testing.TB, s store.Store, f store.OutboxFilter) []store.OutboxMessage {
	t.Helper()
	var out []store.OutboxMessage
	read(t, s, func(tx store.Tx) (err error) { out, err = tx.ListOutboxMessages(f); return err })
	return out
}

func outboxIDs(ms []store.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testOutboxInsertGet(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "outbox")
	m := newOutbox(tn.ID, "rights.completed")
	m.SubjectID = "subject-1"
	m.DedupeKey = "req-1/completed"
	m.NextAttemptAt = t0.Add(time.Hour)
	id := insertOutbox(t, s, m)
	if id != m.ID {
		t.Fatalf("id = %s, want %s", id, m.ID)
	}
	got := getOutbox(t, s, tn.ID, id)
	want := m
	want.Status = store.OutboxQueued
	want.CreatedAt, want.UpdatedAt, want.NextAttemptAt = us(t0), us(t0), us(t0.Add(time.Hour))
	want.HasPayload = true
	if !equalOutbox(got, want) || !bytes.Equal(got.Payload, m.Payload) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Listing never returns the payload, only whether there is one.
	l := listOutbox(t, s, store.OutboxFilter{TenantID: tn.ID})
	if len(l) != 1 || l[0].Payload != nil || !l[0].HasPayload || !equalOutbox(l[0], want) {
		t.Fatalf("list = %+v", l)
	}
	// Another tenant sees nothing.
	other := NewTenant(t, s, "other")
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetOutboxMessage(other.ID, id)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	if l := listOutbox(t, s, store.OutboxFilter{TenantID: other.ID}); len(l) != 0 {
		t.Fatalf("other tenant lists %d messages", len(l))
	}
}

func equalOutbox(a, b store.OutboxMessage) bool {
	a.Payload, b.Payload = nil, nil
	return reflect.DeepEqual(a, b)
}

func testOutboxDedupe(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "a"), NewTenant(t, s, "b")
	first := newOutbox(a.ID, "breach.notice")
	first.DedupeKey = "breach-1/subject-1"
	insertOutbox(t, s, first)
	write(t, s, func(tx store.Tx) error {
		again := newOutbox(a.ID, "breach.notice")
		again.DedupeKey = first.DedupeKey
		id, ok, err := tx.InsertOutboxMessage(again)
		if err != nil || ok || id != first.ID {
			t.Errorf("duplicate insert = %s, %v, %v; want %s, false", id, ok, err, first.ID)
		}
		// The transaction is still usable after the no-op (PostgreSQL).
		other := newOutbox(a.ID, "breach.notice")
		other.DedupeKey = "breach-1/subject-2"
		if _, ok, err := tx.InsertOutboxMessage(other); err != nil || !ok {
			t.Errorf("insert after a dedupe hit: %v, %v", ok, err)
		}
		// The same key in another tenant is another message.
		inB := newOutbox(b.ID, "breach.notice")
		inB.DedupeKey = first.DedupeKey
		if _, ok, err := tx.InsertOutboxMessage(inB); err != nil || !ok {
			t.Errorf("same key, other tenant: %v, %v", ok, err)
		}
		// Without a key, anything goes.
		for range 2 {
			if _, ok, err := tx.InsertOutboxMessage(newOutbox(a.ID, "breach.notice")); err != nil || !ok {
				t.Errorf("no key: %v, %v", ok, err)
			}
		}
		// A taken id is a conflict, not a dedupe hit.
		dup := newOutbox(a.ID, "x")
		dup.ID = first.ID
		_, _, err = tx.InsertOutboxMessage(dup)
		wantErr(t, err, store.ErrConflict)
		return nil
	})
	if n := len(listOutbox(t, s, store.OutboxFilter{TenantID: a.ID})); n != 4 {
		t.Errorf("tenant a has %d messages, want 4", n)
	}
	// The key stays taken after delivery: "send once" means once.
	m := getOutbox(t, s, a.ID, first.ID)
	m.Status, m.Payload, m.NextAttemptAt, m.JobID, m.DeliveredAt = store.OutboxDelivered, nil, time.Time{}, "", t0
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(m, first.JobID) })
	write(t, s, func(tx store.Tx) error {
		again := newOutbox(a.ID, "breach.notice")
		again.DedupeKey = first.DedupeKey
		id, ok, err := tx.InsertOutboxMessage(again)
		if err != nil || ok || id != first.ID {
			t.Errorf("after delivery: %s, %v, %v", id, ok, err)
		}
		return nil
	})
}

func testOutboxUpdate(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "upd")
	m := newOutbox(tn.ID, "propagation.erasure")
	m.Channel = store.OutboxWebhook
	insertOutbox(t, s, m)

	// A failed attempt: retry later under a new job.
	job1 := m.JobID
	m.Attempts, m.LastError, m.LastCode = 1, "HTTP 500", 500
	m.NextAttemptAt, m.JobID, m.UpdatedAt = t0.Add(time.Minute), store.NewID(), t0.Add(time.Second)
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(m, job1) })
	got := getOutbox(t, s, tn.ID, m.ID)
	if got.Attempts != 1 || got.LastError != "HTTP 500" || got.LastCode != 500 || got.JobID != m.JobID ||
		!got.NextAttemptAt.Equal(us(t0.Add(time.Minute))) || !got.UpdatedAt.Equal(us(t0.Add(time.Second))) || !got.HasPayload {
		t.Fatalf("after a failed attempt: %+v", got)
	}

	// The old job has lost the message: its outcome is refused, and the
	// transaction goes on.
	write(t, s, func(tx store.Tx) error {
		stale := m
		stale.Status, stale.Payload, stale.NextAttemptAt, stale.JobID = store.OutboxDelivered, nil, time.Time{}, ""
		wantErr(t, tx.UpdateOutboxMessage(stale, job1), store.ErrConflict)
		missing := stale
		missing.ID = store.NewID()
		wantErr(t, tx.UpdateOutboxMessage(missing, ""), store.ErrNotFound)
		otherTenant := stale
		otherTenant.TenantID = store.NewID()
		wantErr(t, tx.UpdateOutboxMessage(otherTenant, m.JobID), store.ErrNotFound)
		// Final states hold no payload; queued ones need a next attempt.
		withPayload := m
		withPayload.Status, withPayload.NextAttemptAt = store.OutboxDelivered, time.Time{}
		wantErr(t, tx.UpdateOutboxMessage(withPayload, m.JobID), store.ErrInvalid)
		noNext := m
		noNext.NextAttemptAt = time.Time{}
		wantErr(t, tx.UpdateOutboxMessage(noNext, m.JobID), store.ErrInvalid)
		deadNext := m
		deadNext.Status = store.OutboxDead
		wantErr(t, tx.UpdateOutboxMessage(deadNext, m.JobID), store.ErrInvalid)
		badStatus := m
		badStatus.Status = "sent"
		wantErr(t, tx.UpdateOutboxMessage(badStatus, m.JobID), store.ErrInvalid)
		return nil
	})
	if got := getOutbox(t, s, tn.ID, m.ID); got.Status != store.OutboxQueued || got.Attempts != 1 {
		t.Fatalf("a refused update changed the row: %+v", got)
	}

	// Dead keeps the payload; delivered deletes it.
	dead := m
	dead.Status, dead.Attempts, dead.NextAttemptAt, dead.JobID = store.OutboxDead, 10, time.Time{}, ""
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(dead, m.JobID) })
	if got := getOutbox(t, s, tn.ID, m.ID); got.Status != store.OutboxDead || !bytes.Equal(got.Payload, m.Payload) {
		t.Fatalf("dead: %+v", got)
	}
	done := dead
	done.Status, done.Payload, done.DeliveredAt, done.LastCode, done.LastError = store.OutboxDelivered, nil, t0.Add(time.Hour), 204, ""
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(done, "") })
	got = getOutbox(t, s, tn.ID, m.ID)
	if got.Status != store.OutboxDelivered || got.Payload != nil || got.HasPayload || !got.DeliveredAt.Equal(us(t0.Add(time.Hour))) || got.LastCode != 204 {
		t.Fatalf("delivered: %+v", got)
	}

	// Handled by hand, with who and why.
	h := newOutbox(tn.ID, "propagation.erasure")
	insertOutbox(t, s, h)
	h.Status, h.Payload, h.NextAttemptAt, h.HandledAt, h.HandledBy, h.Note = store.OutboxHandled, nil, time.Time{}, t0, "apikey:abc", "phoned them"
	job := h.JobID
	h.JobID = ""
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(h, job) })
	if got := getOutbox(t, s, tn.ID, h.ID); got.Status != store.OutboxHandled || got.HandledBy != "apikey:abc" || got.Note != "phoned them" || !got.HandledAt.Equal(us(t0)) || got.HasPayload {
		t.Fatalf("handled: %+v", got)
	}
}

func testOutboxList(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "list")
	var all []string
	for i := range 12 {
		m := newOutbox(tn.ID, []string{"rights.completed", "breach.notice", "propagation.erasure"}[i%3])
		if i%2 == 1 {
			m.Channel = store.OutboxWebhook
		}
		if i%4 == 0 {
			m.SubjectID = "s1"
		}
		insertOutbox(t, s, m)
		all = append(all, m.ID)
		if i%3 == 2 { // every propagation message dies
			m.Status, m.NextAttemptAt, m.JobID = store.OutboxDead, time.Time{}, ""
			write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(m, getOutbox(t, s, tn.ID, m.ID).JobID) })
		}
	}
	slices.Reverse(all) // newest first
	if got := outboxIDs(listOutbox(t, s, store.OutboxFilter{TenantID: tn.ID})); !slices.Equal(got, all) {
		t.Fatalf("list order\n got %v\nwant %v", got, all)
	}
	cases := []struct {
		f    store.OutboxFilter
		want int
	}{
		{store.OutboxFilter{Status: store.OutboxDead}, 4},
		{store.OutboxFilter{Status: store.OutboxQueued}, 8},
		{store.OutboxFilter{Topic: "breach.notice"}, 4},
		{store.OutboxFilter{Channel: store.OutboxWebhook}, 6},
		{store.OutboxFilter{SubjectID: "s1"}, 3},
		{store.OutboxFilter{Status: store.OutboxDead, Topic: "propagation.erasure"}, 4},
		{store.OutboxFilter{Status: store.OutboxDelivered}, 0},
		{store.OutboxFilter{Limit: 5}, 5},
	}
	for _, c := range cases {
		c.f.TenantID = tn.ID
		if got := listOutbox(t, s, c.f); len(got) != c.want {
			t.Errorf("%+v: %d messages, want %d", c.f, len(got), c.want)
		}
	}
	// Paging with the cursor visits every message once.
	var paged []string
	for cursor := ""; ; {
		page := listOutbox(t, s, store.OutboxFilter{TenantID: tn.ID, Before: cursor, Limit: 5})
		if len(page) == 0 {
			break
		}
		paged = append(paged, outboxIDs(page)...)
		cursor = page[len(page)-1].ID
	}
	if !slices.Equal(paged, all) {
		t.Errorf("paged\n got %v\nwant %v", paged, all)
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.ListOutboxMessages(store.OutboxFilter{TenantID: tn.ID, Status: "sent"})
		wantErr(t, err, store.ErrInvalid)
		_, err = tx.ListOutboxMessages(store.OutboxFilter{TenantID: tn.ID, Channel: "sms"})
		wantErr(t, err, store.ErrInvalid)
		_, err = tx.ListOutboxMessages(store.OutboxFilter{})
		wantErr(t, err, store.ErrInvalid)
		return nil
	})
}

func testOutboxStalled(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "a"), NewTenant(t, s, "b")
	due1 := newOutbox(a.ID, "x")
	due1.NextAttemptAt = t0.Add(-2 * time.Hour)
	due2 := newOutbox(b.ID, "x")
	due2.NextAttemptAt = t0.Add(-time.Hour)
	later := newOutbox(a.ID, "x")
	later.NextAttemptAt = t0.Add(time.Hour)
	dead := newOutbox(a.ID, "x")
	dead.NextAttemptAt = t0.Add(-3 * time.Hour)
	for _, m := range []store.OutboxMessage{due1, due2, later, dead} {
		insertOutbox(t, s, m)
	}
	job := dead.JobID
	dead.Status, dead.NextAttemptAt, dead.JobID = store.OutboxDead, time.Time{}, ""
	write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(dead, job) })

	var got []store.OutboxMessage
	read(t, s, func(tx store.Tx) (err error) { got, err = tx.ListStalledOutbox(t0, 10); return err })
	if ids := outboxIDs(got); !slices.Equal(ids, []string{due1.ID, due2.ID}) {
		t.Fatalf("stalled = %v, want %v", ids, []string{due1.ID, due2.ID})
	}
	if got[0].Payload != nil || !got[0].HasPayload || got[1].TenantID != b.ID {
		t.Errorf("stalled rows: %+v", got)
	}
	read(t, s, func(tx store.Tx) (err error) { got, err = tx.ListStalledOutbox(t0, 1); return err })
	if len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}
}

func testOutboxDelete(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "del")
	finish := func(m store.OutboxMessage, status string, at time.Time) {
		job := m.JobID
		m.Status, m.Payload, m.NextAttemptAt, m.JobID, m.UpdatedAt = status, nil, time.Time{}, "", at
		write(t, s, func(tx store.Tx) error { return tx.UpdateOutboxMessage(m, job) })
	}
	old := newOutbox(tn.ID, "x")
	recent := newOutbox(tn.ID, "x")
	queued := newOutbox(tn.ID, "x")
	handled := newOutbox(tn.ID, "x")
	for _, m := range []store.OutboxMessage{old, recent, queued, handled} {
		insertOutbox(t, s, m)
	}
	finish(old, store.OutboxDelivered, t0.Add(-48*time.Hour))
	finish(recent, store.OutboxDelivered, t0)
	finish(handled, store.OutboxHandled, t0.Add(-72*time.Hour))
	var n int
	write(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteOutboxMessages(tn.ID, t0.Add(-time.Hour), 100)
		return err
	})
	if n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	left := outboxIDs(listOutbox(t, s, store.OutboxFilter{TenantID: tn.ID}))
	slices.Sort(left)
	want := []string{recent.ID, queued.ID}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.DeleteOutboxMessages(tn.ID, t0, 1)
		wantErr(t, err, store.ErrReadOnly)
		return nil
	})
}

func testOutboxInvalid(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "inv")
	cases := []struct {
		name string
		edit func(*store.OutboxMessage)
		want error
	}{
		{"no tenant", func(m *store.OutboxMessage) { m.TenantID = "" }, store.ErrInvalid},
		{"unknown tenant", func(m *store.OutboxMessage) { m.TenantID = store.NewID() }, store.ErrNotFound},
		{"no id", func(m *store.OutboxMessage) { m.ID = "" }, store.ErrInvalid},
		{"no topic", func(m *store.OutboxMessage) { m.Topic = "" }, store.ErrInvalid},
		{"bad channel", func(m *store.OutboxMessage) { m.Channel = "sms" }, store.ErrInvalid},
		{"no payload", func(m *store.OutboxMessage) { m.Payload = nil }, store.ErrInvalid},
		{"not queued", func(m *store.OutboxMessage) { m.Status = store.OutboxDead }, store.ErrInvalid},
		{"zero max attempts", func(m *store.OutboxMessage) { m.MaxAttempts = 0 }, store.ErrInvalid},
		{"huge payload", func(m *store.OutboxMessage) { m.Payload = make([]byte, 5<<20) }, store.ErrInvalid},
		{"long destination", func(m *store.OutboxMessage) { m.Destination = string(make([]byte, 300)) }, store.ErrInvalid},
	}
	write(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			m := newOutbox(tn.ID, "x")
			c.edit(&m)
			if _, _, err := tx.InsertOutboxMessage(m); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		// Everything above left the transaction usable.
		_, ok, err := tx.InsertOutboxMessage(newOutbox(tn.ID, "x"))
		if err != nil || !ok {
			t.Errorf("valid insert after refusals: %v, %v", ok, err)
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		_, _, err := tx.InsertOutboxMessage(newOutbox(tn.ID, "x"))
		wantErr(t, err, store.ErrReadOnly)
		return nil
	})
}

// testOutboxWithJob: a message and its delivery job commit together or not
// at all.
func testOutboxWithJob(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "job")
	m := newOutbox(tn.ID, "x")
	boom := errors.New("the change that caused the message failed")
	err := s.Write(ctx(t), func(tx store.Tx) error {
		if _, err := tx.EnqueueJob(store.Job{ID: m.JobID, TenantID: tn.ID, Kind: "outbox.deliver"}); err != nil {
			return err
		}
		if _, _, err := tx.InsertOutboxMessage(m); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write = %v", err)
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetOutboxMessage(tn.ID, m.ID)
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.GetJob(m.JobID)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		if _, err := tx.EnqueueJob(store.Job{ID: m.JobID, TenantID: tn.ID, Kind: "outbox.deliver"}); err != nil {
			return err
		}
		_, _, err := tx.InsertOutboxMessage(m)
		return err
	})
	if got := getOutbox(t, s, tn.ID, m.ID); got.JobID != m.JobID {
		t.Fatalf("job id %s", got.JobID)
	}
}
