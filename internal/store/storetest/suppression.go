package storetest

import (
	"bytes"
	"crypto/sha256"
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
		{"SuppressionList", testSuppressionList},
		{"SuppressionInvalid", testSuppressionInvalid},
		{"ConsentRenewals", testConsentRenewals},
		{"ConsentSites", testConsentSites},
		{"AudienceCandidates", testAudienceCandidates},
		{"AudienceControlsOf", testControlsOf},
		{"AudienceIdentitiesOf", testIdentitiesOf},
		{"ConsentDueExpiries", testDueConsentExpiries},
		{"ConsentStats", testConsentStats},
	})
}

func fakeHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testSuppressionList(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "supp-a"), NewTenant(t, s, "supp-b")
	h1, h2, h3 := fakeHash("one"), fakeHash("two"), fakeHash("three")
	write(t, s, func(tx store.Tx) error {
		for _, x := range []store.Suppression{
			{TenantID: a.ID, Kind: store.SuppressEmail, Hash: h1, Reason: "unsubscribe", CreatedAt: t0},
			{TenantID: a.ID, Kind: store.SuppressPhone, Hash: h2, Purpose: "sms_offers", Reason: "objection", CreatedAt: t0},
			{TenantID: b.ID, Kind: store.SuppressEmail, Hash: h3, Reason: "api", CreatedAt: t0},
		} {
			if err := tx.Suppress(x); err != nil {
				return err
			}
		}
		// Suppressing again is no error and keeps the first time.
		return tx.Suppress(store.Suppression{TenantID: a.ID, Kind: store.SuppressEmail, Hash: h1, Reason: "objection", CreatedAt: t0.Add(time.Hour)})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Suppressions(a.ID, [][]byte{h1, h2, h3, fakeHash("nobody")})
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Fatalf("tenant a: %d entries, want 2 (h3 is tenant b's): %+v", len(got), got)
		}
		slices.SortFunc(got, func(x, y store.Suppression) int { return bytes.Compare(x.Hash, y.Hash) })
		for _, g := range got {
			switch {
			case bytes.Equal(g.Hash, h1):
				if g.Kind != store.SuppressEmail || g.Purpose != "" || g.Reason != "unsubscribe" || !g.CreatedAt.Equal(us(t0)) {
					t.Errorf("h1 entry: %+v", g)
				}
			case bytes.Equal(g.Hash, h2):
				if g.Kind != store.SuppressPhone || g.Purpose != "sms_offers" {
					t.Errorf("h2 entry: %+v", g)
				}
			}
		}
		if n, err := tx.CountSuppressions(a.ID); err != nil || n != 2 {
			t.Errorf("count = %d, %v", n, err)
		}
		return nil
	})
	// Lifting takes an entry out of force; lifting twice is not found; a
	// new suppression puts it back in force from then.
	write(t, s, func(tx store.Tx) error {
		if err := tx.LiftSuppression(a.ID, store.SuppressEmail, h1, "", t0.Add(2*time.Hour)); err != nil {
			return err
		}
		wantErr(t, tx.LiftSuppression(a.ID, store.SuppressEmail, h1, "", t0.Add(3*time.Hour)), store.ErrNotFound)
		wantErr(t, tx.LiftSuppression(b.ID, store.SuppressPhone, h2, "sms_offers", t0), store.ErrNotFound) // other tenant
		got, err := tx.Suppressions(a.ID, [][]byte{h1})
		if err != nil || len(got) != 0 {
			t.Errorf("lifted entry still in force: %+v %v", got, err)
		}
		return tx.Suppress(store.Suppression{TenantID: a.ID, Kind: store.SuppressEmail, Hash: h1, Reason: "unsubscribe", CreatedAt: t0.Add(4 * time.Hour)})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Suppressions(a.ID, [][]byte{h1})
		if err != nil || len(got) != 1 || !got[0].CreatedAt.Equal(us(t0.Add(4*time.Hour))) {
			t.Errorf("re-suppressed entry: %+v %v", got, err)
		}
		return nil
	})
	// Many hashes: more than one IN list.
	var many [][]byte
	write(t, s, func(tx store.Tx) error {
		for i := range 700 {
			h := fakeHash(fmt.Sprint("bulk", i))
			many = append(many, h)
			if i%2 == 0 {
				if err := tx.Suppress(store.Suppression{TenantID: b.ID, Kind: store.SuppressEmail, Hash: h, Reason: "api"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Suppressions(b.ID, many)
		if err != nil || len(got) != 350 {
			t.Errorf("bulk lookup: %d entries, %v; want 350", len(got), err)
		}
		return nil
	})
}

func testSuppressionInvalid(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "supp-inv")
	ok := store.Suppression{TenantID: a.ID, Kind: store.SuppressEmail, Hash: fakeHash("x")}
	cases := []struct {
		name string
		mod  func(*store.Suppression)
		want error
	}{
		{"no tenant", func(x *store.Suppression) { x.TenantID = "" }, store.ErrInvalid},
		{"unknown tenant", func(x *store.Suppression) { x.TenantID = store.NewID() }, store.ErrNotFound},
		{"kind", func(x *store.Suppression) { x.Kind = "login" }, store.ErrInvalid},
		{"raw identifier", func(x *store.Suppression) { x.Hash = []byte("a@b.c") }, store.ErrInvalid},
		{"purpose with comma", func(x *store.Suppression) { x.Purpose = "a,b" }, store.ErrInvalid},
		{"lifted already", func(x *store.Suppression) { x.LiftedAt = t0 }, store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := ok
			c.mod(&x)
			err := s.Write(ctx(t), func(tx store.Tx) error { return tx.Suppress(x) })
			wantErr(t, err, c.want)
		})
	}
	err := s.Read(ctx(t), func(tx store.Tx) error { return tx.Suppress(ok) })
	wantErr(t, err, store.ErrReadOnly)
}

func testConsentRenewals(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "renew-a"), NewTenant(t, s, "renew-b")
	read(t, s, func(tx store.Tx) error {
		m, err := tx.ConsentValidSince(a.ID)
		if err != nil || m != nil {
			t.Errorf("no marks: %v %v", m, err)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		for _, r := range []store.ConsentRenewal{
			{TenantID: a.ID, Purpose: "newsletter", SinceVersion: 2, Reason: "new recipients: mailer"},
			{TenantID: a.ID, Purpose: "newsletter", SinceVersion: 5, Reason: "uses new categories: user.name"},
			{TenantID: a.ID, Purpose: "newsletter", SinceVersion: 3},
			{TenantID: a.ID, Purpose: "newsletter", SinceVersion: 5}, // again: no-op
			{TenantID: a.ID, Purpose: "analytics", SinceVersion: 4},
			{TenantID: b.ID, Purpose: "newsletter", SinceVersion: 9},
		} {
			if err := tx.AddConsentRenewal(r); err != nil {
				return err
			}
		}
		wantErr(t, tx.AddConsentRenewal(store.ConsentRenewal{TenantID: a.ID, Purpose: "x", SinceVersion: 0}), store.ErrInvalid)
		wantErr(t, tx.AddConsentRenewal(store.ConsentRenewal{TenantID: a.ID, SinceVersion: 1}), store.ErrInvalid)
		wantErr(t, tx.AddConsentRenewal(store.ConsentRenewal{TenantID: store.NewID(), Purpose: "x", SinceVersion: 1}), store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		m, err := tx.ConsentValidSince(a.ID)
		if err != nil || !reflect.DeepEqual(m, map[string]int{"newsletter": 5, "analytics": 4}) {
			t.Errorf("valid since = %v, %v", m, err)
		}
		return nil
	})
}

func testConsentSites(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "sites-a"), NewTenant(t, s, "sites-b")
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetConsentSites(a.ID, []string{"a-www", "a-app"}, 1, t0); err != nil {
			return err
		}
		return tx.SetConsentSites(b.ID, []string{"b-www"}, 1, t0)
	})
	// A key of another tenant is refused, changes nothing, and leaves the
	// transaction usable.
	write(t, s, func(tx store.Tx) error {
		err := tx.SetConsentSites(b.ID, []string{"b-www", "a-app"}, 2, t0)
		wantErr(t, err, store.ErrConflict)
		var sc *store.SiteConflict
		if !errors.As(err, &sc) || sc.Key != "a-app" {
			t.Errorf("conflict names %v", err)
		}
		site, err := tx.ConsentSiteByKey("b-www")
		if err != nil || site.TenantID != b.ID || site.PolicyVersion != 1 {
			t.Errorf("after conflict: %+v %v", site, err)
		}
		return nil
	})
	// A new version drops a key and adds one.
	write(t, s, func(tx store.Tx) error { return tx.SetConsentSites(a.ID, []string{"a-app", "a-shop"}, 2, t0) })
	read(t, s, func(tx store.Tx) error {
		_, err := tx.ConsentSiteByKey("a-www")
		wantErr(t, err, store.ErrNotFound)
		for _, k := range []string{"a-app", "a-shop"} {
			site, err := tx.ConsentSiteByKey(k)
			if err != nil || site.TenantID != a.ID || site.PolicyVersion != 2 || site.Key != k {
				t.Errorf("%s: %+v %v", k, site, err)
			}
		}
		return nil
	})
	// The freed key can go to the other tenant; no sites removes all.
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetConsentSites(b.ID, []string{"a-www"}, 3, t0); err != nil {
			return err
		}
		return tx.SetConsentSites(a.ID, nil, 3, t0)
	})
	read(t, s, func(tx store.Tx) error {
		if site, err := tx.ConsentSiteByKey("a-www"); err != nil || site.TenantID != b.ID {
			t.Errorf("a-www: %+v %v", site, err)
		}
		_, err := tx.ConsentSiteByKey("a-app")
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.ConsentSiteByKey("b-www")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
}

func testAudienceCandidates(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "aud")
	tn := f.tn
	now := t0.Add(24 * time.Hour)
	kinds := map[string]string{} // subject -> label
	mk := func(label string, age string, fn func(tx store.Tx, id string) error) string {
		id := store.NewID()
		write(t, s, func(tx store.Tx) error {
			if err := tx.CreateSubject(store.Subject{TenantID: tn.ID, ID: id, State: store.SubjectActive, AgeStatus: age, CreatedAt: t0}, nil, nil); err != nil {
				return err
			}
			if fn != nil {
				return fn(tx, id)
			}
			return nil
		})
		kinds[id] = label
		return id
	}
	give := func(purpose string, at time.Time, version int, exp time.Time) func(tx store.Tx, id string) error {
		return func(tx store.Tx, id string) error {
			e := f.consent(id, purpose, store.ConsentGiven, at)
			e.PolicyVersion, e.ExpiresAt = version, exp
			return tx.AppendConsent(e)
		}
	}
	both := func(fns ...func(tx store.Tx, id string) error) func(tx store.Tx, id string) error {
		return func(tx store.Tx, id string) error {
			for _, fn := range fns {
				if err := fn(tx, id); err != nil {
					return err
				}
			}
			return nil
		}
	}
	withdraw := func(purpose string, at time.Time) func(tx store.Tx, id string) error {
		return func(tx store.Tx, id string) error {
			e := f.consent(id, purpose, store.ConsentWithdrawn, at)
			return tx.AppendConsent(e)
		}
	}
	object := func(purpose, kind string) func(tx store.Tx, id string) error {
		return func(tx store.Tx, id string) error { return tx.AddObjection(f.objection(id, purpose, kind, t0)) }
	}
	never := time.Time{}
	mk("plain", "", nil)
	mk("given", "", give("newsletter", t0, 3, never))
	mk("given-v1", "", give("newsletter", t0, 1, never))
	mk("expired", "", give("newsletter", t0, 3, t0.Add(time.Hour)))
	mk("withdrawn", "", both(give("newsletter", t0, 3, never), withdraw("newsletter", t0.Add(time.Minute))))
	mk("regiven", "", both(withdraw("newsletter", t0), give("newsletter", t0.Add(time.Minute), 3, never)))
	mk("minor", "minor", give("newsletter", t0, 3, never))
	mk("minor-consented", "minor_consented", give("newsletter", t0, 3, never))
	mk("objected-dm", "", both(give("newsletter", t0, 3, never), object("", store.ObjectDirectMarketing)))
	mk("objected-other", "", both(give("newsletter", t0, 3, never), object("analytics", store.ObjectDirectMarketing)))
	mk("objected-named", "", both(give("newsletter", t0, 3, never), object("newsletter", store.ObjectLegitimateInterest)))
	mk("opted-out", "", both(give("newsletter", t0, 3, never), withdraw(store.PurposeSaleShare, t0)))
	erased := mk("erased", "", give("newsletter", t0, 3, never))
	write(t, s, func(tx store.Tx) error { return tx.EraseSubject(tn.ID, erased, t0.Add(time.Minute), nil, nil) })
	// f's own two subjects are plain too.
	kinds[f.a], kinds[f.b] = "plain", "plain"
	// A subject of another tenant with the same consent is never seen.
	other := newCtlFixture(t, s, "aud-other")
	write(t, s, func(tx store.Tx) error {
		return tx.AppendConsent(other.consent(other.a, "newsletter", store.ConsentGiven, t0))
	})

	all := func(q store.AudienceQuery, limit int) []string {
		t.Helper()
		q.TenantID, q.Purpose, q.Limit, q.Now = tn.ID, "newsletter", limit, now
		var out []string
		for {
			var page []store.AudienceCandidate
			read(t, s, func(tx store.Tx) error {
				var err error
				page, err = tx.AudienceCandidates(q)
				return err
			})
			for _, c := range page {
				if c.Subject.TenantID != tn.ID || c.Subject.State != store.SubjectActive {
					t.Fatalf("candidate %+v", c.Subject)
				}
				out = append(out, c.Subject.ID)
			}
			if len(page) < limit {
				break
			}
			q.After = page[len(page)-1].Subject.ID
		}
		return out
	}
	labels := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, kinds[id])
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		q    store.AudienceQuery
		want []string
	}{
		{"consent", store.AudienceQuery{RequireConsent: true, MinConsentVersion: 1},
			[]string{"given", "given-v1", "minor", "minor-consented", "objected-dm", "objected-named", "objected-other", "opted-out", "regiven"}},
		{"consent since v2", store.AudienceQuery{RequireConsent: true, MinConsentVersion: 2},
			[]string{"given", "minor", "minor-consented", "objected-dm", "objected-named", "objected-other", "opted-out", "regiven"}},
		{"needs renewal before v2", store.AudienceQuery{ConsentBefore: 2}, []string{"given-v1"}},
		{"direct marketing, consent", store.AudienceQuery{RequireConsent: true, ExcludeMinors: true, CheckObjections: true,
			ObjectionKinds: []string{store.ObjectDirectMarketing}, ExcludeSaleShareOptOut: true},
			[]string{"given", "given-v1", "minor-consented", "objected-other", "regiven"}},
		{"legitimate interests, everyone", store.AudienceQuery{CheckObjections: true, ObjectionKinds: []string{store.ObjectLegitimateInterest}},
			[]string{"expired", "given", "given-v1", "minor", "minor-consented", "objected-dm", "objected-other", "opted-out", "plain", "plain", "plain", "regiven", "withdrawn"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{1, 3, 5000} {
				got := all(c.q, limit)
				if !slices.IsSorted(got) && s.Engine() == "sqlite" {
					t.Errorf("limit %d: not in id order", limit)
				}
				if l := labels(got); !reflect.DeepEqual(l, c.want) {
					t.Fatalf("limit %d: got %v, want %v", limit, l, c.want)
				}
			}
		})
	}
	err := s.Read(ctx(t), func(tx store.Tx) error {
		_, err := tx.AudienceCandidates(store.AudienceQuery{TenantID: tn.ID, Purpose: "newsletter", Limit: 0})
		return err
	})
	wantErr(t, err, store.ErrInvalid)
}

