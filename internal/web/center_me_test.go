package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestCenterMeSignIn: the application's token is exchanged once for the
// self-service cookie and dropped from the URL; expired, forged and other
// tenants' tokens are refused, and the cookie of one tenant signs nobody
// in at another.
func TestCenterMeSignIn(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		now := time.Now()
		good := subjectToken(t, e, e.acme.ID, e.people[0], 0, now)
		forged := good[:len(good)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(good, "AA")]
		cases := []struct {
			name, slug, token string
		}{
			{"expired", "acme", subjectToken(t, e, e.acme.ID, e.people[0], time.Minute, now.Add(-2*time.Minute))},
			{"forged", "acme", forged},
			{"garbage", "acme", "not-a-token"},
			{"another tenant's token", "acme", subjectToken(t, e, e.beta.ID, e.betaSubjOrNew(t), 0, now)},
			{"this tenant's token at another tenant", "beta", good},
		}
		for _, tc := range cases {
			c := e.client()
			p := c.get("/p/" + tc.slug + "/me?token=" + url.QueryEscape(tc.token))
			wantStatus(t, p, http.StatusForbidden, tc.name)
			wantContains(t, p, tc.name, "This link no longer works")
			wantStatus(t, c.get("/p/"+tc.slug+"/me"), http.StatusUnauthorized, tc.name+": afterwards")
		}

		c := e.client()
		p := c.get("/p/acme/me?token=" + url.QueryEscape(good))
		wantStatus(t, p, http.StatusSeeOther, "exchange")
		if loc := p.header.Get("Location"); loc != "/p/acme/me" {
			t.Errorf("exchange went to %q", loc)
		}
		// A token signs a person in once: the same link, in another
		// browser (say, from the first one's history), no longer works.
		replay := e.client().get("/p/acme/me?token=" + url.QueryEscape(good))
		wantStatus(t, replay, http.StatusForbidden, "a used token")
		wantContains(t, replay, "a used token", "This link no longer works")
		var ck *http.Cookie
		for _, x := range (&http.Response{Header: p.header}).Cookies() {
			if x.Name == "trustee-me" {
				ck = x
			}
		}
		if ck == nil || !ck.HttpOnly || ck.MaxAge <= 0 || ck.MaxAge > 30*60 || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Fatalf("self-service cookie: %+v", ck)
		}
		if strings.Contains(ck.Value, good) {
			t.Error("the cookie is the application's token")
		}
		person := synth.Nth(1)
		me := c.get("/p/acme/me")
		wantStatus(t, me, 200, "me")
		wantContains(t, me, "me", person.Email, person.Company, "Job title", "User Contact Email", "Used for", "Delete your account",
			"Norwegian Bookkeeping Act", "Our backups forget deleted data within 90 days", "Your consents")
		if strings.Contains(me.body, synth.Nth(2).Email) {
			t.Error("another person's data on the page")
		}
		// The read is audited as the subject themself.
		pg, err := audit.List(t.Context(), e.app.Store, e.acme.ID, audit.Filter{SubjectID: e.people[0], Action: "subject.export"})
		if err != nil || len(pg.Events) == 0 || pg.Events[0].Actor != "subject" {
			t.Errorf("export audit: %+v %v", pg.Events, err)
		}
		// The acme cookie does not sign in at beta.
		wantStatus(t, c.get("/p/beta/me"), http.StatusUnauthorized, "acme cookie at beta")
		// Sign-out ends it.
		wantStatus(t, c.post("/p/acme/me", "/p/acme/me/sign-out", nil), http.StatusSeeOther, "sign out")
		wantStatus(t, c.get("/p/acme/me"), http.StatusUnauthorized, "after sign-out")
	})
}

