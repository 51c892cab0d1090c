package sqlstore

import (
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// maxBreachDetails bounds the JSON document of a breach.
const maxBreachDetails = 256 << 10

const breachCols = `tenant_id, id, status, title, detected_at, aware_at, details, risk, assessed_at,
	authority_notified_at, people_notified_at, closed_at, created_by, created_at, updated_at`

type breachRow struct {
	b                                   store.Breach
	detected, aware, created, updated   int64
	assessed, authority, people, closed *int64
}

func (x *breachRow) dest() []any {
	return []any{&x.b.TenantID, &x.b.ID, &x.b.Status, &x.b.Title, &x.detected, &x.aware, &x.b.Details, &x.b.Risk,
		&x.assessed, &x.authority, &x.people, &x.closed, &x.b.CreatedBy, &x.created, &x.updated}
}

func (x *breachRow) breach() store.Breach {
	b := x.b
	b.DetectedAt, b.AwareAt = fromMicros(x.detected), fromMicros(x.aware)
	b.AssessedAt, b.AuthorityNotifiedAt = fromNullMicros(x.assessed), fromNullMicros(x.authority)
	b.PeopleNotifiedAt, b.ClosedAt = fromNullMicros(x.people), fromNullMicros(x.closed)
	b.CreatedAt, b.UpdatedAt = fromMicros(x.created), fromMicros(x.updated)
	return b
}

func checkBreach(op string, b *store.Breach) error {
	if err := checkID(op, "tenant id", b.TenantID); err != nil {
		return err
	}
	if err := checkID(op, "id", b.ID); err != nil {
		return err
	}
	switch b.Status {
	case store.BreachOpen, store.BreachAssessed, store.BreachAuthorityNotified, store.BreachPeopleNotified, store.BreachClosed:
	default:
		return invalid(op, "unknown breach status")
	}
	if strings.TrimSpace(b.Title) == "" {
		return invalid(op, "a breach needs a title")
	}
	if err := checkTexts(op, "title", b.Title, "created by", b.CreatedBy); err != nil {
		return err
	}
	if len(b.Risk) > maxIDLen {
		return invalid(op, "risk is too long")
	}
	if b.DetectedAt.IsZero() || b.AwareAt.IsZero() {
		return invalid(op, "a breach needs its detection and awareness times")
	}
	if b.Details == "" {
		b.Details = "{}"
	}
	if len(b.Details) > maxBreachDetails {
		return invalid(op, "details are too long")
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = time.Now()
	}
	return nil
}

func (t *dataTx) InsertBreach(b store.Breach) error {
	const op = "insert breach"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = b.CreatedAt
	}
	if err := checkBreach(op, &b); err != nil {
		return err
	}
	if err := t.tenantExists(op, b.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO breaches (`+breachCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		b.TenantID, b.ID, b.Status, b.Title, micros(b.DetectedAt), micros(b.AwareAt), b.Details, b.Risk,
		nullMicros(b.AssessedAt), nullMicros(b.AuthorityNotifiedAt), nullMicros(b.PeopleNotifiedAt), nullMicros(b.ClosedAt),
		b.CreatedBy, micros(b.CreatedAt), micros(b.UpdatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
	}
	return nil
}

func (t *dataTx) UpdateBreach(b store.Breach) error {
	const op = "update breach"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkBreach(op, &b); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE breaches SET status = ?, title = ?, detected_at = ?, aware_at = ?, details = ?, risk = ?,
		assessed_at = ?, authority_notified_at = ?, people_notified_at = ?, closed_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		b.Status, b.Title, micros(b.DetectedAt), micros(b.AwareAt), b.Details, b.Risk,
		nullMicros(b.AssessedAt), nullMicros(b.AuthorityNotifiedAt), nullMicros(b.PeopleNotifiedAt), nullMicros(b.ClosedAt),
		micros(b.UpdatedAt), b.TenantID, b.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such breach"}
	}
	return nil
}

func (t *dataTx) GetBreach(tenantID, id string) (store.Breach, error) {
	const op = "get breach"
	var x breachRow
	if err := t.c.QueryRow(op, `SELECT `+breachCols+` FROM breaches WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.Breach{}, err
	}
	return x.breach(), nil
}

func (t *dataTx) ListBreaches(tenantID string, limit int) ([]store.Breach, error) {
	const op = "list breaches"
	if limit <= 0 || limit > 1000 {
		return nil, invalid(op, "limit must be 1 to 1000")
	}
	return listRows(t, op, `SELECT `+breachCols+` FROM breaches WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		[]any{tenantID, limit}, func(x *breachRow) []any { return x.dest() }, (*breachRow).breach)
}

// breachExists returns ErrNotFound if the tenant has no such breach.
func (t *dataTx) breachExists(op, tenantID, id string) error {
	var one int
	err := t.c.QueryRow(op, `SELECT 1 FROM breaches WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, &one)
	if isNotFound(err) {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such breach"}
	}
	return err
}

func checkNoticeState(op, s string) error {
	switch s {
	case store.NoticePending, store.NoticeQueued, store.NoticeDelivered, store.NoticeFailed, store.NoticeUnreachable:
		return nil
	}
	return invalid(op, "unknown notice state")
}

func (t *dataTx) AddBreachAffected(tenantID, breachID string, rows []store.BreachAffected) (int, error) {
	const op = "add breach affected"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if len(rows) > store.MaxBreachAffectedBatch {
		return 0, invalid(op, "too many rows in one call")
	}
	for _, r := range rows {
		if err := checkID(op, "subject id", r.SubjectID); err != nil {
			return 0, err
		}
		if err := checkID(op, "basis", r.Basis); err != nil {
			return 0, err
		}
	}
	if err := t.breachExists(op, tenantID, breachID); err != nil {
		return 0, err
	}
	added := 0
	// Chunks of a padded size, so a few statement shapes serve every batch;
	// the padding repeats the last row, which ON CONFLICT ignores.
	const chunk = 128
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		n := padded(len(part))
		var b strings.Builder
		b.WriteString(`INSERT INTO breach_affected (tenant_id, breach_id, subject_id, basis, notice_state, message_id, updated_at) VALUES `)
		args := make([]any, 0, 7*n)
		for i := range n {
			r := part[min(i, len(part)-1)]
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, '', ?)")
			at := r.UpdatedAt
			if at.IsZero() {
				at = time.Now()
			}
			args = append(args, tenantID, breachID, r.SubjectID, r.Basis, store.NoticePending, micros(at))
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		got, err := t.c.ExecAffected(op, b.String(), args...)
		if err != nil {
			return added, err
		}
		added += int(got)
	}
	return added, nil
}