func testControlsOf(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "ctlof")
	c := f.tn.ID
	bare := ctlSubject(t, s, c)
	write(t, s, func(tx store.Tx) error {
		for _, fn := range []func() error{
			func() error { return tx.AddRestriction(f.restriction(f.a, t0)) },
			func() error { return tx.AddObjection(f.objection(f.a, "", store.ObjectDirectMarketing, t0)) },
			func() error { return tx.AppendConsent(f.consent(f.a, "newsletter", store.ConsentGiven, t0)) },
			func() error {
				return tx.AppendConsent(f.consent(f.a, "newsletter", store.ConsentWithdrawn, t0.Add(time.Minute)))
			},
			func() error { return tx.AppendConsent(f.consent(f.b, "analytics", store.ConsentGiven, t0)) },
			func() error { return tx.AddLegalHold(f.hold(f.b, t0)) },
			func() error {
				h := f.hold("", t0.Add(time.Second)) // the whole tenant
				return tx.AddLegalHold(h)
			},
		} {
			if err := fn(); err != nil {
				return err
			}
		}
		return nil
	})
	now := t0.Add(time.Hour)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ControlsOf(c, []string{f.a, f.b, bare}, now)
		if err != nil {
			return err
		}
		for _, id := range []string{f.a, f.b, bare} {
			want, err := tx.SubjectControls(c, id, now)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got[id], want) {
				t.Errorf("subject %s:\nControlsOf      %+v\nSubjectControls %+v", id, got[id], want)
			}
		}
		return nil
	})
}

