package rights_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// TestAccessWalkthrough walks an access request from intake to completion:
// a code by real SMTP, a wrong try, the right code, approval, and the
// completion email, with every step in the history and the audit log.
func TestAccessWalkthrough(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		sub := f.person("kari@example.com")
		c := f.create(byEmail("access", "Kari@Example.com"))
		r := c.Request
		if r.Status != rights.StatusVerifying || r.SubjectID != sub || r.Jurisdiction != "gdpr" || c.StatusToken == "" {
			t.Fatalf("created = %+v", r.Request)
		}
		code := codeIn(t, f.mailTo("kari@example.com", 1))
		// The code is nowhere in the database.
		row := rawRequest(t, f, r.ID)
		if bytes.Contains(row.State, []byte(code)) || bytes.Contains(row.Details, []byte(code)) {
			t.Fatal("the code is stored in plain text")
		}
		// Approving before verification is refused.
		if _, err := f.svc.Approve(f.ctx, f.tn, r.ID, staff); !errors.Is(err, rights.ErrNotVerified) {
			t.Fatalf("approve unverified: %v", err)
		}
		wrong := "00000000"
		if wrong == code {
			wrong = "11111111"
		}
		if _, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodEmailCode, Code: wrong}, rights.Actor{ID: "subject"}); !errors.Is(err, rights.ErrBadCode) {
			t.Fatalf("wrong code: %v", err)
		}
		got, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodEmailCode, Code: code}, rights.Actor{ID: "subject"})
		if err != nil || got.Status != rights.StatusInProgress || !got.Verified() {
			t.Fatalf("verify: %v %+v", err, got)
		}
		// Single use: the code does not verify again (and nothing changes).
		if _, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodEmailCode, Code: code}, rights.Actor{ID: "subject"}); err != nil {
			t.Fatalf("verify verified: %v", err)
		}
		ap, err := f.svc.Approve(f.ctx, f.tn, r.ID, staff)
		if err != nil {
			t.Fatal(err)
		}
		if ap.Request.Status != rights.StatusCompleted || ap.Request.State.Outcome == nil || ap.Request.State.Outcome.Summary == "" {
			t.Fatalf("approved = %+v", ap.Request)
		}
		calls := f.ful.calls()
		if len(calls) != 1 || calls[0].SubjectID != sub || calls[0].Type != "access" || calls[0].RequestID != r.ID || calls[0].Actor != staff.ID {
			t.Fatalf("fulfil calls = %+v", calls)
		}
		done := f.mailTo("kari@example.com", 2)
		if !strings.Contains(done.Subject, "carried out") || !strings.Contains(done.Text, r.ID) {
			t.Fatalf("completion mail = %q %q", done.Subject, done.Text)
		}
		full, err := f.svc.Get(f.ctx, f.tn, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s := statuses(full); s != "received>verifying>in_progress>completed" {
			t.Fatalf("history = %s", s)
		}
		if full.ClosedAt.IsZero() {
			t.Fatal("completed request has no closed time")
		}
		// Every transition is audited, never with the code.
		var evs []store.AuditEvent
		err = f.rig.Store.Read(f.ctx, func(tx store.Tx) error {
			var err error
			evs, err = tx.ListAuditEvents(f.tn, store.AuditFilter{Limit: 1000})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range evs {
			actions[e.Action]++
			if strings.Contains(e.Reason, code) {
				t.Fatal("audit holds the code")
			}
		}
		for _, a := range []string{"request.create", "request.status", "request.verify", "request.approve"} {
			if actions[a] == 0 {
				t.Errorf("no %s audit event (have %v)", a, actions)
			}
		}
	})
}