func (t *dataTx) ClearBreachAffected(tenantID, breachID string) (int64, error) {
	const op = "clear breach affected"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	return t.c.ExecAffected(op, `DELETE FROM breach_affected WHERE tenant_id = ? AND breach_id = ?`, tenantID, breachID)
}

func (t *dataTx) ListBreachAffected(tenantID, breachID string, f store.BreachAffectedFilter) ([]store.BreachAffected, error) {
	const op = "list breach affected"
	if f.Limit <= 0 || f.Limit > store.MaxBreachAffectedBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	q := `SELECT subject_id, basis, notice_state, message_id, updated_at FROM breach_affected
		WHERE tenant_id = ? AND breach_id = ? AND subject_id > ?`
	args := []any{tenantID, breachID, f.After}
	if f.State != "" {
		if err := checkNoticeState(op, f.State); err != nil {
			return nil, err
		}
		q += ` AND notice_state = ?`
		args = append(args, f.State)
	}
	q += ` ORDER BY subject_id LIMIT ?`
	args = append(args, f.Limit)
	type row struct {
		a       store.BreachAffected
		updated int64
	}
	return listRows(t, op, q, args, func(x *row) []any {
		return []any{&x.a.SubjectID, &x.a.Basis, &x.a.NoticeState, &x.a.MessageID, &x.updated}
	}, func(x *row) store.BreachAffected {
		a := x.a
		a.UpdatedAt = fromMicros(x.updated)
		return a
	})
}

func (t *dataTx) CountBreachAffected(tenantID, breachID string) (map[string]int64, error) {
	const op = "count breach affected"
	rows, err := t.c.Query(op, `SELECT notice_state, COUNT(*) FROM breach_affected WHERE tenant_id = ? AND breach_id = ?
		GROUP BY notice_state`, tenantID, breachID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out[s] = n
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) SetBreachNotice(tenantID, breachID, subjectID, state, messageID string, at time.Time) error {
	const op = "set breach notice"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkNoticeState(op, state); err != nil {
		return err
	}
	if len(messageID) > maxIDLen {
		return invalid(op, "message id is too long")
	}
	n, err := t.c.ExecAffected(op, `UPDATE breach_affected SET notice_state = ?,
		message_id = CASE WHEN ? = '' THEN message_id ELSE ? END, updated_at = ?
		WHERE tenant_id = ? AND breach_id = ? AND subject_id = ?`,
		state, messageID, messageID, micros(at), tenantID, breachID, subjectID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "the subject is not in the breach's affected set"}
	}
	return nil
}

func (t *dataTx) SetBreachNoticeByMessage(tenantID, messageID, state string, at time.Time) (bool, error) {
	const op = "set breach notice by message"
	if err := t.c.Writable(op); err != nil {
		return false, err
	}
	if err := checkNoticeState(op, state); err != nil {
		return false, err
	}
	if messageID == "" {
		return false, invalid(op, "message id is empty")
	}
	n, err := t.c.ExecAffected(op, `UPDATE breach_affected SET notice_state = ?, updated_at = ?
		WHERE tenant_id = ? AND message_id = ?`, state, micros(at), tenantID, messageID)
	return n > 0, err
}
