package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// clock is an injectable test clock with whole-second times, so they
// survive the store's microsecond precision unchanged.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

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

func engines(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

func newTenant(t *testing.T, st store.Store, slug string) string {
	t.Helper()
	id := store.NewID()
	err := st.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(store.Tenant{ID: id, Slug: slug, Name: slug, Mode: "controller", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return id
}

// fixture is one store with two tenants, an Authenticator and a Keys
// service wired together as the server wires them.
type fixture struct {
	st     store.Store
	clock  *clock
	authn  *Authenticator
	keys   *Keys
	a, b   string // tenant ids
	ctx    context.Context
	testTB testing.TB
}

func newFixture(t *testing.T, st store.Store, cacheTTL time.Duration) *fixture {
	c := newClock()
	authn := &Authenticator{Store: st, Now: c.Now, CacheTTL: cacheTTL}
	return &fixture{
		st: st, clock: c, authn: authn,
		keys: &Keys{Store: st, Auth: authn, Now: c.Now},
		a:    newTenant(t, st, "tenant-a"), b: newTenant(t, st, "tenant-b"),
		ctx: t.Context(), testTB: t,
	}
}

func (f *fixture) create(tenantID string, role Role, ttl time.Duration) (string, store.APIKey) {
	f.testTB.Helper()
	tok, key, err := f.keys.Create(f.ctx, tenantID, role, "test key", "cli", ttl)
	if err != nil {
		f.testTB.Fatalf("create key: %v", err)
	}
	return tok, key
}

func (f *fixture) auth(tok string) (Principal, error) {
	return f.authn.Authenticate(f.ctx, "Bearer "+tok)
}

var tokenRe = regexp.MustCompile(`^trustee_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$`)

func TestNewKey(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	exp := now.Add(time.Hour)
	seen := map[string]bool{}
	for range 50 {
		tok, key, err := NewKey("t1", RoleDPO, "name", "me", now, exp)
		if err != nil {
			t.Fatal(err)
		}
		if !tokenRe.MatchString(tok) {
			t.Fatalf("token %q does not have the documented format", tok)
		}
		if seen[tok] || seen[key.ID] {
			t.Fatalf("token or id repeated: %s", tok)
		}
		seen[tok], seen[key.ID] = true, true
		id, secret, ok := splitToken(tok)
		if !ok || id != key.ID || KeyID(tok) != key.ID {
			t.Fatalf("splitToken(%q) = %q, %v; key id %q", tok, id, ok, key.ID)
		}
		if h := sha256.Sum256([]byte(secret)); string(h[:]) != string(key.SecretHash) {
			t.Fatal("SecretHash is not the SHA-256 of the secret")
		}
		if strings.Contains(string(key.SecretHash), secret) {
			t.Fatal("the key holds the secret")
		}
		if key.TenantID != "t1" || key.Role != "dpo" || key.Name != "name" || key.CreatedBy != "me" ||
			!key.CreatedAt.Equal(now) || key.CreatedAt.Location() != time.UTC || !key.ExpiresAt.Equal(exp) || !key.RevokedAt.IsZero() {
			t.Fatalf("key = %+v", key)
		}
	}
}

func TestKeyID(t *testing.T) {
	tok, key, err := NewKey("t1", RoleAdmin, "", "", time.Now(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tok, want string
	}{
		{tok, key.ID},
		{"", ""},
		{"trustee_", ""},
		{tok[:len(tok)-1], ""},
		{tok + "x", ""},
		{strings.Replace(tok, "trustee_", "trusty_", 1), ""},
		{strings.Replace(tok, "_", "-", 2), ""},
	}
	for _, c := range cases {
		if got := KeyID(c.tok); got != c.want {
			t.Errorf("KeyID(%q) = %q, want %q", c.tok, got, c.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "Admin", "ADMIN", "root", "owner", " admin", "admin "} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
}

func TestAuthenticateRoundTrip(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, time.Minute)
		for _, role := range Roles {
			tok, key := f.create(f.a, role, 0)
			for _, header := range []string{"Bearer " + tok, "Bearer  " + tok + " ", "Bearer " + tok + "\t"} {
				p, err := f.authn.Authenticate(f.ctx, header)
				if err != nil {
					t.Fatalf("%s: Authenticate(%q): %v", role, header, err)
				}
				want := Principal{KeyID: key.ID, TenantID: f.a, Role: role}
				if p != want {
					t.Errorf("principal = %+v, want %+v", p, want)
				}
				if p.Actor() != "apikey:"+key.ID {
					t.Errorf("Actor() = %q", p.Actor())
				}
			}
		}
	})
}

func TestAuthenticateMalformed(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, time.Minute)
		tokA, keyA := f.create(f.a, RoleAdmin, 0)
		tokB, keyB := f.create(f.a, RoleService, 0)
		tokOther, _ := f.create(f.b, RoleAdmin, 0)
		_, secretA, _ := splitToken(tokA)
		_, secretOther, _ := splitToken(tokOther)
		unknown, _, _ := NewKey(f.a, RoleAdmin, "", "", time.Now(), time.Time{}) // never stored
		unknownID := KeyID(unknown)
		// Authenticate the real keys once, so the cache is warm and cannot
		// be what turns the bad ones away.
		for _, tok := range []string{tokA, tokB, tokOther} {
			if _, err := f.auth(tok); err != nil {
				t.Fatal(err)
			}
		}
		flip := func(s string, i int) string {
			b := []byte(s)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}

		cases := []struct {
			name   string
			header string
			want   error
		}{
			{"empty header", "", ErrNoCredentials},
			{"token without Bearer", tokA, ErrInvalidKey},
			{"Basic scheme", "Basic " + tokA, ErrInvalidKey},
			{"Bearer without space", "Bearer" + tokA, ErrInvalidKey},
			{"Bearer only", "Bearer ", ErrInvalidKey},
			{"Bearer and spaces", "Bearer    ", ErrInvalidKey},
			{"wrong prefix", "Bearer trustea_" + tokA[len("trustee_"):], ErrInvalidKey},
			{"no prefix", "Bearer " + tokA[len("trustee_"):], ErrInvalidKey},
			{"upper-case prefix", "Bearer TRUSTEE_" + tokA[len("trustee_"):], ErrInvalidKey},
			{"secret one short", "Bearer " + tokA[:len(tokA)-1], ErrInvalidKey},
			{"secret one long", "Bearer " + tokA + "A", ErrInvalidKey},
			{"id one short", "Bearer trustee_" + keyA.ID[1:] + "_" + secretA + "A", ErrInvalidKey},
			{"id one long", "Bearer trustee_x" + keyA.ID + "_" + secretA[1:], ErrInvalidKey},
			{"wrong separator", "Bearer trustee_" + keyA.ID + "-" + secretA, ErrInvalidKey},
			{"two tokens", "Bearer " + tokA + " " + tokB, ErrInvalidKey},
			{"another key's secret", "Bearer trustee_" + keyB.ID + "_" + secretA, ErrInvalidKey},
			{"another tenant's secret", "Bearer trustee_" + keyA.ID + "_" + secretOther, ErrInvalidKey},
			{"secret first char changed", "Bearer trustee_" + keyA.ID + "_" + flip(secretA, 0), ErrInvalidKey},
			{"secret last char changed", "Bearer trustee_" + keyA.ID + "_" + flip(secretA, 42), ErrInvalidKey},
			{"unknown id, right-looking secret", "Bearer trustee_" + unknownID + "_" + secretA, ErrInvalidKey},
			{"unknown token", "Bearer " + unknown, ErrInvalidKey},
			{"id upper-cased", "Bearer trustee_" + strings.ToUpper(keyA.ID) + "_" + secretA, ErrInvalidKey},
		}
		for _, c := range cases {
			p, err := f.authn.Authenticate(f.ctx, c.header)
			if err != c.want { //nolint:errorlint // the exact sentinel, nothing wrapped around it
				t.Errorf("%s: Authenticate(%q) = %+v, %v; want %v", c.name, c.header, p, err, c.want)
			}
			if p != (Principal{}) {
				t.Errorf("%s: a failed Authenticate returned principal %+v", c.name, p)
			}
		}
		// The good tokens still work after all that.
		if _, err := f.auth(tokA); err != nil {
			t.Errorf("valid token refused after bad attempts: %v", err)
		}
	})
}

