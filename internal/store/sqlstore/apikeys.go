package sqlstore

import (
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

const apiKeyCols = `id, tenant_id, role, name, secret_hash, created_at, created_by, expires_at, revoked_at`

type apiKeyRow struct {
	k                store.APIKey
	created          int64
	expires, revoked *int64
}

func (r *apiKeyRow) dest() []any {
	return []any{&r.k.ID, &r.k.TenantID, &r.k.Role, &r.k.Name, &r.k.SecretHash, &r.created, &r.k.CreatedBy, &r.expires, &r.revoked}
}

func (r *apiKeyRow) key() store.APIKey {
	r.k.CreatedAt = fromMicros(r.created)
	r.k.ExpiresAt = fromNullMicros(r.expires)
	r.k.RevokedAt = fromNullMicros(r.revoked)
	return r.k
}

func (t *dataTx) CreateAPIKey(k store.APIKey) error {
	const op = "create api key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "id", k.ID); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", k.TenantID); err != nil {
		return err
	}
	if err := checkText(op, "role", k.Role, true); err != nil {
		return err
	}
	for _, f := range []struct{ name, val string }{{"name", k.Name}, {"created by", k.CreatedBy}} {
		if err := checkText(op, f.name, f.val, false); err != nil {
			return err
		}
	}
	if len(k.SecretHash) == 0 || len(k.SecretHash) > 64 {
		return invalid(op, "secret hash must be 1 to 64 bytes")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	// Expected failures are detected without an SQL error, which would
	// abort a PostgreSQL transaction (see CreateTenant).
	if err := t.tenantExists(op, k.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		k.ID, k.TenantID, k.Role, k.Name, k.SecretHash, micros(k.CreatedAt), k.CreatedBy,
		nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
	}
	return nil
}

// tenantExists returns ErrNotFound (naming the tenant as what is missing) if
// there is no tenant with this id.
func (t *dataTx) tenantExists(op, id string) error {
	var one int
	err := t.c.QueryRow(op, `SELECT 1 FROM tenants WHERE id = ?`, []any{id}, &one)
	if isNotFound(err) {
		return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such tenant"}
	}
	return err
}

func (t *dataTx) GetAPIKey(id string) (store.APIKey, error) {
	const op = "get api key"
	var r apiKeyRow
	if err := t.c.QueryRow(op, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, []any{id}, r.dest()...); err != nil {
		return store.APIKey{}, err
	}
	return r.key(), nil
}

func (t *dataTx) ListAPIKeys(tenantID string) ([]store.APIKey, error) {
	const op = "list api keys"
	rows, err := t.c.Query(op, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		var r apiKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.key())
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) RevokeAPIKey(tenantID, id string, at time.Time) error {
	const op = "revoke api key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "revocation time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?`,
		micros(at), tenantID, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}