func testIdentitiesOf(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "idsof")
	var ids []string
	write(t, s, func(tx store.Tx) error {
		for i := range 3 {
			id := store.NewID()
			ids = append(ids, id)
			err := tx.CreateSubject(store.Subject{TenantID: tn.ID, ID: id, State: store.SubjectActive, CreatedAt: t0}, []store.Identity{
				{TenantID: tn.ID, Kind: "email", Blind: fakeHash(fmt.Sprint("e", i)), SubjectID: id, Field: "email", CreatedAt: t0},
				{TenantID: tn.ID, Kind: "external_id", Blind: fakeHash(fmt.Sprint("x", i)), SubjectID: id, Field: "user_id", CreatedAt: t0},
			}, nil)
			if err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.IdentitiesOf(tn.ID, ids[:2], []string{"email", "phone"})
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Fatalf("got %d identities, want the 2 emails: %+v", len(got), got)
		}
		for _, g := range got {
			i := slices.Index(ids, g.SubjectID)
			if g.Kind != "email" || g.Field != "email" || !bytes.Equal(g.Blind, fakeHash(fmt.Sprint("e", i))) {
				t.Errorf("identity %+v", g)
			}
		}
		none, err := tx.IdentitiesOf(tn.ID, nil, []string{"email"})
		if err != nil || len(none) != 0 {
			t.Errorf("no subjects: %v %v", none, err)
		}
		return nil
	})
}

