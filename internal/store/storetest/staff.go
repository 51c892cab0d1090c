package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"StaffAccounts", testStaffAccounts},
		{"StaffAccountInvalid", testStaffAccountInvalid},
		{"StaffTOTP", testStaffTOTP},
		{"StaffTOTPReplayConcurrent", testStaffTOTPReplayConcurrent},
		{"StaffSessions", testStaffSessions},
		{"StaffTenantScope", testStaffTenantScope},
		{"StaffSigninThrottle", testSigninThrottle},
		{"StaffSigninThrottleConcurrent", testSigninThrottleConcurrent},
		{"StaffReadOnly", testStaffReadOnly},
	})
}

func staffAccount(tenantID, login, role string) store.StaffAccount {
	return store.StaffAccount{TenantID: tenantID, ID: store.NewID(), Login: login, Role: role,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", MustChangePassword: true,
		CreatedAt: t0, CreatedBy: "cli"}
}

func sessionHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testStaffAccounts(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-a")
	alice := staffAccount(tn.ID, "alice", "dpo")
	bob := staffAccount(tn.ID, "bob", "agent")
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateStaff(alice); err != nil {
			return err
		}
		return tx.CreateStaff(bob)
	})
	// The login is unique per tenant; the conflict leaves the tx usable.
	write(t, s, func(tx store.Tx) error {
		dup := staffAccount(tn.ID, "alice", "admin")
		wantErr(t, tx.CreateStaff(dup), store.ErrConflict)
		_, err := tx.GetStaff(tn.ID, alice.ID)
		return err
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetStaffByLogin(tn.ID, "alice")
		if err != nil {
			return err
		}
		if got.ID != alice.ID || got.Role != "dpo" || !got.MustChangePassword || got.PasswordHash != alice.PasswordHash ||
			!got.CreatedAt.Equal(us(t0)) || got.CreatedBy != "cli" || !got.LastSignInAt.IsZero() || !got.DisabledAt.IsZero() ||
			got.TOTPSecret != nil || got.TOTPPending != nil {
			t.Errorf("account = %+v", got)
		}
		_, err = tx.GetStaffByLogin(tn.ID, "carol")
		wantErr(t, err, store.ErrNotFound)
		list, err := tx.ListStaff(tn.ID)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Login != "alice" || list[1].Login != "bob" {
			t.Errorf("list = %+v", list)
		}
		n, err := tx.CountStaff(tn.ID)
		if n != 2 {
			t.Errorf("count = %d", n)
		}
		return err
	})

	at := t0.Add(time.Hour)
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetStaffPassword(tn.ID, alice.ID, "$argon2id$new", false, at); err != nil {
			return err
		}
		if err := tx.SetStaffSignIn(tn.ID, alice.ID, at); err != nil {
			return err
		}
		wantErr(t, tx.SetStaffPassword(tn.ID, store.NewID(), "$x", false, at), store.ErrNotFound)
		return tx.SetStaffDisabled(tn.ID, bob.ID, at)
	})
	read(t, s, func(tx store.Tx) error {
		a, _ := tx.GetStaff(tn.ID, alice.ID)
		if a.PasswordHash != "$argon2id$new" || a.MustChangePassword || !a.LastSignInAt.Equal(us(at)) || !a.UpdatedAt.Equal(us(at)) {
			t.Errorf("after password change: %+v", a)
		}
		b, _ := tx.GetStaff(tn.ID, bob.ID)
		if !b.DisabledAt.Equal(us(at)) {
			t.Errorf("bob not disabled: %+v", b)
		}
		n, _ := tx.CountStaff(tn.ID)
		if n != 1 {
			t.Errorf("count after disable = %d", n)
		}
		return nil
	})
	// Disabling twice keeps the first time; enabling clears it.
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetStaffDisabled(tn.ID, bob.ID, at.Add(time.Hour)); err != nil {
			return err
		}
		b, _ := tx.GetStaff(tn.ID, bob.ID)
		if !b.DisabledAt.Equal(us(at)) {
			t.Errorf("second disable moved the time: %v", b.DisabledAt)
		}
		if err := tx.SetStaffDisabled(tn.ID, bob.ID, time.Time{}); err != nil {
			return err
		}
		b, _ = tx.GetStaff(tn.ID, bob.ID)
		if !b.DisabledAt.IsZero() {
			t.Errorf("enable did not clear: %v", b.DisabledAt)
		}
		return nil
	})
}

