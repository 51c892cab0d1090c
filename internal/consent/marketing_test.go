package consent_test

import (
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

// TestUnsubscribeStopsDirectMarketing: one unsubscribe stops every
// direct-marketing purpose at once (consent- and interest-based), puts the
// address on the suppression list, survives erasure, and a new consent
// reopens only the purpose consented to.
func TestUnsubscribeStopsDirectMarketing(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("Reader@Example.org")
		f.record(id, give("newsletter"))
		for _, p := range []string{"newsletter", "customer_marketing"} {
			if d := f.decision(id, p); !d.Allowed {
				t.Fatalf("%s before: %+v", p, d)
			}
		}
		u, err := f.svc.Unsubscribe(f.ctx, f.tn.ID, id, "newsletter", store.MethodUnsubscribe, consent.Actor{ID: "subject"})
		if err != nil {
			t.Fatal(err)
		}
		if u.ObjectionID == "" || u.Suppressed != 1 || len(u.Withdrawn) != 1 || u.Withdrawn[0].Purpose != "newsletter" ||
			!slices.Equal(u.Purposes, []string{"newsletter", "customer_marketing"}) {
			t.Fatalf("unsubscribed: %+v", u)
		}
		for _, p := range []string{"newsletter", "customer_marketing"} {
			if d := f.decision(id, p); d.Allowed || d.Reason != decide.Objected {
				t.Errorf("%s after unsubscribe: %+v", p, d)
			}
		}
		if d := f.decision(id, "account"); !d.Allowed {
			t.Errorf("an unsubscribe stopped a non-marketing purpose: %+v", d)
		}
		st := f.state(id)
		if !st.MarketingObjection || !st.Suppressed || purposeState(st, "newsletter").Status != consent.StatusWithdrawn {
			t.Errorf("state: %+v", st)
		}
		// Idempotent.
		again, err := f.svc.Unsubscribe(f.ctx, f.tn.ID, id, "", store.MethodUnsubscribe, consent.Actor{ID: "subject"})
		if err != nil || again.ObjectionID != u.ObjectionID || len(again.Withdrawn) != 0 {
			t.Errorf("second unsubscribe: %+v %v", again, err)
		}
		if ok, err := f.svc.IsSuppressed(f.ctx, f.tn.ID, "email", " reader@EXAMPLE.org ", ""); err != nil || !ok {
			t.Errorf("address not suppressed: %v %v", ok, err)
		}

		// Erasure: the suppression survives; a new account with the same
		// address is suppressed, though its own controls are empty.
		f.erase(id)
		back := f.person("reader@example.org")
		if !f.state(back).Suppressed {
			t.Error("a re-created subject with a suppressed address is not suppressed")
		}
		if slices.Contains(f.audience("customer_marketing"), back) {
			t.Error("the audience includes a suppressed address after erasure")
		}
		// Not only audiences: every decision for direct marketing refuses
		// the returning person, while other purposes are untouched.
		for _, p := range []string{"newsletter", "customer_marketing"} {
			if d := f.decision(back, p); d.Allowed || d.Reason != decide.Objected {
				t.Errorf("%s for a returning suppressed person: %+v", p, d)
			}
		}
		if d := f.decision(back, "account"); !d.Allowed {
			t.Errorf("the suppression stopped a non-marketing purpose: %+v", d)
		}
		if fresh := f.person("fresh@example.org"); !f.decision(fresh, "customer_marketing").Allowed {
			t.Error("a new, never-suppressed address is refused direct marketing")
		}
		// Subscribing again reopens the newsletter only.
		f.record(back, give("newsletter"))
		if slices.Contains(f.audience("customer_marketing"), back) {
			t.Error("subscribing to the newsletter reopened customer marketing")
		}
		if !slices.Contains(f.audience("newsletter"), back) {
			t.Error("a new subscription after an unsubscribe does not reach the newsletter audience")
		}
		if f.state(back).Suppressed {
			t.Error("the all-purpose suppression is still in force after subscribing again")
		}
		// And on the original style, for a subject with an objection: the
		// objection narrows to the other purposes.
		other := f.person("other@example.org")
		if _, err := f.svc.Unsubscribe(f.ctx, f.tn.ID, other, "", "api", api); err != nil {
			t.Fatal(err)
		}
		f.record(other, give("newsletter"))
		if d := f.decision(other, "newsletter"); !d.Allowed {
			t.Errorf("newsletter after subscribing again: %+v", d)
		}
		if d := f.decision(other, "customer_marketing"); d.Allowed || d.Reason != decide.Objected {
			t.Errorf("customer marketing after subscribing to the newsletter again: %+v", d)
		}
	})
}

