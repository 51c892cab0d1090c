package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"Requests", testRequests},
		{"RequestsInvalid", testRequestsInvalid},
		{"RequestsFilter", testRequestsFilter},
		{"RequestsOptimistic", testRequestsOptimistic},
		{"RequestsTenantScope", testRequestsTenantScope},
	})
}

func newRequest(tenantID, typ, subject string, received time.Time) store.Request {
	return store.Request{TenantID: tenantID, ID: store.NewID(), Type: typ, SubjectID: subject, Jurisdiction: "gdpr", Channel: "api",
		Status: "received", ReceivedAt: received, DueAt: received.Add(30 * 24 * time.Hour), State: []byte(`{"a":1}`)}
}

func testRequests(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "req-a")
	r := newRequest(tn.ID, "access", "", t0)
	r.Details = []byte{2, 1, 2, 3}
	r.ConfirmBy = t0.Add(48 * time.Hour)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateRequest(r); err != nil {
			return err
		}
		wantErr(t, tx.CreateRequest(r), store.ErrConflict)
		_, err := tx.AppendRequestEvent(store.RequestEvent{TenantID: tn.ID, RequestID: r.ID, To: "received", At: t0, Actor: "api"})
		return err
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRequest(tn.ID, r.ID)
		if err != nil {
			return err
		}
		if got.Type != "access" || got.Status != "received" || got.Version != 1 || !got.ReceivedAt.Equal(us(t0)) ||
			!got.DueAt.Equal(us(r.DueAt)) || !got.ConfirmBy.Equal(us(r.ConfirmBy)) || !got.ClosedAt.IsZero() ||
			string(got.State) != `{"a":1}` || string(got.Details) != string(r.Details) || got.SubjectID != "" {
			t.Errorf("request = %+v", got)
		}
		_, err = tx.GetRequest(tn.ID, store.NewID())
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	// An update moves the version; the history grows in order.
	write(t, s, func(tx store.Tx) error {
		got, err := tx.GetRequest(tn.ID, r.ID)
		if err != nil {
			return err
		}
		got.Status, got.SubjectID, got.ClosedAt, got.State, got.Details = "completed", "s1", t0.Add(time.Hour), []byte(`{"b":2}`), nil
		got.ConfirmBy = time.Time{}
		if err := tx.UpdateRequest(got); err != nil {
			return err
		}
		seq, err := tx.AppendRequestEvent(store.RequestEvent{TenantID: tn.ID, RequestID: r.ID, From: "received", To: "completed",
			At: t0.Add(time.Hour), Actor: "apikey:x", Note: "done"})
		if seq != 2 {
			t.Errorf("seq = %d", seq)
		}
		_, err2 := tx.AppendRequestEvent(store.RequestEvent{TenantID: tn.ID, RequestID: store.NewID(), To: "x", Actor: "a"})
		wantErr(t, err2, store.ErrNotFound)
		return err
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRequest(tn.ID, r.ID)
		if err != nil {
			return err
		}
		if got.Version != 2 || got.Status != "completed" || got.SubjectID != "s1" || !got.ClosedAt.Equal(us(t0.Add(time.Hour))) ||
			string(got.State) != `{"b":2}` || got.Details != nil || !got.ConfirmBy.IsZero() {
			t.Errorf("updated = %+v", got)
		}
		h, err := tx.ListRequestEvents(tn.ID, r.ID)
		if err != nil {
			return err
		}
		if len(h) != 2 || h[0].Seq != 1 || h[0].To != "received" || h[1].From != "received" || h[1].To != "completed" ||
			h[1].Note != "done" || h[1].Actor != "apikey:x" || !h[1].At.Equal(us(t0.Add(time.Hour))) {
			t.Errorf("history = %+v", h)
		}
		return nil
	})
}