func rawRequest(t *testing.T, f *fixture, id string) store.Request {
	t.Helper()
	var r store.Request
	err := f.rig.Store.Read(f.ctx, func(tx store.Tx) error {
		var err error
		r, err = tx.GetRequest(f.tn, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCodeExpiryAndAttempts(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("ola@example.com")
		r := f.create(byEmail("erasure", "ola@example.com")).Request
		code := codeIn(t, f.mailTo("ola@example.com", 1))
		verify := func(code string) error {
			_, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodEmailCode, Code: code}, rights.Actor{ID: "subject"})
			return err
		}
		// Expired after 15 minutes.
		f.clock.Advance(rights.CodeTTL + time.Second)
		if err := verify(code); !errors.Is(err, rights.ErrBadCode) {
			t.Fatalf("expired code: %v", err)
		}
		// A new code; five wrong tries void it, even the right one after.
		if err := f.svc.ResendCode(f.ctx, f.tn, r.ID, rights.Actor{ID: "subject"}); err != nil {
			t.Fatal(err)
		}
		code2 := codeIn(t, f.mailTo("ola@example.com", 2))
		for i := 0; i < rights.MaxCodeAttempts; i++ {
			bad := "99999999"
			if bad == code2 {
				bad = "88888888"
			}
			if err := verify(bad); !errors.Is(err, rights.ErrBadCode) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		if err := verify(code2); !errors.Is(err, rights.ErrBadCode) {
			t.Fatalf("right code after 5 wrong ones: %v", err)
		}
		got, _ := f.svc.Get(f.ctx, f.tn, r.ID)
		if got.Verified() || len(got.State.Verification.CodeMAC) != 0 {
			t.Fatalf("verification = %+v", got.State.Verification)
		}
		// A fresh code works.
		f.clock.Advance(2 * time.Minute)
		if err := f.svc.ResendCode(f.ctx, f.tn, r.ID, rights.Actor{ID: "subject"}); err != nil {
			t.Fatal(err)
		}
		if err := verify(codeIn(t, f.mailTo("ola@example.com", 3))); err != nil {
			t.Fatalf("fresh code: %v", err)
		}
	})
}

// TestUnknownIdentity: a request for an identity nobody holds is accepted
// exactly like one for a known person; no code can be sent.
func TestUnknownIdentity(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("known@example.com")
		known := f.create(byEmail("access", "known@example.com"))
		unknown := f.create(byEmail("access", "nobody@example.com"))
		if known.Request.Status != unknown.Request.Status || len(unknown.StatusToken) != len(known.StatusToken) {
			t.Fatalf("known %s, unknown %s", known.Request.Status, unknown.Request.Status)
		}
		if unknown.Request.SubjectID != "" || !unknown.Request.State.Verification.NoContact {
			t.Fatalf("unknown = %+v", unknown.Request.State.Verification)
		}
		f.mailTo("known@example.com", 1)
		time.Sleep(100 * time.Millisecond)
		if n := f.mailsTo("nobody@example.com"); n != 0 {
			t.Fatalf("%d emails to an unknown address", n)
		}
		// Resending for the unknown one is accepted and does nothing.
		if err := f.svc.ResendCode(f.ctx, f.tn, unknown.Request.ID, rights.Actor{ID: "subject"}); err != nil {
			t.Fatal(err)
		}
		// The status token opens only its own request.
		if err := f.svc.CheckStatusToken(f.ctx, f.tn, unknown.Request.ID, unknown.StatusToken); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CheckStatusToken(f.ctx, f.tn, known.Request.ID, unknown.StatusToken); !errors.Is(err, rights.ErrNotFound) {
			t.Fatalf("other token: %v", err)
		}
	})
}

// TestPublicIntakeTiming: a privacy-center intake takes at least the
// floor whether or not the identity is known, so the answer's timing does
// not tell who is a customer; other channels are not slowed.
func TestPublicIntakeTiming(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.svc.PublicFloor = 250 * time.Millisecond
		f.person("timed@example.com")
		for _, email := range []string{"timed@example.com", "stranger@example.com"} {
			in := byEmail("access", email)
			in.Channel = rights.ChannelPrivacyCenter
			start := time.Now()
			if _, err := f.svc.Create(f.ctx, f.tn, in, rights.Actor{ID: "subject"}); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("%s: public intake answered after %v, before the floor", email, d)
			}
		}
		start := time.Now()
		f.create(byEmail("access", "stranger@example.com"))
		if d := time.Since(start); d >= 250*time.Millisecond {
			t.Logf("an API intake took %v (no floor applies; the machine is slow)", d)
		}
	})
}

