package policy

import (
	"sync"
	"testing"
)

func TestBuiltinTaxonomy(t *testing.T) {
	tax := BuiltinTaxonomy()
	if n := len(tax.Keys()); n != 101 {
		t.Errorf("built-in categories = %d, want 101 (the CSV rows)", n)
	}
	c, ok := tax.Lookup("user.contact.email")
	if !ok || c.Name != "User Contact Email" || !c.BuiltIn || c.Parent != "user.contact" || c.Special {
		t.Errorf("Lookup(user.contact.email) = %+v, %v", c, ok)
	}
	if tax.Name("user.health") != "Health Data" || tax.Name("no.such") != "no.such" {
		t.Errorf("Name: %q %q", tax.Name("user.health"), tax.Name("no.such"))
	}
	for _, k := range []string{"user.health", "user.health.genetic", "user.biometrics.fingerprint", "user.authorization.biometrics",
		"user.demographic.race_ethnicity", "user.demographic.political_opinion", "user.demographic.religious_belief",
		"user.demographic.philosophical_belief", "user.demographic.sexual_orientation", "user.demographic.union_membership"} {
		if !tax.IsSpecial(k) {
			t.Errorf("%s should be special", k)
		}
	}
	for _, k := range []string{"user", "user.contact.email", "user.demographic.gender", "user.criminal_history", "user.authorization.password"} {
		if tax.IsSpecial(k) {
			t.Errorf("%s should not be special", k)
		}
	}
	for _, k := range []string{"user.government_id.passport_number", "user.location.precise", "user.health.condition", "user.financial.credit_card", "user.demographic.citizenship_or_immigration_status"} {
		if !tax.IsSensitive(k) {
			t.Errorf("%s should be sensitive", k)
		}
	}
	if tax.IsSensitive("user.location.coarse") || tax.IsSensitive("user.demographic.political_opinion") {
		t.Error("coarse location and political opinion are not CPRA sensitive")
	}
	// Every special or sensitive root must exist in the CSV.
	for _, k := range append(append([]string{}, builtinSpecial...), builtinSensitive...) {
		if !tax.Has(k) {
			t.Errorf("%s is marked but not in the taxonomy", k)
		}
	}
}

func TestCovers(t *testing.T) {
	tax := NewTaxonomy([]Category{
		{Key: "hr.review", Name: "Reviews", Parent: "user.professional_information"},
		{Key: "hr.review.peer", Name: "Peer reviews"},
		{Key: "x.a", Name: "A", Parent: "x.b"}, // a cycle Validate reports
		{Key: "x.b", Name: "B", Parent: "x.a"},
		{Key: "med.notes", Name: "Notes", Parent: "user.health"},
	})
	cases := []struct {
		parent, child string
		want          bool
	}{
		{"user.contact", "user.contact.email", true},
		{"user", "user.contact.address.city", true},
		{"user.contact.email", "user.contact", false},
		{"user.contact", "user.contacts", false},
		{"user.contact", "user.contact", true},
		{"user.professional_information", "hr.review", true},
		{"user.professional_information", "hr.review.peer", true},
		{"user", "hr.review.peer", true},
		{"hr", "hr.review.peer", true},
		{"x.b", "x.a", true},
		{"x.a", "x.b", true},
		{"x.a", "x.a", true},
		{"", "user", false},
		{"unknown", "unknown.child", true},
	}
	for _, c := range cases {
		if got := tax.Covers(c.parent, c.child); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.parent, c.child, got, c.want)
		}
	}
	if !tax.IsSpecial("med.notes") {
		t.Error("a custom category under user.health is special")
	}
	if tax.IsSpecial("hr.review") {
		t.Error("hr.review is not special")
	}
}

