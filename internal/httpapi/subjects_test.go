package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/synth"
)

func (e *env) applyExample(name string) {
	e.t.Helper()
	if r := e.do("PUT", "/v1/policy", e.keys[auth.RoleAdmin], "application/yaml", example(e.t, name)); r.status != 201 && r.status != 200 {
		e.t.Fatalf("apply %s: %d %s", name, r.status, r.body)
	}
}

func personBody(t testing.TB, n int, extra map[string]any) []byte {
	t.Helper()
	fields := map[string]any{}
	for k, v := range synth.Nth(n).LearningSaaSFields() {
		fields[k] = v
	}
	for k, v := range extra {
		fields[k] = v
	}
	b, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) createPerson(n int) string {
	e.t.Helper()
	r := e.do("POST", "/v1/subjects", e.keys[auth.RoleService], "application/json", personBody(e.t, n, nil))
	if r.status != 201 {
		e.t.Fatalf("create person %d: %d %s", n, r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

func withheldReason(t *testing.T, view map[string]any, field string) string {
	t.Helper()
	for _, w := range view["withheld"].([]any) {
		m := w.(map[string]any)
		if m["field"] == field {
			return m["reason"].(string)
		}
	}
	return ""
}

func TestSubjectsCreateAndRead(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		svc := e.keys[auth.RoleService]
		problemOK(t, e.do("POST", "/v1/subjects", svc, "application/json", personBody(t, 1, nil)), 409, "no-policy")
		e.applyExample("learning-saas.yaml")

		r := e.do("POST", "/v1/subjects", svc, "application/json", personBody(t, 1, nil))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		created := r.json(t)
		id := created["id"].(string)
		if fmt.Sprint(created["identities"]) != "[email external_id login]" || len(created["fields"].([]any)) != 8 {
			t.Errorf("create answer: %s", r.body)
		}
		if strings.Contains(string(r.body), synth.Nth(1).Email) {
			t.Error("the create answer echoes personal data")
		}

		// Read for a purpose: released fields and withheld ones with reasons.
		r = e.do("GET", "/v1/subjects/"+id+"?purpose=account", e.keys[auth.RoleAgent], "", nil)
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		view := r.json(t)
		fields := view["fields"].(map[string]any)
		if fields["email"].(map[string]any)["value"] != synth.Nth(1).Email || fields["name"] == nil {
			t.Errorf("account purpose did not release email and name: %s", r.body)
		}
		if fields["billing_address"] != nil || withheldReason(t, view, "billing_address") != "not_in_purpose" {
			t.Errorf("billing_address should be withheld as not_in_purpose: %s", r.body)
		}

		problemOK(t, e.do("GET", "/v1/subjects/"+id, svc, "", nil), 400, "purpose-required")
		problemOK(t, e.do("GET", "/v1/subjects/"+id+"?purpose=astrology", svc, "", nil), 422, "unknown-purpose")
		problemOK(t, e.do("GET", "/v1/subjects/"+store.NewID()+"?purpose=account", svc, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/subjects/not-a-uuid?purpose=account", svc, "", nil), 422, "validation")
		problemOK(t, e.do("GET", "/v1/subjects/"+id+"?purpose=account", e.keys[auth.RoleAuditor], "", nil), 403, "forbidden")

		// Lookup by each identity, normalised as stored.
		p := synth.Nth(1)
		for _, q := range []string{
			"email=" + url.QueryEscape("  "+strings.ToUpper(p.Email)+" "),
			"external_id=" + p.UserID,
			"login=" + p.Login,
		} {
			r := e.do("GET", "/v1/subjects?purpose=account&"+q, svc, "", nil)
			if r.status != 200 || r.json(t)["id"] != id {
				t.Errorf("lookup %s: %d %s", q, r.status, r.body)
			}
		}
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email=nobody@example.com", svc, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email=a@example.com&login=x", svc, "", nil), 400, "bad-request")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account", svc, "", nil), 400, "bad-request")
		problemOK(t, e.do("GET", "/v1/subjects?email="+url.QueryEscape(p.Email), svc, "", nil), 400, "purpose-required")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email=not-an-email", svc, "", nil), 422, "validation")

		// Another tenant's key on this subject id: exactly like absence.
		problemOK(t, e.do("GET", "/v1/subjects/"+id+"?purpose=account", e.other, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(p.Email), e.other, "", nil), 404, "not-found")
	})
}

func TestSubjectsBadInputChangesNothing(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		cases := []struct {
			name   string
			body   string
			status int
			typ    string
			where  string
		}{
			{"undeclared field", string(personBody(t, 2, map[string]any{"nickname": "x", "shoe_size": 44})), 422, "validation", "body.fields.nickname"},
			{"identity not a string", string(personBody(t, 2, map[string]any{"email": 42})), 422, "validation", "body.fields.email"},
			{"malformed email", string(personBody(t, 2, map[string]any{"email": "no-at-sign"})), 422, "validation", "body.fields.email"},
			{"missing required email", `{"fields":{"name":"X"}}`, 422, "validation", "body.fields.email"},
			{"null value", string(personBody(t, 2, map[string]any{"name": nil})), 422, "validation", "body.fields.name"},
			{"anonymous with identity", `{"anonymous":true,"fields":{"email":"anon@example.com"}}`, 422, "validation", "body.fields.email"},
			{"value too large", string(personBody(t, 2, map[string]any{"name": strings.Repeat("x", 70<<10)})), 422, "validation", "body.fields.name"},
			{"unknown top-level key", `{"fields":{"email":"a@example.com"},"colour":"red"}`, 422, "validation", ""},
			{"wrong type", `{"fields":"email"}`, 422, "validation", ""},
			{"truncated JSON", `{"fields":{"email":`, 400, "bad-request", ""},
			{"invalid UTF-8", "{\"fields\":{\"email\":\"a@example.com\",\"name\":\"\xff\xfe\"}}", 400, "bad-request", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", "/v1/subjects", svc, "application/json", []byte(c.body))
				m := problemOK(t, r, c.status, c.typ)
				if c.where != "" && !strings.Contains(string(r.body), `"location":"`+c.where+`"`) {
					t.Errorf("problem does not point at %s: %s", c.where, r.body)
				}
				// Problems name fields, never echo what was submitted.
				if strings.Contains(string(r.body), `"value"`) || strings.Contains(string(r.body), "shoe_size\":44") {
					t.Errorf("problem echoes a submitted value: %v", m)
				}
			})
		}
		// None of them stored anything.
		p := synth.Nth(2)
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(p.Email), svc, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email=anon@example.com", svc, "", nil), 404, "not-found")
	})
}

