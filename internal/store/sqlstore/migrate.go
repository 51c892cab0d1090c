package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Migrator applies and reports one migration set of one engine with goose.
// Each set has its own version table (trustee_<set>_migrations), so the data
// and key sets never mistake each other's versions, even in one database.
type Migrator struct {
	up     *goose.Provider // over a connection that may write
	status *goose.Provider // over the connections Migrations reads with
	set    string
}

// MigrationSet returns the folder migrations/<set> of an engine's embedded
// files, or an error naming the sets this build has.
func MigrationSet(embedded fs.FS, set string) (fs.FS, error) {
	entries, err := fs.ReadDir(embedded, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: reading embedded migrations: %w", err)
	}
	var known []string
	for _, e := range entries {
		if e.IsDir() {
			known = append(known, e.Name())
		}
	}
	if !slices.Contains(known, set) {
		return nil, fmt.Errorf("store: unknown schema %q; this build has migrations for: %s", set, strings.Join(known, ", "))
	}
	return fs.Sub(embedded, path.Join("migrations", set))
}

// NewMigrator prepares goose for set on the given database handles. writeDB
// runs Up; readDB (which may be the same handle) answers Status. extra adds
// engine options such as a session locker.
func NewMigrator(dialect goose.Dialect, writeDB, readDB *sql.DB, fsys fs.FS, set string, log *slog.Logger, extra ...goose.ProviderOption) (*Migrator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := func(withLock bool) []goose.ProviderOption {
		o := []goose.ProviderOption{
			goose.WithTableName("trustee_" + set + "_migrations"),
			goose.WithDisableGlobalRegistry(true),
			goose.WithSlog(log.With("schema", set)),
		}
		if withLock {
			o = append(o, extra...)
		}
		return o
	}
	up, err := goose.NewProvider(dialect, writeDB, fsys, opts(true)...)
	if err != nil {
		return nil, fmt.Errorf("store: preparing %s migrations: %w", set, err)
	}
	status, err := goose.NewProvider(dialect, readDB, fsys, opts(false)...)
	if err != nil {
		return nil, fmt.Errorf("store: preparing %s migrations: %w", set, err)
	}
	return &Migrator{up: up, status: status, set: set}, nil
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) error {
	if _, err := m.up.Up(ctx); err != nil {
		return fmt.Errorf("store: applying %s migrations: %w", m.set, err)
	}
	return nil
}

// Status reports the applied and the latest embedded version.
func (m *Migrator) Status(ctx context.Context) (store.MigrationStatus, error) {
	cur, latest, err := m.status.GetVersions(ctx)
	if err != nil {
		return store.MigrationStatus{}, fmt.Errorf("store: reading %s migration status: %w", m.set, err)
	}
	return store.MigrationStatus{Current: cur, Latest: latest}, nil
}