// TestCenterMeActions: correcting a field files a rectification request,
// deleting the account an erasure request, both verified by the sign-in
// and left for staff; an objection to direct marketing is carried out at
// once; every action needs the form token.
func TestCenterMeActions(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		c.signInMe("acme", e.acme.ID, e.people[0])
		sub := e.people[0]

		// Without the form token nothing happens.
		wantStatus(t, c.do("POST", "/p/acme/me/erase", url.Values{"confirm": {"yes"}}, nil), http.StatusForbidden, "erase without token")

		p := c.post("/p/acme/me", "/p/acme/me/correct", url.Values{"field": {"name"}, "value": {"Kari Rettet"}})
		wantStatus(t, p, http.StatusSeeOther, "correct")
		if loc := p.header.Get("Location"); loc != "/p/acme/me?done=correct" {
			t.Errorf("correct went to %s", loc)
		}
		p = c.post("/p/acme/me", "/p/acme/me/correct", url.Values{"field": {"no_such_field"}, "value": {"x"}})
		wantStatus(t, p, http.StatusUnprocessableEntity, "correct unknown field")
		wantContains(t, p, "correct unknown field", "not a field declared in the policy")

		p = c.post("/p/acme/me", "/p/acme/me/erase", nil)
		wantStatus(t, p, http.StatusUnprocessableEntity, "erase unconfirmed")
		p = c.post("/p/acme/me", "/p/acme/me/erase", url.Values{"confirm": {"yes"}})
		wantStatus(t, p, http.StatusSeeOther, "erase")

		p = c.post("/p/acme/me", "/p/acme/me/object", url.Values{"purpose": {"newsletter"}})
		wantStatus(t, p, http.StatusSeeOther, "object to marketing")
		if loc := p.header.Get("Location"); loc != "/p/acme/me?done=objected" {
			t.Errorf("objection went to %s", loc)
		}
		wantStatus(t, c.post("/p/acme/me", "/p/acme/me/object", url.Values{"purpose": {"service"}}), http.StatusUnprocessableEntity, "object to contract purpose")

		byType := map[string]*rights.Request{}
		for _, r := range subjectRequests(t, e, e.acme.ID, sub) {
			byType[r.Type] = r
			if r.Channel != rights.ChannelPrivacyCenter {
				t.Errorf("%s: channel %s", r.Type, r.Channel)
			}
		}
		if len(byType) != 3 {
			t.Fatalf("requests: %v", byType)
		}
		rect := byType["rectification"]
		if rect == nil || !rect.Verified() || rect.State.Verification.Method != rights.MethodAppToken || rect.Status != rights.StatusInProgress ||
			string(rect.Details.Fields["name"]) != `"Kari Rettet"` {
			t.Errorf("rectification: %+v", rect)
		}
		er := byType["erasure"]
		if er == nil || !er.Verified() || er.Status != rights.StatusInProgress {
			t.Errorf("erasure: %+v", er)
		}
		obj := byType["objection"]
		if obj == nil || obj.Status != rights.StatusCompleted || obj.Details.ObjectionKind != store.ObjectDirectMarketing {
			t.Errorf("objection: %+v", obj)
		}
		// The page says what happened and lists the requests.
		me := c.get("/p/acme/me?done=objected")
		wantContains(t, me, "me after actions", "we no longer use your data for that marketing", "Correct my data", "Delete my data",
			"Being handled", "Done")
		// Nothing was changed before staff approve.
		if strings.Contains(me.body, "Kari Rettet") {
			t.Error("the correction was applied before approval")
		}
	})
}

// TestCenterPreferences: a choice made in the center is a banner ledger
// event whose receipt shows on the page; "do not sell or share" is offered
// where the CCPA applies; signed out, the page points to the banner.
func TestCenterPreferences(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		c := e.client()
		// Signed out, a post changes nothing.
		p := c.post("/p/acme/requests?type=access", "/p/acme/preferences", url.Values{"purpose": {"newsletter"}, "choice": {"on"}})
		wantStatus(t, p, http.StatusUnauthorized, "signed-out post")

		c.signInMe("acme", e.acme.ID, e.people[0])
		p = c.get("/p/acme/preferences")
		wantStatus(t, p, 200, "preferences")
		wantContains(t, p, "preferences", "Newsletter", "Not given", "Do not sell or share my personal information", "Give consent")

		p = c.post("/p/acme/preferences", "/p/acme/preferences", url.Values{"purpose": {"newsletter"}, "choice": {"on"}})
		wantStatus(t, p, http.StatusSeeOther, "give")
		p = c.post("/p/acme/preferences", "/p/acme/preferences", url.Values{"purpose": {store.PurposeSaleShare}, "choice": {"on"}})
		wantStatus(t, p, http.StatusSeeOther, "do not sell")
		wantStatus(t, c.post("/p/acme/preferences", "/p/acme/preferences", url.Values{"purpose": {"service"}, "choice": {"on"}}),
			http.StatusUnprocessableEntity, "not a consent purpose")

		st, err := e.app.Consent.State(t.Context(), e.acme.ID, e.people[0], consent.Actor{ID: "test"})
		if err != nil {
			t.Fatal(err)
		}
		var news consent.PurposeState
		for _, ps := range st.Purposes {
			if ps.Purpose == "newsletter" {
				news = ps
			}
		}
		if news.Status != consent.StatusGiven || news.Method != store.MethodBanner || news.ReceiptID == "" || !st.DoNotSell {
			t.Fatalf("ledger: %+v do-not-sell %v", news, st.DoNotSell)
		}
		p = c.get("/p/acme/preferences?done=saved")
		wantContains(t, p, "after saving", "Your choice was saved", news.ReceiptID, "Withdraw", "Turn off “do not sell or share”")

		// Withdrawing is as easy: one button.
		wantStatus(t, c.post("/p/acme/preferences", "/p/acme/preferences", url.Values{"purpose": {"newsletter"}, "choice": {"off"}}),
			http.StatusSeeOther, "withdraw")
		st, _ = e.app.Consent.State(t.Context(), e.acme.ID, e.people[0], consent.Actor{ID: "test"})
		for _, ps := range st.Purposes {
			if ps.Purpose == "newsletter" && ps.Status != consent.StatusWithdrawn {
				t.Errorf("after withdrawing: %+v", ps)
			}
		}

		// A GDPR-only tenant has no "do not sell" choice.
		b := e.client()
		b.signInMe("beta", e.beta.ID, e.betaSubjOrNew(t))
		if p := b.get("/p/beta/preferences"); strings.Contains(p.body, "Do not sell") {
			t.Error("beta offers do not sell")
		}
	})
}
