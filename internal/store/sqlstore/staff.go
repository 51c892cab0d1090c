package sqlstore

import (
	"bytes"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

const staffCols = `tenant_id, id, login, role, password_hash, must_change_password, totp_secret, totp_pending, totp_last_step,
	created_at, created_by, updated_at, last_sign_in_at, disabled_at`

// staffColsA is staffCols qualified with the alias a, for joins.
const staffColsA = `a.tenant_id, a.id, a.login, a.role, a.password_hash, a.must_change_password, a.totp_secret, a.totp_pending, a.totp_last_step,
	a.created_at, a.created_by, a.updated_at, a.last_sign_in_at, a.disabled_at`

type staffRow struct {
	a                store.StaffAccount
	mustChange       int
	created, updated int64
	signIn, disabled *int64
}

func (r *staffRow) dest() []any {
	return []any{&r.a.TenantID, &r.a.ID, &r.a.Login, &r.a.Role, &r.a.PasswordHash, &r.mustChange, &r.a.TOTPSecret, &r.a.TOTPPending,
		&r.a.TOTPLastStep, &r.created, &r.a.CreatedBy, &r.updated, &r.signIn, &r.disabled}
}

func (r *staffRow) account() store.StaffAccount {
	a := r.a
	a.MustChangePassword = r.mustChange != 0
	a.CreatedAt, a.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	a.LastSignInAt, a.DisabledAt = fromNullMicros(r.signIn), fromNullMicros(r.disabled)
	if len(a.TOTPSecret) == 0 {
		a.TOTPSecret = nil
	}
	if len(a.TOTPPending) == 0 {
		a.TOTPPending = nil
	}
	return a
}

// nullBytes stores an empty slice as NULL ("none").
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var staffRoles = map[string]bool{"admin": true, "dpo": true, "agent": true, "service": true, "auditor": true}

func (t *dataTx) CreateStaff(a store.StaffAccount) error {
	const op = "create staff account"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, f := range []struct{ name, val string }{{"tenant id", a.TenantID}, {"id", a.ID}, {"login", a.Login}} {
		if err := checkID(op, f.name, f.val); err != nil {
			return err
		}
	}
	if !staffRoles[a.Role] {
		return invalid(op, "role must be admin, dpo, agent, service or auditor")
	}
	if err := checkText(op, "password hash", a.PasswordHash, true); err != nil {
		return err
	}
	if err := checkText(op, "created by", a.CreatedBy, false); err != nil {
		return err
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	if err := t.tenantExists(op, a.TenantID); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO staff_accounts (`+staffCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		a.TenantID, a.ID, a.Login, a.Role, a.PasswordHash, boolInt(a.MustChangePassword), nullBytes(a.TOTPSecret), nullBytes(a.TOTPPending),
		a.TOTPLastStep, micros(a.CreatedAt), a.CreatedBy, micros(a.UpdatedAt), nullMicros(a.LastSignInAt), nullMicros(a.DisabledAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "login or id taken"}
	}
	return nil
}

func (t *dataTx) GetStaff(tenantID, id string) (store.StaffAccount, error) {
	const op = "get staff account"
	var r staffRow
	if err := t.c.QueryRow(op, `SELECT `+staffCols+` FROM staff_accounts WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, r.dest()...); err != nil {
		return store.StaffAccount{}, err
	}
	return r.account(), nil
}

func (t *dataTx) GetStaffByLogin(tenantID, login string) (store.StaffAccount, error) {
	const op = "get staff account by login"
	var r staffRow
	if err := t.c.QueryRow(op, `SELECT `+staffCols+` FROM staff_accounts WHERE tenant_id = ? AND login = ?`, []any{tenantID, login}, r.dest()...); err != nil {
		return store.StaffAccount{}, err
	}
	return r.account(), nil
}

func (t *dataTx) ListStaff(tenantID string) ([]store.StaffAccount, error) {
	return listRows(t, "list staff accounts", `SELECT `+staffCols+` FROM staff_accounts WHERE tenant_id = ? ORDER BY login`,
		[]any{tenantID}, (*staffRow).dest, (*staffRow).account)
}

func (t *dataTx) CountStaff(tenantID string) (int, error) {
	const op = "count staff accounts"
	var n int
	err := t.c.QueryRow(op, `SELECT COUNT(*) FROM staff_accounts WHERE tenant_id = ? AND disabled_at IS NULL`, []any{tenantID}, &n)
	return n, err
}

// updateStaff runs an UPDATE of one account and maps "no row" to ErrNotFound.
func (t *dataTx) updateStaff(op, set string, tenantID, id string, args ...any) error {
	if err := t.c.Writable(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE staff_accounts SET `+set+` WHERE tenant_id = ? AND id = ?`, append(args, tenantID, id)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *dataTx) SetStaffPassword(tenantID, id, hash string, mustChange bool, at time.Time) error {
	const op = "set staff password"
	if err := checkText(op, "password hash", hash, true); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	return t.updateStaff(op, `password_hash = ?, must_change_password = ?, updated_at = ?`, tenantID, id, hash, boolInt(mustChange), micros(at))
}

func (t *dataTx) SetStaffTOTP(tenantID, id string, secret, pending []byte, at time.Time) error {
	const op = "set staff totp"
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	if len(secret) > 4096 || len(pending) > 4096 {
		return invalid(op, "sealed secret too long")
	}
	cur, err := t.GetStaff(tenantID, id)
	if err != nil {
		return err
	}
	// The last accepted step belongs to the active seed: a new seed starts
	// afresh, an unchanged one keeps it (so a replay stays refused).
	last := cur.TOTPLastStep
	if !bytes.Equal(cur.TOTPSecret, secret) {
		last = 0
	}
	return t.updateStaff(op, `totp_secret = ?, totp_pending = ?, totp_last_step = ?, updated_at = ?`,
		tenantID, id, nullBytes(secret), nullBytes(pending), last, micros(at))
}

func (t *dataTx) UseStaffTOTPStep(tenantID, id string, step int64) error {
	const op = "use staff totp step"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	n, err := t.c.ExecAffected(op, `UPDATE staff_accounts SET totp_last_step = ? WHERE tenant_id = ? AND id = ? AND totp_last_step < ?`,
		step, tenantID, id, step)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := t.GetStaff(tenantID, id); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "code already used"}
}

func (t *dataTx) SetStaffSignIn(tenantID, id string, at time.Time) error {
	const op = "set staff sign-in"
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	return t.updateStaff(op, `last_sign_in_at = ?`, tenantID, id, micros(at))
}

func (t *dataTx) SetStaffDisabled(tenantID, id string, at time.Time) error {
	const op = "set staff disabled"
	if at.IsZero() {
		if err := t.updateStaff(op, `disabled_at = NULL`, tenantID, id); err != nil {
			return err
		}
		return nil
	}
	if err := t.updateStaff(op, `disabled_at = COALESCE(disabled_at, ?), updated_at = ?`, tenantID, id, micros(at), micros(at)); err != nil {
		return err
	}
	_, err := t.RevokeStaffSessions(tenantID, id, at)
	return err
}

const sessionCols = `id_hash, tenant_id, staff_id, stage, created_at, last_seen_at, expires_at, revoked_at`

const sessionColsS = `s.id_hash, s.tenant_id, s.staff_id, s.stage, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at`

type sessionRow struct {
	s                      store.StaffSession
	created, seen, expires int64
	revoked                *int64
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.IDHash, &r.s.TenantID, &r.s.StaffID, &r.s.Stage, &r.created, &r.seen, &r.expires, &r.revoked}
}

func (r *sessionRow) session() store.StaffSession {
	s := r.s
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(r.created), fromMicros(r.seen), fromMicros(r.expires)
	s.RevokedAt = fromNullMicros(r.revoked)
	return s
}

func checkSessionHash(op string, h []byte) error {
	if len(h) < 16 || len(h) > 64 {
		return invalid(op, "session hash must be 16 to 64 bytes")
	}
	return nil
}

func (t *dataTx) CreateStaffSession(s store.StaffSession) error {
	const op = "create staff session"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkSessionHash(op, s.IDHash); err != nil {
		return err
	}
	if s.Stage != store.SessionPending && s.Stage != store.SessionActive {
		return invalid(op, "stage must be pending or active")
	}
	if s.CreatedAt.IsZero() || s.ExpiresAt.IsZero() {
		return invalid(op, "created and expiry times are required")
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	// Insert only when the account exists in the tenant, so neither a
	// missing account nor a taken hash raises an SQL error.
	n, err := t.c.ExecAffected(op, `INSERT INTO staff_sessions (`+sessionCols+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM staff_accounts WHERE tenant_id = ? AND id = ?)
		ON CONFLICT DO NOTHING`,
		s.IDHash, s.TenantID, s.StaffID, s.Stage, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), nullMicros(s.RevokedAt),
		s.TenantID, s.StaffID)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := t.GetStaff(s.TenantID, s.StaffID); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "session hash taken"}
}

func (t *dataTx) GetStaffSession(idHash []byte) (store.StaffSession, store.StaffAccount, error) {
	const op = "get staff session"
	var s sessionRow
	var a staffRow
	err := t.c.QueryRow(op, `SELECT `+sessionColsS+`, `+staffColsA+` FROM staff_sessions s
		JOIN staff_accounts a ON a.tenant_id = s.tenant_id AND a.id = s.staff_id
		WHERE s.id_hash = ?`, []any{idHash}, append(s.dest(), a.dest()...)...)
	if err != nil {
		return store.StaffSession{}, store.StaffAccount{}, err
	}
	return s.session(), a.account(), nil
}

func (t *dataTx) TouchStaffSession(idHash []byte, at time.Time) error {
	const op = "touch staff session"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `UPDATE staff_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?`, micros(at), idHash, micros(at))
	return err
}