func TestSuppressAddress(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		if err := f.svc.SuppressAddress(f.ctx, f.tn.ID, "email", "NoMail@example.org", "", api); err != nil {
			t.Fatal(err)
		}
		later := f.person("nomail@example.org")
		if slices.Contains(f.audience("customer_marketing"), later) {
			t.Error("an address suppressed before the person existed reaches the audience")
		}
		var ie *consent.InputError
		if err := f.svc.SuppressAddress(f.ctx, f.tn.ID, "email", "not an address", "", api); !errors.As(err, &ie) {
			t.Errorf("bad address: %v", err)
		}
		if err := f.svc.SuppressAddress(f.ctx, f.tn.ID, "login", "x", "", api); !errors.As(err, &ie) {
			t.Errorf("bad kind: %v", err)
		}
		if err := f.svc.SuppressAddress(f.ctx, f.tn.ID, "email", "a@example.org", "account", api); !errors.As(err, &ie) {
			t.Errorf("non-marketing purpose: %v", err)
		}
		if ok, _ := f.svc.IsSuppressed(f.ctx, f.tn.ID, "email", "someone@example.org", ""); ok {
			t.Error("an address never suppressed is suppressed")
		}
	})
}

func TestUnsubscribeToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("token@example.org")
		tok, err := f.svc.UnsubscribeToken(f.ctx, f.tn.ID, id, "newsletter")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.VerifyUnsubscribeToken(f.ctx, tok)
		if err != nil || got != (consent.Token{TenantID: f.tn.ID, SubjectID: id, Purpose: "newsletter"}) {
			t.Fatalf("verify: %+v %v", got, err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		if len(tok) > 120 {
			t.Errorf("token is %d characters; it goes into a header", len(tok))
		}
		// Flip every byte in turn: each tampered token is refused.
		for i := range raw {
			bad := append([]byte(nil), raw...)
			bad[i] ^= 0x01
			if _, err := f.svc.VerifyUnsubscribeToken(f.ctx, base64.RawURLEncoding.EncodeToString(bad)); !errors.Is(err, consent.ErrBadToken) {
				t.Fatalf("byte %d flipped: %v", i, err)
			}
		}
		// Another subject's token with this one's MAC; truncation; junk.
		other := f.person("other-token@example.org")
		tok2, _ := f.svc.UnsubscribeToken(f.ctx, f.tn.ID, other, "newsletter")
		raw2, _ := base64.RawURLEncoding.DecodeString(tok2)
		spliced := append(append([]byte(nil), raw2[:len(raw2)-16]...), raw[len(raw)-16:]...)
		for name, bad := range map[string]string{
			"spliced":   base64.RawURLEncoding.EncodeToString(spliced),
			"truncated": tok[:len(tok)-4],
			"empty":     "",
			"junk":      "not-a-token!",
			"long":      string(make([]byte, 500)),
		} {
			if _, err := f.svc.VerifyUnsubscribeToken(f.ctx, bad); !errors.Is(err, consent.ErrBadToken) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// A token of another tenant's key does not verify here.
		tn2, err := f.tenants.Create(f.ctx, "second", "Second")
		if err != nil {
			t.Fatal(err)
		}
		forged, err := f.svc.UnsubscribeToken(f.ctx, tn2.ID, id, "newsletter")
		if err != nil {
			t.Fatal(err)
		}
		fr, _ := base64.RawURLEncoding.DecodeString(forged)
		copy(fr[1:17], raw[1:17]) // claim the first tenant
		if _, err := f.svc.VerifyUnsubscribeToken(f.ctx, base64.RawURLEncoding.EncodeToString(fr)); !errors.Is(err, consent.ErrBadToken) {
			t.Errorf("cross-tenant token: %v", err)
		}
	})
}
