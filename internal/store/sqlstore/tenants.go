package sqlstore

import (
	"regexp"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Limits on free-text columns, so a bad caller cannot store megabytes in a
// name; the HTTP layer enforces its own, tighter limits.
const (
	maxIDLen   = 128
	maxTextLen = 1024
)

func invalid(op, why string) error {
	return &Error{Op: op, Kind: store.ErrInvalid, Detail: why}
}

func checkID(op, field, id string) error {
	if id == "" {
		return invalid(op, field+" is empty")
	}
	if len(id) > maxIDLen {
		return invalid(op, field+" is too long")
	}
	return nil
}

func checkText(op, field, s string, required bool) error {
	if required && s == "" {
		return invalid(op, field+" is empty")
	}
	if len(s) > maxTextLen {
		return invalid(op, field+" is too long")
	}
	return nil
}

func checkMode(op, mode string) error {
	if mode != "controller" && mode != "processor" {
		return invalid(op, `mode must be "controller" or "processor"`)
	}
	return nil
}

const tenantCols = `id, slug, name, mode, created_at`

func scanTenant(sc interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := sc.Scan(&t.ID, &t.Slug, &t.Name, &t.Mode, &created); err != nil {
		return t, err
	}
	t.CreatedAt = fromMicros(created)
	return t, nil
}

func (t *dataTx) CreateTenant(tn store.Tenant) error {
	const op = "create tenant"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "id", tn.ID); err != nil {
		return err
	}
	if !slugRE.MatchString(tn.Slug) {
		return invalid(op, "slug must match [a-z0-9][a-z0-9-]{0,62}")
	}
	if err := checkText(op, "name", tn.Name, false); err != nil {
		return err
	}
	if err := checkMode(op, tn.Mode); err != nil {
		return err
	}
	if tn.CreatedAt.IsZero() {
		tn.CreatedAt = time.Now()
	}
	// ON CONFLICT DO NOTHING rather than a unique violation: on
	// PostgreSQL an error aborts the whole transaction, and the contract
	// lets a function handle ErrConflict and carry on.
	n, err := t.c.ExecAffected(op, `INSERT INTO tenants (id, slug, name, mode, policy_seq, created_at)
		VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
		tn.ID, tn.Slug, tn.Name, tn.Mode, micros(tn.CreatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "id or slug taken"}
	}
	return nil
}

func (t *dataTx) getTenant(op, where string, arg string) (store.Tenant, error) {
	var tn store.Tenant
	var created int64
	err := t.c.QueryRow(op, `SELECT `+tenantCols+` FROM tenants WHERE `+where, []any{arg},
		&tn.ID, &tn.Slug, &tn.Name, &tn.Mode, &created)
	if err != nil {
		return store.Tenant{}, err
	}
	tn.CreatedAt = fromMicros(created)
	return tn, nil
}

func (t *dataTx) GetTenant(id string) (store.Tenant, error) {
	return t.getTenant("get tenant", `id = ?`, id)
}

func (t *dataTx) GetTenantBySlug(slug string) (store.Tenant, error) {
	return t.getTenant("get tenant by slug", `slug = ?`, slug)
}

func (t *dataTx) ListTenants() ([]store.Tenant, error) {
	const op = "list tenants"
	rows, err := t.c.Query(op, `SELECT `+tenantCols+` FROM tenants ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		tn, err := scanTenant(rows)
		if err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, tn)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) UpdateTenantMode(id, mode string) error {
	const op = "update tenant mode"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkMode(op, mode); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE tenants SET mode = ? WHERE id = ?`, mode, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}
