package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/httpapi"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// env is one running API over a real store with two tenants and a key of
// every role for the first.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	st      store.Store
	tenants *tenant.Service
	keys    map[auth.Role]string
	other   string // admin key of the second tenant
	logs    *syncBuffer
	tenantA store.Tenant
	tenantB store.Tenant
	app     *app.App
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func example(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := examples.File(name)
	if !ok {
		t.Fatalf("example %s missing", name)
	}
	return b
}

// engineDSN is a fresh data store DSN of one engine; the key store goes
// next to it (SQLite) or into the same schema (PostgreSQL).
type engineDSN struct {
	name string
	dsn  func(t *testing.T) string
}

var engineDSNs = []engineDSN{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "trustee.db") }},
	{"postgres", func(t *testing.T) string { return storetest.PostgresSchemaDSN(t) }},
}

func newEnv(t testing.TB, dsn string) *env { t.Helper(); return newEnvWith(t, dsn, nil) }

// newEnvWith is newEnv with app options changed by mod (SMTP, webhooks to
// loopback...) before the app opens.
func newEnvWith(t testing.TB, dsn string, mod func(*app.Options)) *env {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	raw, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseRootKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	opts := app.Options{DB: dsn, Root: root, Logger: logger, Version: "test"}
	if mod != nil {
		mod(&opts)
	}
	a, err := app.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.API.Handler())
	t.Cleanup(srv.Close)

	e := &env{t: t, srv: srv, st: a.Store, tenants: a.Tenants, app: a, keys: map[auth.Role]string{}, logs: logs}
	ta, _, err := a.EnsureTenant(ctx, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	e.tenantA = ta
	for _, r := range auth.Roles {
		tok, _, err := a.APIKeys.Create(ctx, ta.ID, r, string(r)+" key", "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[r] = tok
	}
	tb, _, err := a.EnsureTenant(ctx, "beta", "Beta")
	if err != nil {
		t.Fatal(err)
	}
	e.tenantB = tb
	if _, err := a.Tenants.Apply(ctx, tb.ID, "door-entry.yaml", example(t, "door-entry.yaml"), "test"); err != nil {
		t.Fatal(err)
	}
	e.other, _, err = a.APIKeys.Create(ctx, tb.ID, auth.RoleAdmin, "beta admin", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, token, contentType string, body []byte) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// problemOK asserts an RFC 9457 problem of the given status and type.
func problemOK(t testing.TB, r resp, status int, typ string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	m := r.json(t)
	if m["type"] != httpapi.ProblemTypePrefix+typ {
		t.Fatalf("problem type = %v, want %s: %s", m["type"], httpapi.ProblemTypePrefix+typ, r.body)
	}
	if m["status"] != float64(status) || m["title"] == "" || m["request_id"] != r.header.Get("X-Request-Id") {
		t.Fatalf("problem lacks status/title/request id: %s", r.body)
	}
	return m
}

func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, ec := range engineDSNs {
		t.Run(ec.name, func(t *testing.T) { fn(t, newEnv(t, ec.dsn(t))) })
	}
}

func sqliteEnv(t *testing.T) *env { return newEnv(t, engineDSNs[0].dsn(t)) }

func TestPolicyLifecycle(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		admin := e.keys[auth.RoleAdmin]

		r := e.do("GET", "/v1/policy", admin, "", nil)
		problemOK(t, r, 404, "no-policy")

		src := example(t, "learning-saas.yaml")
		r = e.do("PUT", "/v1/policy", e.keys[auth.RoleDPO], "application/yaml", src)
		if r.status != 201 {
			t.Fatalf("apply = %d %s", r.status, r.body)
		}
		m := r.json(t)
		v := m["version"].(map[string]any)
		if v["version"] != float64(1) || !strings.HasPrefix(v["hash"].(string), "sha256:") || v["applied_by"] == "" {
			t.Fatalf("apply response: %s", r.body)
		}
		if m["diff"] != nil {
			t.Errorf("first version has a diff: %s", r.body)
		}

		// Same content again: 200, unchanged, no new version.
		r = e.do("PUT", "/v1/policy", admin, "application/yaml", append([]byte("# a comment only\n"), src...))
		if r.status != 200 || r.json(t)["unchanged"] != true {
			t.Fatalf("re-apply = %d %s", r.status, r.body)
		}

		// Changed content: version 2 with a diff.
		changed := bytes.Replace(src, []byte("revision: \""), []byte("revision: \"x"), 1)
		if bytes.Equal(changed, src) {
			t.Fatal("test edit did not change the example; adjust the replacement")
		}
		r = e.do("PUT", "/v1/policy", admin, "application/yaml", changed)
		if r.status != 201 {
			t.Fatalf("apply v2 = %d %s", r.status, r.body)
		}
		if r.json(t)["version"].(map[string]any)["version"] != float64(2) || r.json(t)["diff"] == nil {
			t.Fatalf("v2: %s", r.body)
		}

		r = e.do("GET", "/v1/policy/versions", e.keys[auth.RoleAuditor], "", nil)
		var vs struct {
			Versions []httpapi.PolicyVersionInfo `json:"versions"`
		}
		if err := json.Unmarshal(r.body, &vs); err != nil || len(vs.Versions) != 2 || vs.Versions[0].Version != 2 {
			t.Fatalf("versions: %d %s", r.status, r.body)
		}

		r = e.do("GET", "/v1/policy", e.keys[auth.RoleService], "", nil)
		if r.status != 200 || r.json(t)["version"] != float64(2) || !strings.Contains(string(r.body), `"purposes"`) {
			t.Fatalf("get policy: %d %s", r.status, r.body[:min(300, len(r.body))])
		}
		if r.header.Get("ETag") == "" {
			t.Error("GET /v1/policy has no ETag")
		}

		r = e.do("GET", "/v1/policy/source", admin, "", nil)
		if r.status != 200 || !bytes.Equal(r.body, changed) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/yaml") {
			t.Fatalf("source: %d %q", r.status, r.header.Get("Content-Type"))
		}

		r = e.do("GET", "/v1/policy/versions/1", admin, "", nil)
		if r.status != 200 || r.json(t)["version"] != float64(1) {
			t.Fatalf("version 1: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("GET", "/v1/policy/versions/9", admin, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/policy/versions/0", admin, "", nil), 422, "validation")

		r = e.do("GET", "/v1/policy/diff", admin, "", nil)
		if r.status != 200 {
			t.Fatalf("diff: %d %s", r.status, r.body)
		}
		d := r.json(t)
		if d["from"] != float64(1) || d["to"] != float64(2) || len(d["changes"].([]any)) == 0 {
			t.Fatalf("diff body: %s", r.body)
		}
		problemOK(t, e.do("GET", "/v1/policy/diff?from=2&to=1", admin, "", nil), 422, "validation")
	})
}

