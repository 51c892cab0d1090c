package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

type outboxEnv struct {
	t      *testing.T
	st     store.Store
	rig    *outboxtest.Rig
	srv    *httptest.Server
	log    *audit.Log
	tokens map[auth.Role]string
	other  string // admin of tenant b
	a, b   store.Tenant
}

func newOutboxEnv(t *testing.T, st store.Store) *outboxEnv {
	ctx := context.Background()
	ts := &tenant.Service{Store: st}
	au := &auth.Authenticator{Store: st, CacheTTL: time.Minute}
	ks := &auth.Keys{Store: st, Auth: au}
	keys := auditKeys{}
	e := &outboxEnv{t: t, st: st, tokens: map[auth.Role]string{}}
	e.rig = outboxtest.NewRig(t, st)
	e.log = audit.New(audit.Options{Shards: 2, Keys: keys})
	s := New(Deps{Store: st, Tenants: ts, Auth: au, Keys: ks, Audit: e.log, Outbox: e.rig.Outbox})
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
		keys[tn.ID] = priv
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

func (e *outboxEnv) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

type outboxPage struct {
	Messages   []OutboxMessageInfo `json:"messages"`
	NextCursor string              `json:"next_cursor"`
}

func (e *outboxEnv) list(query, token string) outboxPage {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/v1/outbox?"+query, token, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /v1/outbox?%s = %d %s", query, status, body)
	}
	var p outboxPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestOutboxOperations(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := newOutboxEnv(t, eng.Open(t))
			r := e.rig
			const wait = 15 * time.Second

			// A webhook whose receiver is down dies; an email waits for
			// tomorrow.
			r.Hooks.Always(http.StatusServiceUnavailable)
			hook := r.Enqueue(t, outbox.Message{TenantID: e.a.ID, SubjectID: "subject-1", Topic: "propagation.erasure",
				Webhook: &outbox.Webhook{URL: r.Hooks.URL + "/erase?token=query-secret", Secret: r.Secret, Event: "subject.erased", Body: json.RawMessage(`{"s":1}`)}})
			r.WaitState(t, e.a.ID, hook, outbox.Dead, wait)
			mail := r.Enqueue(t, outbox.Message{TenantID: e.a.ID, Topic: "rights.reminder", NotBefore: time.Now().Add(24 * time.Hour),
				Email: &outbox.Email{To: "kari.nordmann@example.no", Subject: "Reminder for Kari", Text: "Hei Kari"}})

			// Listing: metadata only, newest first, filters, paging.
			p := e.list("", e.tokens[auth.RoleDPO])
			if len(p.Messages) != 2 || p.Messages[0].ID != mail || p.Messages[1].ID != hook || p.NextCursor != "" {
				t.Fatalf("list = %+v", p)
			}
			dead := p.Messages[1]
			if dead.Status != "dead" || dead.Attempts != 3 || dead.LastCode != 503 || dead.Channel != "webhook" ||
				dead.Destination != "127.0.0.1" || !dead.HasPayload || dead.SubjectID != "subject-1" || dead.NextAttemptAt != nil {
				t.Errorf("dead letter %+v", dead)
			}
			if q := p.Messages[0]; q.Status != "queued" || q.NextAttemptAt == nil || q.Destination != "example.no" {
				t.Errorf("queued email %+v", q)
			}
			_, raw := e.do(http.MethodGet, "/v1/outbox", e.tokens[auth.RoleAdmin], nil)
			for _, secret := range []string{"kari", "Kari", "query-secret", "/erase", string(r.Secret)} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("the listing shows %q: %s", secret, raw)
				}
			}
			if p := e.list("status=dead", e.tokens[auth.RoleAdmin]); len(p.Messages) != 1 || p.Messages[0].ID != hook {
				t.Errorf("dead letters = %+v", p.Messages)
			}
			if p := e.list("topic=rights.reminder&channel=email", e.tokens[auth.RoleAdmin]); len(p.Messages) != 1 || p.Messages[0].ID != mail {
				t.Errorf("by topic = %+v", p.Messages)
			}
			if p := e.list("subject=subject-1", e.tokens[auth.RoleAdmin]); len(p.Messages) != 1 {
				t.Errorf("by subject = %+v", p.Messages)
			}
			first := e.list("limit=1", e.tokens[auth.RoleAdmin])
			if len(first.Messages) != 1 || first.NextCursor != mail {
				t.Fatalf("first page = %+v", first)
			}
			if next := e.list("limit=1&cursor="+first.NextCursor, e.tokens[auth.RoleAdmin]); len(next.Messages) != 1 || next.Messages[0].ID != hook {
				t.Errorf("second page = %+v", next)
			}
			if status, body := e.do(http.MethodGet, "/v1/outbox?status=sent", e.tokens[auth.RoleAdmin], nil); status != http.StatusUnprocessableEntity {
				t.Errorf("bad status filter = %d %s", status, body)
			}

			// Only admin and DPO; other tenants see nothing of it.
			for _, role := range []auth.Role{auth.RoleAgent, auth.RoleService, auth.RoleAuditor} {
				if status, _ := e.do(http.MethodGet, "/v1/outbox", e.tokens[role], nil); status != http.StatusForbidden {
					t.Errorf("%s lists the outbox: %d", role, status)
				}
				if status, _ := e.do(http.MethodPost, "/v1/outbox/"+hook+"/retry", e.tokens[role], nil); status != http.StatusForbidden {
					t.Errorf("%s retries: %d", role, status)
				}
			}
			if p := e.list("", e.other); len(p.Messages) != 0 {
				t.Errorf("tenant b sees %d messages", len(p.Messages))
			}
			if status, _ := e.do(http.MethodPost, "/v1/outbox/"+hook+"/retry", e.other, nil); status != http.StatusNotFound {
				t.Errorf("tenant b retries tenant a's message: %d", status)
			}

			// Retry now: the receiver is back.
			r.Hooks.Always(http.StatusOK)
			status, body := e.do(http.MethodPost, "/v1/outbox/"+hook+"/retry", e.tokens[auth.RoleAdmin], nil)
			if status != http.StatusOK {
				t.Fatalf("retry = %d %s", status, body)
			}
			var got OutboxMessageInfo
			_ = json.Unmarshal(body, &got)
			if got.ID != hook || (got.Status != "queued" && got.Status != "delivered") {
				t.Errorf("after retry: %+v", got)
			}
			r.WaitState(t, e.a.ID, hook, outbox.Delivered, wait)
			if status, body := e.do(http.MethodPost, "/v1/outbox/"+hook+"/retry", e.tokens[auth.RoleAdmin], nil); status != http.StatusConflict ||
				!strings.Contains(string(body), "urn:trustee:problem:conflict") {
				t.Errorf("retry of a delivered message = %d %s", status, body)
			}

			// Handled by hand, with a note.
			if status, _ := e.do(http.MethodPost, "/v1/outbox/"+mail+"/handled", e.tokens[auth.RoleDPO], map[string]string{"note": ""}); status != http.StatusUnprocessableEntity {
				t.Errorf("empty note = %d", status)
			}
			note := "Kari called; told her by phone instead."
			status, body = e.do(http.MethodPost, "/v1/outbox/"+mail+"/handled", e.tokens[auth.RoleDPO], map[string]string{"note": note})
			if status != http.StatusOK {
				t.Fatalf("handled = %d %s", status, body)
			}
			_ = json.Unmarshal(body, &got)
			if got.Status != "handled" || got.Note != note || !strings.HasPrefix(got.HandledBy, "apikey:") || got.HandledAt == nil || got.HasPayload {
				t.Errorf("handled: %+v", got)
			}
			if status, _ := e.do(http.MethodPost, "/v1/outbox/"+mail+"/handled", e.tokens[auth.RoleDPO], map[string]string{"note": "again"}); status != http.StatusConflict {
				t.Errorf("handled twice = %d", status)
			}
			if status, _ := e.do(http.MethodPost, "/v1/outbox/"+store.NewID()+"/handled", e.tokens[auth.RoleDPO], map[string]string{"note": "x"}); status != http.StatusNotFound {
				t.Errorf("unknown id = %d", status)
			}
			if status, _ := e.do(http.MethodPost, "/v1/outbox/not-an-id/retry", e.tokens[auth.RoleDPO], nil); status != http.StatusUnprocessableEntity {
				t.Errorf("malformed id = %d", status)
			}

			// Both decisions are in the audit log, without the note.
			page, err := audit.List(context.Background(), e.st, e.a.ID, audit.Filter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, ev := range page.Events {
				if strings.HasPrefix(ev.Action, "outbox.") {
					actions = append(actions, ev.Action)
					if strings.Contains(ev.Reason, "Kari") || !strings.Contains(ev.Reason, "outbox message") {
						t.Errorf("audit reason %q", ev.Reason)
					}
				}
			}
			if strings.Join(actions, ",") != "outbox.handled,outbox.retry" {
				t.Errorf("audited %v", actions)
			}
		})
	}
}

func TestOutboxNotConfigured(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ts := &tenant.Service{Store: st}
	au := &auth.Authenticator{Store: st, CacheTTL: time.Minute}
	ks := &auth.Keys{Store: st, Auth: au}
	srv := httptest.NewServer(New(Deps{Store: st, Tenants: ts, Auth: au, Keys: ks}).Handler())
	t.Cleanup(srv.Close)
	tn, err := ts.Create(context.Background(), "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := ks.Create(context.Background(), tn.ID, auth.RoleAdmin, "a", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/outbox", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d", res.StatusCode)
	}
}
