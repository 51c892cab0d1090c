package sqlstore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Audit limits. The audit package enforces tighter rules on names; these
// keep a bad caller from storing megabytes per event.
const (
	maxAuditReason = 4096      // bytes of a reason
	maxAuditNames  = 1024      // fields or categories per event
	maxAuditList   = 64 << 10  // joined names per list
	maxAuditHash   = 64        // bytes of a hash
	maxAuditSig    = 512       // bytes of a checkpoint signature
	maxAuditHeads  = 1 << 20   // bytes of a checkpoint's encoded heads
	auditNameSep   = ","       // names are stored joined; they may not contain it
	maxAuditTime   = 1<<62 - 1 // keeps micros arithmetic clear of overflow
)

const auditEventCols = `tenant_id, shard, seq, at, actor, role, action, subject_id, purpose, outcome, reason,
	request_id, fields, categories, prev_hash, hash`

type auditEventRow struct {
	e                  store.AuditEvent
	at                 int64
	fields, categories string
}

func (r *auditEventRow) dest() []any {
	return []any{&r.e.TenantID, &r.e.Shard, &r.e.Seq, &r.at, &r.e.Actor, &r.e.Role, &r.e.Action, &r.e.SubjectID,
		&r.e.Purpose, &r.e.Outcome, &r.e.Reason, &r.e.RequestID, &r.fields, &r.categories, &r.e.PrevHash, &r.e.Hash}
}

func (r *auditEventRow) event() store.AuditEvent {
	e := r.e
	e.At = fromMicros(r.at)
	e.Fields = splitNames(r.fields)
	e.Categories = splitNames(r.categories)
	return e
}

// splitNames is the inverse of strings.Join(names, auditNameSep) for lists
// of non-empty names without the separator, with nil for no names.
func splitNames(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, auditNameSep)
}

func checkAuditNames(op, what string, names []string) (string, error) {
	if len(names) > maxAuditNames {
		return "", invalid(op, "too many "+what)
	}
	n := 0
	for _, s := range names {
		if s == "" || strings.Contains(s, auditNameSep) {
			return "", invalid(op, what+" must be non-empty names without commas")
		}
		n += len(s) + 1
	}
	if n > maxAuditList {
		return "", invalid(op, what+" are too long")
	}
	return strings.Join(names, auditNameSep), nil
}

func checkHash(op, what string, b []byte) error {
	if len(b) == 0 || len(b) > maxAuditHash {
		return invalid(op, what+" must be 1 to 64 bytes")
	}
	return nil
}

func checkShard(op string, shard int) error {
	if shard < 0 || shard >= store.MaxAuditShards {
		return invalid(op, "shard out of range")
	}
	return nil
}

func (t *dataTx) InitAuditHeads(tenantID string, shards int, genesis []byte) (int, error) {
	const op = "init audit heads"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if err := checkID(op, "tenant id", tenantID); err != nil {
		return 0, err
	}
	if shards < 1 || shards > store.MaxAuditShards {
		return 0, invalid(op, "shard count out of range")
	}
	if err := checkHash(op, "genesis hash", genesis); err != nil {
		return 0, err
	}
	n, err := t.countAuditHeads(op, tenantID)
	if err != nil || n > 0 {
		return n, err
	}
	// Checked first: a foreign-key violation would abort a PostgreSQL
	// transaction, and ErrNotFound must leave it usable.
	if err := t.tenantExists(op, tenantID); err != nil {
		return 0, err
	}
	// A concurrent initialisation makes these no-ops (on PostgreSQL after
	// waiting for it to commit), so the count below is whatever won.
	for shard := range shards {
		if _, err := t.c.Exec(op, `INSERT INTO audit_heads (tenant_id, shard, seq, hash) VALUES (?, ?, 0, ?)
			ON CONFLICT DO NOTHING`, tenantID, shard, genesis); err != nil {
			return 0, err
		}
	}
	return t.countAuditHeads(op, tenantID)
}

func (t *dataTx) countAuditHeads(op, tenantID string) (int, error) {
	var n int
	err := t.c.QueryRow(op, `SELECT COUNT(*) FROM audit_heads WHERE tenant_id = ?`, []any{tenantID}, &n)
	return n, err
}

