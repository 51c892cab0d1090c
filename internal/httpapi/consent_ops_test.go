package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/synth"
)

func (e *env) postJSON(path, token string, v any) resp {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", path, token, "application/json", b)
}

func emailReason(t *testing.T, r resp) string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	v := r.json(t)
	if f := v["fields"].(map[string]any); f["email"] != nil {
		return "released"
	}
	return withheldReason(t, v, "email")
}

// TestConsentFlipsReads: through the HTTP API, a consent purpose goes from
// deny to allow to deny, each within one request of the change, as the
// vault's read for that purpose sees it.
func TestConsentFlipsReads(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(1)
		read := func() string {
			return emailReason(t, e.do("GET", "/v1/subjects/"+id+"?purpose=newsletter", svc, "", nil))
		}

		if got := read(); got != "consent_missing" {
			t.Fatalf("before consent: email %s", got)
		}
		r := e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{
			"choices": []map[string]any{{"purpose": "newsletter", "given": true}},
			"method":  "checkbox", "ip": "203.0.113.9", "page_url": "https://app.example.com/signup?ref=x", "source": "signup"})
		if r.status != 201 {
			t.Fatalf("give: %d %s", r.status, r.body)
		}
		receipt := r.json(t)["receipt_id"].(string)
		if strings.Contains(string(r.body), "203.0.113.9") || strings.Contains(string(r.body), "ref=x") {
			t.Error("the answer holds the raw IP or the query")
		}
		if got := read(); got != "released" {
			t.Fatalf("after consent: email %s", got)
		}
		r = e.do("DELETE", "/v1/subjects/"+id+"/consents/newsletter", svc, "", nil)
		if r.status != 200 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		if got := read(); got != "consent_withdrawn" {
			t.Fatalf("after withdrawal: email %s", got)
		}

		// A policy version that widens the newsletter: the old consent
		// counts as missing at once, until it is given again.
		e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}})
		if got := read(); got != "released" {
			t.Fatalf("after giving again: %s", got)
		}
		wider := strings.Replace(string(example(t, "learning-saas.yaml")),
			"categories: [user.contact.email, user.name, user.behavior.media_consumption]",
			"categories: [user.contact.email, user.name, user.behavior.media_consumption, user.professional_information.workplace]", 1)
		if r := e.do("PUT", "/v1/policy", e.keys[auth.RoleAdmin], "application/yaml", []byte(wider)); r.status != 201 || !strings.Contains(string(r.body), `"newsletter"`) {
			t.Fatalf("apply v2: %d %s", r.status, r.body)
		}
		if got := read(); got != "consent_missing" {
			t.Fatalf("after the widening change: email %s", got)
		}
		e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}})
		if got := read(); got != "released" {
			t.Fatalf("after renewing: %s", got)
		}
		e.do("DELETE", "/v1/subjects/"+id+"/consents/newsletter", svc, "", nil)

		// State and history.
		r = e.do("GET", "/v1/subjects/"+id+"/consents", e.keys[auth.RoleAgent], "", nil)
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("state: %d %s", r.status, r.body)
		}
		var st struct {
			Purposes []struct{ Purpose, Status string }
			History  []struct{ Kind, Purpose, ReceiptID string } `json:"history"`
		}
		json.Unmarshal(r.body, &st)
		if len(st.History) != 5 || st.History[0].Kind != "withdrawn" || st.History[4].Kind != "given" {
			t.Errorf("history: %s", r.body)
		}
		for _, p := range st.Purposes {
			if p.Purpose == "newsletter" && p.Status != "withdrawn" {
				t.Errorf("newsletter state %s", p.Status)
			}
		}

		// The receipt: Kantara fields; another tenant sees nothing.
		r = e.do("GET", "/v1/consents/"+receipt, e.keys[auth.RoleDPO], "", nil)
		if r.status != 200 {
			t.Fatalf("receipt: %d %s", r.status, r.body)
		}
		rc := r.json(t)
		for _, k := range []string{"version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "services", "trustee"} {
			if _, ok := rc[k]; !ok {
				t.Errorf("receipt lacks %s", k)
			}
		}
		if rc["consentReceiptID"] != receipt || rc["collectionMethod"] != "Check box in the application" {
			t.Errorf("receipt: %s", r.body)
		}
		problemOK(t, e.do("GET", "/v1/consents/"+receipt, e.other, "", nil), 404, "not-found")

		// Roles and input.
		problemOK(t, e.do("GET", "/v1/subjects/"+id+"/consents", e.keys[auth.RoleAuditor], "", nil), 403, "forbidden")
		problemOK(t, e.postJSON("/v1/subjects/"+id+"/consents", e.keys[auth.RoleAuditor], map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}}), 403, "forbidden")
		p := problemOK(t, e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "account", "given": true}}}), 422, "validation")
		if !strings.Contains(fmt.Sprint(p["errors"]), "body.choices.account") {
			t.Errorf("problem does not locate the purpose: %v", p)
		}
		problemOK(t, e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}, "mood": "happy"}), 422, "validation")
		problemOK(t, e.postJSON("/v1/subjects/00000000-0000-7000-8000-000000000000/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}}), 404, "not-found")
	})
}

