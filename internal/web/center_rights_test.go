package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestCenterPagesRender opens every privacy center page as a person would,
// signed out: the request types follow the policy's jurisdictions, and
// the pages that need a sign-in say how to get one.
func TestCenterPagesRender(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		cases := []struct {
			path   string
			status int
			want   []string
			not    []string
		}{
			{"/p/acme/requests", 200, []string{"Exercise your privacy rights", "Get a copy of my data", "Delete my data",
				"Do not sell or share my personal information (California)", `href="/p/acme/requests?type=access"`,
				// rectification needs the application's token in this policy
				"sign in to your account with us"}, []string{`href="/p/acme/requests?type=rectification"`}},
			{"/p/beta/requests", 200, []string{"Get a copy of my data", `href="/p/beta/requests?type=rectification"`}, []string{"California"}},
			{"/p/acme/requests?type=access", 200, []string{`name="email"`, `name="csrf"`, `value="access"`, "we email you a code"}, nil},
			{"/p/acme/requests?type=objection", 200, []string{`name="objection_kind"`, "Direct marketing (we stop at once)"}, nil},
			{"/p/acme/requests?type=restriction", 200, []string{`name="ground"`}, nil},
			{"/p/beta/requests?type=rectification", 200, []string{`name="field"`, `name="value"`}, nil},
			{"/p/acme/requests?type=nonsense", 200, []string{"Choose what you would like us to do"}, []string{`name="email"`}},
			{"/p/acme/preferences", 200, []string{"cookie banner", "https://"}, []string{"<table"}},
			{"/p/acme/me", 401, []string{"Sign in from your account"}, nil},
			{"/p/nobody/requests", 404, []string{"Page not found"}, nil},
		}
		for _, tc := range cases {
			p := c.get(tc.path)
			wantStatus(t, p, tc.status, tc.path)
			wantContains(t, p, tc.path, tc.want...)
			for _, s := range tc.not {
				if strings.Contains(p.body, s) {
					t.Errorf("%s: shows %q", tc.path, s)
				}
			}
			if cc := p.header.Get("Cache-Control"); tc.status != 404 && cc != "no-store" {
				t.Errorf("%s: Cache-Control %q", tc.path, cc)
			}
			if !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("%s: no CSP", tc.path)
			}
		}
	})
}

var requestRefRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|name="(token|csrf)" value="[^"]*"|token=[A-Za-z0-9_%-]+`)

// TestCenterIntakeDoesNotRevealExistence files the same request for a
// known and an unknown address: the answers are the same page, apart from
// the request's own reference and tokens.
func TestCenterIntakeDoesNotRevealExistence(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		file := func(email string) page {
			return c.post("/p/acme/requests?type=access", "/p/acme/requests", url.Values{"type": {"access"}, "email": {email}})
		}
		known, unknown := file(synth.Nth(1).Email), file("nobody-here@example.com")
		wantStatus(t, known, 200, "known")
		wantStatus(t, unknown, 200, "unknown")
		wantContains(t, known, "known", "Confirm your request", "If we hold data about you")
		if a, b := requestRefRe.ReplaceAllString(known.body, "X"), requestRefRe.ReplaceAllString(unknown.body, "X"); a != b {
			t.Errorf("the answers differ:\n%s\n----\n%s", a, b)
		}
		// Both were taken in; only the known one names a subject.
		rs, err := e.app.Rights.List(t.Context(), e.acme.ID, rights.Filter{})
		if err != nil || len(rs) != 2 {
			t.Fatalf("requests: %d %v", len(rs), err)
		}
		for _, r := range rs {
			if r.Channel != rights.ChannelPrivacyCenter || r.Status != rights.StatusVerifying {
				t.Errorf("request %+v", r.Request)
			}
		}
		// Bad input is refused with the field named and nothing filed.
		p := c.post("/p/acme/requests?type=access", "/p/acme/requests", url.Values{"type": {"access"}, "email": {"not an address"}})
		wantStatus(t, p, 422, "bad email")
		wantContains(t, p, "bad email", `id="email-error"`, `aria-invalid="true"`)
		p = c.post("/p/acme/requests?type=access", "/p/acme/requests", url.Values{"type": {"objection"}, "email": {synth.Nth(1).Email}, "objection_kind": {"whatever"}})
		wantStatus(t, p, 422, "bad objection kind")
		wantContains(t, p, "bad objection kind", `id="objection_kind-error"`)
		if rs, _ := e.app.Rights.List(t.Context(), e.acme.ID, rights.Filter{}); len(rs) != 2 {
			t.Errorf("bad input filed a request: %d", len(rs))
		}
	})
}

var statusLinkRe = regexp.MustCompile(`href="(/p/acme/requests/[0-9a-f-]{36}\?token=[^"]+)"`)