func TestAuthenticateRevokedAndExpired(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Minute, 24 * time.Hour} {
		t.Run("cache "+ttl.String(), func(t *testing.T) {
			engines(t, func(t *testing.T, st store.Store) {
				f := newFixture(t, st, ttl)
				expiring, key := f.create(f.a, RoleService, time.Hour)
				if want := f.clock.Now().Add(time.Hour); !key.ExpiresAt.Equal(want) {
					t.Fatalf("ExpiresAt = %v, want %v", key.ExpiresAt, want)
				}
				forever, _ := f.create(f.a, RoleService, 0)
				revoked, revokedKey := f.create(f.a, RoleService, 0)
				for _, tok := range []string{expiring, forever, revoked} {
					if _, err := f.auth(tok); err != nil {
						t.Fatalf("fresh key refused: %v", err)
					}
				}
				if err := f.keys.Revoke(f.ctx, f.a, revokedKey.ID); err != nil {
					t.Fatal(err)
				}
				steps := []struct {
					advance                  time.Duration
					expiring, forever, revkd error
				}{
					{0, nil, nil, ErrInvalidKey},
					{59*time.Minute + 59*time.Second, nil, nil, ErrInvalidKey},
					{time.Second, ErrInvalidKey, nil, ErrInvalidKey}, // exactly at ExpiresAt
					{365 * 24 * time.Hour, ErrInvalidKey, nil, ErrInvalidKey},
				}
				for i, s := range steps {
					f.clock.Add(s.advance)
					for _, c := range []struct {
						name string
						tok  string
						want error
					}{{"expiring", expiring, s.expiring}, {"forever", forever, s.forever}, {"revoked", revoked, s.revkd}} {
						if _, err := f.auth(c.tok); err != c.want { //nolint:errorlint
							t.Errorf("step %d, %s key: %v, want %v", i, c.name, err, c.want)
						}
					}
				}
			})
		})
	}
}

