package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// KeyEngineCase is one engine a key-store test can run on.
type KeyEngineCase struct {
	// Name is the engine name, for t.Run.
	Name string
	// Open returns a fresh, migrated, empty key store that is closed (and,
	// for PostgreSQL, dropped) when the test ends. It skips the test when
	// the engine is not configured.
	Open func(t testing.TB) store.KeyStore
}

// KeyEngines returns every engine for the key store, SQLite first.
func KeyEngines() []KeyEngineCase {
	return []KeyEngineCase{
		{Name: "sqlite", Open: OpenKeyStoreSQLite},
		{Name: "postgres", Open: OpenKeyStorePostgres},
	}
}

// OpenKeyStoreSQLite opens a fresh key store in its own SQLite file
// (keys.db) in t's temporary directory.
func OpenKeyStoreSQLite(t testing.TB) store.KeyStore {
	t.Helper()
	return OpenKeyStoreDSN(t, "sqlite:"+filepath.Join(t.TempDir(), "keys.db"), engines.Options{})
}

// OpenKeyStorePostgres opens a fresh key store in a new PostgreSQL schema,
// or skips. To put it beside a data store, as a deployment does by default,
// open both with OpenDSN and OpenKeyStoreDSN on one PostgresSchemaDSN.
func OpenKeyStorePostgres(t testing.TB) store.KeyStore {
	t.Helper()
	return OpenKeyStoreDSN(t, PostgresSchemaDSN(t), engines.Options{})
}

// OpenKeyStoreDSN opens the key store at dsn and closes it when t ends.
func OpenKeyStoreDSN(t testing.TB, dsn string, opts engines.Options) store.KeyStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	ks, err := engines.OpenKeyStore(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open key store: %v", err)
	}
	t.Cleanup(func() {
		if err := ks.Close(); err != nil {
			t.Errorf("close key store: %v", err)
		}
	})
	return ks
}

