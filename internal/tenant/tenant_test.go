package tenant_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// clock is an injectable, goroutine-safe test clock. Its times have whole
// seconds so they survive the store's microsecond precision unchanged.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ctx(t *testing.T) context.Context { return t.Context() }

// engines runs fn on a fresh store of every engine.
func engines(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

func learningSaaS(t *testing.T) []byte {
	t.Helper()
	b, ok := examples.File("learning-saas.yaml")
	if !ok {
		t.Fatal("example learning-saas.yaml is missing")
	}
	return b
}

// replace returns src with old replaced by new exactly once.
func replace(t *testing.T, src []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(src, []byte(old)); n != 1 {
		t.Fatalf("policy variation: %q occurs %d times, want once", old, n)
	}
	return bytes.Replace(src, []byte(old), []byte(new), 1)
}

// replaceLine replaces the one top-level line matching re (anchored at a
// line start) with line, so variations do not depend on the example's
// exact text, which evolves with the format.
func replaceLine(t *testing.T, src []byte, re, line string) []byte {
	t.Helper()
	rx := regexp.MustCompile(`(?m)^` + re + `.*$`)
	if n := len(rx.FindAllIndex(src, -1)); n != 1 {
		t.Fatalf("policy variation: %s matches %d lines, want one", rx, n)
	}
	return rx.ReplaceAllLiteral(src, []byte(line))
}

// minimal is internal/policy/testdata/minimal.yaml with a chosen revision
// and mode, and optionally a second purpose.
func minimal(revision, mode string, extraPurpose bool) []byte {
	extra := ""
	if extraPurpose {
		extra = `
  - key: support
    name: Answering support requests
    description: We use your email address to answer your questions.
    legal_basis: contract
    categories: [user.contact.email]`
	}
	return fmt.Appendf(nil, `# The smallest valid policy: one field, one purpose, one retention rule.
version: 1
revision: %q
mode: %s
controller:
  name: Example Widgets AS
  address: Storgata 1, 0155 Oslo, Norway
  country: "NO"
  email: privacy@example.com
  supervisory_authority:
    name: Datatilsynet
    country: "NO"
    website: https://www.datatilsynet.no
jurisdictions: [gdpr]
fields:
  - name: email
    category: user.contact.email
    identity: email
purposes:
  - key: service
    name: Providing the service
    description: We use your email address to run your account.
    legal_basis: contract
    categories: [user.contact.email]%s
retention:
  - key: account_closed_30d
    duration: 30d
    trigger: account_closed
    action: delete
default_retention: account_closed_30d
backup_retention: 90d
`, revision, mode, extra)
}

func newService(st store.Store, c *clock) *tenant.Service {
	s := &tenant.Service{Store: st, RefreshEvery: time.Minute}
	if c != nil {
		s.Now = c.Now
	}
	return s
}

func mustCreate(t *testing.T, s *tenant.Service, slug string) store.Tenant {
	t.Helper()
	tn, err := s.Create(ctx(t), slug, "")
	if err != nil {
		t.Fatalf("Create(%q): %v", slug, err)
	}
	return tn
}

func mustApply(t *testing.T, s *tenant.Service, tenantID string, src []byte, actor string) tenant.ApplyResult {
	t.Helper()
	res, err := s.Apply(ctx(t), tenantID, "policy.yaml", src, actor)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func versionNumbers(t *testing.T, s *tenant.Service, tenantID string) []int {
	t.Helper()
	vs, err := s.Versions(ctx(t), tenantID)
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	var out []int
	for _, v := range vs {
		out = append(out, v.Version)
	}
	return out
}

func mustActive(t *testing.T, s *tenant.Service, tenantID string) *tenant.Active {
	t.Helper()
	a, err := s.Active(ctx(t), tenantID)
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	return a
}

func isPolicyErrors(err error) bool {
	var pe policy.Errors
	return errors.As(err, &pe) && len(pe) > 0
}

func TestValidSlug(t *testing.T) {
	cases := []struct {
		slug string
		ok   bool
	}{
		{"a", true},
		{"0", true},
		{"acme", true},
		{"acme-eu-2", true},
		{"9lives", true},
		{"ends-with-dash-", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"-leading-dash", false},
		{"Acme", false},
		{"acme_eu", false},
		{"acme eu", false},
		{"acme.eu", false},
		{"acme/eu", false},
		{"ålesund", false},
		{"acme\n", false},
		{" acme", false},
	}
	for _, c := range cases {
		if got := tenant.ValidSlug(c.slug); got != c.ok {
			t.Errorf("ValidSlug(%q) = %v, want %v", c.slug, got, c.ok)
		}
	}
}

func TestCreate(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		s := newService(st, c)

		invalid := []string{"", "-x", "X", "a_b", "a b", "a.b", strings.Repeat("b", 64), "ü", "../etc"}
		for _, slug := range invalid {
			if _, err := s.Create(ctx(t), slug, "Name"); !errors.Is(err, tenant.ErrInvalidSlug) {
				t.Errorf("Create(%q) error = %v, want ErrInvalidSlug", slug, err)
			}
		}
		if ts, err := s.List(ctx(t)); err != nil || len(ts) != 0 {
			t.Fatalf("after invalid creates List = %v, %v; want nothing stored", ts, err)
		}

		acme, err := s.Create(ctx(t), "acme", "Acme AS")
		if err != nil {
			t.Fatal(err)
		}
		if acme.ID == "" || acme.Slug != "acme" || acme.Name != "Acme AS" || acme.Mode != "controller" || !acme.CreatedAt.Equal(c.Now()) {
			t.Errorf("Create returned %+v", acme)
		}
		// An empty name defaults to the slug.
		beta := mustCreate(t, s, "beta")
		if beta.Name != "beta" {
			t.Errorf("name defaulted to %q, want the slug", beta.Name)
		}

		_, err = s.Create(ctx(t), "acme", "Another Acme")
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), `"acme"`) {
			t.Errorf("duplicate Create error = %v, want store.ErrConflict naming the slug", err)
		}

		got, err := s.Get(ctx(t), acme.ID)
		if err != nil || got.Slug != "acme" || got.Name != "Acme AS" || !got.CreatedAt.Equal(acme.CreatedAt) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		got, err = s.BySlug(ctx(t), "beta")
		if err != nil || got.ID != beta.ID {
			t.Errorf("BySlug = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx(t), store.NewID()); !errors.Is(err, tenant.ErrTenantNotFound) {
			t.Errorf("Get unknown error = %v, want ErrTenantNotFound", err)
		}
		if _, err := s.BySlug(ctx(t), "nope"); !errors.Is(err, tenant.ErrTenantNotFound) {
			t.Errorf("BySlug unknown error = %v, want ErrTenantNotFound", err)
		}
		ts, err := s.List(ctx(t))
		if err != nil || len(ts) != 2 || ts[0].Slug != "acme" || ts[1].Slug != "beta" {
			t.Errorf("List = %+v, %v; want acme, beta", ts, err)
		}
	})
}

func TestApplyLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		s := newService(st, c)
		tn := mustCreate(t, s, "brightfjord")

		if _, err := s.Active(ctx(t), tn.ID); !errors.Is(err, tenant.ErrNoPolicy) {
			t.Fatalf("Active before any policy: %v, want ErrNoPolicy", err)
		}

		v1src := replaceLine(t, learningSaaS(t), `revision:`, `revision: "2026.12"`)
		res := mustApply(t, s, tn.ID, v1src, "cli")
		if res.Unchanged || res.Diff != nil || res.Version.Version != 1 || res.Doc == nil {
			t.Fatalf("first apply: Unchanged=%v Diff=%v Version=%d", res.Unchanged, res.Diff, res.Version.Version)
		}
		v := res.Version
		if v.TenantID != tn.ID || v.Hash != res.Doc.Hash || v.Format != "yaml" || v.Revision != "2026.12" ||
			v.EffectiveDate == "" || v.EffectiveDate != res.Doc.Policy.EffectiveDate.String() || v.AppliedBy != "cli" || !v.AppliedAt.Equal(c.Now()) || !bytes.Equal(v.Source, v1src) {
			t.Errorf("first version recorded as %+v", v)
		}
		a := mustActive(t, s, tn.ID)
		if a.Version.Version != 1 || a.Version.Hash != v.Hash || a.Policy().Revision != "2026.12" || a.Tenant.ID != tn.ID {
			t.Errorf("Active after first apply = version %d %s", a.Version.Version, a.Version.Hash)
		}

		// The same content with other comments, blank lines and
		// indentation of comments is not a new version.
		c.Add(time.Hour)
		same := append([]byte("# Reviewed by the DPO, no changes.\n\n"), v1src...)
		same = replaceLine(t, same, `jurisdictions:`, "\n\n    # Which laws apply, in the end.\n"+
			string(regexp.MustCompile(`(?m)^jurisdictions:.*$`).Find(v1src))+"   # trailing comment")
		same = append(same, "\n\n# end of file\n"...)
		res = mustApply(t, s, tn.ID, same, "apikey:other")
		if !res.Unchanged || res.Version.Version != 1 || res.Diff != nil {
			t.Errorf("re-apply of same content: Unchanged=%v Version=%d Diff=%v", res.Unchanged, res.Version.Version, res.Diff)
		}
		if res.Version.AppliedBy != "cli" || !bytes.Equal(res.Version.Source, v1src) {
			t.Errorf("unchanged apply reports version %+v, want the stored first version", res.Version)
		}
		if got := versionNumbers(t, s, tn.ID); !reflect.DeepEqual(got, []int{1}) {
			t.Errorf("versions after unchanged apply = %v, want [1]", got)
		}

		// A changed revision label and a new purpose make version 2.
		c.Add(time.Hour)
		v2src := replaceLine(t, v1src, `revision:`, `revision: "2027.01"`)
		res = mustApply(t, s, tn.ID, v2src, "apikey:abc")
		if res.Unchanged || res.Version.Version != 2 || res.Diff == nil || res.Diff.Empty() {
			t.Fatalf("changed apply: Unchanged=%v Version=%d Diff=%v", res.Unchanged, res.Version.Version, res.Diff)
		}
		if !strings.Contains(res.Diff.Text(), "2027.01") {
			t.Errorf("diff does not mention the new revision:\n%s", res.Diff.Text())
		}
		if res.Version.AppliedBy != "apikey:abc" || !res.Version.AppliedAt.Equal(c.Now()) || res.Version.Revision != "2027.01" {
			t.Errorf("second version recorded as %+v", res.Version)
		}
		// Own applies are seen at once, without waiting for RefreshEvery.
		if a := mustActive(t, s, tn.ID); a.Version.Version != 2 || a.Policy().Revision != "2027.01" {
			t.Errorf("Active after second apply = version %d", a.Version.Version)
		}

		c.Add(time.Hour)
		v3src := replaceLine(t, v2src, "purposes:", `purposes:
  - key: newsletter_test
    name: Testing a newsletter
    description: We send a monthly newsletter to customers.
    legal_basis: contract
    categories: [user.contact.email]`)
		res, err := s.Apply(ctx(t), tn.ID, "policy.yaml", v3src, "apikey:abc")
		if err != nil {
			t.Fatalf("apply with an added purpose: %v", err)
		}
		if res.Version.Version != 3 || res.Diff == nil || !strings.Contains(res.Diff.Text(), "newsletter_test") {
			t.Errorf("added purpose: Version=%d Diff=%v", res.Version.Version, res.Diff)
		}

		vs, err := s.Versions(ctx(t), tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 || vs[0].Version != 3 || vs[2].Version != 1 {
			t.Fatalf("Versions = %+v, want 3, 2, 1", vs)
		}
		for _, v := range vs {
			if v.Source != nil {
				t.Errorf("Versions returned the text of version %d", v.Version)
			}
		}
		if vs[1].AppliedBy != "apikey:abc" || vs[2].AppliedBy != "cli" {
			t.Errorf("actors = %q, %q", vs[1].AppliedBy, vs[2].AppliedBy)
		}

		// Old versions stay readable and unchanged.
		v, doc, err := s.Version(ctx(t), tn.ID, 1)
		if err != nil || v.Version != 1 || !bytes.Equal(v.Source, v1src) || doc.Policy.Revision != "2026.12" || doc.Hash != v.Hash {
			t.Errorf("Version(1) = %+v, %v", v.Version, err)
		}
		if _, _, err := s.Version(ctx(t), tn.ID, 4); !errors.Is(err, tenant.ErrVersionNotFound) {
			t.Errorf("Version(4) error = %v, want ErrVersionNotFound", err)
		}
		if _, _, err := s.Version(ctx(t), tn.ID, 0); !errors.Is(err, tenant.ErrVersionNotFound) {
			t.Errorf("Version(0) error = %v, want ErrVersionNotFound", err)
		}
		// Versions belong to their tenant.
		other := mustCreate(t, s, "other")
		if _, _, err := s.Version(ctx(t), other.ID, 1); !errors.Is(err, tenant.ErrVersionNotFound) {
			t.Errorf("another tenant's Version(1) error = %v, want ErrVersionNotFound", err)
		}
		if got := versionNumbers(t, s, other.ID); len(got) != 0 {
			t.Errorf("another tenant's versions = %v, want none", got)
		}
		if _, err := s.Active(ctx(t), other.ID); !errors.Is(err, tenant.ErrNoPolicy) {
			t.Errorf("another tenant's Active: %v, want ErrNoPolicy", err)
		}
	})
}

