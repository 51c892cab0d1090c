// Package staff holds the accounts of the admin console: people of a tenant
// who sign in with a password (argon2id) and optionally a TOTP code, and get
// a session held in a cookie. It enforces what makes such sign-ins safe —
// throttling of guesses per login and per client network, equal work for
// unknown logins, one-time use of each TOTP code, session rotation at every
// step, idle and absolute timeouts — and audits every sign-in and every
// change to an account. Staff sessions are for the console only: the JSON
// API authenticates API keys and nothing else.
package staff

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Errors callers branch on. Messages are safe to show.
var (
	// ErrBadCredentials is the one answer to a wrong tenant, login,
	// password or code, so the form does not reveal which was wrong.
	ErrBadCredentials = errors.New("wrong login or password")
	// ErrBadCode is a wrong, expired or reused TOTP code.
	ErrBadCode = errors.New("wrong or expired code")
	// ErrNoSession means the cookie names no live session.
	ErrNoSession = errors.New("not signed in")
	// ErrNotFound means the tenant has no such account.
	ErrNotFound = errors.New("no such staff account")
	// ErrLoginTaken means the tenant already has the login.
	ErrLoginTaken = errors.New("that login is already taken")
	// ErrInvalidLogin rejects a login that is not a short name.
	ErrInvalidLogin = errors.New("a login is 1-64 characters: letters, digits and . _ @ + - (starting with a letter or digit)")
	// ErrNoSealer means TOTP cannot be enrolled: no key manager to seal seeds.
	ErrNoSealer = errors.New("two-factor enrolment needs the key store")
)

// ThrottledError says sign-in is refused until a time.
type ThrottledError struct{ Until time.Time }

func (e *ThrottledError) Error() string {
	return "too many failed sign-ins; try again after " + e.Until.UTC().Format("15:04:05 UTC")
}

// Sealer seals TOTP seeds under the tenant's key; keys.Manager is one
// (SealTenant: envelope encryption under the tenant's KEK).
type Sealer interface {
	SealTenant(ctx context.Context, tenantID, purpose string, ad, plaintext []byte) ([]byte, error)
	OpenTenant(ctx context.Context, tenantID, purpose string, ad, ciphertext []byte) ([]byte, error)
}

// PurposeTOTP is the sealing purpose of TOTP seeds; the associated data is
// the account id (and stage), so a seed copied to another account, or from
// the pending to the active column, does not open.
const PurposeTOTP = "staff-totp"

// Rule is an exponential lockout: Free failures cost nothing, the next
// locks for Base, then 2×Base, 4×Base … up to Max, counted from the last
// failure; a quiet period of Reset forgets the failures.
type Rule struct {
	Free      int
	Base, Max time.Duration
	Reset     time.Duration
}

// Default throttling. Per login: after 5 failures, 30 s, 1 min, 2 min … at
// most 15 min between guesses, about 100 guesses a day against one account.
// Per client network (/24 or /48): 50 free failures, for offices behind
// one address, then the same steps. Behind a reverse proxy every client has
// the proxy's network: see docs/console.md.
var (
	DefaultLoginRule   = Rule{Free: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Reset: 24 * time.Hour}
	DefaultNetworkRule = Rule{Free: 50, Base: 30 * time.Second, Max: 15 * time.Minute, Reset: time.Hour}
)

// lockedUntil is when a key with th's failures may try again (zero: now).
func (r Rule) lockedUntil(th store.SigninThrottle) time.Time {
	if th.Failures < r.Free {
		return time.Time{}
	}
	d := r.Base
	for i := r.Free; i < th.Failures && d < r.Max; i++ {
		d *= 2
	}
	if d > r.Max {
		d = r.Max
	}
	return th.LastFailedAt.Add(d)
}

// Session timeouts.
const (
	// DefaultIdleTimeout ends a session nobody used for this long.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAbsoluteTimeout ends every session this long after sign-in.
	DefaultAbsoluteTimeout = 12 * time.Hour
	// PendingTimeout is how long the TOTP step may take after the password.
	PendingTimeout = 5 * time.Minute
	// touchEvery limits last-seen writes to one a minute per session.
	touchEvery = time.Minute
)

