package decide_test

import (
	"errors"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

type ruleCase struct {
	name    string
	purpose string
	s       *decide.Subject
	item    decide.Item
	want    decide.Reason // "" = allowed
	detail  string        // checked when set
	ref     string        // checked when set
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustDecideItem(t, doc, c.purpose, c.s, c.item)
			if got.Allowed != (c.want == "") || got.Reason != c.want {
				t.Fatalf("%s for %s: allowed=%v reason=%q (%s), want reason %q", c.purpose, c.item.Category, got.Allowed, got.Reason, got.Detail, c.want)
			}
			if c.detail != "" && got.Detail != c.detail {
				t.Errorf("detail %q, want %q", got.Detail, c.detail)
			}
			if c.ref != "" && got.Ref != c.ref {
				t.Errorf("ref %q, want %q", got.Ref, c.ref)
			}
			if got.Item != c.item.Name || got.Category != c.item.Category {
				t.Errorf("decision names %q/%q, want %q/%q", got.Item, got.Category, c.item.Name, c.item.Category)
			}
			if got.Allowed && (got.Detail != "" || got.Ref != "") {
				t.Errorf("allowed decision carries detail %q ref %q", got.Detail, got.Ref)
			}
			if !got.Allowed && got.Detail == "" {
				t.Error("denial without detail")
			}
		})
	}
}

// Rule 1: purpose limitation.
func TestNotInPurpose(t *testing.T) {
	runCases(t, []ruleCase{
		{"exact category", "newsletter", subject(given("newsletter")), itEmail, "", "", ""},
		{"sub-category of a purpose category", "service", subject(), itEmail, "", "", ""},
		{"category the purpose does not use", "service", subject(), itHealth, decide.NotInPurpose, decide.DetailNotInPurpose, ""},
		{"parent of a purpose category", "newsletter", subject(given("newsletter")), decide.Item{Category: "user.contact"}, decide.NotInPurpose, "", ""},
		{"sibling category", "li_sale", subject(), itAddress, decide.NotInPurpose, "", ""},
		{"unknown category", "service", subject(), decide.Item{Category: "user.nothing"}, decide.NotInPurpose, "", ""},
		{"empty category", "service", subject(), decide.Item{Name: "x"}, decide.NotInPurpose, "", ""},
		{"custom depth under a purpose category", "service", subject(), decide.Item{Category: "user.contact.email.work"}, "", "", ""},
		// Precedence: first of all rules.
		{"before erasure", "service", subject(erased), itHealth, decide.NotInPurpose, "", ""},
		{"before everything", "advertising", subject(erased, minor, optedOut, withRestriction(restriction("r", nil))), itEmail, decide.NotInPurpose, "", ""},
	})
}

// Rule 2: special categories need an Art. 9(2) condition.
func TestSpecialCategory(t *testing.T) {
	runCases(t, []ruleCase{
		{"with a condition", "care", subject(), itHealth, "", "", ""},
		{"explicit consent given", "coaching", subject(given("coaching")), itHealth, "", "", ""},
		{"explicit consent missing", "coaching", subject(), itHealth, decide.ConsentMissing, decide.DetailConsentNever, ""},
	})
	// A document the validator would refuse: the condition removed.
	bad := loadPolicy("testdata/policy.yaml")
	for i := range bad.Policy.Purposes {
		if bad.Policy.Purposes[i].Key == "care" {
			bad.Policy.Purposes[i].SpecialCategoryCondition = ""
		}
	}
	for _, c := range []struct {
		name string
		s    *decide.Subject
		it   decide.Item
		want decide.Reason
	}{
		{"special category", subject(), itHealth, decide.NoSpecialCondition},
		{"special sub-category", subject(), decide.Item{Category: "user.health.genetic"}, decide.NoSpecialCondition},
		{"before erasure", subject(erased), itHealth, decide.NoSpecialCondition},
		{"after purpose limitation", subject(), itEmail, decide.NotInPurpose},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := mustDecideItem(t, bad, "care", c.s, c.it); got.Reason != c.want {
				t.Errorf("reason %q, want %q", got.Reason, c.want)
			}
		})
	}
	// Explicit consent is required for special data even if a (bad) policy
	// gives the purpose another basis.
	odd := loadPolicy("testdata/policy.yaml")
	for i := range odd.Policy.Purposes {
		if odd.Policy.Purposes[i].Key == "care" {
			odd.Policy.Purposes[i].SpecialCategoryCondition = "explicit_consent"
		}
	}
	if got := mustDecideItem(t, odd, "care", subject(), itHealth); got.Reason != decide.ConsentMissing {
		t.Errorf("explicit_consent on a contract purpose: %q, want consent_missing", got.Reason)
	}
	if got := mustDecideItem(t, odd, "care", subject(given("care")), itHealth); !got.Allowed {
		t.Errorf("explicit_consent on a contract purpose with consent: %q", got.Reason)
	}
}