func TestApplyInvalidStoresNothing(t *testing.T) {
	src := minimal("1", "controller", false)
	cases := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"yaml syntax", []byte("version: 1\nmode: [controller\n")},
		{"unknown key", replace(t, src, "mode: controller", "mode: controller\nmood: happy")},
		// Would switch the tenant to processor if it were applied.
		{"bad mode and processor", replace(t, replace(t, src, "mode: controller", "mode: processor"), "legal_basis: contract", "legal_basis: because")},
		{"unknown category", replace(t, src, "categories: [user.contact.email]", "categories: [user.nonsense]")},
		{"missing controller", replace(t, src, "controller:\n  name: Example Widgets AS", "controler:\n  name: Example Widgets AS")},
		{"retention undefined", replace(t, src, "default_retention: account_closed_30d", "default_retention: forever")},
		{"json garbage", []byte(`{"version": 1, "mode": }`)},
	}
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		s := newService(st, c)
		tn := mustCreate(t, s, "acme")
		fresh := mustCreate(t, s, "fresh")
		first := mustApply(t, s, tn.ID, src, "cli")
		before := mustActive(t, s, tn.ID)

		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, id := range []string{tn.ID, fresh.ID} {
					res, err := s.Apply(ctx(t), id, "policy.yaml", tc.src, "cli")
					if !isPolicyErrors(err) {
						t.Fatalf("Apply error = %v (%T), want policy.Errors", err, err)
					}
					if res.Doc != nil || res.Version.Version != 0 {
						t.Errorf("failed Apply returned a result: %+v", res)
					}
					if _, err := s.Check(ctx(t), id, "policy.yaml", tc.src); !isPolicyErrors(err) {
						t.Errorf("Check error = %v, want policy.Errors", err)
					}
				}
				if got := versionNumbers(t, s, tn.ID); !reflect.DeepEqual(got, []int{1}) {
					t.Errorf("versions = %v, want [1]", got)
				}
				if got := versionNumbers(t, s, fresh.ID); len(got) != 0 {
					t.Errorf("versions of a tenant without policy = %v, want none", got)
				}
				if _, err := s.Active(ctx(t), fresh.ID); !errors.Is(err, tenant.ErrNoPolicy) {
					t.Errorf("Active of a tenant without policy: %v, want ErrNoPolicy", err)
				}
				// Read through a second service so no cache hides a change.
				a := mustActive(t, newService(st, c), tn.ID)
				if a.Version.Version != 1 || a.Version.Hash != first.Version.Hash || a.Tenant.Mode != "controller" {
					t.Errorf("Active = version %d %s mode %s, want version 1 unchanged", a.Version.Version, a.Version.Hash, a.Tenant.Mode)
				}
				if a := mustActive(t, s, tn.ID); a.Version.Version != before.Version.Version || a.Version.Hash != before.Version.Hash {
					t.Errorf("cached Active changed to version %d", a.Version.Version)
				}
				if got, _ := s.Get(ctx(t), tn.ID); got.Mode != "controller" {
					t.Errorf("tenant mode = %q after an invalid apply", got.Mode)
				}
			})
		}
	})
}

