package audit

import (
	"errors"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// TestAppendAll: many events in one transaction form one unbroken run (more
// than one store run when they exceed store.MaxAuditRun), verify intact, and
// an invalid event fails the whole transaction.
func TestAppendAll(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t)
		tn := storetest.NewTenant(t, st, "appendall")
		l := New(Options{Shards: ShardsFor(st.Engine())})
		es := make([]Event, store.MaxAuditRun+7)
		for i := range es {
			es[i] = ev(i)
		}
		if err := st.Write(ctx, func(tx store.Tx) error { return l.AppendAll(tx, tn.ID, es) }); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, st, tn.ID, nil)
		if err != nil || !rep.Intact || rep.Events != int64(len(es)) {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		bad := []Event{ev(1), ev(2)}
		bad[1].Fields = []string{"alice@example.org is a value"}
		err = st.Write(ctx, func(tx store.Tx) error { return l.AppendAll(tx, tn.ID, bad) })
		if !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("invalid event: %v", err)
		}
		rep, err = Verify(ctx, st, tn.ID, nil)
		if err != nil || rep.Events != int64(len(es)) {
			t.Fatalf("after the failed append: %+v %v", rep, err)
		}
		if err := st.Write(ctx, func(tx store.Tx) error { return l.AppendAll(tx, tn.ID, nil) }); err != nil {
			t.Fatalf("nothing to append: %v", err)
		}
	})
}
