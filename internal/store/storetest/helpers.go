// Package storetest is the conformance suite every store engine passes, and
// the helpers other packages use to test on real databases of each engine.
//
// Domain packages run their own tests on both engines like this:
//
//	for _, e := range storetest.Engines() {
//		t.Run(e.Name, func(t *testing.T) {
//			s := e.Open(t) // fresh, migrated, closed at the end of the test
//			...
//		})
//	}
//
// SQLite always runs (a file in t.TempDir()). PostgreSQL runs when
// TRUSTEE_TEST_PG_DSN is set, each store in a freshly created schema that is
// dropped afterwards, so tests and packages can run in parallel on one
// database; when it is unset the PostgreSQL cases skip, unless
// TRUSTEE_REQUIRE_PG=1 (CI), which makes that a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	_ "github.com/trustee-privacy/trustee/internal/store/postgres" // registers the pgx driver for the schema helper
)

// Environment variables the helpers read.
const (
	// EnvPostgresDSN names the PostgreSQL database tests may use, e.g.
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	EnvPostgresDSN = "TRUSTEE_TEST_PG_DSN"
	// EnvRequirePostgres=1 turns a missing EnvPostgresDSN from a skip into
	// a failure, so CI cannot silently lose the PostgreSQL suite.
	EnvRequirePostgres = "TRUSTEE_REQUIRE_PG"
)

// EngineCase is one engine a test can run on.
type EngineCase struct {
	// Name is the engine name, for t.Run.
	Name string
	// Open returns a fresh, migrated, empty store that is closed (and, for
	// PostgreSQL, dropped) when the test ends. It skips the test when the
	// engine is not configured.
	Open func(t testing.TB) store.Store
}

// Engines returns every engine, SQLite first.
func Engines() []EngineCase {
	return []EngineCase{
		{Name: "sqlite", Open: OpenSQLite},
		{Name: "postgres", Open: OpenPostgres},
	}
}

// openTimeout bounds opening a test store (migrations included).
const openTimeout = time.Minute

// SQLitePath returns a path for a new SQLite database in t's temporary
// directory.
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "trustee.db")
}

// OpenSQLite opens a fresh SQLite store in t's temporary directory.
func OpenSQLite(t testing.TB) store.Store {
	t.Helper()
	return OpenDSN(t, "sqlite:"+SQLitePath(t), engines.Options{})
}

// OpenPostgres opens a fresh PostgreSQL store in a new schema, or skips.
func OpenPostgres(t testing.TB) store.Store {
	t.Helper()
	return OpenDSN(t, PostgresSchemaDSN(t), engines.Options{})
}

// OpenDSN opens dsn with engines.Open and closes the store when t ends.
func OpenDSN(t testing.TB, dsn string, opts engines.Options) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	s, err := engines.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// PostgresDSN returns the configured PostgreSQL DSN, or skips t (fails it
// under TRUSTEE_REQUIRE_PG=1) when there is none.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		msg := "PostgreSQL tests need " + EnvPostgresDSN + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatal(msg + ", and " + EnvRequirePostgres + "=1 requires them")
		}
		t.Skip("skipped: " + msg)
	}
	return dsn
}

// PostgresSchemaDSN creates an empty schema with a random name, drops it
// when t ends, and returns the configured DSN with search_path set to it.
// Open it more than once to test several instances sharing one database.
func PostgresSchemaDSN(t testing.TB) string {
	t.Helper()
	base := PostgresDSN(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "trustee_test_" + hex.EncodeToString(rnd[:])

	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres: create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("postgres: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("postgres: drop test schema: %v", err)
		}
	})
	return WithSearchPath(base, schema)
}

// WithSearchPath returns dsn with its search_path set to schema, for URL
// and key=value DSNs alike.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
