// Package engines opens a Trustee store from a DSN, choosing the engine by
// its scheme, so commands and tests name a database with one string:
//
//	sqlite:/var/lib/trustee/data.db   SQLite file (also file:PATH or a bare path)
//	postgres://user@host/db?search_path=trustee   PostgreSQL (also postgresql://)
package engines

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/postgres"
	"github.com/trustee-privacy/trustee/internal/store/sqlite"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

// Options tune the engine; see sqlstore.Options. The zero value is ready to
// use and opens the data schema.
type Options = sqlstore.Options

// Migration sets, for Options.Schema.
const (
	SchemaData = sqlstore.SchemaData
	SchemaKeys = sqlstore.SchemaKeys
)

// Supported is the list of DSN forms, quoted in errors.
const Supported = "sqlite:PATH, file:PATH, a bare file path, postgres://... or postgresql://..."

// Kind is the engine a DSN names.
type Kind string

// Engine kinds.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Parse tells which engine dsn names and returns what that engine is opened
// with: the file path for SQLite, the DSN itself for PostgreSQL. Errors never
// repeat the DSN, which may hold a password.
func Parse(dsn string) (Kind, string, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return "", "", errors.New("store: empty DSN; supported: " + Supported)
	}
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok && isScheme(scheme) {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return Postgres, dsn, nil
		case "sqlite", "sqlite3", "file":
			return SQLite, rest, nil // sqlite:///abs is /abs, sqlite://rel is rel
		}
		return "", "", fmt.Errorf("store: unsupported DSN scheme %q; supported: %s", scheme, Supported)
	}
	lower := strings.ToLower(dsn)
	for _, p := range []string{"sqlite:", "sqlite3:", "file:"} {
		if strings.HasPrefix(lower, p) {
			return SQLite, dsn[len(p):], nil
		}
	}
	if strings.Contains(dsn, "=") && strings.Contains(dsn, " ") {
		return "", "", errors.New("store: the DSN looks like a key=value PostgreSQL string; write it as postgres://user@host/db?... instead. Supported: " + Supported)
	}
	if scheme, _, ok := strings.Cut(dsn, ":"); ok && len(scheme) > 1 && isScheme(scheme) && !strings.ContainsAny(scheme, "./") {
		return "", "", fmt.Errorf("store: unsupported DSN scheme %q; supported: %s", scheme, Supported)
	}
	return SQLite, dsn, nil
}

func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// Open opens the data store named by dsn and applies its migrations. For
// another migration set (the key store), use OpenDB.
func Open(ctx context.Context, dsn string, opts Options) (store.Store, error) {
	if s := opts.SchemaName(); s != SchemaData {
		return nil, fmt.Errorf("store: Open serves the %q schema, not %q; use OpenDB and the schema's own Tx", SchemaData, s)
	}
	db, err := OpenDB(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewStore(db), nil
}

// OpenKeyStore opens the key store named by dsn (its own SQLite file, or
// PostgreSQL tables with their own version table) and applies the key
// migrations; opts.Schema is ignored.
func OpenKeyStore(ctx context.Context, dsn string, opts Options) (store.KeyStore, error) {
	opts.Schema = SchemaKeys
	db, err := OpenDB(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewKeyStore(db), nil
}

// OpenDB opens the engine named by dsn with opts.Schema's migrations, for a
// store that brings its own Tx (the key store does). Give each schema its own
// SQLite file or PostgreSQL schema (search_path).
func OpenDB(ctx context.Context, dsn string, opts Options) (sqlstore.DB, error) {
	kind, target, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	switch kind {
	case Postgres:
		return postgres.Open(ctx, target, opts)
	default:
		return sqlite.Open(ctx, target, opts)
	}
}
