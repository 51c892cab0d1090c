package sqlstore

import (
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

const subjectCols = `tenant_id, id, state, anonymous, age_status, created_at, updated_at, last_activity_at, contract_end_at, account_closed_at, erased_at`

// subjectReadCols are subjectCols plus what only the store writes.
const subjectReadCols = subjectCols + `, has_controls`

func subjectArgs(s store.Subject) []any {
	anon := 0
	if s.Anonymous {
		anon = 1
	}
	return []any{s.TenantID, s.ID, s.State, anon, s.AgeStatus, micros(s.CreatedAt), micros(s.UpdatedAt),
		micros(s.LastActivityAt), nullMicros(s.ContractEndAt), nullMicros(s.AccountClosedAt), nullMicros(s.ErasedAt)}
}

type subjectRow struct {
	s                        store.Subject
	anon, controls           int
	created, updated, active int64
	contract, closed, erased *int64
}

func (r *subjectRow) dest() []any {
	return []any{&r.s.TenantID, &r.s.ID, &r.s.State, &r.anon, &r.s.AgeStatus, &r.created, &r.updated, &r.active, &r.contract, &r.closed, &r.erased, &r.controls}
}

func (r *subjectRow) subject() store.Subject {
	s := r.s
	s.Anonymous = r.anon != 0
	s.HasControls = r.controls != 0
	s.CreatedAt, s.UpdatedAt, s.LastActivityAt = fromMicros(r.created), fromMicros(r.updated), fromMicros(r.active)
	s.ContractEndAt, s.AccountClosedAt, s.ErasedAt = fromNullMicros(r.contract), fromNullMicros(r.closed), fromNullMicros(r.erased)
	return s
}

func checkSubject(op string, s store.Subject) error {
	if err := checkID(op, "tenant id", s.TenantID); err != nil {
		return err
	}
	if err := checkID(op, "subject id", s.ID); err != nil {
		return err
	}
	if s.State != store.SubjectActive && s.State != store.SubjectErased {
		return invalid(op, "state must be active or erased")
	}
	switch s.AgeStatus {
	case "", "minor", "minor_consented":
	default:
		return invalid(op, "age status must be empty, minor or minor_consented")
	}
	return nil
}

func (t *dataTx) CreateSubject(s store.Subject, ids []store.Identity, fields []store.FieldValue) error {
	const op = "create subject"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkSubject(op, s); err != nil {
		return err
	}
	now := time.Now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	}
	if s.LastActivityAt.IsZero() {
		s.LastActivityAt = s.CreatedAt
	}
	if err := t.tenantExists(op, s.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO subjects (`+subjectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, subjectArgs(s)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "subject id taken"}
	}
	if err := t.insertIdentities(op, s, ids); err != nil {
		// Leave nothing behind even if the caller ignores the error.
		_, _ = t.c.Exec(op, `DELETE FROM identities WHERE tenant_id = ? AND subject_id = ?`, s.TenantID, s.ID)
		_, _ = t.c.Exec(op, `DELETE FROM subjects WHERE tenant_id = ? AND id = ?`, s.TenantID, s.ID)
		return err
	}
	for i := range fields {
		fields[i].TenantID, fields[i].SubjectID = s.TenantID, s.ID
		if fields[i].CollectedAt.IsZero() {
			fields[i].CollectedAt = s.CreatedAt
		}
		if fields[i].UpdatedAt.IsZero() {
			fields[i].UpdatedAt = fields[i].CollectedAt
		}
	}
	return t.insertFields(op, fields, false)
}

// insertIdentities adds a new subject's identities in one statement; if any
// is taken (fewer rows inserted), it names the subject that holds it.
func (t *dataTx) insertIdentities(op string, s store.Subject, ids []store.Identity) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO identities (tenant_id, kind, blind, subject_id, field, created_at) VALUES `)
	args := make([]any, 0, 6*len(ids))
	for i := range ids {
		id := &ids[i]
		id.TenantID, id.SubjectID = s.TenantID, s.ID
		if id.CreatedAt.IsZero() {
			id.CreatedAt = s.CreatedAt
		}
		if err := checkIdentity(op, *id); err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, id.TenantID, id.Kind, id.Blind, id.SubjectID, id.Field, micros(id.CreatedAt))
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	n, err := t.c.ExecAffected(op, b.String(), args...)
	if err != nil {
		return err
	}
	if int(n) == len(ids) {
		return nil
	}
	for _, id := range ids {
		var holder, field string
		err := t.c.QueryRow(op, `SELECT subject_id, field FROM identities WHERE tenant_id = ? AND kind = ? AND blind = ?`,
			[]any{id.TenantID, id.Kind, id.Blind}, &holder, &field)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if holder != s.ID {
			return &Error{Op: op, Kind: store.ErrConflict, Detail: "identity taken",
				Err: &store.IdentityConflict{Kind: id.Kind, Field: field, SubjectID: holder}}
		}
	}
	// Two identities of this very subject collide with each other (the
	// same value in two fields of one kind).
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "the same identity is given twice"}
}