func testStaffAccountInvalid(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-inv")
	write(t, s, func(tx store.Tx) error {
		for name, a := range map[string]store.StaffAccount{
			"empty login": staffAccount(tn.ID, "", "dpo"),
			"bad role":    staffAccount(tn.ID, "x", "root"),
			"no hash":     {TenantID: tn.ID, ID: store.NewID(), Login: "y", Role: "dpo"},
		} {
			if err := tx.CreateStaff(a); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		wantErr(t, tx.CreateStaff(staffAccount(store.NewID(), "z", "dpo")), store.ErrNotFound)
		return nil
	})
}

func testStaffTOTP(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-totp")
	a := staffAccount(tn.ID, "alice", "admin")
	write(t, s, func(tx store.Tx) error { return tx.CreateStaff(a) })
	at := t0.Add(time.Minute)
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetStaffTOTP(tn.ID, a.ID, nil, []byte("pending-seed"), at); err != nil {
			return err
		}
		got, _ := tx.GetStaff(tn.ID, a.ID)
		if got.TOTPSecret != nil || !bytes.Equal(got.TOTPPending, []byte("pending-seed")) {
			t.Errorf("pending: %+v", got)
		}
		if err := tx.SetStaffTOTP(tn.ID, a.ID, []byte("seed-1"), nil, at); err != nil {
			return err
		}
		if err := tx.UseStaffTOTPStep(tn.ID, a.ID, 100); err != nil {
			return err
		}
		// Same or earlier step: a replay.
		wantErr(t, tx.UseStaffTOTPStep(tn.ID, a.ID, 100), store.ErrConflict)
		wantErr(t, tx.UseStaffTOTPStep(tn.ID, a.ID, 99), store.ErrConflict)
		wantErr(t, tx.UseStaffTOTPStep(tn.ID, store.NewID(), 1), store.ErrNotFound)
		if err := tx.UseStaffTOTPStep(tn.ID, a.ID, 101); err != nil {
			return err
		}
		// Keeping the seed keeps the step; a new seed resets it.
		if err := tx.SetStaffTOTP(tn.ID, a.ID, []byte("seed-1"), []byte("p2"), at); err != nil {
			return err
		}
		got, _ = tx.GetStaff(tn.ID, a.ID)
		if got.TOTPLastStep != 101 {
			t.Errorf("step after keeping the seed = %d", got.TOTPLastStep)
		}
		if err := tx.SetStaffTOTP(tn.ID, a.ID, []byte("seed-2"), nil, at); err != nil {
			return err
		}
		got, _ = tx.GetStaff(tn.ID, a.ID)
		if got.TOTPLastStep != 0 || !bytes.Equal(got.TOTPSecret, []byte("seed-2")) || got.TOTPPending != nil {
			t.Errorf("after new seed: %+v", got)
		}
		return tx.SetStaffTOTP(tn.ID, a.ID, nil, nil, at)
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetStaff(tn.ID, a.ID)
		if got.TOTPSecret != nil || got.TOTPPending != nil {
			t.Errorf("after reset: %+v", got)
		}
		return err
	})
}