// TestRevokeThroughKeysIsImmediate: a revocation made through Keys is
// effective for the very next request even with a long cache.
func TestRevokeThroughKeysIsImmediate(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, 24*time.Hour)
		tok, key := f.create(f.a, RoleAdmin, 0)
		other, _ := f.create(f.a, RoleAdmin, 0)
		for range 3 {
			if _, err := f.auth(tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.keys.Revoke(f.ctx, f.a, key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth(tok); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("revoked key: %v, want ErrInvalidKey", err)
		}
		if _, err := f.auth(other); err != nil {
			t.Errorf("the tenant's other key: %v", err)
		}
	})
}

// TestRevokeElsewhereHonouredAfterTTL: a revocation this Authenticator did
// not see (another instance, or the store directly) is honoured once the
// cached entry is CacheTTL old.
func TestRevokeElsewhereHonouredAfterTTL(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, time.Minute)
		tok, key := f.create(f.a, RoleAdmin, 0)
		if _, err := f.auth(tok); err != nil {
			t.Fatal(err)
		}
		// Another instance revokes it.
		elsewhere := &Keys{Store: st, Auth: &Authenticator{Store: st}, Now: f.clock.Now}
		if err := elsewhere.Revoke(f.ctx, f.a, key.ID); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			advance time.Duration
			want    error
		}{
			{0, nil},
			{59 * time.Second, nil},
			{time.Second, ErrInvalidKey},
			{time.Hour, ErrInvalidKey},
		}
		for i, s := range steps {
			f.clock.Add(s.advance)
			if _, err := f.auth(tok); err != s.want { //nolint:errorlint
				t.Errorf("step %d: %v, want %v", i, err, s.want)
			}
		}

		// And one revoked in the store itself.
		tok2, key2 := f.create(f.a, RoleAdmin, 0)
		if _, err := f.auth(tok2); err != nil {
			t.Fatal(err)
		}
		if err := st.Write(f.ctx, func(tx store.Tx) error { return tx.RevokeAPIKey(f.a, key2.ID, f.clock.Now()) }); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(30 * time.Second)
		if _, err := f.auth(tok2); err != nil {
			t.Errorf("within the TTL: %v (the cache was expected to serve it)", err)
		}
		f.clock.Add(30 * time.Second)
		if _, err := f.auth(tok2); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("after the TTL: %v, want ErrInvalidKey", err)
		}
	})
}

