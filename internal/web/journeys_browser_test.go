package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/browsertest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestBrowserJourneys drives both web surfaces in headless Chromium the
// way a person and the privacy team use them together, in two browsers:
//
//  1. a person files an access request in the privacy center and confirms
//     it with the code from the in-process SMTP server; a DPO approves it in
//     the console; the person downloads the PDF from their status page;
//  2. a signed-in person deletes their account from self-service; the DPO
//     approves the erasure; a lookup in the console then finds nobody;
//  3. a person changes a consent in the privacy center, and the console's
//     consent dashboard counts it.
func TestBrowserJourneys(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e, mail := newCenterEnv(t, engineDSNs()[0].dsn(t))
	e.newStaff(e.acme.ID, "dpo", auth.RoleDPO)
	base := e.srv.URL
	person := browsertest.New(t, browsertest.Options{})
	staff := browsertest.New(t, browsertest.Options{})
	run := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Run(t, ctx, what, actions...)
	}
	shot := func(ctx context.Context, name string) { browsertest.Screenshot(t, ctx, "journey-"+name) }

	run(staff, "staff sign in",
		chromedp.Navigate(base+"/admin/acme/requests"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "dpo"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action$="/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/sign-out"]`)))
	approve := func(id, shotName string) {
		t.Helper()
		run(staff, "open request "+id,
			chromedp.Navigate(base+"/admin/acme/requests/"+id),
			chromedp.WaitVisible(chromedp.CSS("#approve-form")))
		run(staff, "approve "+id,
			chromedp.Click(chromedp.CSS(`#approve-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#request-status")))
		shot(staff, shotName)
	}

	// 1. Access request: center → code → console approval → download.
	ada := synth.Nth(1)
	run(person, "choose access",
		chromedp.Navigate(base+"/p/acme/requests?type=access"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), ada.Email),
		chromedp.Click(chromedp.CSS(`form[action="/p/acme/requests"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	code := waitCode(t, mail, ada.Email, 1)
	run(person, "confirm the code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action$="/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".facts")))
	status := browsertest.Location(t, person)
	rs := subjectRequests(t, e, e.acme.ID, e.people[0])
	if len(rs) != 1 || !rs[0].Verified() {
		t.Fatalf("after the center: %+v", rs)
	}
	approve(rs[0].ID, "01-access-approved")
	if pw := browsertest.Text(t, staff, "#pdf-password"); len(pw) < 16 {
		t.Fatalf("the console shows no PDF password: %q", pw)
	}
	run(person, "status after approval", chromedp.Navigate(status),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/download"]`)))
	shot(person, "02-access-download")
	got, err := chromedp.Run(person, chromedp.Evaluate[string](`(async () => {
		const f = [...document.querySelectorAll('form[action$="/download"]')].find(f => f.querySelector('input[name=format][value=pdf]'));
		const r = await fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))});
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + ' ' + String.fromCharCode(...b.slice(0, 5));
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || got != "200 %PDF-" {
		t.Fatalf("downloading the PDF from the status page: %q %v", got, err)
	}

	// 2. Self-service deletion → approval → the console finds nobody.
	bo := synth.Nth(2)
	tok := subjectToken(t, e, e.acme.ID, e.people[1], 0, time.Now())
	run(person, "open self-service", chromedp.Navigate(base+"/p/acme/me?token="+tok), chromedp.WaitVisible(chromedp.CSS("#held")))
	run(person, "delete my account",
		chromedp.Click(chromedp.CSS(`form[action$="/me/erase"] input[name=confirm]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/me/erase"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	shot(person, "03-erase-requested")
	var erasure *rights.Request
	for _, r := range subjectRequests(t, e, e.acme.ID, e.people[1]) {
		if r.Type == "erasure" {
			erasure = r
		}
	}
	if erasure == nil || !erasure.Verified() {
		t.Fatalf("no verified erasure request after self-service: %+v", erasure)
	}
	approve(erasure.ID, "04-erasure-approved")
	run(staff, "look the person up",
		chromedp.Navigate(base+"/admin/acme/subjects"),
		chromedp.WaitVisible(chromedp.CSS("#value")),
		chromedp.SetValue(chromedp.CSS("#kind"), "email"),
		chromedp.SendKeys(chromedp.CSS("#value"), bo.Email),
		chromedp.SetValue(chromedp.CSS("#purpose"), "account"),
		chromedp.SendKeys(chromedp.CSS("#case"), "TICKET-9"),
		chromedp.Click(chromedp.CSS(`form[action$="/subjects"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	if msg := browsertest.Text(t, staff, ".error-summary"); !strings.Contains(msg, "Nobody was found") {
		t.Errorf("lookup after the erasure: %q", msg)
	}
	shot(staff, "05-lookup-finds-nobody")

	// 3. A consent change in the center shows in the console's dashboard.
	tok = subjectToken(t, e, e.acme.ID, e.people[0], 0, time.Now())
	run(person, "preferences",
		chromedp.Navigate(base+"/p/acme/me?token="+tok), chromedp.WaitVisible(chromedp.CSS("#held")),
		chromedp.Navigate(base+"/p/acme/preferences"), chromedp.WaitVisible(chromedp.CSS("table")),
		chromedp.Click(chromedp.CSS(`form:has(input[name=purpose][value=newsletter]) button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	shot(person, "06-newsletter-given")
	run(staff, "consent dashboard",
		chromedp.Navigate(base+"/admin/acme/consent?days=7"),
		chromedp.WaitVisible(chromedp.CSS("#consent-purposes")))
	if n := browsertest.Text(t, staff, `#consent-purposes tr[data-purpose="newsletter"] td.given`); n != "1" {
		t.Errorf("newsletter consents given on the dashboard: %q, want 1", n)
	}
	if m := browsertest.Text(t, staff, `#consent-purposes tr[data-purpose="newsletter"]`); !strings.Contains(m, "banner: 1") {
		t.Errorf("the dashboard does not say the choice came from the center's banner form: %q", m)
	}
	shot(staff, "07-consent-dashboard")
}
