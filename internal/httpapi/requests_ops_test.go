package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestRequestRoles: agents and the application take requests in and read
// the queue; only DPOs and admins decide; auditors see nothing.
func TestRequestRoles(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	e.createPerson(1)
	email := synth.Nth(1).Email
	r := e.do("POST", "/v1/requests", e.keys[auth.RoleDPO], "application/json",
		[]byte(`{"type":"access","channel":"staff","staff_via":"phone","identity":{"kind":"email","value":"`+email+`"}}`))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	all := []auth.Role{auth.RoleAdmin, auth.RoleDPO, auth.RoleAgent, auth.RoleService}
	deciders := []auth.Role{auth.RoleAdmin, auth.RoleDPO}
	cases := []struct {
		method, path, body string
		allowed            []auth.Role
	}{
		{"GET", "/v1/requests", "", all},
		{"GET", "/v1/requests/" + id, "", all},
		{"POST", "/v1/requests", `{"type":"objection","objection_kind":"direct_marketing","identity":{"kind":"email","value":"x@example.com"}}`, all},
		{"POST", "/v1/requests/" + id + "/extend", `{"by":"1mo","reason":"Many systems"}`, deciders},
	}
	for _, c := range cases {
		for _, role := range auth.Roles {
			r := e.do(c.method, c.path, e.keys[role], "application/json", []byte(c.body))
			allowed := false
			for _, a := range c.allowed {
				allowed = allowed || a == role
			}
			switch {
			case allowed && r.status >= 300 && !(r.status == 409 && strings.HasSuffix(c.path, "/extend")):
				t.Errorf("%s %s as %s: %d %s", c.method, c.path, role, r.status, r.body)
			case !allowed && r.status != 403:
				t.Errorf("%s %s as %s: %d, want 403", c.method, c.path, role, r.status)
			}
		}
	}
}

