package staff

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// cheap are argon2id parameters that keep tests fast; production uses
// DefaultParams.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, c := range []struct {
		name, pw, hash string
		ok, rehash     bool
		err            error
	}{
		{"right", "correct horse battery", h, true, true, nil},
		{"wrong", "correct horse batterY", h, false, true, nil},
		{"empty", "", h, false, true, nil},
		{"tampered hash", "correct horse battery", h[:len(h)-2] + "AA", false, true, nil},
		{"not argon2id", "x", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, false, ErrBadHash},
		{"huge memory", "x", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, false, ErrBadHash},
		{"garbage", "x", "plain", false, false, ErrBadHash},
	} {
		ok, rehash, err := VerifyPassword(c.pw, c.hash, DefaultParams)
		if ok != c.ok || (c.err == nil && rehash != c.rehash) || !errors.Is(err, c.err) {
			t.Errorf("%s: ok=%v rehash=%v err=%v", c.name, ok, rehash, err)
		}
	}
	if _, rehash, _ := VerifyPassword("correct horse battery", h, cheap); rehash {
		t.Error("a hash with the wanted parameters asks for a rehash")
	}
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB argon2id")
	}
	h, _ := HashPassword("a long enough passphrase", DefaultParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("default hash: %s", h)
	}
	if ok, rehash, err := VerifyPassword("a long enough passphrase", h, DefaultParams); !ok || rehash || err != nil {
		t.Fatalf("verify: %v %v %v", ok, rehash, err)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		pw, login string
		ok        bool
	}{
		{"short", "a", false},
		{"twelve chars", "a", true},
		{"ÆØÅæøåÆØÅæøå", "a", true}, // characters, not bytes
		{strings.Repeat("x", 257), "a", false},
		{"alice@example", "alice@example", false},
	} {
		if err := CheckPassword(c.pw, c.login); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.pw, err)
		}
	}
	p := GeneratePassword()
	if len(p) != 24 || CheckPassword(p, "x") != nil || strings.ContainsAny(p, "01ilo") {
		t.Errorf("generated %q", p)
	}
}

// RFC 6238 Appendix B, SHA-1 rows (8 digits there; the last 6 are the
// 6-digit codes), and the RFC 4226 Appendix D HOTP values.
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		tm := time.Unix(c.unix, 0)
		if got := HOTP(secret, uint64(TOTPStep(tm)), 8); got != c.code {
			t.Errorf("T=%d: %s, want %s", c.unix, got, c.code)
		}
		if got := TOTPCode(secret, tm); got != c.code[2:] {
			t.Errorf("T=%d six digits: %s, want %s", c.unix, got, c.code[2:])
		}
	}
	for i, want := range []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"} {
		if got := HOTP(secret, uint64(i), 6); got != want {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestCheckTOTPWindow(t *testing.T) {
	secret := NewTOTPSecret()
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"previous step", now.Add(-30 * time.Second), true},
		{"next step", now.Add(30 * time.Second), true},
		{"two steps back", now.Add(-60 * time.Second), false},
		{"two steps ahead", now.Add(60 * time.Second), false},
	} {
		code := TOTPCode(secret, c.at)
		step, ok := CheckTOTP(secret, code, now)
		if ok != c.ok || (ok && step != TOTPStep(c.at)) {
			t.Errorf("%s: ok=%v step=%d", c.name, ok, step)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(secret, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	code := TOTPCode(secret, now)
	if _, ok := CheckTOTP(secret, code[:3]+" "+code[3:], now); !ok {
		t.Error("a code typed with a space is refused")
	}
	u, err := url.Parse(OTPAuthURI("Trustee (acme)", "alice", secret))
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != EncodeTOTPSecret(secret) ||
		u.Query().Get("issuer") != "Trustee (acme)" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" {
		t.Errorf("uri %v: %v", u, err)
	}
}

func TestRuleLockedUntil(t *testing.T) {
	r := Rule{Free: 3, Base: 10 * time.Second, Max: time.Minute, Reset: time.Hour}
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		failures int
		lock     time.Duration
	}{{0, 0}, {2, 0}, {3, 10 * time.Second}, {4, 20 * time.Second}, {5, 40 * time.Second}, {6, time.Minute}, {60, time.Minute}} {
		got := r.lockedUntil(store.SigninThrottle{Failures: c.failures, LastFailedAt: t0})
		if c.lock == 0 && !got.IsZero() || c.lock != 0 && !got.Equal(t0.Add(c.lock)) {
			t.Errorf("%d failures: locked until %v, want +%v", c.failures, got, c.lock)
		}
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc      *Service
	st       store.Store
	clk      *clock
	tenant   store.Tenant
	other    store.Tenant
	keys     *keys.Manager
	auditLog *audit.Log
}

func forEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			st := e.Open(t)
			ks := storetest.OpenKeyStoreSQLite(t)
			raw, _ := keys.GenerateRootKey()
			root, err := keys.ParseRootKey(raw)
			if err != nil {
				t.Fatal(err)
			}
			km := keys.NewManager(root, ks, keys.ManagerOptions{})
			clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
			al := audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Now: clk.Now})
			f := &fixture{st: st, clk: clk, keys: km, auditLog: al,
				svc: &Service{Store: st, Audit: al, Sealer: km, Now: clk.Now, Params: cheap}}
			f.tenant = storetest.NewTenant(t, st, "acme")
			f.other = storetest.NewTenant(t, st, "beta")
			fn(t, f)
		})
	}
}

