package backup

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the SQLite driver, for VACUUM INTO on a raw connection

	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

// Tables of the key store and of the erasure ledger: never part of a data
// snapshot, even when they share the data's PostgreSQL schema.
var (
	keyTables    = []string{"tenant_keys", "subject_keys", "shredded_keys"}
	ledgerTables = []string{"erasure_ledger"}
)

// dumpInfo is what a dump learned about the store it copied.
type dumpInfo struct {
	engine        string
	schemaVersion int64
	tenants       int
	tables        []Table
}

// versionQuery reads a migration set's applied version from goose's table.
func versionQuery(schema string) string {
	return `SELECT COALESCE(MAX(version_id), 0) FROM trustee_` + schema + `_migrations WHERE is_applied`
}

// tenantQuery counts the tenants a store holds data or keys for.
func tenantQuery(schema string) string {
	if schema == sqlstore.SchemaKeys {
		return `SELECT COUNT(DISTINCT tenant_id) FROM tenant_keys`
	}
	return `SELECT COUNT(*) FROM tenants`
}

// dump writes a consistent plaintext copy of the store named by dsn (its
// migration set schema) to w. tmp is a private directory for SQLite's copy.
func dump(ctx context.Context, dsn, schema, tmp string, w io.Writer) (dumpInfo, error) {
	kind, target, err := engines.Parse(dsn)
	if err != nil {
		return dumpInfo{}, err
	}
	if kind == engines.Postgres {
		return pgDump(ctx, target, schema, w)
	}
	return sqliteDump(ctx, target, schema, tmp, w)
}

// ---- SQLite ----

func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// sqliteDump copies the database with VACUUM INTO: one read transaction, so
// a consistent snapshot while the server writes, compacted (no free pages,
// so no bytes of deleted rows or destroyed keys), then streams the copy.
func sqliteDump(ctx context.Context, path, schema, tmp string, w io.Writer) (dumpInfo, error) {
	if _, err := os.Stat(path); err != nil {
		return dumpInfo{}, fmt.Errorf("no store at %s: %w", path, err)
	}
	db, err := openSQLite(path)
	if err != nil {
		return dumpInfo{}, err
	}
	defer db.Close()
	cp := filepath.Join(tmp, "snapshot-"+schema+".db")
	defer os.Remove(cp)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, cp); err != nil {
		return dumpInfo{}, fmt.Errorf("sqlite snapshot of %s: %w", path, err)
	}
	info := dumpInfo{engine: string(engines.SQLite)}
	cdb, err := openSQLite(cp)
	if err != nil {
		return dumpInfo{}, err
	}
	err = cdb.QueryRowContext(ctx, versionQuery(schema)).Scan(&info.schemaVersion)
	if err == nil {
		err = cdb.QueryRowContext(ctx, tenantQuery(schema)).Scan(&info.tenants)
	}
	cdb.Close()
	if err != nil {
		return dumpInfo{}, fmt.Errorf("reading the snapshot of %s (is it a Trustee %s store?): %w", path, schema, err)
	}
	f, err := os.Open(cp)
	if err != nil {
		return dumpInfo{}, err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return dumpInfo{}, err
	}
	return info, nil
}

