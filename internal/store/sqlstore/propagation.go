package sqlstore

import (
	"slices"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ---- fulfilments ----

// maxResultLen bounds a stored fulfilment result: a summary, ids and a
// list of kept items.
const maxResultLen = 64 << 10

func (t *dataTx) InsertFulfilment(f store.Fulfilment) error {
	const op = "insert fulfilment"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"tenant id", f.TenantID}, {"request id", f.RequestID}, {"type", f.Type}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(f.SubjectID) > maxIDLen || len(f.Actor) > maxIDLen {
		return invalid(op, "subject id or actor is too long")
	}
	if len(f.Result) == 0 || len(f.Result) > maxResultLen {
		return invalid(op, "result must be 1 byte to 64 KiB")
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now()
	}
	if err := t.tenantExists(op, f.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO fulfilments (tenant_id, request_id, subject_id, type, result, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		f.TenantID, f.RequestID, f.SubjectID, f.Type, f.Result, f.Actor, micros(f.CreatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "request already fulfilled"}
	}
	return nil
}

func (t *dataTx) GetFulfilment(tenantID, requestID string) (store.Fulfilment, error) {
	f := store.Fulfilment{TenantID: tenantID, RequestID: requestID}
	var created int64
	err := t.c.QueryRow("get fulfilment", `SELECT subject_id, type, result, actor, created_at FROM fulfilments
		WHERE tenant_id = ? AND request_id = ?`, []any{tenantID, requestID}, &f.SubjectID, &f.Type, &f.Result, &f.Actor, &created)
	if err != nil {
		return store.Fulfilment{}, err
	}
	f.CreatedAt = fromMicros(created)
	return f, nil
}

// ---- propagations ----

var (
	propagationStates  = []string{store.PropagationPending, store.PropagationDelivered, store.PropagationAcknowledged, store.PropagationFailed, store.PropagationManual, store.PropagationHandled}
	propagationActions = []string{"erasure", "rectification", "restriction"}
)

const propagationCols = `tenant_id, request_id, recipient, subject_id, action, categories, state, message_id, ack, note, actor, created_at, updated_at`

type propagationRow struct {
	p                store.Propagation
	cats             string
	created, updated int64
}

func (x *propagationRow) dest() []any {
	return []any{&x.p.TenantID, &x.p.RequestID, &x.p.Recipient, &x.p.SubjectID, &x.p.Action, &x.cats, &x.p.State,
		&x.p.MessageID, &x.p.Ack, &x.p.Note, &x.p.Actor, &x.created, &x.updated}
}

func (x *propagationRow) propagation() store.Propagation {
	p := x.p
	p.Categories = splitList(x.cats)
	p.CreatedAt, p.UpdatedAt = fromMicros(x.created), fromMicros(x.updated)
	return p
}

func checkAck(op, ack string, optional bool) error {
	if (optional && ack == "") || ack == store.AckCallback || ack == store.AckOnDelivery {
		return nil
	}
	return invalid(op, "ack must be callback or on_delivery")
}

func (t *dataTx) InsertPropagation(p store.Propagation) error {
	const op = "insert propagation"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"tenant id", p.TenantID}, {"request id", p.RequestID}, {"recipient", p.Recipient}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(p.SubjectID) > maxIDLen || len(p.MessageID) > maxIDLen || len(p.Actor) > maxIDLen {
		return invalid(op, "subject id, message id or actor is too long")
	}
	if !slices.Contains(propagationActions, p.Action) {
		return invalid(op, "action must be erasure, rectification or restriction")
	}
	if !slices.Contains(propagationStates, p.State) {
		return invalid(op, "unknown state")
	}
	if err := checkAck(op, p.Ack, true); err != nil {
		return err
	}
	if err := checkText(op, "note", p.Note, false); err != nil {
		return err
	}
	cats, err := joinList(op, "categories", p.Categories)
	if err != nil {
		return err
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	if err := t.tenantExists(op, p.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO propagations (`+propagationCols+`) VALUES (`+placeholders(13)+`) ON CONFLICT DO NOTHING`,
		p.TenantID, p.RequestID, p.Recipient, p.SubjectID, p.Action, cats, p.State, p.MessageID, p.Ack, p.Note, p.Actor,
		micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "the request already has a row for this recipient"}
	}
	return nil
}

func (t *dataTx) GetPropagation(tenantID, requestID, recipient string) (store.Propagation, error) {
	var x propagationRow
	if err := t.c.QueryRow("get propagation", `SELECT `+propagationCols+` FROM propagations
		WHERE tenant_id = ? AND request_id = ? AND recipient = ?`, []any{tenantID, requestID, recipient}, x.dest()...); err != nil {
		return store.Propagation{}, err
	}
	return x.propagation(), nil
}

func (t *dataTx) PropagationByMessage(tenantID, messageID string) (store.Propagation, error) {
	const op = "propagation by message"
	if messageID == "" {
		return store.Propagation{}, &Error{Op: op, Kind: store.ErrNotFound}
	}
	var x propagationRow
	if err := t.c.QueryRow(op, `SELECT `+propagationCols+` FROM propagations
		WHERE tenant_id = ? AND message_id = ?`, []any{tenantID, messageID}, x.dest()...); err != nil {
		return store.Propagation{}, err
	}
	return x.propagation(), nil
}

func (t *dataTx) ListPropagations(tenantID, requestID string) ([]store.Propagation, error) {
	return listRows(t, "list propagations", `SELECT `+propagationCols+` FROM propagations
		WHERE tenant_id = ? AND request_id = ? ORDER BY recipient`, []any{tenantID, requestID},
		func(x *propagationRow) []any { return x.dest() }, (*propagationRow).propagation)
}

func (t *dataTx) MovePropagation(tenantID, requestID, recipient string, from []string, to, note, actor string, at time.Time) error {
	const op = "move propagation"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if !slices.Contains(propagationStates, to) || len(from) == 0 {
		return invalid(op, "unknown state")
	}
	for _, f := range from {
		if !slices.Contains(propagationStates, f) {
			return invalid(op, "unknown state")
		}
	}
	if err := checkText(op, "note", note, false); err != nil {
		return err
	}
	if len(actor) > maxIDLen {
		return invalid(op, "actor is too long")
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	args := []any{to, note, actor, micros(at), tenantID, requestID, recipient}
	for _, f := range padIn(from) {
		args = append(args, f)
	}
	n, err := t.c.ExecAffected(op, `UPDATE propagations SET state = ?, note = ?, actor = ?, updated_at = ?
		WHERE tenant_id = ? AND request_id = ? AND recipient = ? AND state IN (`+placeholders(len(args)-7)+`)`, args...)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := t.GetPropagation(tenantID, requestID, recipient); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "the state has moved on"}
}

// ---- recipient endpoints ----

const endpointCols = `tenant_id, recipient, host, sealed, ack, actor, created_at, updated_at`

type endpointRow struct {
	e                store.RecipientEndpoint
	created, updated int64
}

func (x *endpointRow) dest() []any {
	return []any{&x.e.TenantID, &x.e.Recipient, &x.e.Host, &x.e.Sealed, &x.e.Ack, &x.e.Actor, &x.created, &x.updated}
}

func (x *endpointRow) endpoint() store.RecipientEndpoint {
	e := x.e
	e.CreatedAt, e.UpdatedAt = fromMicros(x.created), fromMicros(x.updated)
	return e
}

// maxSealedEndpoint bounds a sealed URL and secret.
const maxSealedEndpoint = 8 << 10

func (t *dataTx) PutRecipientEndpoint(e store.RecipientEndpoint) error {
	const op = "put recipient endpoint"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"tenant id", e.TenantID}, {"recipient", e.Recipient}, {"host", e.Host}} {
		if err := checkID(op, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(e.Sealed) == 0 || len(e.Sealed) > maxSealedEndpoint {
		return invalid(op, "sealed endpoint must be 1 byte to 8 KiB")
	}
	if err := checkAck(op, e.Ack, false); err != nil {
		return err
	}
	if len(e.Actor) > maxIDLen {
		return invalid(op, "actor is too long")
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = e.UpdatedAt
	}
	if err := t.tenantExists(op, e.TenantID); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `INSERT INTO recipient_endpoints (`+endpointCols+`) VALUES (`+placeholders(8)+`)
		ON CONFLICT (tenant_id, recipient) DO UPDATE SET host = excluded.host, sealed = excluded.sealed,
			ack = excluded.ack, actor = excluded.actor, updated_at = excluded.updated_at`,
		e.TenantID, e.Recipient, e.Host, e.Sealed, e.Ack, e.Actor, micros(e.CreatedAt), micros(e.UpdatedAt))
	return err
}

func (t *dataTx) GetRecipientEndpoint(tenantID, recipient string) (store.RecipientEndpoint, error) {
	var x endpointRow
	if err := t.c.QueryRow("get recipient endpoint", `SELECT `+endpointCols+` FROM recipient_endpoints
		WHERE tenant_id = ? AND recipient = ?`, []any{tenantID, recipient}, x.dest()...); err != nil {
		return store.RecipientEndpoint{}, err
	}
	return x.endpoint(), nil
}

func (t *dataTx) ListRecipientEndpoints(tenantID string) ([]store.RecipientEndpoint, error) {
	return listRows(t, "list recipient endpoints", `SELECT `+endpointCols+` FROM recipient_endpoints
		WHERE tenant_id = ? ORDER BY recipient`, []any{tenantID},
		func(x *endpointRow) []any { return x.dest() }, (*endpointRow).endpoint)
}

func (t *dataTx) DeleteRecipientEndpoint(tenantID, recipient string) error {
	const op = "delete recipient endpoint"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `DELETE FROM recipient_endpoints WHERE tenant_id = ? AND recipient = ?`, tenantID, recipient)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}
