package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// NewKeyStore serves the key schema (tenant_keys, subject_keys,
// shredded_keys) over db, which must have been opened with Options{Schema:
// SchemaKeys}. It shares the engine's writer, retries and error mapping with
// the data store but never sees the data tables.
func NewKeyStore(db DB) store.KeyStore { return &keyStore{db: db} }

type keyStore struct{ db DB }

func (s *keyStore) Read(ctx context.Context, fn func(store.KeyTx) error) error {
	return s.db.ReadConn(ctx, func(c *Conn) error { return fn(&keyTx{c: c}) })
}

func (s *keyStore) Write(ctx context.Context, fn func(store.KeyTx) error) error {
	return s.db.WriteConn(ctx, func(c *Conn) error { return fn(&keyTx{c: c}) })
}

func (s *keyStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s *keyStore) Migrations(ctx context.Context) (store.MigrationStatus, error) {
	return s.db.Migrations(ctx)
}

func (s *keyStore) Engine() string { return s.db.Engine() }

func (s *keyStore) Close() error { return s.db.Close() }

// UnwrapKeyStore returns the engine under a key store made by NewKeyStore,
// for tests and tools; nil for other key stores.
func UnwrapKeyStore(s store.KeyStore) DB {
	if k, ok := s.(*keyStore); ok {
		return k.db
	}
	return nil
}

// keyTx is the store.KeyTx of the key schema.
type keyTx struct{ c *Conn }

var _ store.KeyTx = (*keyTx)(nil)

func (t *keyTx) OnCommit(fn func())       { t.c.OnCommit(fn) }
func (t *keyTx) Context() context.Context { return t.c.Context() }

// secureDelete makes SQLite overwrite the bytes of deleted or replaced rows
// with zeros (PRAGMA secure_delete), so a destroyed or re-wrapped key does
// not linger in free pages of the key file. It is a connection setting; the
// key store sets it before every statement that removes key material, which
// costs one cached statement. PostgreSQL has no equivalent (VACUUM reclaims
// dead tuples; see docs/security.md).
func (t *keyTx) secureDelete(op string) error {
	if t.c.Dialect().Name != "sqlite" {
		return nil
	}
	_, err := t.c.Exec(op, `PRAGMA secure_delete = ON`)
	return err
}

func checkPurpose(op, purpose string) error {
	switch purpose {
	case store.KeyPurposeKEK, store.KeyPurposeIndex, store.KeyPurposeAuditSigning:
		return nil
	}
	return invalid(op, "key purpose must be kek, index or audit_signing")
}

func checkVersion(op string, v int) error {
	if v < 1 || v > 1<<30 {
		return invalid(op, "key version must be at least 1")
	}
	return nil
}

func checkWrapped(op string, b []byte) error {
	if len(b) == 0 {
		return invalid(op, "wrapped key is empty")
	}
	if len(b) > 4096 {
		return invalid(op, "wrapped key is too long")
	}
	return nil
}

const tenantKeyCols = `tenant_id, purpose, version, wrapped, root_key_id, created_at, retired_at`

func scanTenantKey(sc interface{ Scan(...any) error }) (store.TenantKey, error) {
	var k store.TenantKey
	var root, created int64
	var retired *int64
	if err := sc.Scan(&k.TenantID, &k.Purpose, &k.Version, &k.Wrapped, &root, &created, &retired); err != nil {
		return k, err
	}
	k.RootKeyID = uint32(root)
	k.CreatedAt = fromMicros(created)
	k.RetiredAt = fromNullMicros(retired)
	return k, nil
}