// hookStore runs a hook once, right after a Read has finished, to
// interleave another operation deterministically; it can also fail reads.
type hookStore struct {
	store.Store
	afterRead atomic.Pointer[func()]
	failReads atomic.Bool
}

var errBroken = errors.New("database unreachable")

func (h *hookStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	if h.failReads.Load() {
		return errBroken
	}
	err := h.Store.Read(ctx, fn)
	if f := h.afterRead.Swap(nil); f != nil {
		(*f)()
	}
	return err
}

// TestRevokeDuringLookup: a revocation through Keys that commits while the
// Authenticator is reading the key must not leave the unrevoked key in the
// cache for CacheTTL.
func TestRevokeDuringLookup(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		c := newClock()
		hs := &hookStore{Store: st}
		authn := &Authenticator{Store: hs, Now: c.Now, CacheTTL: time.Hour}
		keys := &Keys{Store: st, Auth: authn, Now: c.Now}
		tenantID := newTenant(t, st, "acme")
		tok, key, err := keys.Create(t.Context(), tenantID, RoleAdmin, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		revoke := func() {
			if err := keys.Revoke(t.Context(), tenantID, key.ID); err != nil {
				t.Errorf("revoke: %v", err)
			}
		}
		hs.afterRead.Store(&revoke)
		// This request read the key before the revocation committed, so
		// it may pass: the two were concurrent.
		if _, err := authn.Authenticate(t.Context(), "Bearer "+tok); err != nil {
			t.Fatalf("first request: %v", err)
		}
		if _, err := authn.Authenticate(t.Context(), "Bearer "+tok); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("request after the revocation returned: %v, want ErrInvalidKey", err)
		}
	})
}

// TestAuthenticateStoreError: a store failure is not reported as a bad key
// (that would be a 401 for what is a 500), and is not cached.
func TestAuthenticateStoreError(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		hs := &hookStore{Store: st}
		c := newClock()
		authn := &Authenticator{Store: hs, Now: c.Now, CacheTTL: time.Hour}
		keys := &Keys{Store: st, Auth: authn, Now: c.Now}
		tenantID := newTenant(t, st, "acme")
		tok, _, err := keys.Create(t.Context(), tenantID, RoleAdmin, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		hs.failReads.Store(true)
		_, err = authn.Authenticate(t.Context(), "Bearer "+tok)
		if !errors.Is(err, errBroken) || errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrNoCredentials) {
			t.Errorf("Authenticate with a broken store: %v", err)
		}
		if strings.Contains(err.Error(), tok[len("trustee_")+17:]) {
			t.Errorf("error %q contains the secret", err)
		}
		hs.failReads.Store(false)
		if _, err := authn.Authenticate(t.Context(), "Bearer "+tok); err != nil {
			t.Errorf("after the store recovered: %v", err)
		}
	})
}

// TestAuthenticateConcurrent exercises the cache from many goroutines (run
// with -race) while keys are revoked.
func TestAuthenticateConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, time.Hour)
		const n = 6
		toks := make([]string, n)
		ids := make([]string, n)
		for i := range n {
			var key store.APIKey
			toks[i], key = f.create(f.a, RoleService, 0)
			ids[i] = key.ID
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				for range 20 {
					if _, err := f.authn.Authenticate(f.ctx, "Bearer "+toks[i]); err != nil && !errors.Is(err, ErrInvalidKey) {
						t.Errorf("Authenticate: %v", err)
					}
				}
			})
		}
		for i := 0; i < n; i += 2 {
			if err := f.keys.Revoke(f.ctx, f.a, ids[i]); err != nil {
				t.Error(err)
			}
		}
		wg.Wait()
		for i := range n {
			_, err := f.auth(toks[i])
			if revoked := i%2 == 0; revoked != errors.Is(err, ErrInvalidKey) {
				t.Errorf("key %d (revoked %v): %v", i, revoked, err)
			}
		}
	})
}