// Rule 3: erasure, legal holds and legal retention duties.
func TestErased(t *testing.T) {
	holdOrders := hold("h-orders", "service", nil, []string{"orders"})
	holdContact := hold("h-contact", "service", []string{"user.contact"}, nil)
	holdEmailOnly := hold("h-email", "service", []string{"user.contact.email"}, nil)
	preserve := hold("h-preserve", "", nil, nil)
	released := hold("h-released", "service", nil, nil)
	released.ReleasedAt = now.Add(-time.Minute)
	ended := hold("h-ended", "service", nil, nil)
	ended.Until = now
	later := hold("h-later", "service", nil, nil)
	later.Until = now.Add(time.Second)
	wide := hold("h-wide", "service", nil, nil)
	wide.SubjectID = "" // tenant-wide holds come in the same list
	runCases(t, []ruleCase{
		{"erased", "service", subject(erased), itEmail, decide.SubjectErased, decide.DetailErased, ""},
		{"erased collection not kept", "recommendations", subject(erased, given("recommendations")), itViews, decide.SubjectErased, "", ""},
		{"kept by law, legal obligation", "bookkeeping", subject(erased), itOrders, "", "", ""},
		{"kept by law, record of the collection", "bookkeeping", subject(erased), record(itOrders, "0190aaaa"), "", "", ""},
		{"kept by law, contract", "service", subject(erased), itOrders, decide.LegalHoldOnly, decide.DetailErasedKeptByLaw, ""},
		{"kept by law, legitimate interests", "fraud", subject(erased), itOrders, decide.LegalHoldOnly, decide.DetailErasedKeptByLaw, ""},
		{"held by collection, hold purpose", "service", subject(erased, withHold(holdOrders)), record(itOrders, "r1"), "", "", ""},
		{"held by collection, other purpose", "fraud", subject(erased, withHold(holdOrders)), itOrders, decide.LegalHoldOnly, decide.DetailErasedHeld, "h-orders"},
		{"held by collection and by law", "bookkeeping", subject(erased, withHold(holdOrders)), itOrders, "", "", ""},
		{"held by category", "service", subject(erased, withHold(holdContact)), itEmail, "", "", ""},
		{"held by parent category", "service", subject(erased, withHold(holdContact)), itAddress, "", "", ""},
		{"held by category, other purpose", "li_marketing", subject(erased, withHold(holdContact)), itEmail, decide.LegalHoldOnly, "", "h-contact"},
		{"hold does not cover the item", "service", subject(erased, withHold(holdContact)), itName, decide.SubjectErased, "", ""},
		{"hold of a sub-category does not exempt the whole", "service", subject(erased, withHold(holdEmailOnly)), decide.Item{Category: "user.contact"}, decide.SubjectErased, "", ""},
		{"hold of a field's collection name does not hold the field", "service", subject(erased, withHold(hold("h", "service", nil, []string{"email"}))), itEmail, "", "", ""},
		{"preserve-only hold", "service", subject(erased, withHold(preserve)), itEmail, decide.LegalHoldOnly, decide.DetailErasedHeld, "h-preserve"},
		{"preserve-only hold and a hold for the purpose", "service", subject(erased, withHold(preserve), withHold(holdContact)), itEmail, "", "", ""},
		{"released hold", "service", subject(erased, withHold(released)), itEmail, decide.SubjectErased, "", ""},
		{"hold ended", "service", subject(erased, withHold(ended)), itEmail, decide.SubjectErased, "", ""},
		{"hold ending later", "service", subject(erased, withHold(later)), itEmail, "", "", ""},
		{"tenant-wide hold", "service", subject(erased, withHold(wide)), itName, "", "", ""},
		{"category question, held by category", "service", subject(erased, withHold(holdContact)), decide.Item{Category: "user.contact.email"}, "", "", ""},
		{"category question, collection hold unknown", "service", subject(erased, withHold(holdOrders)), decide.Item{Category: "user.behavior.purchase_history"}, decide.SubjectErased, "", ""},
		// Precedence: kept data goes on to the later rules.
		{"held, then restricted", "service", subject(erased, withHold(holdContact), withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, "", "r1"},
		{"kept by law, then expired", "bookkeeping", subject(erased), expired(itOrders), decide.RetentionExpired, "", ""},
		{"erased before expired", "service", subject(erased), expired(itEmail), decide.SubjectErased, "", ""},
		{"erased before minor", "service", subject(erased, minor), itEmail, decide.SubjectErased, "", ""},
		{"kept by law for a minor", "bookkeeping", subject(erased, minor), itOrders, "", "", ""},
		{"erased before consent", "newsletter", subject(erased), itEmail, decide.SubjectErased, "", ""},
	})
}

// Rule 4: retention.
func TestRetention(t *testing.T) {
	h := hold("h-svc", "service", []string{"user.contact"}, nil)
	hb := hold("h-book", "bookkeeping", nil, []string{"orders"})
	runCases(t, []ruleCase{
		{"no expiry", "service", subject(), itEmail, "", "", ""},
		{"expires later", "service", subject(), decide.Item{Name: "email", Category: "user.contact.email", ExpiresAt: now.Add(time.Nanosecond)}, "", "", ""},
		{"expires now", "service", subject(), expired(itEmail), decide.RetentionExpired, decide.DetailExpired, ""},
		{"expired long ago", "service", subject(), decide.Item{Category: "user.contact.email", ExpiresAt: now.AddDate(-3, 0, 0)}, decide.RetentionExpired, "", ""},
		{"expired, held for the purpose", "service", subject(withHold(h)), expired(itEmail), "", "", ""},
		{"expired, held for another purpose", "bookkeeping", subject(withHold(h)), expired(itAddress), decide.LegalHoldOnly, decide.DetailExpiredHeld, "h-svc"},
		{"expired record, held by collection", "bookkeeping", subject(withHold(hb)), expired(record(itOrders, "r9")), "", "", ""},
		{"expired, kept by law is no hold", "bookkeeping", subject(), expired(itOrders), decide.RetentionExpired, "", ""},
		// Precedence.
		{"expired before minor", "service", subject(minor), expired(itEmail), decide.RetentionExpired, "", ""},
		{"expired before restricted", "service", subject(withRestriction(restriction("r", nil))), expired(itEmail), decide.RetentionExpired, "", ""},
		{"expired before consent", "newsletter", subject(), expired(itEmail), decide.RetentionExpired, "", ""},
		{"held past expiry, then objected", "fraud", subject(withHold(hold("h", "fraud", nil, nil)), withObjection("o", "fraud", store.ObjectLegitimateInterest, store.ObjectionUpheld)), expired(itOrders), decide.Objected, "", "o"},
	})
}

// Rule 5: minimum age.
func TestMinimumAge(t *testing.T) {
	runCases(t, []ruleCase{
		{"minor, contract", "service", subject(minor), itEmail, decide.UnderMinimumAge, decide.DetailUnderAge, ""},
		{"minor, legitimate interests", "fraud", subject(minor), itOrders, decide.UnderMinimumAge, "", ""},
		{"minor, consent given", "newsletter", subject(minor, given("newsletter")), itEmail, decide.UnderMinimumAge, "", ""},
		{"minor, legal obligation", "bookkeeping", subject(minor), itOrders, "", "", ""},
		{"minor, vital interests", "safety", subject(minor), itHealth, "", "", ""},
		{"minor with parental consent", "service", subject(minorConsented), itEmail, "", "", ""},
		{"minor with parental consent, consent purpose", "newsletter", subject(minorConsented, given("newsletter")), itEmail, "", "", ""},
		{"minor before restricted", "service", subject(minor, withRestriction(restriction("r", nil))), itEmail, decide.UnderMinimumAge, "", ""},
		{"minor, legal obligation, restricted", "bookkeeping", subject(minor, withRestriction(restriction("r", nil))), itOrders, decide.Restricted, "", ""},
	})
}

// Rule 6: restriction.
func TestRestricted(t *testing.T) {
	lifted := restriction("r-lifted", nil)
	lifted.LiftedAt = now
	liftLater := restriction("r-later", nil)
	liftLater.LiftedAt = now.Add(time.Hour)
	runCases(t, []ruleCase{
		{"everything restricted", "service", subject(withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, decide.DetailRestricted, "r1"},
		{"category restricted", "service", subject(withRestriction(restriction("r1", []string{"user.contact"}))), itEmail, decide.Restricted, "", "r1"},
		{"other category restricted", "service", subject(withRestriction(restriction("r1", []string{"user.contact"}))), itName, "", "", ""},
		{"sub-category restricted, question about the whole", "service", subject(withRestriction(restriction("r1", []string{"user.contact.email"}))), decide.Item{Category: "user.contact"}, decide.Restricted, "", "r1"},
		{"sibling restricted", "service", subject(withRestriction(restriction("r1", []string{"user.contact.phone_number"}))), itEmail, "", "", ""},
		{"allowed purpose", "bookkeeping", subject(withRestriction(restriction("r1", nil, "bookkeeping"))), itOrders, "", "", ""},
		{"other purpose of an allowing restriction", "service", subject(withRestriction(restriction("r1", nil, "bookkeeping"))), itOrders, decide.Restricted, "", ""},
		{"two restrictions, one allows", "bookkeeping", subject(withRestriction(restriction("r1", nil, "bookkeeping")), withRestriction(restriction("r2", []string{"user.behavior"}))), itOrders, decide.Restricted, "", "r2"},
		{"legal obligation is not exempt by itself", "bookkeeping", subject(withRestriction(restriction("r1", nil))), itOrders, decide.Restricted, "", ""},
		{"vital interests are not exempt by itself", "safety", subject(withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, "", ""},
		{"consent does not lift a restriction", "newsletter", subject(given("newsletter"), withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, "", ""},
		{"consent and listed exception", "newsletter", subject(given("newsletter"), withRestriction(restriction("r1", nil, "newsletter"))), itEmail, "", "", ""},
		{"lifted", "service", subject(withRestriction(lifted)), itEmail, "", "", ""},
		{"lifted later", "service", subject(withRestriction(liftLater)), itEmail, decide.Restricted, "", "r-later"},
		{"subject state restricted", "bookkeeping", subject(restrictedState), itOrders, decide.Restricted, decide.DetailSubjectRestricted, ""},
		// Precedence.
		{"restricted before objected", "fraud", subject(withRestriction(restriction("r1", nil)), withObjection("o", "fraud", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itOrders, decide.Restricted, "", ""},
		{"restricted before opted out", "li_sale", subject(optedOut, withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, "", ""},
		{"restricted before consent", "newsletter", subject(withRestriction(restriction("r1", nil))), itEmail, decide.Restricted, "", ""},
	})
}

// Rule 7: objection.
func TestObjected(t *testing.T) {
	dmAll := withObjection("o-dm", "", store.ObjectDirectMarketing, store.ObjectionUpheld)
	runCases(t, []ruleCase{
		{"direct marketing, consent purpose", "newsletter", subject(given("newsletter"), dmAll), itEmail, decide.Objected, decide.DetailObjectedMarketing, "o-dm"},
		{"direct marketing, legitimate interests purpose", "li_marketing", subject(dmAll), itEmail, decide.Objected, decide.DetailObjectedMarketing, ""},
		{"direct marketing does not reach the service", "service", subject(dmAll), itEmail, "", "", ""},
		{"direct marketing does not reach fraud prevention", "fraud", subject(dmAll), itOrders, "", "", ""},
		{"named marketing purpose", "newsletter", subject(given("newsletter"), withObjection("o1", "newsletter", store.ObjectDirectMarketing, store.ObjectionUpheld)), itEmail, decide.Objected, "", "o1"},
		{"other marketing purpose named", "advertising", subject(given("advertising"), withObjection("o1", "newsletter", store.ObjectDirectMarketing, store.ObjectionUpheld)), itCookie, "", "", ""},
		{"pending objection to marketing is unconditional", "li_marketing", subject(withObjection("o1", "li_marketing", store.ObjectLegitimateInterest, store.ObjectionPending)), itEmail, decide.Objected, decide.DetailObjectedMarketing, ""},
		{"legitimate interest, pending", "fraud", subject(withObjection("o1", "fraud", store.ObjectLegitimateInterest, store.ObjectionPending)), itOrders, decide.Objected, decide.DetailObjectedPending, "o1"},
		{"legitimate interest, upheld", "fraud", subject(withObjection("o1", "fraud", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itOrders, decide.Objected, decide.DetailObjectedUpheld, "o1"},
		{"legitimate interest, overridden", "fraud", subject(withObjection("o1", "fraud", store.ObjectLegitimateInterest, store.ObjectionOverridden)), itOrders, "", "", ""},
		{"legitimate interest, withdrawn", "fraud", subject(withObjection("o1", "fraud", store.ObjectLegitimateInterest, store.ObjectionWithdrawn)), itOrders, "", "", ""},
		{"all legitimate interests", "li_sale", subject(withObjection("o1", "", store.ObjectLegitimateInterest, store.ObjectionPending)), itEmail, decide.Objected, decide.DetailObjectedPending, ""},
		{"all legitimate interests, public task untouched", "statistics", subject(withObjection("o1", "", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itOrders, "", "", ""},
		{"public task", "statistics", subject(withObjection("o1", "", store.ObjectPublicTask, store.ObjectionUpheld)), itViews, decide.Objected, decide.DetailObjectedUpheld, ""},
		{"public task objection, legitimate interests untouched", "fraud", subject(withObjection("o1", "", store.ObjectPublicTask, store.ObjectionUpheld)), itOrders, "", "", ""},
		{"objection to a contract purpose has no effect", "service", subject(withObjection("o1", "service", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itEmail, "", "", ""},
		{"objection to a legal obligation has no effect", "bookkeeping", subject(withObjection("o1", "bookkeeping", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itOrders, "", "", ""},
		{"objection to a consent purpose is not a withdrawal", "recommendations", subject(given("recommendations"), withObjection("o1", "recommendations", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itViews, "", "", ""},
		{"objection to another purpose", "fraud", subject(withObjection("o1", "statistics", store.ObjectPublicTask, store.ObjectionUpheld)), itOrders, "", "", ""},
		// Precedence.
		{"objected before opted out", "li_sale", subject(optedOut, withObjection("o1", "li_sale", store.ObjectLegitimateInterest, store.ObjectionUpheld)), itEmail, decide.Objected, "", ""},
		{"objected before consent", "newsletter", subject(dmAll), itEmail, decide.Objected, "", ""},
		{"objected before withdrawn", "newsletter", subject(dmAll, withConsent("newsletter", store.ConsentWithdrawn, now.Add(-time.Hour), 5)), itEmail, decide.Objected, "", ""},
	})
}

// Rule 8: CCPA opt-out.
func TestOptedOut(t *testing.T) {
	ledgerOut := withConsentState(store.ConsentState{Purpose: store.PurposeSaleShare, Kind: store.ConsentWithdrawn, EventID: "ev-out", At: now.Add(-time.Hour)})
	ledgerIn := withConsentState(store.ConsentState{Purpose: store.PurposeSaleShare, Kind: store.ConsentGiven, EventID: "ev-in", At: now.Add(-time.Hour)})
	runCases(t, []ruleCase{
		{"opted out by flag", "li_sale", subject(optedOut), itEmail, decide.OptedOut, decide.DetailOptedOut, ""},
		{"opted out in the ledger", "li_sale", subject(ledgerOut), itEmail, decide.OptedOut, "", "ev-out"},
		{"opted in again", "li_sale", subject(ledgerIn), itEmail, "", "", ""},
		{"not opted out", "li_sale", subject(), itEmail, "", "", ""},
		{"consent purpose that sells", "advertising", subject(given("advertising"), optedOut), itCookie, decide.OptedOut, "", ""},
		{"purpose that does not sell", "newsletter", subject(given("newsletter"), optedOut, ledgerOut), itEmail, "", "", ""},
		{"opted out before consent missing", "advertising", subject(ledgerOut), itCookie, decide.OptedOut, "", ""},
	})
}

// Rule 9: consent.
func TestConsent(t *testing.T) {
	exp := func(purpose string, at, expires time.Time) func(*decide.Subject) {
		return withConsentState(store.ConsentState{Purpose: purpose, Kind: store.ConsentGiven, EventID: "ev", At: at, ExpiresAt: expires, PolicyVersion: 5})
	}
	runCases(t, []ruleCase{
		{"never given", "newsletter", subject(), itEmail, decide.ConsentMissing, decide.DetailConsentNever, ""},
		{"given", "newsletter", subject(given("newsletter")), itEmail, "", "", ""},
		{"given for another purpose", "newsletter", subject(given("advertising")), itEmail, decide.ConsentMissing, decide.DetailConsentNever, ""},
		{"withdrawn", "newsletter", subject(withConsent("newsletter", store.ConsentWithdrawn, now.Add(-time.Hour), 5)), itEmail, decide.ConsentWithdrawn, decide.DetailConsentWithdrawn, "ev-newsletter-withdrawn"},
		{"expired event", "newsletter", subject(withConsent("newsletter", store.ConsentExpired, now.Add(-time.Hour), 5)), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, "ev-newsletter-expired"},
		{"unknown latest kind", "newsletter", subject(withConsent("newsletter", "bogus", now.Add(-time.Hour), 5)), itEmail, decide.ConsentMissing, decide.DetailConsentUnknown, ""},
		{"expires now", "recommendations", subject(exp("recommendations", now.AddDate(-1, 0, 0), now)), itViews, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"expires later", "recommendations", subject(exp("recommendations", now.AddDate(-1, 0, 0), now.Add(time.Second))), itViews, "", "", ""},
		{"purpose lifetime over (24mo)", "newsletter", subject(exp("newsletter", now.AddDate(0, -24, 0), time.Time{})), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"purpose lifetime not over", "newsletter", subject(exp("newsletter", now.AddDate(0, -24, 1), time.Time{})), itEmail, "", "", ""},
		{"purpose lifetime shorter than recorded expiry", "newsletter", subject(exp("newsletter", now.AddDate(-3, 0, 0), now.AddDate(1, 0, 0))), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"recorded expiry shorter than purpose lifetime", "newsletter", subject(exp("newsletter", now.AddDate(0, -2, 0), now.Add(-time.Second))), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"lifetime in days over", "trial_offers", subject(exp("trial_offers", now.AddDate(0, 0, -30), time.Time{})), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"lifetime in days not over", "trial_offers", subject(exp("trial_offers", now.AddDate(0, 0, -30).Add(time.Second), time.Time{})), itEmail, "", "", ""},
		{"no lifetime, no expiry", "recommendations", subject(exp("recommendations", now.AddDate(-10, 0, 0), time.Time{})), itViews, "", "", ""},
		{"renewal needed", "newsletter", subject(withConsent("newsletter", store.ConsentGiven, now.Add(-time.Hour), 4), validSince("newsletter", 5)), itEmail, decide.ConsentMissing, decide.DetailConsentRenewal, "ev-newsletter-given"},
		{"renewed", "newsletter", subject(withConsent("newsletter", store.ConsentGiven, now.Add(-time.Hour), 5), validSince("newsletter", 5)), itEmail, "", "", ""},
		{"renewal of another purpose", "newsletter", subject(withConsent("newsletter", store.ConsentGiven, now.Add(-time.Hour), 1), validSince("advertising", 5)), itEmail, "", "", ""},
		{"unknown version needs renewal", "newsletter", subject(withConsent("newsletter", store.ConsentGiven, now.Add(-time.Hour), 0), validSince("newsletter", 1)), itEmail, decide.ConsentMissing, decide.DetailConsentRenewal, ""},
		{"expired before renewal", "newsletter", subject(withConsent("newsletter", store.ConsentGiven, now.AddDate(-3, 0, 0), 1), validSince("newsletter", 5)), itEmail, decide.ConsentMissing, decide.DetailConsentExpired, ""},
		{"not needed for a contract", "service", subject(), itEmail, "", "", ""},
		{"not needed for legitimate interests", "fraud", subject(withConsent("fraud", store.ConsentWithdrawn, now, 5)), itOrders, "", "", ""},
		{"explicit consent for special data", "coaching", subject(given("coaching")), itHealth, "", "", ""},
		{"explicit consent withdrawn", "coaching", subject(withConsent("coaching", store.ConsentWithdrawn, now, 5)), itHealth, decide.ConsentWithdrawn, "", ""},
	})
}

func TestDecideBatch(t *testing.T) {
	s := subject(given("newsletter"), withRestriction(restriction("r1", []string{"user.name"})))
	items := []decide.Item{itEmail, itName, itHealth, expired(itEmail)}
	out := make([]decide.Decision, 1, 8)
	out[0] = decide.Decision{Item: "kept"}
	out, err := decide.Decide(doc, "newsletter", s, items, now, out)
	if err != nil {
		t.Fatal(err)
	}
	want := []decide.Reason{"", "", decide.Restricted, decide.NotInPurpose, decide.RetentionExpired}
	if len(out) != len(want) || out[0].Item != "kept" {
		t.Fatalf("Decide appended %d decisions to %v", len(out)-1, out)
	}
	for i, d := range out[1:] {
		if d.Reason != want[i+1] || d.Item != items[i].Name {
			t.Errorf("decision %d = %+v, want reason %q for %s", i, d, want[i+1], items[i].Name)
		}
	}
	// Each item's decision equals DecideItem's.
	for i, it := range items {
		if one := mustDecideItem(t, doc, "newsletter", s, it); one != out[i+1] {
			t.Errorf("Decide[%d] = %+v, DecideItem = %+v", i, out[i+1], one)
		}
	}
	// DecideCategory is DecideItem without a name.
	d, err := decide.DecideCategory(doc, "newsletter", s, "user.contact.email", now)
	if err != nil || !d.Allowed || d.Item != "" || d.Category != "user.contact.email" {
		t.Errorf("DecideCategory = %+v, %v", d, err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := decide.Decide(doc, "nope", subject(), []decide.Item{itEmail}, now, nil); !errors.Is(err, decide.ErrUnknownPurpose) {
		t.Errorf("Decide with an unknown purpose: %v", err)
	}
	out, err := decide.Decide(doc, "nope", subject(), []decide.Item{itEmail}, now, []decide.Decision{{Item: "x"}})
	if err == nil || len(out) != 1 {
		t.Errorf("Decide with an unknown purpose changed out: %v", out)
	}
	if _, err := decide.DecideCategory(doc, "", subject(), "user", now); !errors.Is(err, decide.ErrUnknownPurpose) {
		t.Errorf("DecideCategory with no purpose: %v", err)
	}
	if _, err := decide.DecideItem(nil, "service", subject(), itEmail, now); !errors.Is(err, decide.ErrNoPolicy) {
		t.Errorf("DecideItem without a policy: %v", err)
	}
	// A nil subject is an active adult with no controls.
	if d, err := decide.DecideCategory(doc, "service", nil, "user.contact.email", now); err != nil || !d.Allowed {
		t.Errorf("nil subject: %+v, %v", d, err)
	}
	if d, err := decide.DecideCategory(doc, "newsletter", nil, "user.contact.email", now); err != nil || d.Reason != decide.ConsentMissing {
		t.Errorf("nil subject, consent purpose: %+v, %v", d, err)
	}
}

// TestReasonsDocumented checks that every reason has a distinct value and
// that the enum in Decision's doc tag and docs/decisions.md list them all.
func TestReasonsDocumented(t *testing.T) {
	seen := map[decide.Reason]bool{}
	for _, r := range decide.Reasons {
		if seen[r] || r == "" {
			t.Errorf("reason %q repeated or empty", r)
		}
		seen[r] = true
	}
	if len(decide.Reasons) != 11 {
		t.Errorf("%d reasons; update this test, the enum tag and docs/decisions.md together", len(decide.Reasons))
	}
}