// testStaffTOTPReplayConcurrent: many instances accepting the same code at
// once — exactly one may win.
func testStaffTOTPReplayConcurrent(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-replay")
	a := staffAccount(tn.ID, "alice", "admin")
	write(t, s, func(tx store.Tx) error { return tx.CreateStaff(a) })
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Write(ctx(t), func(tx store.Tx) error {
				err := tx.UseStaffTOTPStep(tn.ID, a.ID, 500)
				if errors.Is(err, store.ErrConflict) {
					return nil
				}
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d writers accepted the same step, want 1", wins)
	}
}

func testStaffSessions(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-sess")
	a := staffAccount(tn.ID, "alice", "dpo")
	write(t, s, func(tx store.Tx) error { return tx.CreateStaff(a) })
	h1, h2 := sessionHash("one"), sessionHash("two")
	sess := store.StaffSession{IDHash: h1, TenantID: tn.ID, StaffID: a.ID, Stage: store.SessionActive,
		CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateStaffSession(sess); err != nil {
			return err
		}
		wantErr(t, tx.CreateStaffSession(sess), store.ErrConflict)
		other := sess
		other.IDHash, other.StaffID = h2, store.NewID()
		wantErr(t, tx.CreateStaffSession(other), store.ErrNotFound)
		bad := sess
		bad.IDHash, bad.Stage = h2, "half"
		wantErr(t, tx.CreateStaffSession(bad), store.ErrInvalid)
		second := sess
		second.IDHash, second.Stage = h2, store.SessionPending
		return tx.CreateStaffSession(second)
	})
	read(t, s, func(tx store.Tx) error {
		got, acc, err := tx.GetStaffSession(h1)
		if err != nil {
			return err
		}
		if !bytes.Equal(got.IDHash, h1) || got.TenantID != tn.ID || got.StaffID != a.ID || got.Stage != store.SessionActive ||
			!got.CreatedAt.Equal(us(t0)) || !got.LastSeenAt.Equal(us(t0)) || !got.ExpiresAt.Equal(us(t0.Add(12*time.Hour))) ||
			!got.RevokedAt.IsZero() || acc.ID != a.ID || acc.Login != "alice" {
			t.Errorf("session = %+v, account = %+v", got, acc)
		}
		_, _, err = tx.GetStaffSession(sessionHash("none"))
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	at := t0.Add(10 * time.Minute)
	write(t, s, func(tx store.Tx) error {
		if err := tx.TouchStaffSession(h1, at); err != nil {
			return err
		}
		// Touching with an older time does not move it back.
		if err := tx.TouchStaffSession(h1, t0.Add(time.Minute)); err != nil {
			return err
		}
		if err := tx.RevokeStaffSession(h2, at); err != nil {
			return err
		}
		if err := tx.RevokeStaffSession(h2, at.Add(time.Hour)); err != nil {
			return err
		}
		return tx.RevokeStaffSession(sessionHash("unknown"), at)
	})
	read(t, s, func(tx store.Tx) error {
		got, _, _ := tx.GetStaffSession(h1)
		if !got.LastSeenAt.Equal(us(at)) {
			t.Errorf("last seen = %v", got.LastSeenAt)
		}
		got, _, _ = tx.GetStaffSession(h2)
		if !got.RevokedAt.Equal(us(at)) {
			t.Errorf("revoked at = %v", got.RevokedAt)
		}
		return nil
	})
	// Disabling the account revokes its live sessions.
	write(t, s, func(tx store.Tx) error { return tx.SetStaffDisabled(tn.ID, a.ID, at) })
	read(t, s, func(tx store.Tx) error {
		got, acc, _ := tx.GetStaffSession(h1)
		if got.RevokedAt.IsZero() || acc.DisabledAt.IsZero() {
			t.Errorf("session of a disabled account is live: %+v", got)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		n, err := tx.RevokeStaffSessions(tn.ID, a.ID, at)
		if n != 0 {
			t.Errorf("revoked %d already revoked sessions", n)
		}
		if err != nil {
			return err
		}
		n, err = tx.DeleteStaffSessions(at.Add(time.Second))
		if n != 2 {
			t.Errorf("deleted %d sessions, want 2", n)
		}
		return err
	})
}

func testStaffTenantScope(t *testing.T, s store.Store) {
	ta, tb := NewTenant(t, s, "staff-ta"), NewTenant(t, s, "staff-tb")
	a := staffAccount(ta.ID, "alice", "admin")
	b := staffAccount(tb.ID, "alice", "admin") // the same login in another tenant is fine
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateStaff(a); err != nil {
			return err
		}
		return tx.CreateStaff(b)
	})
	write(t, s, func(tx store.Tx) error {
		_, err := tx.GetStaff(tb.ID, a.ID)
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, tx.SetStaffDisabled(tb.ID, a.ID, t0), store.ErrNotFound)
		wantErr(t, tx.SetStaffPassword(tb.ID, a.ID, "$x", false, t0), store.ErrNotFound)
		wantErr(t, tx.SetStaffTOTP(tb.ID, a.ID, nil, nil, t0), store.ErrNotFound)
		// A session cannot name another tenant's account.
		wantErr(t, tx.CreateStaffSession(store.StaffSession{IDHash: sessionHash("x"), TenantID: tb.ID, StaffID: a.ID,
			Stage: store.SessionActive, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), store.ErrNotFound)
		n, err := tx.RevokeStaffSessions(tb.ID, a.ID, t0)
		if n != 0 {
			t.Errorf("revoked %d sessions across tenants", n)
		}
		return err
	})
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListStaff(tb.ID)
		if len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("tenant b lists %+v", list)
		}
		return err
	})
}

