package httpapi

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/postgres"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// auditKeys is one generated audit key per tenant, standing in for the
// key store.
type auditKeys map[string]ed25519.PrivateKey

func (k auditKeys) AuditSigner(_ context.Context, tenantID string) (ed25519.PrivateKey, error) {
	return k[tenantID], nil
}

func (k auditKeys) AuditPublicKey(_ context.Context, tenantID string) (ed25519.PublicKey, error) {
	return k[tenantID].Public().(ed25519.PublicKey), nil
}

type auditEnv struct {
	t      *testing.T
	st     store.Store
	srv    *httptest.Server
	log    *audit.Log
	keys   auditKeys
	tokens map[auth.Role]string
	other  string // admin of tenant b
	a, b   store.Tenant
}

func newAuditEnv(t *testing.T, st store.Store) *auditEnv {
	ctx := context.Background()
	ts := &tenant.Service{Store: st}
	au := &auth.Authenticator{Store: st, CacheTTL: time.Minute}
	ks := &auth.Keys{Store: st, Auth: au}
	e := &auditEnv{t: t, st: st, keys: auditKeys{}, tokens: map[auth.Role]string{}}
	e.log = audit.New(audit.Options{Shards: 2, Keys: e.keys})
	s := New(Deps{Store: st, Tenants: ts, Auth: au, Keys: ks, Audit: e.log})
	if _, ok := s.OpenAPI().Paths["/v1/audit"]; !ok {
		s.registerAudit() // until New registers it
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)

	var err error
	if e.a, err = ts.Create(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if e.b, err = ts.Create(ctx, "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []store.Tenant{e.a, e.b} {
		_, priv, _ := ed25519.GenerateKey(nil)
		e.keys[tn.ID] = priv
	}
	for _, r := range auth.Roles {
		if e.tokens[r], _, err = ks.Create(ctx, e.a.ID, r, string(r), "test", 0); err != nil {
			t.Fatal(err)
		}
	}
	if e.other, _, err = ks.Create(ctx, e.b.ID, auth.RoleAdmin, "beta admin", "test", 0); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *auditEnv) get(path, token string) (int, http.Header, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

type auditPage struct {
	Events     []AuditEventInfo `json:"events"`
	NextCursor string           `json:"next_cursor"`
}

func (e *auditEnv) list(query string, token string) auditPage {
	e.t.Helper()
	status, _, body := e.get("/v1/audit?"+query, token)
	if status != http.StatusOK {
		e.t.Fatalf("GET /v1/audit?%s = %d %s", query, status, body)
	}
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *auditEnv) verify(token string) AuditReport {
	e.t.Helper()
	status, h, body := e.get("/v1/audit/verify", token)
	if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("GET /v1/audit/verify = %d %s", status, body)
	}
	var r AuditReport
	if err := json.Unmarshal(body, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func TestAuditOperations(t *testing.T) {
	for _, ec := range storetest.Engines() {
		t.Run(ec.Name, func(t *testing.T) {
			e := newAuditEnv(t, ec.Open(t))
			ctx := context.Background()
			base := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
			subj := store.NewID()
			for i := range 7 {
				ev := audit.Event{Actor: "apikey:svc", Role: "service", Action: "subject.read", Purpose: "support",
					Outcome: audit.OutcomeOK, Fields: []string{"email"}, Categories: []string{"user.contact.email"},
					At: base.Add(time.Duration(i) * time.Minute)}
				if i%2 == 0 {
					ev.SubjectID = subj
				}
				if i == 6 {
					ev.Action, ev.Outcome, ev.Reason = "subject.update", audit.OutcomeDenied, "forbidden"
				}
				if err := e.log.Record(ctx, e.st, e.a.ID, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.log.Record(ctx, e.st, e.b.ID, audit.Event{Actor: "cli", Action: "policy.apply", Outcome: audit.OutcomeOK}); err != nil {
				t.Fatal(err)
			}
			if err := e.log.CheckpointAll(ctx, e.st); err != nil {
				t.Fatal(err)
			}
			auditor := e.tokens[auth.RoleAuditor]

			// Roles: auditor, dpo and admin may read the log; nobody else.
			for _, r := range auth.Roles {
				status, _, _ := e.get("/v1/audit", e.tokens[r])
				want := http.StatusForbidden
				if r == auth.RoleAuditor || r == auth.RoleDPO || r == auth.RoleAdmin {
					want = http.StatusOK
				}
				if status != want {
					t.Errorf("role %s: status %d, want %d", r, status, want)
				}
				if status, _, _ := e.get("/v1/audit/verify", e.tokens[r]); status != want {
					t.Errorf("verify, role %s: status %d, want %d", r, status, want)
				}
			}
			if status, _, _ := e.get("/v1/audit", ""); status != http.StatusUnauthorized {
				t.Errorf("no key: %d", status)
			}

			// Filters.
			p := e.list("subject="+subj+"&action=subject.read", auditor)
			if len(p.Events) != 3 || p.NextCursor != "" {
				t.Fatalf("subject filter: %+v", p)
			}
			for i, ev := range p.Events {
				if ev.SubjectID != subj || ev.Purpose != "support" || ev.Fields[0] != "email" || len(ev.Hash) != 64 || !strings.Contains(ev.ID, ".") {
					t.Errorf("event %d = %+v", i, ev)
				}
				if i > 0 && ev.At.After(p.Events[i-1].At) {
					t.Errorf("not newest first: %v after %v", ev.At, p.Events[i-1].At)
				}
			}
			p = e.list("action=subject.update", auditor)
			if len(p.Events) != 1 || p.Events[0].Outcome != "denied" || p.Events[0].Reason != "forbidden" {
				t.Fatalf("action filter: %+v", p)
			}
			p = e.list("actor=apikey:svc&since="+url.QueryEscape(base.Add(3*time.Minute).Format(time.RFC3339))+
				"&until="+url.QueryEscape(base.Add(5*time.Minute).Format(time.RFC3339)), auditor)
			if len(p.Events) != 2 {
				t.Fatalf("time filter: %d events", len(p.Events))
			}

			// Paging by cursor.
			var seen []string
			cursor := ""
			for range 10 {
				q := "actor=apikey:svc&limit=3"
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				p := e.list(q, auditor)
				for _, ev := range p.Events {
					seen = append(seen, ev.ID)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if len(seen) != 7 {
				t.Fatalf("paged through %d events, want 7: %v", len(seen), seen)
			}

			// Bad input.
			for q, want := range map[string]int{
				"cursor=bm90LWEtY3Vyc29y": http.StatusBadRequest,
				"since=yesterday":         http.StatusUnprocessableEntity,
				"limit=0":                 http.StatusUnprocessableEntity,
				"limit=5000":              http.StatusUnprocessableEntity,
				"subject=a%20b":           http.StatusUnprocessableEntity,
				"colour=red":              http.StatusUnprocessableEntity,
			} {
				status, h, body := e.get("/v1/audit?"+q, auditor)
				if status != want || h.Get("Content-Type") != "application/problem+json" {
					t.Errorf("?%s: %d %s, want %d problem", q, status, body, want)
				}
			}

			// Tenant isolation: beta sees its own event and none of acme's.
			p = e.list("", e.other)
			for _, ev := range p.Events {
				if ev.Actor == "apikey:svc" {
					t.Fatalf("tenant b sees tenant a's events: %+v", ev)
				}
			}

			// Verify: intact, signatures checked, and the call audited.
			r := e.verify(auditor)
			if !r.Intact || r.Break != nil || !r.SignaturesChecked || r.Checkpoints != 1 || r.LastCheckpoint == nil || r.Shards != 2 {
				t.Fatalf("verify = %+v", r)
			}
			p = e.list("action=audit.verify", auditor)
			if len(p.Events) == 0 || !strings.HasPrefix(p.Events[0].Reason, "intact") || p.Events[0].Actor == "" || p.Events[0].RequestID == "" {
				t.Fatalf("verify was not audited: %+v", p)
			}
			if p := e.list("action=audit.list&limit=1", auditor); len(p.Events) != 1 || p.Events[0].Role != "auditor" {
				t.Fatalf("listing was not audited: %+v", p)
			}

			// Tampering shows as intact false with the first broken link.
			tamper(t, e.st, `UPDATE audit_events SET purpose = 'marketing' WHERE tenant_id = ? AND subject_id = ?`, e.a.ID, subj)
			r = e.verify(auditor)
			if r.Intact || r.Break == nil || r.Break.Kind != "hash_mismatch" || r.Break.Shard == nil || r.Break.Seq < 1 {
				t.Fatalf("verify after tampering = %+v", r)
			}
			p = e.list("action=audit.verify&limit=1", auditor)
			if !strings.HasPrefix(p.Events[0].Reason, "broken: hash_mismatch") {
				t.Fatalf("broken verify audited as %q", p.Events[0].Reason)
			}
		})
	}
}

// tamper runs a statement on the store's database directly.
func tamper(t *testing.T, st store.Store, q string, args ...any) {
	t.Helper()
	switch d := sqlstore.Unwrap(st).(type) {
	case interface{ SQL() *sql.DB }:
		if _, err := d.SQL().Exec(postgres.Dialect().Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	case interface{ Path() string }:
		db, err := sql.Open("sqlite", d.Path()+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("no raw SQL access")
	}
}

// TestAuditOperationsUnconfigured: without an audit log the operations
// answer 503 rather than serving unaudited.
func TestAuditOperationsUnconfigured(t *testing.T) {
	st := storetest.OpenSQLite(t)
	au := &auth.Authenticator{Store: st, CacheTTL: time.Minute}
	ks := &auth.Keys{Store: st, Auth: au}
	ts := &tenant.Service{Store: st}
	s := New(Deps{Store: st, Tenants: ts, Auth: au, Keys: ks})
	if _, ok := s.OpenAPI().Paths["/v1/audit"]; !ok {
		s.registerAudit()
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tn, err := ts.Create(context.Background(), "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := ks.Create(context.Background(), tn.ID, auth.RoleAuditor, "a", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/audit", "/v1/audit/verify"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d, want 503", path, res.StatusCode)
		}
	}
}
