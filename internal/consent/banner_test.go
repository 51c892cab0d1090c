package consent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

const siteKey = "brightfjord-www"

func bannerSite(t *testing.T, f *fixture) consent.BannerConfig {
	t.Helper()
	c, err := f.svc.Config(f.ctx, siteKey, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func choices(kv ...any) map[policy.CookieCategory]bool {
	m := map[policy.CookieCategory]bool{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[policy.CookieCategory(kv[i].(string))] = kv[i+1].(bool)
	}
	return m
}

func meta() consent.BannerMeta {
	return consent.BannerMeta{Origin: "https://www.example.com", IP: "198.51.100.23", UserAgent: "Mozilla/5.0 test"}
}

func TestBannerConfig(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		c := bannerSite(t, f)
		if c.Site != siteKey || c.PolicyVersion != 1 || c.Cookie != "bf_consent" || c.NoticeURL != "https://www.example.com/privacy" || c.GPC {
			t.Errorf("config head: %+v", c)
		}
		if !slices.Equal(c.Languages, []string{"en", "nb"}) {
			t.Errorf("languages %v", c.Languages)
		}
		en, nb := c.Texts["en"], c.Texts["nb"]
		if en.AcceptAll != "Accept all" || nb.AcceptAll != "Godta alle" || nb.Title != "Informasjonskapsler på nettstedet vårt" {
			t.Errorf("texts: en %q, nb %q %q", en.AcceptAll, nb.AcceptAll, nb.Title)
		}
		if en.AnalyticsDescription != "Allow analytics cookies so that we can see how our website is used." {
			t.Errorf("the analytics description must default to the purpose's consent.text: %q", en.AnalyticsDescription)
		}
		var keys []string
		for _, cat := range c.Categories {
			keys = append(keys, cat.Key)
			switch cat.Key {
			case "necessary":
				if !cat.Required || len(cat.Cookies) != 6 {
					t.Errorf("necessary: %+v", cat)
				}
			case "advertising":
				if !cat.SaleOrShare || !slices.Equal(cat.Purposes, []string{"advertising"}) || len(cat.Cookies) != 6 {
					t.Errorf("advertising: %+v", cat)
				}
			case "analytics":
				if cat.Since != 0 || !slices.ContainsFunc(cat.Cookies, func(k consent.BannerCookie) bool { return k.Name == "_ga_*" }) {
					t.Errorf("analytics: %+v", cat)
				}
			}
		}
		if strings.Join(keys, ",") != "necessary,functional,analytics,advertising" {
			t.Errorf("categories %v", keys)
		}
		if g, _ := f.svc.Config(f.ctx, siteKey, true); !g.GPC {
			t.Error("the GPC flag of the request is not in the answer")
		}
		// After a widening change the analytics category says since 2.
		f.apply(f.tn.ID, widened(t))
		c2, err := f.svc.Config(f.ctx, siteKey, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, cat := range c2.Categories {
			if cat.Key == "analytics" && (cat.Since != 2 || c2.PolicyVersion != 2) {
				t.Errorf("after v2: %+v (version %d)", cat, c2.PolicyVersion)
			}
		}
		for _, bad := range []string{"nope", "UPPER", "no-such-site", "a/b"} {
			if _, err := f.svc.Config(f.ctx, bad, false); !errors.Is(err, consent.ErrUnknownSite) {
				t.Errorf("site %q: %v", bad, err)
			}
		}
	})
}

func TestBannerRecord(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		c := bannerSite(t, f)
		bid := "AAAAAAAAAAAAAAAAAAAAAA"
		// Reject all: a withdrawal-state event for every mapped purpose.
		r, err := f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: c.PolicyVersion, Language: "nb-NO",
			PageURL: "https://www.example.com/pricing?utm=x", Choices: choices("functional", false, "analytics", false, "advertising", false)}, meta())
		if err != nil {
			t.Fatal(err)
		}
		if r.ReceiptID == "" || len(r.Events) != 3 || r.GPC || r.ExpiresAt != nil {
			t.Fatalf("reject all: %+v", r)
		}
		var hist []store.ConsentEvent
		f.st.Read(f.ctx, func(tx store.Tx) error {
			hist, err = tx.BrowserConsentHistory(f.tn.ID, bid)
			return err
		})
		for _, e := range hist {
			if e.Kind != store.ConsentWithdrawn || e.Method != store.MethodBanner || e.Source != "site:"+siteKey || e.Actor != "visitor" ||
				e.PageURL != "https://www.example.com/pricing" || !strings.HasPrefix(e.IPHash, "hmac-sha256:") || e.SubjectID != "" {
				t.Errorf("event %+v", e)
			}
			if e.Purpose == "analytics_cookies" && e.TextHash != consent.TextHash("Statistikk: Viser oss hvordan nettstedet brukes.") {
				t.Errorf("text hash must be of the Norwegian category text shown")
			}
		}
		// Accept analytics: given, with an expiry.
		r, err = f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: c.PolicyVersion,
			Choices: choices("analytics", true)}, meta())
		if err != nil || len(r.Events) != 1 || r.Events[0].Kind != store.ConsentGiven || r.ExpiresAt == nil || !r.Choices["analytics"] {
			t.Fatalf("accept analytics: %+v %v", r, err)
		}
		// GPC: the header alone turns advertising off (even if clicked on)
		// and records the CCPA opt-out once.
		m := meta()
		m.GPC = true
		r, err = f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: c.PolicyVersion,
			Choices: choices("advertising", true, "functional", true)}, m)
		if err != nil || !r.GPC || r.Choices["advertising"] || !r.Choices["functional"] {
			t.Fatalf("gpc: %+v %v", r, err)
		}
		kinds := map[string]string{}
		for _, e := range r.Events {
			kinds[e.Purpose] = e.Kind + "/" + e.Method
		}
		if kinds["advertising"] != "withdrawn/gpc" || kinds[store.PurposeSaleShare] != "withdrawn/gpc" || kinds["functional_cookies"] != "given/banner" {
			t.Errorf("gpc events %v", kinds)
		}
		r, err = f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: c.PolicyVersion, GPC: true, Choices: choices()}, meta())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.Events {
			if e.Purpose == store.PurposeSaleShare {
				t.Error("the CCPA opt-out was recorded twice for one browser")
			}
		}

		// Refusals.
		bad := meta()
		bad.Origin = "https://evil.example"
		if _, err := f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: 1, Choices: choices("analytics", true)}, bad); !errors.Is(err, consent.ErrOrigin) {
			t.Errorf("foreign origin: %v", err)
		}
		if _, err := f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: 9, Choices: choices("analytics", true)}, meta()); err == nil {
			t.Error("a future policy version was accepted")
		}
		if _, err := f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: 1, Choices: choices()}, meta()); err == nil {
			t.Error("an empty choice was accepted")
		}
		// A choice made under version 1 after version 2 widened analytics
		// is recorded under version 1, and so needs renewal at once.
		f.apply(f.tn.ID, widened(t))
		r, err = f.svc.RecordBanner(f.ctx, siteKey, consent.BannerChoice{BrowserID: bid, PolicyVersion: 1, Choices: choices("analytics", true)}, meta())
		if err != nil {
			t.Fatal(err)
		}
		var ev store.ConsentEvent
		f.st.Read(f.ctx, func(tx store.Tx) error {
			ev, err = tx.GetConsentEvent(f.tn.ID, r.ReceiptID)
			return err
		})
		if ev.PolicyVersion != 1 {
			t.Errorf("recorded under version %d, want the version shown (1)", ev.PolicyVersion)
		}
	})
}