func TestDocumentLookups(t *testing.T) {
	doc, err := Load("rich.yaml", []byte(readFixture(t, "rich.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if p := doc.PurposeByKey("newsletter"); p == nil || p.LegalBasis != BasisConsent {
		t.Errorf("PurposeByKey = %+v", p)
	}
	if doc.PurposeByKey("nope") != nil || doc.FieldByName("nope") != nil || doc.RecipientByKey("nope") != nil {
		t.Error("unknown keys must give nil")
	}
	if f := doc.FieldByName("phone"); f == nil || f.Identity != IdentityPhone {
		t.Errorf("FieldByName = %+v", f)
	}
	if c := doc.CollectionByName("orders"); c == nil || c.Retention != "tax_5y" {
		t.Errorf("CollectionByName = %+v", c)
	}
	if r := doc.RecipientByKey("mailer"); r == nil || r.Country != "US" {
		t.Errorf("RecipientByKey = %+v", r)
	}
	if r := doc.RetentionFor("email"); r == nil || r.Key != "account_closed_30d" {
		t.Errorf("RetentionFor(email) = %+v", r)
	}
	if r := doc.RetentionFor("orders"); r == nil || r.Key != "tax_5y" || r.KeptByLaw == "" {
		t.Errorf("RetentionFor(orders) = %+v", r)
	}
	if doc.RetentionFor("nope") != nil {
		t.Error("RetentionFor(unknown) must be nil")
	}
	if doc.RetentionByKey("collected_13mo") == nil || doc.CookieByName("_stats_id") == nil || doc.CategoryByKey("user.reading.reviews") == nil {
		t.Error("lookups failed")
	}
	keys := func(ps []*Purpose) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Key)
		}
		return out
	}
	if got := keys(doc.PurposesUsing("user.contact.email")); !equal(got, []string{"service", "newsletter"}) {
		t.Errorf("PurposesUsing(email) = %v", got)
	}
	if got := keys(doc.PurposesUsing("user.reading.preferences")); !equal(got, []string{"newsletter", "recommendations"}) {
		t.Errorf("PurposesUsing(preferences) = %v", got)
	}
	if got := keys(doc.PurposesUsing("user.behavior.purchase_history")); !equal(got, []string{"service", "bookkeeping", "fraud_prevention", "recommendations"}) {
		t.Errorf("PurposesUsing(purchase_history) = %v", got)
	}
	if !doc.MayUse("service", "user.contact.phone_number") || doc.MayUse("newsletter", "user.contact.phone_number") || doc.MayUse("nope", "user") {
		t.Error("MayUse")
	}
	if !doc.ThirdCountry("US") || doc.ThirdCountry("DE") || !doc.ThirdCountry("GB") {
		t.Error("ThirdCountry under GDPR")
	}
	if !doc.Applies(CCPA) || doc.IsSpecial("user.contact") || !doc.IsSensitive("user.location.precise") {
		t.Error("Applies/IsSpecial/IsSensitive")
	}
	if rs := doc.RecipientsOf("service"); len(rs) != 3 || rs[0].Key != "cloudhost" {
		t.Errorf("RecipientsOf = %v", rs)
	}
	if doc.Taxonomy().Name("user.reading.reviews") != "Book reviews" {
		t.Error("custom category name")
	}
	// Concurrent readers (run with -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				_ = doc.PurposesUsing("user.contact.email")
				_ = doc.MayUse("service", "user.name")
				_ = doc.RetentionFor("email")
			}
		}()
	}
	wg.Wait()
}

func TestThirdCountryUKOnly(t *testing.T) {
	src := edit(t, readFixture(t, "minimal.yaml"), "jurisdictions: [gdpr]", "jurisdictions: [uk_gdpr]", "  country: \"NO\"\n  email", "  country: GB\n  email")
	doc, err := Load("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !doc.ThirdCountry("DE") || doc.ThirdCountry("GB") {
		t.Error("under the UK GDPR alone, DE is a third country and GB is not")
	}
	src = edit(t, readFixture(t, "minimal.yaml"), "jurisdictions: [gdpr]", "jurisdictions: [ccpa]")
	if doc, err = Load("p.yaml", []byte(src)); err != nil || doc.ThirdCountry("CN") {
		t.Errorf("CCPA only: err=%v third=%v", err, doc != nil && doc.ThirdCountry("CN"))
	}
}

func TestCountries(t *testing.T) {
	if n := len(isoCountries); n != 249 {
		t.Errorf("ISO 3166-1 has 249 codes, table has %d", n)
	}
	for code := range isoCountries {
		if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
			t.Errorf("bad code %q", code)
		}
	}
	for _, set := range []map[string]bool{eeaCountries, euAdequate, ukAdequate} {
		for c := range set {
			if _, ok := isoCountries[c]; !ok {
				t.Errorf("%s is not an ISO code", c)
			}
		}
	}
	eu27 := 0
	for c := range eeaCountries {
		switch c {
		case "IS", "LI", "NO", "AX", "GF", "GP", "MQ", "YT", "RE", "MF":
		default:
			eu27++
		}
	}
	if eu27 != 27 {
		t.Errorf("EU member states = %d, want 27", eu27)
	}
	if EUAdequate("US") || !EUAdequate("JP") || !UKAdequate("DE") || InEEA("CH") || !InEEA("NO") {
		t.Error("adequacy/EEA tables")
	}
	if n, ok := CountryName("NO"); !ok || n != "Norway" {
		t.Error("CountryName")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