func (t *dataTx) RevokeStaffSession(idHash []byte, at time.Time) error {
	const op = "revoke staff session"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	_, err := t.c.Exec(op, `UPDATE staff_sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id_hash = ?`, micros(at), idHash)
	return err
}

func (t *dataTx) RevokeStaffSessions(tenantID, staffID string, at time.Time) (int, error) {
	const op = "revoke staff sessions"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if at.IsZero() {
		return 0, invalid(op, "time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE staff_sessions SET revoked_at = ? WHERE tenant_id = ? AND staff_id = ? AND revoked_at IS NULL`,
		micros(at), tenantID, staffID)
	return int(n), err
}

func (t *dataTx) DeleteStaffSessions(before time.Time) (int, error) {
	const op = "delete staff sessions"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	n, err := t.c.ExecAffected(op, `DELETE FROM staff_sessions WHERE expires_at < ? OR revoked_at < ?`, micros(before), micros(before))
	return int(n), err
}

func (t *dataTx) AddSigninFailure(key string, at time.Time, resetAfter time.Duration) (store.SigninThrottle, error) {
	const op = "add sign-in failure"
	if err := t.c.Writable(op); err != nil {
		return store.SigninThrottle{}, err
	}
	if err := checkID(op, "key", key); err != nil {
		return store.SigninThrottle{}, err
	}
	if at.IsZero() || resetAfter <= 0 {
		return store.SigninThrottle{}, invalid(op, "time and reset window are required")
	}
	now, stale := micros(at), micros(at.Add(-resetAfter))
	// One statement, so concurrent failures on PostgreSQL (row lock of the
	// upsert) and SQLite (single writer) are all counted.
	if _, err := t.c.Exec(op, `INSERT INTO signin_throttle (throttle_key, failures, first_failed_at, last_failed_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures = CASE WHEN signin_throttle.last_failed_at < ? THEN 1 ELSE signin_throttle.failures + 1 END,
			first_failed_at = CASE WHEN signin_throttle.last_failed_at < ? THEN excluded.first_failed_at ELSE signin_throttle.first_failed_at END,
			last_failed_at = CASE WHEN signin_throttle.last_failed_at > excluded.last_failed_at THEN signin_throttle.last_failed_at ELSE excluded.last_failed_at END`,
		key, now, now, stale, stale); err != nil {
		return store.SigninThrottle{}, err
	}
	return t.GetSigninThrottle(key)
}

func (t *dataTx) GetSigninThrottle(key string) (store.SigninThrottle, error) {
	const op = "get sign-in throttle"
	var th store.SigninThrottle
	var first, last int64
	if err := t.c.QueryRow(op, `SELECT throttle_key, failures, first_failed_at, last_failed_at FROM signin_throttle WHERE throttle_key = ?`,
		[]any{key}, &th.Key, &th.Failures, &first, &last); err != nil {
		return store.SigninThrottle{}, err
	}
	th.FirstFailedAt, th.LastFailedAt = fromMicros(first), fromMicros(last)
	return th, nil
}

func (t *dataTx) ClearSigninThrottle(key string) error {
	const op = "clear sign-in throttle"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `DELETE FROM signin_throttle WHERE throttle_key = ?`, key)
	return err
}
