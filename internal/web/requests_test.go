package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/browsertest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/synth"
)

var staffActor = rights.Actor{ID: "test", Role: "admin"}

// newRequest takes in a request by phone for an acme person (or, with
// subject "", for an email address that matches nobody).
func newRequest(t *testing.T, e *env, typ, subject string, d rights.Details) *rights.Request {
	t.Helper()
	in := rights.Input{Type: typ, Channel: rights.ChannelStaff, StaffVia: "phone", SubjectID: subject, Details: d}
	if subject == "" {
		in.Identity = &rights.IdentityInput{Kind: "email", Value: "nobody.known@example.com"}
	}
	c, err := e.app.Rights.Create(context.Background(), e.acme.ID, in, staffActor)
	if err != nil {
		t.Fatalf("create %s: %v", typ, err)
	}
	return c.Request
}

// verified verifies a request by hand, as staff would.
func verified(t *testing.T, e *env, r *rights.Request) {
	t.Helper()
	if _, err := e.app.Rights.Verify(context.Background(), e.acme.ID, r.ID, rights.VerifyInput{Method: rights.MethodManual, Checked: "passport"}, staffActor); err != nil {
		t.Fatal(err)
	}
}

// setDue moves a request's due time, for the due-soon and overdue filters.
func setDue(t *testing.T, e *env, id string, due time.Time) {
	t.Helper()
	err := e.app.Store.Write(context.Background(), func(tx store.Tx) error {
		row, err := tx.GetRequest(e.acme.ID, id)
		if err != nil {
			return err
		}
		row.DueAt = due
		return tx.UpdateRequest(row)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// auditEvents lists acme's audit events of action.
func auditEvents(t *testing.T, e *env, action string) []audit.StoredEvent {
	t.Helper()
	l, err := audit.List(context.Background(), e.app.Store, e.acme.ID, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return l.Events
}

func requestStatus(t *testing.T, e *env, id string) string {
	t.Helper()
	r, err := e.app.Rights.Get(context.Background(), e.acme.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// TestRequestQueue: the queue lists requests in plain words with their
// due dates, and filters by type, status, due soon and overdue.
func TestRequestQueue(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		access := newRequest(t, e, "access", e.people[0], rights.Details{})
		erasure := newRequest(t, e, "erasure", e.people[1], rights.Details{})
		verified(t, e, erasure)
		late := newRequest(t, e, "objection", e.people[0], rights.Details{ObjectionKind: "direct_marketing"})
		setDue(t, e, late.ID, time.Now().Add(-49*time.Hour))
		soon := newRequest(t, e, "restriction", e.people[1], rights.Details{Ground: "accuracy_contested"})
		setDue(t, e, soon.ID, time.Now().Add(3*24*time.Hour+time.Hour))

		c := e.client()
		c.mustSignIn("acme", "agent")
		p := c.get("/admin/acme/requests")
		wantStatus(t, p, http.StatusOK, "queue")
		wantContains(t, p, "queue", "<h1>Requests</h1>", `href="/admin/acme/requests" aria-current="page"`,
			"Access: a copy of their data", "Erase their data", "…"+access.ID[len(access.ID)-8:], "verifying identity", "in progress",
			`<span class="outcome-denied overdue">overdue by 3 days</span>`, "3 days left", "staff (phone)")
		// Soonest due first: the overdue one leads.
		if strings.Index(p.body, late.ID) > strings.Index(p.body, access.ID) {
			t.Error("queue not sorted by due date")
		}
		for _, tc := range []struct {
			query    string
			want     []string
			notWant  []string
			wantText string
		}{
			{"type=erasure", []string{erasure.ID}, []string{access.ID, late.ID, soon.ID}, ""},
			{"status=verifying", []string{access.ID}, []string{erasure.ID}, ""},
			{"due=overdue", []string{late.ID}, []string{access.ID, erasure.ID, soon.ID}, ""},
			{"due=soon", []string{soon.ID}, []string{access.ID, erasure.ID, late.ID}, ""},
			{"type=portability", nil, []string{access.ID}, "No requests match the filter"},
		} {
			p := c.get("/admin/acme/requests?" + tc.query)
			wantStatus(t, p, http.StatusOK, tc.query)
			for _, id := range tc.want {
				if !strings.Contains(p.body, id) {
					t.Errorf("%s: %s missing", tc.query, id)
				}
			}
			for _, id := range tc.notWant {
				if strings.Contains(p.body, id) {
					t.Errorf("%s: %s listed", tc.query, id)
				}
			}
			if tc.wantText != "" {
				wantContains(t, p, tc.query, tc.wantText)
			}
		}
		for _, bad := range []string{"type=nope", "status=nope", "due=tomorrow", "page=0", "page=x"} {
			wantStatus(t, c.get("/admin/acme/requests?"+bad), http.StatusBadRequest, bad)
		}
		// The auditor has no requests:read.
		au := e.client()
		au.mustSignIn("acme", "auditor")
		wantStatus(t, au.get("/admin/acme/requests"), http.StatusForbidden, "auditor")
		if strings.Contains(au.get("/admin/acme/").body, `href="/admin/acme/requests"`) {
			t.Error("auditor sees the Requests link")
		}
	})
}

// TestRequestCaseView: what the person asked for is shown only in a case
// view, recorded as console.request_view with the case reference; without
// a valid reference nothing is shown or recorded.
func TestRequestCaseView(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		secret := "I moved to Storgata 5 and my old address is wrong"
		r := newRequest(t, e, "erasure", e.people[0], rights.Details{Reason: secret})
		path := "/admin/acme/requests/" + r.ID
		c := e.client()
		c.mustSignIn("acme", "agent")
		p := c.get(path)
		wantStatus(t, p, http.StatusOK, "detail")
		wantContains(t, p, "detail", "Erase their data", r.ID, `id="view-form"`, "verifying identity", "received")
		if strings.Contains(p.body, secret) || strings.Contains(p.body, "taken by staff") {
			t.Fatal("the details are shown without a case view")
		}
		for _, bad := range []string{"", "support ticket 1", strings.Repeat("x", 41)} {
			p = c.post(path, path+"/view", url.Values{"case": {bad}})
			wantStatus(t, p, http.StatusUnprocessableEntity, "case "+bad)
			wantContains(t, p, "case "+bad, `id="view-case-error"`)
			if strings.Contains(p.body, secret) {
				t.Fatalf("details shown for case %q", bad)
			}
		}
		wantStatus(t, c.do("POST", path+"/view", url.Values{"case": {"TICKET-7"}}, nil), http.StatusForbidden, "view without CSRF")
		if n := auditCount(t, e, e.acme.ID, "console.request_view"); n != 0 {
			t.Fatalf("refused views audited: %d", n)
		}
		p = c.post(path, path+"/view", url.Values{"case": {"TICKET-7"}})
		wantStatus(t, p, http.StatusOK, "case view")
		wantContains(t, p, "case view", secret, `id="case-view"`, "TICKET-7", "taken by staff (phone)")
		views := auditEvents(t, e, "console.request_view")
		if len(views) != 1 || !strings.Contains(views[0].Reason, "case TICKET-7") || !strings.Contains(views[0].Reason, r.ID) ||
			views[0].SubjectID != e.people[0] || strings.Contains(views[0].Reason, "Storgata") {
			t.Errorf("console.request_view: %+v", views)
		}
		// Another tenant's staff cannot open it by URL.
		b := e.client()
		b.mustSignIn("beta", "admin")
		wantStatus(t, b.get("/admin/beta/requests/"+r.ID), http.StatusNotFound, "other tenant")
		wantStatus(t, b.post("/admin/beta/requests", "/admin/beta/requests/"+r.ID+"/view", url.Values{"case": {"T-1"}}), http.StatusNotFound, "other tenant view")
		wantStatus(t, b.post("/admin/beta/requests", "/admin/beta/requests/"+r.ID+"/refuse", url.Values{"reason": {"excessive"}}), http.StatusNotFound, "other tenant refuse")
		if requestStatus(t, e, r.ID) != rights.StatusVerifying {
			t.Error("another tenant changed the request")
		}
		wantStatus(t, c.get("/admin/acme/requests/not-an-id"), http.StatusNotFound, "bad id")
		wantStatus(t, c.get("/admin/acme/requests/0190a0a0-0000-7000-8000-000000000000"), http.StatusNotFound, "unknown id")
	})
}

// TestRequestActions: each action changes the request's state, needs the
// CSRF token, shows mistakes at their fields, and the decisions are
// refused for the agent (no requests:decide), who still verifies and
// withdraws (requests:write, as in the API).
func TestRequestActions(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		admin, agent := e.client(), e.client()
		admin.mustSignIn("acme", "admin")
		agent.mustSignIn("acme", "agent")
		post := func(c *client, id, action string, form url.Values) page {
			t.Helper()
			return c.post("/admin/acme/requests/"+id, "/admin/acme/requests/"+id+"/"+action, form)
		}

		// Verify by hand: the agent may; a note of what was checked is required.
		r := newRequest(t, e, "erasure", e.people[0], rights.Details{})
		wantStatus(t, agent.do("POST", "/admin/acme/requests/"+r.ID+"/verify", url.Values{"checked": {"passport"}}, nil), http.StatusForbidden, "verify without CSRF")
		p := post(agent, r.ID, "verify", url.Values{"checked": {" "}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "verify without note")
		wantContains(t, p, "verify without note", `id="v-checked-error"`, "nothing was changed")
		p = post(agent, r.ID, "verify", url.Values{"checked": {"passport at the desk"}})
		wantStatus(t, p, http.StatusSeeOther, "verify")
		if got := requestStatus(t, e, r.ID); got != rights.StatusInProgress {
			t.Fatalf("after verify: %s", got)
		}
		p = agent.get(p.header.Get("Location"))
		wantContains(t, p, "after verify", "recorded as verified", "yes, manual")
		// The agent sees no decision forms.
		if strings.Contains(p.body, `id="approve-form"`) || strings.Contains(p.body, `id="refuse-form"`) {
			t.Error("agent is offered decisions")
		}

		// Decisions: refused for the agent and without CSRF; nothing changes.
		for _, action := range []string{"approve", "extend", "refuse", "complete", "instruct", "recipients/azure/handled"} {
			wantStatus(t, post(agent, r.ID, action, url.Values{"reason": {"other"}, "text": {"x"}, "by": {"1mo"}, "note": {"n"}}), http.StatusForbidden, "agent "+action)
			wantStatus(t, admin.do("POST", "/admin/acme/requests/"+r.ID+"/"+action, url.Values{"reason": {"other"}, "text": {"x"}}, nil), http.StatusForbidden, action+" without CSRF")
		}
		if got := requestStatus(t, e, r.ID); got != rights.StatusInProgress {
			t.Fatalf("refused actions changed the request: %s", got)
		}

		// Extend: the reason is required, then once only.
		p = post(admin, r.ID, "extend", url.Values{"by": {"2mo"}, "reason": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "extend without reason")
		wantContains(t, p, "extend without reason", `id="e-reason-error"`)
		p = post(admin, r.ID, "extend", url.Values{"by": {"2mo"}, "reason": {"many systems to search"}})
		wantStatus(t, p, http.StatusSeeOther, "extend")
		if got := requestStatus(t, e, r.ID); got != rights.StatusExtended {
			t.Fatalf("after extend: %s", got)
		}
		p = post(admin, r.ID, "extend", url.Values{"by": {"1mo"}, "reason": {"again"}})
		if p.status != http.StatusConflict && p.status != http.StatusForbidden {
			// The form is not offered any more; posted anyway, the state error is a banner.
			t.Errorf("second extension: %d", p.status)
		}

		// Approve the erasure: the recipients without endpoints wait for a person.
		p = post(admin, r.ID, "approve", nil)
		wantStatus(t, p, http.StatusOK, "approve erasure")
		wantContains(t, p, "approve erasure", `id="approved"`)
		got, err := e.app.Rights.Get(context.Background(), e.acme.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		recips, err := e.app.Rights.Recipients(context.Background(), e.acme.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The example policy passes erased data on to recipients without
		// endpoints, so each waits for a person.
		if len(recips) == 0 {
			t.Fatal("the erasure concerned no recipient")
		}
		{
			if got.Status == rights.StatusCompleted {
				t.Fatal("completed with recipients outstanding")
			}
			wantContains(t, admin.get("/admin/acme/requests/"+r.ID), "recipients", `id="request-recipients"`, "no endpoint: tell them by hand")
			// Completing now says which recipients are outstanding.
			p = post(admin, r.ID, "complete", url.Values{"note": {""}})
			wantStatus(t, p, http.StatusConflict, "complete too early")
			wantContains(t, p, "complete too early", "Recipients have not acknowledged yet")
			for _, rc := range recips {
				p = post(admin, r.ID, "recipients/"+rc.Recipient+"/handled", url.Values{"note": {""}})
				wantStatus(t, p, http.StatusUnprocessableEntity, "handled without note")
				wantContains(t, p, "handled without note", `id="h-`+rc.Recipient+`-error"`)
				p = post(admin, r.ID, "recipients/"+rc.Recipient+"/handled", url.Values{"note": {"emailed their DPO"}})
				wantStatus(t, p, http.StatusSeeOther, "handled "+rc.Recipient)
			}
			wantStatus(t, post(admin, r.ID, "recipients/nobody/handled", url.Values{"note": {"x"}}), http.StatusNotFound, "unknown recipient")
			p = post(admin, r.ID, "complete", url.Values{"note": {"all told"}})
			wantStatus(t, p, http.StatusSeeOther, "complete")
		}
		if got := requestStatus(t, e, r.ID); got != rights.StatusCompleted {
			t.Fatalf("after approve and complete: %s", got)
		}
		p = admin.get("/admin/acme/requests/" + r.ID)
		wantContains(t, p, "completed", `data-status="completed"`, `id="request-outcome"`)
		if strings.Contains(p.body, `id="refuse-form"`) || strings.Contains(p.body, `id="approve-form"`) {
			t.Error("actions offered on a completed request")
		}

		// Refuse: "other" needs words; then refused.
		r2 := newRequest(t, e, "objection", e.people[1], rights.Details{ObjectionKind: "direct_marketing"})
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"other"}, "text": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "refuse without text")
		wantContains(t, p, "refuse without text", `id="f-text-error"`)
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"bogus"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "refuse bad reason")
		wantContains(t, p, "refuse bad reason", `id="f-reason-error"`)
		// A fee (the policy's fees are excessive_only) keeps it open.
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"excessive"}, "fee_amount": {"25,5"}, "fee_currency": {"EUR"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad fee")
		wantContains(t, p, "bad fee", `id="f-amount-error"`)
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"excessive"}, "fee_amount": {"25.5"}, "fee_currency": {"eur"}})
		wantStatus(t, p, http.StatusSeeOther, "fee")
		wantContains(t, admin.get(p.header.Get("Location")), "fee page", "25.50 EUR", "The fee was recorded")
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"manifestly_unfounded"}})
		wantStatus(t, p, http.StatusSeeOther, "refuse")
		if got := requestStatus(t, e, r2.ID); got != rights.StatusRefused {
			t.Fatalf("after refuse: %s", got)
		}
		p = post(admin, r2.ID, "refuse", url.Values{"reason": {"excessive"}})
		wantStatus(t, p, http.StatusConflict, "refuse twice")
		wantContains(t, p, "refuse twice", "The request is already refused", `role="alert"`)

		// A request that matched nobody is completed with a note.
		r3 := newRequest(t, e, "access", "", rights.Details{})
		p = post(admin, r3.ID, "complete", url.Values{"note": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "complete without note")
		wantContains(t, p, "complete without note", `id="c-note-error"`)
		wantStatus(t, post(admin, r3.ID, "complete", url.Values{"note": {"told them we hold nothing"}}), http.StatusSeeOther, "complete nobody")
		if got := requestStatus(t, e, r3.ID); got != rights.StatusCompleted {
			t.Fatalf("after complete: %s", got)
		}

		// Approving an unverified request is a banner, not a change.
		r4 := newRequest(t, e, "access", e.people[1], rights.Details{})
		p = post(admin, r4.ID, "approve", nil)
		wantStatus(t, p, http.StatusConflict, "approve unverified")
		wantContains(t, p, "approve unverified", "has not been verified")
		// Withdraw: the agent may (requests:write).
		wantStatus(t, post(agent, r4.ID, "withdraw", nil), http.StatusSeeOther, "withdraw")
		if got := requestStatus(t, e, r4.ID); got != rights.StatusWithdrawn {
			t.Fatalf("after withdraw: %s", got)
		}
	})
}

