package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trustee-privacy/trustee/internal/browsertest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestBrowserCenterAccessRequest drives the privacy center in headless
// Chromium: a person chooses "Get a copy of my data", gives their email,
// reads the code from the in-process SMTP server, confirms it and sees the
// status page; then the self-service page and the preferences, on a phone-
// sized window too. Screenshots of each page are saved.
func TestBrowserCenterAccessRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e, mail := newCenterEnv(t, engineDSNs()[0].dsn(t))
	ctx := browsertest.New(t, browsertest.Options{})
	base := e.srv.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Run(t, ctx, what, actions...)
	}
	shot := func(name string) { browsertest.Screenshot(t, ctx, "center-"+name) }
	person := synth.Nth(1)

	run("open the rights page", chromedp.Navigate(base+"/p/acme/requests"), chromedp.WaitVisible(chromedp.CSS(`a[href="/p/acme/requests?type=access"]`)))
	shot("01-rights")
	run("choose access", chromedp.Click(chromedp.CSS(`a[href="/p/acme/requests?type=access"]`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	run("give the email", chromedp.SendKeys(chromedp.CSS("#email"), person.Email))
	shot("02-access-form")
	run("send", chromedp.Click(chromedp.CSS(`form[action="/p/acme/requests"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#code")))
	if h := browsertest.Text(t, ctx, "h1"); h != "Confirm your request" {
		t.Fatalf("after sending: %q", h)
	}
	shot("03-code")
	code := waitCode(t, mail, person.Email, 1)
	run("confirm", chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action$="/verify"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".facts")))
	if h := browsertest.Text(t, ctx, "h1"); h != "Your request" {
		t.Fatalf("after confirming: %q", h)
	}
	if s := browsertest.Text(t, ctx, ".facts"); !strings.Contains(s, "Being handled") || !strings.Contains(s, "Get a copy of my data") {
		t.Errorf("status page: %q", s)
	}
	if loc := browsertest.Location(t, ctx); !strings.Contains(loc, "/p/acme/requests/") || !strings.Contains(loc, "token=") {
		t.Errorf("status page at %s", loc)
	}
	shot("04-status")
	rs := subjectRequests(t, e, e.acme.ID, e.people[0])
	if len(rs) != 1 || !rs[0].Verified() || rs[0].Status != rights.StatusInProgress {
		t.Fatalf("request after the browser flow: %+v", rs)
	}

	// Signed-in self-service and preferences.
	tok := subjectToken(t, e, e.acme.ID, e.people[0], 0, time.Now())
	run("open me", chromedp.Navigate(base+"/p/acme/me?token="+tok), chromedp.WaitVisible(chromedp.CSS("#held")))
	if loc := browsertest.Location(t, ctx); strings.Contains(loc, "token=") {
		t.Errorf("the token stayed in the URL: %s", loc)
	}
	shot("05-me")
	run("preferences", chromedp.Navigate(base+"/p/acme/preferences"), chromedp.WaitVisible(chromedp.CSS("table")))
	run("give newsletter consent", chromedp.Click(chromedp.CSS(`form:has(input[name=purpose][value=newsletter]) button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if s := browsertest.Text(t, ctx, "table"); !strings.Contains(s, "Given") {
		t.Errorf("preferences after giving consent: %q", s)
	}
	shot("06-preferences")

	// A phone-sized window.
	phone := browsertest.New(t, browsertest.Options{Width: 390, Height: 844})
	browsertest.Run(t, phone, "phone", chromedp.Navigate(base+"/p/acme/requests?type=erasure"), chromedp.WaitVisible(chromedp.CSS("#email")))
	browsertest.Screenshot(t, phone, "center-07-phone-erasure-form")
}
