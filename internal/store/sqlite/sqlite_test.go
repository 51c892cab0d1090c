package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/sqlite"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.OpenSQLite)
}

func open(t testing.TB, path string, opts sqlstore.Options) (*sqlite.DB, store.Store) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, sqlstore.NewStore(db)
}

func newTenant(slug string) store.Tenant {
	return store.Tenant{ID: store.NewID(), Slug: slug, Name: slug, Mode: "controller"}
}

// TestDurableAcrossReopen checks that committed writes survive Close and that
// reopening does not re-apply migrations.
func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, s := open(t, path, sqlstore.Options{})
	tn := newTenant("kept")
	if err := s.Write(context.Background(), func(tx store.Tx) error { return tx.CreateTenant(tn) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, s2 := open(t, path, sqlstore.Options{})
	err := s2.Read(context.Background(), func(tx store.Tx) error {
		_, err := tx.GetTenant(tn.ID)
		return err
	})
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	st, err := s2.Migrations(context.Background())
	if err != nil || !st.UpToDate() {
		t.Fatalf("migrations after reopen: %+v, %v", st, err)
	}
}

// TestGroupCommit checks that concurrent writes share transactions.
func TestGroupCommit(t *testing.T) {
	db, s := open(t, storetest.SQLitePath(t), sqlstore.Options{})
	const n = 256
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			err := s.Write(context.Background(), func(tx store.Tx) error {
				return tx.CreateTenant(newTenant(fmt.Sprintf("t%d", i)))
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	st := db.Stats()
	if st.Writes != n+0 {
		t.Fatalf("stats = %+v, want %d writes", st, n)
	}
	if st.Commits >= n {
		t.Errorf("%d commits for %d concurrent writes: no grouping", st.Commits, n)
	}
	t.Logf("%d writes in %d commits", st.Writes, st.Commits)
}

// TestNestedWithOuterContext: a Write function that calls Write with its
// caller's context (not tx.Context()) gets an error instead of stalling the
// writer forever.
func TestNestedWithOuterContext(t *testing.T) {
	_, s := open(t, storetest.SQLitePath(t), sqlstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var inner error
	err := s.Write(ctx, func(tx store.Tx) error {
		inner = s.Write(ctx, func(store.Tx) error { return nil })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, sqlstore.ErrNested) {
		t.Fatalf("nested write = %v, want ErrNested", inner)
	}
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.CreateTenant(newTenant("after")) }); err != nil {
		t.Fatalf("store unusable after a nested call: %v", err)
	}
}

// TestGoexitInWrite: runtime.Goexit (t.FailNow) inside a Write function
// fails that write and leaves the store working.
func TestGoexitInWrite(t *testing.T) {
	_, s := open(t, storetest.SQLitePath(t), sqlstore.Options{})
	err := s.Write(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateTenant(newTenant("lost")); err != nil {
			return err
		}
		runtime.Goexit()
		return nil
	})
	if err == nil {
		t.Fatal("write whose function called Goexit returned nil")
	}
	if err := s.Write(context.Background(), func(tx store.Tx) error { return tx.CreateTenant(newTenant("after")) }); err != nil {
		t.Fatalf("store unusable after Goexit: %v", err)
	}
	err = s.Read(context.Background(), func(tx store.Tx) error {
		if _, err := tx.GetTenantBySlug("lost"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("write of the Goexit function persisted: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCancelWhileQueued: a write whose context ends while it waits behind a
// long batch never runs, and the batch it would have joined is unaffected.
func TestCancelWhileQueued(t *testing.T) {
	_, s := open(t, storetest.SQLitePath(t), sqlstore.Options{})
	release := make(chan struct{})
	started := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- s.Write(context.Background(), func(tx store.Tx) error {
			close(started)
			<-release
			return tx.CreateTenant(newTenant("first"))
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- s.Write(ctx, func(tx store.Tx) error {
			ran <- struct{}{}
			return tx.CreateTenant(newTenant("second"))
		})
	}()
	time.Sleep(20 * time.Millisecond) // let it queue
	cancel()
	if err := <-secondDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write = %v", err)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Fatal("a write abandoned by its caller ran")
	default:
	}
	// The writer goes on.
	if err := s.Write(context.Background(), func(tx store.Tx) error { return tx.CreateTenant(newTenant("third")) }); err != nil {
		t.Fatal(err)
	}
}

// TestReadConnectionsAreQueryOnly: even SQL that bypasses the Tx methods'
// checks cannot write through a Read, and the error maps to ErrReadOnly.
func TestReadConnectionsAreQueryOnly(t *testing.T) {
	db, _ := open(t, storetest.SQLitePath(t), sqlstore.Options{})
	err := db.ReadConn(context.Background(), func(c *sqlstore.Conn) error {
		rows, err := c.Query("raw insert", `INSERT INTO leases (name, owner, expires_at) VALUES ('n', 'o', 1) RETURNING name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return c.Wrap("raw insert", rows.Err())
	})
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("raw write in a read = %v, want ErrReadOnly", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
		opts sqlstore.Options
		want string
	}{
		{"empty path", "", sqlstore.Options{}, "empty"},
		{"memory", ":memory:", sqlstore.Options{}, "in-memory"},
		{"uri parameters", filepath.Join(dir, "x.db?mode=ro"), sqlstore.Options{}, "'?'"},
		{"missing directory", filepath.Join(dir, "no", "such", "x.db"), sqlstore.Options{}, "x.db"},
		{"unknown schema", filepath.Join(dir, "y.db"), sqlstore.Options{Schema: "nope"}, `unknown schema "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := sqlite.Open(context.Background(), c.path, c.opts)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "y.db")); err == nil {
		t.Error("a failed open for an unknown schema created the file")
	}
}

func BenchmarkWriteParallel(b *testing.B) {
	var db *sqlite.DB
	storetest.BenchWriteParallel(b, func(tb testing.TB) store.Store {
		var s store.Store
		db, s = open(tb, storetest.SQLitePath(tb), sqlstore.Options{})
		return s
	}, 64)
	if st := db.Stats(); st.Commits > 0 {
		b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/commit")
	}
}

func BenchmarkWriteSerial(b *testing.B)  { storetest.BenchWriteSerial(b, storetest.OpenSQLite) }
func BenchmarkReadParallel(b *testing.B) { storetest.BenchReadParallel(b, storetest.OpenSQLite) }
