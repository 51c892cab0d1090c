package sqlstore

import (
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

const requestCols = `tenant_id, id, type, subject_id, jurisdiction, channel, status, received_at, due_at, confirm_by,
	updated_at, closed_at, version, state, details`

// maxRequestState bounds the opaque state and sealed details of a request.
const maxRequestState = 256 << 10

type requestRow struct {
	r                      store.Request
	received, due, updated int64
	confirm, closed        *int64
	state                  string
}

func (x *requestRow) dest() []any {
	return []any{&x.r.TenantID, &x.r.ID, &x.r.Type, &x.r.SubjectID, &x.r.Jurisdiction, &x.r.Channel, &x.r.Status,
		&x.received, &x.due, &x.confirm, &x.updated, &x.closed, &x.r.Version, &x.state, &x.r.Details}
}

func (x *requestRow) request() store.Request {
	r := x.r
	r.ReceivedAt, r.DueAt, r.UpdatedAt = fromMicros(x.received), fromMicros(x.due), fromMicros(x.updated)
	r.ConfirmBy, r.ClosedAt = fromNullMicros(x.confirm), fromNullMicros(x.closed)
	r.State = []byte(x.state)
	if len(r.Details) == 0 {
		r.Details = nil
	}
	return r
}

func checkRequest(op string, r store.Request) error {
	for _, f := range []struct{ name, val string }{{"tenant id", r.TenantID}, {"id", r.ID}, {"type", r.Type}, {"status", r.Status},
		{"channel", r.Channel}, {"jurisdiction", r.Jurisdiction}} {
		if err := checkID(op, f.name, f.val); err != nil {
			return err
		}
	}
	if len(r.SubjectID) > maxIDLen {
		return invalid(op, "subject id is too long")
	}
	if len(r.State) > maxRequestState || len(r.Details) > maxRequestState {
		return invalid(op, "state or details too large")
	}
	if r.ReceivedAt.IsZero() || r.DueAt.IsZero() {
		return invalid(op, "received and due times are required")
	}
	return nil
}

func stateText(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

func (t *dataTx) CreateRequest(r store.Request) error {
	const op = "create request"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkRequest(op, r); err != nil {
		return err
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.ReceivedAt
	}
	if err := t.tenantExists(op, r.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO requests (`+requestCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT DO NOTHING`,
		r.TenantID, r.ID, r.Type, r.SubjectID, r.Jurisdiction, r.Channel, r.Status, micros(r.ReceivedAt), micros(r.DueAt),
		nullMicros(r.ConfirmBy), micros(r.UpdatedAt), nullMicros(r.ClosedAt), stateText(r.State), nullBytes(r.Details))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
	}
	return nil
}

func (t *dataTx) GetRequest(tenantID, id string) (store.Request, error) {
	const op = "get request"
	var x requestRow
	if err := t.c.QueryRow(op, `SELECT `+requestCols+` FROM requests WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.Request{}, err
	}
	return x.request(), nil
}

func (t *dataTx) UpdateRequest(r store.Request) error {
	const op = "update request"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkRequest(op, r); err != nil {
		return err
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	n, err := t.c.ExecAffected(op, `UPDATE requests SET subject_id = ?, status = ?, due_at = ?, confirm_by = ?, updated_at = ?, closed_at = ?,
		state = ?, details = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
		r.SubjectID, r.Status, micros(r.DueAt), nullMicros(r.ConfirmBy), micros(r.UpdatedAt), nullMicros(r.ClosedAt),
		stateText(r.State), nullBytes(r.Details), r.TenantID, r.ID, r.Version)
	if err != nil {
		return err
	}
	if n == 0 {
		var one int
		err := t.c.QueryRow(op, `SELECT 1 FROM requests WHERE tenant_id = ? AND id = ?`, []any{r.TenantID, r.ID}, &one)
		if err != nil {
			return err
		}
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "the request was changed meanwhile"}
	}
	return nil
}

func (t *dataTx) ListRequests(f store.RequestFilter) ([]store.Request, error) {
	const op = "list requests"
	var b strings.Builder
	b.WriteString(`SELECT ` + requestCols + ` FROM requests WHERE tenant_id = ?`)
	args := []any{f.TenantID}
	if len(f.Statuses) > 0 {
		b.WriteString(` AND status IN (` + placeholders(len(f.Statuses)) + `)`)
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.Type != "" {
		b.WriteString(` AND type = ?`)
		args = append(args, f.Type)
	}
	if f.SubjectID != "" {
		b.WriteString(` AND subject_id = ?`)
		args = append(args, f.SubjectID)
	}
	if !f.DueBefore.IsZero() {
		b.WriteString(` AND due_at <= ?`)
		args = append(args, micros(f.DueBefore))
	}
	if f.Open {
		b.WriteString(` AND closed_at IS NULL`)
	}
	if !f.ReceivedSince.IsZero() {
		b.WriteString(` AND received_at >= ?`)
		args = append(args, micros(f.ReceivedSince))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	b.WriteString(` ORDER BY due_at, received_at, id LIMIT ? OFFSET ?`)
	args = append(args, limit, max(f.Offset, 0))
	return listRows(t, op, b.String(), args, (*requestRow).dest, (*requestRow).request)
}

func (t *dataTx) AppendRequestEvent(e store.RequestEvent) (int, error) {
	const op = "append request event"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if err := checkText(op, "actor", e.Actor, true); err != nil {
		return 0, err
	}
	if e.To == "" || len(e.To) > maxIDLen || len(e.From) > maxIDLen {
		return 0, invalid(op, "to status is empty or a status is too long")
	}
	if err := checkText(op, "note", e.Note, false); err != nil {
		return 0, err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var one int
	if err := t.c.QueryRow(op, `SELECT 1 FROM requests WHERE tenant_id = ? AND id = ?`, []any{e.TenantID, e.RequestID}, &one); err != nil {
		return 0, err
	}
	var seq int
	if err := t.c.QueryRow(op, `SELECT COALESCE(MAX(seq), 0) + 1 FROM request_events WHERE tenant_id = ? AND request_id = ?`,
		[]any{e.TenantID, e.RequestID}, &seq); err != nil {
		return 0, err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO request_events (tenant_id, request_id, seq, from_status, to_status, at, actor, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		e.TenantID, e.RequestID, seq, e.From, e.To, micros(e.At), e.Actor, e.Note)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, &Error{Op: op, Kind: store.ErrConflict, Detail: "another event was appended meanwhile"}
	}
	return seq, nil
}

type requestEventRow struct {
	e  store.RequestEvent
	at int64
}

func (x *requestEventRow) dest() []any {
	return []any{&x.e.TenantID, &x.e.RequestID, &x.e.Seq, &x.e.From, &x.e.To, &x.at, &x.e.Actor, &x.e.Note}
}

func (x *requestEventRow) event() store.RequestEvent {
	e := x.e
	e.At = fromMicros(x.at)
	return e
}

func (t *dataTx) ListRequestEvents(tenantID, requestID string) ([]store.RequestEvent, error) {
	return listRows(t, "list request events", `SELECT tenant_id, request_id, seq, from_status, to_status, at, actor, note
		FROM request_events WHERE tenant_id = ? AND request_id = ? ORDER BY seq`,
		[]any{tenantID, requestID}, (*requestEventRow).dest, (*requestEventRow).event)
}
