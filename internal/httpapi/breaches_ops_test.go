package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
)

// TestBreachesOverHTTP: DPOs and admins only; a breach is created,
// assessed, notified to the authority late with a reason, and its
// notification document carries the Art. 33(3) items; other tenants get 404,
// bad input 422 naming the field.
func TestBreachesOverHTTP(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		dpo := e.keys[auth.RoleDPO]
		detected := time.Now().UTC().Add(-80 * time.Hour).Format(time.RFC3339)
		body := `{"title":"Leaked key","nature":"An API key was published.","detected_at":"` + detected + `",
			"categories":["user.contact.email"],"scope":{"api_key_ids":["abc"]},"consequences":"Phishing.","measures":"Key revoked."}`
		for _, role := range auth.Roles {
			r := e.do("GET", "/v1/breaches", e.keys[role], "", nil)
			allowed := role == auth.RoleAdmin || role == auth.RoleDPO
			if allowed != (r.status == 200) || (!allowed && r.status != 403) {
				t.Errorf("list as %s: %d", role, r.status)
			}
		}
		r := e.do("POST", "/v1/breaches", dpo, "application/json", []byte(body))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		b := r.json(t)
		id := b["id"].(string)
		if b["status"] != "open" || b["overdue"] != true {
			t.Fatalf("created: %s", r.body)
		}
		p := problemOK(t, e.do("POST", "/v1/breaches", dpo, "application/json", []byte(`{"nature":"x","detected_at":"`+detected+`"}`)), 422, "validation")
		if !strings.Contains(string(mustJSON(t, p)), "body.title") {
			t.Fatalf("422 does not name title: %v", p)
		}
		problemOK(t, e.do("GET", "/v1/breaches/"+id, e.other, "", nil), 404, "not-found")
		if r = e.do("POST", "/v1/breaches/"+id+"/affected", dpo, "", nil); r.status != 200 {
			t.Fatalf("affected: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("POST", "/v1/breaches/"+id+"/notify", dpo, "", nil), 409, "conflict")
		if r = e.do("POST", "/v1/breaches/"+id+"/assessment", dpo, "application/json", []byte(`{"risk":"risk"}`)); r.status != 200 {
			t.Fatalf("assess: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("POST", "/v1/breaches/"+id+"/authority-notification", dpo, "application/json", []byte(`{"reference":"DT-9"}`)), 422, "validation")
		r = e.do("POST", "/v1/breaches/"+id+"/authority-notification", dpo, "application/json", []byte(`{"reference":"DT-9","delay_reason":"Found over a weekend."}`))
		if r.status != 200 || r.json(t)["status"] != "authority_notified" {
			t.Fatalf("authority: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/v1/breaches/"+id+"/notification?format=md", dpo, "", nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/markdown") {
			t.Fatalf("md: %d %s", r.status, r.body)
		}
		for _, want := range []string{"Art. 33(3)(a)", "Art. 33(3)(b)", "Art. 33(3)(c)", "Art. 33(3)(d)", "Found over a weekend", "DT-9", "Datatilsynet"} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("document lacks %q", want)
			}
		}
		r = e.do("GET", "/v1/breaches/"+id+"/notification", dpo, "", nil)
		if r.status != 200 || r.json(t)["late"] != true {
			t.Fatalf("json: %d %s", r.status, r.body)
		}
		if r = e.do("PATCH", "/v1/breaches/"+id, dpo, "application/json", []byte(`{"measures":"Key revoked; secrets scanning added."}`)); r.status != 200 {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		if r = e.do("POST", "/v1/breaches/"+id+"/close", dpo, "", nil); r.status != 200 || r.json(t)["status"] != "closed" {
			t.Fatalf("close: %d %s", r.status, r.body)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
