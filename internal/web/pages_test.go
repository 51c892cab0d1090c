package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/synth"
)

func TestSubjectLookupIsAuditedWithCaseReference(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "agent")
		person := synth.Nth(1)
		p := c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{
			"kind": {"email"}, "value": {" " + strings.ToUpper(person.Email) + " "}, "purpose": {"account"}, "case": {"TICKET-123"}})
		wantStatus(t, p, 200, "lookup")
		wantContains(t, p, "lookup", e.people[0], person.Email, "Released for this purpose", "Withheld",
			"This purpose does not use this kind of data", "not_in_purpose", "TICKET-123")
		if p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", p.header.Get("Cache-Control"))
		}
		ctx := context.Background()
		views, err := audit.List(ctx, e.app.Store, e.acme.ID, audit.Filter{Action: "console.subject_view"})
		if err != nil || len(views.Events) != 1 {
			t.Fatalf("console.subject_view events: %+v %v", views.Events, err)
		}
		ev := views.Events[0]
		if ev.Actor != "staff:"+e.staff["agent"].ID || ev.Role != "agent" || ev.Purpose != "account" || ev.SubjectID != e.people[0] ||
			ev.Reason != "case TICKET-123" || len(ev.Fields) == 0 {
			t.Errorf("view event %+v", ev)
		}
		reads, _ := audit.List(ctx, e.app.Store, e.acme.ID, audit.Filter{Action: "subject.read", SubjectID: e.people[0]})
		if len(reads.Events) != 1 || reads.Events[0].Actor != ev.Actor || reads.Events[0].RequestID != ev.RequestID {
			t.Errorf("vault read event %+v", reads.Events)
		}

		// Free text as a case reference is refused, and nothing is read.
		p = c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{
			"kind": {"email"}, "value": {person.Email}, "purpose": {"account"}, "case": {"call from " + person.First + " about her address"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "free-text case")
		wantContains(t, p, "free-text case", "letters, digits and dashes")
		if strings.Contains(p.body, "Released for this purpose") {
			t.Error("data shown with an invalid case reference")
		}
		// A purpose outside the policy is refused too.
		p = c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{"kind": {"email"}, "value": {person.Email}, "purpose": {"curiosity"}, "case": {"T-2"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "unknown purpose")
		// Nobody found: said plainly, and the attempt is audited.
		p = c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{"kind": {"email"}, "value": {"nobody@example.com"}, "purpose": {"account"}, "case": {"T-3"}})
		wantStatus(t, p, http.StatusNotFound, "not found")
		all, _ := audit.List(ctx, e.app.Store, e.acme.ID, audit.Filter{Limit: 1000})
		found := false
		for _, ev := range all.Events {
			if strings.Contains(ev.Reason, "T-3") && strings.Contains(ev.Reason, "no subject found") {
				found = true
			}
			for _, bad := range []string{person.Email, "nobody@example.com", "about her address"} {
				if strings.Contains(ev.Reason, bad) {
					t.Errorf("audit event holds typed text %q: %+v", bad, ev)
				}
			}
		}
		if !found {
			t.Error("the failed lookup is not audited")
		}
		// By subject id, for another purpose: different fields.
		p = c.post("/admin/acme/subjects", "/admin/acme/subjects", url.Values{"kind": {"id"}, "value": {e.people[1]}, "purpose": {"payments"}, "case": {"T-4"}})
		wantStatus(t, p, 200, "by id")
		wantContains(t, p, "by id", e.people[1], "payments")
	})
}

func TestPolicyUploadCheckApply(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "dpo")
		src, _ := examples.File("learning-saas")
		// An invalid policy: every problem at line:column with its source lines.
		bad := strings.Replace(string(src), "legal_basis: contract", "legal_basis: contrakt", 1)
		bad = strings.Replace(bad, "mode: controller", "mode: controler", 1)
		p := c.post("/admin/acme/policy", "/admin/acme/policy/check", url.Values{"source": {bad}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "invalid policy")
		wantContains(t, p, "invalid policy", "problem(s) — nothing was changed", "contrakt", `class="ln mark"`, `class="caret"`)
		line := lineOf(bad, "legal_basis: contrakt")
		wantContains(t, p, "invalid policy", "<strong class=\"pos\">"+itoa(line)+":")
		if strings.Contains(p.body, "Apply as version") {
			t.Error("an invalid policy can be applied")
		}
		// A valid change: the diff and the reconsent warning, then apply.
		good := strings.Replace(string(src), "categories: [user.contact.email, user.name, user.behavior.media_consumption]",
			"categories: [user.contact.email, user.name, user.behavior.media_consumption, user.contact.phone_number]", 1)
		if good == string(src) {
			t.Fatal("the example changed: adjust the edit")
		}
		p = c.post("/admin/acme/policy", "/admin/acme/policy/check", url.Values{"source": {good}})
		wantStatus(t, p, 200, "valid policy")
		wantContains(t, p, "valid policy", "The policy is valid", "Consent must be asked again", "newsletter", "Apply as version 2")
		p = c.post("/admin/acme/policy", "/admin/acme/policy/apply", url.Values{"source": {good}})
		wantStatus(t, p, http.StatusSeeOther, "apply")
		p = c.get("/admin/acme/policy?done=applied")
		wantContains(t, p, "after apply", "The policy was applied.", "<dd>2")
		ev, _ := audit.List(context.Background(), e.app.Store, e.acme.ID, audit.Filter{Action: "policy.apply"})
		if len(ev.Events) != 1 || !strings.Contains(ev.Events[0].Reason, "version 2") {
			t.Errorf("apply not audited: %+v", ev.Events)
		}
		// An agent may read the policy but not check or apply one.
		a := e.client()
		a.mustSignIn("acme", "agent")
		if p := a.get("/admin/acme/policy"); strings.Contains(p.body, "Upload a new version") {
			t.Error("agent sees the upload form")
		}
		p = a.post("/admin/acme/policy", "/admin/acme/policy/apply", url.Values{"source": {bad}})
		wantStatus(t, p, http.StatusForbidden, "agent applies")
	})
}