func TestApplyUnknownTenant(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		s := newService(st, newClock())
		for _, id := range []string{store.NewID(), "not-a-uuid"} {
			if _, err := s.Apply(ctx(t), id, "policy.yaml", minimal("1", "controller", false), "cli"); !errors.Is(err, tenant.ErrTenantNotFound) {
				t.Errorf("Apply(%q) error = %v, want ErrTenantNotFound", id, err)
			}
			if _, err := s.Active(ctx(t), id); !errors.Is(err, tenant.ErrTenantNotFound) {
				t.Errorf("Active(%q) error = %v, want ErrTenantNotFound", id, err)
			}
			if _, err := s.Check(ctx(t), id, "policy.yaml", minimal("1", "controller", false)); !errors.Is(err, tenant.ErrTenantNotFound) {
				t.Errorf("Check(%q) error = %v, want ErrTenantNotFound", id, err)
			}
		}
	})
}

func TestApplyUpdatesMode(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		s := newService(st, newClock())
		tn := mustCreate(t, s, "acme")
		steps := []struct {
			src      []byte
			wantMode string
			version  int
		}{
			{minimal("1", "processor", false), "processor", 1},
			{minimal("2", "processor", false), "processor", 2},
			{minimal("3", "controller", false), "controller", 3},
			{minimal("3", "controller", false), "controller", 3}, // unchanged
			{minimal("4", "processor", true), "processor", 4},
		}
		for i, step := range steps {
			res := mustApply(t, s, tn.ID, step.src, "cli")
			if res.Version.Version != step.version {
				t.Errorf("step %d: version %d, want %d", i, res.Version.Version, step.version)
			}
			got, err := s.Get(ctx(t), tn.ID)
			if err != nil || got.Mode != step.wantMode {
				t.Errorf("step %d: tenant mode %q (%v), want %q", i, got.Mode, err, step.wantMode)
			}
			a := mustActive(t, s, tn.ID)
			if a.Tenant.Mode != step.wantMode || string(a.Policy().Mode) != step.wantMode {
				t.Errorf("step %d: Active tenant mode %q policy mode %q, want %q", i, a.Tenant.Mode, a.Policy().Mode, step.wantMode)
			}
		}
	})
}

