package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/synth"
)

func TestSignInAndPages(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		// Signed out, a console page sends the browser to sign in.
		p := c.get("/admin/acme/policy")
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/acme/sign-in?next=%2Fadmin%2Facme%2Fpolicy" {
			t.Fatalf("signed out: %d %s", p.status, p.header.Get("Location"))
		}
		wantStatus(t, c.get("/admin/acme/sign-in"), 200, "sign-in form")
		c.mustSignIn("acme", "admin")
		ck := c.cookie()
		if ck == nil || len(ck.Value) != 43 {
			t.Fatalf("session cookie: %+v", ck)
		}
		for _, pg := range []struct{ path, want string }{
			{"/admin/acme/", "Version 1"},
			{"/admin/acme/subjects", "Case reference"},
			{"/admin/acme/policy", "Upload a new version"},
			{"/admin/acme/policy/versions/1", "version: 1"},
			{"/admin/acme/policy/notice", "trustee-notice"},
			{"/admin/acme/audit", "Verify the chain"},
			{"/admin/acme/staff", "Add a staff member"},
			{"/admin/acme/apikeys", "Create a key"},
			{"/admin/acme/account", "Two-factor sign-in"},
		} {
			p := c.get(pg.path)
			wantStatus(t, p, 200, pg.path)
			wantContains(t, p, pg.path, pg.want, `lang="en"`)
			if p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", pg.path, p.header.Get("Cache-Control"))
			}
		}
		p = c.get("/admin/acme/policy/ropa.csv")
		if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("ROPA CSV: %d %v", p.status, p.header)
		}
		p = c.get("/admin/acme/policy/ropa.json")
		if p.status != 200 || !strings.HasPrefix(p.body, "{") && !strings.HasPrefix(p.body, "[") {
			t.Errorf("ROPA JSON: %d %.100s", p.status, p.body)
		}
		// /admin/ goes to the signed-in tenant.
		if p := c.get("/admin/"); p.header.Get("Location") != "/admin/acme/" {
			t.Errorf("/admin/ → %q", p.header.Get("Location"))
		}
		// Sign out revokes the session on the server: the old cookie no
		// longer works even if replayed.
		old := ck.Value
		p = c.post("/admin/acme/", "/admin/acme/sign-out", nil)
		wantStatus(t, p, http.StatusSeeOther, "sign out")
		c2 := e.client()
		c2.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "trustee-staff", Value: old, Path: "/"}})
		if p := c2.get("/admin/acme/"); p.status != http.StatusSeeOther {
			t.Errorf("replayed cookie after sign-out: %d", p.status)
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, engineDSNs()[0].dsn(t))
	c := e.client()
	for _, path := range []string{"/admin/acme/sign-in", "/p/acme/", "/admin/nowhere/x"} {
		p := c.get(path)
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe: %q", path, csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") != "no-referrer" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, p.header)
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") {
			t.Errorf("%s: inline script or style in the page", path)
		}
	}
	if p := c.get("/admin/acme/sign-in"); p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("console Cache-Control %q", p.header.Get("Cache-Control"))
	}
	// Static files: immutable with the build's version, else revalidated.
	p := c.get("/admin/acme/sign-in")
	m := regexpFind(`href="(/static/app\.css\?v=[0-9a-f]+)"`, p.body)
	if m == "" {
		t.Fatal("no versioned stylesheet link")
	}
	if s := c.get(m); s.status != 200 || !strings.Contains(s.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %v", s.status, s.header)
	}
	if s := c.get("/static/htmx.min.js"); s.status != 200 || s.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("htmx: %d %v", s.status, s.header)
	}
	for _, bad := range []string{"/static/README.md", "/static/../web.go", "/static/nope.css"} {
		if s := c.get(bad); s.status == 200 {
			t.Errorf("%s: %d", bad, s.status)
		}
	}
	// Unknown web paths are web 404 pages, not API problems; reserved
	// routes are not built yet.
	for _, path := range []string{"/p/acme/nothing-here", "/admin/acme/nothing-here"} {
		c.mustSignIn("acme", "admin")
		s := c.get(path)
		if s.status != 404 || !strings.HasPrefix(s.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", path, s.status, s.header.Get("Content-Type"))
		}
	}
	// The API's own 404 is untouched.
	if s := c.get("/v1/nothing"); s.status != 404 || !strings.Contains(s.header.Get("Content-Type"), "problem+json") {
		t.Errorf("API 404: %d %s", s.status, s.header.Get("Content-Type"))
	}
}