// insertIdentity adds one identity, returning *IdentityConflict when the
// blind index is held by any subject. The check does not raise an SQL error,
// so a PostgreSQL transaction stays usable.
func (t *dataTx) insertIdentity(op string, id store.Identity) error {
	if err := checkIdentity(op, id); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO identities (tenant_id, kind, blind, subject_id, field, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		id.TenantID, id.Kind, id.Blind, id.SubjectID, id.Field, micros(id.CreatedAt))
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var holder, field string
	err = t.c.QueryRow(op, `SELECT subject_id, field FROM identities WHERE tenant_id = ? AND kind = ? AND blind = ?`,
		[]any{id.TenantID, id.Kind, id.Blind}, &holder, &field)
	if isNotFound(err) {
		// The same subject already uses this field for another identity.
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "field already has an identity"}
	}
	if err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "identity taken",
		Err: &store.IdentityConflict{Kind: id.Kind, Field: field, SubjectID: holder}}
}

func checkIdentity(op string, id store.Identity) error {
	if err := checkID(op, "identity kind", id.Kind); err != nil {
		return err
	}
	if len(id.Blind) == 0 || len(id.Blind) > 64 {
		return invalid(op, "blind index must be 1 to 64 bytes")
	}
	return checkID(op, "identity field", id.Field)
}

func (t *dataTx) insertFields(op string, fields []store.FieldValue, replace bool) error {
	if len(fields) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO field_values (tenant_id, subject_id, field, ciphertext, source, collected_at, updated_at, expires_at) VALUES `)
	args := make([]any, 0, 8*len(fields))
	for i, f := range fields {
		if err := checkID(op, "field", f.Field); err != nil {
			return err
		}
		if len(f.Ciphertext) == 0 {
			return invalid(op, "ciphertext is empty")
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, f.TenantID, f.SubjectID, f.Field, f.Ciphertext, f.Source, micros(f.CollectedAt), micros(f.UpdatedAt), nullMicros(f.ExpiresAt))
	}
	if replace {
		b.WriteString(` ON CONFLICT (tenant_id, subject_id, field) DO UPDATE SET ciphertext = excluded.ciphertext,
			source = excluded.source, collected_at = excluded.collected_at, updated_at = excluded.updated_at,
			expires_at = excluded.expires_at`)
	}
	_, err := t.c.Exec(op, b.String(), args...)
	return err
}

func (t *dataTx) GetSubject(tenantID, id string) (store.Subject, error) {
	const op = "get subject"
	var r subjectRow
	if err := t.c.QueryRow(op, `SELECT `+subjectReadCols+` FROM subjects WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, r.dest()...); err != nil {
		return store.Subject{}, err
	}
	return r.subject(), nil
}

func (t *dataTx) UpdateSubject(s store.Subject) error {
	const op = "update subject"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkSubject(op, s); err != nil {
		return err
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = time.Now()
	}
	n, err := t.c.ExecAffected(op, `UPDATE subjects SET state = ?, age_status = ?, updated_at = ?, last_activity_at = ?,
		contract_end_at = ?, account_closed_at = ?, erased_at = ? WHERE tenant_id = ? AND id = ?`,
		s.State, s.AgeStatus, micros(s.UpdatedAt), micros(s.LastActivityAt), nullMicros(s.ContractEndAt),
		nullMicros(s.AccountClosedAt), nullMicros(s.ErasedAt), s.TenantID, s.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
	}
	return nil
}