func testSigninThrottle(t *testing.T, s store.Store) {
	const key = "login:abc"
	window := time.Hour
	write(t, s, func(tx store.Tx) error {
		for i := 1; i <= 3; i++ {
			th, err := tx.AddSigninFailure(key, t0.Add(time.Duration(i)*time.Minute), window)
			if err != nil {
				return err
			}
			if th.Failures != i || !th.FirstFailedAt.Equal(us(t0.Add(time.Minute))) || !th.LastFailedAt.Equal(us(t0.Add(time.Duration(i)*time.Minute))) {
				t.Errorf("after %d failures: %+v", i, th)
			}
		}
		// After a quiet window the count starts again.
		later := t0.Add(3*time.Minute + window + time.Second)
		th, err := tx.AddSigninFailure(key, later, window)
		if th.Failures != 1 || !th.FirstFailedAt.Equal(us(later)) {
			t.Errorf("after the window: %+v", th)
		}
		return err
	})
	write(t, s, func(tx store.Tx) error {
		if err := tx.ClearSigninThrottle(key); err != nil {
			return err
		}
		_, err := tx.GetSigninThrottle(key)
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.AddSigninFailure("", t0, window)
		wantErr(t, err, store.ErrInvalid)
		return nil
	})
}

func testSigninThrottleConcurrent(t *testing.T, s store.Store) {
	const key, n = "net:192.0.2.0/24", 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Write(ctx(t), func(tx store.Tx) error {
				_, err := tx.AddSigninFailure(key, t0.Add(time.Duration(i)*time.Millisecond), time.Hour)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	read(t, s, func(tx store.Tx) error {
		th, err := tx.GetSigninThrottle(key)
		if th.Failures != n {
			t.Errorf("%d failures counted, want %d", th.Failures, n)
		}
		return err
	})
}

func testStaffReadOnly(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "staff-ro")
	err := s.Read(ctx(t), func(tx store.Tx) error {
		for name, err := range map[string]error{
			"create":  tx.CreateStaff(staffAccount(tn.ID, "x", "dpo")),
			"session": tx.CreateStaffSession(store.StaffSession{IDHash: sessionHash("x"), TenantID: tn.ID, StaffID: "x", Stage: store.SessionActive, CreatedAt: t0, ExpiresAt: t0}),
			"revoke":  tx.RevokeStaffSession(sessionHash("x"), t0),
			"clear":   tx.ClearSigninThrottle("x"),
		} {
			if !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("%s in Read: %v", name, err)
			}
		}
		_, err := tx.AddSigninFailure("x", t0, time.Hour)
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("throttle in Read: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
