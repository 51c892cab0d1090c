package consent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

// TestLedgerSemantics walks one person through give, withdraw, give again,
// expiry by the purpose's lifetime and renewal after a widening policy
// change, checking after each step what the decision engine says and that
// the history keeps every event.
func TestLedgerSemantics(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("ada@example.org")

		// Never given.
		if d := f.decision(id, "analytics_cookies"); d.Allowed || d.Reason != decide.ConsentMissing || d.Detail != decide.DetailConsentNever {
			t.Fatalf("before any choice: %+v", d)
		}
		if st := purposeState(f.state(id), "analytics_cookies"); st.Status != consent.StatusNotGiven {
			t.Fatalf("state before any choice: %+v", st)
		}

		// Give: allowed at once, with a recorded expiry from the 12mo lifetime.
		r := f.record(id, give("analytics_cookies"))
		if len(r.Events) != 1 || r.ReceiptID != r.Events[0].ReceiptID || r.Events[0].Kind != store.ConsentGiven {
			t.Fatalf("recorded: %+v", r)
		}
		if want := f.clock.Now().AddDate(1, 0, 0); r.ExpiresAt == nil || !r.ExpiresAt.Equal(want) {
			t.Errorf("expires_at = %v, want %v", r.ExpiresAt, want)
		}
		if d := f.decision(id, "analytics_cookies"); !d.Allowed {
			t.Fatalf("after giving: %+v", d)
		}

		// Withdraw: one call, denied at once, the receipt as the ref.
		f.clock.Add(time.Minute)
		w, err := f.svc.Withdraw(f.ctx, f.tn.ID, id, "analytics_cookies", api)
		if err != nil {
			t.Fatal(err)
		}
		if d := f.decision(id, "analytics_cookies"); d.Allowed || d.Reason != decide.ConsentWithdrawn || d.Ref != w.ReceiptID {
			t.Fatalf("after withdrawing: %+v (receipt %s)", d, w.ReceiptID)
		}

		// Give again, then let it run out its lifetime.
		f.clock.Add(time.Minute)
		f.record(id, give("analytics_cookies"))
		if d := f.decision(id, "analytics_cookies"); !d.Allowed {
			t.Fatalf("after giving again: %+v", d)
		}
		f.clock.AddDate(0, 13, 0)
		if d := f.decision(id, "analytics_cookies"); d.Allowed || d.Reason != decide.ConsentMissing || d.Detail != decide.DetailConsentExpired {
			t.Fatalf("after 13 months: %+v", d)
		}
		if st := purposeState(f.state(id), "analytics_cookies"); st.Status != consent.StatusExpired {
			t.Fatalf("state after 13 months: %+v", st)
		}
		// The sweep writes the lapse into the ledger, once.
		if n, err := f.svc.ExpireDue(f.ctx); err != nil || n != 1 {
			t.Fatalf("expiry sweep: %d, %v", n, err)
		}
		if n, _ := f.svc.ExpireDue(f.ctx); n != 0 {
			t.Errorf("the sweep expired %d events twice", n)
		}
		if h := f.state(id).History; h[0].Kind != store.ConsentExpired || h[0].Method != store.MethodSystem || h[0].Purpose != "analytics_cookies" {
			t.Errorf("latest event after the sweep: %+v", h[0])
		}
		if d := f.decision(id, "analytics_cookies"); d.Allowed || d.Detail != decide.DetailConsentExpired {
			t.Fatalf("after the sweep: %+v", d)
		}

		// Renew, then a policy version widens the purpose: the consent
		// counts as missing until given again under the new version.
		f.record(id, give("analytics_cookies"), give("newsletter"))
		res := f.apply(f.tn.ID, widened(t))
		if res.Diff == nil || !slices.Contains(res.Diff.ReconsentPurposes(), "analytics_cookies") || res.Version.Version != 2 {
			t.Fatalf("apply v2: %+v", res.Diff)
		}
		if d := f.decision(id, "analytics_cookies"); d.Allowed || d.Reason != decide.ConsentMissing || d.Detail != decide.DetailConsentRenewal {
			t.Fatalf("after the widening change: %+v", d)
		}
		if d := f.decision(id, "newsletter"); !d.Allowed {
			t.Fatalf("an unchanged purpose keeps its consent: %+v", d)
		}
		st := purposeState(f.state(id), "analytics_cookies")
		if st.Status != consent.StatusRenewalNeeded || st.ValidSince != 2 || st.PolicyVersion != 1 {
			t.Fatalf("state after the widening change: %+v", st)
		}
		// The people to ask again are queued for a notice.
		js, err := listJobs(f, consent.JobRenewalNotice)
		if err != nil || len(js) != 1 || js[0].TenantID != f.tn.ID {
			t.Fatalf("renewal notice jobs: %+v %v", js, err)
		}
		var who []string
		n, err := f.svc.RenewalCandidates(f.ctx, f.tn.ID, "analytics_cookies", 2, func(s string) error { who = append(who, s); return nil })
		if err != nil || n != 1 || who[0] != id {
			t.Fatalf("renewal candidates: %v %v", who, err)
		}
		f.clock.Add(time.Minute)
		f.record(id, give("analytics_cookies"))
		if d := f.decision(id, "analytics_cookies"); !d.Allowed {
			t.Fatalf("after renewing: %+v", d)
		}
		n, _ = f.svc.RenewalCandidates(f.ctx, f.tn.ID, "analytics_cookies", 2, func(string) error { return nil })
		if n != 0 {
			t.Errorf("renewed consent still listed for renewal")
		}

		// Nothing was overwritten: every event is in the history, newest
		// first.
		h := f.state(id).History
		var kinds []string
		for _, e := range h {
			if e.Purpose == "analytics_cookies" {
				kinds = append(kinds, e.Kind)
			}
		}
		if strings.Join(kinds, ",") != "given,given,expired,given,withdrawn,given" {
			t.Errorf("analytics history = %v", kinds)
		}
		for i := 1; i < len(h); i++ {
			if h[i].At.After(h[i-1].At) {
				t.Errorf("history not newest first at %d", i)
			}
		}
	})
}