func testRequestsInvalid(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "req-inv")
	write(t, s, func(tx store.Tx) error {
		for name, mut := range map[string]func(*store.Request){
			"no id":       func(r *store.Request) { r.ID = "" },
			"no type":     func(r *store.Request) { r.Type = "" },
			"no status":   func(r *store.Request) { r.Status = "" },
			"no received": func(r *store.Request) { r.ReceivedAt = time.Time{} },
			"huge state":  func(r *store.Request) { r.State = make([]byte, 300<<10) },
		} {
			r := newRequest(tn.ID, "access", "", t0)
			mut(&r)
			if err := tx.CreateRequest(r); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", name, err)
			}
		}
		wantErr(t, tx.CreateRequest(newRequest(store.NewID(), "access", "", t0)), store.ErrNotFound)
		wantErr(t, tx.UpdateRequest(newRequest(tn.ID, "access", "", t0)), store.ErrNotFound)
		return nil
	})
}

func testRequestsFilter(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "req-f")
	a := newRequest(tn.ID, "access", "s1", t0)
	b := newRequest(tn.ID, "erasure", "s1", t0.Add(24*time.Hour))
	b.Status = "verifying"
	c := newRequest(tn.ID, "access", "s2", t0.Add(48*time.Hour))
	c.Status, c.ClosedAt = "completed", t0.Add(72*time.Hour)
	write(t, s, func(tx store.Tx) error {
		for _, r := range []store.Request{c, b, a} {
			if err := tx.CreateRequest(r); err != nil {
				return err
			}
		}
		return nil
	})
	ids := func(f store.RequestFilter) []string {
		var out []string
		read(t, s, func(tx store.Tx) error {
			f.TenantID = tn.ID
			rs, err := tx.ListRequests(f)
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return err
		})
		return out
	}
	for name, tc := range map[string]struct {
		f    store.RequestFilter
		want []string
	}{
		"all, by due":   {store.RequestFilter{}, []string{a.ID, b.ID, c.ID}},
		"status":        {store.RequestFilter{Statuses: []string{"verifying", "completed"}}, []string{b.ID, c.ID}},
		"type":          {store.RequestFilter{Type: "access"}, []string{a.ID, c.ID}},
		"subject":       {store.RequestFilter{SubjectID: "s1"}, []string{a.ID, b.ID}},
		"due before":    {store.RequestFilter{DueBefore: b.DueAt}, []string{a.ID, b.ID}},
		"open":          {store.RequestFilter{Open: true}, []string{a.ID, b.ID}},
		"since":         {store.RequestFilter{ReceivedSince: t0.Add(time.Hour)}, []string{b.ID, c.ID}},
		"limit, offset": {store.RequestFilter{Limit: 1, Offset: 1}, []string{b.ID}},
	} {
		got := ids(tc.f)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", name, got, tc.want)
				break
			}
		}
	}
}

// testRequestsOptimistic: of concurrent updates from the same version, one
// wins and the others get ErrConflict, so an attempt counter cannot be
// raced past its limit.
func testRequestsOptimistic(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "req-o")
	r := newRequest(tn.ID, "access", "", t0)
	write(t, s, func(tx store.Tx) error { return tx.CreateRequest(r) })
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Write(ctx(t), func(tx store.Tx) error {
				cp := r
				cp.Version = 1 // as read before
				cp.Status = "verifying"
				return tx.UpdateRequest(cp)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("wins = %d, conflicts = %d", wins, conflicts)
	}
}

func testRequestsTenantScope(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "req-ta")
	b := NewTenant(t, s, "req-tb")
	r := newRequest(a.ID, "access", "", t0)
	write(t, s, func(tx store.Tx) error { return tx.CreateRequest(r) })
	write(t, s, func(tx store.Tx) error {
		_, err := tx.GetRequest(b.ID, r.ID)
		wantErr(t, err, store.ErrNotFound)
		other := r
		other.TenantID = b.ID
		wantErr(t, tx.UpdateRequest(other), store.ErrNotFound)
		_, err = tx.AppendRequestEvent(store.RequestEvent{TenantID: b.ID, RequestID: r.ID, To: "x", Actor: "a"})
		wantErr(t, err, store.ErrNotFound)
		list, err := tx.ListRequests(store.RequestFilter{TenantID: b.ID})
		if len(list) != 0 {
			t.Errorf("tenant b sees %d requests", len(list))
		}
		return err
	})
}