func TestCSRF(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "admin")
		form := func() url.Values { return url.Values{"role": {"service"}, "name": {"x"}, "ttl": {"0"}} }
		// No token, a wrong token, a token of another session: refused.
		other := e.client()
		other.mustSignIn("acme", "dpo")
		for name, tok := range map[string]string{"missing": "", "wrong": "abc", "other session": other.csrf("/admin/acme/")} {
			f := form()
			f.Set("csrf", tok)
			p := c.do("POST", "/admin/acme/apikeys", f, nil)
			wantStatus(t, p, http.StatusForbidden, "CSRF "+name)
			wantContains(t, p, name, "did not come from this console")
		}
		// The right token from a cross-site page: refused by
		// CrossOriginProtection before any handler runs.
		f := form()
		f.Set("csrf", c.csrf("/admin/acme/apikeys"))
		p := c.do("POST", "/admin/acme/apikeys", f, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
		wantStatus(t, p, http.StatusForbidden, "cross-site post")
		wantContains(t, p, "cross-site", "another site")
		p = c.do("POST", "/admin/acme/sign-in", url.Values{"login": {"admin"}, "password": {password}},
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
		wantStatus(t, p, http.StatusForbidden, "cross-site sign-in (login CSRF)")
		// Nothing was created by any of them.
		ks, _ := e.app.APIKeys.List(context.Background(), e.acme.ID)
		if len(ks) != 1 {
			t.Errorf("%d keys after refused posts", len(ks))
		}
		// With both protections satisfied it works.
		f.Set("csrf", c.csrf("/admin/acme/apikeys"))
		p = c.do("POST", "/admin/acme/apikeys", f, nil)
		wantStatus(t, p, 200, "same-origin post")
		wantContains(t, p, "key created", "trustee_")
	})
}

func TestSessionFixation(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		// An attacker plants a cookie value, then the victim signs in.
		victim := e.client()
		planted := "attacker-chosen-value-aaaaaaaaaaaaaaaaaaaaaaaa"
		victim.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "trustee-staff", Value: planted, Path: "/"}})
		victim.mustSignIn("acme", "dpo")
		if ck := victim.cookie(); ck == nil || ck.Value == planted {
			t.Fatal("the planted session id was adopted")
		}
		attacker := e.client()
		attacker.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "trustee-staff", Value: planted, Path: "/"}})
		if p := attacker.get("/admin/acme/"); p.status != http.StatusSeeOther {
			t.Fatalf("planted id opens the console: %d", p.status)
		}

		// A real session of the attacker's, planted in the victim's
		// browser, is revoked when the victim signs in: it is never
		// upgraded to the victim's account.
		attacker.mustSignIn("acme", "agent")
		attackerTok := attacker.cookie().Value
		victim2 := e.client()
		victim2.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "trustee-staff", Value: attackerTok, Path: "/"}})
		victim2.mustSignIn("acme", "dpo")
		if victim2.cookie().Value == attackerTok {
			t.Fatal("sign-in kept the presented session id")
		}
		if p := attacker.get("/admin/acme/"); p.status != http.StatusSeeOther {
			t.Errorf("the planted session survived the victim's sign-in: %d", p.status)
		}
		// And the victim's page shows the victim.
		p := victim2.get("/admin/acme/account")
		wantContains(t, p, "account", "Signed in as <strong>dpo</strong>")
	})
}