func TestInvalidPolicyChangesNothing(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		admin := e.keys[auth.RoleAdmin]
		good, _ := os.ReadFile("testdata/minimal.yaml")
		if r := e.do("PUT", "/v1/policy", admin, "application/yaml", good); r.status != 201 {
			t.Fatalf("apply: %d %s", r.status, r.body)
		}
		bad := bytes.Replace(good, []byte("legal_basis: contract"), []byte("legal_basis: contrakt"), 1)
		bad = bytes.Replace(bad, []byte("trigger: account_closed"), []byte("trigger: when_we_feel_like_it"), 1)
		r := e.do("PUT", "/v1/policy", admin, "application/yaml", bad)
		m := problemOK(t, r, 422, "invalid-policy")
		errs := m["errors"].([]any)
		if len(errs) != 2 {
			t.Fatalf("want 2 errors, got %s", r.body)
		}
		for _, x := range errs {
			d := x.(map[string]any)
			if d["line"] == nil || d["column"] == nil || d["message"] == "" {
				t.Errorf("error without position: %v", d)
			}
		}
		first := errs[0].(map[string]any)
		if first["line"] != float64(22) || first["column"] != float64(18) {
			t.Errorf("legal_basis error at %v:%v, want 22:18", first["line"], first["column"])
		}
		r = e.do("GET", "/v1/policy/versions", admin, "", nil)
		if !strings.Contains(string(r.body), `"version":1`) || strings.Contains(string(r.body), `"version":2`) {
			t.Fatalf("an invalid policy created a version: %s", r.body)
		}

		// The dry run answers the same without storing, and a valid check
		// reports the diff.
		problemOK(t, e.do("POST", "/v1/policy/validate", admin, "application/yaml", bad), 422, "invalid-policy")
		r = e.do("POST", "/v1/policy/validate", admin, "application/yaml", example(t, "door-entry.yaml"))
		if r.status != 200 || r.json(t)["valid"] != true || r.json(t)["diff"] == nil {
			t.Fatalf("validate: %d %s", r.status, r.body)
		}

		// Bad transport: unsupported media type, empty body, oversized body.
		problemOK(t, e.do("PUT", "/v1/policy", admin, "image/png", good), 415, "unsupported-media-type")
		problemOK(t, e.do("PUT", "/v1/policy", admin, "application/yaml", nil), 400, "bad-request")
		huge := bytes.Repeat([]byte("#"), 3<<20)
		r = e.do("PUT", "/v1/policy", admin, "application/yaml", huge)
		problemOK(t, r, 413, "payload-too-large")
		r = e.do("GET", "/v1/policy/versions", admin, "", nil)
		if strings.Contains(string(r.body), `"version":2`) {
			t.Fatal("bad transport created a version")
		}
	})
}