// Service manages staff accounts and sessions. It is safe for concurrent use.
type Service struct {
	Store store.Store
	// Audit records sign-ins and account changes; required.
	Audit *audit.Log
	// Sealer seals TOTP seeds; nil disables TOTP enrolment (sign-in of
	// accounts that have TOTP then fails closed).
	Sealer Sealer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Params are the argon2id costs of new hashes; zero means DefaultParams.
	Params Params
	// LoginRule and NetworkRule throttle guessing; zero values mean the
	// defaults.
	LoginRule, NetworkRule Rule
	// IdleTimeout and AbsoluteTimeout bound sessions; zero means the defaults.
	IdleTimeout, AbsoluteTimeout time.Duration
	// Issuer names the service in authenticator apps; empty means "Trustee".
	Issuer string

	dummyOnce sync.Once
	dummy     string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) params() Params {
	if s.Params.Memory == 0 {
		return DefaultParams
	}
	return s.Params
}

func (s *Service) loginRule() Rule {
	if s.LoginRule.Free == 0 {
		return DefaultLoginRule
	}
	return s.LoginRule
}

func (s *Service) networkRule() Rule {
	if s.NetworkRule.Free == 0 {
		return DefaultNetworkRule
	}
	return s.NetworkRule
}

func (s *Service) idle() time.Duration {
	if s.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return s.IdleTimeout
}

func (s *Service) absolute() time.Duration {
	if s.AbsoluteTimeout == 0 {
		return DefaultAbsoluteTimeout
	}
	return s.AbsoluteTimeout
}

// dummyHash is verified against when a login does not exist, so an unknown
// login costs the same argon2id work as a wrong password and timing tells
// nothing.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = HashPassword(GeneratePassword(), s.params())
	})
	return s.dummy
}

// Actor is who changes an account, for the audit log.
type Actor struct {
	ID        string // "cli", "staff:<id>"
	Role      string
	RequestID string
}

// ActorID names a staff member in audit events: "staff:<id>".
func ActorID(staffID string) string { return "staff:" + staffID }

var loginRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,63}$`)

// NormalizeLogin trims and lower-cases a login; it is stored and compared in
// that form.
func NormalizeLogin(login string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if !loginRe.MatchString(l) {
		return "", ErrInvalidLogin
	}
	return l, nil
}

// CreateInput is a new account.
type CreateInput struct {
	TenantID string
	Login    string
	Role     auth.Role
	// Password is the initial password; empty generates one, which Create
	// returns. Either way the person must change it at first sign-in.
	Password string
}

// Create adds an account and returns it with the initial password (shown
// once, never stored or logged).
func (s *Service) Create(ctx context.Context, in CreateInput, by Actor) (store.StaffAccount, string, error) {
	login, err := NormalizeLogin(in.Login)
	if err != nil {
		return store.StaffAccount{}, "", err
	}
	if _, err := auth.ParseRole(string(in.Role)); err != nil {
		return store.StaffAccount{}, "", err
	}
	pw := in.Password
	if pw == "" {
		pw = GeneratePassword()
	} else if err := CheckPassword(pw, login); err != nil {
		return store.StaffAccount{}, "", err
	}
	hash, err := HashPassword(pw, s.params())
	if err != nil {
		return store.StaffAccount{}, "", err
	}
	now := s.now()
	a := store.StaffAccount{TenantID: in.TenantID, ID: store.NewID(), Login: login, Role: string(in.Role), PasswordHash: hash,
		MustChangePassword: true, CreatedAt: now, CreatedBy: by.ID, UpdatedAt: now}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateStaff(a); err != nil {
			return err
		}
		return s.Audit.Append(tx, in.TenantID, s.event(by, "staff.create", a.ID, "role "+a.Role))
	})
	if errors.Is(err, store.ErrConflict) {
		return store.StaffAccount{}, "", ErrLoginTaken
	}
	if err != nil {
		return store.StaffAccount{}, "", err
	}
	return a, pw, nil
}

// event is an audit event about a staff account (its id as the subject of
// the reason, never a person's data).
func (s *Service) event(by Actor, action, staffID, reason string) audit.Event {
	r := "account " + staffID
	if reason != "" {
		r += ": " + reason
	}
	return audit.Event{Actor: by.ID, Role: by.Role, Action: action, Outcome: audit.OutcomeOK, Reason: r, RequestID: by.RequestID}
}

// List returns the tenant's accounts.
func (s *Service) List(ctx context.Context, tenantID string) ([]store.StaffAccount, error) {
	var out []store.StaffAccount
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListStaff(tenantID)
		return err
	})
	return out, err
}

// Get returns one account of the tenant.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.StaffAccount, error) {
	var a store.StaffAccount
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		a, err = tx.GetStaff(tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return a, ErrNotFound
	}
	return a, err
}

// GetByLogin returns the tenant's account with the login.
func (s *Service) GetByLogin(ctx context.Context, tenantID, login string) (store.StaffAccount, error) {
	l, err := NormalizeLogin(login)
	if err != nil {
		return store.StaffAccount{}, ErrNotFound
	}
	var a store.StaffAccount
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) {
		a, err = tx.GetStaffByLogin(tenantID, l)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return a, ErrNotFound
	}
	return a, err
}

// change runs fn on an existing account of the tenant and appends its audit
// event in the same transaction.
func (s *Service) change(ctx context.Context, tenantID, id string, by Actor, action, reason string, fn func(tx store.Tx, a store.StaffAccount, now time.Time) error) error {
	now := s.now()
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		a, err := tx.GetStaff(tenantID, id)
		if err != nil {
			return err
		}
		if err := fn(tx, a, now); err != nil {
			return err
		}
		return s.Audit.Append(tx, tenantID, s.event(by, action, id, reason))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// SetDisabled disables an account (ending its sessions at once) or enables
// it again.
func (s *Service) SetDisabled(ctx context.Context, tenantID, id string, disabled bool, by Actor) error {
	action := "staff.enable"
	if disabled {
		action = "staff.disable"
	}
	return s.change(ctx, tenantID, id, by, action, "", func(tx store.Tx, _ store.StaffAccount, now time.Time) error {
		at := time.Time{}
		if disabled {
			at = now
		}
		return tx.SetStaffDisabled(tenantID, id, at)
	})
}

// ResetTOTP removes an account's second factor (a lost phone); the person
// signs in with the password alone and should enrol again.
func (s *Service) ResetTOTP(ctx context.Context, tenantID, id string, by Actor) error {
	return s.change(ctx, tenantID, id, by, "staff.totp_reset", "", func(tx store.Tx, _ store.StaffAccount, now time.Time) error {
		return tx.SetStaffTOTP(tenantID, id, nil, nil, now)
	})
}

// ResetPassword gives an account a new generated password, which the
// person must change at next sign-in, and ends its sessions.
func (s *Service) ResetPassword(ctx context.Context, tenantID, id string, by Actor) (string, error) {
	pw := GeneratePassword()
	hash, err := HashPassword(pw, s.params())
	if err != nil {
		return "", err
	}
	err = s.change(ctx, tenantID, id, by, "staff.password_reset", "", func(tx store.Tx, _ store.StaffAccount, now time.Time) error {
		if err := tx.SetStaffPassword(tenantID, id, hash, true, now); err != nil {
			return err
		}
		_, err := tx.RevokeStaffSessions(tenantID, id, now)
		return err
	})
	return pw, err
}

// ChangePassword sets a new password after checking the current one. Every
// session of the account ends; the caller gives the person who made the
// change a new one (Rotate).
func (s *Service) ChangePassword(ctx context.Context, tenantID, id, current, next string, by Actor) error {
	a, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	ok, _, err := VerifyPassword(current, a.PasswordHash, s.params())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the current password is wrong")
	}
	if err := CheckPassword(next, a.Login); err != nil {
		return err
	}
	if next == current {
		return errors.New("the new password must differ from the current one")
	}
	hash, err := HashPassword(next, s.params())
	if err != nil {
		return err
	}
	return s.change(ctx, tenantID, id, by, "staff.password_change", "", func(tx store.Tx, _ store.StaffAccount, now time.Time) error {
		if err := tx.SetStaffPassword(tenantID, id, hash, false, now); err != nil {
			return err
		}
		_, err := tx.RevokeStaffSessions(tenantID, id, now)
		return err
	})
}

// ---- TOTP enrolment ----

// Enrolment is a TOTP seed being set up: shown once.
type Enrolment struct {
	Secret string // base32, for typing into an app
	URI    string // otpauth:// for apps that import it
}

// BeginTOTP creates a new seed for the account, kept pending (sealed) until
// ConfirmTOTP proves the person's app has it. The active factor, if any,
// stays in force meanwhile.
func (s *Service) BeginTOTP(ctx context.Context, tenantID, id, tenantSlug string) (Enrolment, error) {
	if s.Sealer == nil {
		return Enrolment{}, ErrNoSealer
	}
	a, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Enrolment{}, err
	}
	secret := NewTOTPSecret()
	sealed, err := s.Sealer.SealTenant(ctx, tenantID, PurposeTOTP, pendingAD(id), secret)
	if err != nil {
		return Enrolment{}, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.GetStaff(tenantID, id)
		if err != nil {
			return err
		}
		return tx.SetStaffTOTP(tenantID, id, cur.TOTPSecret, sealed, s.now())
	})
	if err != nil {
		return Enrolment{}, err
	}
	issuer := s.Issuer
	if issuer == "" {
		issuer = "Trustee"
	}
	if tenantSlug != "" {
		issuer += " (" + tenantSlug + ")"
	}
	return Enrolment{Secret: EncodeTOTPSecret(secret), URI: OTPAuthURI(issuer, a.Login, secret)}, nil
}

// pendingAD and activeAD bind a sealed seed to its account and stage, so a
// pending ciphertext cannot be copied into the active column (activation
// re-seals) nor a seed into another account.
func pendingAD(id string) []byte { return []byte(id + "/pending") }
func activeAD(id string) []byte  { return []byte(id + "/active") }

// ConfirmTOTP activates the pending seed when code is valid for it.
func (s *Service) ConfirmTOTP(ctx context.Context, tenantID, id, code string, by Actor) error {
	if s.Sealer == nil {
		return ErrNoSealer
	}
	a, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if a.TOTPPending == nil {
		return errors.New("no two-factor enrolment is in progress")
	}
	secret, err := s.Sealer.OpenTenant(ctx, tenantID, PurposeTOTP, pendingAD(id), a.TOTPPending)
	if err != nil {
		return err
	}
	step, ok := CheckTOTP(secret, code, s.now())
	if !ok {
		return ErrBadCode
	}
	sealed, err := s.Sealer.SealTenant(ctx, tenantID, PurposeTOTP, activeAD(id), secret)
	if err != nil {
		return err
	}
	return s.change(ctx, tenantID, id, by, "staff.totp_enrol", "", func(tx store.Tx, _ store.StaffAccount, now time.Time) error {
		if err := tx.SetStaffTOTP(tenantID, id, sealed, nil, now); err != nil {
			return err
		}
		return tx.UseStaffTOTPStep(tenantID, id, step)
	})
}

// ---- sign-in and sessions ----

// Session is a live, checked session with its account.
type Session struct {
	Token   string
	Stage   string
	Account store.StaffAccount
	Created time.Time
	Expires time.Time
}

// CSRF is the form token of the session: an HMAC of the session token, so
// it needs no storage, changes with every rotation, and cannot be derived
// without the (HttpOnly) cookie.
func (s Session) CSRF() string { return CSRFToken(s.Token) }

// CSRFToken derives the form token of a session token.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("trustee/v1/csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a submitted form token with the session's in constant time.
func (s Session) CheckCSRF(submitted string) bool {
	return hmac.Equal([]byte(submitted), []byte(s.CSRF()))
}

// newToken returns a 256-bit random session token and its stored hash.
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	return tok, tokenHash(tok)
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// SignInInput is one attempt with a password.
type SignInInput struct {
	// TenantID is the tenant signed in to; empty when the organisation
	// named on the form does not exist (the attempt then fails like a wrong
	// password, after the same work).
	TenantID string
	// TenantKey identifies the tenant for throttling when TenantID is empty
	// (the slug typed).
	TenantKey string
	Login     string
	Password  string
	// Network is the client's truncated network (httpapi.TruncateIP).
	Network   string
	RequestID string
}

// throttleKeys returns the keys of a sign-in attempt: the login within its
// tenant (hashed: a login may be an email address) and the network.
func throttleKeys(tenantKey, login, network string) (loginKey, netKey string) {
	h := sha256.New()
	h.Write([]byte("trustee/v1/signin-login\x00"))
	h.Write([]byte(tenantKey))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(strings.TrimSpace(login))))
	loginKey = "login:" + hex.EncodeToString(h.Sum(nil)[:16])
	if network == "" {
		network = "unknown"
	}
	return loginKey, "net:" + network
}

// checkThrottle refuses an attempt while either key is locked.
func (s *Service) checkThrottle(ctx context.Context, loginKey, netKey string, now time.Time) error {
	var lt, nt store.SigninThrottle
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if lt, err = tx.GetSigninThrottle(loginKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if nt, err = tx.GetSigninThrottle(netKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	until := s.loginRule().lockedUntil(lt)
	if u := s.networkRule().lockedUntil(nt); u.After(until) {
		until = u
	}
	if now.Before(until) {
		return &ThrottledError{Until: until}
	}
	return nil
}

// fail counts a failed attempt on both keys and audits it (and the lockout
// it starts, if any). tenantID may be empty (unknown organisation): then
// there is no tenant log to write to.
func (s *Service) fail(ctx context.Context, tenantID, staffID, role, reason, loginKey, netKey, reqID string, now time.Time) error {
	var lt, nt store.SigninThrottle
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		var err error
		if lt, err = tx.AddSigninFailure(loginKey, now, s.loginRule().Reset); err != nil {
			return err
		}
		if nt, err = tx.AddSigninFailure(netKey, now, s.networkRule().Reset); err != nil {
			return err
		}
		if tenantID == "" {
			return nil
		}
		actor := "staff:unknown"
		if staffID != "" {
			actor = ActorID(staffID)
		}
		ev := audit.Event{Actor: actor, Role: role, Action: "staff.signin", Outcome: audit.OutcomeDenied, Reason: reason, RequestID: reqID}
		if err := s.Audit.Append(tx, tenantID, ev); err != nil {
			return err
		}
		var locks []string
		if u := s.loginRule().lockedUntil(lt); u.After(now) {
			locks = append(locks, fmt.Sprintf("login locked for %s after %d failures", u.Sub(now).Round(time.Second), lt.Failures))
		}
		if u := s.networkRule().lockedUntil(nt); u.After(now) {
			locks = append(locks, fmt.Sprintf("client network locked for %s after %d failures", u.Sub(now).Round(time.Second), nt.Failures))
		}
		if len(locks) > 0 {
			ev.Action, ev.Reason = "staff.signin_locked", strings.Join(locks, "; ")
			return s.Audit.Append(tx, tenantID, ev)
		}
		return nil
	})
	return err
}

// SignIn checks a password. On success it returns a new session: pending
// when the account has TOTP (call VerifyTOTP next), active otherwise. Every
// failure is ErrBadCredentials or *ThrottledError; wrong passwords, unknown
// logins and unknown tenants take the same argon2id work.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (Session, error) {
	now := s.now()
	tkey := in.TenantID
	if tkey == "" {
		tkey = "slug:" + in.TenantKey
	}
	loginKey, netKey := throttleKeys(tkey, in.Login, in.Network)
	if err := s.checkThrottle(ctx, loginKey, netKey, now); err != nil {
		return Session{}, err
	}
	var a store.StaffAccount
	found := false
	if in.TenantID != "" {
		acc, err := s.GetByLogin(ctx, in.TenantID, in.Login)
		switch {
		case err == nil:
			a, found = acc, true
		case !errors.Is(err, ErrNotFound):
			return Session{}, err
		}
	}
	hash := s.dummyHash()
	if found {
		hash = a.PasswordHash
	}
	ok, rehash, err := VerifyPassword(in.Password, hash, s.params())
	if err != nil && found {
		return Session{}, err
	}
	reason := ""
	switch {
	case !found:
		reason = "unknown login"
	case !ok:
		reason = "wrong password"
	case !a.DisabledAt.IsZero():
		reason = "account disabled"
	case a.TOTPSecret != nil && s.Sealer == nil:
		reason = "two-factor configured but no key store"
	}
	if reason != "" {
		if err := s.fail(ctx, in.TenantID, a.ID, a.Role, reason, loginKey, netKey, in.RequestID, now); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadCredentials
	}
	var newHash string
	if rehash {
		newHash, _ = HashPassword(in.Password, s.params())
	}
	stage, expires := store.SessionActive, now.Add(s.absolute())
	if a.TOTPSecret != nil {
		stage, expires = store.SessionPending, now.Add(PendingTimeout)
	}
	tok, h := newToken()
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.ClearSigninThrottle(loginKey); err != nil {
			return err
		}
		if newHash != "" {
			if err := tx.SetStaffPassword(a.TenantID, a.ID, newHash, a.MustChangePassword, now); err != nil {
				return err
			}
		}
		if err := tx.CreateStaffSession(store.StaffSession{IDHash: h, TenantID: a.TenantID, StaffID: a.ID, Stage: stage, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		reason := "password accepted"
		if stage == store.SessionActive {
			if err := tx.SetStaffSignIn(a.TenantID, a.ID, now); err != nil {
				return err
			}
			reason = "signed in"
		} else {
			reason += ", two-factor code due"
		}
		return s.Audit.Append(tx, a.TenantID, audit.Event{Actor: ActorID(a.ID), Role: a.Role, Action: "staff.signin",
			Outcome: audit.OutcomeOK, Reason: reason, RequestID: in.RequestID})
	})
	if err != nil {
		return Session{}, err
	}
	return Session{Token: tok, Stage: stage, Account: a, Created: now, Expires: expires}, nil
}

// VerifyTOTP completes a pending sign-in with a code. On success the pending
// session is revoked and a new active one returned (the token changes at
// every privilege step). A wrong code counts as a failed sign-in.
func (s *Service) VerifyTOTP(ctx context.Context, pendingToken, code, network, reqID string) (Session, error) {
	now := s.now()
	sess, err := s.lookup(ctx, pendingToken, now)
	if err != nil {
		return Session{}, err
	}
	if sess.Stage != store.SessionPending {
		return Session{}, ErrNoSession
	}
	a := sess.Account
	loginKey, netKey := throttleKeys(a.TenantID, a.Login, network)
	if err := s.checkThrottle(ctx, loginKey, netKey, now); err != nil {
		return Session{}, err
	}
	if s.Sealer == nil || a.TOTPSecret == nil {
		return Session{}, ErrNoSession
	}
	secret, err := s.Sealer.OpenTenant(ctx, a.TenantID, PurposeTOTP, activeAD(a.ID), a.TOTPSecret)
	if err != nil {
		return Session{}, err
	}
	step, ok := CheckTOTP(secret, code, now)
	if !ok {
		if err := s.fail(ctx, a.TenantID, a.ID, a.Role, "wrong two-factor code", loginKey, netKey, reqID, now); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadCode
	}
	tok, h := newToken()
	expires := now.Add(s.absolute())
	replay := false
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.UseStaffTOTPStep(a.TenantID, a.ID, step); errors.Is(err, store.ErrConflict) {
			replay = true
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.RevokeStaffSession(tokenHash(pendingToken), now); err != nil {
			return err
		}
		if err := tx.ClearSigninThrottle(loginKey); err != nil {
			return err
		}
		if err := tx.CreateStaffSession(store.StaffSession{IDHash: h, TenantID: a.TenantID, StaffID: a.ID, Stage: store.SessionActive, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		if err := tx.SetStaffSignIn(a.TenantID, a.ID, now); err != nil {
			return err
		}
		return s.Audit.Append(tx, a.TenantID, audit.Event{Actor: ActorID(a.ID), Role: a.Role, Action: "staff.signin",
			Outcome: audit.OutcomeOK, Reason: "signed in with two-factor code", RequestID: reqID})
	})
	if err != nil {
		return Session{}, err
	}
	if replay {
		if err := s.fail(ctx, a.TenantID, a.ID, a.Role, "two-factor code used twice", loginKey, netKey, reqID, now); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadCode
	}
	return Session{Token: tok, Stage: store.SessionActive, Account: a, Created: now, Expires: expires}, nil
}

// Rotate replaces an active session with a new token (after a password
// change, for example) and returns it.
func (s *Service) Rotate(ctx context.Context, old Session) (Session, error) {
	now := s.now()
	tok, h := newToken()
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.RevokeStaffSession(tokenHash(old.Token), now); err != nil {
			return err
		}
		return tx.CreateStaffSession(store.StaffSession{IDHash: h, TenantID: old.Account.TenantID, StaffID: old.Account.ID,
			Stage: store.SessionActive, CreatedAt: now, ExpiresAt: now.Add(s.absolute())})
	})
	if err != nil {
		return Session{}, err
	}
	a, err := s.Get(ctx, old.Account.TenantID, old.Account.ID)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: tok, Stage: store.SessionActive, Account: a, Created: now, Expires: now.Add(s.absolute())}, nil
}

// lookup returns the live session of a token, whatever its stage.
func (s *Service) lookup(ctx context.Context, token string, now time.Time) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrNoSession
	}
	h := tokenHash(token)
	var ss store.StaffSession
	var a store.StaffAccount
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		ss, a, err = tx.GetStaffSession(h)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	switch {
	case !ss.RevokedAt.IsZero(), !now.Before(ss.ExpiresAt), !a.DisabledAt.IsZero():
		return Session{}, ErrNoSession
	case ss.Stage == store.SessionActive && now.Sub(ss.LastSeenAt) > s.idle():
		_ = s.Store.Write(ctx, func(tx store.Tx) error { return tx.RevokeStaffSession(h, now) })
		return Session{}, ErrNoSession
	}
	if now.Sub(ss.LastSeenAt) >= touchEvery {
		if err := s.Store.Write(ctx, func(tx store.Tx) error { return tx.TouchStaffSession(h, now) }); err != nil {
			return Session{}, err
		}
	}
	return Session{Token: token, Stage: ss.Stage, Account: a, Created: ss.CreatedAt, Expires: ss.ExpiresAt}, nil
}

// Session returns the live, fully signed-in session of a token.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	sess, err := s.lookup(ctx, token, s.now())
	if err != nil {
		return Session{}, err
	}
	if sess.Stage != store.SessionActive {
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// Pending returns the session of a token that still needs its TOTP code.
func (s *Service) Pending(ctx context.Context, token string) (Session, error) {
	sess, err := s.lookup(ctx, token, s.now())
	if err != nil {
		return Session{}, err
	}
	if sess.Stage != store.SessionPending {
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// Revoke ends a session by its token (sign-out, or a cookie presented where
// a new session is about to be made). An unknown token is not an error.
func (s *Service) Revoke(ctx context.Context, token string, by *Actor, tenantID string) error {
	if token == "" || len(token) > 128 {
		return nil
	}
	return s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.RevokeStaffSession(tokenHash(token), s.now()); err != nil {
			return err
		}
		if by == nil || tenantID == "" {
			return nil
		}
		return s.Audit.Append(tx, tenantID, audit.Event{Actor: by.ID, Role: by.Role, Action: "staff.signout",
			Outcome: audit.OutcomeOK, RequestID: by.RequestID})
	})
}

// PruneSessions deletes sessions that ended more than a day ago.
func (s *Service) PruneSessions(ctx context.Context) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		_, err := tx.DeleteStaffSessions(s.now().Add(-24 * time.Hour))
		return err
	})
}