func (t *keyTx) tenantKeys(op, query string, args ...any) ([]store.TenantKey, error) {
	rows, err := t.c.Query(op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TenantKey
	for rows.Next() {
		k, err := scanTenantKey(rows)
		if err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, k)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *keyTx) InsertTenantKey(k store.TenantKey) error {
	const op = "insert tenant key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", k.TenantID); err != nil {
		return err
	}
	if err := checkPurpose(op, k.Purpose); err != nil {
		return err
	}
	if err := checkVersion(op, k.Version); err != nil {
		return err
	}
	if err := checkWrapped(op, k.Wrapped); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO tenant_keys (`+tenantKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.TenantID, k.Purpose, k.Version, k.Wrapped, int64(k.RootKeyID), micros(k.CreatedAt), nullMicros(k.RetiredAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "the tenant already has this key version"}
	}
	return nil
}

func (t *keyTx) ListTenantKeys(tenantID string) ([]store.TenantKey, error) {
	return t.tenantKeys("list tenant keys", `SELECT `+tenantKeyCols+` FROM tenant_keys WHERE tenant_id = ? ORDER BY purpose, version`, tenantID)
}

func (t *keyTx) ListKeyTenants() ([]string, error) {
	const op = "list key tenants"
	rows, err := t.c.Query(op, `SELECT DISTINCT tenant_id FROM tenant_keys ORDER BY tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, id)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *keyTx) RewrapTenantKey(tenantID, purpose string, version int, fromRootKeyID uint32, wrapped []byte, rootKeyID uint32) error {
	const op = "rewrap tenant key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkWrapped(op, wrapped); err != nil {
		return err
	}
	if err := t.secureDelete(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE tenant_keys SET wrapped = ?, root_key_id = ?
		WHERE tenant_id = ? AND purpose = ? AND version = ? AND root_key_id = ?`,
		wrapped, int64(rootKeyID), tenantID, purpose, version, int64(fromRootKeyID))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *keyTx) RetireTenantKeys(tenantID, purpose string, version int, at time.Time) error {
	const op = "retire tenant keys"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `UPDATE tenant_keys SET retired_at = ?
		WHERE tenant_id = ? AND purpose = ? AND version < ? AND retired_at IS NULL`,
		micros(at), tenantID, purpose, version)
	return err
}

func (t *keyTx) TenantKeysNotWrappedBy(rootKeyID uint32, limit int) ([]store.TenantKey, error) {
	if limit <= 0 {
		limit = 100
	}
	return t.tenantKeys("list tenant keys to rewrap", `SELECT `+tenantKeyCols+` FROM tenant_keys
		WHERE root_key_id <> ? ORDER BY tenant_id, purpose, version LIMIT ?`, int64(rootKeyID), limit)
}

func (t *keyTx) CountTenantKeysByRoot() (map[uint32]int, error) {
	const op = "count tenant keys by root key"
	rows, err := t.c.Query(op, `SELECT root_key_id, COUNT(*) FROM tenant_keys GROUP BY root_key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint32]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out[uint32(id)] = n
	}
	return out, t.c.Wrap(op, rows.Err())
}

// shredded reports whether the ledger names the subject, without raising an
// SQL error (so a PostgreSQL transaction stays usable).
func (t *keyTx) shredded(op, tenantID, subjectID string) (bool, error) {
	var one int
	err := t.c.QueryRow(op, `SELECT 1 FROM shredded_keys WHERE tenant_id = ? AND subject_id = ?`, []any{tenantID, subjectID}, &one)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (t *keyTx) InsertSubjectKey(k store.SubjectKey) error {
	const op = "insert subject key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", k.TenantID); err != nil {
		return err
	}
	if err := checkID(op, "subject id", k.SubjectID); err != nil {
		return err
	}
	if err := checkVersion(op, k.KEKVersion); err != nil {
		return err
	}
	if err := checkWrapped(op, k.Wrapped); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	// One statement on the hot path: insert unless the subject has a key
	// or is in the ledger; only a refusal looks at which it was.
	n, err := t.c.ExecAffected(op, `INSERT INTO subject_keys (tenant_id, subject_id, wrapped, kek_version, created_at)
		SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM shredded_keys WHERE tenant_id = ? AND subject_id = ?)
		ON CONFLICT DO NOTHING`,
		k.TenantID, k.SubjectID, k.Wrapped, k.KEKVersion, micros(k.CreatedAt), k.TenantID, k.SubjectID)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	gone, err := t.shredded(op, k.TenantID, k.SubjectID)
	if err != nil {
		return err
	}
	if gone {
		return &Error{Op: op, Kind: store.ErrKeyDestroyed}
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "the subject already has a key"}
}

