package sqlstore

import (
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// maxPolicySource bounds a stored policy text (the API limits it further).
const maxPolicySource = 8 << 20

func (t *dataTx) InsertPolicyVersion(v *store.PolicyVersion) error {
	const op = "insert policy version"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if v == nil {
		return invalid(op, "version is nil")
	}
	if err := checkID(op, "tenant id", v.TenantID); err != nil {
		return err
	}
	if err := checkText(op, "hash", v.Hash, true); err != nil {
		return err
	}
	if v.Format != "yaml" && v.Format != "json" {
		return invalid(op, `format must be "yaml" or "json"`)
	}
	if len(v.Source) > maxPolicySource {
		return invalid(op, "source is too large")
	}
	for _, f := range []struct{ name, val string }{
		{"revision", v.Revision}, {"effective date", v.EffectiveDate}, {"applied by", v.AppliedBy},
	} {
		if err := checkText(op, f.name, f.val, false); err != nil {
			return err
		}
	}
	applied := v.AppliedAt
	if applied.IsZero() {
		applied = time.Now()
	}
	// The per-tenant counter row serialises concurrent inserts for one
	// tenant on every engine (the UPDATE takes the row lock), so versions
	// are 1, 2, 3 ... without duplicates, and a rolled-back insert rolls
	// the counter back too, so without gaps.
	var version int
	err := t.c.QueryRow(op, `UPDATE tenants SET policy_seq = policy_seq + 1 WHERE id = ? RETURNING policy_seq`,
		[]any{v.TenantID}, &version)
	if err != nil {
		return err
	}
	source := v.Source
	if source == nil {
		source = []byte{}
	}
	_, err = t.c.Exec(op, `INSERT INTO policy_versions
		(tenant_id, version, hash, format, source, revision, effective_date, applied_at, applied_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.TenantID, version, v.Hash, v.Format, source, v.Revision, v.EffectiveDate, micros(applied), v.AppliedBy)
	if err != nil {
		return err
	}
	v.Version = version
	v.AppliedAt = truncate(applied)
	return nil
}

const policyMetaCols = `tenant_id, version, hash, format, revision, effective_date, applied_at, applied_by`

func (t *dataTx) getPolicy(op, where string, args ...any) (store.PolicyVersion, error) {
	var v store.PolicyVersion
	var applied int64
	err := t.c.QueryRow(op, `SELECT `+policyMetaCols+`, source FROM policy_versions WHERE `+where, args,
		&v.TenantID, &v.Version, &v.Hash, &v.Format, &v.Revision, &v.EffectiveDate, &applied, &v.AppliedBy, &v.Source)
	if err != nil {
		return store.PolicyVersion{}, err
	}
	v.AppliedAt = fromMicros(applied)
	return v, nil
}

func (t *dataTx) ActivePolicy(tenantID string) (store.PolicyVersion, error) {
	return t.getPolicy("get active policy", `tenant_id = ? ORDER BY version DESC LIMIT 1`, tenantID)
}

func (t *dataTx) GetPolicyVersion(tenantID string, version int) (store.PolicyVersion, error) {
	return t.getPolicy("get policy version", `tenant_id = ? AND version = ?`, tenantID, version)
}

func (t *dataTx) ListPolicyVersions(tenantID string) ([]store.PolicyVersion, error) {
	const op = "list policy versions"
	rows, err := t.c.Query(op, `SELECT `+policyMetaCols+` FROM policy_versions WHERE tenant_id = ? ORDER BY version DESC`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PolicyVersion
	for rows.Next() {
		var v store.PolicyVersion
		var applied int64
		if err := rows.Scan(&v.TenantID, &v.Version, &v.Hash, &v.Format, &v.Revision, &v.EffectiveDate, &applied, &v.AppliedBy); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		v.AppliedAt = fromMicros(applied)
		out = append(out, v)
	}
	return out, t.c.Wrap(op, rows.Err())
}
