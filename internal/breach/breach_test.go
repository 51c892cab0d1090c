package breach_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

type fixture struct {
	st     store.Store
	rig    *outboxtest.Rig
	vault  *vault.Service
	svc    *breach.Service
	tenant string
	other  string
}

var dpo = breach.Actor{ID: "apikey:dpo", Role: "dpo"}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	rig := outboxtest.NewRig(t, st, outboxtest.Stopped())
	breach.Register(rig.Outbox)
	rig.Start(t)
	tenants := &tenant.Service{Store: st}
	lg := audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Keys: rig.Keys})
	v := &vault.Service{Store: st, Keys: rig.Keys, Audit: lg, Tenants: tenants}
	f := &fixture{st: st, rig: rig, vault: v, svc: &breach.Service{Store: st, Tenants: tenants, Vault: v, Audit: lg, Outbox: rig.Outbox}}
	src, _ := examples.File("learning-saas.yaml")
	for _, slug := range []string{"acme", "other"} {
		tn, err := tenants.Create(ctx, slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tenants.Apply(ctx, tn.ID, "learning-saas.yaml", src, "test"); err != nil {
			t.Fatal(err)
		}
		if slug == "acme" {
			f.tenant = tn.ID
		} else {
			f.other = tn.ID
		}
	}
	return f
}

// person creates synthetic person n; withEmail false drops the email.
func (f *fixture) person(t *testing.T, n int, withEmail bool) string {
	t.Helper()
	fields := synth.Nth(n).LearningSaaSFields()
	by := vault.Actor{ID: "apikey:service", Role: "service"}
	c, err := f.vault.Create(context.Background(), f.tenant, vault.CreateInput{Fields: fields}, by)
	if err != nil {
		t.Fatalf("create person %d: %v", n, err)
	}
	if !withEmail {
		if err := f.vault.DeleteField(context.Background(), f.tenant, c.ID, "email", by); err != nil {
			t.Fatalf("delete email: %v", err)
		}
	}
	return c.ID
}

func (f *fixture) read(t *testing.T, keyID, subjectID string) {
	t.Helper()
	if _, err := f.vault.Get(context.Background(), f.tenant, subjectID, "account", vault.Actor{ID: "apikey:" + keyID, Role: "service"}); err != nil {
		t.Fatalf("read: %v", err)
	}
}

func ids(t *testing.T, f *fixture, id string) []string {
	t.Helper()
	rows, err := f.svc.Affected(context.Background(), f.tenant, id, "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.SubjectID)
	}
	return out
}

func forEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, ec := range storetest.Engines() {
		t.Run(ec.Name, func(t *testing.T) { fn(t, newFixture(t, ec.Open(t))) })
	}
}

