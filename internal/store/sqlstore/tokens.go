package sqlstore

import (
	"time"
)

func (t *dataTx) UseToken(tenantID string, hash []byte, expiresAt, now time.Time) (bool, error) {
	const op = "use token"
	if err := t.c.Writable(op); err != nil {
		return false, err
	}
	if len(hash) == 0 || expiresAt.IsZero() || now.IsZero() {
		return false, invalid(op, "hash and times are required")
	}
	if _, err := t.c.Exec(op, `DELETE FROM used_tokens WHERE tenant_id = ? AND expires_at < ?`, tenantID, micros(now)); err != nil {
		return false, err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO used_tokens (tenant_id, hash, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		tenantID, hash, micros(expiresAt))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