func TestDueDates(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t), nil)
	f.person("due@example.com")
	for _, tc := range []struct {
		name     string
		received time.Time
		typ      string
		due      string // in Oslo (GDPR) or California (CCPA)
		confirm  string
	}{
		// 31 January → 28 February 2027, a Sunday: the next working day.
		{"gdpr month end", time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC), "access", "2027-03-01", ""},
		// Leap year: 31 January 2028 → 29 February (a Tuesday).
		{"gdpr leap year", time.Date(2028, 1, 31, 10, 0, 0, 0, time.UTC), "access", "2028-02-29", ""},
		{"gdpr mid month", time.Date(2027, 3, 15, 10, 0, 0, 0, time.UTC), "erasure", "2027-04-15", ""},
		// CCPA: 45 calendar days; receipt confirmed within the policy's 5
		// working days (stricter than the law's 10 business days).
		{"ccpa know", time.Date(2027, 3, 1, 18, 0, 0, 0, time.UTC), "ccpa_know", "2027-04-15", "2027-03-08"},
		// Opt-out: 15 business days (Memorial Day 31 May 2027 skipped).
		{"ccpa opt-out", time.Date(2027, 5, 20, 18, 0, 0, 0, time.UTC), "ccpa_opt_out", "2027-06-11", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(tc.received)
			r := f.create(byEmail(tc.typ, "due@example.com")).Request
			loc := "Europe/Oslo"
			if strings.HasPrefix(tc.typ, "ccpa") {
				loc = "America/Los_Angeles"
			}
			l, _ := time.LoadLocation(loc)
			if got := r.DueAt.In(l).Format(time.DateOnly); got != tc.due {
				t.Errorf("due %s, want %s", got, tc.due)
			}
			if tc.confirm != "" {
				if got := r.ConfirmBy.In(l).Format(time.DateOnly); got != tc.confirm {
					t.Errorf("confirm by %s, want %s", got, tc.confirm)
				}
			}
		})
	}
}

func TestExtension(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("ext@example.com")
		f.clock.Set(time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC))
		r := f.create(byEmail("access", "ext@example.com")).Request
		if _, err := f.svc.Extend(f.ctx, f.tn, r.ID, "3mo", "complex", staff); err == nil {
			t.Fatal("3 months accepted")
		}
		if _, err := f.svc.Extend(f.ctx, f.tn, r.ID, "2mo", "", staff); err == nil {
			t.Fatal("no reason accepted")
		}
		got, err := f.svc.Extend(f.ctx, f.tn, r.ID, "2mo", "Many systems to search", staff)
		if err != nil {
			t.Fatal(err)
		}
		oslo, _ := time.LoadLocation("Europe/Oslo")
		if d := got.DueAt.In(oslo).Format(time.DateOnly); d != "2027-04-28" || got.Status != rights.StatusExtended {
			t.Fatalf("extended due %s status %s", d, got.Status)
		}
		m := f.mailAbout("ext@example.com", "more time")
		if !strings.Contains(m.Text, "Many systems to search") || !strings.Contains(m.Text, "28 April 2027") {
			t.Fatalf("extension mail = %q", m.Text)
		}
		_, err = f.svc.Extend(f.ctx, f.tn, r.ID, "1mo", "again", staff)
		wantState(t, err)

		// After the first month it is too late.
		r2 := f.create(byEmail("access", "ext@example.com")).Request
		f.clock.Advance(40 * 24 * time.Hour)
		_, err = f.svc.Extend(f.ctx, f.tn, r2.ID, "1mo", "late", staff)
		wantState(t, err)

		// CCPA: up to 45 days, counted in days.
		r3 := f.create(byEmail("ccpa_delete", "ext@example.com")).Request
		_, err = f.svc.Extend(f.ctx, f.tn, r3.ID, "46d", "too long", staff)
		wantInput(t, err, "by")
		got, err = f.svc.Extend(f.ctx, f.tn, r3.ID, "45d", "Backups to search", staff)
		if err != nil {
			t.Fatal(err)
		}
		if want := r3.ReceivedAt.AddDate(0, 0, 90); got.DueAt.Before(want.Add(-24*time.Hour)) || got.DueAt.After(want.Add(24*time.Hour)) {
			t.Fatalf("ccpa extended due %v, received %v", got.DueAt, r3.ReceivedAt)
		}
	})
}