func TestCheckStoresNothing(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		s := newService(st, newClock())
		tn := mustCreate(t, s, "acme")
		v1 := minimal("1", "controller", false)

		res, err := s.Check(ctx(t), tn.ID, "policy.yaml", v1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Doc == nil || res.Diff != nil || res.Unchanged || res.Version.Version != 0 {
			t.Errorf("Check without a policy: %+v", res)
		}
		if got := versionNumbers(t, s, tn.ID); len(got) != 0 {
			t.Fatalf("Check stored versions %v", got)
		}
		if _, err := s.Active(ctx(t), tn.ID); !errors.Is(err, tenant.ErrNoPolicy) {
			t.Fatalf("Active after Check: %v, want ErrNoPolicy", err)
		}

		mustApply(t, s, tn.ID, v1, "cli")
		cases := []struct {
			name      string
			src       []byte
			unchanged bool
		}{
			{"same", v1, true},
			{"same with comments", append([]byte("# checked\n"), v1...), true},
			{"new revision", minimal("2", "controller", false), false},
			{"added purpose", minimal("1", "controller", true), false},
			{"processor", minimal("1", "processor", false), false},
		}
		for _, tc := range cases {
			res, err := s.Check(ctx(t), tn.ID, "policy.yaml", tc.src)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.Unchanged != tc.unchanged || res.Diff == nil || res.Diff.Empty() != tc.unchanged || res.Version.Version != 1 {
				t.Errorf("%s: Unchanged=%v Diff=%v Version=%d", tc.name, res.Unchanged, res.Diff, res.Version.Version)
			}
		}
		if got := versionNumbers(t, s, tn.ID); !reflect.DeepEqual(got, []int{1}) {
			t.Errorf("versions after Checks = %v, want [1]", got)
		}
		if got, _ := s.Get(ctx(t), tn.ID); got.Mode != "controller" {
			t.Errorf("Check changed the tenant mode to %q", got.Mode)
		}
	})
}

