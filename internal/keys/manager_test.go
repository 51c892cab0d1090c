package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// fakeClock is a settable clock for cache expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rootFile writes a new root key file and returns its path and the key.
func rootFile(t testing.TB) (string, *RootKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.key")
	if err := WriteRootKeyFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRootKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, r
}

func bg() context.Context { return context.Background() }

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func forEngines(t *testing.T, fn func(t *testing.T, ks func(testing.TB) store.KeyStore)) {
	for _, e := range storetest.KeyEngines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open)
		})
	}
}

func TestEnsureTenant(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		m := NewManager(root, ks, ManagerOptions{})
		tenant := store.NewID()
		for range 3 {
			if err := m.EnsureTenant(bg(), tenant); err != nil {
				t.Fatal(err)
			}
		}
		var rows []store.TenantKey
		if err := ks.Read(bg(), func(tx store.KeyTx) (err error) { rows, err = tx.ListTenantKeys(tenant); return err }); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d tenant keys, want 3", len(rows))
		}
		for _, r := range rows {
			if r.Version != 1 || r.RootKeyID != root.PrimaryKeyID() || len(r.Wrapped) < 32+28 || !r.RetiredAt.IsZero() {
				t.Errorf("row %+v", r)
			}
		}
		if err := m.EnsureTenant(bg(), ""); !errors.Is(err, ErrNoKey) {
			t.Errorf("empty tenant id: %v", err)
		}
	})
}

// TestEnsureTenantConcurrent: instances racing to create a tenant's keys end
// up sharing one set.
func TestEnsureTenantConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		tenant := store.NewID()
		const instances, callers = 4, 8
		ms := make([]*Manager, instances)
		for i := range ms {
			ms[i] = NewManager(root, ks, ManagerOptions{})
		}
		var wg sync.WaitGroup
		idx := make([][]byte, instances*callers)
		pubs := make([]ed25519.PublicKey, instances*callers)
		for i := range instances * callers {
			wg.Go(func() {
				m := ms[i%instances]
				var err error
				if i%2 == 0 {
					err = m.EnsureTenant(bg(), tenant)
				}
				if err == nil {
					idx[i], err = m.BlindIndex(bg(), tenant, "email", "a@example.com")
				}
				if err == nil {
					pubs[i], err = m.AuditPublicKey(bg(), tenant)
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range idx {
			if !bytes.Equal(idx[i], idx[0]) || !pubs[i].Equal(pubs[0]) {
				t.Fatalf("caller %d got other tenant keys than caller 0", i)
			}
		}
		var rows []store.TenantKey
		if err := ks.Read(bg(), func(tx store.KeyTx) (err error) { rows, err = tx.ListTenantKeys(tenant); return err }); err != nil || len(rows) != 3 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
	})
}

func TestSubjectKeys(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		m1 := NewManager(root, ks, ManagerOptions{})
		m2 := NewManager(root, ks, ManagerOptions{}) // another instance, cold cache
		tA, tB := store.NewID(), store.NewID()
		s1 := store.NewID()

		dk := must[*DataKey](t)(m1.NewSubjectKey(bg(), tA, s1))
		ad := FieldAD(tA, s1, "email")
		ct := must[[]byte](t)(dk.Seal(ad, []byte("alice@example.com")))

		for name, m := range map[string]*Manager{"same instance": m1, "other instance": m2} {
			k, err := m.SubjectKey(bg(), tA, s1)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got, err := k.Open(ad, ct); err != nil || string(got) != "alice@example.com" {
				t.Fatalf("%s: Open = %q, %v", name, got, err)
			}
		}
		if _, err := m1.NewSubjectKey(bg(), tA, s1); !errors.Is(err, ErrKeyExists) {
			t.Errorf("second NewSubjectKey: %v", err)
		}
		if _, err := m2.SubjectKey(bg(), tA, store.NewID()); !errors.Is(err, ErrNoKey) {
			t.Errorf("unknown subject: %v", err)
		}
		// Another tenant's id for the subject looks like no key at all.
		if err := m2.EnsureTenant(bg(), tB); err != nil {
			t.Fatal(err)
		}
		if _, err := m2.SubjectKey(bg(), tB, s1); !errors.Is(err, ErrNoKey) {
			t.Errorf("subject of another tenant: %v", err)
		}
		if _, err := m2.SubjectKey(bg(), store.NewID(), s1); !errors.Is(err, ErrNoKey) {
			t.Errorf("unknown tenant: %v", err)
		}
		// Keys differ per subject.
		dk2 := must[*DataKey](t)(m1.NewSubjectKey(bg(), tA, store.NewID()))
		if _, err := dk2.Open(ad, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("another subject's key opens the ciphertext: %v", err)
		}
		if _, err := m1.NewSubjectKey(bg(), tA, ""); err == nil {
			t.Error("empty subject id accepted")
		}
	})
}

