package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/postgres"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// TestConformance runs the suite when TRUSTEE_TEST_PG_DSN is set, each
// subtest in its own fresh schema.
func TestConformance(t *testing.T) {
	storetest.PostgresDSN(t) // skip (or fail under TRUSTEE_REQUIRE_PG=1) once, with the reason
	storetest.Run(t, storetest.OpenPostgres)
}

func open(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSearchPath: the tables are created in the schema the DSN names.
func TestSearchPath(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	db := open(t, dsn)
	if !strings.HasPrefix(db.Schema(), "trustee_test_") {
		t.Fatalf("schema = %q", db.Schema())
	}
	var n int
	err := db.SQL().QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('tenants', 'jobs', 'leases', 'api_keys', 'policy_versions')`, db.Schema()).Scan(&n)
	if err != nil || n != 5 {
		t.Fatalf("%d tables in %s (%v), want 5", n, db.Schema(), err)
	}
}

// TestMissingSchema: a search_path naming no existing schema is a clear
// error, not tables created somewhere else.
func TestMissingSchema(t *testing.T) {
	dsn := storetest.WithSearchPath(storetest.PostgresDSN(t), "trustee_no_such_schema")
	_, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("error = %v, want one about search_path", err)
	}
}

// TestBadDSN: a DSN that cannot be parsed is reported without its text.
func TestBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:s3cret@host:notaport/db", sqlstore.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error = %v", err)
	}
}

// TestConcurrentOpen: instances starting together on one schema take turns
// migrating and all succeed.
func TestConcurrentOpen(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			st, err := db.Migrations(context.Background())
			if err != nil || !st.UpToDate() {
				t.Errorf("migrations %+v, %v", st, err)
			}
			db.Close()
		})
	}
	wg.Wait()
}

// TestErrorsHideValues: errors from PostgreSQL keep the SQLSTATE and
// constraint but not the values its messages and details quote.
func TestErrorsHideValues(t *testing.T) {
	db := open(t, storetest.PostgresSchemaDSN(t))
	ctx := context.Background()
	cases := []struct {
		name  string
		query string
		args  []any
		kind  error
	}{
		{"bad bigint", `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?::text::bigint)`, []any{"n", "o", "secret-value-1"}, nil},
		{"unique", `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, 1)`, []any{"secret-value-2", "o"}, store.ErrConflict},
	}
	err := db.WriteConn(ctx, func(c *sqlstore.Conn) error {
		_, err := c.Exec("seed", `INSERT INTO leases (name, owner, expires_at) VALUES ('secret-value-2', 'o', 1)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := db.WriteConn(ctx, func(conn *sqlstore.Conn) error {
				_, err := conn.Exec("raw", c.query, c.args...)
				return err
			})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Fatalf("error leaks a value: %v", err)
			}
			if !strings.Contains(err.Error(), "SQLSTATE") {
				t.Errorf("error lost its SQLSTATE: %v", err)
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Errorf("error %v is not %v", err, c.kind)
			}
		})
	}
}

// TestDeadlockRetried: two writes that lock rows in opposite orders deadlock;
// PostgreSQL aborts one, and Write runs it again, so both succeed.
func TestDeadlockRetried(t *testing.T) {
	db := open(t, storetest.PostgresSchemaDSN(t))
	s := sqlstore.NewStore(db)
	ctx := context.Background()
	a, b := store.NewID(), store.NewID()
	err := s.Write(ctx, func(tx store.Tx) error {
		for i, id := range []string{a, b} {
			if err := tx.CreateTenant(store.Tenant{ID: id, Slug: fmt.Sprint("t", i), Name: "x", Mode: "controller"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var barrier sync.WaitGroup
	barrier.Add(2)
	var once [2]sync.Once
	lockBoth := func(i int, first, second string) func(store.Tx) error {
		return func(tx store.Tx) error {
			calls.Add(1)
			if err := tx.UpdateTenantMode(first, "processor"); err != nil {
				return err
			}
			once[i].Do(func() { barrier.Done(); barrier.Wait() }) // both hold their first lock
			return tx.UpdateTenantMode(second, "processor")
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = s.Write(ctx, lockBoth(0, a, b)) })
	wg.Go(func() { errs[1] = s.Write(ctx, lockBoth(1, b, a)) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if calls.Load() < 3 {
		t.Errorf("%d function calls; a deadlock victim should have run again", calls.Load())
	}
}

func BenchmarkWriteParallel(b *testing.B) {
	storetest.BenchWriteParallel(b, storetest.OpenPostgres, 64)
}
func BenchmarkWriteSerial(b *testing.B)  { storetest.BenchWriteSerial(b, storetest.OpenPostgres) }
func BenchmarkReadParallel(b *testing.B) { storetest.BenchReadParallel(b, storetest.OpenPostgres) }