func TestSubjectsDuplicatesAndIdempotency(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(3)

		// The same email, differently written, is the same person.
		other := map[string]any{"email": "  " + strings.ToUpper(synth.Nth(3).Email), "user_id": "usr_other", "social_login_id": "other3"}
		r := e.do("POST", "/v1/subjects", svc, "application/json", personBody(t, 4, other))
		m := problemOK(t, r, 409, "identity-conflict")
		if m["subject_id"] != id {
			t.Errorf("409 names %v, want %s", m["subject_id"], id)
		}
		// Nothing of the rejected subject was stored.
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&external_id=usr_other", svc, "", nil), 404, "not-found")

		// Idempotency-Key: a retry answers the first result.
		body := personBody(t, 5, nil)
		req := func(key string, b []byte) resp {
			return e.doHeaders("POST", "/v1/subjects", svc, b, map[string]string{"Idempotency-Key": key, "Content-Type": "application/json"})
		}
		first := req("create-5", body)
		again := req("create-5", body)
		if first.status != 201 || again.status != 200 || first.json(t)["id"] != again.json(t)["id"] {
			t.Fatalf("idempotent retry: %d %s / %d %s", first.status, first.body, again.status, again.body)
		}
		problemOK(t, req("create-5", personBody(t, 6, nil)), 422, "idempotency-mismatch")
	})
}