func TestTOTPSignInOverHTTP(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "admin")
		p := c.post("/admin/acme/account", "/admin/acme/account/totp", nil)
		wantStatus(t, p, 200, "begin enrolment")
		secret := regexpFind(`id="totp-secret">([A-Z2-7]+)<`, p.body)
		if secret == "" || !strings.Contains(p.body, "otpauth://totp/") {
			t.Fatalf("no secret shown: %s", p.body)
		}
		code := totpNow(t, secret, e)
		p = c.post("/admin/acme/account", "/admin/acme/account/totp/confirm", url.Values{"code": {code}})
		wantStatus(t, p, http.StatusSeeOther, "confirm")

		c2 := e.client()
		p = c2.signIn("acme", "admin", password)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/acme/sign-in/code" {
			t.Fatalf("password step: %d %s", p.status, p.header.Get("Location"))
		}
		pending := c2.cookie().Value
		// The pending session opens nothing yet.
		if p := c2.get("/admin/acme/"); p.status != http.StatusSeeOther {
			t.Fatalf("pending session opened the dashboard: %d", p.status)
		}
		wantStatus(t, c2.get("/admin/acme/sign-in/code"), 200, "code form")
		p = c2.do("POST", "/admin/acme/sign-in/code", url.Values{"code": {"000000"}}, nil)
		if p.status != http.StatusUnauthorized && code != "000000" {
			t.Fatalf("wrong code: %d", p.status)
		}
		// The code used for enrolment was consumed; wait for the next
		// step's code by moving the service clock instead of sleeping.
		e.app.Web.Staff().Now = func() time.Time { return time.Now().Add(30 * time.Second) }
		defer func() { e.app.Web.Staff().Now = nil }()
		p = c2.do("POST", "/admin/acme/sign-in/code", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}}, nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/acme/" {
			t.Fatalf("code step: %d %s %s", p.status, p.header.Get("Location"), p.body)
		}
		if c2.cookie().Value == pending {
			t.Error("the session id was not rotated after the code")
		}
		wantStatus(t, c2.get("/admin/acme/"), 200, "dashboard after TOTP")
	})
}

func TestTenantIsolation(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := e.client()
		c.mustSignIn("acme", "admin")
		// Another tenant's pages ask for that tenant's sign-in.
		for _, path := range []string{"/admin/beta/", "/admin/beta/policy", "/admin/beta/staff", "/admin/beta/audit"} {
			p := c.get(path)
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/beta/sign-in") {
				t.Errorf("%s: %d %s", path, p.status, p.header.Get("Location"))
			}
		}
		// Posting to another tenant's URL with this session's token fails too.
		tok := c.csrf("/admin/acme/")
		p := c.do("POST", "/admin/beta/staff/"+e.betaUser.ID+"/disable", url.Values{"csrf": {tok}}, nil)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/beta/sign-in") {
			t.Errorf("post to beta: %d %s", p.status, p.header.Get("Location"))
		}
		// Another tenant's objects through this tenant's URLs: not found.
		p = c.post("/admin/acme/staff", "/admin/acme/staff/"+e.betaUser.ID+"/disable", nil)
		wantStatus(t, p, http.StatusNotFound, "disable beta's staff via acme")
		betaKey, _, err := e.app.APIKeys.Create(ctx, e.beta.ID, auth.RoleAdmin, "beta", "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		p = c.post("/admin/acme/apikeys", "/admin/acme/apikeys/"+auth.KeyID(betaKey)+"/revoke", nil)
		wantStatus(t, p, http.StatusNotFound, "revoke beta's key via acme")
		acc, err := e.app.Web.Staff().Get(ctx, e.beta.ID, e.betaUser.ID)
		if err != nil || !acc.DisabledAt.IsZero() {
			t.Errorf("beta's staff member was touched: %+v %v", acc, err)
		}
		// Another tenant's subject id: not found, like any unknown id.
		betaSubject := e.betaSubject(t)
		p = c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{"kind": {"id"}, "value": {betaSubject}, "purpose": {"account"}, "case": {"T-1"}})
		wantStatus(t, p, http.StatusNotFound, "beta's subject via acme")
		// Beta's admin cannot sign in to acme with beta's password.
		p = e.client().signIn("acme", "admin", "beta password wrong")
		wantStatus(t, p, http.StatusUnauthorized, "wrong tenant password")
	})
}