// sqliteEmpty reports whether the SQLite file at path holds no row in any
// Trustee table (a missing file is empty).
func sqliteEmpty(ctx context.Context, path string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	db, err := openSQLite(path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'trustee_%_migrations'`)
	if err != nil {
		return false, err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return false, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, t := range tables {
		var one int
		err := db.QueryRowContext(ctx, `SELECT 1 FROM "`+strings.ReplaceAll(t, `"`, `""`)+`" LIMIT 1`).Scan(&one)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	return true, nil
}

// sqliteRestore writes the database in r to path, which must be empty or
// absent: through a temporary file that is checked (integrity) and synced
// before it is renamed into place, so a failed restore leaves no half file.
func sqliteRestore(ctx context.Context, path string, r io.Reader) error {
	empty, err := sqliteEmpty(ctx, path)
	if err != nil {
		return fmt.Errorf("checking the target %s: %w", path, err)
	}
	if !empty {
		return fmt.Errorf("%w: %s holds data; restore into an empty store (a new path, or remove the file after taking a copy)", ErrNotEmpty, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".restoring"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	db, err := openSQLite(tmp)
	if err != nil {
		return err
	}
	var check string
	err = db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check)
	db.Close()
	if err != nil || check != "ok" {
		return fmt.Errorf("%w: the restored database fails its integrity check (%v %s)", ErrCorrupt, err, check)
	}
	// An empty target made by a server start: replace it and its WAL.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// ---- PostgreSQL ----

// withPgx runs fn on one pgx connection of dsn.
func withPgx(ctx context.Context, dsn string, fn func(c *pgx.Conn) error) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return errors.New("backup: the postgres DSN cannot be parsed")
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: connecting to postgres: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// pgTables lists the tables of a migration set in the connection's schema,
// parents before the tables whose foreign keys point at them, so a restore
// that copies them in this order satisfies every constraint as it goes.
func pgTables(ctx context.Context, q pgx.Tx, schema string) ([]Table, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, n := range names {
		switch {
		case schema == sqlstore.SchemaKeys && slices.Contains(keyTables, n):
			keep = append(keep, n)
		case schema == sqlstore.SchemaData && !slices.Contains(keyTables, n) && !slices.Contains(ledgerTables, n) &&
			!(strings.HasPrefix(n, "trustee_") && strings.HasSuffix(n, "_migrations")):
			keep = append(keep, n)
		}
	}
	rows, err = q.Query(ctx, `SELECT src.relname, dst.relname FROM pg_constraint k
		JOIN pg_class src ON src.oid = k.conrelid JOIN pg_class dst ON dst.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = src.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var src, dst string
		if err := rows.Scan(&src, &dst); err != nil {
			rows.Close()
			return nil, err
		}
		if src != dst {
			deps[src] = append(deps[src], dst)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("backup: foreign keys form a cycle at table %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if slices.Contains(keep, d) {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range keep {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	out := make([]Table, 0, len(order))
	for _, n := range order {
		rows, err := q.Query(ctx, `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			JOIN pg_namespace s ON s.oid = c.relnamespace
			WHERE s.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, n)
		if err != nil {
			return nil, err
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		out = append(out, Table{Name: n, Columns: cols})
	}
	return out, nil
}

func quoteCols(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// pgDump copies Trustee's own tables of the migration set with COPY, all in
// one REPEATABLE READ, READ ONLY transaction: one snapshot across tables.
// The stream is, per table, a line "TABLE name col,col,...", the rows in
// COPY's text format (one line each: text format escapes newlines and
// backslashes, so no row is the terminator) and a line "\.", then "END".
func pgDump(ctx context.Context, dsn, schema string, w io.Writer) (dumpInfo, error) {
	info := dumpInfo{engine: string(engines.Postgres)}
	err := withPgx(ctx, dsn, func(c *pgx.Conn) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if err := tx.QueryRow(ctx, versionQuery(schema)).Scan(&info.schemaVersion); err != nil {
			return fmt.Errorf("reading the %s schema version (is this a Trustee store?): %w", schema, err)
		}
		if err := tx.QueryRow(ctx, tenantQuery(schema)).Scan(&info.tenants); err != nil {
			return err
		}
		tables, err := pgTables(ctx, tx, schema)
		if err != nil {
			return err
		}
		for i, t := range tables {
			if _, err := fmt.Fprintf(w, "TABLE %s %s\n", t.Name, strings.Join(t.Columns, ",")); err != nil {
				return err
			}
			tag, err := c.PgConn().CopyTo(ctx, w, "COPY "+pgx.Identifier{t.Name}.Sanitize()+" ("+quoteCols(t.Columns)+") TO STDOUT")
			if err != nil {
				return fmt.Errorf("copying table %s: %w", t.Name, err)
			}
			tables[i].Rows = tag.RowsAffected()
			if _, err := io.WriteString(w, "\\.\n"); err != nil {
				return err
			}
		}
		info.tables = tables
		_, err = io.WriteString(w, "END\n")
		return err
	})
	return info, err
}

// pgCheckTarget opens (and so migrates) the target store and checks that its
// schema is at the snapshot's version and that every table to restore
// exists with the same columns and is empty.
func pgCheckTarget(ctx context.Context, dsn, schema string, m Manifest) error {
	db, err := engines.OpenDB(ctx, dsn, engines.Options{Schema: schema})
	if err != nil {
		return err
	}
	st, err := db.Migrations(ctx)
	db.Close()
	if err != nil {
		return err
	}
	if st.Current != m.SchemaVersion {
		return fmt.Errorf("the %s snapshot has schema version %d, this build's is %d: restore it with the Trustee version that made it (%s), then start this one to upgrade",
			m.Kind, m.SchemaVersion, st.Current, orUnknown(m.TrusteeVersion))
	}
	return withPgx(ctx, dsn, func(c *pgx.Conn) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		have, err := pgTables(ctx, tx, schema)
		if err != nil {
			return err
		}
		byName := map[string]Table{}
		for _, t := range have {
			byName[t.Name] = t
		}
		for _, t := range m.Tables {
			h, ok := byName[t.Name]
			if !ok || !slices.Equal(sortedCopy(h.Columns), sortedCopy(t.Columns)) {
				return fmt.Errorf("the target's table %s differs from the snapshot's", t.Name)
			}
			var one int
			err := tx.QueryRow(ctx, "SELECT 1 FROM "+pgx.Identifier{t.Name}.Sanitize()+" LIMIT 1").Scan(&one)
			if err == nil {
				return fmt.Errorf("%w: table %s of the target holds rows; restore into an empty schema or database", ErrNotEmpty, t.Name)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		return nil
	})
}

func orUnknown(s string) string {
	if s == "" {
		return "see the manifest"
	}
	return s
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// pgRestore loads the stream pgDump wrote, in one transaction: COPY FROM
// table by table in the dump's order (parents first).
func pgRestore(ctx context.Context, dsn string, m Manifest, r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	return withPgx(ctx, dsn, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		for i := 0; ; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("%w: the table stream ends early", ErrCorrupt)
			}
			if line == "END\n" {
				if i != len(m.Tables) {
					return fmt.Errorf("%w: %d tables in the stream, %d in the manifest", ErrCorrupt, i, len(m.Tables))
				}
				break
			}
			f := strings.Fields(strings.TrimSuffix(line, "\n"))
			if len(f) != 3 || f[0] != "TABLE" || i >= len(m.Tables) || f[1] != m.Tables[i].Name || f[2] != strings.Join(m.Tables[i].Columns, ",") {
				return fmt.Errorf("%w: unexpected table header", ErrCorrupt)
			}
			t := m.Tables[i]
			sec := &section{br: br}
			tag, err := c.PgConn().CopyFrom(ctx, sec, "COPY "+pgx.Identifier{t.Name}.Sanitize()+" ("+quoteCols(t.Columns)+") FROM STDIN")
			if err != nil {
				return fmt.Errorf("restoring table %s: %w", t.Name, err)
			}
			if sec.err != nil {
				return sec.err
			}
			if tag.RowsAffected() != t.Rows {
				return fmt.Errorf("%w: table %s: %d rows restored, the manifest says %d", ErrCorrupt, t.Name, tag.RowsAffected(), t.Rows)
			}
		}
		return tx.Commit(ctx)
	})
}

// section reads one table's rows from the stream, up to its "\." line.
type section struct {
	br   *bufio.Reader
	buf  []byte
	done bool
	err  error
}

func (s *section) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done {
			return 0, io.EOF
		}
		line, err := s.br.ReadBytes('\n')
		if err != nil {
			s.err = fmt.Errorf("%w: a table's rows end early", ErrCorrupt)
			return 0, s.err
		}
		if string(line) == "\\.\n" {
			s.done = true
			return 0, io.EOF
		}
		s.buf = line
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}