// TestSubjectsConcurrentSameEmail: 64 concurrent creates of the same email
// over HTTP; exactly one succeeds and the others name it.
func TestSubjectsConcurrentSameEmail(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		const n = 64
		var wg sync.WaitGroup
		res := make([]resp, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				b := personBody(t, 100+i, map[string]any{"email": "same.person@example.com"})
				res[i] = e.do("POST", "/v1/subjects", svc, "application/json", b)
			}(i)
		}
		wg.Wait()
		var winner string
		for _, r := range res {
			if r.status == 201 {
				if winner != "" {
					t.Fatal("two creates of one email succeeded")
				}
				winner = r.json(t)["id"].(string)
			}
		}
		if winner == "" {
			t.Fatal("no create succeeded")
		}
		for _, r := range res {
			if r.status == 201 {
				continue
			}
			if m := problemOK(t, r, 409, "identity-conflict"); m["subject_id"] != winner {
				t.Errorf("409 names %v, want %s", m["subject_id"], winner)
			}
		}
	})
}

func TestSubjectsRectifyAndAudit(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(7)
		otherID := e.createPerson(8)
		_ = otherID
		newEmail := "renamed.person7@example.com"
		r := e.do("PATCH", "/v1/subjects/"+id, svc, "application/json", []byte(`{"fields":{"email":"`+newEmail+`","name":null}}`))
		if r.status != 200 {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		u := r.json(t)
		if fmt.Sprint(u["changed"]) != "[email]" || fmt.Sprint(u["removed"]) != "[name]" {
			t.Errorf("patch answer: %s", r.body)
		}
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(synth.Nth(7).Email), svc, "", nil), 404, "not-found")
		r = e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(newEmail), svc, "", nil)
		if r.status != 200 || r.json(t)["id"] != id || r.json(t)["fields"].(map[string]any)["name"] != nil {
			t.Fatalf("after rectification: %d %s", r.status, r.body)
		}
		// Taking another person's email is refused and changes nothing.
		m := problemOK(t, e.do("PATCH", "/v1/subjects/"+id, svc, "application/json", []byte(`{"fields":{"email":"`+synth.Nth(8).Email+`"}}`)), 409, "identity-conflict")
		if m["subject_id"] != otherID {
			t.Errorf("conflict names %v", m["subject_id"])
		}
		problemOK(t, e.do("PATCH", "/v1/subjects/"+id, svc, "application/json", []byte(`{"fields":{"favourite_colour":"red"}}`)), 422, "validation")
		problemOK(t, e.do("PATCH", "/v1/subjects/"+id, svc, "application/json", []byte(`{"fields":{}}`)), 422, "validation")
		r = e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(newEmail), svc, "", nil)
		if r.status != 200 {
			t.Fatalf("a refused rectification changed the subject: %d", r.status)
		}

		// Field-level delete.
		if r := e.do("DELETE", "/v1/subjects/"+id+"/fields/job_title", svc, "", nil); r.status != 204 {
			t.Fatalf("delete field: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("DELETE", "/v1/subjects/"+id+"/fields/job_title", svc, "", nil), 404, "not-found")
		problemOK(t, e.do("DELETE", "/v1/subjects/"+id+"/fields/nonsense", svc, "", nil), 422, "validation")

		// The audit log names fields and reasons, never values.
		r = e.do("GET", "/v1/audit?subject="+id, e.keys[auth.RoleAuditor], "", nil)
		if r.status != 200 {
			t.Fatalf("audit: %d %s", r.status, r.body)
		}
		log := string(r.body)
		for _, action := range []string{"subject.create", "subject.read", "subject.update", "subject.field_delete"} {
			if !strings.Contains(log, `"`+action+`"`) {
				t.Errorf("audit lacks %s: %s", action, log)
			}
		}
		if !strings.Contains(log, "previous value set") {
			t.Errorf("rectification audit does not record the old value's existence and time: %s", log)
		}
		for _, value := range []string{newEmail, synth.Nth(7).Email, synth.Nth(7).First, synth.Nth(7).UserID} {
			if strings.Contains(log, value) {
				t.Errorf("audit log contains the value %q", value)
			}
		}
		r = e.do("GET", "/v1/audit/verify", e.keys[auth.RoleAuditor], "", nil)
		if r.status != 200 || r.json(t)["intact"] != true {
			t.Errorf("audit verify: %d %s", r.status, r.body)
		}
	})
}

