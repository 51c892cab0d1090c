package sqlstore

import (
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Outbox limits.
const (
	maxOutboxPayload  = 4 << 20 // a sealed email or webhook; outbox bounds the parts
	defaultListOutbox = 100
	maxListOutbox     = 1000
)

// outboxMetaCols are the columns of a message without its payload.
const outboxMetaCols = `tenant_id, id, subject_id, topic, channel, destination, dedupe_key, status, attempts,
	max_attempts, next_attempt_at, last_error, last_code, job_id, created_at, updated_at, delivered_at,
	handled_at, handled_by, note`

type outboxRow struct {
	m                          store.OutboxMessage
	next, delivered, handled   *int64
	created, updated, hasBytes int64
}

// dest scans outboxMetaCols followed by either the payload or a
// has-payload flag.
func (r *outboxRow) dest(payload bool) []any {
	d := []any{&r.m.TenantID, &r.m.ID, &r.m.SubjectID, &r.m.Topic, &r.m.Channel, &r.m.Destination, &r.m.DedupeKey,
		&r.m.Status, &r.m.Attempts, &r.m.MaxAttempts, &r.next, &r.m.LastError, &r.m.LastCode, &r.m.JobID,
		&r.created, &r.updated, &r.delivered, &r.handled, &r.m.HandledBy, &r.m.Note}
	if payload {
		return append(d, &r.m.Payload)
	}
	return append(d, &r.hasBytes)
}

func (r *outboxRow) message() store.OutboxMessage {
	m := r.m
	m.NextAttemptAt = fromNullMicros(r.next)
	m.CreatedAt, m.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	m.DeliveredAt, m.HandledAt = fromNullMicros(r.delivered), fromNullMicros(r.handled)
	if m.Payload != nil {
		m.HasPayload = true
	} else {
		m.HasPayload = r.hasBytes != 0
	}
	return m
}

func checkOutboxStatus(op, s string) error {
	switch s {
	case store.OutboxQueued, store.OutboxDelivered, store.OutboxDead, store.OutboxHandled, store.OutboxCancelled:
		return nil
	}
	return invalid(op, "outbox status must be queued, delivered, dead, handled or cancelled")
}

func checkOutboxChannel(op, c string) error {
	if c != store.OutboxEmail && c != store.OutboxWebhook {
		return invalid(op, "outbox channel must be email or webhook")
	}
	return nil
}

// checkOutboxState validates what UpdateOutboxMessage (and the insert)
// write, so a bad value is ErrInvalid instead of a CHECK violation that
// would abort a PostgreSQL transaction.
func checkOutboxState(op string, m store.OutboxMessage) error {
	if err := checkOutboxStatus(op, m.Status); err != nil {
		return err
	}
	if m.Attempts < 0 || m.MaxAttempts < 1 || m.MaxAttempts > 1000 {
		return invalid(op, "attempts must be at least 0 and max attempts 1 to 1000")
	}
	if (m.Status == store.OutboxQueued) == m.NextAttemptAt.IsZero() {
		return invalid(op, "a queued message needs its next attempt time, and only a queued one has it")
	}
	if m.Payload != nil && m.Status != store.OutboxQueued && m.Status != store.OutboxDead {
		return invalid(op, "only a queued or dead message keeps its payload")
	}
	if len(m.Payload) > maxOutboxPayload {
		return invalid(op, "payload is too large")
	}
	if len(m.JobID) > maxIDLen {
		return invalid(op, "job id is too long")
	}
	return checkTexts(op, "last error", m.LastError, "handled by", m.HandledBy, "note", m.Note)
}

func (t *dataTx) InsertOutboxMessage(m store.OutboxMessage) (string, bool, error) {
	const op = "insert outbox message"
	if err := t.c.Writable(op); err != nil {
		return "", false, err
	}
	for _, kv := range [][2]string{{"tenant id", m.TenantID}, {"id", m.ID}, {"topic", m.Topic}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return "", false, err
		}
	}
	if len(m.SubjectID) > maxIDLen || len(m.Destination) > 255 || len(m.DedupeKey) > maxTextLen {
		return "", false, invalid(op, "subject id, destination or dedupe key is too long")
	}
	if err := checkOutboxChannel(op, m.Channel); err != nil {
		return "", false, err
	}
	if m.Status == "" {
		m.Status = store.OutboxQueued
	}
	if m.Status != store.OutboxQueued || len(m.Payload) == 0 {
		return "", false, invalid(op, "a new message is queued and has a payload")
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	if err := checkOutboxState(op, m); err != nil {
		return "", false, err
	}
	if err := t.tenantExists(op, m.TenantID); err != nil {
		return "", false, err
	}
	// ON CONFLICT DO NOTHING covers a taken dedupe key and a taken id
	// without an SQL error, which would abort a PostgreSQL transaction.
	n, err := t.c.ExecAffected(op, `INSERT INTO outbox_messages (`+outboxMetaCols+`, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		m.TenantID, m.ID, m.SubjectID, m.Topic, m.Channel, m.Destination, m.DedupeKey, m.Status, m.Attempts,
		m.MaxAttempts, nullMicros(m.NextAttemptAt), m.LastError, m.LastCode, m.JobID, micros(m.CreatedAt),
		micros(m.UpdatedAt), nullMicros(m.DeliveredAt), nullMicros(m.HandledAt), m.HandledBy, m.Note, m.Payload)
	if err != nil {
		return "", false, err
	}
	if n == 1 {
		return m.ID, true, nil
	}
	if m.DedupeKey != "" {
		var id string
		err := t.c.QueryRow(op, `SELECT id FROM outbox_messages WHERE tenant_id = ? AND dedupe_key = ?`,
			[]any{m.TenantID, m.DedupeKey}, &id)
		if err == nil {
			return id, false, nil
		}
		if !isNotFound(err) {
			return "", false, err
		}
	}
	return "", false, &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
}

// nullPayload passes nil as SQL NULL on every driver (an empty []byte could be
// bound as an empty blob, which is not NULL).
func nullPayload(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func (t *dataTx) GetOutboxMessage(tenantID, id string) (store.OutboxMessage, error) {
	const op = "get outbox message"
	var r outboxRow
	err := t.c.QueryRow(op, `SELECT `+outboxMetaCols+`, payload FROM outbox_messages WHERE tenant_id = ? AND id = ?`,
		[]any{tenantID, id}, r.dest(true)...)
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return r.message(), nil
}

// hasPayloadCol selects whether a row still holds its payload without
// reading it.
const hasPayloadCol = `CASE WHEN payload IS NULL THEN 0 ELSE 1 END`

func (t *dataTx) ListOutboxMessages(f store.OutboxFilter) ([]store.OutboxMessage, error) {
	const op = "list outbox messages"
	if err := checkID(op, "tenant id", f.TenantID); err != nil {
		return nil, err
	}
	where := []string{`tenant_id = ?`}
	args := []any{f.TenantID}
	if f.Status != "" {
		if err := checkOutboxStatus(op, f.Status); err != nil {
			return nil, err
		}
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if f.Channel != "" {
		if err := checkOutboxChannel(op, f.Channel); err != nil {
			return nil, err
		}
		where, args = append(where, `channel = ?`), append(args, f.Channel)
	}
	if f.Topic != "" {
		where, args = append(where, `topic = ?`), append(args, f.Topic)
	}
	if f.SubjectID != "" {
		where, args = append(where, `subject_id = ?`), append(args, f.SubjectID)
	}
	if f.Before != "" {
		where, args = append(where, `id < ?`), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListOutbox
	}
	limit = min(limit, maxListOutbox)
	args = append(args, limit)
	return t.outboxList(op, `SELECT `+outboxMetaCols+`, `+hasPayloadCol+` FROM outbox_messages WHERE `+
		strings.Join(where, ` AND `)+` ORDER BY id DESC LIMIT ?`, args...)
}

func (t *dataTx) outboxList(op, q string, args ...any) ([]store.OutboxMessage, error) {
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(r.dest(false)...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.message())
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) UpdateOutboxMessage(m store.OutboxMessage, expectJobID string) error {
	const op = "update outbox message"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkOutboxState(op, m); err != nil {
		return err
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = time.Now()
	}
	update := func() (int64, error) {
		return t.c.ExecAffected(op, `UPDATE outbox_messages SET status = ?, attempts = ?, max_attempts = ?,
			next_attempt_at = ?, last_error = ?, last_code = ?, job_id = ?, payload = ?, updated_at = ?,
			delivered_at = ?, handled_at = ?, handled_by = ?, note = ?
			WHERE tenant_id = ? AND id = ? AND job_id = ?`,
			m.Status, m.Attempts, m.MaxAttempts, nullMicros(m.NextAttemptAt), m.LastError, m.LastCode, m.JobID,
			nullPayload(m.Payload), micros(m.UpdatedAt), nullMicros(m.DeliveredAt), nullMicros(m.HandledAt), m.HandledBy, m.Note,
			m.TenantID, m.ID, expectJobID)
	}
	var n int64
	var err error
	if m.Payload == nil {
		n, err = t.withSecureDelete(op, update)
	} else {
		n, err = update()
	}
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var one int
	err = t.c.QueryRow(op, `SELECT 1 FROM outbox_messages WHERE tenant_id = ? AND id = ?`, []any{m.TenantID, m.ID}, &one)
	if isNotFound(err) {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such message"}
	}
	if err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "the message was taken over by another attempt or a person"}
}

// withSecureDelete runs fn with SQLite's secure_delete on, so the bytes of
// a payload being removed are overwritten in the database file instead of
// lingering in a free page, and then restores the connection's setting
// (the writer connection is shared by every write). PostgreSQL has no
// equivalent; VACUUM reclaims dead tuples (docs/security.md).
func (t *dataTx) withSecureDelete(op string, fn func() (int64, error)) (int64, error) {
	if t.c.Dialect().Name != "sqlite" {
		return fn()
	}
	var was int
	if err := t.c.QueryRow(op, `PRAGMA secure_delete`, nil, &was); err != nil {
		return 0, err
	}
	if was != 0 {
		return fn()
	}
	if _, err := t.c.Exec(op, `PRAGMA secure_delete = ON`); err != nil {
		return 0, err
	}
	n, err := fn()
	if _, rerr := t.c.Exec(op, `PRAGMA secure_delete = OFF`); rerr != nil && err == nil {
		err = rerr
	}
	return n, err
}

func (t *dataTx) ListStalledOutbox(before time.Time, limit int) ([]store.OutboxMessage, error) {
	const op = "list stalled outbox"
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, maxListOutbox)
	return t.outboxList(op, `SELECT `+outboxMetaCols+`, `+hasPayloadCol+` FROM outbox_messages
		WHERE status = 'queued' AND next_attempt_at < ? ORDER BY next_attempt_at, id LIMIT ?`, micros(before), limit)
}

func (t *dataTx) DeleteOutboxMessages(tenantID string, finishedBefore time.Time, limit int) (int, error) {
	const op = "delete outbox messages"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if err := checkID(op, "tenant id", tenantID); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	limit = min(limit, maxListOutbox)
	n, err := t.c.ExecAffected(op, `DELETE FROM outbox_messages WHERE tenant_id = ? AND id IN (
		SELECT id FROM outbox_messages WHERE tenant_id = ? AND status IN ('delivered', 'handled', 'cancelled')
		AND updated_at < ? ORDER BY id LIMIT ?)`, tenantID, tenantID, micros(finishedBefore), limit)
	return int(n), err
}
