package keys

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// sealed is a value sealed for a subject, to check it still opens.
type sealed struct {
	tenant, subject string
	ct              []byte
}

func (s sealed) check(t testing.TB, m *Manager) {
	t.Helper()
	dk, err := m.SubjectKey(bg(), s.tenant, s.subject)
	if err != nil {
		t.Fatalf("SubjectKey: %v", err)
	}
	if got, err := dk.Open(FieldAD(s.tenant, s.subject, "f"), s.ct); err != nil || string(got) != s.subject {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func seed(t testing.TB, m *Manager, tenants, subjects int) []sealed {
	t.Helper()
	var out []sealed
	for range tenants {
		tn := store.NewID()
		for range subjects {
			s := store.NewID()
			dk := must[*DataKey](t)(m.NewSubjectKey(bg(), tn, s))
			out = append(out, sealed{tn, s, must[[]byte](t)(dk.Seal(FieldAD(tn, s, "f"), []byte(s)))})
		}
	}
	return out
}

func rootCounts(t testing.TB, ks store.KeyStore) map[uint32]int {
	t.Helper()
	var n map[uint32]int
	if err := ks.Read(bg(), func(tx store.KeyTx) (err error) { n, err = tx.CountTenantKeysByRoot(); return err }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRootRotation is `trustee keys rotate` then `trustee keys retire` while
// servers keep running: a server started before the rotation goes on
// reading (it reloads the key file when it meets the new root key) and the
// old root key is removed once nothing references it.
func TestRootRotation(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		path, root := rootFile(t)
		reload := func() (*RootKey, error) { return LoadRootKey(path) }
		server := NewManager(root, ks, ManagerOptions{ReloadRoot: reload, CacheSize: -1, TenantKeyTTL: time.Nanosecond})
		data := seed(t, server, 3, 4)
		oldID := root.PrimaryKeyID()

		// rotate: a new primary in the file, every tenant key re-wrapped.
		newRoot, err := AddRootKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if newRoot.PrimaryKeyID() == oldID || !newRoot.Has(oldID) || len(newRoot.KeyIDs()) != 2 {
			t.Fatalf("after AddRootKey: primary %d, ids %v", newRoot.PrimaryKeyID(), newRoot.KeyIDs())
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", st.Mode().Perm())
		}
		rot := NewManager(newRoot, ks, ManagerOptions{ReloadRoot: reload})
		n, err := rot.RewrapTenantKeys(bg())
		if err != nil || n != 9 {
			t.Fatalf("RewrapTenantKeys = %d, %v; want 9", n, err)
		}
		if c := rootCounts(t, ks); c[newRoot.PrimaryKeyID()] != 9 || len(c) != 1 {
			t.Fatalf("counts %v", c)
		}
		if n, err := rot.RewrapTenantKeys(bg()); n != 0 || err != nil {
			t.Fatalf("second RewrapTenantKeys = %d, %v", n, err)
		}

		// The running server still holds only the old key in memory; it
		// reloads the file and reads on.
		if server.Root().Has(newRoot.PrimaryKeyID()) {
			t.Fatal("test setup: the server already knows the new key")
		}
		for _, d := range data {
			d.check(t, server)
		}
		if !server.Root().Has(newRoot.PrimaryKeyID()) {
			t.Fatal("the server did not reload the root key")
		}
		// A server without a reloader cannot, and says why.
		stale := NewManager(root, ks, ManagerOptions{})
		if _, err := stale.SubjectKey(bg(), data[0].tenant, data[0].subject); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "does not hold") {
			t.Fatalf("stale server: %v", err)
		}

		// retire removes the old key...
		res, err := RetireRootKeys(bg(), path, ks, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Removed) != 1 || res.Removed[0] != oldID || res.Primary != newRoot.PrimaryKeyID() {
			t.Fatalf("retire = %+v", res)
		}
		after, err := LoadRootKey(path)
		if err != nil || after.Has(oldID) || len(after.KeyIDs()) != 1 {
			t.Fatalf("after retire: %v, %v", after.KeyIDs(), err)
		}
		// ...and a server started now, with the new file only, reads all.
		fresh := NewManager(after, ks, ManagerOptions{})
		for _, d := range data {
			d.check(t, fresh)
		}
		if res, err := RetireRootKeys(bg(), path, ks, 0); err != nil || len(res.Removed) != 0 {
			t.Fatalf("retire with nothing to retire = %+v, %v", res, err)
		}
	})
}

// TestRetireRefuses: retire refuses while a tenant key is still wrapped by
// an old root key, saying how many, and changes nothing.
func TestRetireRefuses(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	path, root := rootFile(t)
	seed(t, NewManager(root, ks, ManagerOptions{}), 2, 1)
	if _, err := AddRootKey(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	_, err := RetireRootKeys(bg(), path, ks, 0)
	var ref *StillReferencedError
	if !errors.As(err, &ref) || ref.Refs[root.PrimaryKeyID()] != 6 || !strings.Contains(err.Error(), "still wraps 6 tenant key(s)") || !strings.Contains(err.Error(), "rotate --resume") {
		t.Fatalf("RetireRootKeys = %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a refused retire changed the key file")
	}
	// rotate --resume finishes the job; then retire works.
	r, _ := LoadRootKey(path)
	if n, err := NewManager(r, ks, ManagerOptions{}).RewrapTenantKeys(bg()); err != nil || n != 6 {
		t.Fatalf("resume = %d, %v", n, err)
	}
	if res, err := RetireRootKeys(bg(), path, ks, 0); err != nil || len(res.Removed) != 1 {
		t.Fatalf("retire = %+v, %v", res, err)
	}
}

// TestRetireSweep: a server that loaded the old key file creates a tenant
// while retire runs; retire's final sweep re-wraps that tenant's keys from
// the old key it still holds, so nothing is left under a removed key.
func TestRetireSweep(t *testing.T) {
	ks := storetest.OpenKeyStoreSQLite(t)
	path, root := rootFile(t)
	seed(t, NewManager(root, ks, ManagerOptions{}), 1, 1)
	newRoot, err := AddRootKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(newRoot, ks, ManagerOptions{}).RewrapTenantKeys(bg()); err != nil {
		t.Fatal(err)
	}
	// This server never reloads: it wraps under the old primary.
	late := NewManager(root, ks, ManagerOptions{})
	var wg sync.WaitGroup
	var res RetireResult
	var rerr error
	wg.Go(func() { res, rerr = RetireRootKeys(bg(), path, ks, 300*time.Millisecond) })
	time.Sleep(100 * time.Millisecond)
	lateTenant := store.NewID()
	must[*DataKey](t)(late.NewSubjectKey(bg(), lateTenant, "s"))
	wg.Wait()
	if rerr != nil || res.Swept != 3 {
		t.Fatalf("retire = %+v, %v; want 3 swept", res, rerr)
	}
	if c := rootCounts(t, ks); len(c) != 1 || c[newRoot.PrimaryKeyID()] != 6 {
		t.Fatalf("counts after sweep %v", c)
	}
	after, _ := LoadRootKey(path)
	if _, err := NewManager(after, ks, ManagerOptions{}).SubjectKey(bg(), lateTenant, "s"); err != nil {
		t.Fatalf("the late tenant's key: %v", err)
	}
}

// TestKEKRotation: a new KEK version, subject keys re-wrapped in batches
// (interrupted and resumed), shredded keys stay shredded, and every
// ciphertext still opens, on this instance and on one that cached the old
// tenant keys.
func TestKEKRotation(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		clk := newClock()
		server := NewManager(root, ks, ManagerOptions{Now: clk.Now, CacheSize: -1})
		data := seed(t, server, 1, 25)
		tenant := data[0].tenant
		other := seed(t, server, 1, 2)
		if err := server.Shred(bg(), tenant, data[0].subject); err != nil {
			t.Fatal(err)
		}
		data = data[1:]

		rot := NewManager(root, ks, ManagerOptions{Now: clk.Now})
		v, err := rot.RotateKEK(bg(), tenant)
		if err != nil || v != 2 {
			t.Fatalf("RotateKEK = %d, %v", v, err)
		}
		// Interrupted after the first batch...
		ctx, cancel := context.WithCancel(bg())
		var calls []int
		n, err := rot.RewrapSubjectKeys(ctx, tenant, 7, func(done int) { calls = append(calls, done); cancel() })
		if !errors.Is(err, context.Canceled) || n != 7 || len(calls) != 1 {
			t.Fatalf("interrupted rewrap = %d, %v, %v", n, err, calls)
		}
		// ...while the server, with the old tenant keys cached, still
		// creates keys under version 1 and reads keys already under 2.
		s := store.NewID()
		dk := must[*DataKey](t)(server.NewSubjectKey(bg(), tenant, s))
		data = append(data, sealed{tenant, s, must[[]byte](t)(dk.Seal(FieldAD(tenant, s, "f"), []byte(s)))})
		for _, d := range data {
			d.check(t, server)
		}
		// ...and resumed.
		n, err = rot.RewrapSubjectKeys(bg(), tenant, 7, nil)
		if err != nil || n != 24-7+1 {
			t.Fatalf("resumed rewrap = %d, %v; want %d", n, err, 24-7+1)
		}
		st, err := ReadStatus(bg(), ks)
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range st.Tenants {
			if ts.TenantID != tenant {
				if len(ts.SubjectKeys) != 1 || ts.SubjectKeys[1] != 2 {
					t.Errorf("other tenant touched: %v", ts.SubjectKeys)
				}
				continue
			}
			if len(ts.SubjectKeys) != 1 || ts.SubjectKeys[2] != 25 || ts.Shredded != 1 {
				t.Errorf("status = %+v", ts)
			}
			var kek []KeyVersion
			for _, k := range ts.Keys {
				if k.Purpose == store.KeyPurposeKEK {
					kek = append(kek, k)
				}
			}
			if len(kek) != 2 || kek[0].RetiredAt.IsZero() || !kek[1].RetiredAt.IsZero() || kek[1].Version != 2 {
				t.Errorf("KEK versions = %+v", kek)
			}
		}
		for _, d := range append(data, other...) {
			d.check(t, server)
			d.check(t, NewManager(root, ks, ManagerOptions{}))
		}
		if _, err := server.SubjectKey(bg(), tenant, store.NewID()); !errors.Is(err, ErrNoKey) {
			t.Errorf("unknown subject after rotation: %v", err)
		}
		// New keys on the rotating instance use version 2 at once.
		must[*DataKey](t)(rot.NewSubjectKey(bg(), tenant, "after"))
		var row store.SubjectKey
		ks.Read(bg(), func(tx store.KeyTx) (err error) { row, err = tx.GetSubjectKey(tenant, "after"); return err })
		if row.KEKVersion != 2 {
			t.Errorf("new key under KEK version %d", row.KEKVersion)
		}
		if _, err := rot.RotateKEK(bg(), store.NewID()); !errors.Is(err, ErrNoKey) {
			t.Errorf("RotateKEK of a tenant without keys: %v", err)
		}
	})
}

func TestSaveRootKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	if err := WriteRootKeyFile(path); err != nil {
		t.Fatal(err)
	}
	// A symlink is followed: its target is replaced, the link stays.
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	r, err := AddRootKey(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
	back, err := LoadRootKey(path)
	if err != nil || back.PrimaryKeyID() != r.PrimaryKeyID() || len(back.KeyIDs()) != 2 {
		t.Fatalf("reloaded %v, %v", back, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if _, err := AddRootKey(""); err == nil || !strings.Contains(err.Error(), RootKeyEnv) {
		t.Errorf("AddRootKey without a file: %v", err)
	}
	os.Chmod(path, 0o644)
	if _, err := AddRootKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("AddRootKey on a world-readable file: %v", err)
	}
}

func TestDefaultKeyStoreDSN(t *testing.T) {
	cases := map[string]string{
		"sqlite:trustee-data/trustee.db":           "sqlite:trustee-data/keys.db",
		"sqlite:/var/lib/trustee/trustee.db":       "sqlite:/var/lib/trustee/keys.db",
		"sqlite:///var/lib/trustee/data.db":        "sqlite:/var/lib/trustee/keys.db",
		"file:/tmp/x.db":                           "sqlite:/tmp/keys.db",
		"trustee.db":                               "sqlite:keys.db",
		"/srv/keys.db":                             "sqlite:/srv/keys-keys.db",
		"postgres://u@db/trustee?sslmode=disable":  "postgres://u@db/trustee?sslmode=disable",
		"postgresql://u@db/trustee?search_path=tr": "postgresql://u@db/trustee?search_path=tr",
		"":          "",
		"mysql://x": "",
	}
	for in, want := range cases {
		if got := DefaultKeyStoreDSN(in); got != want {
			t.Errorf("DefaultKeyStoreDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