func lineOf(s, sub string) int {
	i := strings.Index(s, sub)
	return strings.Count(s[:i], "\n") + 1
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAuditPage(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "auditor")
		p := c.post("/admin/acme/audit", "/admin/acme/audit/verify", nil)
		wantStatus(t, p, 200, "verify")
		wantContains(t, p, "verify", "Intact.", "signatures checked")
		p = c.get("/admin/acme/audit?action=staff.signin")
		wantStatus(t, p, 200, "search")
		wantContains(t, p, "search", "staff.signin", `title="staff:`+e.staff["auditor"].ID+`">auditor</a>`)
		if strings.Contains(p.body, ">subject.create<") {
			t.Error("action filter ignored")
		}
		p = c.get("/admin/acme/audit?subject=" + e.people[0])
		wantContains(t, p, "by subject", "subject.create")
		p = c.get("/admin/acme/audit?since=yesterday")
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad date")
		p = c.get("/admin/acme/audit?cursor=garbage")
		wantStatus(t, p, http.StatusBadRequest, "bad cursor")
		// Paging: more than a page of events gives an "older" link that works.
		for range 55 {
			c.get("/admin/acme/audit?action=audit.list")
		}
		p = c.get("/admin/acme/audit?action=audit.list")
		next := regexpFind(`href="([^"]+)" rel="next"`, p.body)
		if next == "" {
			t.Fatal("no next page link")
		}
		wantStatus(t, c.get(strings.ReplaceAll(next, "&amp;", "&")), 200, "next page")
		// Listing is itself audited.
		ev, _ := audit.List(context.Background(), e.app.Store, e.acme.ID, audit.Filter{Action: "audit.verify"})
		if len(ev.Events) != 1 || !strings.HasPrefix(ev.Events[0].Reason, "intact") {
			t.Errorf("verify not audited: %+v", ev.Events)
		}
	})
}

func TestPrivacyCenter(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		p := c.get("/p/acme/")
		wantStatus(t, p, 200, "notice")
		wantContains(t, p, "notice", `lang="en"`, "trustee-notice", "Contents", `href="#main"`, "<main", "Earlier versions")
		if strings.Contains(p.header.Get("Cache-Control"), "no-store") {
			t.Errorf("the public notice need not be no-store: %q", p.header.Get("Cache-Control"))
		}
		// A second version with a change, then the history in plain words.
		src, _ := examples.File("learning-saas")
		good := strings.Replace(string(src), "categories: [user.contact.email, user.name, user.behavior.media_consumption]",
			"categories: [user.contact.email, user.name, user.behavior.media_consumption, user.contact.phone_number]", 1)
		if _, err := e.app.Tenants.Apply(context.Background(), e.acme.ID, "p.yaml", []byte(good), "test"); err != nil {
			t.Fatal(err)
		}
		p = c.get("/p/acme/versions")
		wantStatus(t, p, 200, "versions")
		wantContains(t, p, "versions", "Version 2", "Version 1", "Changed purpose: Newsletter", "we ask for your consent again for: Newsletter", "The first published version.")
		p = c.get("/p/acme/versions/1")
		wantStatus(t, p, 200, "version 1")
		wantContains(t, p, "version 1", "This is version 1, which is no longer current.")
		for _, path := range []string{"/p/acme/versions/9", "/p/nobody/", "/p/acme/versions/x"} {
			if p := c.get(path); p.status != 404 {
				t.Errorf("%s: %d", path, p.status)
			}
		}
		// Another tenant's notice is its own.
		p = c.get("/p/beta/")
		wantStatus(t, p, 200, "beta notice")
		if strings.Contains(p.body, "Brightfjord") {
			t.Error("beta's notice shows acme's controller")
		}
	})
}

// TestConsentDashboard: choices recorded through the ledger show up as
// counts per purpose and day, other tenants' never; the window is
// validated; roles without consents:read do not see the page.
func TestConsentDashboard(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		by := consent.Actor{ID: "test", Role: "service"}
		for i, given := range []bool{true, false} {
			if _, err := e.app.Consent.Record(ctx, e.acme.ID, consent.RecordInput{SubjectID: e.people[i], Method: store.MethodCheckbox,
				Choices: []consent.Choice{{Purpose: "newsletter", Given: given}}}, by); err != nil {
				t.Fatal(err)
			}
		}
		c := e.client()
		c.mustSignIn("acme", "dpo")
		p := c.get("/admin/acme/consent?days=7")
		wantStatus(t, p, 200, "dashboard")
		wantContains(t, p, "dashboard", "Newsletter", `<dd id="consent-events">2</dd>`, "50.0%", "checkbox: 2")
		wantStatus(t, c.get("/admin/acme/consent?days=0"), 400, "zero-day window")
		wantStatus(t, c.get("/admin/acme/consent?days=x"), 400, "bad window")

		b := e.client()
		b.mustSignIn("beta", "admin")
		p = b.get("/admin/beta/consent")
		wantStatus(t, p, 200, "other tenant's dashboard")
		wantContains(t, p, "other tenant's dashboard", `<dd id="consent-events">0</dd>`)

		au := e.client()
		au.mustSignIn("acme", "auditor")
		if p := au.get("/admin/acme/consent"); p.status == 200 {
			t.Errorf("an auditor sees the consent dashboard")
		}
	})
}