func TestAuthentication(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		cases := []struct {
			name, header string
		}{
			{"no header", ""},
			{"not bearer", "Basic dXNlcjpwYXNz"},
			{"garbage", "Bearer nonsense"},
			{"unknown id", "Bearer trustee_aaaaaaaaaaaaaaaa_" + strings.Repeat("A", 43)},
			{"wrong secret", "Bearer " + e.keys[auth.RoleAdmin][:len(e.keys[auth.RoleAdmin])-4] + "AAAA"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", e.srv.URL+"/v1/policy", nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				r := resp{res.StatusCode, res.Header, b}
				problemOK(t, r, 401, "unauthenticated")
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Error("401 without WWW-Authenticate: Bearer")
				}
			})
		}

		// Roles: who may apply a policy, manage keys, read metrics.
		src := example(t, "learning-saas.yaml")
		type want struct{ apply, keys, metrics int }
		wants := map[auth.Role]want{
			auth.RoleAdmin:   {201, 200, 200},
			auth.RoleDPO:     {200, 403, 403},
			auth.RoleAgent:   {403, 403, 403},
			auth.RoleService: {403, 403, 403},
			auth.RoleAuditor: {403, 403, 200},
		}
		for _, role := range auth.Roles {
			w := wants[role]
			r := e.do("PUT", "/v1/policy", e.keys[role], "application/yaml", src)
			if r.status != w.apply {
				t.Errorf("%s apply = %d, want %d", role, r.status, w.apply)
			}
			if r.status == 403 {
				m := problemOK(t, r, 403, "forbidden")
				if !strings.Contains(m["detail"].(string), "admin, dpo") {
					t.Errorf("403 does not say who may: %v", m["detail"])
				}
			}
			if r := e.do("GET", "/v1/api-keys", e.keys[role], "", nil); r.status != w.keys {
				t.Errorf("%s list keys = %d, want %d", role, r.status, w.keys)
			}
			r = e.do("GET", "/metrics", e.keys[role], "", nil)
			if r.status != w.metrics {
				t.Errorf("%s metrics = %d, want %d", role, r.status, w.metrics)
			}
		}
		problemOK(t, e.do("GET", "/metrics", "", "", nil), 401, "unauthenticated")
		r := e.do("GET", "/metrics", e.keys[auth.RoleAdmin], "", nil)
		if !strings.Contains(string(r.body), `trustee_http_requests_total{code="201",method="PUT",route="PUT /v1/policy"}`) {
			t.Errorf("metrics lack the per-route counter:\n%.2000s", r.body)
		}
	})
}

