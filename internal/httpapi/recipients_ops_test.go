package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// TestRecipientEndpointsAPI: endpoints are for DPOs and admins, the secret
// is shown once, unknown keys and bad URLs are 422, tenants are apart.
func TestRecipientEndpointsAPI(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("door-entry.yaml")
	for _, role := range auth.Roles {
		allowed := role == auth.RoleAdmin || role == auth.RoleDPO
		r := e.do("GET", "/v1/recipients", e.keys[role], "", nil)
		if allowed != (r.status == 200) || (!allowed && r.status != 403) {
			t.Errorf("GET /v1/recipients as %s: %d", role, r.status)
		}
		r = e.do("PUT", "/v1/recipients/azure/endpoint", e.keys[role], "application/json", []byte(`{"url":"https://hooks.example.com/x"}`))
		if allowed != (r.status == 200) || (!allowed && r.status != 403) {
			t.Errorf("PUT endpoint as %s: %d %s", role, r.status, r.body)
		}
	}
	admin := e.keys[auth.RoleAdmin]
	r := e.do("PUT", "/v1/recipients/acme_corp/endpoint", admin, "application/json", []byte(`{"url":"https://hooks.example.com/x"}`))
	p := problemOK(t, r, 422, "validation")
	if !strings.Contains(string(r.body), "body.key") {
		t.Fatalf("unknown recipient problem lacks the field: %v", p)
	}
	r = e.do("PUT", "/v1/recipients/azure/endpoint", admin, "application/json", []byte(`{"url":"https://user:pw@hooks.example.com/x"}`))
	problemOK(t, r, 422, "validation")
	r = e.do("PUT", "/v1/recipients/azure/endpoint", admin, "application/json", []byte(`{"url":"https://hooks.example.com/x","ack":"on_delivery"}`))
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	set := r.json(t)
	secret, _ := set["secret"].(string)
	if len(secret) != 64 || set["host"] != "hooks.example.com" || set["ack"] != "on_delivery" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("put answer: %s", r.body)
	}
	r = e.do("GET", "/v1/recipients", admin, "", nil)
	if r.status != 200 || strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "/x") {
		t.Fatalf("list leaks the secret or URL: %s", r.body)
	}
	var list struct {
		Recipients []fulfil.RecipientInfo `json:"recipients"`
	}
	_ = json.Unmarshal(r.body, &list)
	found := false
	for _, x := range list.Recipients {
		if x.Key == "azure" {
			found = x.Endpoint && x.Host == "hooks.example.com"
		}
	}
	if !found || list.Recipients[0].Key != fulfil.ApplicationKey {
		t.Fatalf("list = %s", r.body)
	}
	// The other tenant sees no endpoint and cannot delete this one.
	r = e.do("GET", "/v1/recipients", e.other, "", nil)
	if r.status != 200 || strings.Contains(string(r.body), "hooks.example.com") {
		t.Fatalf("other tenant: %d %s", r.status, r.body)
	}
	problemOK(t, e.do("DELETE", "/v1/recipients/azure/endpoint", e.other, "", nil), 404, "not-found")
	if r := e.do("DELETE", "/v1/recipients/azure/endpoint", admin, "", nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	problemOK(t, e.do("DELETE", "/v1/recipients/azure/endpoint", admin, "", nil), 404, "not-found")
}

// TestPropagationAck walks a restriction to a recipient with a real
// webhook receiver and back through the public acknowledgement link.
func TestPropagationAck(t *testing.T) {
	for _, ec := range engineDSNs {
		t.Run(ec.name, func(t *testing.T) {
			ctx := context.Background()
			raw, _ := keys.GenerateRootKey()
			root, _ := keys.ParseRootKey(raw)
			a, err := app.Open(ctx, app.Options{DB: ec.dsn(t), Root: root, Logger: slog.New(slog.DiscardHandler), Version: "test",
				WebhookAllowPrivate: true, PublicURL: "https://privacy.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			srv := httptest.NewServer(a.API.Handler())
			t.Cleanup(srv.Close)
			jctx, cancel := context.WithCancel(ctx)
			t.Cleanup(cancel)
			if err := a.Jobs.Start(jctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				c, done := context.WithTimeout(context.Background(), 10*time.Second)
				defer done()
				_ = a.Jobs.Stop(c)
			})
			tn, _, err := a.EnsureTenant(ctx, "acme", "Acme")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Tenants.Apply(ctx, tn.ID, "door-entry.yaml", example(t, "door-entry.yaml"), "test"); err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, srv: srv, st: a.Store, tenants: a.Tenants, app: a, keys: map[auth.Role]string{}}
			tok, _, err := a.APIKeys.Create(ctx, tn.ID, auth.RoleDPO, "dpo", "test", 0)
			if err != nil {
				t.Fatal(err)
			}
			rec := outboxtest.StartWebhook(t, nil)
			r := e.do("PUT", "/v1/recipients/azure/endpoint", tok, "application/json", []byte(`{"url":"`+rec.URL+`/trustee"}`))
			if r.status != 200 {
				t.Fatalf("put: %d %s", r.status, r.body)
			}
			rec.Secret = []byte(r.json(t)["secret"].(string))
			c, err := a.Vault.Create(ctx, tn.ID, vault.CreateInput{Fields: map[string]json.RawMessage{
				"name": json.RawMessage(`"Resident"`), "email": json.RawMessage(`"resident@example.org"`)}}, vault.Actor{ID: "test"})
			if err != nil {
				t.Fatal(err)
			}
			req := store.NewID()
			if _, err := a.Fulfil.Fulfil(ctx, fulfil.Input{TenantID: tn.ID, RequestID: req, SubjectID: c.ID, Type: policy.ReqRestriction,
				Ground: store.GroundAccuracyContested, Actor: "staff:dpo"}); err != nil {
				t.Fatal(err)
			}
			d := rec.WaitFor(t, 1, 15*time.Second)[0]
			if d.Verified != nil {
				t.Fatalf("signature: %v", d.Verified)
			}
			var body struct {
				AckURL string `json:"ack_url"`
			}
			_ = json.Unmarshal(d.Body, &body)
			path := strings.TrimPrefix(body.AckURL, "https://privacy.example.com")
			if !strings.HasPrefix(path, "/v1/public/propagation/") {
				t.Fatalf("ack url = %q", body.AckURL)
			}
			// A tampered token is refused and changes nothing.
			bad := strings.Replace(path, "/propagation/A", "/propagation/B", 1)
			if bad == path {
				bad = strings.Replace(path, "/ack", "x/ack", 1)
			}
			problemOK(t, e.do("POST", bad, "", "", nil), 400, "bad-token")
			for range 2 {
				r := e.do("POST", path, "", "", nil)
				if r.status != 200 || r.json(t)["state"] != "acknowledged" {
					t.Fatalf("ack: %d %s", r.status, r.body)
				}
			}
			rs, err := a.Fulfil.Recipients(ctx, tn.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range rs {
				if x.Recipient == "azure" && x.State != fulfil.RecipientAcknowledged {
					t.Fatalf("azure = %+v", x)
				}
			}
		})
	}
}
