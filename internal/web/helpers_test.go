package web_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// cheap argon2id parameters keep sign-ins fast in tests.
var cheap = staff.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// password is every test account's password.
const password = "correct horse battery staple"

// env is a running Trustee (API and web) with two tenants: acme (the
// learning-saas example, people in the vault, one staff account per role)
// and beta (door-entry, one admin).
type env struct {
	t        testing.TB
	app      *app.App
	srv      *httptest.Server
	acme     store.Tenant
	beta     store.Tenant
	staff    map[auth.Role]store.StaffAccount // acme's
	betaUser store.StaffAccount
	people   []string // acme subject ids
	betaSubj string
	apiKey   string // an acme admin API key
}

type engineDSN struct {
	name string
	dsn  func(t testing.TB) string
}

func engineDSNs() []engineDSN {
	return []engineDSN{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + storetest.SQLitePath(t) }},
		{"postgres", func(t testing.TB) string { return storetest.PostgresSchemaDSN(t) }},
	}
}

// forEngines runs fn against a fresh environment on each engine.
func forEngines(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, ec := range engineDSNs() {
		t.Run(ec.name, func(t *testing.T) { fn(t, newEnv(t, ec.dsn(t))) })
	}
}

func newEnv(t testing.TB, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	raw, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseRootKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(ctx, app.Options{DB: dsn, Root: root, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Web.Staff().Params = cheap
	srv := httptest.NewServer(a.API.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, app: a, srv: srv, staff: map[auth.Role]store.StaffAccount{}}

	e.acme, _, err = a.EnsureTenant(ctx, "acme", "Acme Learning")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := examples.File("learning-saas")
	if _, err := a.Tenants.Apply(ctx, e.acme.ID, "learning-saas.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	e.beta, _, err = a.EnsureTenant(ctx, "beta", "Beta Doors")
	if err != nil {
		t.Fatal(err)
	}
	src, _ = examples.File("door-entry")
	if _, err := a.Tenants.Apply(ctx, e.beta.ID, "door-entry.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles {
		e.staff[r] = e.newStaff(e.acme.ID, string(r), r)
	}
	e.betaUser = e.newStaff(e.beta.ID, "admin", auth.RoleAdmin)

	by := vault.Actor{ID: "test", Role: "service"}
	for n := 1; n <= 2; n++ {
		c, err := a.Vault.Create(ctx, e.acme.ID, vault.CreateInput{Fields: synth.Nth(n).LearningSaaSFields()}, by)
		if err != nil {
			t.Fatal(err)
		}
		e.people = append(e.people, c.ID)
	}
	e.apiKey, _, err = a.APIKeys.Create(ctx, e.acme.ID, auth.RoleAdmin, "test", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newStaff creates an account whose password is already the person's own.
func (e *env) newStaff(tenantID, login string, role auth.Role) store.StaffAccount {
	e.t.Helper()
	ctx := context.Background()
	svc := e.app.Web.Staff()
	a, initial, err := svc.Create(ctx, staff.CreateInput{TenantID: tenantID, Login: login, Role: role}, staff.Actor{ID: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, tenantID, a.ID, initial, password, staff.Actor{ID: "test"}); err != nil {
		e.t.Fatal(err)
	}
	a.MustChangePassword = false
	return a
}

// client is a browser-like HTTP client: a cookie jar, no automatic
// redirects (tests look at them), same-origin headers like a browser's.
type client struct {
	t    testing.TB
	e    *env
	http *http.Client
	jar  *cookiejar.Jar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// What a browser sends for a same-origin form post.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.e.srv.URL)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) page { c.t.Helper(); return c.do("GET", path, nil, nil) }

// post submits a form with the CSRF token of the page at from.
func (c *client) post(from, path string, form url.Values) page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf(from))
	}
	return c.do("POST", path, form, nil)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) csrf(from string) string {
	c.t.Helper()
	p := c.get(from)
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s (%d)", from, p.status)
	}
	return m[1]
}

// signIn signs in with the password and returns the response.
func (c *client) signIn(slug, login, pw string) page {
	c.t.Helper()
	return c.do("POST", "/admin/"+slug+"/sign-in", url.Values{"login": {login}, "password": {pw}}, nil)
}

// mustSignIn signs in and checks it worked.
func (c *client) mustSignIn(slug, login string) {
	c.t.Helper()
	p := c.signIn(slug, login, password)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/"+slug+"/" {
		c.t.Fatalf("sign-in %s/%s: %d %s %s", slug, login, p.status, p.header.Get("Location"), p.body)
	}
}

func (c *client) cookie() *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "trustee-staff" {
			return ck
		}
	}
	return nil
}

func wantStatus(t testing.TB, p page, status int, what string) {
	t.Helper()
	if p.status != status {
		body := p.body
		if len(body) > 2000 {
			body = body[:2000]
		}
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, status, body)
	}
}

func wantContains(t testing.TB, p page, what string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: page lacks %q", what, s)
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

var vaultActor = vault.Actor{ID: "test", Role: "service"}

// doorEntryPerson is a resident for the door-entry example policy.
func doorEntryPerson(t testing.TB, e *env) vault.CreateInput {
	t.Helper()
	p := synth.Nth(7)
	return vault.CreateInput{Fields: map[string]json.RawMessage{
		"name":    json.RawMessage(`"` + p.First + ` ` + p.Last + `"`),
		"email":   json.RawMessage(`"` + p.Email + `"`),
		"user_id": json.RawMessage(`"` + p.UserID + `"`),
	}}
}

func regexpFind(pattern, s string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if len(m) < 2 {
		return ""
	}
	return m[1]
}

// totpAt computes the code of a base32 secret at a time, as an app would.
func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return staff.TOTPCode(raw, at)
}

func totpNow(t testing.TB, secret string, _ *env) string { return totpAt(t, secret, time.Now()) }
