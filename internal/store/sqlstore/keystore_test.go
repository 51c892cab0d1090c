package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// TestKeyStoreConformance runs the key-store suite on every engine.
func TestKeyStoreConformance(t *testing.T) {
	for _, e := range storetest.KeyEngines() {
		t.Run(e.Name, func(t *testing.T) {
			if e.Name == "postgres" {
				storetest.PostgresDSN(t) // skip once, with the reason
			}
			storetest.RunKeyStore(t, e.Open)
		})
	}
}

// TestKeyStoreBesideData: on PostgreSQL the key store may share the data
// store's schema (the default when no separate DSN is given): its tables and
// version table do not collide with the data schema's.
func TestKeyStoreBesideData(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	s := storetest.OpenDSN(t, dsn, engines.Options{})
	ks := storetest.OpenKeyStoreDSN(t, dsn, engines.Options{})
	ctx := context.Background()
	for _, m := range []func(context.Context) (store.MigrationStatus, error){s.Migrations, ks.Migrations} {
		if st, err := m(ctx); err != nil || !st.UpToDate() {
			t.Fatalf("migrations = %+v, %v", st, err)
		}
	}
	if err := ks.Write(ctx, func(tx store.KeyTx) error {
		return tx.InsertSubjectKey(store.SubjectKey{TenantID: "t", SubjectID: "s", Wrapped: []byte{1}, KEKVersion: 1})
	}); err != nil {
		t.Fatal(err)
	}
	// Reopening both runs no migration twice.
	storetest.OpenDSN(t, dsn, engines.Options{})
	storetest.OpenKeyStoreDSN(t, dsn, engines.Options{})
}

// TestKeyStoreSecureDeleteSQLite: destroying a subject key leaves none of its
// bytes in the SQLite file (PRAGMA secure_delete), and neither does
// replacing a wrapping.
func TestKeyStoreSecureDeleteSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	ctx := context.Background()
	ks, err := engines.OpenKeyStore(ctx, "sqlite:"+path, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 61)
	rand.Read(secret)
	old := make([]byte, 61)
	rand.Read(old)
	keep := []byte("a key that stays: 0123456789abcdef0123456789abcdef")
	write := func(fn func(store.KeyTx) error) {
		t.Helper()
		if err := ks.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx store.KeyTx) error {
		if err := tx.InsertSubjectKey(store.SubjectKey{TenantID: "t", SubjectID: "gone", Wrapped: secret, KEKVersion: 1}); err != nil {
			return err
		}
		if err := tx.InsertSubjectKey(store.SubjectKey{TenantID: "t", SubjectID: "rewrapped", Wrapped: old, KEKVersion: 1}); err != nil {
			return err
		}
		return tx.InsertSubjectKey(store.SubjectKey{TenantID: "t", SubjectID: "kept", Wrapped: keep, KEKVersion: 1})
	})
	// Flush the WAL into the file so the rows are really in it.
	ks.Close()
	if b, _ := os.ReadFile(path); !bytes.Contains(b, secret) || !bytes.Contains(b, keep) {
		t.Fatal("the keys were not written to the file (test setup)")
	}
	ks, err = engines.OpenKeyStore(ctx, "sqlite:"+path, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(func(tx store.KeyTx) error {
		if _, err := tx.DestroySubjectKey("t", "gone", time.Now()); err != nil {
			return err
		}
		return tx.RewrapSubjectKey("t", "rewrapped", 1, bytes.Repeat([]byte{7}, 61), 2)
	})
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, secret) {
		t.Error("the destroyed key's bytes are still in the SQLite file")
	}
	if bytes.Contains(b, old) {
		t.Error("the replaced wrapping is still in the SQLite file")
	}
	if !bytes.Contains(b, keep) {
		t.Error("the kept key is missing")
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Log("a WAL file remains after close")
	}
}
