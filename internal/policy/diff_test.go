package policy

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	rich := readFixture(t, "rich.yaml")
	old := mustLoad(t, "old", rich).Policy
	cases := []struct {
		name      string
		edits     []string
		changes   []string // "kind area key: detail" fragments, each must appear
		reconsent []string // "purpose: reason" fragments, exactly these purposes
	}{
		{"no change", nil, nil, nil},
		{"new consent purpose", []string{"recipients:\n  - key: cloudhost", "  - key: surveys\n    name: Surveys\n    description: We ask what you think.\n    legal_basis: consent\n    categories: [user.contact.email]\n    consent:\n      withdrawal: Reply STOP.\nrecipients:\n  - key: cloudhost"},
			[]string{"added purpose surveys: legal_basis: consent"}, []string{"surveys: new purpose based on consent"}},
		{"new contract purpose needs no consent", []string{"recipients:\n  - key: cloudhost", "  - key: support\n    name: Support\n    description: Answering questions.\n    legal_basis: contract\n    categories: [user.contact.email]\nrecipients:\n  - key: cloudhost"},
			[]string{"added purpose support"}, nil},
		{"basis changed to consent", []string{"    legal_basis: legitimate_interests\n    legitimate_interest: Protecting our members and us from payment fraud.\n", "    legal_basis: consent\n    consent:\n      withdrawal: Ask us.\n",
			"automated_decisions:\n      logic", "automated_decisions:\n      logic"},
			[]string{"changed purpose fraud_prevention: legal_basis: legitimate_interests → consent", "consent added", "legitimate_interest: Protecting our members and us from payment fraud. → (not set)"},
			[]string{"fraud_prevention: legal basis changed from legitimate_interests to consent"}},
		{"consent purpose widened by category", []string{"    categories: [user.contact.email, user.name, user.reading.preferences]", "    categories: [user.contact.email, user.name, user.reading.preferences, user.contact.phone_number]"},
			[]string{"changed purpose newsletter: categories added: user.contact.phone_number"}, []string{"newsletter: uses new categories: user.contact.phone_number"}},
		{"narrower category is not wider", []string{"    categories: [user.behavior, user.reading.preferences]", "    categories: [user.behavior, user.behavior.search_history]"},
			[]string{"changed purpose recommendations: categories added: user.behavior.search_history", "categories removed: user.reading.preferences"}, nil},
		{"consent purpose gets recipient", []string{"    recipients: [analytics_vendor]", "    recipients: [analytics_vendor, cloudhost]"},
			[]string{"changed purpose analytics: recipients added: cloudhost"}, []string{"analytics: new recipients: cloudhost"}},
		{"sale or share switched on", []string{"    categories: [user.behavior.browsing_history, user.device.cookie_id]\n    recipients: [analytics_vendor]", "    categories: [user.behavior.browsing_history, user.device.cookie_id]\n    sale_or_share: true\n    recipients: [analytics_vendor]"},
			[]string{"changed purpose analytics: sale_or_share: false → true"}, []string{"analytics: data is now sold or shared (CCPA)"}},
		{"automated decisions added", []string{"    retention: last_activity_2y\n    consent:", "    retention: last_activity_2y\n    automated_decisions:\n      logic: x\n      significance: y\n    consent:"},
			[]string{"changed purpose recommendations: automated_decisions added"}, []string{"recommendations: now makes automated decisions"}},
		{"recipient moved", []string{"    country: DE\n", "    country: US\n    transfer: dpf\n"},
			[]string{"changed recipient analytics_vendor: country: DE → US", "transfer: (not set) → dpf"}, []string{"analytics: recipient analytics_vendor moved from DE to US"}},
		{"recipient removed and added", []string{"  - key: courier\n    name: Example Courier AS", "  - key: courier2\n    name: Example Courier AS", "[cloudhost, payments, courier]", "[cloudhost, payments, courier2]"},
			[]string{"removed recipient courier", "added recipient courier2: role: third_party", "changed purpose service: recipients added: courier2"}, nil},
		{"retention changed", []string{"    duration: 5y\n", "    duration: 10y\n"}, []string{"changed retention tax_5y: duration: 5y → 10y"}, nil},
		{"field category changed", []string{"    category: user.contact.address\n", "    category: user.contact.address.street\n"}, []string{"changed field address: category: user.contact.address → user.contact.address.street"}, nil},
		{"collection removed", []string{"  - name: reviews\n    category: user.reading.reviews\n", ""}, []string{"removed collection reviews"}, nil},
		{"custom category changed", []string{"    parent: user.content.public", "    parent: user.content"}, []string{"changed category user.reading.reviews: parent: user.content.public → user.content"}, nil},
		{"cookie changed", []string{"    duration: 90 days", "    duration: 6mo"}, []string{"changed cookie ad_*: duration: 90d → 6mo"}, nil},
		{"controller and jurisdictions", []string{"  email: privacy@nordlys-books.example", "  email: dpo-office@nordlys-books.example", "jurisdictions: [gdpr, uk_gdpr, ccpa]", "jurisdictions: [gdpr, uk_gdpr]"},
			[]string{"changed controller controller: email: privacy@nordlys-books.example → dpo-office@nordlys-books.example", "removed jurisdiction ccpa"}, nil},
		{"backup retention and rights", []string{"backup_retention: 90d", "backup_retention: 30d", "    access: email_code", "    access: manual"},
			[]string{"changed policy backup_retention: 90d → 30d", "changed rights rights: verification.access: email_code → manual"}, nil},
		{"long text", []string{"security: Data is encrypted at rest and in transit, and access is logged.", "security: Data is encrypted at rest and in transit, and every access is logged and reviewed."},
			[]string{"changed policy security: text changed"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := rich
			if len(c.edits) > 0 {
				src = edit(t, rich, c.edits...)
			}
			d, err := Load("new", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			r := Diff(old, d.Policy)
			var lines []string
			for _, ch := range r.Changes {
				lines = append(lines, string(ch.Kind)+" "+ch.Area+" "+ch.Key+": "+strings.Join(ch.Details, "; "))
			}
			all := strings.Join(lines, "\n")
			if len(c.changes) == 0 && c.name == "no change" && !r.Empty() {
				t.Errorf("want no changes, got:\n%s", all)
			}
			for _, w := range c.changes {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in:\n%s", w, all)
				}
			}
			var got []string
			for _, x := range r.Reconsent {
				got = append(got, x.Purpose+": "+x.Reason)
			}
			if len(got) != len(c.reconsent) {
				t.Fatalf("reconsent = %q, want %q", got, c.reconsent)
			}
			for i := range got {
				if !strings.Contains(got[i], c.reconsent[i]) {
					t.Errorf("reconsent[%d] = %q, want %q", i, got[i], c.reconsent[i])
				}
			}
		})
	}
}