func TestShred(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		clk := newClock()
		m1 := NewManager(root, ks, ManagerOptions{Now: clk.Now})
		m2 := NewManager(root, ks, ManagerOptions{Now: clk.Now, CacheTTL: time.Minute})
		tenant, s1, other := store.NewID(), store.NewID(), store.NewID()
		dk := must[*DataKey](t)(m1.NewSubjectKey(bg(), tenant, s1))
		must[*DataKey](t)(m1.NewSubjectKey(bg(), tenant, other))
		ct := must[[]byte](t)(dk.Seal(FieldAD(tenant, s1, "name"), []byte("Alice")))
		must[*DataKey](t)(m2.SubjectKey(bg(), tenant, s1)) // m2 caches it

		shredAt := clk.Now()
		if err := m1.Shred(bg(), tenant, s1); err != nil {
			t.Fatal(err)
		}
		if err := m1.Shred(bg(), tenant, s1); err != nil {
			t.Fatalf("second Shred: %v", err)
		}
		if _, err := m1.SubjectKey(bg(), tenant, s1); !errors.Is(err, ErrShredded) {
			t.Errorf("same instance after shred: %v", err)
		}
		// Another instance serves its cached key until CacheTTL, then
		// learns the key is gone.
		if _, err := m2.SubjectKey(bg(), tenant, s1); err != nil {
			t.Errorf("other instance within TTL: %v", err)
		}
		clk.Add(time.Minute + time.Second)
		if _, err := m2.SubjectKey(bg(), tenant, s1); !errors.Is(err, ErrShredded) {
			t.Errorf("other instance after TTL: %v", err)
		}
		m3 := NewManager(root, ks, ManagerOptions{})
		if _, err := m3.SubjectKey(bg(), tenant, s1); !errors.Is(err, ErrShredded) {
			t.Errorf("fresh instance: %v", err)
		}
		// Nothing in the key store opens the ciphertext any more: try
		// every remaining subject key.
		var rest []store.SubjectKey
		ks.Read(bg(), func(tx store.KeyTx) (err error) { rest, err = tx.SubjectKeysNotAt(tenant, 99, 100); return err })
		for _, r := range rest {
			k := must[*DataKey](t)(m3.SubjectKey(bg(), tenant, r.SubjectID))
			if _, err := k.Open(FieldAD(tenant, s1, "name"), ct); err == nil {
				t.Error("another key opens the shredded subject's data")
			}
		}
		at, ok, err := m3.ShreddedAt(bg(), tenant, s1)
		if err != nil || !ok || !at.Equal(shredAt) {
			t.Errorf("ShreddedAt = %v, %v, %v; want %v", at, ok, err, shredAt)
		}
		if _, ok, err := m3.ShreddedAt(bg(), tenant, other); ok || err != nil {
			t.Errorf("ShreddedAt(other) = %v, %v", ok, err)
		}
		if _, err := m3.NewSubjectKey(bg(), tenant, s1); !errors.Is(err, ErrShredded) {
			t.Errorf("a new key for a shredded subject: %v", err)
		}
		// Shredding a subject that never had a key is recorded too.
		never := store.NewID()
		if err := m3.Shred(bg(), tenant, never); err != nil {
			t.Fatal(err)
		}
		if _, err := m3.SubjectKey(bg(), tenant, never); !errors.Is(err, ErrShredded) {
			t.Errorf("never-keyed shredded subject: %v", err)
		}
		if _, err := m1.SubjectKey(bg(), tenant, other); err != nil {
			t.Errorf("the other subject's key: %v", err)
		}
	})
}

