package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/store"
)

// auditCount counts the tenant's audit events of action.
func auditCount(t *testing.T, e *env, tenantID, action string) int {
	t.Helper()
	l, err := audit.List(context.Background(), e.app.Store, tenantID, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Events)
}

// TestOperationsPagesPermissions: each page opens for a role with its
// permission and is in its navigation, and is refused (403, not in the
// navigation) for a role without.
func TestOperationsPagesPermissions(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		pages := []struct {
			path, heading string
			allowed       []string
			refused       []string
		}{
			{"/admin/acme/outbox", "<h1>Outbox</h1>", []string{"admin", "dpo"}, []string{"agent", "auditor", "service"}},
			{"/admin/acme/retention", "<h1>Retention</h1>", []string{"admin", "dpo", "auditor"}, []string{"agent", "service"}},
			{"/admin/acme/holds", "<h1>Legal holds</h1>", []string{"admin", "dpo"}, []string{"agent", "auditor", "service"}},
			{"/admin/acme/breaches", "<h1>Breaches</h1>", []string{"admin", "dpo"}, []string{"agent", "auditor", "service"}},
		}
		clients := map[string]*client{}
		for _, role := range []string{"admin", "dpo", "agent", "auditor", "service"} {
			clients[role] = e.client()
			clients[role].mustSignIn("acme", role)
		}
		for _, p := range pages {
			for _, role := range p.allowed {
				pg := clients[role].get(p.path)
				wantStatus(t, pg, http.StatusOK, role+" "+p.path)
				wantContains(t, pg, role+" "+p.path, p.heading, `href="`+p.path+`" aria-current="page"`)
			}
			for _, role := range p.refused {
				pg := clients[role].get(p.path)
				wantStatus(t, pg, http.StatusForbidden, role+" "+p.path)
				if strings.Contains(clients[role].get("/admin/acme/").body, `href="`+p.path+`"`) {
					t.Errorf("%s sees a link to %s", role, p.path)
				}
			}
		}
		// The auditor reads the plan but has no "run now".
		if strings.Contains(clients["auditor"].get("/admin/acme/retention").body, "Run the sweep now") {
			t.Error("auditor sees the run button")
		}
		// Not signed in: to the sign-in page.
		if pg := e.client().get("/admin/acme/breaches"); pg.status != http.StatusSeeOther || !strings.Contains(pg.header.Get("Location"), "/admin/acme/sign-in") {
			t.Errorf("anonymous: %d %s", pg.status, pg.header.Get("Location"))
		}
	})
}