// TestSiteKeyTakenByAnotherTenant: a site key is the tenant's public name
// for its banner; a second tenant cannot claim it, and is told where.
func TestSiteKeyTakenByAnotherTenant(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		other, err := f.tenants.Create(f.ctx, "copycat", "Copycat")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.tenants.Apply(f.ctx, other.ID, "copy.yaml", example(t), "test")
		var pe policy.Errors
		if !errors.As(err, &pe) || len(pe) != 1 || pe[0].Path != "sites[0].key" || pe[0].Line == 0 || !strings.Contains(pe[0].Msg, "already used by another tenant") {
			t.Fatalf("apply with a taken site key: %v", err)
		}
		if _, err := f.tenants.Active(f.ctx, other.ID); err == nil {
			t.Error("the refused policy was applied")
		}
		// The owner still resolves.
		if _, err := f.svc.Config(f.ctx, siteKey, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReceipt(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		id := f.person("receipt@example.org")
		r := f.record(id, give("newsletter"), give("advertising"))
		rc, err := f.svc.Receipt(f.ctx, f.tn.ID, r.Events[1].ReceiptID)
		if err != nil {
			t.Fatal(err)
		}
		if rc.Version != consent.KantaraVersion || rc.ConsentReceiptID != r.ReceiptID || rc.PIIPrincipalID != id ||
			rc.Jurisdiction != "NO; GDPR, CCPA" || rc.PolicyURL != "https://www.example.com" || rc.ConsentTimestamp != r.At.Unix() {
			t.Errorf("receipt head: %+v", rc)
		}
		if len(rc.PIIControllers) != 1 || rc.PIIControllers[0].PIIController != "Brightfjord Learning AS" || rc.PIIControllers[0].Email != "dpo@example.com" {
			t.Errorf("controller: %+v", rc.PIIControllers)
		}
		if len(rc.Services) != 2 || rc.Services[0].Service != "Newsletter" || rc.Services[1].Service != "Tailored advertising" {
			t.Fatalf("services: %+v", rc.Services)
		}
		nl, ad := rc.Services[0].Purposes[0], rc.Services[1].Purposes[0]
		if nl.PurposeCategory[0] != "Marketing" || nl.ConsentType != "EXPLICIT" || nl.ThirdPartyDisclosure || !strings.Contains(nl.Termination, "unsubscribe") {
			t.Errorf("newsletter purpose: %+v", nl)
		}
		if !ad.ThirdPartyDisclosure || !strings.Contains(ad.ThirdPartyName, "LinkedIn") || !strings.Contains(ad.Termination, "12mo") {
			t.Errorf("advertising purpose: %+v", ad)
		}
		if len(rc.Trustee.Events) != 2 || rc.Trustee.PolicyVersion != 1 || len(rc.Trustee.Withdrawal) != 2 || len(rc.Trustee.Current) != 2 {
			t.Errorf("trustee details: %+v", rc.Trustee)
		}
		if _, err := f.svc.Receipt(f.ctx, f.tn.ID, store.NewID()); !errors.Is(err, consent.ErrReceiptNotFound) {
			t.Errorf("unknown receipt: %v", err)
		}
	})
}