// TestMovedKeys: key rows copied to another subject or tenant do not
// unwrap, and field ciphertexts moved between rows do not open.
func TestMovedKeys(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		m := NewManager(root, ks, ManagerOptions{CacheSize: -1})
		tA, tB := store.NewID(), store.NewID()
		s1, s2, victim := store.NewID(), store.NewID(), store.NewID()
		dk1 := must[*DataKey](t)(m.NewSubjectKey(bg(), tA, s1))
		must[*DataKey](t)(m.NewSubjectKey(bg(), tA, s2))
		if err := m.EnsureTenant(bg(), tB); err != nil {
			t.Fatal(err)
		}
		var row store.SubjectKey
		ks.Read(bg(), func(tx store.KeyTx) (err error) { row, err = tx.GetSubjectKey(tA, s1); return err })

		// s1's wrapped key stored under another subject, and another tenant.
		copies := []store.SubjectKey{
			{TenantID: tA, SubjectID: victim, Wrapped: row.Wrapped, KEKVersion: row.KEKVersion},
			{TenantID: tB, SubjectID: s1, Wrapped: row.Wrapped, KEKVersion: row.KEKVersion},
		}
		for _, c := range copies {
			if err := ks.Write(bg(), func(tx store.KeyTx) error { return tx.InsertSubjectKey(c) }); err != nil {
				t.Fatal(err)
			}
			if _, err := m.SubjectKey(bg(), c.TenantID, c.SubjectID); !errors.Is(err, ErrDecrypt) {
				t.Errorf("copied key row (tenant %v): %v", c.TenantID == tB, err)
			}
		}

		// Field ciphertexts moved to another field or subject.
		ct := must[[]byte](t)(dk1.Seal(FieldAD(tA, s1, "email"), []byte("a@example.com")))
		dk2 := must[*DataKey](t)(m.SubjectKey(bg(), tA, s2))
		if _, err := dk1.Open(FieldAD(tA, s1, "phone"), ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("moved to another field: %v", err)
		}
		if _, err := dk2.Open(FieldAD(tA, s2, "email"), ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("moved to another subject: %v", err)
		}

		// A tenant key copied to another tenant does not unwrap there.
		var keysA []store.TenantKey
		ks.Read(bg(), func(tx store.KeyTx) (err error) { keysA, err = tx.ListTenantKeys(tA); return err })
		tC := store.NewID()
		ks.Write(bg(), func(tx store.KeyTx) error {
			for _, k := range keysA {
				k.TenantID = tC
				if err := tx.InsertTenantKey(k); err != nil {
					return err
				}
			}
			return nil
		})
		if _, err := m.BlindIndex(bg(), tC, "email", "a@example.com"); !errors.Is(err, ErrDecrypt) {
			t.Errorf("tenant keys copied to another tenant: %v", err)
		}
		// ... nor as another purpose of the same tenant.
		tD := store.NewID()
		if err := m.EnsureTenant(bg(), tD); err != nil {
			t.Fatal(err)
		}
		var keysD []store.TenantKey
		ks.Read(bg(), func(tx store.KeyTx) (err error) { keysD, err = tx.ListTenantKeys(tD); return err })
		for _, k := range keysD {
			if k.Purpose == store.KeyPurposeIndex {
				k.Purpose, k.Version = store.KeyPurposeKEK, 2
				if err := ks.Write(bg(), func(tx store.KeyTx) error { return tx.InsertTenantKey(k) }); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := NewManager(root, ks, ManagerOptions{}).EnsureTenant(bg(), tD); !errors.Is(err, ErrDecrypt) {
			t.Errorf("index key relabelled as a KEK: %v", err)
		}
	})
}