// TestRequestInstruct: a processor tenant's request waits for the
// controller's instruction, recorded by a decider.
func TestRequestInstruct(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		src, _ := examples.File("learning-saas")
		proc := strings.Replace(string(src), "\nmode: controller\n", "\nmode: processor\n", 1)
		if _, err := e.app.Tenants.Apply(context.Background(), e.acme.ID, "p.yaml", []byte(proc), "test"); err != nil {
			t.Fatal(err)
		}
		r := newRequest(t, e, "erasure", e.people[0], rights.Details{})
		if r.Status != rights.StatusAwaitingController {
			t.Fatalf("status %s", r.Status)
		}
		admin, agent := e.client(), e.client()
		admin.mustSignIn("acme", "admin")
		agent.mustSignIn("acme", "agent")
		path := "/admin/acme/requests/" + r.ID
		wantContains(t, admin.get(path), "instruct form", `id="instruct-form"`)
		wantStatus(t, agent.post(path, path+"/instruct", url.Values{"decision": {"proceed"}}), http.StatusForbidden, "agent instruct")
		p := admin.post(path, path+"/instruct", url.Values{"decision": {"maybe"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "bad decision")
		wantContains(t, p, "bad decision", `id="i-decision-error"`)
		wantStatus(t, admin.post(path, path+"/instruct", url.Values{"decision": {"proceed"}, "note": {"customer ticket 9"}}), http.StatusSeeOther, "instruct")
		if got := requestStatus(t, e, r.ID); got != rights.StatusVerifying {
			t.Fatalf("after instruct: %s", got)
		}
	})
}

