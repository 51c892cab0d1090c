package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"Breaches", testBreaches},
		{"BreachAffected", testBreachAffected},
	})
}

func newBreach(tenantID string) store.Breach {
	return store.Breach{TenantID: tenantID, ID: store.NewID(), Status: store.BreachOpen, Title: "Leaked key",
		DetectedAt: t0, AwareAt: t0.Add(time.Hour), Details: `{"nature":"x"}`, CreatedBy: "cli", CreatedAt: t0}
}

func testBreaches(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "br")
	other := NewTenant(t, s, "br-other")
	b := newBreach(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.InsertBreach(b) })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.InsertBreach(b) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("insert twice: %v", err)
	}
	bad := newBreach(tn.ID)
	bad.Status = "lost"
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.InsertBreach(bad) }); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad status: %v", err)
	}
	b.Status, b.Risk, b.AssessedAt, b.UpdatedAt = store.BreachAssessed, "high", t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.UpdateBreach(b) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBreach(tn.ID, b.ID)
		if err != nil {
			return err
		}
		if got.Status != store.BreachAssessed || got.Risk != "high" || !got.AssessedAt.Equal(b.AssessedAt.Truncate(time.Microsecond)) ||
			!got.AwareAt.Equal(b.AwareAt.Truncate(time.Microsecond)) || got.Details != b.Details || !got.AuthorityNotifiedAt.IsZero() {
			t.Errorf("got %+v", got)
		}
		if _, err := tx.GetBreach(other.ID, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other tenant: %v", err)
		}
		l, err := tx.ListBreaches(tn.ID, 10)
		if err != nil || len(l) != 1 {
			t.Errorf("list: %v %v", l, err)
		}
		l, _ = tx.ListBreaches(other.ID, 10)
		if len(l) != 0 {
			t.Errorf("other tenant lists %d", len(l))
		}
		return nil
	})
	ob := b
	ob.TenantID = other.ID
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdateBreach(ob) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of another tenant's breach: %v", err)
	}
}

func testBreachAffected(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "bra")
	other := NewTenant(t, s, "bra-other")
	b := newBreach(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.InsertBreach(b) })
	var rows []store.BreachAffected
	for range 300 {
		rows = append(rows, store.BreachAffected{SubjectID: store.NewID(), Basis: "explicit", UpdatedAt: t0})
	}
	write(t, s, func(tx store.Tx) error {
		n, err := tx.AddBreachAffected(tn.ID, b.ID, rows)
		if err != nil || n != 300 {
			t.Errorf("add: %d %v", n, err)
		}
		n, err = tx.AddBreachAffected(tn.ID, b.ID, rows[:10])
		if err != nil || n != 0 {
			t.Errorf("add again: %d %v", n, err)
		}
		if _, err := tx.AddBreachAffected(other.ID, b.ID, rows[:1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("add to another tenant's breach: %v", err)
		}
		if err := tx.SetBreachNotice(tn.ID, b.ID, rows[0].SubjectID, store.NoticeQueued, "msg-1", t0); err != nil {
			return err
		}
		if err := tx.SetBreachNotice(tn.ID, b.ID, store.NewID(), store.NoticeQueued, "", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("notice of a stranger: %v", err)
		}
		if err := tx.SetBreachNotice(tn.ID, b.ID, rows[1].SubjectID, "lost", "", t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad state: %v", err)
		}
		ok, err := tx.SetBreachNoticeByMessage(tn.ID, "msg-1", store.NoticeDelivered, t0)
		if err != nil || !ok {
			t.Errorf("by message: %v %v", ok, err)
		}
		ok, _ = tx.SetBreachNoticeByMessage(other.ID, "msg-1", store.NoticeFailed, t0)
		if ok {
			t.Errorf("another tenant changed the notice")
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		counts, err := tx.CountBreachAffected(tn.ID, b.ID)
		if err != nil || counts[store.NoticePending] != 299 || counts[store.NoticeDelivered] != 1 {
			t.Errorf("counts %v %v", counts, err)
		}
		var seen int
		after := ""
		for {
			page, err := tx.ListBreachAffected(tn.ID, b.ID, store.BreachAffectedFilter{After: after, Limit: 128})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				if r.SubjectID <= after {
					t.Fatalf("out of order")
				}
				after = r.SubjectID
			}
			seen += len(page)
		}
		if seen != 300 {
			t.Errorf("paged %d rows", seen)
		}
		d, _ := tx.ListBreachAffected(tn.ID, b.ID, store.BreachAffectedFilter{State: store.NoticeDelivered, Limit: 10})
		if len(d) != 1 || d[0].MessageID != "msg-1" {
			t.Errorf("delivered: %+v", d)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		n, err := tx.ClearBreachAffected(tn.ID, b.ID)
		if err != nil || n != 300 {
			t.Errorf("clear: %d %v", n, err)
		}
		return nil
	})
}