// betaSubject stores a person in beta and returns the id.
func (e *env) betaSubject(t *testing.T) string {
	t.Helper()
	if e.betaSubj != "" {
		return e.betaSubj
	}
	v, err := e.app.Vault.Create(context.Background(), e.beta.ID, doorEntryPerson(t, e), vaultActor)
	if err != nil {
		t.Fatal(err)
	}
	e.betaSubj = v.ID
	return v.ID
}

func TestRoleChecks(t *testing.T) {
	e := newEnv(t, engineDSNs()[0].dsn(t))
	pages := []struct {
		method, path string
		perm         auth.Permission
		form         url.Values
	}{
		{"GET", "/admin/acme/subjects", auth.PermSubjectsRead, nil},
		{"POST", "/admin/acme/subjects", auth.PermSubjectsRead, url.Values{"kind": {"email"}, "value": {synth.Nth(1).Email}, "purpose": {"account"}, "case": {"T-1"}}},
		{"GET", "/admin/acme/policy", auth.PermPolicyRead, nil},
		{"GET", "/admin/acme/policy/ropa.csv", auth.PermPolicyRead, nil},
		{"POST", "/admin/acme/policy/check", auth.PermPolicyWrite, url.Values{"source": {"version: 1\n"}}},
		{"GET", "/admin/acme/audit", auth.PermAuditRead, nil},
		{"POST", "/admin/acme/audit/verify", auth.PermAuditRead, url.Values{}},
		{"GET", "/admin/acme/staff", auth.PermStaffManage, nil},
		{"POST", "/admin/acme/staff", auth.PermStaffManage, url.Values{"login": {"newbie"}, "role": {"agent"}}},
		{"GET", "/admin/acme/apikeys", auth.PermKeysManage, nil},
		{"POST", "/admin/acme/apikeys", auth.PermKeysManage, url.Values{"role": {"service"}, "ttl": {"0"}}},
	}
	for _, role := range auth.Roles {
		t.Run(string(role), func(t *testing.T) {
			c := e.client()
			c.mustSignIn("acme", string(role))
			tok := c.csrf("/admin/acme/account")
			nav := c.get("/admin/acme/")
			for _, pg := range pages {
				var p page
				if pg.method == "GET" {
					p = c.get(pg.path)
				} else {
					f := url.Values{"csrf": {tok}}
					for k, v := range pg.form {
						f[k] = v
					}
					p = c.do("POST", pg.path, f, nil)
				}
				allowed := auth.Allowed(role, pg.perm)
				switch {
				case allowed && p.status == http.StatusForbidden:
					t.Errorf("%s %s: refused, but %s has %s", pg.method, pg.path, role, pg.perm)
				case !allowed && p.status != http.StatusForbidden:
					t.Errorf("%s %s: %d, but %s lacks %s", pg.method, pg.path, p.status, role, pg.perm)
				}
				// The navigation shows exactly the pages the role may open.
				if pg.method == "GET" && !strings.Contains(pg.path, ".") {
					if strings.Contains(nav.body, `href="`+pg.path+`"`) != allowed {
						t.Errorf("nav link %s shown=%v for %s", pg.path, !allowed, role)
					}
				}
			}
		})
	}
}

func TestAPIAndConsoleCredentialsAreSeparate(t *testing.T) {
	e := newEnv(t, engineDSNs()[0].dsn(t))
	c := e.client()
	c.mustSignIn("acme", "admin")
	// A console session does not authenticate the API.
	if p := c.get("/v1/policy"); p.status != http.StatusUnauthorized {
		t.Errorf("API with a session cookie: %d", p.status)
	}
	// An API key does not open the console.
	c2 := e.client()
	p := c2.do("GET", "/admin/acme/", nil, map[string]string{"Authorization": "Bearer " + e.apiKey})
	if p.status != http.StatusSeeOther {
		t.Errorf("console with an API key: %d", p.status)
	}
	// Nor is an API key a password.
	p = c2.signIn("acme", "admin", e.apiKey)
	wantStatus(t, p, http.StatusUnauthorized, "API key as password")
}

