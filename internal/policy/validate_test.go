package policy

import (
	"strings"
	"testing"
)

// TestValidationRules checks each semantic rule with one mistake in the
// rich fixture (or the minimal one): the message and the position (⟪) of
// the error, and that it is the only error, so rules do not cascade.
func TestValidationRules(t *testing.T) {
	rich := readFixture(t, "rich.yaml")
	minimal := readFixture(t, "minimal.yaml")
	cases := []struct {
		name  string
		base  string
		edits []string
		frag  string
		warn  bool
	}{
		// names and duplicates
		{"field name pattern", rich, []string{"  - name: email\n", "  - name: ⟪Email\n"}, `field name "Email" must be lower snake case`, false},
		{"name pattern suggests", rich, []string{"  - key: courier\n", "  - key: ⟪Courier Service\n", "[cloudhost, payments, courier]", "[cloudhost, payments, Courier Service]"}, `for example "courier_service"`, false},
		{"duplicate field", rich, []string{"  - name: address\n", "  - name: ⟪phone\n"}, `field name "phone" is already used (line 46)`, false},
		{"field and collection share names", rich, []string{"  - name: reviews\n", "  - name: ⟪email\n"}, `collection name "email" is already used`, false},
		{"duplicate recipient", rich, []string{"  - key: tax_authority\n", "  - key: ⟪courier\n", "[cloudhost, tax_authority]", "[cloudhost, courier]"}, `recipient "courier" is declared twice`, false},
		{"duplicate retention rule", rich, []string{"  - key: collected_13mo\n", "  - key: ⟪collected_3y\n", "retention: collected_13mo\n", "retention: collected_3y\n"}, `retention rule "collected_3y" is declared twice`, false},
		{"duplicate cookie", rich, []string{"  - name: consent\n", "  - name: ⟪session\n"}, `cookie "session" is declared twice`, false},
		{"duplicate jurisdiction", rich, []string{"jurisdictions: [gdpr, uk_gdpr, ccpa]", "jurisdictions: [gdpr, uk_gdpr, ccpa, ⟪gdpr]"}, `jurisdiction "gdpr" is declared twice`, false},
		{"duplicate category in purpose", rich, []string{"    categories: [user.demographic.date_of_birth]", "    categories: [user.demographic.date_of_birth, ⟪user.demographic.date_of_birth]"}, `category "user.demographic.date_of_birth" is declared twice`, false},
		{"duplicate custom category", rich, []string{"\n\nfields:\n", "\n  - key: ⟪user.reading.reviews\n    name: Reviews again\n\nfields:\n"}, `category "user.reading.reviews" is declared twice (first at line 31)`, false},
		{"duplicate purpose", rich, []string{"  - key: recommendations\n", "  - key: ⟪newsletter\n"}, `purpose "newsletter" is declared twice`, false},
		{"confirm longer than respond", rich, []string{"    respond: 15wd\n    confirm: 2wd", "    respond: 5wd\n    confirm: ⟪8wd"}, `confirming receipt (8wd) cannot take longer than answering (5wd)`, false},
		{"cookie name", rich, []string{"  - name: _stats_id\n", "  - name: ⟪\"_stats id\"\n"}, `cookie name "_stats id" cannot contain spaces`, false},

		// categories
		{"category key format", rich, []string{"  - key: user.reading.reviews\n", "  - key: ⟪User.Reading.reviews\n", "category: user.reading.reviews", "category: user.content.public", ", user.reading.reviews]", "]"}, `category key "User.Reading.reviews" must be dotted lower snake case`, false},
		{"custom redefines built-in", rich, []string{"  - key: user.reading.reviews\n", "  - key: ⟪user.contact.email\n", "category: user.reading.reviews", "category: user.content.public", ", user.reading.reviews]", "]"}, `category "user.contact.email" is built in`, false},
		{"unknown parent", rich, []string{"    parent: user.content.public", "    parent: ⟪user.content.publc"}, `parent "user.content.publc" of category "user.reading.reviews" does not exist; did you mean "user.content.public"?`, false},
		{"own parent", rich, []string{"    parent: user.content.public", "    parent: ⟪user.reading.reviews"}, `cannot be its own parent`, false},
		{"parent cycle", rich, []string{"    parent: user.content.public", "    parent: ⟪user.reading.preferences", "    parent: user.behavior\n", "    parent: user.reading.reviews\n"}, `categories form a cycle through their parents: user.reading.reviews → user.reading.preferences → user.reading.reviews`, false},
		{"unknown category in purpose", rich, []string{"    categories: [user.demographic.date_of_birth]", "    categories: [⟪user.demographic.birthday]"}, `unknown data category "user.demographic.birthday"`, false},
		{"unknown category suggests by last segment", rich, []string{"    category: user.contact.phone_number", "    category: ⟪user.phone_number"}, `did you mean "user.contact.phone_number"?`, false},

		// references
		{"unknown retention in field", rich, []string{"    retention: tax_5y\n    description: What you ordered", "    retention: ⟪tax_5years\n    description: What you ordered"}, `no retention rule has the key "tax_5years"; did you mean "tax_5y"?`, false},
		{"unknown default retention", minimal, []string{"default_retention: account_closed_30d", "default_retention: ⟪account_closed"}, `no retention rule has the key "account_closed"`, false},
		{"no retention at all", minimal, []string{"default_retention: account_closed_30d\n", "", "  - name: email", "  - ⟪name: email"}, `field "email" has no retention rule`, false},
		{"unknown recipient in purpose", rich, []string{"    recipients: [mailer]", "    recipients: [⟪mailler]"}, `no recipient has the key "mailler"; did you mean "mailer"?`, false},
		{"unknown recipient in cookie", rich, []string{"    recipient: analytics_vendor", "    recipient: ⟪analytics"}, `no recipient has the key "analytics"; did you mean "analytics_vendor"?`, false},
		{"identity category", rich, []string{"    category: user.name\n    required: true", "    category: user.name\n    identity: ⟪login\n    required: true"}, `identity field "name" has category user.name; an identity must be contact data`, false},

		// legal bases
		{"legitimate interests without interest", rich, []string{"    legitimate_interest: Protecting our members and us from payment fraud.\n", "", "    legal_basis: legitimate_interests", "    legal_basis: ⟪legitimate_interests"}, `purpose "fraud_prevention" is based on legitimate interests but does not say which interest`, false},
		{"legal obligation without law", rich, []string{"    legal_basis: legal_obligation\n    legal_obligation: Norwegian Film and Videogram Act\n", "    legal_basis: ⟪legal_obligation\n"}, `purpose "age_check" is based on a legal obligation but does not name the law`, false},
		{"consent without withdrawal", rich, []string{"    consent:\n      withdrawal: Switch recommendations off in your account settings.\n", "", "    legal_basis: consent\n    categories: [user.behavior, user.reading.preferences]", "    legal_basis: ⟪consent\n    categories: [user.behavior, user.reading.preferences]"}, `purpose "recommendations" is based on consent but gives no way to withdraw it (consent.withdrawal)`, false},
		{"consent block on contract", rich, []string{"    legal_basis: consent\n    categories: [user.behavior, user.reading.preferences]\n    retention: last_activity_2y\n    consent:", "    legal_basis: contract\n    categories: [user.behavior, user.reading.preferences]\n    retention: last_activity_2y\n    ⟪consent:"}, `purpose "recommendations" has a consent block but its legal basis is contract`, false},
		{"direct marketing on contract", rich, []string{"    legal_basis: contract\n    categories: [user.contact, user.name,", "    legal_basis: ⟪contract\n    direct_marketing: true\n    categories: [user.contact, user.name,"}, `purpose "service" is direct marketing, which can only be based on consent or legitimate interests`, false},

		// special categories
		{"special category without condition", rich, []string{"    categories: [user.demographic.date_of_birth]", "    ⟪categories: [user.demographic.date_of_birth, user.health.condition]"}, `purpose "age_check" uses special category data (user.health.condition, GDPR Art. 9)`, false},
		{"special category through a declared field", rich, []string{"  - name: date_of_birth\n", "  - name: allergies\n    category: user.health.condition\n  - name: date_of_birth\n", "    categories: [user.contact, user.name, user.unique_id,", "    ⟪categories: [user, user.name, user.unique_id,"}, `purpose "service" uses special category data (user.health.condition`, false},
		{"custom special category", rich, []string{"    description: Reviews a member writes about books.\n", "    description: Reviews a member writes about books.\n    special: true\n", "    categories: [user.contact, user.name, user.unique_id,", "    ⟪categories: [user.contact, user.name, user.unique_id,"}, `purpose "service" uses special category data (user.reading.reviews`, false},
		{"explicit consent needs consent basis", rich, []string{"    categories: [user.demographic.date_of_birth]", "    categories: [user.demographic.date_of_birth, user.health.condition]\n    special_category_condition: ⟪explicit_consent"}, `purpose "age_check" relies on explicit consent for special category data, but its legal basis is legal_obligation`, false},

		// automated decisions
		{"automated decisions need statement", rich, []string{"automated_decisions: >-\n  We score orders for fraud automatically. A high score only holds the order\n  for a person to check; nothing is refused without a person looking at it.\n", "", "    recipients: [payments]\n    automated_decisions:", "    recipients: [payments]\n    ⟪automated_decisions:"}, `purpose "fraud_prevention" makes automated decisions, so the policy needs the top-level automated_decisions statement`, false},
		{"legal effect on legitimate interests", rich, []string{"      significance: A high score holds the order for a manual check within one working day.", "      significance: A high score holds the order for a manual check within one working day.\n      legal_effect: true", "    legal_basis: legitimate_interests", "    legal_basis: ⟪legitimate_interests"}, `GDPR Art. 22(2) allows only when necessary for a contract, authorised by law or with explicit consent, not on legitimate_interests`, false},

		// transfers and countries
		{"third country without transfer", rich, []string{"    country: US\n    transfer: dpf\n", "    country: ⟪US\n"}, `recipient "mailer" is in United States (US), a third country under the GDPR, but names no transfer mechanism`, false},
		{"adequacy without decision", rich, []string{"    country: US\n    transfer: dpf\n", "    country: IN\n    transfer: ⟪adequacy\n"}, `India (IN) has no EU adequacy decision (GDPR Art. 45)`, false},
		{"adequacy for the US", rich, []string{"    country: US\n    transfer: dpf\n", "    country: US\n    transfer: ⟪adequacy\n"}, `the United States has no general EU adequacy decision: use dpf`, false},
		{"dpf outside the US", rich, []string{"    country: US\n    transfer: dpf\n", "    country: CA\n    transfer: ⟪dpf\n"}, `dpf (the Data Privacy Framework) covers only recipients in the United States, not Canada (CA)`, false},
		{"uk_idta under the GDPR", rich, []string{"    country: US\n    transfer: dpf\n", "    country: US\n    transfer: ⟪uk_idta\n"}, `uk_idta is a UK mechanism and does not cover a transfer under the GDPR`, false},
		{"scc alone under the UK GDPR", rich, []string{"    transfer: uk_addendum\n", "    transfer: ⟪scc_2021_914\n"}, `the EU standard contractual clauses alone do not cover a transfer under the UK GDPR`, false},
		{"UK is not a code", rich, []string{"    country: GB\n    transfer: adequacy\n", "    country: ⟪UK\n    transfer: adequacy\n"}, `"UK" is not an ISO 3166-1 alpha-2 code; use "GB" (United Kingdom)`, false},
		{"lower-case country", rich, []string{"    country: IE\n", "    country: ⟪ie\n"}, `country codes are written in capitals: use "IE" (Ireland)`, false},
		{"country name", rich, []string{"    country: DE\n", "    country: ⟪Germany\n"}, `"Germany" must be written as its ISO 3166-1 alpha-2 code "DE"`, false},
		{"uk-only third country", strings.NewReplacer("jurisdictions: [gdpr]", "jurisdictions: [uk_gdpr]", "    categories: [user.contact.email]\n", "    categories: [user.contact.email]\n    recipients: [host]\n", "  country: \"NO\"\n  email", "  country: GB\n  email").Replace(minimal) + "recipients:\n  - key: host\n    name: Host\n    role: processor\n    country: DE\n    categories: [user.contact.email]\n", []string{"    country: DE", "    country: ⟪DE"}, `a third country under the UK GDPR`, false},

		// controller
		{"supervisory authority missing", minimal, []string{"  supervisory_authority:\n    name: Datatilsynet\n    country: \"NO\"\n    website: https://www.datatilsynet.no\n", "", "controller:", "⟪controller:"}, `the GDPR applies, so controller.supervisory_authority must name the supervisory authority`, false},
		{"EU representative missing", minimal, []string{"  country: \"NO\"\n  email", "  country: ⟪US\n  email"}, `the controller is established outside the EEA (US) and the GDPR applies, so controller.eu_representative`, false},
		{"UK representative missing", rich, []string{"  uk_representative:\n    name: Example Representation Ltd\n    email: uk-rep@representative.example\n    address: 1 Example Street, London EC1A 1AA, United Kingdom\n", "", "  country: \"NO\"\n  email: privacy@", "  country: ⟪\"NO\"\n  email: privacy@"}, `so controller.uk_representative must name its representative in the UK`, false},
		{"bad email", rich, []string{"    email: dpo@nordlys-books.example", "    email: ⟪dpo at nordlys-books.example"}, `"dpo at nordlys-books.example" is not an email address`, false},
		{"bad url", rich, []string{"    privacy_url: https://cloud.example/privacy", "    privacy_url: ⟪cloud.example/privacy"}, `"cloud.example/privacy" is not an absolute http(s) URL`, false},
		{"bad language", rich, []string{"language: en", "language: ⟪English"}, `"English" is not a BCP 47 language tag`, false},

		// rights and children
		{"respond longer than GDPR month", rich, []string{"    respond: 15wd", "    respond: ⟪30d"}, `respond 30d can be longer than the GDPR allows (one month, at most 28 calendar days at the shortest)`, false},
		{"respond in months", rich, []string{"    respond: 15wd", "    respond: ⟪2mo"}, `respond 2mo can be longer than the GDPR allows`, false},
		{"respond working days with holidays", rich, []string{"    respond: 15wd", "    respond: ⟪20wd"}, `respond 20wd can be longer than the GDPR allows`, false},
		{"respond longer than CCPA", strings.Replace(minimal, "jurisdictions: [gdpr]", "jurisdictions: [ccpa]", 1), []string{"backup_retention: 90d", "backup_retention: 90d\nrights:\n  deadlines:\n    respond: ⟪2mo"}, `respond 2mo can be longer than the CCPA allows (45 days`, false},
		{"confirm longer than CCPA", rich, []string{"    confirm: 2wd", "    confirm: ⟪3w"}, `confirm 3w can be longer than the CCPA allows (10 business days)`, false},
		{"verification none for access", rich, []string{"    access: email_code", "    access: ⟪none"}, `verification none for access would let anyone who asks obtain another person's data`, false},
		{"minimum age below 13", rich, []string{"  minimum_age: 16", "  minimum_age: ⟪12"}, `minimum_age 12 is below 13`, false},
		{"minimum age implausible", rich, []string{"  minimum_age: 16", "  minimum_age: ⟪40"}, `minimum_age 40 is not a plausible minimum age`, false},

		// zero-length retention
		{"zero retention kept by law", rich, []string{"    duration: 5y\n    trigger: collected\n    action: delete\n    kept_by_law: Norwegian", "    duration: 0d\n    trigger: collected\n    action: delete\n    kept_by_law: ⟪Norwegian"}, `retention rule "tax_5y" ends immediately (duration 0d) but names a law that requires keeping the data (Norwegian Bookkeeping Act section 13); give the period the law requires, or remove kept_by_law`, false},

		// warnings
		{"cookie settings without choices", minimal, []string{"backup_retention: 90d", "backup_retention: 90d\ncookies:\n  - name: s\n    provider: us\n    category: necessary\n    duration: session\n    purpose: x\ncookie_settings: ⟪Use the link at the bottom."}, `cookie_settings says how to change cookie choices, but no cookie needs consent`, true},
		{"cookie settings without cookies", minimal, []string{"backup_retention: 90d", "backup_retention: 90d\ncookie_settings: ⟪Use the link at the bottom."}, `there is no choice to change and the notice leaves the text out`, true},
		{"unused field category", rich, []string{"  - name: date_of_birth\n", "  - name: shoe_size\n    category: ⟪user.demographic.profile\n  - name: date_of_birth\n"}, `no purpose uses field "shoe_size" (category user.demographic.profile)`, true},
		{"unused recipient", rich, []string{"[cloudhost, tax_authority]", "[cloudhost]", "  - key: tax_authority", "  - key: ⟪tax_authority"}, `no purpose names recipient "tax_authority"`, true},
		{"recipient category no purpose uses", rich, []string{"    categories: [user.name, user.contact.address, user.contact.phone_number]", "    categories: [user.name, user.contact.address, user.contact.phone_number, ⟪user.financial]"}, `recipient "courier" receives user.financial, but no purpose that names it uses that category`, true},
		{"sale or share without CCPA", strings.Replace(rich, "jurisdictions: [gdpr, uk_gdpr, ccpa]", "jurisdictions: [gdpr, uk_gdpr]", 1), []string{"    direct_marketing: true\n    sale_or_share: true", "    direct_marketing: true\n    sale_or_share: ⟪true"}, `purpose "advertising" is marked sale_or_share, but the CCPA is not among the jurisdictions`, true},
		{"transfer for EEA recipient", rich, []string{"    country: DE\n", "    country: DE\n    transfer: ⟪scc_2021_914\n"}, `Germany (DE) is not a third country for this policy`, true},
		{"default retention kept by law", rich, []string{"default_retention: account_closed_30d", "default_retention: ⟪tax_5y", "  - key: account_closed_30d\n    description: Account data is deleted 30 days after you close your account.\n    duration: 30d\n    trigger: account_closed\n    action: delete\n", ""}, `the default retention rule "tax_5y" is kept by law`, true},
		{"unused retention rule", rich, []string{"    retention: collected_3y\n", "\n", "  - key: collected_3y", "  - key: ⟪collected_3y"}, `retention rule "collected_3y" is not used`, true},
		{"minimum age above 16", rich, []string{"  minimum_age: 16", "  minimum_age: ⟪18"}, `minimum_age 18 is above the GDPR Art. 8 range`, true},
		{"needless legitimate interest", rich, []string{"    legal_basis: legal_obligation\n    legal_obligation: Norwegian Film", "    legal_basis: legal_obligation\n    legitimate_interest: ⟪Because.\n    legal_obligation: Norwegian Film"}, `states a legitimate interest but its legal basis is legal_obligation`, true},
		{"needless special condition", rich, []string{"    categories: [user.demographic.date_of_birth]", "    categories: [user.demographic.date_of_birth]\n    special_category_condition: ⟪legal_claims"}, `names a special_category_condition but uses no special category data`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := edit(t, c.base, c.edits...)
			src, line, col := takeMarker(t, src)
			errs, warns := loadErrs(t, src)
			list := errs
			if c.warn {
				if len(errs) > 0 {
					t.Fatalf("want only warnings, got errors:%s", dump(errs))
				}
				list = warns
			}
			found := false
			for _, e := range list {
				if strings.Contains(e.Msg, c.frag) && e.Line == line && e.Col == col && e.Warning == c.warn {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %d:%d %q; got:%s\nwarnings:%s", line, col, c.frag, dump(errs), dump(warns))
			}
			if len(list) != 1 && !strings.Contains(c.name, "sale or share") {
				t.Errorf("want exactly one, got:%s", dump(list))
			}
		})
	}
}