func TestRefuseAndFee(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("ref@example.com")
		r := f.create(byEmail("access", "ref@example.com")).Request
		_, err := f.svc.Refuse(f.ctx, f.tn, r.ID, rights.RefuseInput{Reason: "because"}, staff)
		wantInput(t, err, "reason")
		_, err = f.svc.Refuse(f.ctx, f.tn, r.ID, rights.RefuseInput{Reason: rights.RefuseOther}, staff)
		wantInput(t, err, "text")
		_, err = f.svc.Refuse(f.ctx, f.tn, r.ID, rights.RefuseInput{Reason: rights.RefuseExemption, FeeAmount: 100, FeeCurrency: "EUR"}, staff)
		wantInput(t, err, "fee")
		// The same type again within 30 days is flagged as repeated.
		r2 := f.create(byEmail("access", "ref@example.com")).Request
		if r2.State.Repeated != 1 {
			t.Fatalf("repeated = %d", r2.State.Repeated)
		}
		// A fee instead of a refusal (the policy's fees: excessive_only).
		got, err := f.svc.Refuse(f.ctx, f.tn, r2.ID, rights.RefuseInput{Reason: rights.RefuseExcessive, FeeAmount: 2500, FeeCurrency: "NOK"}, staff)
		if err != nil {
			t.Fatal(err)
		}
		if got.State.Fee == nil || got.State.Fee.Amount != 2500 || got.Status == rights.StatusRefused {
			t.Fatalf("fee = %+v status %s", got.State.Fee, got.Status)
		}
		got, err = f.svc.Refuse(f.ctx, f.tn, r.ID, rights.RefuseInput{Reason: rights.RefuseManifestlyUnfounded}, staff)
		if err != nil || got.Status != rights.StatusRefused || got.State.Refusal.Reason != rights.RefuseManifestlyUnfounded {
			t.Fatalf("refuse: %v %+v", err, got)
		}
		refusal := f.mailAbout("ref@example.com", "Our answer").Text
		if !strings.Contains(refusal, "Datatilsynet") || !strings.Contains(refusal, "judicial remedy") || !strings.Contains(refusal, "manifestly unfounded") {
			t.Fatalf("refusal mail = %q", refusal)
		}
		// Final: nothing more happens.
		_, err = f.svc.Withdraw(f.ctx, f.tn, r.ID, rights.Actor{ID: "subject"})
		wantState(t, err)
		w, err := f.svc.Withdraw(f.ctx, f.tn, r2.ID, rights.Actor{ID: "subject"})
		if err != nil || w.Status != rights.StatusWithdrawn {
			t.Fatalf("withdraw: %v %+v", err, w)
		}
	})
}