func TestWrongRootKey(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	_, root := rootFile(t)
	_, other := rootFile(t)
	tenant := store.NewID()
	must[*DataKey](t)(NewManager(root, ks, ManagerOptions{}).NewSubjectKey(bg(), tenant, "s"))
	_, err := NewManager(other, ks, ManagerOptions{}).SubjectKey(bg(), tenant, "s")
	if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("SubjectKey under another root key = %v", err)
	}
}

func TestBlindIndex(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	_, root := rootFile(t)
	m := NewManager(root, ks, ManagerOptions{})
	tA, tB := store.NewID(), store.NewID()
	a := must[[]byte](t)(m.BlindIndex(bg(), tA, "email", "alice@example.com"))
	if len(a) != 32 {
		t.Fatalf("length %d", len(a))
	}
	// Deterministic, and equal from another instance.
	if b := must[[]byte](t)(NewManager(root, ks, ManagerOptions{}).BlindIndex(bg(), tA, "email", "alice@example.com")); !bytes.Equal(a, b) {
		t.Fatal("not deterministic across instances")
	}
	// It is HMAC-SHA256(index key, kind || 0 || value).
	tk := must[*tenantKeys](t)(m.tenant(bg(), tA, false))
	h := tk.indexPool.Get().(*indexHasher)
	var rows []store.TenantKey
	ks.Read(bg(), func(tx store.KeyTx) (err error) { rows, err = tx.ListTenantKeys(tA); return err })
	for _, r := range rows {
		if r.Purpose == store.KeyPurposeIndex {
			key := must[[]byte](t)(m.unwrapTenantKey(r))
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte("email\x00alice@example.com"))
			if !bytes.Equal(mac.Sum(nil), a) {
				t.Fatal("BlindIndex is not HMAC-SHA256 over kind, NUL, value")
			}
		}
	}
	tk.indexPool.Put(h)

	differ := map[string][]byte{
		"other tenant": must[[]byte](t)(m.BlindIndex(bg(), tB, "email", "alice@example.com")),
		"other kind":   must[[]byte](t)(m.BlindIndex(bg(), tA, "login", "alice@example.com")),
		"other value":  must[[]byte](t)(m.BlindIndex(bg(), tA, "email", "alice@example.org")),
		"kind shifted": must[[]byte](t)(m.BlindIndex(bg(), tA, "emai", "l\x00alice@example.com")),
	}
	for name, b := range differ {
		if bytes.Equal(a, b) {
			t.Errorf("%s: same index", name)
		}
	}
	for _, c := range []struct{ kind, value string }{{"", "x"}, {"e\x00", "x"}, {"email", ""}} {
		if _, err := m.BlindIndex(bg(), tA, c.kind, c.value); err == nil {
			t.Errorf("BlindIndex(%q, %q) accepted", c.kind, c.value)
		}
	}
	if n := testing.AllocsPerRun(100, func() { m.BlindIndex(bg(), tA, "email", "alice@example.com") }); n > 1 && !raceEnabled {
		t.Errorf("BlindIndex allocates %v times, want 1", n)
	}
}