func TestAPIKeysAndTenantIsolation(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		admin := e.keys[auth.RoleAdmin]
		if r := e.do("PUT", "/v1/policy", admin, "application/yaml", example(t, "learning-saas.yaml")); r.status != 201 {
			t.Fatalf("apply: %d", r.status)
		}
		// Each tenant sees its own policy only.
		a := e.do("GET", "/v1/policy", admin, "", nil).json(t)
		b := e.do("GET", "/v1/policy", e.other, "", nil).json(t)
		if a["hash"] == b["hash"] {
			t.Fatal("two tenants see the same policy")
		}

		r := e.do("POST", "/v1/api-keys", admin, "application/json", []byte(`{"role":"service","name":"checkout"}`))
		if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key: %d %s", r.status, r.body)
		}
		created := r.json(t)
		tok := created["token"].(string)
		id := created["id"].(string)
		if !strings.HasPrefix(tok, "trustee_"+id+"_") {
			t.Fatalf("token %q does not carry id %q", tok, id)
		}
		if r := e.do("GET", "/v1/policy", tok, "", nil); r.status != 200 {
			t.Fatalf("new key does not work: %d", r.status)
		}
		r = e.do("GET", "/v1/api-keys", admin, "", nil)
		if strings.Contains(string(r.body), tok[len(tok)-43:]) || strings.Contains(string(r.body), "hash") {
			t.Fatal("key listing leaks secrets or hashes")
		}
		if !strings.Contains(string(r.body), id) {
			t.Fatalf("listing lacks the new key: %s", r.body)
		}

		// Another tenant's admin cannot see or revoke the key; it looks absent.
		if r := e.do("GET", "/v1/api-keys", e.other, "", nil); strings.Contains(string(r.body), id) {
			t.Fatal("tenant beta lists tenant acme's key")
		}
		problemOK(t, e.do("DELETE", "/v1/api-keys/"+id, e.other, "", nil), 404, "not-found")
		if r := e.do("GET", "/v1/policy", tok, "", nil); r.status != 200 {
			t.Fatal("a foreign revoke disabled the key")
		}

		if r := e.do("DELETE", "/v1/api-keys/"+id, admin, "", nil); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("GET", "/v1/policy", tok, "", nil), 401, "unauthenticated")

		// Bad input to key creation.
		problemOK(t, e.do("POST", "/v1/api-keys", admin, "application/json", []byte(`{"role":"root"}`)), 422, "validation")
		problemOK(t, e.do("POST", "/v1/api-keys", admin, "application/json", []byte(`{"role":"service","colour":"red"}`)), 422, "validation")
		problemOK(t, e.do("POST", "/v1/api-keys", admin, "application/json", []byte(`{"role":`)), 400, "bad-request")
		problemOK(t, e.do("POST", "/v1/api-keys", admin, "application/json", []byte("{\"role\":\"service\",\"name\":\"\xff\"}")), 400, "bad-request")
		problemOK(t, e.do("DELETE", "/v1/api-keys/NOT-AN-ID", admin, "", nil), 422, "validation")
	})
}

func TestNoticeAndROPA(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		admin := e.keys[auth.RoleAdmin]
		if r := e.do("PUT", "/v1/policy", admin, "application/yaml", example(t, "learning-saas.yaml")); r.status != 201 {
			t.Fatalf("apply: %d", r.status)
		}
		cases := []struct {
			path, ct, contains string
		}{
			{"/v1/notice", "text/html", "<h2"},
			{"/v1/notice?format=html", "text/html", "Your rights"},
			{"/v1/notice?format=md", "text/markdown", "## Your rights"},
			{"/v1/notice?format=md&version=1", "text/markdown", "Version 1"},
			{"/v1/ropa", "application/json", `"activities"`},
			{"/v1/ropa?format=csv", "text/csv", "legal_basis"},
		}
		for _, c := range cases {
			r := e.do("GET", c.path, e.keys[auth.RoleAuditor], "", nil)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), c.ct) || !strings.Contains(string(r.body), c.contains) {
				t.Errorf("%s = %d %q, contains %q: %v", c.path, r.status, r.header.Get("Content-Type"), c.contains, strings.Contains(string(r.body), c.contains))
			}
		}
		problemOK(t, e.do("GET", "/v1/notice?format=pdf", admin, "", nil), 422, "validation")
		problemOK(t, e.do("GET", "/v1/notice?colour=red", admin, "", nil), 422, "validation")
		problemOK(t, e.do("GET", "/v1/notice?version=7", admin, "", nil), 404, "not-found")
	})
}