// TestLeakedKeyAffectsExactlyWhatItRead: two API keys read different
// subjects; a breach scoped to one key and a time window lists exactly that
// key's subjects, and the notices reach a real SMTP server, tracked per
// person, with an unreachable person reported, not skipped.
func TestLeakedKeyAffectsExactlyWhatItRead(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a1, a2, a3 := f.person(t, 1, true), f.person(t, 2, true), f.person(t, 3, false)
		b1 := f.person(t, 4, true)
		before := f.person(t, 5, true)
		f.read(t, "leaked", before) // before the window
		time.Sleep(5 * time.Millisecond)
		from := time.Now().UTC()
		time.Sleep(5 * time.Millisecond)
		for _, id := range []string{a1, a2, a3, a1} {
			f.read(t, "leaked", id)
		}
		f.read(t, "honest", b1)
		f.read(t, "honest", a2)
		time.Sleep(5 * time.Millisecond)
		until := time.Now().UTC()

		b, err := f.svc.Create(ctx, f.tenant, breach.Input{
			Title: "Leaked API key", Nature: "An API key was published in a public repository.",
			DetectedAt: time.Now().Add(-time.Hour), Categories: []string{"user.contact.email"},
			Scope:        breach.Scope{APIKeyIDs: []string{"leaked"}, From: from, Until: until},
			Consequences: "Phishing emails using your name.", Measures: "The key was revoked within an hour.",
		}, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != store.BreachOpen || !b.Deadline.Equal(b.AwareAt.Add(72*time.Hour)) {
			t.Fatalf("new breach: %+v", b.Breach)
		}
		res, err := f.svc.ComputeAffected(ctx, f.tenant, b.ID, dpo)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{a1, a2, a3}
		slices.Sort(want)
		if got := ids(t, f, b.ID); !slices.Equal(got, want) || res.Total != 3 {
			t.Fatalf("affected = %v (total %d), want %v", got, res.Total, want)
		}
		// Recomputing gives the same set.
		if res, err = f.svc.ComputeAffected(ctx, f.tenant, b.ID, dpo); err != nil || res.Total != 3 {
			t.Fatalf("recompute: %+v %v", res, err)
		}

		// Not high risk yet: no notices.
		if _, err := f.svc.NotifyPeople(ctx, f.tenant, b.ID, dpo); !errors.Is(err, breach.ErrState) {
			t.Fatalf("notify before assessment: %v", err)
		}
		g, _ := f.svc.Get(ctx, f.tenant, b.ID)
		if g.Suggested != breach.RiskRisk {
			t.Fatalf("suggested %s %v", g.Suggested, g.SuggestedReasons)
		}
		var ie *breach.InputError
		if _, err := f.svc.Assess(ctx, f.tenant, b.ID, breach.RiskHigh, "", dpo); !errors.As(err, &ie) || ie.Problems[0].Field != "reason" {
			t.Fatalf("override without reason: %v", err)
		}
		if _, err := f.svc.Assess(ctx, f.tenant, b.ID, breach.RiskHigh, "Names and emails enable targeted phishing", dpo); err != nil {
			t.Fatal(err)
		}
		r, err := f.svc.NotifyPeople(ctx, f.tenant, b.ID, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if r.Queued != 2 || r.Unreachable != 1 {
			t.Fatalf("notify: %+v", r)
		}
		// Twice sends once.
		if r, err = f.svc.NotifyPeople(ctx, f.tenant, b.ID, dpo); err != nil || r.Queued != 0 {
			t.Fatalf("notify again: %+v %v", r, err)
		}
		mails := f.rig.SMTP.WaitFor(t, 2, 10*time.Second)
		for _, m := range mails {
			if !strings.Contains(m.Text, "published in a public repository") || !strings.Contains(m.Text, "dpo@example.com") {
				t.Fatalf("notice lacks nature or DPO contact: %q", m.Text)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			g, err = f.svc.Get(ctx, f.tenant, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if g.Notices[store.NoticeDelivered] == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("notices %v", g.Notices)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if g.Notices[store.NoticeUnreachable] != 1 || g.Status != store.BreachPeopleNotified {
			t.Fatalf("after delivery: %v %s", g.Notices, g.Status)
		}
		unreach, _ := f.svc.Affected(ctx, f.tenant, b.ID, "", store.NoticeUnreachable, 10)
		if len(unreach) != 1 || unreach[0].SubjectID != a3 {
			t.Fatalf("unreachable = %v", unreach)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(f.rig.SMTP.Messages()); n != 2 {
			t.Fatalf("%d mails, want 2", n)
		}

		// Another tenant cannot see it.
		if _, err := f.svc.Get(ctx, f.other, b.ID); !errors.Is(err, breach.ErrNotFound) {
			t.Fatalf("other tenant: %v", err)
		}
	})
}

// TestStoredInWindowByCategory: without actors, subjects whose data in the
// scope's categories was stored in the window are affected; explicit ids
// are added.
func TestStoredInWindowByCategory(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		old := f.person(t, 1, true)
		time.Sleep(5 * time.Millisecond)
		from := time.Now().UTC()
		time.Sleep(5 * time.Millisecond)
		p2, p3 := f.person(t, 2, true), f.person(t, 3, true)
		b, err := f.svc.Create(ctx, f.tenant, breach.Input{Title: "Backup left public", Nature: "A backup was readable.",
			DetectedAt: time.Now(), Scope: breach.Scope{Categories: []string{"user.contact.email"}, From: from, SubjectIDs: []string{old}}}, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ComputeAffected(ctx, f.tenant, b.ID, dpo); err != nil {
			t.Fatal(err)
		}
		got := ids(t, f, b.ID)
		want := []string{old, p2, p3}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("affected = %v, want %v", got, want)
		}
	})
}

// TestAuthorityClockAndDocument: later than 72 hours needs a reason; the
// document carries every Art. 33(3) item.
func TestAuthorityClockAndDocument(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		aware := time.Now().UTC().Add(-100 * time.Hour).Truncate(time.Second)
		b, err := f.svc.Create(ctx, f.tenant, breach.Input{Title: "Stolen laptop", Nature: "A laptop with an export was stolen.",
			DetectedAt: aware, Categories: []string{"user.health", "user.contact.email"}, ApproxRecords: 40,
			Consequences: "Health data may be disclosed.", Measures: "Remote wipe requested."}, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Overdue || b.Suggested != breach.RiskHigh {
			t.Fatalf("overdue %v suggested %s", b.Overdue, b.Suggested)
		}
		var ie *breach.InputError
		if _, err := f.svc.RecordAuthority(ctx, f.tenant, b.ID, time.Time{}, "DT-1", "", dpo); !errors.As(err, &ie) || ie.Problems[0].Field != "delay_reason" {
			t.Fatalf("late without reason: %v", err)
		}
		b, err = f.svc.RecordAuthority(ctx, f.tenant, b.ID, time.Time{}, "DT-1", "The export's contents were only known after forensic recovery.", dpo)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != store.BreachAuthorityNotified || !b.Details.Authority.Late {
			t.Fatalf("after authority: %s %+v", b.Status, b.Details.Authority)
		}
		doc, err := f.svc.Notification(ctx, f.tenant, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(doc)
		for _, want := range []string{"Brightfjord", "Datatilsynet", "dpo@example.com", "A laptop with an export", "Health data may be disclosed",
			"Remote wipe", `"approx_records":40`, `"late":true`, "forensic recovery", `"special":true`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("JSON document lacks %q: %s", want, raw)
			}
		}
		md := doc.Markdown()
		for _, want := range []string{"Art. 33(3)(a)", "Art. 33(3)(b)", "Art. 33(3)(c)", "Art. 33(3)(d)", "Reasons for the delay", "Datatilsynet"} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q", want)
			}
		}
	})
}