func (t *dataTx) LockAuditHead(tenantID string, start int) (store.AuditHead, error) {
	const op = "lock audit head"
	// A locking read: refused in Read like a write, as PostgreSQL refuses
	// FOR UPDATE in a read-only transaction by aborting it.
	if err := t.c.Writable(op); err != nil {
		return store.AuditHead{}, err
	}
	if start < 0 {
		start = 0
	}
	h := store.AuditHead{TenantID: tenantID}
	// The shared text works on both engines: SkipLocked is " FOR UPDATE
	// SKIP LOCKED" on PostgreSQL, so a shard another transaction holds is
	// passed over (rows this transaction holds are not skipped), and empty
	// on SQLite, whose single writer already serialises appends.
	lock := t.c.Dialect().SkipLocked
	err := t.c.QueryRow(op, `SELECT shard, seq, hash FROM audit_heads WHERE tenant_id = ? AND shard >= ?
		ORDER BY shard LIMIT 1`+lock, []any{tenantID, start}, &h.Shard, &h.Seq, &h.Hash)
	if isNotFound(err) && start > 0 {
		err = t.c.QueryRow(op, `SELECT shard, seq, hash FROM audit_heads WHERE tenant_id = ? AND shard < ?
			ORDER BY shard LIMIT 1`+lock, []any{tenantID, start}, &h.Shard, &h.Seq, &h.Hash)
	}
	if !isNotFound(err) || lock == "" {
		return h, err
	}
	// Every shard is held by another transaction (or there are none):
	// wait for the preferred one. UPDATE takes the row lock portably and,
	// under READ COMMITTED, returns the row as its holder committed it.
	err = t.c.QueryRow(op, `SELECT shard FROM audit_heads WHERE tenant_id = ?
		ORDER BY CASE WHEN shard >= ? THEN 0 ELSE 1 END, shard LIMIT 1`, []any{tenantID, start}, &h.Shard)
	if err != nil {
		return h, err
	}
	err = t.c.QueryRow(op, `UPDATE audit_heads SET seq = seq WHERE tenant_id = ? AND shard = ? RETURNING seq, hash`,
		[]any{tenantID, h.Shard}, &h.Seq, &h.Hash)
	return h, err
}

// checkAuditEvent validates one event and returns its stored name lists.
func checkAuditEvent(op string, e *store.AuditEvent) (fields, cats string, err error) {
	if err := checkID(op, "tenant id", e.TenantID); err != nil {
		return "", "", err
	}
	if err := checkShard(op, e.Shard); err != nil {
		return "", "", err
	}
	if e.Seq < 1 {
		return "", "", invalid(op, "seq must be at least 1")
	}
	if !auditTimeOK(e.At) {
		return "", "", invalid(op, "time is zero or out of range")
	}
	if err := checkText(op, "action", e.Action, true); err != nil {
		return "", "", err
	}
	if err := checkText(op, "outcome", e.Outcome, true); err != nil {
		return "", "", err
	}
	for _, f := range []struct{ name, val string }{
		{"actor", e.Actor}, {"role", e.Role}, {"subject id", e.SubjectID}, {"purpose", e.Purpose}, {"request id", e.RequestID},
	} {
		if err := checkText(op, f.name, f.val, false); err != nil {
			return "", "", err
		}
	}
	if len(e.Reason) > maxAuditReason {
		return "", "", invalid(op, "reason is too long")
	}
	if fields, err = checkAuditNames(op, "fields", e.Fields); err != nil {
		return "", "", err
	}
	if cats, err = checkAuditNames(op, "categories", e.Categories); err != nil {
		return "", "", err
	}
	if err := checkHash(op, "prev hash", e.PrevHash); err != nil {
		return "", "", err
	}
	if err := checkHash(op, "hash", e.Hash); err != nil {
		return "", "", err
	}
	return fields, cats, nil
}

// auditInsertChunks are the row counts of the multi-row INSERTs a run is
// cut into: few statement shapes for the statement cache, few statements
// per run.
var auditInsertChunks = []int{64, 32, 16, 8, 4, 2, 1}

const auditEventArgs = 16