func (t *dataTx) TouchSubject(tenantID, id string, at time.Time, activity bool) error {
	const op = "touch subject"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	q := `UPDATE subjects SET updated_at = ? WHERE tenant_id = ? AND id = ?`
	args := []any{micros(at), tenantID, id}
	if activity {
		// Activity never moves back, even when two activities race: retention
		// counted from it must not end earlier than the latest activity.
		q = `UPDATE subjects SET updated_at = ?, last_activity_at = CASE WHEN last_activity_at < ? THEN ? ELSE last_activity_at END
			WHERE tenant_id = ? AND id = ?`
		args = []any{micros(at), micros(at), micros(at), tenantID, id}
	}
	n, err := t.c.ExecAffected(op, q, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
	}
	return nil
}

func (t *dataTx) FindIdentity(tenantID, kind string, blind []byte) (string, error) {
	const op = "find identity"
	var id string
	err := t.c.QueryRow(op, `SELECT subject_id FROM identities WHERE tenant_id = ? AND kind = ? AND blind = ?`,
		[]any{tenantID, kind, blind}, &id)
	return id, err
}

func (t *dataTx) ListIdentities(tenantID, subjectID string) ([]store.Identity, error) {
	const op = "list identities"
	rows, err := t.c.Query(op, `SELECT kind, blind, field, created_at FROM identities WHERE tenant_id = ? AND subject_id = ? ORDER BY field`, tenantID, subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		id := store.Identity{TenantID: tenantID, SubjectID: subjectID}
		var created int64
		if err := rows.Scan(&id.Kind, &id.Blind, &id.Field, &created); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		id.CreatedAt = fromMicros(created)
		out = append(out, id)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) SetIdentity(id store.Identity) error {
	const op = "set identity"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkIdentity(op, id); err != nil {
		return err
	}
	if id.CreatedAt.IsZero() {
		id.CreatedAt = time.Now()
	}
	var holder string
	err := t.c.QueryRow(op, `SELECT subject_id FROM identities WHERE tenant_id = ? AND kind = ? AND blind = ?`,
		[]any{id.TenantID, id.Kind, id.Blind}, &holder)
	switch {
	case err == nil && holder == id.SubjectID:
		// Already this subject's; make sure it is attributed to this field.
		_, err = t.c.Exec(op, `DELETE FROM identities WHERE tenant_id = ? AND subject_id = ? AND field = ? AND NOT (kind = ? AND blind = ?)`,
			id.TenantID, id.SubjectID, id.Field, id.Kind, id.Blind)
		if err != nil {
			return err
		}
		_, err = t.c.Exec(op, `UPDATE identities SET field = ? WHERE tenant_id = ? AND kind = ? AND blind = ?`, id.Field, id.TenantID, id.Kind, id.Blind)
		return err
	case err == nil:
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "identity taken",
			Err: &store.IdentityConflict{Kind: id.Kind, Field: id.Field, SubjectID: holder}}
	case !isNotFound(err):
		return err
	}
	if _, err := t.c.Exec(op, `DELETE FROM identities WHERE tenant_id = ? AND subject_id = ? AND field = ?`, id.TenantID, id.SubjectID, id.Field); err != nil {
		return err
	}
	return t.insertIdentity(op, id)
}

func (t *dataTx) DeleteIdentity(tenantID, subjectID, field string) error {
	const op = "delete identity"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `DELETE FROM identities WHERE tenant_id = ? AND subject_id = ? AND field = ?`, tenantID, subjectID, field)
	return err
}

func (t *dataTx) GetFields(tenantID, subjectID string) ([]store.FieldValue, error) {
	const op = "get fields"
	rows, err := t.c.Query(op, `SELECT field, ciphertext, source, collected_at, updated_at FROM field_values
		WHERE tenant_id = ? AND subject_id = ? ORDER BY field`, tenantID, subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.FieldValue
	for rows.Next() {
		f := store.FieldValue{TenantID: tenantID, SubjectID: subjectID}
		var collected, updated int64
		if err := rows.Scan(&f.Field, &f.Ciphertext, &f.Source, &collected, &updated); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		f.CollectedAt, f.UpdatedAt = fromMicros(collected), fromMicros(updated)
		out = append(out, f)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) PutFields(fields []store.FieldValue) error {
	const op = "put fields"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	now := time.Now()
	for i := range fields {
		if err := checkID(op, "tenant id", fields[i].TenantID); err != nil {
			return err
		}
		if err := checkID(op, "subject id", fields[i].SubjectID); err != nil {
			return err
		}
		if fields[i].UpdatedAt.IsZero() {
			fields[i].UpdatedAt = now
		}
		if fields[i].CollectedAt.IsZero() {
			fields[i].CollectedAt = fields[i].UpdatedAt
		}
	}
	return t.insertFields(op, fields, true)
}

func (t *dataTx) DeleteField(tenantID, subjectID, field string) error {
	const op = "delete field"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `DELETE FROM field_values WHERE tenant_id = ? AND subject_id = ? AND field = ?`, tenantID, subjectID, field)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "field not set"}
	}
	return nil
}

