package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{{"UsedTokens", testUsedTokens}})
}

// testUsedTokens: a token is used once per tenant; another tenant's record
// is its own; an expired record is forgotten, so the table does not grow.
func testUsedTokens(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "tok-a"), NewTenant(t, s, "tok-b")
	h := fakeHash("token")
	use := func(tenant string, hash []byte, exp, now time.Time) bool {
		t.Helper()
		var first bool
		write(t, s, func(tx store.Tx) error {
			var err error
			first, err = tx.UseToken(tenant, hash, exp, now)
			return err
		})
		return first
	}
	exp := t0.Add(10 * time.Minute)
	if !use(a.ID, h, exp, t0) {
		t.Fatal("the first use is not first")
	}
	if use(a.ID, h, exp, t0.Add(time.Minute)) {
		t.Fatal("a second use counts as first")
	}
	if !use(b.ID, h, exp, t0) {
		t.Fatal("another tenant's use blocks this one")
	}
	// After its expiry the record goes; a (necessarily new) token with the
	// same hash would count as first again.
	if !use(a.ID, h, t0.Add(time.Hour), t0.Add(11*time.Minute)) {
		t.Fatal("an expired record is still kept")
	}
	err := s.Write(context.Background(), func(tx store.Tx) error { _, err := tx.UseToken(a.ID, nil, exp, t0); return err })
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an empty hash: %v", err)
	}
}