func (t *dataTx) AppendAuditEvents(es []store.AuditEvent) error {
	const op = "append audit events"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if len(es) == 0 {
		return nil
	}
	if len(es) > store.MaxAuditRun {
		return invalid(op, "too many events in one run")
	}
	args := make([]any, 0, len(es)*auditEventArgs)
	for i := range es {
		e := &es[i]
		fields, cats, err := checkAuditEvent(op, e)
		if err != nil {
			return err
		}
		if i > 0 {
			p := &es[i-1]
			if e.TenantID != p.TenantID || e.Shard != p.Shard || e.Seq != p.Seq+1 || !bytes.Equal(e.PrevHash, p.Hash) {
				return &Error{Op: op, Kind: store.ErrConflict, Detail: "events do not form a run"}
			}
		}
		args = append(args, e.TenantID, e.Shard, e.Seq, micros(e.At), e.Actor, e.Role, e.Action, e.SubjectID, e.Purpose,
			e.Outcome, e.Reason, e.RequestID, fields, cats, e.PrevHash, e.Hash)
	}
	first, last := &es[0], &es[len(es)-1]
	// Move the head first, on the condition that the run extends it: the
	// chain cannot fork whatever the caller did, and a mismatch has
	// changed nothing.
	n, err := t.c.ExecAffected(op, `UPDATE audit_heads SET seq = ?, hash = ?
		WHERE tenant_id = ? AND shard = ? AND seq = ? AND hash = ?`,
		last.Seq, last.Hash, first.TenantID, first.Shard, first.Seq-1, first.PrevHash)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "events do not extend the shard's head"}
	}
	var inserted int64
	for rest := args; len(rest) > 0; {
		rows := len(rest) / auditEventArgs
		for _, c := range auditInsertChunks {
			if c <= rows {
				rows = c
				break
			}
		}
		n, err := t.c.ExecAffected(op, auditInsertSQL(rows), rest[:rows*auditEventArgs]...)
		if err != nil {
			return err
		}
		inserted += n
		rest = rest[rows*auditEventArgs:]
	}
	if inserted == int64(len(es)) {
		return nil
	}
	// Rows beyond the head: someone wrote the table directly. Take back
	// what this run inserted (the foreign rows stay, as evidence) and the
	// head, so the transaction stays consistent, and refuse.
	for i := range es {
		if _, err := t.c.Exec(op, `DELETE FROM audit_events WHERE tenant_id = ? AND shard = ? AND seq = ? AND hash = ?`,
			es[i].TenantID, es[i].Shard, es[i].Seq, es[i].Hash); err != nil {
			return err
		}
	}
	if _, err := t.c.Exec(op, `UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ? AND shard = ?`,
		first.Seq-1, first.PrevHash, first.TenantID, first.Shard); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "events already exist beyond the shard's head (the log was written outside Trustee)"}
}

// auditInsertSQL returns the INSERT of n events, built once per n.
func auditInsertSQL(n int) string {
	if q, ok := auditInsertCache.Load(n); ok {
		return q.(string)
	}
	row := "(" + placeholders(auditEventArgs) + ")"
	q := `INSERT INTO audit_events (` + auditEventCols + `) VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + ` ON CONFLICT DO NOTHING`
	auditInsertCache.Store(n, q)
	return q
}

var auditInsertCache sync.Map // rows → query

func (t *dataTx) AuditHeads(tenantID string) ([]store.AuditHead, error) {
	const op = "audit heads"
	rows, err := t.c.Query(op, `SELECT shard, seq, hash FROM audit_heads WHERE tenant_id = ? ORDER BY shard`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditHead
	for rows.Next() {
		h := store.AuditHead{TenantID: tenantID}
		if err := rows.Scan(&h.Shard, &h.Seq, &h.Hash); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, h)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func checkPage(op string, limit int) error {
	if limit < 1 || limit > store.MaxAuditScan {
		return invalid(op, "limit out of range")
	}
	return nil
}

func (t *dataTx) ScanAuditEvents(tenantID string, shard int, afterSeq, maxSeq int64, limit int) ([]store.AuditEvent, error) {
	const op = "scan audit events"
	if err := checkPage(op, limit); err != nil {
		return nil, err
	}
	return t.auditEvents(op, limit, `SELECT `+auditEventCols+` FROM audit_events
		WHERE tenant_id = ? AND shard = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
		tenantID, shard, afterSeq, maxSeq, limit)
}