// TestCenterCodeVerification files an access request in the center, reads
// the code from the in-process SMTP server, tries a wrong one, confirms
// with the right one and follows the request on its status page; a wrong
// status token shows nothing.
func TestCenterCodeVerification(t *testing.T) {
	forCenterEngines(t, func(t *testing.T, e *env, mail *outboxtest.SMTPServer) {
		c := e.client()
		person := synth.Nth(1)
		p := c.post("/p/acme/requests?type=access", "/p/acme/requests", url.Values{"type": {"access"}, "email": {person.Email}})
		wantStatus(t, p, 200, "file")
		status := strings.ReplaceAll(statusLinkRe.FindStringSubmatch(p.body)[1], "&amp;", "&")
		id := regexpFind(`/requests/([0-9a-f-]{36})/verify`, p.body)
		token := regexpFind(`name="token" value="([^"]+)"`, p.body)
		code := waitCode(t, mail, person.Email, 1)

		// Status before confirming: waiting, with the code form.
		s := c.get(status)
		wantStatus(t, s, 200, "status")
		wantContains(t, s, "status", "Get a copy of my data", "Waiting for confirmation", `name="code"`)

		wrong := "00000000"
		if code == wrong {
			wrong = "11111111"
		}
		p = c.post(status, "/p/acme/requests/"+id+"/verify", url.Values{"token": {token}, "code": {wrong}})
		wantStatus(t, p, 422, "wrong code")
		wantContains(t, p, "wrong code", "wrong or has expired")
		p = c.post(status, "/p/acme/requests/"+id+"/verify", url.Values{"token": {token}, "code": {code}})
		wantStatus(t, p, 303, "right code")
		if loc := p.header.Get("Location"); loc != status {
			t.Errorf("after verifying: %s, want %s", loc, status)
		}
		s = c.get(status)
		wantContains(t, s, "verified status", "Being handled", "We answer by", "We received your request.", "Your request is being handled.")
		if strings.Contains(s.body, person.Email) || strings.Contains(s.body, "subject") {
			t.Error("the status page shows internals")
		}
		r, err := e.app.Rights.Get(t.Context(), e.acme.ID, id)
		if err != nil || !r.Verified() || r.State.Verification.Method != rights.MethodEmailCode {
			t.Fatalf("request after code: %+v %v", r, err)
		}

		// A wrong token, another request's id, a malformed id: one answer.
		for _, bad := range []string{"/p/acme/requests/" + id + "?token=AAAAAAAAAAAAAAAAAAAAAA", "/p/acme/requests/" + id,
			"/p/acme/requests/00000000-0000-7000-8000-000000000000?token=" + url.QueryEscape(token), "/p/beta/requests/" + id + "?token=" + url.QueryEscape(token)} {
			p := c.get(bad)
			wantStatus(t, p, 404, bad)
			wantContains(t, p, bad, "Request not found")
		}
		// A code post with a wrong token changes nothing.
		p = c.post("/p/acme/requests?type=access", "/p/acme/requests/"+id+"/verify", url.Values{"token": {"AAAAAAAAAAAAAAAAAAAAAA"}, "code": {code}})
		wantStatus(t, p, 404, "verify with wrong token")

		// Staff approve; the status page then offers the downloads and
		// says where the PDF password comes from.
		if _, err := e.app.Rights.Approve(t.Context(), e.acme.ID, id, rights.Actor{ID: "test", Role: "dpo"}); err != nil {
			t.Fatal(err)
		}
		s = c.get(status)
		wantContains(t, s, "completed", "Done", "Download (JSON)", "Download (PDF)", "never in the same email")
		p = c.post(status, "/p/acme/requests/"+id+"/download", url.Values{"token": {token}, "format": {"json"}})
		wantStatus(t, p, 303, "download")
		loc := p.header.Get("Location")
		if !strings.HasPrefix(loc, "/v1/exports/download/") {
			t.Fatalf("download went to %q", loc)
		}
		dl := c.get(loc)
		wantStatus(t, dl, 200, "export download")
		if !strings.Contains(dl.body, person.Email) {
			t.Error("the export does not hold the person's data")
		}
		if again := c.get(loc); again.status == 200 {
			t.Error("a download link worked twice")
		}
		p = c.post(status, "/p/acme/requests/"+id+"/download", url.Values{"token": {token}, "format": {"exe"}})
		wantStatus(t, p, 422, "bad format")
	})
}

// TestCenterFormProtection: a post without the form token, with a token
// bound to another browser, or with another tenant's token is refused and
// files nothing; too many posts from one network are refused with 429.
func TestCenterFormProtection(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c, other := e.client(), e.client()
		form := url.Values{"type": {"access"}, "email": {synth.Nth(1).Email}}
		// No token at all.
		p := c.do("POST", "/p/acme/requests", form, nil)
		wantStatus(t, p, http.StatusForbidden, "no token")
		wantContains(t, p, "no token", "The form has expired")
		// A token from another browser's page: its cookie does not match.
		f := url.Values{"csrf": {other.csrf("/p/acme/requests?type=access")}}
		for k, v := range form {
			f[k] = v
		}
		c.get("/p/acme/requests?type=access") // c has its own cookie
		wantStatus(t, c.do("POST", "/p/acme/requests", f, nil), http.StatusForbidden, "other browser's token")
		// The same browser's token for another tenant.
		f.Set("csrf", c.csrf("/p/beta/requests?type=access"))
		wantStatus(t, c.do("POST", "/p/acme/requests", f, nil), http.StatusForbidden, "other tenant's token")
		// A cross-site post is refused before anything else.
		f.Set("csrf", c.csrf("/p/acme/requests?type=access"))
		wantStatus(t, c.do("POST", "/p/acme/requests", f, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}),
			http.StatusForbidden, "cross-site")
		if rs, _ := e.app.Rights.List(t.Context(), e.acme.ID, rights.Filter{}); len(rs) != 0 {
			t.Fatalf("refused posts filed %d requests", len(rs))
		}
		// The rate limit: bursts of 20, then 429.
		tok := c.csrf("/p/acme/requests?type=access")
		limited := 0
		for range 30 {
			p := c.do("POST", "/p/acme/requests", url.Values{"csrf": {tok}, "type": {"access"}, "email": {"nobody@example.com"}}, nil)
			if p.status == http.StatusTooManyRequests {
				limited++
				if p.header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			}
		}
		if limited == 0 {
			t.Error("30 posts in a row were never limited")
		}
	})
}