func testDueConsentExpiries(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "expiry")
	c := ctlSubject(t, s, f.tn.ID)
	now := t0.Add(48 * time.Hour)
	given := func(subject, browser, purpose string, at, exp time.Time) store.ConsentEvent {
		e := f.consent(subject, purpose, store.ConsentGiven, at)
		e.BrowserID, e.ExpiresAt = browser, exp
		return e
	}
	dueA := given(f.a, "", "newsletter", t0, t0.Add(time.Hour))                            // due
	laterB := given(f.b, "", "newsletter", t0, t0.Add(72*time.Hour))                       // not yet
	withdrawnC := given(c, "", "newsletter", t0, t0.Add(time.Hour))                        // superseded below
	browser := given("", "browser-0123456789abcdef", "analytics", t0, t0.Add(2*time.Hour)) // due, anonymous
	regivenA := given(f.a, "", "analytics", t0, t0.Add(time.Hour))                         // superseded by a later given
	write(t, s, func(tx store.Tx) error {
		for _, e := range []store.ConsentEvent{dueA, laterB, withdrawnC, browser, regivenA,
			f.consent(c, "newsletter", store.ConsentWithdrawn, t0.Add(time.Minute)),
			given(f.a, "", "analytics", t0.Add(time.Minute), t0.Add(100*time.Hour))} {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		due, err := tx.DueConsentExpiries(f.tn.ID, now, 10)
		if err != nil {
			return err
		}
		var ids []string
		for _, e := range due {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, []string{dueA.ID, browser.ID}) {
			t.Errorf("due = %v, want [%s %s] (earliest expiry first)", ids, dueA.ID, browser.ID)
		}
		one, err := tx.DueConsentExpiries(f.tn.ID, now, 1)
		if err != nil || len(one) != 1 || one[0].ID != dueA.ID {
			t.Errorf("limit 1: %v %v", one, err)
		}
		return nil
	})
}