func (t *dataTx) auditEvents(op string, capHint int, query string, args ...any) ([]store.AuditEvent, error) {
	rows, err := t.c.Query(op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.AuditEvent, 0, min(capHint, 256))
	var r auditEventRow
	dest := r.dest()
	for rows.Next() {
		r = auditEventRow{}
		if err := rows.Scan(dest...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.event())
	}
	return out, t.c.Wrap(op, rows.Err())
}

// The bounds below are separate subqueries because SQLite reads MIN or MAX
// from an index only when it is a query's single aggregate.

func (t *dataTx) AuditSeqRange(tenantID string, shard int) (int64, int64, error) {
	const op = "audit seq range"
	var first, last *int64
	err := t.c.QueryRow(op, `SELECT
		(SELECT MIN(seq) FROM audit_events WHERE tenant_id = ? AND shard = ?),
		(SELECT MAX(seq) FROM audit_events WHERE tenant_id = ? AND shard = ?)`,
		[]any{tenantID, shard, tenantID, shard}, &first, &last)
	if err != nil || first == nil || last == nil {
		return 0, 0, err
	}
	return *first, *last, nil
}

func (t *dataTx) AuditShardRange(tenantID string) (int, int, error) {
	const op = "audit shard range"
	var lo, hi *int64
	err := t.c.QueryRow(op, `SELECT
		(SELECT MIN(shard) FROM audit_events WHERE tenant_id = ?),
		(SELECT MAX(shard) FROM audit_events WHERE tenant_id = ?)`,
		[]any{tenantID, tenantID}, &lo, &hi)
	if err != nil {
		return 0, 0, err
	}
	if lo == nil || hi == nil {
		return 0, 0, &Error{Op: op, Kind: store.ErrNotFound}
	}
	return int(*lo), int(*hi), nil
}

func (t *dataTx) ListAuditEvents(tenantID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	const op = "list audit events"
	limit := f.Limit
	if limit == 0 {
		limit = store.DefaultAuditList
	}
	if limit < 0 || limit > store.MaxAuditList {
		return nil, invalid(op, "limit out of range")
	}
	// At most 2^6 query shapes, each cached once; every shape starts with
	// the tenant and ends ordered by (at, shard, seq) so the time index (or
	// the subject's) is walked backwards and never sorted.
	var q strings.Builder
	q.WriteString(`SELECT ` + auditEventCols + ` FROM audit_events WHERE tenant_id = ?`)
	args := []any{tenantID}
	for _, c := range []struct{ col, val string }{{"subject_id", f.SubjectID}, {"action", f.Action}, {"actor", f.Actor}} {
		if c.val != "" {
			q.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.val)
		}
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND at >= ?`)
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND at < ?`)
		args = append(args, micros(f.Until))
	}
	if b := f.Before; b != nil {
		at := micros(b.At)
		q.WriteString(` AND at <= ? AND (at < ? OR shard < ? OR (shard = ? AND seq < ?))`)
		args = append(args, at, at, b.Shard, b.Shard, b.Seq)
	}
	q.WriteString(` ORDER BY at DESC, shard DESC, seq DESC LIMIT ?`)
	args = append(args, limit)
	return t.auditEvents(op, limit, q.String(), args...)
}

// checkpointHead is how a checkpoint's heads are stored: JSON, so the
// column reads plainly in SQL tools.
type checkpointHead struct {
	Shard int    `json:"shard"`
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"` // hex
}