// TestRequestApproveAccess: approving a verified access request shows the
// PDF password and single-use download links once; the detail page
// afterwards offers new links but never the password.
func TestRequestApproveAccess(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		r := newRequest(t, e, "access", e.people[0], rights.Details{})
		verified(t, e, r)
		c := e.client()
		c.mustSignIn("acme", "dpo")
		path := "/admin/acme/requests/" + r.ID
		wantContains(t, c.get(path), "approve form", `id="approve-form"`)
		p := c.post(path, path+"/approve", nil)
		wantStatus(t, p, http.StatusOK, "approve")
		pw := regexpFind(`<code class="secret" id="pdf-password">([^<]+)</code>`, p.body)
		if pw == "" {
			t.Fatalf("no PDF password on the approval page:\n%s", p.body)
		}
		link := regexpFind(`<a href="(/v1/exports/download/[^"]+)" data-format="json"`, p.body)
		if link == "" || !strings.Contains(p.body, `data-format="pdf"`) || !strings.Contains(p.body, `data-format="csv"`) {
			t.Fatalf("download links missing:\n%s", p.body)
		}
		if got := requestStatus(t, e, r.ID); got != rights.StatusCompleted {
			t.Errorf("access request after approval: %s", got)
		}
		// The link downloads the export, once.
		dl := e.client().get(link)
		wantStatus(t, dl, http.StatusOK, "download")
		if !strings.Contains(dl.body, r.SubjectID) && !strings.Contains(dl.body, synth.Nth(1).Email) {
			t.Errorf("download is not the person's export: %.200s", dl.body)
		}
		if again := e.client().get(link); again.status == http.StatusOK {
			t.Error("download link worked twice")
		}
		// Afterwards: no password anywhere, new links on request.
		p = c.get(path)
		wantStatus(t, p, http.StatusOK, "detail after approval")
		if strings.Contains(p.body, pw) || strings.Contains(p.body, "pdf-password") {
			t.Fatal("the detail page shows the PDF password again")
		}
		wantContains(t, p, "detail after approval", `id="export-forms"`)
		p = c.post(path, path+"/export/csv", nil)
		wantStatus(t, p, http.StatusSeeOther, "export link")
		if loc := p.header.Get("Location"); !strings.HasPrefix(loc, "/v1/exports/download/") {
			t.Errorf("export link to %q", loc)
		}
		wantStatus(t, c.post(path, path+"/export/xml", nil), http.StatusNotFound, "bad format")
		ag := e.client()
		ag.mustSignIn("acme", "agent")
		wantStatus(t, ag.post(path, path+"/export/json", nil), http.StatusForbidden, "agent export")
	})
}

