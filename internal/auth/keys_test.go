package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func TestKeysCreate(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, 0)
		cases := []struct {
			name    string
			tenant  string
			role    Role
			keyName string
			ttl     time.Duration
			wantErr string
			is      error
		}{
			{name: "admin forever", tenant: f.a, role: RoleAdmin, keyName: "backend"},
			{name: "auditor for a day", tenant: f.a, role: RoleAuditor, keyName: "audit 2026", ttl: 24 * time.Hour},
			{name: "100 runes", tenant: f.a, role: RoleDPO, keyName: strings.Repeat("ø", 100)},
			{name: "empty name", tenant: f.a, role: RoleAgent},
			{name: "unknown role", tenant: f.a, role: "root", wantErr: "unknown role"},
			{name: "empty role", tenant: f.a, role: "", wantErr: "unknown role"},
			{name: "101 runes", tenant: f.a, role: RoleAdmin, keyName: strings.Repeat("a", 101), wantErr: "longer than 100"},
			{name: "negative ttl", tenant: f.a, role: RoleAdmin, ttl: -time.Second, wantErr: "negative"},
			{name: "unknown tenant", tenant: store.NewID(), role: RoleAdmin, is: store.ErrNotFound},
		}
		created := 0
		for _, c := range cases {
			tok, key, err := f.keys.Create(f.ctx, c.tenant, c.role, c.keyName, "apikey:creator", c.ttl)
			if c.wantErr != "" || c.is != nil {
				if err == nil || (c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr)) || (c.is != nil && !errors.Is(err, c.is)) {
					t.Errorf("%s: error %v, want %q / %v", c.name, err, c.wantErr, c.is)
				}
				if tok != "" || key.ID != "" {
					t.Errorf("%s: failed Create returned a key", c.name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			created++
			if !tokenRe.MatchString(tok) || KeyID(tok) != key.ID {
				t.Errorf("%s: token %q, key id %q", c.name, tok, key.ID)
			}
			wantExp := time.Time{}
			if c.ttl > 0 {
				wantExp = f.clock.Now().Add(c.ttl)
			}
			if key.TenantID != c.tenant || key.Role != string(c.role) || key.Name != c.keyName || key.CreatedBy != "apikey:creator" ||
				!key.CreatedAt.Equal(f.clock.Now()) || !key.ExpiresAt.Equal(wantExp) {
				t.Errorf("%s: key = %+v", c.name, key)
			}
			p, err := f.auth(tok)
			if err != nil || p.Role != c.role || p.TenantID != c.tenant {
				t.Errorf("%s: Authenticate = %+v, %v", c.name, p, err)
			}
		}
		keys, err := f.keys.List(f.ctx, f.a)
		if err != nil || len(keys) != created {
			t.Errorf("List = %d keys, %v; want %d (failed creates store nothing)", len(keys), err, created)
		}
	})
}

func TestKeysListAndRevokeAreTenantScoped(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, time.Hour)
		tokA1, a1 := f.create(f.a, RoleAdmin, 0)
		f.clock.Add(time.Second)
		_, a2 := f.create(f.a, RoleService, time.Hour)
		f.clock.Add(time.Second)
		tokB, b := f.create(f.b, RoleAdmin, 0)
		if _, err := f.auth(tokB); err != nil { // cached
			t.Fatal(err)
		}

		// Tenant A cannot revoke, or learn about, tenant B's key.
		for _, id := range []string{b.ID, "", "nope", store.NewID()} {
			if err := f.keys.Revoke(f.ctx, f.a, id); !errors.Is(err, ErrKeyNotFound) {
				t.Errorf("Revoke(A, %q) = %v, want ErrKeyNotFound", id, err)
			}
		}
		if err := f.keys.Revoke(f.ctx, store.NewID(), a1.ID); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Revoke by an unknown tenant = %v, want ErrKeyNotFound", err)
		}
		if p, err := f.auth(tokB); err != nil || p.TenantID != f.b {
			t.Errorf("B's key after A tried to revoke it: %+v, %v", p, err)
		}
		// Bypass the cache too: B's key is untouched in the store.
		fresh := &Authenticator{Store: st, Now: f.clock.Now}
		if _, err := fresh.Authenticate(f.ctx, "Bearer "+tokB); err != nil {
			t.Errorf("B's key in the store: %v", err)
		}

		listA, err := f.keys.List(f.ctx, f.a)
		if err != nil {
			t.Fatal(err)
		}
		if len(listA) != 2 || listA[0].ID != a2.ID || listA[1].ID != a1.ID {
			t.Fatalf("List(A) = %+v, want a2, a1 (newest first)", listA)
		}
		listB, err := f.keys.List(f.ctx, f.b)
		if err != nil || len(listB) != 1 || listB[0].ID != b.ID {
			t.Fatalf("List(B) = %+v, %v", listB, err)
		}
		if l, err := f.keys.List(f.ctx, store.NewID()); err != nil || len(l) != 0 {
			t.Errorf("List(unknown tenant) = %+v, %v", l, err)
		}

		// Revoke, then revoke again: the first time is kept.
		revokedAt := f.clock.Now()
		if err := f.keys.Revoke(f.ctx, f.a, a1.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Hour)
		if err := f.keys.Revoke(f.ctx, f.a, a1.ID); err != nil {
			t.Errorf("second Revoke = %v, want nil", err)
		}
		if _, err := f.auth(tokA1); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("revoked key: %v", err)
		}
		listA, err = f.keys.List(f.ctx, f.a)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range append(listA, listB...) {
			if k.SecretHash != nil {
				t.Errorf("List returned the secret hash of %s", k.ID)
			}
		}
		byID := map[string]store.APIKey{}
		for _, k := range listA {
			byID[k.ID] = k
		}
		if k := byID[a1.ID]; !k.RevokedAt.Equal(revokedAt) || k.Role != "admin" || k.Name != "test key" || k.CreatedBy != "cli" {
			t.Errorf("listed revoked key = %+v, revoked at %v", k, revokedAt)
		}
		if k := byID[a2.ID]; !k.RevokedAt.IsZero() || !k.ExpiresAt.Equal(a2.ExpiresAt) || !k.CreatedAt.Equal(a2.CreatedAt) {
			t.Errorf("listed active key = %+v", k)
		}
		// Listing does not disturb authentication (the hash in the store
		// is intact, only the copy returned is cleared).
		if _, err := fresh.Authenticate(f.ctx, "Bearer "+tokB); err != nil {
			t.Errorf("B's key after List: %v", err)
		}
	})
}