// RunKeyStore runs the key-store conformance suite against the engine open
// returns, each subtest on its own fresh key store.
func RunKeyStore(t *testing.T, open func(t testing.TB) store.KeyStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ks store.KeyStore)
	}{
		{"Migrations", testKeyMigrations},
		{"TenantKeys", testTenantKeys},
		{"TenantKeyInvalid", testTenantKeyInvalid},
		{"TenantKeyRewrap", testTenantKeyRewrap},
		{"TenantKeyConcurrent", testTenantKeyConcurrent},
		{"SubjectKeys", testSubjectKeys},
		{"Shred", testShred},
		{"SubjectKeyRewrap", testSubjectKeyRewrap},
		{"SubjectKeysConcurrent", testSubjectKeysConcurrent},
		{"KeyReadOnly", testKeyReadOnly},
		{"KeyAtomicity", testKeyAtomicity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func kwrite(t testing.TB, ks store.KeyStore, fn func(store.KeyTx) error) {
	t.Helper()
	if err := ks.Write(ctx(t), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func kread(t testing.TB, ks store.KeyStore, fn func(store.KeyTx) error) {
	t.Helper()
	if err := ks.Read(ctx(t), fn); err != nil {
		t.Fatalf("read: %v", err)
	}
}

func tenantKey(tenant, purpose string, version int, root uint32) store.TenantKey {
	return store.TenantKey{TenantID: tenant, Purpose: purpose, Version: version,
		Wrapped: []byte(fmt.Sprintf("wrapped %s/%s/%d", tenant, purpose, version)), RootKeyID: root, CreatedAt: t0}
}

func testKeyMigrations(t *testing.T, ks store.KeyStore) {
	st, err := ks.Migrations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpToDate() || st.Latest < 1 || st.Current != st.Latest {
		t.Fatalf("migrations = %+v, want current = latest >= 1", st)
	}
	if e := ks.Engine(); e != "sqlite" && e != "postgres" {
		t.Fatalf("Engine() = %q", e)
	}
	if err := ks.Ping(ctx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func testTenantKeys(t *testing.T, ks store.KeyStore) {
	a, b := store.NewID(), store.NewID()
	purposes := []string{store.KeyPurposeKEK, store.KeyPurposeIndex, store.KeyPurposeAuditSigning}
	kwrite(t, ks, func(tx store.KeyTx) error {
		for _, p := range purposes {
			if err := tx.InsertTenantKey(tenantKey(a, p, 1, 4294967295)); err != nil {
				return err
			}
		}
		// A conflict leaves the transaction usable.
		wantErr(t, tx.InsertTenantKey(tenantKey(a, store.KeyPurposeKEK, 1, 7)), store.ErrConflict)
		return tx.InsertTenantKey(tenantKey(a, store.KeyPurposeKEK, 2, 7))
	})
	kwrite(t, ks, func(tx store.KeyTx) error { return tx.InsertTenantKey(tenantKey(b, store.KeyPurposeKEK, 1, 7)) })

	kread(t, ks, func(tx store.KeyTx) error {
		got, err := tx.ListTenantKeys(a)
		if err != nil {
			return err
		}
		var names []string
		for _, k := range got {
			names = append(names, fmt.Sprintf("%s/%d", k.Purpose, k.Version))
			if k.TenantID != a {
				t.Errorf("tenant %s's list holds a key of %s", a, k.TenantID)
			}
		}
		if want := []string{"audit_signing/1", "index/1", "kek/1", "kek/2"}; !slices.Equal(names, want) {
			t.Errorf("ListTenantKeys = %v, want %v", names, want)
		}
		k := got[2]
		if !bytes.Equal(k.Wrapped, []byte("wrapped "+a+"/kek/1")) || k.RootKeyID != 4294967295 ||
			!k.CreatedAt.Equal(us(t0)) || k.CreatedAt.Location() != time.UTC || !k.RetiredAt.IsZero() {
			t.Errorf("kek/1 = %+v", k)
		}
		if got, err := tx.ListTenantKeys(store.NewID()); err != nil || len(got) != 0 {
			t.Errorf("unknown tenant: %v, %v", got, err)
		}
		ts, err := tx.ListKeyTenants()
		if err != nil {
			return err
		}
		want := []string{a, b}
		slices.Sort(want)
		if !slices.Equal(ts, want) {
			t.Errorf("ListKeyTenants = %v, want %v", ts, want)
		}
		return nil
	})

	at := t0.Add(time.Hour)
	kwrite(t, ks, func(tx store.KeyTx) error { return tx.RetireTenantKeys(a, store.KeyPurposeKEK, 2, at) })
	kwrite(t, ks, func(tx store.KeyTx) error { return tx.RetireTenantKeys(a, store.KeyPurposeKEK, 2, at.Add(time.Hour)) })
	kread(t, ks, func(tx store.KeyTx) error {
		got, err := tx.ListTenantKeys(a)
		if err != nil {
			return err
		}
		for _, k := range got {
			retired := k.Purpose == store.KeyPurposeKEK && k.Version == 1
			if retired && !k.RetiredAt.Equal(us(at)) || !retired && !k.RetiredAt.IsZero() {
				t.Errorf("%s/%d retired at %v", k.Purpose, k.Version, k.RetiredAt)
			}
		}
		// Another tenant's keys are untouched.
		other, err := tx.ListTenantKeys(b)
		if err == nil && (len(other) != 1 || !other[0].RetiredAt.IsZero()) {
			t.Errorf("tenant b's keys = %+v", other)
		}
		return err
	})
}

func testTenantKeyInvalid(t *testing.T, ks store.KeyStore) {
	a := store.NewID()
	cases := []struct {
		name string
		k    store.TenantKey
	}{
		{"empty tenant", tenantKey("", store.KeyPurposeKEK, 1, 1)},
		{"unknown purpose", tenantKey(a, "signing", 1, 1)},
		{"version 0", tenantKey(a, store.KeyPurposeKEK, 0, 1)},
		{"negative version", tenantKey(a, store.KeyPurposeKEK, -1, 1)},
		{"empty wrapped", store.TenantKey{TenantID: a, Purpose: store.KeyPurposeKEK, Version: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, ks.Write(ctx(t), func(tx store.KeyTx) error { return tx.InsertTenantKey(c.k) }), store.ErrInvalid)
		})
	}
	wantErr(t, ks.Write(ctx(t), func(tx store.KeyTx) error {
		return tx.InsertSubjectKey(store.SubjectKey{TenantID: a, SubjectID: "", Wrapped: []byte{1}, KEKVersion: 1})
	}), store.ErrInvalid)
	wantErr(t, ks.Write(ctx(t), func(tx store.KeyTx) error {
		return tx.InsertSubjectKey(store.SubjectKey{TenantID: a, SubjectID: "s", Wrapped: []byte{1}, KEKVersion: 0})
	}), store.ErrInvalid)
	wantErr(t, ks.Write(ctx(t), func(tx store.KeyTx) error {
		return tx.InsertSubjectKey(store.SubjectKey{TenantID: a, SubjectID: "s", KEKVersion: 1})
	}), store.ErrInvalid)
	kread(t, ks, func(tx store.KeyTx) error {
		ts, err := tx.ListKeyTenants()
		if err == nil && len(ts) != 0 {
			t.Errorf("invalid keys were stored: %v", ts)
		}
		return err
	})
}

func testTenantKeyRewrap(t *testing.T, ks store.KeyStore) {
	a, b := store.NewID(), store.NewID()
	kwrite(t, ks, func(tx store.KeyTx) error {
		for _, k := range []store.TenantKey{
			tenantKey(a, store.KeyPurposeKEK, 1, 10), tenantKey(a, store.KeyPurposeIndex, 1, 10),
			tenantKey(b, store.KeyPurposeKEK, 1, 20), tenantKey(b, store.KeyPurposeIndex, 1, 30),
		} {
			if err := tx.InsertTenantKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	kread(t, ks, func(tx store.KeyTx) error {
		n, err := tx.CountTenantKeysByRoot()
		if err == nil && (len(n) != 3 || n[10] != 2 || n[20] != 1 || n[30] != 1) {
			t.Errorf("CountTenantKeysByRoot = %v", n)
		}
		todo, err := tx.TenantKeysNotWrappedBy(30, 2)
		if err != nil {
			return err
		}
		if len(todo) != 2 || todo[0].RootKeyID == 30 || todo[1].RootKeyID == 30 {
			t.Errorf("TenantKeysNotWrappedBy(30, 2) = %+v", todo)
		}
		return nil
	})
	kwrite(t, ks, func(tx store.KeyTx) error {
		// Wrong expected root key: nothing changes, tx stays usable.
		wantErr(t, tx.RewrapTenantKey(a, store.KeyPurposeKEK, 1, 99, []byte("new"), 30), store.ErrNotFound)
		wantErr(t, tx.RewrapTenantKey(a, store.KeyPurposeKEK, 7, 10, []byte("new"), 30), store.ErrNotFound)
		for _, k := range []store.TenantKey{tenantKey(a, store.KeyPurposeKEK, 1, 10), tenantKey(a, store.KeyPurposeIndex, 1, 10), tenantKey(b, store.KeyPurposeKEK, 1, 20)} {
			if err := tx.RewrapTenantKey(k.TenantID, k.Purpose, k.Version, k.RootKeyID, []byte("rewrapped"), 30); err != nil {
				return err
			}
		}
		return nil
	})
	kread(t, ks, func(tx store.KeyTx) error {
		todo, err := tx.TenantKeysNotWrappedBy(30, 100)
		if err == nil && len(todo) != 0 {
			t.Errorf("after rewrap, %d keys remain", len(todo))
		}
		n, err := tx.CountTenantKeysByRoot()
		if err == nil && (len(n) != 1 || n[30] != 4) {
			t.Errorf("CountTenantKeysByRoot = %v", n)
		}
		got, err := tx.ListTenantKeys(a)
		if err == nil && (len(got) != 2 || string(got[0].Wrapped) != "rewrapped") {
			t.Errorf("ListTenantKeys = %+v", got)
		}
		return err
	})
}

// testTenantKeyConcurrent: instances creating the same tenant key at once
// agree on one winner; every other insert sees ErrConflict.
func testTenantKeyConcurrent(t *testing.T, ks store.KeyStore) {
	a := store.NewID()
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			k := tenantKey(a, store.KeyPurposeKEK, 1, uint32(i))
			errs[i] = ks.Write(context.Background(), func(tx store.KeyTx) error { return tx.InsertTenantKey(k) })
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d inserts succeeded, want exactly 1", ok)
	}
}

func subjectKey(tenant, subject string, kek int) store.SubjectKey {
	return store.SubjectKey{TenantID: tenant, SubjectID: subject, Wrapped: []byte("dek of " + subject), KEKVersion: kek, CreatedAt: t0}
}

func testSubjectKeys(t *testing.T, ks store.KeyStore) {
	a, b := store.NewID(), store.NewID()
	s1 := store.NewID()
	kwrite(t, ks, func(tx store.KeyTx) error {
		if err := tx.InsertSubjectKey(subjectKey(a, s1, 1)); err != nil {
			return err
		}
		wantErr(t, tx.InsertSubjectKey(subjectKey(a, s1, 2)), store.ErrConflict)
		// The same subject id in another tenant is another subject.
		return tx.InsertSubjectKey(subjectKey(b, s1, 3))
	})
	kread(t, ks, func(tx store.KeyTx) error {
		k, err := tx.GetSubjectKey(a, s1)
		if err != nil {
			return err
		}
		if k.TenantID != a || k.SubjectID != s1 || string(k.Wrapped) != "dek of "+s1 || k.KEKVersion != 1 || !k.CreatedAt.Equal(us(t0)) {
			t.Errorf("GetSubjectKey = %+v", k)
		}
		if k, err := tx.GetSubjectKey(b, s1); err != nil || k.KEKVersion != 3 {
			t.Errorf("tenant b: %+v, %v", k, err)
		}
		_, err = tx.GetSubjectKey(a, store.NewID())
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.GetSubjectKey(store.NewID(), s1)
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.GetShredded(a, s1)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
}

func testShred(t *testing.T, ks store.KeyStore) {
	a, b := store.NewID(), store.NewID()
	s1, never := store.NewID(), store.NewID()
	kwrite(t, ks, func(tx store.KeyTx) error {
		if err := tx.InsertSubjectKey(subjectKey(a, s1, 1)); err != nil {
			return err
		}
		return tx.InsertSubjectKey(subjectKey(b, s1, 1))
	})
	first := t0.Add(time.Minute)
	kwrite(t, ks, func(tx store.KeyTx) error {
		deleted, err := tx.DestroySubjectKey(a, s1, first)
		if err == nil && !deleted {
			t.Error("DestroySubjectKey reported nothing deleted")
		}
		return err
	})
	kwrite(t, ks, func(tx store.KeyTx) error {
		deleted, err := tx.DestroySubjectKey(a, s1, first.Add(time.Hour))
		if err == nil && deleted {
			t.Error("second DestroySubjectKey deleted something")
		}
		if err != nil {
			return err
		}
		deleted, err = tx.DestroySubjectKey(a, never, first)
		if err == nil && deleted {
			t.Error("destroying a key that never existed deleted something")
		}
		if err != nil {
			return err
		}
		// A destroyed key is never replaced; the tx stays usable.
		wantErr(t, tx.InsertSubjectKey(subjectKey(a, s1, 1)), store.ErrKeyDestroyed)
		wantErr(t, tx.InsertSubjectKey(subjectKey(a, never, 1)), store.ErrKeyDestroyed)
		return tx.InsertSubjectKey(subjectKey(a, store.NewID(), 1))
	})
	kread(t, ks, func(tx store.KeyTx) error {
		_, err := tx.GetSubjectKey(a, s1)
		wantErr(t, err, store.ErrKeyDestroyed)
		if errors.Is(err, store.ErrNotFound) {
			t.Error("a destroyed key also reads as never created")
		}
		_, err = tx.GetSubjectKey(a, never)
		wantErr(t, err, store.ErrKeyDestroyed)
		sh, err := tx.GetShredded(a, s1)
		if err != nil {
			return err
		}
		if !sh.DestroyedAt.Equal(us(first)) || sh.TenantID != a || sh.SubjectID != s1 {
			t.Errorf("ledger = %+v, want the first destruction time", sh)
		}
		// The other tenant's subject with the same id is untouched.
		if k, err := tx.GetSubjectKey(b, s1); err != nil || string(k.Wrapped) != "dek of "+s1 {
			t.Errorf("tenant b's key: %+v, %v", k, err)
		}
		_, err = tx.GetShredded(b, s1)
		wantErr(t, err, store.ErrNotFound)
		n, err := tx.CountShredded(a)
		if err == nil && n != 2 {
			t.Errorf("CountShredded = %d, want 2", n)
		}
		c, err := tx.CountSubjectKeys(a)
		if err == nil && (len(c) != 1 || c[1] != 1) {
			t.Errorf("CountSubjectKeys = %v", c)
		}
		return err
	})
}

func testSubjectKeyRewrap(t *testing.T, ks store.KeyStore) {
	a, b := store.NewID(), store.NewID()
	var subjects []string
	kwrite(t, ks, func(tx store.KeyTx) error {
		for i := range 10 {
			s := store.NewID()
			subjects = append(subjects, s)
			if err := tx.InsertSubjectKey(subjectKey(a, s, 1+i%2)); err != nil {
				return err
			}
		}
		return tx.InsertSubjectKey(subjectKey(b, store.NewID(), 1))
	})
	kread(t, ks, func(tx store.KeyTx) error {
		c, err := tx.CountSubjectKeys(a)
		if err == nil && (c[1] != 5 || c[2] != 5 || len(c) != 2) {
			t.Errorf("CountSubjectKeys = %v", c)
		}
		page, err := tx.SubjectKeysNotAt(a, 3, 4)
		if err != nil {
			return err
		}
		var got []string
		for _, k := range page {
			got = append(got, k.SubjectID)
		}
		sorted := slices.Sorted(slices.Values(subjects))
		if !slices.Equal(got, sorted[:4]) {
			t.Errorf("SubjectKeysNotAt page = %v, want %v", got, sorted[:4])
		}
		return nil
	})
	// Shred one while "rotation" is under way: its rewrap must not bring
	// it back.
	kwrite(t, ks, func(tx store.KeyTx) error { _, err := tx.DestroySubjectKey(a, subjects[0], t0); return err })
	rewrapped := 0
	for {
		var page []store.SubjectKey
		kread(t, ks, func(tx store.KeyTx) (err error) { page, err = tx.SubjectKeysNotAt(a, 3, 3); return err })
		if len(page) == 0 {
			break
		}
		kwrite(t, ks, func(tx store.KeyTx) error {
			for _, k := range page {
				if err := tx.RewrapSubjectKey(a, k.SubjectID, k.KEKVersion, []byte("v3"), 3); err != nil {
					return err
				}
				rewrapped++
				// A second rewrap from the old version finds nothing.
				wantErr(t, tx.RewrapSubjectKey(a, k.SubjectID, k.KEKVersion, []byte("v3"), 3), store.ErrNotFound)
			}
			return nil
		})
	}
	if rewrapped != 9 {
		t.Errorf("rewrapped %d keys, want 9", rewrapped)
	}
	kwrite(t, ks, func(tx store.KeyTx) error {
		wantErr(t, tx.RewrapSubjectKey(a, subjects[0], 1, []byte("v3"), 3), store.ErrNotFound)
		return nil
	})
	kread(t, ks, func(tx store.KeyTx) error {
		_, err := tx.GetSubjectKey(a, subjects[0])
		wantErr(t, err, store.ErrKeyDestroyed)
		k, err := tx.GetSubjectKey(a, subjects[1])
		if err == nil && (string(k.Wrapped) != "v3" || k.KEKVersion != 3) {
			t.Errorf("rewrapped key = %+v", k)
		}
		c, err := tx.CountSubjectKeys(a)
		if err == nil && (len(c) != 1 || c[3] != 9) {
			t.Errorf("CountSubjectKeys = %v", c)
		}
		cb, err := tx.CountSubjectKeys(b)
		if err == nil && (len(cb) != 1 || cb[1] != 1) {
			t.Errorf("tenant b: CountSubjectKeys = %v", cb)
		}
		return err
	})
}

func testSubjectKeysConcurrent(t *testing.T, ks store.KeyStore) {
	a := store.NewID()
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			k := subjectKey(a, fmt.Sprintf("s%02d", i), 1)
			errs[i] = ks.Write(context.Background(), func(tx store.KeyTx) error { return tx.InsertSubjectKey(k) })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("insert %d: %v", i, err)
		}
	}
	kread(t, ks, func(tx store.KeyTx) error {
		c, err := tx.CountSubjectKeys(a)
		if err == nil && c[1] != n {
			t.Errorf("CountSubjectKeys = %v, want %d", c, n)
		}
		return err
	})
}

func testKeyReadOnly(t *testing.T, ks store.KeyStore) {
	a := store.NewID()
	cases := []struct {
		name string
		fn   func(tx store.KeyTx) error
	}{
		{"InsertTenantKey", func(tx store.KeyTx) error { return tx.InsertTenantKey(tenantKey(a, store.KeyPurposeKEK, 1, 1)) }},
		{"RewrapTenantKey", func(tx store.KeyTx) error {
			return tx.RewrapTenantKey(a, store.KeyPurposeKEK, 1, 1, []byte{1}, 2)
		}},
		{"RetireTenantKeys", func(tx store.KeyTx) error { return tx.RetireTenantKeys(a, store.KeyPurposeKEK, 2, t0) }},
		{"InsertSubjectKey", func(tx store.KeyTx) error { return tx.InsertSubjectKey(subjectKey(a, "s", 1)) }},
		{"DestroySubjectKey", func(tx store.KeyTx) error { _, err := tx.DestroySubjectKey(a, "s", t0); return err }},
		{"RewrapSubjectKey", func(tx store.KeyTx) error { return tx.RewrapSubjectKey(a, "s", 1, []byte{1}, 2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, ks.Read(ctx(t), c.fn), store.ErrReadOnly)
		})
	}
}

func testKeyAtomicity(t *testing.T, ks store.KeyStore) {
	a := store.NewID()
	boom := errors.New("boom")
	err := ks.Write(ctx(t), func(tx store.KeyTx) error {
		if err := tx.InsertTenantKey(tenantKey(a, store.KeyPurposeKEK, 1, 1)); err != nil {
			return err
		}
		if err := tx.InsertSubjectKey(subjectKey(a, "s", 1)); err != nil {
			return err
		}
		if _, err := tx.DestroySubjectKey(a, "t", t0); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	kread(t, ks, func(tx store.KeyTx) error {
		if got, _ := tx.ListTenantKeys(a); len(got) != 0 {
			t.Error("a tenant key of a failed write was kept")
		}
		_, err := tx.GetSubjectKey(a, "s")
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.GetShredded(a, "t")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	committed := false
	kwrite(t, ks, func(tx store.KeyTx) error {
		tx.OnCommit(func() { committed = true })
		return tx.InsertSubjectKey(subjectKey(a, "s", 1))
	})
	if !committed {
		t.Error("OnCommit hook did not run")
	}
}