// countingStore counts Read calls and can run a hook once, right after a
// Read has finished, to interleave another operation deterministically.
type countingStore struct {
	store.Store
	reads     atomic.Int64
	afterRead atomic.Pointer[func()]
}

func (c *countingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	c.reads.Add(1)
	err := c.Store.Read(ctx, fn)
	if h := c.afterRead.Swap(nil); h != nil {
		(*h)()
	}
	return err
}

func TestActiveCache(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		cs := &countingStore{Store: st}
		s := newService(cs, c)
		tn := mustCreate(t, s, "acme")
		mustApply(t, s, tn.ID, minimal("1", "controller", false), "cli")

		a1 := mustActive(t, s, tn.ID)
		reads := cs.reads.Load()
		c.Add(59 * time.Second)
		if a := mustActive(t, s, tn.ID); a != a1 {
			t.Error("Active within RefreshEvery did not come from the cache")
		}
		if n := cs.reads.Load() - reads; n != 0 {
			t.Errorf("Active within RefreshEvery read the store %d times", n)
		}
		// After RefreshEvery the store is asked again, but an unchanged
		// version is not parsed again.
		c.Add(time.Second)
		a2 := mustActive(t, s, tn.ID)
		if n := cs.reads.Load() - reads; n != 1 {
			t.Errorf("Active after RefreshEvery read the store %d times, want 1", n)
		}
		if a2.Doc != a1.Doc || a2.Version.Version != 1 {
			t.Error("refreshing an unchanged version parsed it again")
		}
	})
}

func TestActiveDefaultRefresh(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		s1 := &tenant.Service{Store: st, Now: c.Now} // RefreshEvery zero: one second
		s2 := &tenant.Service{Store: st, Now: c.Now}
		tn := mustCreate(t, s1, "acme")
		mustApply(t, s1, tn.ID, minimal("1", "controller", false), "cli")
		if a := mustActive(t, s2, tn.ID); a.Version.Version != 1 {
			t.Fatalf("version %d", a.Version.Version)
		}
		mustApply(t, s1, tn.ID, minimal("2", "controller", false), "cli")
		c.Add(999 * time.Millisecond)
		if a := mustActive(t, s2, tn.ID); a.Version.Version != 1 {
			t.Errorf("other instance saw version %d before one second", a.Version.Version)
		}
		c.Add(time.Millisecond)
		if a := mustActive(t, s2, tn.ID); a.Version.Version != 2 {
			t.Errorf("other instance still on version %d after one second", a.Version.Version)
		}
	})
}