func TestProcessorMode(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e.Open(t), func(s string) string {
				return strings.Replace(s, "\nmode: controller\n", "\nmode: processor\n", 1)
			})
			f.person("cust@example.com")
			in := byEmail("objection", "cust@example.com") // verification: none
			in.ObjectionKind = "direct_marketing"
			r := f.create(in).Request
			if r.Status != rights.StatusAwaitingController {
				t.Fatalf("status = %s", r.Status)
			}
			m := f.mailTo("privacy@example.com", 1)
			if !strings.Contains(m.Text, r.ID) || !strings.Contains(m.Subject, "decision") {
				t.Fatalf("controller mail = %q", m.Text)
			}
			_, err := f.svc.Approve(f.ctx, f.tn, r.ID, staff)
			wantState(t, err)
			_, err = f.svc.Instruct(f.ctx, f.tn, r.ID, "maybe", "", staff)
			wantInput(t, err, "decision")
			got, err := f.svc.Instruct(f.ctx, f.tn, r.ID, "proceed", "ticket 42", staff)
			if err != nil || got.Status != rights.StatusInProgress || got.State.Instruction.Decision != "proceed" {
				t.Fatalf("instruct: %v %+v", err, got)
			}
			if _, err := f.svc.Approve(f.ctx, f.tn, r.ID, staff); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCompleteWaitsForRecipients(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.ful.pending = []string{"hubspot"}
		sub := f.person("rec@example.com")
		r := f.create(rights.Input{Type: "rectification", SubjectID: sub, Channel: rights.ChannelStaff, StaffVia: "phone",
			Details: rights.Details{Fields: map[string]json.RawMessage{"name": json.RawMessage(`"Kari N."`)}}}).Request
		// rectification needs app_token: verify with a token the app minted.
		tok, _, err := rights.MintToken(f.ctx, f.rig.Keys, f.tn, sub, 0, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodAppToken, SubjectToken: tok}, staff); err != nil {
			t.Fatal(err)
		}
		ap, err := f.svc.Approve(f.ctx, f.tn, r.ID, staff)
		if err != nil {
			t.Fatal(err)
		}
		if ap.Request.Status != rights.StatusInProgress || len(ap.Recipients) != 1 {
			t.Fatalf("approved: %s %+v", ap.Request.Status, ap.Recipients)
		}
		if in := f.ful.calls()[0]; string(in.Fields["name"]) != `"Kari N."` {
			t.Fatalf("fields = %s", in.Fields)
		}
		_, err = f.svc.Complete(f.ctx, f.tn, r.ID, "", staff)
		wantState(t, err)
		_, err = f.svc.MarkRecipientHandled(f.ctx, f.tn, r.ID, "hubspot", "", staff)
		wantInput(t, err, "note")
		if _, err := f.svc.MarkRecipientHandled(f.ctx, f.tn, r.ID, "nobody", "x", staff); !errors.Is(err, rights.ErrNotFound) {
			t.Fatalf("unknown recipient: %v", err)
		}
		if _, err := f.svc.MarkRecipientHandled(f.ctx, f.tn, r.ID, "hubspot", "Phoned their DPO", staff); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Complete(f.ctx, f.tn, r.ID, "", staff)
		if err != nil || got.Status != rights.StatusCompleted {
			t.Fatalf("complete: %v %+v", err, got)
		}
		// The corrected value is sealed at rest.
		if raw := rawRequest(t, f, r.ID); bytes.Contains(raw.Details, []byte("Kari N.")) || bytes.Contains(raw.State, []byte("Kari N.")) {
			t.Fatal("details stored in plain text")
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("iso@example.com")
		r := f.create(byEmail("access", "iso@example.com")).Request
		other, err := f.ten.Create(f.ctx, "other", "Other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(f.ctx, other.ID, r.ID); !errors.Is(err, rights.ErrNotFound) && !errors.Is(err, rights.ErrNoPolicy) {
			t.Fatalf("other tenant get: %v", err)
		}
		list, err := f.svc.List(f.ctx, f.tn, rights.Filter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %d", err, len(list))
		}
		tok, _ := f.svc.StatusToken(f.ctx, f.tn, r.ID)
		if err := f.svc.CheckStatusToken(f.ctx, other.ID, r.ID, tok); !errors.Is(err, rights.ErrNotFound) {
			t.Fatalf("token under another tenant: %v", err)
		}
	})
}