// TestAcceptedVariants are policies that must load: the rules must not
// reject what the law allows.
func TestAcceptedVariants(t *testing.T) {
	rich := readFixture(t, "rich.yaml")
	minimal := readFixture(t, "minimal.yaml")
	cases := []struct {
		name  string
		base  string
		edits []string
	}{
		{"respond one month", rich, []string{"    respond: 15wd", "    respond: 1mo"}},
		{"respond 28 days", rich, []string{"    respond: 15wd", "    respond: 28 days"}},
		{"ISO period", rich, []string{"backup_retention: 90d", "backup_retention: P90D"}},
		{"adequate country", rich, []string{"    country: US\n    transfer: dpf\n", "    country: JP\n    transfer: adequacy\n"}},
		{"ccpa only needs no authority", strings.Replace(minimal, "jurisdictions: [gdpr]", "jurisdictions: [ccpa]", 1), []string{"  supervisory_authority:\n    name: Datatilsynet\n    country: \"NO\"\n    website: https://www.datatilsynet.no\n", ""}},
		{"EU controller in an outermost region", minimal, []string{"  country: \"NO\"\n  email", "  country: RE\n  email"}},
		{"kept by law with anonymise", rich, []string{"    action: delete\n    kept_by_law:", "    action: anonymise\n    kept_by_law:"}},
		{"several email identities", rich, []string{"  - name: phone\n    category: user.contact.phone_number\n    identity: phone", "  - name: work_email\n    category: user.contact.email\n    identity: email"}},
		{"zero retention", minimal, []string{"    duration: 30d", "    duration: 0d"}},
		{"immediate retention", minimal, []string{"    duration: 30d", "    duration: Immediately"}},
		{"zero retention in ISO 8601", minimal, []string{"    duration: 30d", "    duration: P0D"}},
		{"zero retention anonymised", rich, []string{"    duration: 2y\n    trigger: last_activity\n    action: delete", "    duration: 0 days\n    trigger: last_activity\n    action: anonymise"}},
		{"short cookies", rich, []string{"    duration: 90 days\n", "    duration: 30min\n", "  - name: consent\n    provider: first party\n    category: necessary\n    duration: 13mo", "  - name: consent\n    provider: first party\n    category: necessary\n    duration: 24 hours"}},
		{"scope and cookie settings", rich, []string{"language: en", "language: en\nscope: |\n  This notice covers our website and our shops.\n\n  It does not cover our partners.\ncookie_settings: Use Cookie preferences at the bottom of every page."}},
		{"null optional values", minimal, []string{"default_retention: account_closed_30d", "default_retention: account_closed_30d\nrights:\nchildren: ~\nsecurity:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := edit(t, c.base, c.edits...)
			if _, err := Load("p.yaml", []byte(src)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