func TestOutboxPage(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var ids []string
		err := e.app.Store.Write(ctx, func(tx store.Tx) error {
			for i, to := range []string{"kari.secret@example.org", "ola.secret@example.net"} {
				id, err := e.app.Outbox.Enqueue(tx, outbox.Message{TenantID: e.acme.ID, SubjectID: e.people[i], Topic: "test.topic",
					Email: &outbox.Email{To: to, Subject: "Private subject line", Text: "Private body text"}})
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := e.client()
		c.mustSignIn("acme", "dpo")
		p := c.get("/admin/acme/outbox")
		wantStatus(t, p, 200, "outbox")
		wantContains(t, p, "outbox", ids[0], ids[1], "test.topic", "example.org", "queued", "0/")
		for _, secret := range []string{"kari.secret", "ola.secret", "Private subject line", "Private body text"} {
			if strings.Contains(p.body, secret) {
				t.Errorf("the outbox page shows %q", secret)
			}
		}
		p = c.get("/admin/acme/outbox?status=delivered")
		wantStatus(t, p, 200, "filter")
		if strings.Contains(p.body, ids[0]) {
			t.Error("status filter ignored")
		}
		wantStatus(t, c.get("/admin/acme/outbox?status=bogus"), http.StatusBadRequest, "bad filter")

		// Retry now: audited, back to the page.
		wantStatus(t, c.do("POST", "/admin/acme/outbox/"+ids[0]+"/retry", url.Values{}, nil), http.StatusForbidden, "retry without CSRF")
		if n := auditCount(t, e, e.acme.ID, "outbox.retry"); n != 0 {
			t.Fatalf("refused retry audited: %d", n)
		}
		p = c.post("/admin/acme/outbox", "/admin/acme/outbox/"+ids[0]+"/retry", nil)
		wantStatus(t, p, http.StatusSeeOther, "retry")
		if n := auditCount(t, e, e.acme.ID, "outbox.retry"); n != 1 {
			t.Errorf("retry audit events: %d", n)
		}
		// Mark handled needs a note, shown at the message's field.
		p = c.post("/admin/acme/outbox", "/admin/acme/outbox/"+ids[1]+"/handled", url.Values{"note": {"  "}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "handled without note")
		wantContains(t, p, "handled without note", `id="note-`+ids[1]+`-error"`, "nothing was changed")
		wantStatus(t, c.do("POST", "/admin/acme/outbox/"+ids[1]+"/handled", url.Values{"note": {"phoned"}}, nil), http.StatusForbidden, "handled without CSRF")
		p = c.post("/admin/acme/outbox", "/admin/acme/outbox/"+ids[1]+"/handled", url.Values{"note": {"Phoned the recipient."}})
		wantStatus(t, p, http.StatusSeeOther, "handled")
		st, err := e.app.Outbox.Get(ctx, e.acme.ID, ids[1])
		if err != nil || st.State != outbox.Handled || st.Note != "Phoned the recipient." || st.HandledBy != "staff:"+e.staff["dpo"].ID {
			t.Errorf("after handled: %+v %v", st, err)
		}
		if n := auditCount(t, e, e.acme.ID, "outbox.handled"); n != 1 {
			t.Errorf("handled audit events: %d", n)
		}
		p = c.get("/admin/acme/outbox?status=handled&done=handled")
		wantContains(t, p, "handled list", ids[1], "Phoned the recipient.", "marked handled")
		// Final messages refuse both actions.
		wantStatus(t, c.post("/admin/acme/outbox", "/admin/acme/outbox/"+ids[1]+"/retry", nil), http.StatusConflict, "retry handled")
		// Another tenant's admin cannot see or touch acme's messages.
		b := e.client()
		b.mustSignIn("beta", "admin")
		if strings.Contains(b.get("/admin/beta/outbox").body, ids[0]) {
			t.Error("beta sees acme's message")
		}
		wantStatus(t, b.post("/admin/beta/outbox", "/admin/beta/outbox/"+ids[0]+"/retry", nil), http.StatusNotFound, "cross-tenant retry")
	})
}

func TestRetentionPageAndRun(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "dpo")
		p := c.get("/admin/acme/retention")
		wantStatus(t, p, 200, "plan")
		wantContains(t, p, "plan", `id="retention-rules"`, "within the next 30 days", "data-rule=")
		wantStatus(t, c.get("/admin/acme/retention?days=x"), http.StatusBadRequest, "bad window")
		wantContains(t, c.get("/admin/acme/retention?days=0"), "due now", "<h1>Retention</h1>")

		wantStatus(t, c.do("POST", "/admin/acme/retention/run", url.Values{}, nil), http.StatusForbidden, "run without CSRF")
		p = c.post("/admin/acme/retention", "/admin/acme/retention/run", nil)
		wantStatus(t, p, 200, "run")
		wantContains(t, p, "run", `id="run-result"`, "Sweep finished")
		if n := auditCount(t, e, e.acme.ID, "retention.run"); n != 1 {
			t.Errorf("run audit events: %d", n)
		}
		a := e.client()
		a.mustSignIn("acme", "auditor")
		wantStatus(t, a.post("/admin/acme/retention", "/admin/acme/retention/run", nil), http.StatusForbidden, "auditor run")
	})
}