func (t *dataTx) AppendRecord(r store.Record) error {
	const op = "append record"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"tenant id", r.TenantID}, {"subject id", r.SubjectID}, {"collection", r.Collection}, {"record id", r.ID}} {
		if err := checkID(op, f.name, f.v); err != nil {
			return err
		}
	}
	if len(r.Ciphertext) == 0 {
		return invalid(op, "ciphertext is empty")
	}
	if r.CollectedAt.IsZero() {
		r.CollectedAt = time.Now()
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO records (tenant_id, subject_id, collection, id, ciphertext, source, collected_at, expires_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ? AND id = ?)
		ON CONFLICT DO NOTHING`,
		r.TenantID, r.SubjectID, r.Collection, r.ID, r.Ciphertext, r.Source, micros(r.CollectedAt), nullMicros(r.ExpiresAt), r.TenantID, r.SubjectID)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := t.GetSubject(r.TenantID, r.SubjectID); err != nil {
			return err
		}
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "record id taken"}
	}
	return nil
}

func (t *dataTx) ListRecords(tenantID, subjectID, collection, after string, limit int) ([]store.Record, error) {
	const op = "list records"
	if limit <= 0 || limit > 1000 {
		return nil, invalid(op, "limit must be 1 to 1000")
	}
	rows, err := t.c.Query(op, `SELECT id, ciphertext, source, collected_at FROM records
		WHERE tenant_id = ? AND subject_id = ? AND collection = ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, subjectID, collection, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		r := store.Record{TenantID: tenantID, SubjectID: subjectID, Collection: collection}
		var collected int64
		if err := rows.Scan(&r.ID, &r.Ciphertext, &r.Source, &collected); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		r.CollectedAt = fromMicros(collected)
		out = append(out, r)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) EraseSubject(tenantID, id string, at time.Time, keepFields, keepCollections []string) error {
	const op = "erase subject"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	s, err := t.GetSubject(tenantID, id)
	if err != nil {
		return err
	}
	fq, fargs := notIn(`DELETE FROM field_values WHERE tenant_id = ? AND subject_id = ?`, "field", []any{tenantID, id}, keepFields)
	if _, err := t.c.Exec(op, fq, fargs...); err != nil {
		return err
	}
	rq, rargs := notIn(`DELETE FROM records WHERE tenant_id = ? AND subject_id = ?`, "collection", []any{tenantID, id}, keepCollections)
	if _, err := t.c.Exec(op, rq, rargs...); err != nil {
		return err
	}
	if _, err := t.c.Exec(op, `DELETE FROM identities WHERE tenant_id = ? AND subject_id = ?`, tenantID, id); err != nil {
		return err
	}
	s.State = store.SubjectErased
	s.ErasedAt = at
	s.UpdatedAt = at
	return t.UpdateSubject(s)
}

// notIn appends "AND col NOT IN (...)" for a non-empty keep list.
func notIn(q, col string, args []any, keep []string) (string, []any) {
	if len(keep) == 0 {
		return q, args
	}
	q += " AND " + col + " NOT IN (" + placeholders(len(keep)) + ")"
	for _, k := range keep {
		args = append(args, k)
	}
	return q, args
}

func (t *dataTx) GetIdempotency(tenantID, key string) (store.Idempotency, error) {
	const op = "get idempotency"
	i := store.Idempotency{TenantID: tenantID, Key: key}
	var created int64
	err := t.c.QueryRow(op, `SELECT request_hash, status, body, created_at FROM idempotency WHERE tenant_id = ? AND idem_key = ?`,
		[]any{tenantID, key}, &i.RequestHash, &i.Status, &i.Body, &created)
	i.CreatedAt = fromMicros(created)
	return i, err
}

