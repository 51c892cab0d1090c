package sqlstore

import (
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// maxDueBatch bounds one page of due rows, and so the size of the statements
// built from it.
const maxDueBatch = 5000

// padded returns the next power of two >= n (at least 1). Statements with a
// list of values are built for padded lengths only, the last value repeated,
// so a handful of statement shapes serve every batch and the bounded
// prepared-statement cache is not filled with one shape per length.
func padded(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// inStrings returns "col IN (?, ...)" over vals padded to a power of two,
// and the arguments. vals must not be empty.
func inStrings(col string, vals []string) (string, []any) {
	n := padded(len(vals))
	args := make([]any, n)
	for i := range n {
		args[i] = vals[min(i, len(vals)-1)]
	}
	return col + " IN (" + placeholders(n) + ")", args
}

// kindTable returns the table and the name column of an item kind.
func kindTable(op, kind string) (table, nameCol string, err error) {
	switch kind {
	case store.ItemField:
		return "field_values", "field", nil
	case store.ItemRecord:
		return "records", "collection", nil
	}
	return "", "", invalid(op, "item kind must be field or record")
}

func (t *dataTx) DueFields(f store.DueFilter) ([]store.DueItem, error) {
	return t.due("due fields", store.ItemField, f)
}

func (t *dataTx) DueRecords(f store.DueFilter) ([]store.DueItem, error) {
	return t.due("due records", store.ItemRecord, f)
}

// due reads one page of due rows in keyset order. The predicate on
// expires_at (and IS NOT NULL, which the partial index requires) makes the
// engine read only the index range of due rows of the tenant.
func (t *dataTx) due(op, kind string, f store.DueFilter) ([]store.DueItem, error) {
	if f.Limit <= 0 || f.Limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	if err := checkID(op, "tenant id", f.TenantID); err != nil {
		return nil, err
	}
	var b strings.Builder
	args := []any{f.TenantID, micros(f.Before)}
	var order, cursorCols string
	if kind == store.ItemField {
		b.WriteString(`SELECT subject_id, field, '', collected_at, expires_at, NULL FROM field_values`)
		order, cursorCols = `expires_at, subject_id, field`, `(expires_at, subject_id, field) > (?, ?, ?)`
	} else {
		data := "NULL"
		if f.WithData {
			data = "ciphertext"
		}
		b.WriteString(`SELECT subject_id, collection, id, collected_at, expires_at, ` + data + ` FROM records`)
		order, cursorCols = `expires_at, subject_id, collection, id`, `(expires_at, subject_id, collection, id) > (?, ?, ?, ?)`
	}
	b.WriteString(` WHERE tenant_id = ? AND expires_at IS NOT NULL AND expires_at <= ?`)
	if f.SubjectID != "" {
		b.WriteString(` AND subject_id = ?`)
		args = append(args, f.SubjectID)
	}
	if !f.After.IsZero() {
		b.WriteString(` AND ` + cursorCols)
		args = append(args, micros(f.After.ExpiresAt), f.After.SubjectID, f.After.Name)
		if kind == store.ItemRecord {
			args = append(args, f.After.RecordID)
		}
	}
	b.WriteString(` ORDER BY ` + order + ` LIMIT ?`)
	args = append(args, f.Limit)
	return t.scanItems(op, kind, b.String(), args)
}

// scanItems reads rows of (subject, name, record id, collected, expires,
// data).
func (t *dataTx) scanItems(op, kind, q string, args []any) ([]store.DueItem, error) {
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DueItem
	for rows.Next() {
		it := store.DueItem{Kind: kind}
		var collected int64
		var expires *int64
		if err := rows.Scan(&it.SubjectID, &it.Name, &it.RecordID, &collected, &expires, &it.Ciphertext); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		it.CollectedAt, it.ExpiresAt = fromMicros(collected), fromNullMicros(expires)
		out = append(out, it)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) CountDue(tenantID string, before time.Time) (map[string]int64, map[string]int64, error) {
	const op = "count due"
	count := func(q string) (map[string]int64, error) {
		rows, err := t.c.Query(op, q, tenantID, micros(before))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return nil, t.c.Wrap(op, err)
			}
			out[name] = n
		}
		return out, t.c.Wrap(op, rows.Err())
	}
	fields, err := count(`SELECT field, COUNT(*) FROM field_values WHERE tenant_id = ? AND expires_at IS NOT NULL AND expires_at <= ? GROUP BY field`)
	if err != nil {
		return nil, nil, err
	}
	records, err := count(`SELECT collection, COUNT(*) FROM records WHERE tenant_id = ? AND expires_at IS NOT NULL AND expires_at <= ? GROUP BY collection`)
	if err != nil {
		return nil, nil, err
	}
	return fields, records, nil
}

// itemValues writes "(VALUES (?, ?), ...)" for the keys, padded, and
// appends the arguments: (subject, name) for fields, (subject, name, id)
// for records.
func itemValues(b *strings.Builder, args []any, kind string, keys []store.ItemKey) []any {
	n := padded(len(keys))
	b.WriteString("(VALUES ")
	for i := range n {
		k := keys[min(i, len(keys)-1)]
		if i > 0 {
			b.WriteString(", ")
		}
		if kind == store.ItemField {
			b.WriteString("(?, ?)")
			args = append(args, k.SubjectID, k.Name)
		} else {
			b.WriteString("(?, ?, ?)")
			args = append(args, k.SubjectID, k.Name, k.RecordID)
		}
	}
	b.WriteString(")")
	return args
}

func checkKeys(op, kind string, keys []store.ItemKey) error {
	if len(keys) > maxDueBatch {
		return invalid(op, "too many rows in one call")
	}
	for _, k := range keys {
		if k.Kind != kind {
			return invalid(op, "rows of one kind per call")
		}
	}
	return nil
}

func (t *dataTx) DeleteItems(tenantID, kind string, keys []store.ItemKey) ([]store.ItemKey, error) {
	const op = "delete items"
	if err := t.c.Writable(op); err != nil {
		return nil, err
	}
	table, nameCol, err := kindTable(op, kind)
	if err != nil {
		return nil, err
	}
	if err := checkKeys(op, kind, keys); err != nil || len(keys) == 0 {
		return nil, err
	}
	var b strings.Builder
	args := []any{tenantID}
	cols := "subject_id, " + nameCol
	if kind == store.ItemRecord {
		cols += ", id"
	}
	b.WriteString(`DELETE FROM ` + table + ` WHERE tenant_id = ? AND (` + cols + `) IN `)
	args = itemValues(&b, args, kind, keys)
	b.WriteString(` RETURNING ` + cols)
	rows, err := t.c.Query(op, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ItemKey
	for rows.Next() {
		k := store.ItemKey{Kind: kind}
		dest := []any{&k.SubjectID, &k.Name}
		if kind == store.ItemRecord {
			dest = append(dest, &k.RecordID)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, k)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) SetExpiries(tenantID, kind string, updates []store.ExpiryUpdate) error {
	const op = "set expiries"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	table, nameCol, err := kindTable(op, kind)
	if err != nil {
		return err
	}
	q := `UPDATE ` + table + ` SET expires_at = ? WHERE tenant_id = ? AND subject_id = ? AND ` + nameCol + ` = ?`
	if kind == store.ItemRecord {
		q += ` AND id = ?`
	}
	for _, u := range updates {
		if u.Key.Kind != kind {
			return invalid(op, "rows of one kind per call")
		}
		args := []any{nullMicros(u.At), tenantID, u.Key.SubjectID, u.Key.Name}
		if kind == store.ItemRecord {
			args = append(args, u.Key.RecordID)
		}
		if _, err := t.c.Exec(op, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *dataTx) SetSubjectExpiry(tenantID, subjectID string, fields, collections []string, at time.Time) error {
	return t.subjectExpiry("set subject expiry", `expires_at = ?`, tenantID, subjectID, fields, collections, []any{nullMicros(at)})
}

func (t *dataTx) CapSubjectExpiry(tenantID, subjectID string, fields, collections []string, at time.Time) error {
	if at.IsZero() {
		return invalid("cap subject expiry", "the cap must be a time")
	}
	us := micros(at)
	return t.subjectExpiry("cap subject expiry", `expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END`,
		tenantID, subjectID, fields, collections, []any{us, us})
}

func (t *dataTx) subjectExpiry(op, set, tenantID, subjectID string, fields, collections []string, setArgs []any) error {
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, part := range []struct {
		table, col string
		names      []string
	}{{"field_values", "field", fields}, {"records", "collection", collections}} {
		if len(part.names) == 0 {
			continue
		}
		in, inArgs := inStrings(part.col, part.names)
		args := append(append(append([]any{}, setArgs...), tenantID, subjectID), inArgs...)
		if _, err := t.c.Exec(op, `UPDATE `+part.table+` SET `+set+` WHERE tenant_id = ? AND subject_id = ? AND `+in, args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *dataTx) ScanFields(tenantID string, after store.ScanCursor, names []string, limit int) ([]store.DueItem, error) {
	return t.scan("scan fields", store.ItemField, tenantID, after, names, limit)
}

func (t *dataTx) ScanRecords(tenantID string, after store.ScanCursor, names []string, limit int) ([]store.DueItem, error) {
	return t.scan("scan records", store.ItemRecord, tenantID, after, names, limit)
}

// scan reads rows in primary-key order after the cursor.
func (t *dataTx) scan(op, kind, tenantID string, after store.ScanCursor, names []string, limit int) ([]store.DueItem, error) {
	if limit <= 0 || limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	var q string
	args := []any{tenantID}
	if kind == store.ItemField {
		q = `SELECT subject_id, field, '', collected_at, expires_at, NULL FROM field_values WHERE tenant_id = ?
			AND (subject_id, field) > (?, ?)`
		args = append(args, after.SubjectID, after.Name)
	} else {
		q = `SELECT subject_id, collection, id, collected_at, expires_at, NULL FROM records WHERE tenant_id = ?
			AND (subject_id, collection, id) > (?, ?, ?)`
		args = append(args, after.SubjectID, after.Name, after.RecordID)
	}
	if len(names) > 0 {
		_, nameCol, _ := kindTable(op, kind)
		in, inArgs := inStrings(nameCol, names)
		q += ` AND ` + in
		args = append(args, inArgs...)
	}
	if kind == store.ItemField {
		q += ` ORDER BY subject_id, field LIMIT ?`
	} else {
		q += ` ORDER BY subject_id, collection, id LIMIT ?`
	}
	args = append(args, limit)
	return t.scanItems(op, kind, q, args)
}

func (t *dataTx) LockSubjects(tenantID string, ids []string) ([]store.Subject, error) {
	const op = "lock subjects"
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxDueBatch {
		return nil, invalid(op, "too many subjects in one call")
	}
	in, inArgs := inStrings("id", ids)
	q := `SELECT ` + subjectReadCols + ` FROM subjects WHERE tenant_id = ? AND ` + in + ` ORDER BY id`
	if t.c.Dialect().Name != "sqlite" && !t.c.readOnly {
		// A row lock that conflicts with the UPDATEs of moving triggers
		// (activity, contract end) but not with the KEY SHARE locks of
		// foreign-key checks, so appends are not blocked. SQLite's single
		// writer already serialises every write transaction.
		q += ` FOR NO KEY UPDATE`
	}
	rows, err := t.c.Query(op, q, append([]any{tenantID}, inArgs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Subject
	for rows.Next() {
		var r subjectRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.subject())
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) SubjectHasData(tenantID, subjectID string) (bool, error) {
	const op = "subject has data"
	var n int
	err := t.c.QueryRow(op, `SELECT CASE WHEN EXISTS (SELECT 1 FROM field_values WHERE tenant_id = ? AND subject_id = ?)
		OR EXISTS (SELECT 1 FROM records WHERE tenant_id = ? AND subject_id = ?) THEN 1 ELSE 0 END`,
		[]any{tenantID, subjectID, tenantID, subjectID}, &n)
	return n == 1, err
}

func (t *dataTx) SetSubjectTrigger(tenantID, subjectID, trigger string, at, updatedAt time.Time) error {
	const op = "set subject trigger"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	var col string
	switch trigger {
	case store.TriggerContractEnd:
		col = "contract_end_at"
	case store.TriggerAccountClosed:
		col = "account_closed_at"
	default:
		return invalid(op, "trigger must be contract_end or account_closed")
	}
	n, err := t.c.ExecAffected(op, `UPDATE subjects SET `+col+` = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		nullMicros(at), micros(updatedAt), tenantID, subjectID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
	}
	return nil
}

func (t *dataTx) ListMinors(tenantID, after string, limit int) ([]string, error) {
	const op = "list minors"
	if limit <= 0 || limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	rows, err := t.c.Query(op, `SELECT id FROM subjects WHERE tenant_id = ? AND age_status = 'minor' AND state = 'active'
		AND id > ? ORDER BY id LIMIT ?`, tenantID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, id)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) AddAnonymisedCounts(rows []store.AnonymisedCount) error {
	const op = "add anonymised counts"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, r := range rows {
		for _, f := range []struct{ name, v string }{{"tenant id", r.TenantID}, {"collection", r.Collection}, {"category", r.Category}, {"period", r.Period}} {
			if err := checkID(op, f.name, f.v); err != nil {
				return err
			}
		}
		if len(r.Attributes) > maxTextLen {
			return invalid(op, "attributes are too long")
		}
		if r.Total < 0 {
			return invalid(op, "total must not be negative")
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = time.Now()
		}
		if _, err := t.c.Exec(op, `INSERT INTO anonymised_counts (tenant_id, collection, category, period, attributes, total, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, collection, category, period, attributes)
			DO UPDATE SET total = anonymised_counts.total + excluded.total, updated_at = excluded.updated_at`,
			r.TenantID, r.Collection, r.Category, r.Period, r.Attributes, r.Total, micros(r.UpdatedAt)); err != nil {
			return err
		}
	}
	return nil
}

func (t *dataTx) ListAnonymisedCounts(tenantID, collection string) ([]store.AnonymisedCount, error) {
	const op = "list anonymised counts"
	q := `SELECT collection, category, period, attributes, total, updated_at FROM anonymised_counts WHERE tenant_id = ?`
	args := []any{tenantID}
	if collection != "" {
		q += ` AND collection = ?`
		args = append(args, collection)
	}
	q += ` ORDER BY collection, period, category, attributes`
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AnonymisedCount
	for rows.Next() {
		c := store.AnonymisedCount{TenantID: tenantID}
		var updated int64
		if err := rows.Scan(&c.Collection, &c.Category, &c.Period, &c.Attributes, &c.Total, &updated); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		c.UpdatedAt = fromMicros(updated)
		out = append(out, c)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) GetRetentionState(tenantID string) (store.RetentionState, error) {
	const op = "get retention state"
	s := store.RetentionState{TenantID: tenantID}
	var updated int64
	err := t.c.QueryRow(op, `SELECT applied, target, progress, updated_at FROM retention_state WHERE tenant_id = ?`,
		[]any{tenantID}, &s.Applied, &s.Target, &s.Progress, &updated)
	s.UpdatedAt = fromMicros(updated)
	return s, err
}

func (t *dataTx) PutRetentionState(s store.RetentionState) error {
	const op = "put retention state"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", s.TenantID); err != nil {
		return err
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = time.Now()
	}
	_, err := t.c.Exec(op, `INSERT INTO retention_state (tenant_id, applied, target, progress, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET applied = excluded.applied, target = excluded.target,
		progress = excluded.progress, updated_at = excluded.updated_at`,
		s.TenantID, s.Applied, s.Target, s.Progress, micros(s.UpdatedAt))
	return err
}

func (t *dataTx) ScanSubjects(tenantID, after string, limit int) ([]store.Subject, error) {
	const op = "scan subjects"
	if limit <= 0 || limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	rows, err := t.c.Query(op, `SELECT `+subjectReadCols+` FROM subjects WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Subject
	for rows.Next() {
		var r subjectRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.subject())
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) ScanIdentities(tenantID, afterKind string, afterBlind []byte, limit int) ([]store.Identity, error) {
	const op = "scan identities"
	if limit <= 0 || limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	if afterBlind == nil {
		afterBlind = []byte{}
	}
	rows, err := t.c.Query(op, `SELECT kind, blind, subject_id, field, created_at FROM identities WHERE tenant_id = ?
		AND (kind, blind) > (?, ?) ORDER BY kind, blind LIMIT ?`, tenantID, afterKind, afterBlind, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		id := store.Identity{TenantID: tenantID}
		var created int64
		if err := rows.Scan(&id.Kind, &id.Blind, &id.SubjectID, &id.Field, &created); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		id.CreatedAt = fromMicros(created)
		out = append(out, id)
	}
	return out, t.c.Wrap(op, rows.Err())
}