// readNDJSON splits an audience stream into members and its end line.
func readNDJSON(t *testing.T, body []byte) (members []map[string]any, end map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, ok := m["end"]; ok {
			if end != nil {
				t.Fatal("two end lines")
			}
			end = m
			continue
		}
		if end != nil {
			t.Fatal("a member after the end line")
		}
		members = append(members, m)
	}
	return members, end
}

func TestAudienceStream(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		var want []string
		for i := range 12 {
			id := e.createPerson(100 + i)
			switch i % 3 {
			case 0:
				e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}})
				want = append(want, id)
			case 1:
				e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": false}}})
			}
		}
		r := e.do("GET", "/v1/purposes/newsletter/audience", svc, "", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("audience: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		members, end := readNDJSON(t, r.body)
		var got []string
		for _, m := range members {
			got = append(got, m["subject_id"].(string))
			if tok, _ := m["unsubscribe_token"].(string); tok == "" {
				t.Error("a newsletter member without an unsubscribe token")
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || end == nil || end["end"] != true || end["count"] != float64(len(want)) {
			t.Fatalf("audience %v (end %v), want %v", got, end, want)
		}
		problemOK(t, e.do("GET", "/v1/purposes/astrology/audience", svc, "", nil), 422, "unknown-purpose")
		problemOK(t, e.do("GET", "/v1/purposes/newsletter/audience", e.keys[auth.RoleAgent], "", nil), 403, "forbidden")
		// Another tenant's audience is its own.
		r = e.do("GET", "/v1/purposes/newsletter/audience", e.other, "", nil)
		if r.status == 200 {
			if m, _ := readNDJSON(t, r.body); len(m) != 0 {
				t.Error("another tenant's audience lists this tenant's subjects")
			}
		}
	})
}

// TestSuppressionSurvivesErasure: an unsubscribe through the one-click
// link puts the address on the suppression list; erasing the subject
// (DELETE /v1/subjects/{id}) does not take it off: the audience and a
// re-created subject with the same email are still suppressed.
func TestSuppressionSurvivesErasure(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		id := e.createPerson(7)
		e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": true}}})

		r := e.do("GET", "/v1/subjects/"+id+"/unsubscribe-link?purpose=newsletter", svc, "", nil)
		if r.status != 200 {
			t.Fatalf("link: %d %s", r.status, r.body)
		}
		link := r.json(t)
		path := link["path"].(string)
		if strings.Contains(path, "@") || link["list_unsubscribe_post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("link %v", link)
		}
		// The page only asks; a GET changes nothing.
		page := e.do("GET", path, "", "", nil)
		if page.status != 200 || !strings.Contains(string(page.body), "<form method=\"post\"") || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
			t.Fatalf("page: %d %s", page.status, page.body)
		}
		if strings.Contains(string(page.body), synth.Nth(7).Email) {
			t.Error("the page shows the address")
		}
		if got := emailReason(t, e.do("GET", "/v1/subjects/"+id+"?purpose=newsletter", svc, "", nil)); got != "released" {
			t.Fatalf("the confirmation page unsubscribed: %s", got)
		}
		// Tampered token: refused, nothing changes.
		tampered := strings.Replace(path, "/v1/public/", "/v1/public/x", 1)
		problemOrHTML(t, e.do("POST", tampered, "", "application/x-www-form-urlencoded", []byte("List-Unsubscribe=One-Click")), 400)
		// One click (RFC 8058): no key, no cookie.
		r = e.do("POST", path, "", "application/x-www-form-urlencoded", []byte("List-Unsubscribe=One-Click"))
		if r.status != 200 {
			t.Fatalf("one-click: %d %s", r.status, r.body)
		}
		for _, p := range []string{"newsletter", "customer_marketing"} {
			if got := emailReason(t, e.do("GET", "/v1/subjects/"+id+"?purpose="+p, svc, "", nil)); got != "objected" {
				t.Errorf("%s after unsubscribe: %s", p, got)
			}
		}
		// Erase; the person signs up again with the same email.
		if r := e.do("DELETE", "/v1/subjects/"+id, e.keys[auth.RoleDPO], "", nil); r.status != 200 {
			t.Fatalf("erase: %d %s", r.status, r.body)
		}
		again := e.createPerson(7)
		r = e.do("GET", "/v1/subjects/"+again+"/consents", svc, "", nil)
		if r.status != 200 || r.json(t)["suppressed"] != true {
			t.Fatalf("re-created subject not suppressed: %s", r.body)
		}
		r = e.do("GET", "/v1/purposes/customer_marketing/audience", svc, "", nil)
		members, end := readNDJSON(t, r.body)
		if end == nil {
			t.Fatalf("no end line: %s", r.body)
		}
		for _, m := range members {
			if m["subject_id"] == again || m["subject_id"] == id {
				t.Fatal("the audience includes a suppressed address after erasure")
			}
		}
		chk := e.do("GET", "/v1/suppressions?email="+url.QueryEscape(strings.ToUpper(synth.Nth(7).Email)), svc, "", nil)
		if chk.status != 200 || chk.json(t)["suppressed"] != true {
			t.Errorf("suppression check: %d %s", chk.status, chk.body)
		}
		if strings.Contains(e.logs.String(), synth.Nth(7).Email) {
			t.Error("the logs hold the email address")
		}
	})
}

