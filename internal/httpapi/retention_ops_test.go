package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/auth"
)

func (e *env) doorPerson(n int) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"fields": map[string]any{
		"name": "Resident " + itoaTest(n), "email": "resident" + itoaTest(n) + "@example.org"}})
	r := e.do("POST", "/v1/subjects", e.keys[auth.RoleService], "application/json", body)
	if r.status != 201 {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

func itoaTest(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRetentionRoles: the plan is for DPOs, admins and auditors (counts, no
// values); running a sweep and legal holds for DPOs and admins; moving a
// subject's triggers for whoever may write subjects.
func TestRetentionRoles(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("door-entry.yaml")
	id := e.doorPerson(1)
	cases := []struct {
		method, path, body string
		allowed            []auth.Role
	}{
		{"GET", "/v1/retention/plan?days=10", "", []auth.Role{auth.RoleAdmin, auth.RoleDPO, auth.RoleAuditor}},
		{"POST", "/v1/retention/run", "", []auth.Role{auth.RoleAdmin, auth.RoleDPO}},
		{"GET", "/v1/legal-holds", "", []auth.Role{auth.RoleAdmin, auth.RoleDPO}},
		{"POST", "/v1/legal-holds", `{"reason":"Case 7"}`, []auth.Role{auth.RoleAdmin, auth.RoleDPO}},
		{"POST", "/v1/subjects/" + id + "/contract-end", `{"at":"2030-01-01T00:00:00Z"}`, []auth.Role{auth.RoleAdmin, auth.RoleDPO, auth.RoleAgent, auth.RoleService}},
	}
	for _, c := range cases {
		for _, role := range auth.Roles {
			ct := ""
			if c.body != "" {
				ct = "application/json"
			}
			r := e.do(c.method, c.path, e.keys[role], ct, []byte(c.body))
			allowed := false
			for _, a := range c.allowed {
				allowed = allowed || a == role
			}
			switch {
			case allowed && r.status >= 300:
				t.Errorf("%s %s as %s: %d %s", c.method, c.path, role, r.status, r.body)
			case !allowed && r.status != 403:
				t.Errorf("%s %s as %s: %d, want 403", c.method, c.path, role, r.status)
			}
		}
	}
}

// TestRetentionOverHTTP: a hold keeps a closed account's data; releasing it
// lets the 0d rule act at once, and the subject is gone. Holds are the
// tenant's own.
func TestRetentionOverHTTP(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("door-entry.yaml")
		dpo, svc := e.keys[auth.RoleDPO], e.keys[auth.RoleService]
		id := e.doorPerson(1)
		other := e.doorPerson(2)

		r := e.do("POST", "/v1/legal-holds", dpo, "application/json", []byte(`{"subject_id":"`+id+`","reason":"Dispute 2026/14","purpose":"account"}`))
		if r.status != 201 {
			t.Fatalf("create hold: %d %s", r.status, r.body)
		}
		hold := r.json(t)
		holdID := hold["id"].(string)
		if hold["active"] != true || hold["reason"] != "Dispute 2026/14" {
			t.Fatalf("hold: %s", r.body)
		}
		// Closing the account: door-entry deletes everything 0d after it,
		// but the hold keeps it.
		r = e.do("POST", "/v1/subjects/"+id+"/account-closed", svc, "application/json", []byte(`{}`))
		if r.status != 200 {
			t.Fatalf("account closed: %d %s", r.status, r.body)
		}
		if swept := r.json(t)["swept"].(map[string]any); swept["held"] != float64(2) || swept["fields_deleted"] != float64(0) {
			t.Fatalf("swept under the hold: %v", swept)
		}
		plan := e.do("GET", "/v1/retention/plan?days=0", dpo, "", nil)
		if plan.status != 200 || !strings.Contains(string(plan.body), `"total":2`) || strings.Contains(string(plan.body), "example.org") {
			t.Fatalf("plan: %d %s", plan.status, plan.body)
		}
		// Another tenant's admin sees nothing of it.
		if r := e.do("POST", "/v1/legal-holds/"+holdID+"/release", e.other, "", nil); r.status != 404 {
			t.Fatalf("other tenant released the hold: %d", r.status)
		}
		if r := e.do("GET", "/v1/legal-holds", e.other, "", nil); strings.Contains(string(r.body), holdID) {
			t.Fatal("other tenant lists the hold")
		}
		r = e.do("POST", "/v1/legal-holds/"+holdID+"/release", dpo, "", nil)
		if r.status != 200 || r.json(t)["active"] != false {
			t.Fatalf("release: %d %s", r.status, r.body)
		}
		// The release swept the subject: nothing left, erased.
		if r := e.do("GET", "/v1/subjects/"+id+"?purpose=account", svc, "", nil); r.status != 404 {
			t.Fatalf("subject after release: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/v1/subjects/"+other+"?purpose=account", svc, "", nil); r.status != 200 {
			t.Fatalf("the other subject: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/v1/legal-holds?active=true", dpo, "", nil)
		if r.status != 200 || len(r.json(t)["holds"].([]any)) != 0 {
			t.Fatalf("active holds: %s", r.body)
		}
		// A run has nothing left to do.
		r = e.do("POST", "/v1/retention/run", dpo, "", nil)
		if r.status != 200 || r.json(t)["complete"] != true {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
	})
}

// TestRetentionInput: bad input is refused with a problem and changes
// nothing.
func TestRetentionInput(t *testing.T) {
	e := sqliteEnv(t)
	dpo, svc := e.keys[auth.RoleDPO], e.keys[auth.RoleService]
	problemOK(t, e.do("GET", "/v1/retention/plan", dpo, "", nil), 409, "no-policy")
	e.applyExample("door-entry.yaml")
	id := e.doorPerson(1)
	missing := "01a20000-0000-7000-8000-000000000000"
	problemOK(t, e.do("POST", "/v1/legal-holds", dpo, "application/json", []byte(`{"reason":"x","categories":["user.nope"]}`)), 422, "validation")
	problemOK(t, e.do("POST", "/v1/legal-holds", dpo, "application/json", []byte(`{"reason":"x","collections":["nope"]}`)), 422, "validation")
	problemOK(t, e.do("POST", "/v1/legal-holds", dpo, "application/json", []byte(`{"reason":"x","subject_id":"`+missing+`"}`)), 404, "not-found")
	problemOK(t, e.do("GET", "/v1/legal-holds/"+missing, dpo, "", nil), 404, "not-found")
	problemOK(t, e.do("POST", "/v1/subjects/"+missing+"/contract-end", svc, "application/json", []byte(`{}`)), 404, "not-found")
	problemOK(t, e.do("POST", "/v1/subjects/"+id+"/contract-end", svc, "application/json", []byte(`{"at":"2300-01-01T00:00:00Z"}`)), 422, "validation")
	if r := e.do("GET", "/v1/retention/plan?days=99999", dpo, "", nil); r.status != 422 {
		t.Errorf("days out of range: %d", r.status)
	}
	if r := e.do("DELETE", "/v1/subjects/"+id+"/contract-end", svc, "", nil); r.status != 200 {
		t.Errorf("clear contract end: %d %s", r.status, r.body)
	}
}
