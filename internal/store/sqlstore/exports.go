package sqlstore

import (
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ---- access and portability exports ----

var exportFormats = map[string]bool{"json": true, "csv": true, "pdf": true}

func checkExport(op string, e store.Export) error {
	for _, kv := range [][2]string{{"tenant id", e.TenantID}, {"export id", e.ID}, {"subject id", e.SubjectID}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(e.RequestID) > maxIDLen {
		return invalid(op, "request id is too long")
	}
	if e.Status != store.ExportReady && e.Status != store.ExportDeleted {
		return invalid(op, `status must be "ready" or "deleted"`)
	}
	if e.CreatedAt.IsZero() || e.ExpiresAt.IsZero() {
		return invalid(op, "created and expiry times are required")
	}
	if len(e.Files) == 0 {
		return invalid(op, "an export needs at least one file")
	}
	seen := map[string]bool{}
	for _, f := range e.Files {
		if !exportFormats[f.Format] {
			return invalid(op, "file format must be json, csv or pdf")
		}
		if seen[f.Format] {
			return invalid(op, "file format "+f.Format+" given twice")
		}
		seen[f.Format] = true
		if err := checkText(op, "file name", f.Name, true); err != nil {
			return err
		}
		if f.Size < 0 || len(f.SHA256) != 32 || len(f.SealedKey) == 0 || len(f.SealedKey) > 1024 {
			return invalid(op, "file needs a size, a SHA-256 and a sealed key")
		}
	}
	return nil
}

func (t *dataTx) CreateExport(e store.Export) error {
	const op = "create export"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkExport(op, e); err != nil {
		return err
	}
	if err := t.tenantExists(op, e.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO exports (tenant_id, id, request_id, subject_id, portability, status, created_at, expires_at, deleted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`,
		e.TenantID, e.ID, e.RequestID, e.SubjectID, boolInt(e.Portability), e.Status, micros(e.CreatedAt), micros(e.ExpiresAt), nullMicros(e.DeletedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "export id taken"}
	}
	for _, f := range e.Files {
		if _, err := t.c.Exec(op, `INSERT INTO export_files (tenant_id, export_id, format, name, size, sha256, sealed_key)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.TenantID, e.ID, f.Format, f.Name, f.Size, f.SHA256, f.SealedKey); err != nil {
			return err
		}
	}
	return nil
}

const exportCols = `tenant_id, id, request_id, subject_id, portability, status, created_at, expires_at, deleted_at`

func scanExport(sc interface{ Scan(...any) error }) (store.Export, error) {
	var (
		e                store.Export
		port             int
		created, expires int64
		deleted          *int64
	)
	if err := sc.Scan(&e.TenantID, &e.ID, &e.RequestID, &e.SubjectID, &port, &e.Status, &created, &expires, &deleted); err != nil {
		return e, err
	}
	e.Portability = port == 1
	e.CreatedAt, e.ExpiresAt, e.DeletedAt = fromMicros(created), fromMicros(expires), fromNullMicros(deleted)
	return e, nil
}

// exportFiles fills in the files of the given exports (all of one tenant
// when tenantID is set).
func (t *dataTx) exportFiles(op string, es []store.Export) error {
	for i := range es {
		rows, err := t.c.Query(op, `SELECT format, name, size, sha256, sealed_key FROM export_files
			WHERE tenant_id = ? AND export_id = ? ORDER BY format`, es[i].TenantID, es[i].ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var f store.ExportFile
			if err := rows.Scan(&f.Format, &f.Name, &f.Size, &f.SHA256, &f.SealedKey); err != nil {
				rows.Close()
				return t.c.Wrap(op, err)
			}
			es[i].Files = append(es[i].Files, f)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return t.c.Wrap(op, err)
		}
	}
	return nil
}

func (t *dataTx) queryExports(op, query string, args ...any) ([]store.Export, error) {
	rows, err := t.c.Query(op, query, args...)
	if err != nil {
		return nil, err
	}
	var out []store.Export
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			rows.Close()
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, e)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, t.c.Wrap(op, err)
	}
	if err := t.exportFiles(op, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *dataTx) GetExport(tenantID, id string) (store.Export, error) {
	const op = "get export"
	es, err := t.queryExports(op, `SELECT `+exportCols+` FROM exports WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return store.Export{}, err
	}
	if len(es) == 0 {
		return store.Export{}, &Error{Op: op, Kind: store.ErrNotFound}
	}
	return es[0], nil
}

func (t *dataTx) ListSubjectExports(tenantID, subjectID string) ([]store.Export, error) {
	return t.queryExports("list subject exports", `SELECT `+exportCols+` FROM exports
		WHERE tenant_id = ? AND subject_id = ? ORDER BY id DESC`, tenantID, subjectID)
}

func (t *dataTx) ExpiredExports(now time.Time, limit int) ([]store.Export, error) {
	if limit <= 0 {
		limit = 100
	}
	return t.queryExports("expired exports", `SELECT `+exportCols+` FROM exports
		WHERE status = 'ready' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, micros(now), limit)
}

func (t *dataTx) MarkExportDeleted(tenantID, id string, at time.Time) error {
	const op = "mark export deleted"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE exports SET status = 'deleted', deleted_at = COALESCE(deleted_at, ?)
		WHERE tenant_id = ? AND id = ?`, micros(at), tenantID, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *dataTx) CreateExportLink(l store.ExportLink) error {
	const op = "create export link"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"tenant id", l.TenantID}, {"link id", l.ID}, {"export id", l.ExportID}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if !exportFormats[l.Format] {
		return invalid(op, "format must be json, csv or pdf")
	}
	if l.CreatedAt.IsZero() || l.ExpiresAt.IsZero() {
		return invalid(op, "created and expiry times are required")
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO export_links (tenant_id, id, export_id, format, created_at, expires_at, used_at)
		SELECT ?, ?, id, ?, ?, ?, NULL FROM exports WHERE tenant_id = ? AND id = ?
		ON CONFLICT (tenant_id, id) DO NOTHING`,
		l.TenantID, l.ID, l.Format, micros(l.CreatedAt), micros(l.ExpiresAt), l.TenantID, l.ExportID)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := t.GetExportLink(l.TenantID, l.ID); err == nil {
			return &Error{Op: op, Kind: store.ErrConflict, Detail: "link id taken"}
		}
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such export"}
	}
	return nil
}

func (t *dataTx) GetExportLink(tenantID, id string) (store.ExportLink, error) {
	const op = "get export link"
	l := store.ExportLink{TenantID: tenantID}
	var created, expires int64
	var used *int64
	if err := t.c.QueryRow(op, `SELECT id, export_id, format, created_at, expires_at, used_at FROM export_links
		WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, &l.ID, &l.ExportID, &l.Format, &created, &expires, &used); err != nil {
		return store.ExportLink{}, err
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return l, nil
}

func (t *dataTx) UseExportLink(tenantID, id string, at time.Time) error {
	const op = "use export link"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE export_links SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at IS NULL`,
		micros(at), tenantID, id)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := t.GetExportLink(tenantID, id); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "link already used"}
}

func (t *dataTx) SubjectCollections(tenantID, subjectID string) ([]string, error) {
	const op = "subject collections"
	rows, err := t.c.Query(op, `SELECT DISTINCT collection FROM records WHERE tenant_id = ? AND subject_id = ? ORDER BY collection`,
		tenantID, subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.c.Wrap(op, err)
	}
	return out, nil
}