func problemOrHTML(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// TestConsentStatsAPI: the dashboard numbers over the API count this
// tenant's choices only, validate the window, and need consents:read.
func TestConsentStatsAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		svc := e.keys[auth.RoleService]
		for i := range 3 {
			id := e.createPerson(200 + i)
			e.postJSON("/v1/subjects/"+id+"/consents", svc, map[string]any{"choices": []map[string]any{{"purpose": "newsletter", "given": i != 0}}})
		}
		r := e.do("GET", "/v1/consent-stats?days=7", e.keys[auth.RoleDPO], "", nil)
		if r.status != 200 {
			t.Fatalf("stats: %d %s", r.status, r.body)
		}
		var st struct {
			Events   int `json:"events"`
			Days     []any
			Purposes []struct {
				Purpose    string  `json:"purpose"`
				Given      int     `json:"given"`
				Withdrawn  int     `json:"withdrawn"`
				OptOutRate float64 `json:"opt_out_rate"`
			} `json:"purposes"`
		}
		if err := json.Unmarshal(r.body, &st); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range st.Purposes {
			if p.Purpose == "newsletter" {
				found = true
				if p.Given != 2 || p.Withdrawn != 1 || p.OptOutRate < 0.33 || p.OptOutRate > 0.34 {
					t.Errorf("newsletter: %+v", p)
				}
			}
		}
		if !found || st.Events != 3 || len(st.Days) != 7 {
			t.Errorf("stats: %s", r.body)
		}
		problemOK(t, e.do("GET", "/v1/consent-stats?days=0", e.keys[auth.RoleDPO], "", nil), 422, "validation")
		problemOK(t, e.do("GET", "/v1/consent-stats?days=9999", e.keys[auth.RoleDPO], "", nil), 422, "validation")
		problemOK(t, e.do("GET", "/v1/consent-stats", e.keys[auth.RoleAuditor], "", nil), 403, "forbidden")
		if r := e.do("GET", "/v1/consent-stats", e.other, "", nil); r.status == 200 && strings.Contains(string(r.body), `"events":3`) {
			t.Error("another tenant sees this tenant's counts")
		}
	})
}