// TestTwoInstances runs two Services on one store, as two servers behind a
// load balancer: each sees its own applies at once and the other's within
// RefreshEvery.
func TestTwoInstances(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		s1, s2 := newService(st, c), newService(st, c)
		tn := mustCreate(t, s1, "acme")

		// No policy is not cached: the first apply on s1 is seen by s2 at once.
		if _, err := s2.Active(ctx(t), tn.ID); !errors.Is(err, tenant.ErrNoPolicy) {
			t.Fatalf("s2 Active: %v", err)
		}
		mustApply(t, s1, tn.ID, minimal("1", "controller", false), "cli")
		if a := mustActive(t, s2, tn.ID); a.Version.Version != 1 {
			t.Fatalf("s2 sees version %d, want 1", a.Version.Version)
		}

		steps := []struct {
			advance time.Duration
			want1   int
			want2   int
		}{
			{0, 2, 1},
			{30 * time.Second, 2, 1},
			{29 * time.Second, 2, 1},
			{time.Second, 2, 2}, // a full minute after s2 last checked
		}
		mustApply(t, s1, tn.ID, minimal("2", "processor", false), "cli")
		for i, step := range steps {
			c.Add(step.advance)
			a1, a2 := mustActive(t, s1, tn.ID), mustActive(t, s2, tn.ID)
			if a1.Version.Version != step.want1 || a2.Version.Version != step.want2 {
				t.Errorf("step %d: s1 on %d, s2 on %d; want %d, %d", i, a1.Version.Version, a2.Version.Version, step.want1, step.want2)
			}
		}
		if a := mustActive(t, s2, tn.ID); a.Tenant.Mode != "processor" || a.Policy().Revision != "2" {
			t.Errorf("s2 refreshed to mode %q revision %q", a.Tenant.Mode, a.Policy().Revision)
		}

		// An apply on s2 based on what it knows continues the same history.
		res := mustApply(t, s2, tn.ID, minimal("3", "controller", false), "cli")
		if res.Version.Version != 3 || res.Diff == nil || !strings.Contains(res.Diff.Text(), "processor") {
			t.Errorf("apply on s2: version %d diff %v", res.Version.Version, res.Diff)
		}
		c.Add(time.Minute)
		if a := mustActive(t, s1, tn.ID); a.Version.Version != 3 {
			t.Errorf("s1 on version %d, want 3", a.Version.Version)
		}
	})
}

// TestActiveSeesOwnApplyDuringRefresh: an apply that commits while Active is
// reading the store must not leave the older version in the cache, where it
// would hide this instance's own apply for RefreshEvery.
func TestActiveSeesOwnApplyDuringRefresh(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		cs := &countingStore{Store: st}
		s := newService(cs, c)
		tn := mustCreate(t, s, "acme")
		mustApply(t, s, tn.ID, minimal("1", "controller", false), "cli")

		hook := func() { mustApply(t, s, tn.ID, minimal("2", "controller", false), "cli") }
		cs.afterRead.Store(&hook)
		// This Active read version 1 before the apply committed; returning
		// it is fine, as the two calls were concurrent.
		if a := mustActive(t, s, tn.ID); a.Version.Version != 1 {
			t.Fatalf("Active = %d", a.Version.Version)
		}
		if a := mustActive(t, s, tn.ID); a.Version.Version != 2 {
			t.Errorf("Active after own apply = version %d, want 2", a.Version.Version)
		}
	})
}

// TestConcurrentApply applies different policies from several goroutines:
// versions must be 1..N without gaps or duplicates, each diff must compare
// with the version just before it, and the tenant mode must follow the
// newest version.
func TestConcurrentApply(t *testing.T) {
	const n = 8
	engines(t, func(t *testing.T, st store.Store) {
		s := newService(st, newClock())
		tn := mustCreate(t, s, "acme")

		results := make([]tenant.ApplyResult, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				mode := "controller"
				if i%2 == 1 {
					mode = "processor"
				}
				res, err := s.Apply(ctx(t), tn.ID, "policy.yaml", minimal(fmt.Sprint("rev-", i), mode, false), fmt.Sprint("worker-", i))
				if err != nil {
					errs <- err
					return
				}
				results[i] = res
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Apply: %v", err)
		}

		seen := map[int]int{}
		for i, r := range results {
			if r.Unchanged {
				t.Errorf("worker %d: Unchanged for a different policy", i)
			}
			if prev, dup := seen[r.Version.Version]; dup {
				t.Errorf("workers %d and %d both got version %d", prev, i, r.Version.Version)
			}
			seen[r.Version.Version] = i
		}
		want := make([]int, 0, n)
		for v := n; v >= 1; v-- {
			want = append(want, v)
		}
		if got := versionNumbers(t, s, tn.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("versions = %v, want %v", got, want)
		}

		docs := map[int]*policy.Document{}
		for v := 1; v <= n; v++ {
			sv, doc, err := s.Version(ctx(t), tn.ID, v)
			if err != nil {
				t.Fatal(err)
			}
			w := seen[v]
			if sv.AppliedBy != fmt.Sprint("worker-", w) || sv.Revision != fmt.Sprint("rev-", w) {
				t.Errorf("version %d applied by %q with revision %q, but worker %d got it", v, sv.AppliedBy, sv.Revision, w)
			}
			docs[v] = doc
		}
		for v := 1; v <= n; v++ {
			r := results[seen[v]]
			if v == 1 {
				if r.Diff != nil {
					t.Errorf("version 1 has a diff")
				}
				continue
			}
			want := policy.Diff(docs[v-1].Policy, docs[v].Policy)
			if r.Diff == nil || !reflect.DeepEqual(*r.Diff, want) {
				t.Errorf("version %d: diff is not against version %d:\n got %v\nwant %s", v, v-1, r.Diff, want.Text())
			}
		}
		a := mustActive(t, newService(st, nil), tn.ID)
		if a.Version.Version != n || a.Tenant.Mode != string(a.Policy().Mode) {
			t.Errorf("active version %d: tenant mode %q, policy mode %q", a.Version.Version, a.Tenant.Mode, a.Policy().Mode)
		}
	})
}