func TestPublicEndpointsAndErrors(t *testing.T) {
	e := sqliteEnv(t)
	r := e.do("GET", "/healthz", "", "", nil)
	if r.status != 200 || r.json(t)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/readyz", "", "", nil)
	if r.status != 200 || r.json(t)["engine"] != "sqlite" {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/policy/schema", "", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/schema+json" || !strings.Contains(string(r.body), "2020-12") {
		t.Fatalf("schema: %d %s", r.status, r.header.Get("Content-Type"))
	}
	r = e.do("GET", "/openapi.json", "", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"/v1/policy"`) {
		t.Fatalf("openapi: %d", r.status)
	}
	problemOK(t, e.do("GET", "/nowhere", "", "", nil), 404, "not-found")
	r = e.do("DELETE", "/healthz", "", "", nil)
	problemOK(t, r, 405, "method-not-allowed")
	if r.header.Get("Allow") != "GET" {
		t.Errorf("405 Allow = %q", r.header.Get("Allow"))
	}

	// Request ids: a sane incoming one is kept, a hostile one replaced.
	req, _ := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "proxy-req-12345")
	res, _ := e.srv.Client().Do(req)
	res.Body.Close()
	if res.Header.Get("X-Request-Id") != "proxy-req-12345" {
		t.Errorf("incoming request id not kept: %q", res.Header.Get("X-Request-Id"))
	}
	req.Header.Set("X-Request-Id", "evil\u2028id<script>")
	res, _ = e.srv.Client().Do(req)
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); strings.Contains(got, "script") || got == "" {
		t.Errorf("hostile request id kept: %q", got)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("security headers missing")
	}
}

func TestLogsCarryNoSecretsOrQueries(t *testing.T) {
	e := sqliteEnv(t)
	admin := e.keys[auth.RoleAdmin]
	e.do("GET", "/v1/notice?format=md&version=3", admin, "", nil)
	e.do("GET", "/v1/policy", "trustee_aaaaaaaaaaaaaaaa_"+strings.Repeat("B", 43), "", nil)
	logs := e.logs.String()
	if !strings.Contains(logs, `"route":"GET /v1/notice"`) {
		t.Fatalf("access log lacks the route:\n%s", logs)
	}
	for _, leak := range []string{admin, admin[len(admin)-43:], "format=md", strings.Repeat("B", 43)} {
		if strings.Contains(logs, leak) {
			t.Errorf("log contains %q", leak)
		}
	}
	if !strings.Contains(logs, `"client":"127.0.0.0/24"`) {
		t.Errorf("client address is not truncated in:\n%s", logs)
	}
}

func TestOpenAPIDocumentIsCommitted(t *testing.T) {
	got, err := httpapi.Document()
	if err != nil {
		t.Fatal(err)
	}
	path := "../../docs/openapi.json"
	if os.Getenv("UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with UPDATE_OPENAPI=1 go test ./internal/httpapi -run OpenAPI)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/openapi.json is out of date with the handlers; regenerate with UPDATE_OPENAPI=1 go test ./internal/httpapi -run OpenAPI")
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/healthz", "/readyz", "/v1/policy", "/v1/policy/validate", "/v1/policy/versions", "/v1/policy/versions/{version}",
		"/v1/policy/diff", "/v1/policy/source", "/v1/policy/schema", "/v1/notice", "/v1/ropa", "/v1/api-keys", "/v1/api-keys/{id}"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
}

func (e *env) doHeaders(method, path, token string, body []byte, headers map[string]string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}