// TestRequestsOverHTTP walks the queue: intake by staff, filters, manual
// verification, extension, refusal with its problem types, and isolation.
func TestRequestsOverHTTP(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		dpo, agent := e.keys[auth.RoleDPO], e.keys[auth.RoleAgent]
		sub := e.createPerson(1)
		// Bad input: 422 naming the fields, nothing stored.
		r := e.do("POST", "/v1/requests", agent, "application/json", []byte(`{"type":"restriction","subject_id":"`+sub+`","categories":["user.nope"]}`))
		p := problemOK(t, r, 422, "validation")
		if !strings.Contains(string(r.body), "body.ground") || !strings.Contains(string(r.body), "body.categories") {
			t.Fatalf("problem = %v", p)
		}
		r = e.do("POST", "/v1/requests", agent, "application/json",
			[]byte(`{"type":"restriction","subject_id":"`+sub+`","ground":"accuracy_contested","channel":"staff","staff_via":"letter"}`))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		created := r.json(t)
		id := created["id"].(string)
		if created["status"] != "verifying" || created["status_token"] == "" || created["verification"].(map[string]any)["level"] != "manual" {
			t.Fatalf("created = %s", r.body)
		}
		// Approving an unverified request is refused.
		problemOK(t, e.do("POST", "/v1/requests/"+id+"/approve", dpo, "", nil), 409, "not-verified")
		r = e.do("POST", "/v1/requests/"+id+"/verify", agent, "application/json", []byte(`{"method":"manual","checked":"two trusted IDs"}`))
		if r.status != 200 || r.json(t)["status"] != "in_progress" {
			t.Fatalf("verify: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/requests/"+id+"/extend", dpo, "application/json", []byte(`{"by":"2mo","reason":"Letters to scan"}`))
		if r.status != 200 || r.json(t)["status"] != "extended" {
			t.Fatalf("extend: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("POST", "/v1/requests/"+id+"/extend", dpo, "application/json", []byte(`{"by":"1mo","reason":"again"}`)), 409, "request-state")
		problemOK(t, e.do("POST", "/v1/requests/"+id+"/complete", dpo, "", nil), 409, "request-state")
		problemOK(t, e.do("GET", "/v1/requests/"+id+"/export?format=pdf", dpo, "", nil), 404, "no-export")
		problemOK(t, e.do("POST", "/v1/requests/"+id+"/instruct", dpo, "application/json", []byte(`{"decision":"proceed"}`)), 409, "request-state")

		// Detail: history with notes, verification without codes.
		r = e.do("GET", "/v1/requests/"+id, agent, "", nil)
		d := r.json(t)
		hist := d["history"].([]any)
		if len(hist) < 4 || !strings.Contains(string(r.body), "two trusted IDs") || d["schedule"].(map[string]any)["law_due"] == nil {
			t.Fatalf("detail = %s", r.body)
		}
		// Filters.
		for q, want := range map[string]int{"": 1, "?status=extended": 1, "?status=refused": 0, "?type=access": 0, "?overdue=true": 0, "?due_soon=true": 0} {
			r := e.do("GET", "/v1/requests"+q, agent, "", nil)
			if n := len(r.json(t)["requests"].([]any)); r.status != 200 || n != want {
				t.Errorf("list %q: %d requests (%d), want %d", q, n, r.status, want)
			}
		}
		problemOK(t, e.do("GET", "/v1/requests?status=bogus", agent, "", nil), 422, "validation")
		r = e.do("POST", "/v1/requests/"+id+"/refuse", dpo, "application/json", []byte(`{"reason":"exemption","text":"Art. 17(3)(b)"}`))
		if r.status != 200 || r.json(t)["status"] != "refused" {
			t.Fatalf("refuse: %d %s", r.status, r.body)
		}
		// Another tenant sees nothing.
		if r := e.do("GET", "/v1/requests/"+id, e.other, "", nil); r.status != 404 {
			t.Fatalf("other tenant: %d", r.status)
		}
		// Subject tokens verify app_token requests.
		r = e.do("POST", "/v1/subjects/"+sub+"/token", e.keys[auth.RoleService], "", nil)
		if r.status != 200 {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		tok := r.json(t)["token"].(string)
		body, _ := json.Marshal(map[string]any{"type": "rectification", "subject_id": sub, "subject_token": tok, "fields": map[string]string{"job_title": "CTO"}})
		r = e.do("POST", "/v1/requests", e.keys[auth.RoleService], "application/json", body)
		if r.status != 201 || r.json(t)["verification"].(map[string]any)["method"] != "app_token" || strings.Contains(string(r.body), "CTO") {
			t.Fatalf("rectification: %d %s", r.status, r.body)
		}
		if strings.Contains(e.logs.String(), tok) {
			t.Fatal("the subject token is in the logs")
		}
	})
}

// TestPublicRequests: the privacy center's intake answers the same for a
// known and an unknown person; the status token opens only its request.
func TestPublicRequests(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	e.createPerson(1)
	file := func(email string) resp {
		return e.do("POST", "/v1/public/brightfjord-www/requests", "", "application/json",
			[]byte(`{"type":"access","identity":{"kind":"email","value":"`+email+`"}}`))
	}
	known, unknown := file(synth.Nth(1).Email), file("stranger@example.net")
	if known.status != 202 || unknown.status != 202 {
		t.Fatalf("intake: %d %s / %d %s", known.status, known.body, unknown.status, unknown.body)
	}
	k, u := known.json(t), unknown.json(t)
	if len(k) != len(u) || k["message"] != u["message"] || len(k["status_token"].(string)) != len(u["status_token"].(string)) {
		t.Fatalf("answers differ: %s / %s", known.body, unknown.body)
	}
	id, tok := u["id"].(string), u["status_token"].(string)
	r := e.do("GET", "/v1/public/brightfjord-www/requests/"+id+"?token="+tok, "", "", nil)
	if r.status != 200 || r.json(t)["status"] != "verifying" || strings.Contains(string(r.body), "actor") || strings.Contains(string(r.body), "subject") {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/public/brightfjord-www/requests/"+k["id"].(string)+"?token="+tok, "", "", nil); r.status != 404 {
		t.Fatalf("other request's token: %d", r.status)
	}
	if r := e.do("GET", "/v1/public/nosuchsite/requests/"+id+"?token="+tok, "", "", nil); r.status != 404 {
		t.Fatalf("unknown site: %d", r.status)
	}
	r = e.do("POST", "/v1/public/brightfjord-www/requests/"+id+"/verify", "", "application/json", []byte(`{"token":"`+tok+`","code":"12345678"}`))
	problemOK(t, r, 422, "verification-failed")
	r = e.do("POST", "/v1/public/brightfjord-www/requests/"+id+"/verify", "", "application/json", []byte(`{"token":"`+tok+`","resend":true}`))
	if r.status != 200 {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/public/brightfjord-www/requests", "", "application/json", []byte(`{"type":"access","identity":{"kind":"email","value":"not-an-email"}}`))
	problemOK(t, r, 422, "validation")
}

// TestApproveWithFulfilment: an objection to direct marketing (no
// verification needed) is approved through the real fulfilment service
// wired by the app, and completed.
func TestApproveWithFulfilment(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	sub := e.createPerson(1)
	r := e.do("POST", "/v1/requests", e.keys[auth.RoleService], "application/json",
		[]byte(`{"type":"objection","subject_id":"`+sub+`","objection_kind":"direct_marketing"}`))
	if r.status != 201 || r.json(t)["status"] != "in_progress" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	r = e.do("POST", "/v1/requests/"+id+"/approve", e.keys[auth.RoleDPO], "", nil)
	if r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	d := r.json(t)
	if d["status"] != "completed" || d["outcome"] == nil {
		t.Fatalf("approved = %s", r.body)
	}
	problemOK(t, e.do("POST", "/v1/requests/"+id+"/approve", e.keys[auth.RoleDPO], "", nil), 409, "request-state")
}

// TestAccessExportLink: an access request verified by staff is approved;
// the PDF password comes back once, and the export's link can be fetched.
func TestAccessExportLink(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	sub := e.createPerson(1)
	dpo := e.keys[auth.RoleDPO]
	r := e.do("POST", "/v1/requests", dpo, "application/json", []byte(`{"type":"access","subject_id":"`+sub+`","channel":"staff","staff_via":"in_person"}`))
	id := r.json(t)["id"].(string)
	if r := e.do("POST", "/v1/requests/"+id+"/verify", dpo, "application/json", []byte(`{"method":"manual","checked":"passport"}`)); r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/requests/"+id+"/approve", dpo, "", nil)
	if r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	a := r.json(t)
	if a["pdf_password"] == nil || a["pdf_password"] == "" || a["outcome"].(map[string]any)["export_id"] == nil {
		t.Fatalf("approve = %s", r.body)
	}
	if strings.Contains(e.logs.String(), a["pdf_password"].(string)) {
		t.Fatal("the PDF password is in the logs")
	}
	r = e.do("GET", "/v1/requests/"+id+"/export?format=pdf", dpo, "", nil)
	if r.status != 200 || !strings.HasPrefix(r.json(t)["url"].(string), "/") {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	// The password is not kept.
	if g := e.do("GET", "/v1/requests/"+id, dpo, "", nil); strings.Contains(string(g.body), a["pdf_password"].(string)) {
		t.Fatal("the request shows the PDF password")
	}
}