var cli = Actor{ID: "cli"}

func bg() context.Context { return context.Background() }

func (f *fixture) create(t *testing.T, login string, role auth.Role, pw string) store.StaffAccount {
	t.Helper()
	a, got, err := f.svc.Create(bg(), CreateInput{TenantID: f.tenant.ID, Login: login, Role: role, Password: pw}, cli)
	if err != nil {
		t.Fatal(err)
	}
	if pw != "" && got != pw {
		t.Fatalf("returned password %q", got)
	}
	return a
}

func (f *fixture) events(t *testing.T, action string) []audit.StoredEvent {
	t.Helper()
	p, err := audit.List(bg(), f.st, f.tenant.ID, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return p.Events
}

func (f *fixture) signIn(login, pw, network string) (Session, error) {
	return f.svc.SignIn(bg(), SignInInput{TenantID: f.tenant.ID, Login: login, Password: pw, Network: network, RequestID: "req-test-1"})
}

func TestAccounts(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a, initial, err := f.svc.Create(bg(), CreateInput{TenantID: f.tenant.ID, Login: "  Alice@Example.COM ", Role: auth.RoleDPO}, cli)
		if err != nil {
			t.Fatal(err)
		}
		if a.Login != "alice@example.com" || !a.MustChangePassword || len(initial) != 24 || strings.Contains(a.PasswordHash, initial) {
			t.Fatalf("created %+v with %q", a, initial)
		}
		if _, _, err := f.svc.Create(bg(), CreateInput{TenantID: f.tenant.ID, Login: "alice@example.com", Role: auth.RoleAgent}, cli); !errors.Is(err, ErrLoginTaken) {
			t.Errorf("duplicate login: %v", err)
		}
		for _, in := range []CreateInput{
			{TenantID: f.tenant.ID, Login: "has space", Role: auth.RoleDPO},
			{TenantID: f.tenant.ID, Login: "bob", Role: "root"},
			{TenantID: f.tenant.ID, Login: "bob", Role: auth.RoleDPO, Password: "short"},
		} {
			if _, _, err := f.svc.Create(bg(), in, cli); err == nil {
				t.Errorf("created %+v", in)
			}
		}
		// The same login in another tenant is another person.
		if _, _, err := f.svc.Create(bg(), CreateInput{TenantID: f.other.ID, Login: "alice@example.com", Role: auth.RoleAdmin}, cli); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(bg(), f.other.ID, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's account: %v", err)
		}
		if err := f.svc.SetDisabled(bg(), f.other.ID, a.ID, true, cli); !errors.Is(err, ErrNotFound) {
			t.Errorf("disable across tenants: %v", err)
		}
		if ev := f.events(t, "staff.create"); len(ev) != 1 || ev[0].Actor != "cli" || strings.Contains(ev[0].Reason, "alice") {
			t.Errorf("audit of create: %+v", ev)
		}
	})
}

