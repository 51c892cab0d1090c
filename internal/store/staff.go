package store

import "time"

// Staff are the people of a tenant who sign in to the admin console (the
// privacy team, support agents, auditors). They are not API callers: a staff
// session never authenticates the JSON API and an API key never signs in to
// the console. The rules (password hashing, TOTP, throttling, session
// lifetimes) live in internal/web/staff; the store keeps the rows.

// StaffAccount is one staff member of a tenant.
type StaffAccount struct {
	TenantID string
	ID       string // UUIDv7
	// Login is the sign-in name, normalised (trimmed, lower case); unique
	// per tenant.
	Login string
	// Role is one of the API roles (admin, dpo, agent, service, auditor);
	// the same permission matrix applies.
	Role string
	// PasswordHash is a PHC-format argon2id hash
	// ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
	PasswordHash string
	// MustChangePassword is set for an initial or reset password, which
	// the person must replace before doing anything else.
	MustChangePassword bool
	// TOTPSecret is the TOTP seed sealed under the tenant's KEK
	// (keys.Manager.SealSecret); nil means no second factor.
	TOTPSecret []byte
	// TOTPPending is a seed being enrolled: shown once, active only after
	// the person proves they hold it with a valid code.
	TOTPPending []byte
	// TOTPLastStep is the last 30-second step whose code was accepted, so
	// a code cannot be used twice (RFC 6238 §5.2).
	TOTPLastStep int64
	CreatedAt    time.Time
	CreatedBy    string // actor, e.g. "cli" or "staff:<id>"
	UpdatedAt    time.Time
	LastSignInAt time.Time // zero: never
	DisabledAt   time.Time // zero: active
}

// StaffSession is a signed-in browser. Only a hash of its random token is
// stored, so a copy of the database cannot be used to take over sessions.
type StaffSession struct {
	// IDHash is SHA-256 of the session token in the cookie.
	IDHash   []byte
	TenantID string
	StaffID  string
	// Stage is SessionPending after the password when a TOTP code is still
	// due, SessionActive once fully signed in.
	Stage      string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, however active the session is.
	ExpiresAt time.Time
	RevokedAt time.Time // zero: not revoked
}

// Session stages.
const (
	SessionPending = "pending" // password accepted, second factor due
	SessionActive  = "active"
)

// SigninThrottle counts recent failed sign-ins for one key (a login of a
// tenant, or a client network).
type SigninThrottle struct {
	Key           string
	Failures      int
	FirstFailedAt time.Time
	LastFailedAt  time.Time
}

// StaffTx stores staff accounts, their sessions and sign-in throttling.
type StaffTx interface {
	// CreateStaff inserts a; ErrConflict if the tenant already has the
	// login (or the id is taken), ErrNotFound if the tenant does not exist.
	CreateStaff(a StaffAccount) error
	// GetStaff returns one account of the tenant, or ErrNotFound.
	GetStaff(tenantID, id string) (StaffAccount, error)
	// GetStaffByLogin returns the tenant's account with this (normalised)
	// login, or ErrNotFound.
	GetStaffByLogin(tenantID, login string) (StaffAccount, error)
	// ListStaff returns the tenant's accounts ordered by login.
	ListStaff(tenantID string) ([]StaffAccount, error)
	// SetStaffPassword replaces the password hash and the must-change flag.
	SetStaffPassword(tenantID, id, hash string, mustChange bool, at time.Time) error
	// SetStaffTOTP sets the active and pending sealed seeds (nil clears
	// one) and resets the last accepted step when the active seed changes.
	SetStaffTOTP(tenantID, id string, secret, pending []byte, at time.Time) error
	// UseStaffTOTPStep records that a code of step was accepted; it returns
	// ErrConflict when step is not after the last accepted one (a replay),
	// atomically, so two instances cannot both accept one code.
	UseStaffTOTPStep(tenantID, id string, step int64) error
	// SetStaffSignIn records a successful sign-in.
	SetStaffSignIn(tenantID, id string, at time.Time) error
	// SetStaffDisabled disables (at non-zero) or enables (at zero) an
	// account. Disabling also revokes every session of the account.
	SetStaffDisabled(tenantID, id string, at time.Time) error

	// CreateStaffSession inserts s; ErrConflict if the hash is taken,
	// ErrNotFound if the account does not exist in the tenant.
	CreateStaffSession(s StaffSession) error
	// GetStaffSession returns a session by the hash of its token, whatever
	// its tenant (the caller checks it against the tenant it serves), with
	// its account, or ErrNotFound.
	GetStaffSession(idHash []byte) (StaffSession, StaffAccount, error)
	// TouchStaffSession moves the session's last-seen time forward.
	TouchStaffSession(idHash []byte, at time.Time) error
	// RevokeStaffSession ends one session; revoking twice keeps the first
	// time, and an unknown hash is not an error (sign-out is idempotent).
	RevokeStaffSession(idHash []byte, at time.Time) error
	// RevokeStaffSessions ends every session of an account and returns how
	// many were active.
	RevokeStaffSessions(tenantID, staffID string, at time.Time) (int, error)
	// DeleteStaffSessions removes sessions that expired, or were revoked,
	// before the given time, and returns how many.
	DeleteStaffSessions(before time.Time) (int, error)

	// AddSigninFailure counts a failed sign-in for key at the given time,
	// starting the count again when the last failure is older than
	// resetAfter, atomically on every engine, and returns the new state.
	AddSigninFailure(key string, at time.Time, resetAfter time.Duration) (SigninThrottle, error)
	// GetSigninThrottle returns the state of key, or ErrNotFound.
	GetSigninThrottle(key string) (SigninThrottle, error)
	// ClearSigninThrottle forgets the failures of key.
	ClearSigninThrottle(key string) error
	// CountStaff returns how many active (not disabled) accounts the tenant has.
	CountStaff(tenantID string) (int, error)
}