func TestThrottledSignIn(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		for i := range 5 {
			p := c.signIn("acme", "dpo", "not the password")
			wantStatus(t, p, http.StatusUnauthorized, "failure")
			if i == 0 {
				wantContains(t, p, "first failure", "Wrong login or password.")
			}
		}
		// Unknown logins fail with the same words.
		p := c.signIn("acme", "nobody-here", "not the password")
		wantStatus(t, p, http.StatusUnauthorized, "unknown login")
		wantContains(t, p, "unknown login", "Wrong login or password.")
		p = c.signIn("no-such-org", "admin", "not the password")
		wantStatus(t, p, http.StatusUnauthorized, "unknown organisation")
		// The sixth try for dpo is locked, even with the right password.
		p = c.signIn("acme", "dpo", password)
		wantStatus(t, p, http.StatusTooManyRequests, "locked")
		wantContains(t, p, "locked", "too many failed sign-ins")
		// The lockout is in the audit log, without the password.
		page, err := audit.List(context.Background(), e.app.Store, e.acme.ID, audit.Filter{Action: "staff.signin_locked"})
		if err != nil || len(page.Events) == 0 {
			t.Fatalf("lockout not audited: %v", err)
		}
		all, _ := audit.List(context.Background(), e.app.Store, e.acme.ID, audit.Filter{Limit: 1000})
		for _, ev := range all.Events {
			if strings.Contains(ev.Reason, "not the password") || strings.Contains(ev.Reason, "nobody-here") {
				t.Errorf("audit event carries what was typed: %+v", ev)
			}
		}
		// Another account is not locked by dpo's failures.
		c.mustSignIn("acme", "agent")
	})
}

func TestMustChangePassword(t *testing.T) {
	e := newEnv(t, engineDSNs()[0].dsn(t))
	admin := e.client()
	admin.mustSignIn("acme", "admin")
	p := admin.post("/admin/acme/staff", "/admin/acme/staff", url.Values{"login": {"Newbie"}, "role": {"agent"}})
	wantStatus(t, p, 200, "create staff")
	initial := regexpFind(`id="initial-password">([a-z0-9-]+)<`, p.body)
	if initial == "" {
		t.Fatalf("no initial password shown")
	}
	c := e.client()
	p = c.signIn("acme", "newbie", initial)
	wantStatus(t, p, http.StatusSeeOther, "first sign-in")
	// Every page leads to the password change first.
	if p := c.get("/admin/acme/subjects"); p.header.Get("Location") != "/admin/acme/account" {
		t.Fatalf("must-change not enforced: %d %s", p.status, p.header.Get("Location"))
	}
	p = c.post("/admin/acme/account", "/admin/acme/account/password", url.Values{"current": {initial}, "new": {"my own long passphrase"}, "again": {"my own long passphrase"}})
	wantStatus(t, p, http.StatusSeeOther, "change password")
	wantStatus(t, c.get("/admin/acme/subjects"), 200, "after change")
	// The admin disables the account: its session ends at once.
	list, _ := e.app.Web.Staff().List(context.Background(), e.acme.ID)
	var id string
	for _, a := range list {
		if a.Login == "newbie" {
			id = a.ID
		}
	}
	p = admin.post("/admin/acme/staff", "/admin/acme/staff/"+id+"/disable", nil)
	wantStatus(t, p, http.StatusSeeOther, "disable")
	if p := c.get("/admin/acme/subjects"); p.status != http.StatusSeeOther {
		t.Errorf("disabled account still in: %d", p.status)
	}
	// An admin cannot disable themselves.
	p = admin.post("/admin/acme/staff", "/admin/acme/staff/"+e.staff[auth.RoleAdmin].ID+"/disable", nil)
	wantStatus(t, p, http.StatusConflict, "self-disable")
}