// TestConcurrentApplySame applies one policy from several goroutines, as
// several instances starting with the same --policy: one version only.
func TestConcurrentApplySame(t *testing.T) {
	const n = 8
	engines(t, func(t *testing.T, st store.Store) {
		setup := newService(st, nil)
		tn := mustCreate(t, setup, "acme")
		mustApply(t, setup, tn.ID, minimal("1", "controller", false), "cli")

		src := minimal("2", "processor", true)
		var wg sync.WaitGroup
		var changed atomic.Int64
		for range n {
			wg.Go(func() {
				// One Service per goroutine: separate instances.
				res, err := newService(st, nil).Apply(ctx(t), tn.ID, "policy.yaml", src, "cli")
				if err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
				if !res.Unchanged {
					changed.Add(1)
				}
				if res.Version.Version != 2 {
					t.Errorf("Apply returned version %d, want 2", res.Version.Version)
				}
			})
		}
		wg.Wait()
		if got := changed.Load(); got != 1 {
			t.Errorf("%d applies stored a version, want exactly 1", got)
		}
		if got := versionNumbers(t, setup, tn.ID); !reflect.DeepEqual(got, []int{2, 1}) {
			t.Errorf("versions = %v, want [2 1]", got)
		}
	})
}

// failingInsertStore fails InsertPolicyVersion inside the Write, after
// Apply has made its other changes, to check they are rolled back too.
type failingInsertStore struct{ store.Store }

type failingInsertTx struct{ store.Tx }

var errInsert = errors.New("disk full")

func (failingInsertTx) InsertPolicyVersion(*store.PolicyVersion) error { return errInsert }

func (f failingInsertStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Write(ctx, func(tx store.Tx) error { return fn(failingInsertTx{tx}) })
}

func TestApplyIsAtomic(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		s := newService(st, newClock())
		tn := mustCreate(t, s, "acme")
		mustApply(t, s, tn.ID, minimal("1", "controller", false), "cli")
		before := mustActive(t, s, tn.ID)

		broken := newService(failingInsertStore{st}, newClock())
		_, err := broken.Apply(ctx(t), tn.ID, "policy.yaml", minimal("2", "processor", false), "cli")
		if !errors.Is(err, errInsert) {
			t.Fatalf("Apply = %v, want the insert's error", err)
		}
		if got := versionNumbers(t, s, tn.ID); !reflect.DeepEqual(got, []int{1}) {
			t.Errorf("versions = %v, want [1]", got)
		}
		if got, _ := s.Get(ctx(t), tn.ID); got.Mode != "controller" {
			t.Errorf("tenant mode = %q after a failed apply, want controller", got.Mode)
		}
		if a := mustActive(t, s, tn.ID); a != before {
			t.Errorf("a failed apply changed the cached Active")
		}
		// The failing service can still tell that nothing changed.
		res, err := broken.Apply(ctx(t), tn.ID, "policy.yaml", minimal("1", "controller", false), "cli")
		if err != nil || !res.Unchanged || res.Version.Version != 1 {
			t.Errorf("unchanged Apply through the failing store = %+v, %v", res.Version, err)
		}
	})
}