func TestLegalHoldsPage(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "dpo")
		post := func(form url.Values) page { return c.post("/admin/acme/holds", "/admin/acme/holds", form) }

		// Mistakes are shown at their fields, and nothing is stored.
		p := post(url.Values{"scope": {"subject"}, "subject": {""}, "reason": {"Case 12"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "no subject")
		wantContains(t, p, "no subject", `id="h-subject-error"`, "Give the subject id")
		p = post(url.Values{"scope": {"all"}, "categories": {"user.nonsense"}, "purpose": {"curiosity"}, "reason": {" "}, "until": {"someday"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad hold")
		wantContains(t, p, "bad hold", `id="h-until-error"`)
		p = post(url.Values{"scope": {"all"}, "categories": {"user.nonsense"}, "purpose": {"curiosity"}, "reason": {" "}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad hold 2")
		wantContains(t, p, "bad hold 2", `id="h-categories-error"`, "User.nonsense is not a data category", `id="h-purpose-error"`, `id="h-reason-error"`)
		p = post(url.Values{"scope": {"subject"}, "subject": {e.betaSubjOrNew(t)}, "reason": {"Case 12"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "other tenant's subject")
		wantContains(t, p, "other tenant's subject", "no such subject")
		if hs, _ := e.app.Retention.ListHolds(context.Background(), e.acme.ID, "", false); len(hs) != 0 {
			t.Fatalf("holds stored after mistakes: %+v", hs)
		}
		wantStatus(t, c.do("POST", "/admin/acme/holds", url.Values{"scope": {"all"}, "reason": {"x"}}, nil), http.StatusForbidden, "without CSRF")

		p = post(url.Values{"scope": {"subject"}, "subject": {e.people[0]}, "categories": {"user.contact"}, "reason": {"Lawsuit 2026-17"},
			"until": {time.Now().AddDate(1, 0, 0).Format("2006-01-02")}})
		wantStatus(t, p, http.StatusSeeOther, "place")
		hs, _ := e.app.Retention.ListHolds(context.Background(), e.acme.ID, "", false)
		if len(hs) != 1 || hs[0].SubjectID != e.people[0] || len(hs[0].Categories) != 1 || hs[0].Until.IsZero() {
			t.Fatalf("holds: %+v", hs)
		}
		p = c.get("/admin/acme/holds?done=hold-placed")
		wantContains(t, p, "list", "The legal hold was placed", hs[0].ID, "Lawsuit 2026-17", "in force", "user.contact")
		if n := auditCount(t, e, e.acme.ID, "legal_hold.create"); n != 1 {
			t.Errorf("create audit events: %d", n)
		}
		// Another tenant cannot release it.
		b := e.client()
		b.mustSignIn("beta", "admin")
		wantStatus(t, b.post("/admin/beta/holds", "/admin/beta/holds/"+hs[0].ID+"/release", nil), http.StatusNotFound, "cross-tenant release")
		wantStatus(t, c.do("POST", "/admin/acme/holds/"+hs[0].ID+"/release", url.Values{}, nil), http.StatusForbidden, "release without CSRF")
		p = c.post("/admin/acme/holds", "/admin/acme/holds/"+hs[0].ID+"/release", nil)
		wantStatus(t, p, http.StatusSeeOther, "release")
		wantContains(t, c.get("/admin/acme/holds"), "after release", "released ")
		if n := auditCount(t, e, e.acme.ID, "legal_hold.release"); n != 1 {
			t.Errorf("release audit events: %d", n)
		}
	})
}

// betaSubjOrNew returns a subject of tenant beta.
func (e *env) betaSubjOrNew(t *testing.T) string {
	t.Helper()
	if e.betaSubj == "" {
		c, err := e.app.Vault.Create(context.Background(), e.beta.ID, doorEntryPerson(t, e), vaultActor)
		if err != nil {
			t.Fatal(err)
		}
		e.betaSubj = c.ID
	}
	return e.betaSubj
}

func TestBreachPages(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.mustSignIn("acme", "dpo")
		create := func(form url.Values) page { return c.post("/admin/acme/breaches", "/admin/acme/breaches", form) }
		now := time.Now().UTC()

		p := create(url.Values{"title": {"Laptop"}, "detected_at": {"yesterday"}, "scope_categories": {"user.nonsense"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad date")
		wantContains(t, p, "bad date", `id="b-detected-error"`, "nothing was recorded")
		p = create(url.Values{"title": {"Laptop"}, "detected_at": {now.Add(-time.Hour).Format("2006-01-02T15:04")}, "scope_categories": {"user.nonsense"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "no nature")
		wantContains(t, p, "no nature", `id="b-nature-error"`, "Is required", `id="b-scats-error"`, "not a data category", `value="Laptop"`)
		if bs, _ := e.app.Breach.List(context.Background(), e.acme.ID, 10); len(bs) != 0 {
			t.Fatalf("stored after mistakes: %d", len(bs))
		}
		wantStatus(t, c.do("POST", "/admin/acme/breaches", url.Values{"title": {"x"}}, nil), http.StatusForbidden, "create without CSRF")

		p = create(url.Values{"title": {"Laptop stolen"}, "nature": {"An unencrypted laptop was stolen."},
			"detected_at": {now.Add(-2 * time.Hour).Format("2006-01-02T15:04")}, "categories": {"user.contact.email"},
			"subject_ids": {e.people[0] + ", " + e.people[1]}, "consequences": {"Phishing."}})
		wantStatus(t, p, http.StatusSeeOther, "create")
		loc := p.header.Get("Location")
		id := regexpFind(`/breaches/([0-9a-f-]{36})\?done=breach-created$`, loc)
		if id == "" {
			t.Fatalf("create redirect %q", loc)
		}
		base := "/admin/acme/breaches/" + id
		p = c.get(loc)
		wantStatus(t, p, 200, "detail")
		wantContains(t, p, "detail", "The breach was recorded", "Laptop stolen", "h left", `<meter min="0" max="72"`, `id="suggested">risk`, "not assessed")
		// An old breach is overdue on the register.
		create(url.Values{"title": {"Old incident"}, "nature": {"Found late."}, "detected_at": {now.Add(-100 * time.Hour).Format("2006-01-02T15:04")}})
		p = c.get("/admin/acme/breaches")
		wantContains(t, p, "register", "Laptop stolen", "Old incident", "overdue by 2", "h left")

		// Compute the affected set.
		wantStatus(t, c.do("POST", base+"/affected", url.Values{}, nil), http.StatusForbidden, "affected without CSRF")
		p = c.post(base, base+"/affected", nil)
		wantStatus(t, p, 200, "affected")
		wantContains(t, p, "affected", `id="computed"`, "now holds 2 subject(s)", `<div data-state="pending"><dt>pending</dt><dd>2</dd>`)
		// People are not notified before a high risk is confirmed.
		p = c.post(base, base+"/notify", nil)
		wantStatus(t, p, http.StatusConflict, "notify early")
		wantContains(t, p, "notify early", "confirm the risk first")
		// Overriding the suggestion needs a reason, asked at the field.
		p = c.post(base, base+"/assess", url.Values{"risk": {"high"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "assess without reason")
		wantContains(t, p, "assess without reason", `id="a-reason-error"`, "override the suggested risk level risk")
		p = c.post(base, base+"/assess", url.Values{"risk": {"high"}, "reason": {"students targeted"}})
		wantStatus(t, p, http.StatusSeeOther, "assess")
		p = c.post(base, base+"/authority", url.Values{"at": {"soon"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad authority time")
		wantContains(t, p, "bad authority time", `id="n-at-error"`)
		p = c.post(base, base+"/authority", url.Values{"reference": {"DPA-77"}})
		wantStatus(t, p, http.StatusSeeOther, "authority")
		p = c.get(base)
		wantContains(t, p, "after authority", "authority told in time", "DPA-77", "high (confirmed")
		p = c.post(base, base+"/notify", nil)
		wantStatus(t, p, 200, "notify")
		wantContains(t, p, "notify", `id="notified"`, "2 notice(s) queued", `<div data-state="queued"><dt>queued</dt><dd>2</dd>`)
		for _, action := range []string{"breach.create", "breach.affected", "breach.assess", "breach.authority_notified", "breach.notify"} {
			if n := auditCount(t, e, e.acme.ID, action); n < 1 {
				t.Errorf("no %s audit event", action)
			}
		}
		// The notification document, both formats.
		p = c.get(base + "/notification.md")
		wantStatus(t, p, 200, "md")
		wantContains(t, p, "md", "# Personal data breach notification", "DPA-77")
		if !strings.HasPrefix(p.header.Get("Content-Type"), "text/markdown") || !strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("md headers %v", p.header)
		}
		p = c.get(base + "/notification.json")
		wantStatus(t, p, 200, "json")
		wantContains(t, p, "json", `"authority_reference": "DPA-77"`, `"approx_subjects": 2`)

		// Tenant isolation: another tenant's admin gets 404 for every route.
		b := e.client()
		b.mustSignIn("beta", "admin")
		other := "/admin/beta/breaches/" + id
		wantStatus(t, b.get(other), http.StatusNotFound, "cross-tenant detail")
		wantStatus(t, b.get(other+"/notification.md"), http.StatusNotFound, "cross-tenant document")
		wantStatus(t, b.post("/admin/beta/breaches", other+"/close", nil), http.StatusNotFound, "cross-tenant close")
		if strings.Contains(b.get("/admin/beta/breaches").body, "Laptop stolen") {
			t.Error("beta sees acme's breach")
		}
		wantStatus(t, c.get("/admin/acme/breaches/not-an-id"), http.StatusNotFound, "bad id")

		p = c.post(base, base+"/close", url.Values{"note": {"done"}})
		wantStatus(t, p, http.StatusSeeOther, "close")
		p = c.get(base)
		wantContains(t, p, "closed", "Closed ", ": done")
		if strings.Contains(p.body, base+"/assess") {
			t.Error("closed breach still offers the assessment form")
		}
		p = c.post("/admin/acme/breaches", base+"/assess", url.Values{"risk": {"low"}, "reason": {"x"}})
		wantStatus(t, p, http.StatusConflict, "assess closed")
		wantContains(t, p, "assess closed", "The breach is closed.")
	})
}