func TestSignInSessionsAndRotation(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		pw := "a good long password"
		a := f.create(t, "alice", auth.RoleDPO, pw)

		s1, err := f.signIn("ALICE", pw, "192.0.2.0/24")
		if err != nil {
			t.Fatal(err)
		}
		if s1.Stage != store.SessionActive || len(s1.Token) != 43 || s1.Account.ID != a.ID {
			t.Fatalf("session %+v", s1)
		}
		got, err := f.svc.Session(bg(), s1.Token)
		if err != nil || got.Account.ID != a.ID || got.CSRF() == "" || got.CSRF() == s1.Token {
			t.Fatalf("session lookup: %+v %v", got, err)
		}
		if !got.CheckCSRF(s1.CSRF()) || got.CheckCSRF("") || got.CheckCSRF(CSRFToken("other")) {
			t.Error("CSRF check")
		}
		// A second sign-in gets a different token; both are live until
		// revoked.
		s2, err := f.signIn("alice", pw, "192.0.2.0/24")
		if err != nil || s2.Token == s1.Token || s2.CSRF() == s1.CSRF() {
			t.Fatalf("second sign-in: %v", err)
		}
		if err := f.svc.Revoke(bg(), s1.Token, &Actor{ID: ActorID(a.ID), Role: a.Role}, f.tenant.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Session(bg(), s1.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("revoked session still works: %v", err)
		}
		if _, err := f.svc.Session(bg(), "made-up-token"); !errors.Is(err, ErrNoSession) {
			t.Errorf("made-up token: %v", err)
		}

		// Idle timeout, and touching keeps a used session alive.
		f.clk.Add(20 * time.Minute)
		if _, err := f.svc.Session(bg(), s2.Token); err != nil {
			t.Fatalf("after 20 min: %v", err)
		}
		f.clk.Add(20 * time.Minute)
		if _, err := f.svc.Session(bg(), s2.Token); err != nil {
			t.Fatalf("used 20 min ago: %v", err)
		}
		f.clk.Add(31 * time.Minute)
		if _, err := f.svc.Session(bg(), s2.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("idle 31 min: %v", err)
		}

		// Absolute timeout, however active.
		s3, _ := f.signIn("alice", pw, "192.0.2.0/24")
		for range 25 {
			f.clk.Add(29 * time.Minute)
			if _, err := f.svc.Session(bg(), s3.Token); err != nil {
				break
			}
		}
		if _, err := f.svc.Session(bg(), s3.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("session outlived the absolute timeout: %v", err)
		}

		// Disabling ends sessions; rotation gives a new token and ends the old one.
		s4, _ := f.signIn("alice", pw, "192.0.2.0/24")
		s5, err := f.svc.Rotate(bg(), s4)
		if err != nil || s5.Token == s4.Token {
			t.Fatalf("rotate: %v", err)
		}
		if _, err := f.svc.Session(bg(), s4.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("old token after rotation: %v", err)
		}
		if err := f.svc.SetDisabled(bg(), f.tenant.ID, a.ID, true, cli); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Session(bg(), s5.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("session of a disabled account: %v", err)
		}
		if _, err := f.signIn("alice", pw, "192.0.2.0/24"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("disabled account signs in: %v", err)
		}
		if ev := f.events(t, "staff.signin"); len(ev) < 5 {
			t.Errorf("%d sign-in events", len(ev))
		}
	})
}