// testConsentStats: the dashboard counts events per UTC day, purpose, kind
// and method inside the window only, and never another tenant's.
func testConsentStats(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "stats-a"), NewTenant(t, s, "stats-b")
	day1 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := func(tn, purpose, kind, method string, at time.Time) store.ConsentEvent {
		return store.ConsentEvent{TenantID: tn, ID: store.NewID(), BrowserID: "browser-" + store.NewID(), Purpose: purpose,
			Kind: kind, Method: method, PolicyVersion: 1, At: at}
	}
	write(t, s, func(tx store.Tx) error {
		for _, e := range []store.ConsentEvent{
			ev(a.ID, "analytics", store.ConsentGiven, store.MethodBanner, day1.Add(time.Hour)),
			ev(a.ID, "analytics", store.ConsentGiven, store.MethodBanner, day1.Add(23*time.Hour+59*time.Minute)),
			ev(a.ID, "analytics", store.ConsentWithdrawn, store.MethodGPC, day1.Add(2*time.Hour)),
			ev(a.ID, "newsletter", store.ConsentGiven, store.MethodAPI, day1.Add(24*time.Hour)), // day 2, midnight
			ev(a.ID, "newsletter", store.ConsentGiven, store.MethodAPI, day1.Add(-time.Second)), // before the window
			ev(b.ID, "analytics", store.ConsentGiven, store.MethodBanner, day1.Add(time.Hour)),  // other tenant
		} {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ConsentStats(a.ID, day1, day1.AddDate(0, 0, 2))
		if err != nil {
			return err
		}
		day2 := day1.AddDate(0, 0, 1)
		want := []store.ConsentStat{
			{Day: day1, Purpose: "analytics", Kind: store.ConsentGiven, Method: store.MethodBanner, Count: 2},
			{Day: day1, Purpose: "analytics", Kind: store.ConsentWithdrawn, Method: store.MethodGPC, Count: 1},
			{Day: day2, Purpose: "newsletter", Kind: store.ConsentGiven, Method: store.MethodAPI, Count: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stats:\n got %+v\nwant %+v", got, want)
		}
		if got, err := tx.ConsentStats(a.ID, day1, day1.Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("an event at the window's end is counted: %+v %v", got, err)
		}
		if _, err := tx.ConsentStats(a.ID, day1, day1); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("an empty window: %v, want ErrInvalid", err)
		}
		return nil
	})
}