func TestAuditKeys(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	_, root := rootFile(t)
	m := NewManager(root, ks, ManagerOptions{})
	tenant := store.NewID()
	if _, err := m.AuditPublicKey(bg(), tenant); !errors.Is(err, ErrNoKey) {
		t.Fatalf("AuditPublicKey before any key = %v", err)
	}
	priv := must[ed25519.PrivateKey](t)(m.AuditSigner(bg(), tenant))
	pub := must[ed25519.PublicKey](t)(m.AuditPublicKey(bg(), tenant))
	msg := []byte("checkpoint 42")
	if !ed25519.Verify(pub, msg, ed25519.Sign(priv, msg)) {
		t.Fatal("signature does not verify")
	}
	// Callers cannot alter the cached key.
	clear(priv)
	pub2 := must[ed25519.PublicKey](t)(NewManager(root, ks, ManagerOptions{}).AuditPublicKey(bg(), tenant))
	priv2 := must[ed25519.PrivateKey](t)(m.AuditSigner(bg(), tenant))
	if !pub2.Equal(pub) || !ed25519.Verify(pub, msg, ed25519.Sign(priv2, msg)) {
		t.Fatal("audit key changed")
	}
	otherTenant := store.NewID()
	if _, err := m.AuditPublicKey(bg(), otherTenant); !errors.Is(err, ErrNoKey) {
		t.Fatalf("AuditPublicKey of a tenant without keys = %v, want ErrNoKey (and nothing created)", err)
	}
	if err := m.EnsureTenant(bg(), otherTenant); err != nil {
		t.Fatal(err)
	}
	other := must[ed25519.PublicKey](t)(m.AuditPublicKey(bg(), otherTenant))
	if other.Equal(pub) {
		t.Fatal("two tenants share an audit key")
	}
}

func TestCacheBounded(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	_, root := rootFile(t)
	tenant := store.NewID()
	for _, size := range []int{1, 10, 300, -1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			m := NewManager(root, ks, ManagerOptions{CacheSize: size})
			var subjects []string
			for range 50 {
				s := store.NewID()
				subjects = append(subjects, s)
				must[*DataKey](t)(m.NewSubjectKey(bg(), tenant, s))
			}
			for _, s := range subjects {
				must[*DataKey](t)(m.SubjectKey(bg(), tenant, s))
			}
			if n := m.cache.len(); n > max(size, 0) {
				t.Fatalf("cache holds %d keys, bound %d", n, size)
			}
		})
	}
}

// TestCacheLRU: the most recently used keys stay, the least recently used go.
func TestCacheLRU(t *testing.T) {
	c := newKeyCache(3, 0)
	dk := testDataKey(t)
	k := func(s string) cacheKey { return cacheKey{"t", s} }
	c.add(k("a"), dk, 0)
	c.add(k("b"), dk, 0)
	c.add(k("c"), dk, 0)
	c.get(k("a"), 0)
	c.add(k("d"), dk, 0) // evicts b
	for s, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, _, ok := c.get(k(s), 0); ok != want {
			t.Errorf("%s cached = %v, want %v", s, ok, want)
		}
	}
	c.tomb(k("c"))
	if _, tomb, ok := c.get(k("c"), 0); !ok || !tomb {
		t.Error("tombstone not recorded")
	}
	c.add(k("c"), dk, 0) // a racing load must not resurrect it
	if _, tomb, _ := c.get(k("c"), 0); !tomb {
		t.Error("a load replaced a tombstone")
	}
}

// TestConcurrentUse exercises every path at once, for the race detector.
func TestConcurrentUse(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		m := NewManager(root, ks, ManagerOptions{CacheSize: 16})
		tenant := store.NewID()
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 20 {
					s := fmt.Sprintf("s-%d-%d", g, i)
					dk, err := m.NewSubjectKey(bg(), tenant, s)
					if err != nil {
						t.Error(err)
						return
					}
					ad := FieldAD(tenant, s, "f")
					ct, _ := dk.Seal(ad, []byte("v"))
					k, err := m.SubjectKey(bg(), tenant, s)
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := k.Open(ad, ct); err != nil {
						t.Error(err)
					}
					if _, err := m.BlindIndex(bg(), tenant, "email", s); err != nil {
						t.Error(err)
					}
					if i%3 == 0 {
						if err := m.Shred(bg(), tenant, s); err != nil {
							t.Error(err)
						}
						if _, err := m.SubjectKey(bg(), tenant, s); !errors.Is(err, ErrShredded) {
							t.Errorf("after shred: %v", err)
						}
					}
				}
			})
		}
		wg.Wait()
	})
}