func encodeHeads(hs []store.AuditHead) (string, error) {
	out := make([]checkpointHead, len(hs))
	for i, h := range hs {
		out[i] = checkpointHead{Shard: h.Shard, Seq: h.Seq, Hash: hex.EncodeToString(h.Hash)}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeHeads(tenantID, s string) ([]store.AuditHead, error) {
	var in []checkpointHead
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make([]store.AuditHead, len(in))
	for i, h := range in {
		b, err := hex.DecodeString(h.Hash)
		if err != nil {
			return nil, err
		}
		out[i] = store.AuditHead{TenantID: tenantID, Shard: h.Shard, Seq: h.Seq, Hash: b}
	}
	return out, nil
}

func (t *dataTx) InsertAuditCheckpoint(c store.AuditCheckpoint) error {
	const op = "insert audit checkpoint"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", c.TenantID); err != nil {
		return err
	}
	if c.Seq < 1 {
		return invalid(op, "seq must be at least 1")
	}
	if !auditTimeOK(c.At) {
		return invalid(op, "time is zero or out of range")
	}
	if len(c.Heads) == 0 || len(c.Heads) > store.MaxAuditShards {
		return invalid(op, "a checkpoint needs 1 to 256 heads")
	}
	for i, h := range c.Heads {
		if err := checkShard(op, h.Shard); err != nil {
			return err
		}
		if i > 0 && h.Shard <= c.Heads[i-1].Shard {
			return invalid(op, "heads must be ordered by shard")
		}
		if h.Seq < 0 {
			return invalid(op, "head seq is negative")
		}
		if err := checkHash(op, "head hash", h.Hash); err != nil {
			return err
		}
	}
	if err := checkHash(op, "prev hash", c.PrevHash); err != nil {
		return err
	}
	if err := checkText(op, "key id", c.KeyID, true); err != nil {
		return err
	}
	if len(c.Signature) == 0 || len(c.Signature) > maxAuditSig {
		return invalid(op, "signature must be 1 to 512 bytes")
	}
	heads, err := encodeHeads(c.Heads)
	if err != nil {
		return invalid(op, "heads cannot be encoded")
	}
	if len(heads) > maxAuditHeads {
		return invalid(op, "heads are too large")
	}
	if err := t.tenantExists(op, c.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO audit_checkpoints (tenant_id, seq, at, heads, prev_hash, key_id, signature)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		c.TenantID, c.Seq, micros(c.At), heads, c.PrevHash, c.KeyID, c.Signature)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "checkpoint seq taken"}
	}
	return nil
}

const auditCheckpointCols = `tenant_id, seq, at, heads, prev_hash, key_id, signature`

type auditCheckpointRow struct {
	c     store.AuditCheckpoint
	at    int64
	heads string
}

func (r *auditCheckpointRow) dest() []any {
	return []any{&r.c.TenantID, &r.c.Seq, &r.at, &r.heads, &r.c.PrevHash, &r.c.KeyID, &r.c.Signature}
}

// checkpoint decodes the row. Heads that do not decode (the column was
// edited by hand) come back empty, which verification reports as a
// checkpoint that does not match its signature, rather than as an error
// that would stop it.
func (r *auditCheckpointRow) checkpoint() store.AuditCheckpoint {
	c := r.c
	c.At = fromMicros(r.at)
	if hs, err := decodeHeads(c.TenantID, r.heads); err == nil {
		c.Heads = hs
	}
	return c
}

func (t *dataTx) LastAuditCheckpoint(tenantID string) (store.AuditCheckpoint, error) {
	const op = "last audit checkpoint"
	var r auditCheckpointRow
	if err := t.c.QueryRow(op, `SELECT `+auditCheckpointCols+` FROM audit_checkpoints WHERE tenant_id = ?
		ORDER BY seq DESC LIMIT 1`, []any{tenantID}, r.dest()...); err != nil {
		return store.AuditCheckpoint{}, err
	}
	return r.checkpoint(), nil
}

func (t *dataTx) ListAuditCheckpoints(tenantID string, afterSeq int64, limit int) ([]store.AuditCheckpoint, error) {
	const op = "list audit checkpoints"
	if err := checkPage(op, limit); err != nil {
		return nil, err
	}
	rows, err := t.c.Query(op, `SELECT `+auditCheckpointCols+` FROM audit_checkpoints WHERE tenant_id = ? AND seq > ?
		ORDER BY seq LIMIT ?`, tenantID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditCheckpoint
	for rows.Next() {
		var r auditCheckpointRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.checkpoint())
	}
	return out, t.c.Wrap(op, rows.Err())
}

// auditTimeOK reports whether t can be stored as microseconds.
func auditTimeOK(t time.Time) bool {
	us := t.UnixMicro()
	return !t.IsZero() && us >= 0 && us <= maxAuditTime
}