func TestSubjectsConsentGatesARead(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(9)
		newsletter := func() map[string]any {
			r := e.do("GET", "/v1/subjects/"+id+"?purpose=newsletter", svc, "", nil)
			if r.status != 200 {
				t.Fatalf("newsletter read: %d %s", r.status, r.body)
			}
			return r.json(t)
		}
		if reason := withheldReason(t, newsletter(), "email"); reason != "consent_missing" {
			t.Fatalf("before consent: email withheld as %q, want consent_missing", reason)
		}
		consent := func(kind string) {
			err := e.st.Write(context.Background(), func(tx store.Tx) error {
				return tx.AppendConsent(store.ConsentEvent{TenantID: e.tenantA.ID, ID: store.NewID(), SubjectID: id,
					Purpose: "newsletter", Kind: kind, PolicyVersion: 1, Method: "api", At: time.Now().UTC()})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		consent(store.ConsentGiven)
		v := newsletter()
		if v["fields"].(map[string]any)["email"] == nil {
			t.Fatalf("after consent the email is still withheld: %v", v["withheld"])
		}
		consent(store.ConsentWithdrawn)
		if reason := withheldReason(t, newsletter(), "email"); reason != "consent_withdrawn" {
			t.Fatalf("after withdrawal: email withheld as %q, want consent_withdrawn", reason)
		}

		// A minor without parental consent.
		b, _ := json.Marshal(map[string]any{"minor": true, "fields": synth.Nth(10).LearningSaaSFields()})
		r := e.do("POST", "/v1/subjects", svc, "application/json", b)
		if r.status != 201 {
			t.Fatalf("create minor: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/v1/subjects/"+r.json(t)["id"].(string)+"?purpose=account", svc, "", nil)
		if reason := withheldReason(t, r.json(t), "email"); reason != "under_minimum_age" {
			t.Errorf("minor's email withheld as %q, want under_minimum_age", reason)
		}
	})
}

func TestCollectionsAndDecisions(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(11)
		for i := 0; i < 3; i++ {
			r := e.do("POST", "/v1/subjects/"+id+"/collections/orders", svc, "application/json", []byte(fmt.Sprintf(`{"data":{"plan":"Team","seats":%d}}`, i+1)))
			if r.status != 201 || r.json(t)["id"] == "" {
				t.Fatalf("append: %d %s", r.status, r.body)
			}
		}
		problemOK(t, e.do("POST", "/v1/subjects/"+id+"/collections/wishlist", svc, "application/json", []byte(`{"data":{}}`)), 422, "validation")
		problemOK(t, e.do("POST", "/v1/subjects/"+id+"/collections/orders", svc, "application/json", []byte(`{"data":null}`)), 422, "validation")
		problemOK(t, e.do("POST", "/v1/subjects/"+store.NewID()+"/collections/orders", svc, "application/json", []byte(`{"data":{}}`)), 404, "not-found")

		r := e.do("GET", "/v1/subjects/"+id+"/collections/orders?purpose=payments&limit=2", svc, "", nil)
		page := r.json(t)
		if r.status != 200 || len(page["records"].([]any)) != 2 || page["next_cursor"] == nil {
			t.Fatalf("page 1: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/v1/subjects/"+id+"/collections/orders?purpose=payments&limit=2&cursor="+page["next_cursor"].(string), svc, "", nil)
		page2 := r.json(t)
		recs := page2["records"].([]any)
		if len(recs) != 1 || page2["next_cursor"] != nil || !strings.Contains(string(r.body), `"seats":3`) {
			t.Fatalf("page 2: %s", r.body)
		}
		problemOK(t, e.do("GET", "/v1/subjects/"+id+"/collections/orders?purpose=payments&cursor=%25%25", svc, "", nil), 422, "validation")

		// A purpose that may not use purchase history gets no records.
		r = e.do("GET", "/v1/subjects/"+id+"/collections/orders?purpose=account", svc, "", nil)
		page = r.json(t)
		if r.status != 200 || len(page["records"].([]any)) != 0 || !strings.Contains(string(r.body), "not_in_purpose") {
			t.Fatalf("account purpose on orders: %s", r.body)
		}

		// Decisions: allow or deny per category, single and batch.
		r = e.do("POST", "/v1/decisions", svc, "application/json", []byte(`{"subject":"`+id+`","purpose":"account","categories":["user.contact.email","user.contact.address"]}`))
		if r.status != 200 {
			t.Fatalf("decide: %d %s", r.status, r.body)
		}
		var dec struct {
			Decisions []struct {
				Results []struct {
					Category string `json:"category"`
					Allowed  bool   `json:"allowed"`
					Reason   string `json:"reason"`
				} `json:"results"`
			} `json:"decisions"`
		}
		if err := json.Unmarshal(r.body, &dec); err != nil || len(dec.Decisions) != 1 || len(dec.Decisions[0].Results) != 2 {
			t.Fatalf("decision body: %s", r.body)
		}
		if res := dec.Decisions[0].Results; !res[0].Allowed || res[1].Allowed || res[1].Reason != "not_in_purpose" {
			t.Errorf("decisions = %+v", res)
		}
		r = e.do("POST", "/v1/decisions", svc, "application/json", []byte(`{"requests":[{"subject":"`+id+`","purpose":"newsletter","categories":["user.contact.email"]},{"subject":"`+id+`","purpose":"payments","categories":["user.payment"]}]}`))
		if r.status != 200 || strings.Count(string(r.body), `"purpose"`) != 2 || !strings.Contains(string(r.body), "consent_missing") {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("POST", "/v1/decisions", svc, "application/json", []byte(`{"subject":"`+id+`","purpose":"account","categories":["user.favourite_colour"]}`)), 422, "validation")
		problemOK(t, e.do("POST", "/v1/decisions", svc, "application/json", []byte(`{}`)), 422, "validation")
	})
}

func TestEraseShredsOrKeepsWhatTheLawRequires(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		plain := e.createPerson(12)
		r := e.do("DELETE", "/v1/subjects/"+plain, svc, "", nil)
		if r.status != 200 || r.json(t)["key_destroyed"] != true {
			t.Fatalf("erase: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("GET", "/v1/subjects/"+plain+"?purpose=account", svc, "", nil), 404, "not-found")
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(synth.Nth(12).Email), svc, "", nil), 404, "not-found")
		// The key is gone: no copy of the data can be read again.
		if _, err := e.app.Keys.SubjectKey(context.Background(), e.tenantA.ID, plain); err == nil {
			t.Error("the data key of an erased subject still exists")
		}
		// Erasing again is harmless.
		if r := e.do("DELETE", "/v1/subjects/"+plain, svc, "", nil); r.status != 200 {
			t.Errorf("second erase: %d %s", r.status, r.body)
		}
		// A subject with orders: bookkeeping law keeps them; the key stays
		// until they go, the rest is deleted and the person is unfindable.
		withOrders := e.createPerson(13)
		if r := e.do("POST", "/v1/subjects/"+withOrders+"/collections/orders", svc, "application/json", []byte(`{"data":{"plan":"Team"}}`)); r.status != 201 {
			t.Fatal(r.status)
		}
		r = e.do("DELETE", "/v1/subjects/"+withOrders, svc, "", nil)
		m := r.json(t)
		if r.status != 200 || m["key_destroyed"] != false || !strings.Contains(string(r.body), `"name":"orders"`) || !strings.Contains(string(r.body), "Bookkeeping") {
			t.Fatalf("erase with kept orders: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("GET", "/v1/subjects?purpose=account&email="+url.QueryEscape(synth.Nth(13).Email), svc, "", nil), 404, "not-found")
		r = e.do("GET", "/v1/subjects/"+withOrders+"/collections/orders?purpose=bookkeeping", svc, "", nil)
		if r.status != 200 || len(r.json(t)["records"].([]any)) != 1 {
			t.Errorf("kept orders not readable for bookkeeping: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/v1/subjects/"+withOrders+"/collections/orders?purpose=payments", svc, "", nil)
		if r.status != 200 || len(r.json(t)["records"].([]any)) != 0 {
			t.Errorf("kept orders readable for payments after erasure: %d %s", r.status, r.body)
		}
		problemOK(t, e.do("DELETE", "/v1/subjects/"+plain, e.keys[auth.RoleAgent], "", nil), 403, "forbidden")
	})
}