func TestSignInThrottling(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		f.svc.LoginRule = Rule{Free: 3, Base: 30 * time.Second, Max: 5 * time.Minute, Reset: time.Hour}
		f.svc.NetworkRule = Rule{Free: 6, Base: 30 * time.Second, Max: 5 * time.Minute, Reset: time.Hour}
		pw := "a good long password"
		f.create(t, "alice", auth.RoleAdmin, pw)
		f.create(t, "bob", auth.RoleAgent, pw)

		// Unknown logins and wrong passwords get the same error.
		for _, login := range []string{"alice", "alice", "alice"} {
			if _, err := f.signIn(login, "wrong password!", "192.0.2.0/24"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		// Locked now, even with the right password, and the lock says until when.
		_, err := f.signIn("alice", pw, "192.0.2.0/24")
		var te *ThrottledError
		if !errors.As(err, &te) || !te.Until.Equal(f.clk.Now().Add(30*time.Second)) {
			t.Fatalf("after 3 failures: %v", err)
		}
		// Another login from another network is not affected.
		if _, err := f.signIn("bob", pw, "198.51.100.0/24"); err != nil {
			t.Fatalf("bob: %v", err)
		}
		// After the lock, one more failure doubles it.
		f.clk.Add(31 * time.Second)
		if _, err := f.signIn("alice", "still wrong!!", "192.0.2.0/24"); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
		if _, err := f.signIn("alice", pw, "192.0.2.0/24"); !errors.As(err, &te) || !te.Until.Equal(f.clk.Now().Add(time.Minute)) {
			t.Fatalf("after 4 failures: %v", err)
		}
		f.clk.Add(61 * time.Second)
		if _, err := f.signIn("alice", pw, "192.0.2.0/24"); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		// Success cleared the login's count.
		if _, err := f.signIn("alice", "wrong again!!", "192.0.2.0/24"); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
		if _, err := f.signIn("alice", pw, "192.0.2.0/24"); err != nil {
			t.Fatalf("one failure after a success locks: %v", err)
		}

		// The network rule catches guessing spread over many logins (and
		// unknown ones, and unknown organisations).
		for i := range 6 {
			_, err := f.svc.SignIn(bg(), SignInInput{TenantKey: "nope", Login: "user" + string(rune('a'+i)), Password: "x", Network: "203.0.113.0/24"})
			if !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("spray %d: %v", i, err)
			}
		}
		if _, err := f.signIn("bob", pw, "203.0.113.0/24"); !errors.As(err, &te) {
			t.Fatalf("network not throttled: %v", err)
		}

		if ev := f.events(t, "staff.signin_locked"); len(ev) < 2 || !strings.Contains(ev[0].Reason, "locked for") {
			t.Errorf("lockouts not audited: %+v", ev)
		}
		for _, e := range f.events(t, "staff.signin") {
			if strings.Contains(e.Reason, "wrong password!") || strings.Contains(e.Reason, pw) {
				t.Errorf("a password reached the audit log: %+v", e)
			}
		}
	})
}

// TestUnknownLoginTiming: an unknown login runs the same argon2id work as a
// wrong password. Timing tests are noisy, so the check is loose (neither
// may be several times faster than the other), measurements alternate, and
// the engines run one after the other rather than in parallel.
func TestUnknownLoginTiming(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is not comparable under the race detector")
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			al := audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine())})
			rule := Rule{Free: 1000, Base: time.Second, Max: time.Second, Reset: time.Hour}
			svc := &Service{Store: st, Audit: al, Params: Params{Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
				LoginRule: rule, NetworkRule: rule}
			tn := storetest.NewTenant(t, st, "acme")
			if _, _, err := svc.Create(bg(), CreateInput{TenantID: tn.ID, Login: "alice", Role: auth.RoleAdmin, Password: "a good long password"}, cli); err != nil {
				t.Fatal(err)
			}
			try := func(login string) time.Duration {
				start := time.Now()
				_, _ = svc.SignIn(bg(), SignInInput{TenantID: tn.ID, Login: login, Password: "wrong password!", Network: "192.0.2.0/24"})
				return time.Since(start)
			}
			try("nobody") // computes the dummy hash once
			known, unknown := time.Hour, time.Hour
			for range 5 {
				known = min(known, try("alice"))
				unknown = min(unknown, try("nobody"))
			}
			if unknown*3 < known || known*3 < unknown {
				t.Errorf("known login %v, unknown %v: timing differs", known, unknown)
			}
		})
	}
}

