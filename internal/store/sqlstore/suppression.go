package sqlstore

import (
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ---- the marketing suppression list ----

// maxHashLen bounds a suppression hash: an HMAC-SHA256 is 32 bytes.
const maxHashLen = 64

func checkSuppression(op string, s store.Suppression) error {
	if err := checkID(op, "tenant id", s.TenantID); err != nil {
		return err
	}
	if s.Kind != store.SuppressEmail && s.Kind != store.SuppressPhone {
		return invalid(op, "kind must be email or phone")
	}
	if len(s.Hash) < 16 || len(s.Hash) > maxHashLen {
		return invalid(op, "hash must be 16 to 64 bytes (a keyed hash, never an identifier)")
	}
	if s.Purpose != "" {
		if _, err := joinList(op, "purpose", []string{s.Purpose}); err != nil {
			return err
		}
	}
	return checkText(op, "reason", s.Reason, false)
}

func (t *dataTx) Suppress(s store.Suppression) error {
	const op = "suppress"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkSuppression(op, s); err != nil {
		return err
	}
	if !s.LiftedAt.IsZero() {
		return invalid(op, "a new suppression cannot be lifted already")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	if err := t.tenantExists(op, s.TenantID); err != nil {
		return err
	}
	// Back in force keeps the time it first went in force, unless it had
	// been lifted: then it is in force anew from now.
	_, err := t.c.Exec(op, `INSERT INTO suppressions (tenant_id, kind, hash, purpose, reason, created_at, lifted_at)
		VALUES (?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (tenant_id, kind, hash, purpose) DO UPDATE SET
			created_at = CASE WHEN suppressions.lifted_at IS NULL THEN suppressions.created_at ELSE excluded.created_at END,
			reason = CASE WHEN suppressions.lifted_at IS NULL THEN suppressions.reason ELSE excluded.reason END,
			lifted_at = NULL`,
		s.TenantID, s.Kind, s.Hash, s.Purpose, s.Reason, micros(s.CreatedAt))
	return err
}

func (t *dataTx) LiftSuppression(tenantID, kind string, hash []byte, purpose string, at time.Time) error {
	const op = "lift suppression"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE suppressions SET lifted_at = ?
		WHERE tenant_id = ? AND kind = ? AND hash = ? AND purpose = ? AND lifted_at IS NULL`,
		micros(at), tenantID, kind, hash, purpose)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *dataTx) Suppressions(tenantID string, hashes [][]byte) ([]store.Suppression, error) {
	const op = "suppressions"
	var out []store.Suppression
	for len(hashes) > 0 {
		chunk := hashes[:min(len(hashes), maxInList)]
		hashes = hashes[len(chunk):]
		args := []any{tenantID}
		for _, h := range padIn(chunk) {
			args = append(args, h)
		}
		rows, err := t.c.Query(op, `SELECT kind, hash, purpose, reason, created_at FROM suppressions
			WHERE tenant_id = ? AND hash IN (`+placeholders(len(args)-1)+`) AND lifted_at IS NULL`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			s := store.Suppression{TenantID: tenantID}
			var created int64
			if err := rows.Scan(&s.Kind, &s.Hash, &s.Purpose, &s.Reason, &created); err != nil {
				rows.Close()
				return nil, t.c.Wrap(op, err)
			}
			s.CreatedAt = fromMicros(created)
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, t.c.Wrap(op, err)
		}
		rows.Close()
	}
	return out, nil
}

func (t *dataTx) CountSuppressions(tenantID string) (int, error) {
	var n int
	err := t.c.QueryRow("count suppressions", `SELECT COUNT(*) FROM suppressions WHERE tenant_id = ? AND lifted_at IS NULL`, []any{tenantID}, &n)
	return n, err
}

// ---- IN lists ----

// maxInList bounds the values of one IN list: SQLite allows 32766 bound
// parameters and PostgreSQL 65535, but a page of 500 keeps each statement
// small and its plan cheap.
const maxInList = 500

// inListSizes are the lengths IN lists are padded to, so that the prepared
// statement cache holds a handful of shapes instead of one per length.
var inListSizes = []int{1, 4, 16, 64, 256, maxInList}

// padIn returns xs extended to the next size of inListSizes by repeating
// its last element (which matches nothing new). xs must not be empty or
// longer than maxInList.
func padIn[T any](xs []T) []T {
	n := len(xs)
	for _, s := range inListSizes {
		if s >= n {
			n = s
			break
		}
	}
	out := make([]T, n)
	copy(out, xs)
	for i := len(xs); i < n; i++ {
		out[i] = xs[len(xs)-1]
	}
	return out
}

// microsPerDay buckets the ledger's microsecond times into UTC days.
const microsPerDay = int64(24 * time.Hour / time.Microsecond)

func (t *dataTx) ConsentStats(tenantID string, since, until time.Time) ([]store.ConsentStat, error) {
	const op = "consent stats"
	if !until.After(since) {
		return nil, invalid(op, "until must be after since")
	}
	rows, err := t.c.Query(op, `SELECT occurred_at / ?, purpose, kind, method, COUNT(*) FROM consent_events
		WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
		GROUP BY 1, 2, 3, 4
		ORDER BY 1, 2, 3, 4`, microsPerDay, tenantID, micros(since), micros(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ConsentStat
	for rows.Next() {
		var day int64
		s := store.ConsentStat{}
		if err := rows.Scan(&day, &s.Purpose, &s.Kind, &s.Method, &s.Count); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		s.Day = fromMicros(day * microsPerDay)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, t.c.Wrap(op, err)
	}
	return out, nil
}