// TestBadInput: mistakes are named by field and nothing is stored.
func TestBadInput(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	cases := []struct {
		in    breach.Input
		field string
	}{
		{breach.Input{Nature: "x", DetectedAt: time.Now()}, "title"},
		{breach.Input{Title: "x", DetectedAt: time.Now()}, "nature"},
		{breach.Input{Title: "x", Nature: "y"}, "detected_at"},
		{breach.Input{Title: "x", Nature: "y", DetectedAt: time.Now().Add(time.Hour)}, "detected_at"},
		{breach.Input{Title: "x", Nature: "y", DetectedAt: time.Now(), AwareAt: time.Now().Add(-time.Hour)}, "aware_at"},
		{breach.Input{Title: "x", Nature: "y", DetectedAt: time.Now(), Categories: []string{"user.nonsense"}}, "categories[0]"},
		{breach.Input{Title: "x", Nature: "y", DetectedAt: time.Now(), Scope: breach.Scope{From: time.Now(), Until: time.Now().Add(-time.Hour)}}, "scope.until"},
	}
	for _, c := range cases {
		_, err := f.svc.Create(ctx, f.tenant, c.in, dpo)
		var ie *breach.InputError
		if !errors.As(err, &ie) || ie.Problems[0].Field != c.field {
			t.Errorf("%+v: %v, want a problem with %s", c.in, err, c.field)
		}
	}
	if l, _ := f.svc.List(ctx, f.tenant, 10); len(l) != 0 {
		t.Fatalf("stored %d breaches", len(l))
	}
	b, err := f.svc.Create(ctx, f.tenant, breach.Input{Title: "x", Nature: "y", DetectedAt: time.Now()}, dpo)
	if err != nil {
		t.Fatal(err)
	}
	var ie *breach.InputError
	if _, err := f.svc.ComputeAffected(ctx, f.tenant, b.ID, dpo); !errors.As(err, &ie) || ie.Problems[0].Field != "scope" {
		t.Fatalf("empty scope: %v", err)
	}
	if _, err := f.svc.Close(ctx, f.tenant, b.ID, "", dpo); !errors.Is(err, breach.ErrState) {
		t.Fatalf("close unassessed: %v", err)
	}
	_ = outbox.Delivered
}

// TestSuggest pins the risk suggestion.
func TestSuggest(t *testing.T) {
	cases := []struct {
		d        breach.Details
		affected int64
		want     string
	}{
		{breach.Details{}, 0, breach.RiskLow},
		{breach.Details{Categories: []string{"user.contact.email"}}, 5, breach.RiskRisk},
		{breach.Details{Categories: []string{"user.authorization.password"}}, 5, breach.RiskHigh},
		{breach.Details{Categories: []string{"user.financial.bank_account"}}, 1, breach.RiskHigh},
		{breach.Details{Categories: []string{"user.contact"}}, breach.LargeBreach, breach.RiskHigh},
		{breach.Details{Children: true}, 1, breach.RiskHigh},
		{breach.Details{Encrypted: true, Categories: []string{"user.financial"}}, 5000, breach.RiskLow},
	}
	for _, c := range cases {
		if got, reasons := breach.Suggest(c.d, c.affected, nil); got != c.want || len(reasons) == 0 {
			t.Errorf("%+v %d: %s %v, want %s", c.d, c.affected, got, reasons, c.want)
		}
	}
}
