package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/browsertest"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// TestBrowserConsole drives the console in headless Chromium: sign-in with
// a TOTP code, a purpose-scoped subject lookup, an invalid then a valid
// policy upload with its diff and apply, and audit verification, saving a
// screenshot of each page.
func TestBrowserConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t, engineDSNs()[0].dsn(t))
	ctx := browsertest.New(t, browsertest.Options{})
	base := e.srv.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Run(t, ctx, what, actions...)
	}
	shot := func(name string) { browsertest.Screenshot(t, ctx, "console-"+name) }

	// The admin turns on TOTP (the service is driven directly here; the
	// enrolment page is covered by TestTOTPSignInOverHTTP). The code of the
	// previous step confirms, so the current one is still unused.
	svc := e.app.Web.Staff()
	admin := e.staff["admin"]
	en, err := svc.BeginTOTP(context.Background(), e.acme.ID, admin.ID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ConfirmTOTP(context.Background(), e.acme.ID, admin.ID, totpAt(t, en.Secret, time.Now().Add(-staff.TOTPPeriod)), staff.Actor{ID: "test"}); err != nil {
		t.Fatal(err)
	}

	// Sign in: password, then code.
	run("open sign-in", chromedp.Navigate(base+"/admin/acme/"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := browsertest.Location(t, ctx); !strings.HasSuffix(loc, "/admin/acme/sign-in") {
		t.Fatalf("signed-out console went to %s", loc)
	}
	shot("01-sign-in")
	run("password",
		chromedp.SendKeys(chromedp.CSS("#login"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action$="/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	shot("02-two-factor-code")
	run("code",
		chromedp.SendKeys(chromedp.CSS("#code"), totpAt(t, en.Secret, time.Now())),
		chromedp.Click(chromedp.CSS(`form[action$="/sign-in/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".cards")))
	if h := browsertest.Text(t, ctx, "h1"); h != "Dashboard" {
		t.Fatalf("after sign-in: %q", h)
	}
	shot("03-dashboard")

	// Subject lookup for a purpose: released and withheld fields.
	person := synth.Nth(1)
	run("lookup",
		chromedp.Navigate(base+"/admin/acme/subjects"),
		chromedp.WaitVisible(chromedp.CSS("#value")),
		chromedp.SetValue(chromedp.CSS("#kind"), "email"),
		chromedp.SendKeys(chromedp.CSS("#value"), person.Email),
		chromedp.SetValue(chromedp.CSS("#purpose"), "account"),
		chromedp.SendKeys(chromedp.CSS("#case"), "TICKET-42"))
	shot("04-subject-lookup-form")
	run("submit lookup",
		chromedp.Click(chromedp.CSS(`form[action$="/subjects"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#released")))
	released := browsertest.Text(t, ctx, `section[aria-labelledby="released"]`)
	withheld := browsertest.Text(t, ctx, `section[aria-labelledby="withheld"]`)
	if !strings.Contains(released, person.Email) || !strings.Contains(withheld, "This purpose does not use this kind of data") {
		t.Errorf("lookup page:\nreleased: %s\nwithheld: %s", released, withheld)
	}
	shot("05-subject-view")

	// Policy: an invalid upload shows each error at line:column beside the
	// source; a valid one shows the diff and the reconsent warning; apply.
	src, _ := examples.File("learning-saas")
	bad := strings.Replace(string(src), "legal_basis: contract", "legal_basis: contrakt", 1)
	run("invalid policy",
		chromedp.Navigate(base+"/admin/acme/policy"),
		chromedp.WaitVisible(chromedp.CSS("#source")),
		chromedp.SetValue(chromedp.CSS("#source"), bad),
		chromedp.Click(chromedp.CSS(`form[action$="/policy/check"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".problem .pos")))
	pos := browsertest.Text(t, ctx, ".problem .pos")
	if want := itoa(lineOf(bad, "legal_basis: contrakt")) + ":"; !strings.HasPrefix(pos, want) {
		t.Errorf("first error at %q, want line %s", pos, want)
	}
	if ex := browsertest.Text(t, ctx, ".problem .ln.mark"); !strings.Contains(ex, "contrakt") {
		t.Errorf("marked source line %q", ex)
	}
	run("scroll to errors", chromedp.ScrollIntoView(chromedp.CSS("#check-result")))
	shot("06-policy-invalid")
	good := strings.Replace(string(src), "categories: [user.contact.email, user.name, user.behavior.media_consumption]",
		"categories: [user.contact.email, user.name, user.behavior.media_consumption, user.contact.phone_number]", 1)
	run("valid policy",
		chromedp.SetValue(chromedp.CSS("#source"), good),
		chromedp.Click(chromedp.CSS(`form[action$="/policy/check"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/policy/apply"] button`)))
	if r := browsertest.Text(t, ctx, "#check-result"); !strings.Contains(r, "Consent must be asked again") || !strings.Contains(r, "newsletter") {
		t.Errorf("check result: %s", r)
	}
	shot("07-policy-diff")
	run("apply",
		chromedp.Click(chromedp.CSS(`form[action$="/policy/apply"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if f := browsertest.Text(t, ctx, ".flash"); !strings.Contains(f, "applied") {
		t.Errorf("flash %q", f)
	}
	shot("08-policy-applied")
	run("notice", chromedp.Navigate(base+"/admin/acme/policy/notice"), chromedp.WaitVisible(chromedp.CSS(".trustee-notice")))
	shot("09-policy-notice")

	// Audit: search, then verify the chain.
	run("audit",
		chromedp.Navigate(base+"/admin/acme/audit"),
		chromedp.WaitVisible(chromedp.CSS("#f-action")),
		chromedp.SendKeys(chromedp.CSS("#f-action"), "console.subject_view"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible(chromedp.CSS("#audit-results table")))
	if r := browsertest.Text(t, ctx, "#audit-results"); !strings.Contains(r, "case TICKET-42") {
		t.Errorf("audit search: %s", r)
	}
	run("verify",
		chromedp.Click(chromedp.CSS(`form[action$="/audit/verify"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	if v := browsertest.Text(t, ctx, "#verify-result"); !strings.Contains(v, "Intact") {
		t.Errorf("verify: %s", v)
	}
	shot("10-audit-verified")

	for _, pg := range []struct{ path, name string }{
		{"/admin/acme/staff", "11-staff"}, {"/admin/acme/apikeys", "12-apikeys"}, {"/admin/acme/account", "13-account"},
	} {
		run(pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		shot(pg.name)
	}
}

// TestBrowserPrivacyCenter reads the public notice and its history, on a
// desktop and a phone-sized window.
func TestBrowserPrivacyCenter(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t, engineDSNs()[0].dsn(t))
	src, _ := examples.File("learning-saas")
	good := strings.Replace(string(src), "categories: [user.contact.email, user.name, user.behavior.media_consumption]",
		"categories: [user.contact.email, user.name, user.behavior.media_consumption, user.contact.phone_number]", 1)
	if _, err := e.app.Tenants.Apply(context.Background(), e.acme.ID, "p.yaml", []byte(good), "test"); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, browsertest.Options{})
	base := e.srv.URL
	browsertest.Run(t, ctx, "notice", chromedp.Navigate(base+"/p/acme/"), chromedp.WaitVisible(chromedp.CSS(".trustee-notice")))
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || lang != "en" {
		t.Errorf("lang = %q, %v", lang, err)
	}
	if toc := browsertest.Text(t, ctx, ".notice-toc"); !strings.Contains(toc, "Contents") {
		t.Errorf("table of contents: %q", toc)
	}
	// Keyboard: the first Tab reaches the skip link, which is then visible.
	browsertest.Run(t, ctx, "tab", chromedp.KeyEvent("\t"))
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
	if focused != "skip-link" {
		t.Errorf("first tab stop: %q", focused)
	}
	browsertest.ScreenshotViewport(t, ctx, "center-01-notice")
	browsertest.Run(t, ctx, "history",
		chromedp.Click(chromedp.CSS(`.nav a[href$="/versions"]`)),
		chromedp.WaitVisible(chromedp.CSS(".history")))
	if h := browsertest.Text(t, ctx, ".history"); !strings.Contains(h, "Changed purpose: Newsletter") || !strings.Contains(h, "Version 1") {
		t.Errorf("history: %s", h)
	}
	browsertest.Screenshot(t, ctx, "center-02-versions")

	// A phone-sized viewport (the window of a headless browser cannot be
	// narrower than 500 px, so the viewport is emulated).
	phone := ctx
	browsertest.Run(t, phone, "phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/p/acme/"), chromedp.WaitVisible(chromedp.CSS(".trustee-notice")))
	// Nothing wider than the screen: no sideways scrolling on a phone.
	w, err := chromedp.Run(phone, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil || w > 390 {
		t.Errorf("page width on a phone: %d (%v)", w, err)
	}
	browsertest.ScreenshotViewport(t, phone, "center-03-notice-phone")
}