func (t *dataTx) PutIdempotency(i store.Idempotency) error {
	const op = "put idempotency"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "idempotency key", i.Key); err != nil {
		return err
	}
	if i.CreatedAt.IsZero() {
		i.CreatedAt = time.Now()
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO idempotency (tenant_id, idem_key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, i.TenantID, i.Key, i.RequestHash, i.Status, i.Body, micros(i.CreatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "idempotency key used"}
	}
	return nil
}

// loadSubjectQuery joins a subject with its fields, and says whether the
// tenant has a hold over every subject, in one statement: the read path of
// the vault runs it for every purpose-scoped read. The hold test takes the
// tenant id as its own (first) parameter so it is not correlated with the
// rows and runs once per statement, not once per field.
func loadSubjectQuery(from, where string) string {
	cols := strings.Split(subjectReadCols, ", ")
	for i := range cols {
		cols[i] = "s." + cols[i]
	}
	return `SELECT ` + strings.Join(cols, ", ") + `, f.field, f.ciphertext, f.source, f.collected_at, f.updated_at,
		CASE WHEN EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = ? AND h.subject_id = '' AND h.released_at IS NULL) THEN 1 ELSE 0 END
		FROM ` + from + ` LEFT JOIN field_values f ON f.tenant_id = s.tenant_id AND f.subject_id = s.id
		WHERE ` + where + ` ORDER BY f.field`
}

var (
	loadMeta = func() string {
		cols := strings.Split(subjectReadCols, ", ")
		for i := range cols {
			cols[i] = "s." + cols[i]
		}
		return `SELECT ` + strings.Join(cols, ", ") + `, NULL, NULL, NULL, NULL, NULL,
		CASE WHEN EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = ? AND h.subject_id = '' AND h.released_at IS NULL) THEN 1 ELSE 0 END
		FROM subjects s WHERE s.tenant_id = ? AND s.id = ?`
	}()
	loadByID       = loadSubjectQuery(`subjects s`, `s.tenant_id = ? AND s.id = ?`)
	loadByIdentity = loadSubjectQuery(`identities i JOIN subjects s ON s.tenant_id = i.tenant_id AND s.id = i.subject_id`,
		`i.tenant_id = ? AND i.kind = ? AND i.blind = ?`)
)

func (t *dataTx) LoadSubject(tenantID, id string) (store.SubjectData, error) {
	return t.loadSubject("load subject", loadByID, tenantID, tenantID, id)
}

func (t *dataTx) LoadSubjectMeta(tenantID, id string) (store.SubjectData, error) {
	return t.loadSubject("load subject metadata", loadMeta, tenantID, tenantID, id)
}

func (t *dataTx) LoadSubjectByIdentity(tenantID, kind string, blind []byte) (store.SubjectData, error) {
	return t.loadSubject("load subject by identity", loadByIdentity, tenantID, tenantID, kind, blind)
}

func (t *dataTx) loadSubject(op, q string, args ...any) (store.SubjectData, error) {
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return store.SubjectData{}, err
	}
	defer rows.Close()
	var (
		d     store.SubjectData
		r     subjectRow
		found bool
	)
	for rows.Next() {
		var (
			field, source      *string
			ct                 []byte
			collected, updated *int64
			holds              int
		)
		dest := append(r.dest(), &field, &ct, &source, &collected, &updated, &holds)
		if err := rows.Scan(dest...); err != nil {
			return store.SubjectData{}, t.c.Wrap(op, err)
		}
		found = true
		d.TenantHolds = holds != 0
		if field != nil {
			d.Fields = append(d.Fields, store.FieldValue{TenantID: r.s.TenantID, SubjectID: r.s.ID, Field: *field,
				Ciphertext: ct, Source: *source, CollectedAt: fromNullMicros(collected), UpdatedAt: fromNullMicros(updated)})
		}
	}
	if err := rows.Err(); err != nil {
		return store.SubjectData{}, t.c.Wrap(op, err)
	}
	if !found {
		return store.SubjectData{}, &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
	}
	d.Subject = r.subject()
	return d, nil
}