func listJobs(f *fixture, kind string) ([]store.Job, error) {
	var js []store.Job
	err := f.st.Read(f.ctx, func(tx store.Tx) error {
		var err error
		js, err = tx.ListJobs(store.JobFilter{Kind: kind, Limit: 10})
		return err
	})
	return js, err
}

// TestRenewalJob runs the queued notice job's handler: every affected
// person is handed to the notifier, nobody else.
func TestRenewalJob(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		a, b, c := f.person("a@example.org"), f.person("b@example.org"), f.person("c@example.org")
		f.record(a, give("analytics_cookies"))
		f.record(b, give("analytics_cookies"))
		f.record(c, withdraw("analytics_cookies"))
		f.apply(f.tn.ID, widened(t))
		js, err := listJobs(f, consent.JobRenewalNotice)
		if err != nil || len(js) != 1 {
			t.Fatalf("jobs: %v %v", js, err)
		}
		f.svc.RegisterJobs(f.runner)
		if err := f.runner.Start(f.ctx); err != nil {
			t.Fatal(err)
		}
		defer f.runner.Stop(f.ctx)
		deadline := time.Now().Add(20 * time.Second)
		for {
			f.notices.mu.Lock()
			n := len(f.notices.got)
			f.notices.mu.Unlock()
			if n >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		f.notices.mu.Lock()
		defer f.notices.mu.Unlock()
		var got []string
		for _, n := range f.notices.got {
			if n.Purpose != "analytics_cookies" || n.SinceVersion != 2 || n.TenantID != f.tn.ID {
				t.Errorf("notice %+v", n)
			}
			got = append(got, n.SubjectID)
		}
		want := []string{a, b}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("notified %v, want %v", got, want)
		}
	})
}