func TestDiffText(t *testing.T) {
	rich := readFixture(t, "rich.yaml")
	old := mustLoad(t, "old", rich).Policy
	same := Diff(old, old).Text()
	if same != "No changes.\nExisting consents remain valid: no consent-based purpose was added or widened.\n" {
		t.Errorf("Text() = %q", same)
	}
	newer := mustLoad(t, "new", edit(t, rich,
		"    recipients: [analytics_vendor]", "    recipients: [analytics_vendor, cloudhost]",
		"  - key: courier\n    name: Example Courier AS", "  - key: courier\n    name: Example Couriers AS",
	)).Policy
	got := Diff(old, newer).Text()
	want := `~ purpose "analytics" changed
    recipients added: cloudhost
~ recipient "courier" changed
    name: Example Courier AS → Example Couriers AS
Existing consents must be asked again for: analytics (new recipients: cloudhost).
`
	if got != want {
		t.Errorf("Text() =\n%s\nwant\n%s", got, want)
	}
	if p := Diff(old, newer).ReconsentPurposes(); len(p) != 1 || p[0] != "analytics" {
		t.Errorf("ReconsentPurposes = %v", p)
	}
	if !strings.Contains(Diff(nil, newer).Text(), "Existing consents must be asked again for: newsletter (new purpose based on consent); recommendations") {
		t.Errorf("Diff from nothing:\n%s", Diff(nil, newer).Text())
	}
}