func TestSubjectToken(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t), nil)
	sub := f.person("tok@example.com")
	now := f.clock.Now()
	tok, exp, err := rights.MintToken(f.ctx, f.rig.Keys, f.tn, sub, 0, now)
	if err != nil || !exp.After(now) {
		t.Fatal(err)
	}
	if got, err := rights.VerifyToken(f.ctx, f.rig.Keys, f.tn, tok, now); err != nil || got != sub {
		t.Fatalf("verify: %v %s", err, got)
	}
	other, _ := f.ten.Create(f.ctx, "other", "Other")
	for name, tc := range map[string]struct {
		tenant, token string
		at            time.Time
	}{
		"expired":      {f.tn, tok, exp},
		"other tenant": {other.ID, tok, now},
		"tampered":     {f.tn, tok[:len(tok)-2] + "AA", now},
		"garbage":      {f.tn, "not-a-token", now},
		"empty":        {f.tn, "", now},
	} {
		if _, err := rights.VerifyToken(f.ctx, f.rig.Keys, tc.tenant, tc.token, tc.at); !errors.Is(err, rights.ErrBadToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A restriction needs manual verification: a code or token is not enough.
	rr := f.create(rights.Input{Type: "restriction", SubjectID: sub, Details: rights.Details{Ground: "accuracy_contested"}}).Request
	_, err = f.svc.Verify(f.ctx, f.tn, rr.ID, rights.VerifyInput{Method: rights.MethodAppToken, SubjectToken: tok}, staff)
	wantInput(t, err, "method")
	if v, err := f.svc.Verify(f.ctx, f.tn, rr.ID, rights.VerifyInput{Method: rights.MethodManual, Checked: "passport"}, staff); err != nil || !v.Verified() {
		t.Fatalf("manual: %v", err)
	}
	// A token of another subject does not verify this subject's request.
	f.person("else@example.com")
	in := byEmail("rectification", "else@example.com")
	in.Fields = map[string]json.RawMessage{"name": json.RawMessage(`"X"`)}
	r := f.create(in).Request
	if _, err := f.svc.Verify(f.ctx, f.tn, r.ID, rights.VerifyInput{Method: rights.MethodAppToken, SubjectToken: tok}, staff); !errors.Is(err, rights.ErrBadToken) {
		t.Fatalf("token of another subject: %v", err)
	}
}

func TestReminders(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.person("rem@example.com")
		f.clock.Set(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
		r := f.create(byEmail("ccpa_opt_out", "rem@example.com")).Request // due in 15 business days
		f.create(byEmail("access", "rem@example.com"))                    // due in a month
		if n, err := f.svc.Remind(f.ctx); err != nil || n != 0 {
			t.Fatalf("remind early: %d %v", n, err)
		}
		f.clock.Set(r.DueAt.Add(-48 * time.Hour))
		for i := 0; i < 2; i++ { // twice on the same day: one email
			if n, err := f.svc.Remind(f.ctx); err != nil || n != 1 {
				t.Fatalf("remind: %d %v", n, err)
			}
		}
		m := f.mailTo("dpo@example.com", 1)
		if !strings.Contains(m.Text, r.ID) {
			t.Fatalf("reminder = %q", m.Text)
		}
		f.clock.Set(r.DueAt.Add(24 * time.Hour)) // overdue, the next day
		if _, err := f.svc.Remind(f.ctx); err != nil {
			t.Fatal(err)
		}
		if m := f.mailTo("dpo@example.com", 2); !strings.Contains(m.Text, "OVERDUE") {
			t.Fatalf("overdue reminder = %q", m.Text)
		}
		time.Sleep(100 * time.Millisecond)
		if n := f.mailsTo("dpo@example.com"); n != 2 {
			t.Fatalf("%d reminders", n)
		}
		// Filters: overdue and due soon.
		over, err := f.svc.List(f.ctx, f.tn, rights.Filter{Overdue: true})
		if err != nil || len(over) != 1 || over[0].ID != r.ID {
			t.Fatalf("overdue = %v %d", err, len(over))
		}
	})
}

var _ fulfil.Fulfiller = (*fakeFulfiller)(nil)

// TestConsumeToken: a subject token is spent by its first exchange, also
// when the second attempt spells the same bytes differently in base64.
func TestConsumeToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		subj := f.person("once@example.com")
		now := time.Now()
		tok, _, err := rights.MintToken(f.ctx, f.rig.Keys, f.tn, subj, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rights.ConsumeToken(f.ctx, f.rig.Store, f.rig.Keys, f.tn, tok, now)
		if err != nil || got != subj {
			t.Fatalf("first use: %q %v", got, err)
		}
		if _, err := rights.ConsumeToken(f.ctx, f.rig.Store, f.rig.Keys, f.tn, tok, now); !errors.Is(err, rights.ErrTokenUsed) {
			t.Fatalf("second use: %v", err)
		}
		// The last character carries spare bits; flipping them spells the
		// same token another way.
		alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, tok[len(tok)-1])
		for d := 1; d < 4; d++ {
			alt := tok[:len(tok)-1] + string(alphabet[last^d])
			if sub, err := rights.VerifyToken(f.ctx, f.rig.Keys, f.tn, alt, now); err == nil && sub == subj {
				if _, err := rights.ConsumeToken(f.ctx, f.rig.Store, f.rig.Keys, f.tn, alt, now); !errors.Is(err, rights.ErrTokenUsed) {
					t.Errorf("another spelling of a used token: %v", err)
				}
			}
		}
	})
}