// TestBrowserRequests drives the request queue in headless Chromium: a
// staff member signs in, opens the queue, opens a verified access request,
// reads what was asked for a case, approves it and sees the PDF password
// and the download links, saving a screenshot of each page.
func TestBrowserRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t, engineDSNs()[0].dsn(t))
	access := newRequest(t, e, "access", e.people[0], rights.Details{Reason: "Everything you hold about me, please"})
	verified(t, e, access)
	late := newRequest(t, e, "erasure", e.people[1], rights.Details{})
	setDue(t, e, late.ID, time.Now().Add(-30*time.Hour))
	newRequest(t, e, "objection", e.people[1], rights.Details{ObjectionKind: "direct_marketing"})

	ctx := browsertest.New(t, browsertest.Options{})
	base := e.srv.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Run(t, ctx, what, actions...)
	}
	shot := func(name string) { browsertest.Screenshot(t, ctx, "requests-"+name) }

	run("sign in",
		chromedp.Navigate(base+"/admin/acme/requests"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "dpo"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action$="/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#requests-list")))
	if q := browsertest.Text(t, ctx, "#requests-list"); !strings.Contains(q, "Access: a copy of their data") || !strings.Contains(q, "overdue by 2 days") {
		t.Errorf("queue: %s", q)
	}
	shot("01-queue")

	run("open the access request",
		chromedp.Click(chromedp.CSS(`tr[data-request="`+access.ID+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS("#approve-form")))
	if v := browsertest.Text(t, ctx, "#verified"); !strings.HasPrefix(v, "yes, manual") {
		t.Errorf("verification: %q", v)
	}
	shot("02-detail")

	run("case view",
		chromedp.SendKeys(chromedp.CSS("#view-case"), "TICKET-77"),
		chromedp.Click(chromedp.CSS(`#view-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#case-view")))
	if d := browsertest.Text(t, ctx, "#request-details"); !strings.Contains(d, "Everything you hold about me") {
		t.Errorf("details: %q", d)
	}
	shot("03-case-view")

	run("approve",
		chromedp.Click(chromedp.CSS(`#approve-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#pdf-password")))
	if pw := browsertest.Text(t, ctx, "#pdf-password"); len(pw) < 8 {
		t.Errorf("PDF password %q", pw)
	}
	if l := browsertest.Text(t, ctx, "#export-links"); !strings.Contains(l, "Download json") || !strings.Contains(l, "Download pdf") {
		t.Errorf("download links: %q", l)
	}
	if st := browsertest.Text(t, ctx, "#request-status"); st != "completed" {
		t.Errorf("status after approval: %q", st)
	}
	shot("04-approved")

	run("detail again", chromedp.Navigate(base+"/admin/acme/requests/"+access.ID), chromedp.WaitVisible(chromedp.CSS("#export-forms")))
	if html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerHTML`)); strings.Contains(html, "pdf-password") {
		t.Error("the password is shown again")
	}
	shot("05-after-approval")
}
