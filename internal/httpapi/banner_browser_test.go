package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/trustee-privacy/trustee/internal/browsertest"
	"github.com/trustee-privacy/trustee/internal/store"
)

// testPage is a website that embeds the banner from the Trustee server
// (another origin), with an analytics script and an advertising iframe
// held back until their category is allowed.
const testPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Brightfjord</title>
<script src="%[1]s/consent.js" data-site="brightfjord-www"></script>
<script type="text/plain" data-category="analytics">
  window.analyticsRan = (window.analyticsRan || 0) + 1;
  document.cookie = "_ga=GA1.1.42; path=/";
  document.cookie = "_ga_XYZ=GS1.1.42; path=/";
</script>
</head><body>
<h1>Interactive training, made simple</h1>
<p>Build courses your learners finish. <a href="#" id="prefs" data-trustee-open>Cookie settings</a></p>
<iframe id="ad" title="ad" data-category="advertising" data-src="about:blank#ad" width="200" height="50"></iframe>
</body></html>`

// TestBannerInBrowser runs the banner in a real headless Chromium: first
// visit, reject all, accept analytics, withdraw it, preferences with the
// receipt, keyboard use, and Global Privacy Control by header and by
// navigator.globalPrivacyControl, checking the ledger after each step.
func TestBannerInBrowser(t *testing.T) {
	e := sqliteEnv(t)
	pageSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, testPage, e.srv.URL)
	}))
	t.Cleanup(pageSrv.Close)
	src := strings.Replace(string(example(t, "learning-saas.yaml")),
		"origins: [https://www.example.com, https://app.example.com]", "origins: ["+pageSrv.URL+"]", 1)
	if _, err := e.tenants.Apply(context.Background(), e.tenantA.ID, "learning-saas.yaml", []byte(src), "test"); err != nil {
		t.Fatal(err)
	}
	ledger := func(bid string) []store.ConsentEvent {
		t.Helper()
		var hist []store.ConsentEvent
		err := e.st.Read(context.Background(), func(tx store.Tx) error {
			var err error
			hist, err = tx.BrowserConsentHistory(e.tenantA.ID, bid)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return hist
	}
	latest := func(bid, purpose string) store.ConsentEvent {
		for _, ev := range ledger(bid) { // newest first
			if ev.Purpose == purpose {
				return ev
			}
		}
		return store.ConsentEvent{}
	}
	eval := func(ctx context.Context, js string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string]("String("+js+")"))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	poll := func(ctx context.Context, what, js string) {
		t.Helper()
		browsertest.Run(t, ctx, what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
			return err
		}))
	}
	dialog := "#trustee-consent .tc-dialog"

	b := browsertest.New(t, browsertest.Options{})
	// First visit: the banner shows, nothing optional has run, Consent
	// Mode defaults were set (denied) before any tag.
	browsertest.Run(t, b, "first visit", chromedp.Navigate(pageSrv.URL), chromedp.WaitVisible(chromedp.CSS(dialog)))
	shot := browsertest.ScreenshotViewport(t, b, "consent-banner-first-visit")
	t.Logf("banner screenshot: %s", shot)
	if got := eval(b, "window.analyticsRan"); got != "undefined" {
		t.Fatalf("the analytics script ran before consent: %s", got)
	}
	if got := eval(b, `JSON.stringify(Array.from(dataLayer[0]))`); !strings.Contains(got, `"consent","default"`) || !strings.Contains(got, `"analytics_storage":"denied"`) ||
		!strings.Contains(got, `"security_storage":"granted"`) || !strings.Contains(got, `"ad_user_data":"denied"`) {
		t.Errorf("Consent Mode default: %s", got)
	}
	if got := eval(b, `document.querySelector("#trustee-consent [role=dialog]").getAttribute("aria-modal") + "," + document.activeElement.closest("#trustee-consent")`); !strings.HasPrefix(got, "true,") || strings.HasSuffix(got, "null") {
		t.Errorf("dialog not modal or focus not inside: %s", got)
	}

	// Keyboard: Tab and Shift+Tab never leave the dialog.
	for i := range 12 {
		var opts []chromedp.KeyOption
		if i >= 8 {
			opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
		}
		browsertest.Run(t, b, "tab", chromedp.KeyEvent("\t", opts...))
		if got := eval(b, `!!document.activeElement.closest("#trustee-consent")`); got != "true" {
			t.Fatalf("focus left the dialog after %d tabs", i+1)
		}
	}

	// Reject all: a withdrawal for every purpose of the banner, and the
	// marked script still has not run.
	browsertest.Run(t, b, "reject all", chromedp.Click(chromedp.CSS(dialog+" [data-act=reject]")), chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	poll(b, "receipt after reject", `window.trusteeConsent.state() && window.trusteeConsent.state().receipt`)
	bid := eval(b, `JSON.parse(localStorage.getItem("trusteeConsent:brightfjord-www")).bid`)
	for _, p := range []string{"functional_cookies", "analytics_cookies", "advertising"} {
		if ev := latest(bid, p); ev.Kind != store.ConsentWithdrawn || ev.Method != store.MethodBanner || ev.SubjectID != "" {
			t.Errorf("after reject all, %s: %+v", p, ev)
		}
	}
	if got := eval(b, "window.analyticsRan"); got != "undefined" {
		t.Fatalf("the analytics script ran after reject all")
	}
	if got := eval(b, `document.getElementById("ad").getAttribute("src")`); got != "null" {
		t.Errorf("the advertising iframe loaded after reject all: %s", got)
	}
	receipt := eval(b, "window.trusteeConsent.state().receipt")

	// Preferences: reopened by the link, showing the receipt and its date.
	browsertest.Run(t, b, "open preferences", chromedp.Click(chromedp.CSS("#prefs")), chromedp.WaitVisible(chromedp.CSS(dialog)))
	if got := browsertest.Text(t, b, dialog+" .tc-receipt"); !strings.Contains(got, receipt) || !strings.Contains(got, "Receipt") {
		t.Errorf("preferences do not show the receipt %s: %q", receipt, got)
	}
	t.Logf("preferences screenshot: %s", browsertest.ScreenshotViewport(t, b, "consent-preferences-receipt"))
	// Escape closes it without recording anything.
	n := len(ledger(bid))
	browsertest.Run(t, b, "escape", chromedp.KeyEvent("\x1b"), chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	if len(ledger(bid)) != n {
		t.Error("Escape recorded a choice")
	}

	// Accept analytics only: the script runs once, its category is given.
	browsertest.Run(t, b, "choose analytics",
		chromedp.Evaluate[chromedp.Void]("window.trusteeConsent.open()"), chromedp.WaitVisible(chromedp.CSS(dialog)),
		chromedp.Click(chromedp.CSS("#tc-analytics")), chromedp.Click(chromedp.CSS(dialog+" [data-act=save]")),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	poll(b, "analytics script", `window.analyticsRan === 1`)
	poll(b, "new receipt", `window.trusteeConsent.state().receipt !== "`+receipt+`"`)
	if ev := latest(bid, "analytics_cookies"); ev.Kind != store.ConsentGiven || ev.ExpiresAt.IsZero() {
		t.Errorf("after accepting analytics: %+v", ev)
	}
	if ev := latest(bid, "advertising"); ev.Kind != store.ConsentWithdrawn {
		t.Errorf("advertising changed: %+v", ev)
	}
	if got := eval(b, `JSON.stringify(Array.from(dataLayer[dataLayer.length-1]))`); !strings.Contains(got, `"update"`) || !strings.Contains(got, `"analytics_storage":"granted"`) || !strings.Contains(got, `"ad_storage":"denied"`) {
		t.Errorf("Consent Mode update: %s", got)
	}
	if got := eval(b, "document.cookie"); !strings.Contains(got, "_ga=") || !strings.Contains(got, "bf_consent=v1.") {
		t.Errorf("cookies after accepting analytics: %s", got)
	}

	// Withdraw analytics: its cookies (with prefix patterns) are deleted.
	browsertest.Run(t, b, "withdraw analytics",
		chromedp.Click(chromedp.CSS("#prefs")), chromedp.WaitVisible(chromedp.CSS(dialog)),
		chromedp.Click(chromedp.CSS("#tc-analytics")), chromedp.Click(chromedp.CSS(dialog+" [data-act=save]")),
		chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	poll(b, "analytics withdrawn", `!document.cookie.includes("_ga")`)
	poll(b, "withdrawal recorded", `window.trusteeConsent.state().choices.analytics === false`)
	time.Sleep(200 * time.Millisecond)
	if ev := latest(bid, "analytics_cookies"); ev.Kind != store.ConsentWithdrawn {
		t.Errorf("after withdrawing analytics: %+v", ev)
	}

	// Global Privacy Control as a request header (as Brave and GPC
	// extensions send it): a new visitor's browser records the opt-out
	// without a click, and advertising cannot be switched on.
	g := browsertest.New(t, browsertest.Options{})
	browsertest.Run(t, g, "gpc header", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Sec-GPC": "1"}})
		return err
	}), chromedp.Navigate(pageSrv.URL), chromedp.WaitVisible(chromedp.CSS(dialog)))
	poll(g, "gpc opt-out recorded", `window.trusteeConsent.state() && window.trusteeConsent.state().receipt`)
	gbid := eval(g, `JSON.parse(localStorage.getItem("trusteeConsent:brightfjord-www")).bid`)
	if ev := latest(gbid, store.PurposeSaleShare); ev.Kind != store.ConsentWithdrawn || ev.Method != store.MethodGPC {
		t.Errorf("GPC header: CCPA opt-out %+v", ev)
	}
	if ev := latest(gbid, "advertising"); ev.Kind != store.ConsentWithdrawn || ev.Method != store.MethodGPC {
		t.Errorf("GPC header: advertising %+v", ev)
	}
	browsertest.Run(t, g, "choose", chromedp.Click(chromedp.CSS(dialog+" [data-act=choose]")), chromedp.WaitVisible(chromedp.CSS("#tc-advertising")))
	if got := eval(g, `document.getElementById("tc-advertising").disabled + "," + document.getElementById("tc-advertising").checked + "," + !!document.querySelector(".tc-gpc")`); got != "true,false,true" {
		t.Errorf("advertising under GPC (disabled, checked, note): %s", got)
	}
	t.Logf("GPC screenshot: %s", browsertest.ScreenshotViewport(t, g, "consent-banner-gpc"))
	browsertest.Run(t, g, "accept all under gpc", chromedp.Click(chromedp.CSS(dialog+" [data-act=accept]")), chromedp.WaitNotPresent(chromedp.CSS(dialog)))
	poll(g, "analytics under gpc", `window.analyticsRan === 1`)
	time.Sleep(200 * time.Millisecond)
	if ev := latest(gbid, "advertising"); ev.Kind != store.ConsentWithdrawn {
		t.Errorf("accept all under GPC gave advertising: %+v", ev)
	}
	if got := eval(g, `document.getElementById("ad").getAttribute("src")`); got != "null" {
		t.Errorf("the advertising iframe loaded under GPC: %s", got)
	}

	// navigator.globalPrivacyControl alone (no header) is honoured too.
	p := browsertest.New(t, browsertest.Options{})
	browsertest.Run(t, p, "gpc property", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {get: () => true})`})
		return err
	}), chromedp.Navigate(pageSrv.URL), chromedp.WaitVisible(chromedp.CSS(dialog)))
	poll(p, "gpc property opt-out", `window.trusteeConsent.state() && window.trusteeConsent.state().receipt`)
	pbid := eval(p, `JSON.parse(localStorage.getItem("trusteeConsent:brightfjord-www")).bid`)
	if ev := latest(pbid, store.PurposeSaleShare); ev.Kind != store.ConsentWithdrawn || ev.Method != store.MethodGPC {
		t.Errorf("navigator.globalPrivacyControl: CCPA opt-out %+v", ev)
	}
	if got := eval(p, `JSON.stringify(Array.from(dataLayer[0]))`); !strings.Contains(got, `"ad_storage":"denied"`) {
		t.Errorf("Consent Mode default under GPC: %s", got)
	}
}