func TestTOTPSignIn(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		pw := "a good long password"
		a := f.create(t, "alice", auth.RoleAdmin, pw)
		by := Actor{ID: ActorID(a.ID), Role: a.Role}

		en, err := f.svc.BeginTOTP(bg(), f.tenant.ID, a.ID, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(en.URI, "otpauth://totp/Trustee%20%28acme%29:alice?") {
			t.Errorf("uri %s", en.URI)
		}
		acc, _ := f.svc.Get(bg(), f.tenant.ID, a.ID)
		if acc.TOTPSecret != nil || acc.TOTPPending == nil || strings.Contains(string(acc.TOTPPending), en.Secret) {
			t.Fatalf("pending enrolment: %+v", acc)
		}
		secret, err := b32.DecodeString(en.Secret)
		if err != nil {
			t.Fatal(err)
		}
		// Until confirmed, sign-in needs no code.
		if s, err := f.signIn("alice", pw, "n1"); err != nil || s.Stage != store.SessionActive {
			t.Fatalf("before confirmation: %+v %v", s, err)
		}
		if err := f.svc.ConfirmTOTP(bg(), f.tenant.ID, a.ID, "000000", by); !errors.Is(err, ErrBadCode) && TOTPCode(secret, f.clk.Now()) != "000000" {
			t.Errorf("wrong confirmation code: %v", err)
		}
		if err := f.svc.ConfirmTOTP(bg(), f.tenant.ID, a.ID, TOTPCode(secret, f.clk.Now()), by); err != nil {
			t.Fatal(err)
		}

		// Now the password gives a pending session only.
		f.clk.Add(30 * time.Second)
		p, err := f.signIn("alice", pw, "n1")
		if err != nil || p.Stage != store.SessionPending {
			t.Fatalf("with totp: %+v %v", p, err)
		}
		if _, err := f.svc.Session(bg(), p.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("a pending session opens the console: %v", err)
		}
		if _, err := f.svc.VerifyTOTP(bg(), p.Token, "12345", "n1", "r"); !errors.Is(err, ErrBadCode) {
			t.Errorf("bad code: %v", err)
		}
		code := TOTPCode(secret, f.clk.Now())
		s, err := f.svc.VerifyTOTP(bg(), p.Token, code, "n1", "r")
		if err != nil || s.Stage != store.SessionActive || s.Token == p.Token {
			t.Fatalf("verify: %+v %v", s, err)
		}
		if _, err := f.svc.Session(bg(), s.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Pending(bg(), p.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("pending session survives: %v", err)
		}
		// The same code cannot be used again, even in the same step.
		p2, _ := f.signIn("alice", pw, "n1")
		if _, err := f.svc.VerifyTOTP(bg(), p2.Token, code, "n1", "r"); !errors.Is(err, ErrBadCode) {
			t.Errorf("replayed code: %v", err)
		}
		// Pending sessions expire.
		f.clk.Add(PendingTimeout + time.Second)
		if _, err := f.svc.VerifyTOTP(bg(), p2.Token, TOTPCode(secret, f.clk.Now()), "n1", "r"); !errors.Is(err, ErrNoSession) {
			t.Errorf("expired pending session: %v", err)
		}
		// Reset removes the factor.
		if err := f.svc.ResetTOTP(bg(), f.tenant.ID, a.ID, cli); err != nil {
			t.Fatal(err)
		}
		if s, err := f.signIn("alice", pw, "n1"); err != nil || s.Stage != store.SessionActive {
			t.Fatalf("after reset: %v", err)
		}
	})
}

func TestPasswordChange(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.create(t, "alice", auth.RoleAdmin, "")
		acc, _ := f.svc.Get(bg(), f.tenant.ID, a.ID)
		s, _ := f.svc.Session(bg(), "x")
		_ = s
		pw, err := f.svc.ResetPassword(bg(), f.tenant.ID, a.ID, cli)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := f.signIn("alice", pw, "n")
		if err != nil || !sess.Account.MustChangePassword || acc.PasswordHash == "" {
			t.Fatalf("sign-in with reset password: %v", err)
		}
		by := Actor{ID: ActorID(a.ID)}
		if err := f.svc.ChangePassword(bg(), f.tenant.ID, a.ID, "wrong", "a brand new passphrase", by); err == nil {
			t.Error("changed with a wrong current password")
		}
		if err := f.svc.ChangePassword(bg(), f.tenant.ID, a.ID, pw, "short", by); err == nil {
			t.Error("accepted a short password")
		}
		if err := f.svc.ChangePassword(bg(), f.tenant.ID, a.ID, pw, "a brand new passphrase", by); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Session(bg(), sess.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("session from before the change: %v", err)
		}
		s2, err := f.signIn("alice", "a brand new passphrase", "n")
		if err != nil || s2.Account.MustChangePassword {
			t.Fatalf("new password: %+v %v", s2.Account, err)
		}
	})
}