// TestRecordProofAndInput checks what the ledger keeps as proof, and that
// bad input changes nothing.
func TestRecordProofAndInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("proof@example.org")
		in := consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter"), withdraw(store.PurposeSaleShare)},
			Method: store.MethodCheckbox, Source: "signup-form",
			Proof: consent.Proof{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11)\n", PageURL: "https://www.example.com/signup?email=ada%40example.org#x"}}
		r, err := f.svc.Record(f.ctx, f.tn.ID, in, api)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Events) != 2 || r.Events[0].At != r.Events[1].At {
			t.Fatalf("one batch, one time: %+v", r.Events)
		}
		e := r.Events[0]
		if !strings.HasPrefix(e.IPHash, "hmac-sha256:") || strings.Contains(e.IPHash, "203.0.113") {
			t.Errorf("ip hash %q", e.IPHash)
		}
		if e.PageURL != "https://www.example.com/signup" || e.UserAgent != "Mozilla/5.0 (X11)" {
			t.Errorf("page %q, agent %q", e.PageURL, e.UserAgent)
		}
		if e.TextHash != consent.TextHash("Send me the Brightfjord newsletter. I can unsubscribe at any time.") {
			t.Errorf("text hash %q is not the hash of the newsletter's consent.text", e.TextHash)
		}
		if e.PolicyVersion != 1 || !strings.HasPrefix(e.PolicyHash, "sha256:") || e.Actor != api.ID || e.Source != "signup-form" {
			t.Errorf("event %+v", e)
		}
		st := f.state(id)
		if !st.DoNotSell || purposeState(st, store.PurposeSaleShare).Status != consent.StatusOptedOut {
			t.Errorf("CCPA opt-out not in state: %+v", st)
		}
		// The opt-out stops a sale_or_share purpose even with consent.
		f.record(id, give("advertising"))
		if d := f.decision(id, "advertising"); d.Allowed || d.Reason != decide.OptedOut {
			t.Errorf("advertising after opt-out: %+v", d)
		}

		before := len(f.state(id).History)
		bad := []struct {
			name  string
			in    consent.RecordInput
			field string
		}{
			{"contract purpose", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("account")}}, "choices.account"},
			{"unknown purpose", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("astrology")}}, "choices"},
			{"twice", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter"), withdraw("newsletter")}}, "choices.newsletter"},
			{"no choices", consent.RecordInput{SubjectID: id}, "choices"},
			{"reserved method", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, Method: store.MethodUnsubscribe}, "method"},
			{"future", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, At: f.clock.Now().Add(time.Hour)}, "at"},
			{"bad ip", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, Proof: consent.Proof{IP: "ada@example.org"}}, "ip"},
			{"bad page", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, Proof: consent.Proof{PageURL: "javascript:alert(1)"}}, "page_url"},
			{"bad text hash", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, Proof: consent.Proof{TextHash: "md5:x"}}, "text_hash"},
			{"personal data in source", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, Source: "form of Ada Lovelace"}, "source"},
			{"bad browser id", consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}, BrowserID: "short"}, "browser_id"},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.Record(f.ctx, f.tn.ID, c.in, api)
				wantInput(t, err, c.field)
			})
		}
		if after := len(f.state(id).History); after != before {
			t.Errorf("bad input changed the ledger: %d -> %d events", before, after)
		}
		_, err = f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: store.NewID(), Choices: []consent.Choice{give("newsletter")}}, api)
		if !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("unknown subject: %v", err)
		}
		f.erase(id)
		_, err = f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("newsletter")}}, api)
		if !errors.Is(err, consent.ErrErased) {
			t.Errorf("erased subject: %v", err)
		}
	})
}

// TestPaperFormRecordedLater: the latest choice by the time it was made
// wins, not the latest recorded.
func TestPaperFormRecordedLater(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("paper@example.org")
		signed := f.clock.Now()
		f.clock.Add(time.Hour)
		f.record(id, withdraw("user_research"))
		f.clock.Add(time.Hour)
		_, err := f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("user_research")},
			Method: store.MethodPaper, At: signed}, api)
		if err != nil {
			t.Fatal(err)
		}
		if d := f.decision(id, "user_research"); d.Allowed || d.Reason != decide.ConsentWithdrawn {
			t.Errorf("an older paper consent overrode a later withdrawal: %+v", d)
		}
	})
}

// TestBrowserLink: choices made in a browser follow the person once the
// application links the browser to the subject.
func TestBrowserLink(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		cfg := bannerSite(t, f)
		bid := "bRoWsEr-iD_0123456789"
		if _, err := f.svc.RecordBanner(f.ctx, cfg.Site, consent.BannerChoice{BrowserID: bid, PolicyVersion: cfg.PolicyVersion,
			Choices: choices("analytics", true)}, meta()); err != nil {
			t.Fatal(err)
		}
		id := f.person("linked@example.org")
		if d := f.decision(id, "analytics_cookies"); d.Allowed {
			t.Fatal("consent before linking")
		}
		r, err := f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: id, BrowserID: bid, Choices: []consent.Choice{give("newsletter")}}, api)
		if err != nil || r.Linked != 1 {
			t.Fatalf("linked %d, %v", r.Linked, err)
		}
		if d := f.decision(id, "analytics_cookies"); !d.Allowed {
			t.Errorf("the browser's consent did not follow the person: %+v", d)
		}
	})
}