func (t *keyTx) GetSubjectKey(tenantID, subjectID string) (store.SubjectKey, error) {
	const op = "get subject key"
	k := store.SubjectKey{TenantID: tenantID, SubjectID: subjectID}
	var created int64
	var destroyed *int64
	// The ledger wins over a key row: should a key ever be written for a
	// subject that is being shredded at the same moment, it is still
	// treated as destroyed (and the next Shred deletes it).
	err := t.c.QueryRow(op, `SELECT k.wrapped, k.kek_version, k.created_at,
		(SELECT s.destroyed_at FROM shredded_keys s WHERE s.tenant_id = k.tenant_id AND s.subject_id = k.subject_id)
		FROM subject_keys k WHERE k.tenant_id = ? AND k.subject_id = ?`,
		[]any{tenantID, subjectID}, &k.Wrapped, &k.KEKVersion, &created, &destroyed)
	switch {
	case errors.Is(err, store.ErrNotFound):
		gone, err := t.shredded(op, tenantID, subjectID)
		if err != nil {
			return store.SubjectKey{}, err
		}
		if gone {
			return store.SubjectKey{}, &Error{Op: op, Kind: store.ErrKeyDestroyed}
		}
		return store.SubjectKey{}, &Error{Op: op, Kind: store.ErrNotFound}
	case err != nil:
		return store.SubjectKey{}, err
	case destroyed != nil:
		return store.SubjectKey{}, &Error{Op: op, Kind: store.ErrKeyDestroyed}
	}
	k.CreatedAt = fromMicros(created)
	return k, nil
}

func (t *keyTx) DestroySubjectKey(tenantID, subjectID string, at time.Time) (bool, error) {
	const op = "destroy subject key"
	if err := t.c.Writable(op); err != nil {
		return false, err
	}
	if err := checkID(op, "tenant id", tenantID); err != nil {
		return false, err
	}
	if err := checkID(op, "subject id", subjectID); err != nil {
		return false, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	if err := t.secureDelete(op); err != nil {
		return false, err
	}
	n, err := t.c.ExecAffected(op, `DELETE FROM subject_keys WHERE tenant_id = ? AND subject_id = ?`, tenantID, subjectID)
	if err != nil {
		return false, err
	}
	if _, err := t.c.Exec(op, `INSERT INTO shredded_keys (tenant_id, subject_id, destroyed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		tenantID, subjectID, micros(at)); err != nil {
		return false, err
	}
	return n > 0, nil
}

func (t *keyTx) GetShredded(tenantID, subjectID string) (store.ShreddedKey, error) {
	const op = "get shredded key"
	s := store.ShreddedKey{TenantID: tenantID, SubjectID: subjectID}
	var at int64
	if err := t.c.QueryRow(op, `SELECT destroyed_at FROM shredded_keys WHERE tenant_id = ? AND subject_id = ?`,
		[]any{tenantID, subjectID}, &at); err != nil {
		return store.ShreddedKey{}, err
	}
	s.DestroyedAt = fromMicros(at)
	return s, nil
}

func (t *keyTx) SubjectKeysNotAt(tenantID string, kekVersion int, limit int) ([]store.SubjectKey, error) {
	const op = "list subject keys to rewrap"
	if limit <= 0 {
		limit = 1000
	}
	rows, err := t.c.Query(op, `SELECT subject_id, wrapped, kek_version, created_at FROM subject_keys
		WHERE tenant_id = ? AND kek_version <> ? ORDER BY subject_id LIMIT ?`, tenantID, kekVersion, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SubjectKey
	for rows.Next() {
		k := store.SubjectKey{TenantID: tenantID}
		var created int64
		if err := rows.Scan(&k.SubjectID, &k.Wrapped, &k.KEKVersion, &created); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, k)
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *keyTx) RewrapSubjectKey(tenantID, subjectID string, fromVersion int, wrapped []byte, kekVersion int) error {
	const op = "rewrap subject key"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkWrapped(op, wrapped); err != nil {
		return err
	}
	if err := checkVersion(op, kekVersion); err != nil {
		return err
	}
	if err := t.secureDelete(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE subject_keys SET wrapped = ?, kek_version = ?
		WHERE tenant_id = ? AND subject_id = ? AND kek_version = ?`,
		wrapped, kekVersion, tenantID, subjectID, fromVersion)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *keyTx) CountSubjectKeys(tenantID string) (map[int]int, error) {
	const op = "count subject keys"
	rows, err := t.c.Query(op, `SELECT kek_version, COUNT(*) FROM subject_keys WHERE tenant_id = ? GROUP BY kek_version`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out[v] = n
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *keyTx) CountShredded(tenantID string) (int, error) {
	var n int
	err := t.c.QueryRow("count shredded keys", `SELECT COUNT(*) FROM shredded_keys WHERE tenant_id = ?`, []any{tenantID}, &n)
	return n, err
}
