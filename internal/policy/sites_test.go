package policy

import (
	"strings"
	"testing"
)

// richSite is a valid sites section for the rich fixture.
const richSite = `sites:
  - key: nordlys-www
    name: Nordlys Books website
    origins: [https://www.nordlys-books.example, http://localhost:8080]
    consent_cookie: consent
    categories:
      analytics: [analytics]
      advertising: [advertising]
    texts:
      - language: nb
        title: Informasjonskapsler
`

func withSite(t *testing.T) string {
	t.Helper()
	rich := readFixture(t, "rich.yaml")
	return strings.Replace(rich, "retention:\n  - key: account_closed_30d", richSite+"\nretention:\n  - key: account_closed_30d", 1)
}

// TestSiteRules checks each rule of the sites section with one mistake:
// the message, its position (⟪) and that it is the only finding.
func TestSiteRules(t *testing.T) {
	base := withSite(t)
	cases := []struct {
		name  string
		base  string
		edits []string
		frag  string
		warn  bool
	}{
		{"site key pattern", base, []string{"  - key: nordlys-www", "  - key: ⟪Nordlys_www"}, `site key "Nordlys_www" must be 3 to 63 characters`, false},
		{"duplicate site", base, []string{"    texts:\n      - language: nb\n        title: Informasjonskapsler\n", "    texts:\n      - language: nb\n        title: Informasjonskapsler\n  - key: ⟪nordlys-www\n    name: Again\n    origins: [https://b.example]\n    categories: {analytics: [recommendations], advertising: [newsletter]}\n"}, `site "nordlys-www" is declared twice`, false},
		{"origin with path", base, []string{"[https://www.nordlys-books.example,", "[⟪https://www.nordlys-books.example/,"}, `must not have a path (not even a trailing /)`, false},
		{"origin default port", base, []string{"[https://www.nordlys-books.example,", "[⟪https://www.nordlys-books.example:443,"}, `names the scheme's default port`, false},
		{"origin upper case", base, []string{"[https://www.nordlys-books.example,", "[⟪https://WWW.nordlys-books.example,"}, `must be written in lower case`, false},
		{"origin wildcard", base, []string{"[https://www.nordlys-books.example,", "[⟪\"https://*.nordlys-books.example\","}, `cannot contain wildcards`, false},
		{"origin not a url", base, []string{"[https://www.nordlys-books.example,", "[⟪www.nordlys-books.example,"}, `is not an origin`, false},
		{"origin scheme", base, []string{"[https://www.nordlys-books.example,", "[⟪ftp://www.nordlys-books.example,"}, `must use https`, false},
		{"duplicate origin", base, []string{", http://localhost:8080]", ", ⟪https://www.nordlys-books.example]"}, `origin "https://www.nordlys-books.example" is declared twice`, false},
		{"unknown purpose", base, []string{"      analytics: [analytics]", "      analytics: [⟪analytic]"}, `no purpose has the key "analytic"; did you mean "analytics"?`, false},
		{"purpose not consent", base, []string{"      analytics: [analytics]", "      analytics: [analytics, ⟪service]"}, `purpose "service" is based on contract, not consent`, false},
		{"purpose in two categories", base, []string{"      advertising: [advertising]", "      advertising: [advertising, ⟪analytics]"}, `purpose "analytics" is mapped to two banner categories`, false},
		{"cookies without purpose", base, []string{"      advertising: [advertising]\n", "", "  - key: nordlys-www", "  - ⟪key: nordlys-www"}, `maps no purpose to the advertising category, but the policy declares advertising cookies (ad_*)`, false},
		{"consent cookie not necessary", base, []string{"    consent_cookie: consent", "    consent_cookie: ⟪_stats_id"}, `the banner's own cookie "_stats_id" is declared as analytics`, false},
		{"bad text language", base, []string{"      - language: nb", "      - language: ⟪norsk bokmål"}, `is not a BCP 47 language tag`, false},
		{"duplicate text language", base, []string{"        title: Informasjonskapsler\n", "        title: Informasjonskapsler\n      - language: ⟪NB\n"}, `language "nb" is declared twice`, false},
		{"text too long", base, []string{"        title: Informasjonskapsler", "        title: ⟪" + strings.Repeat("x", 2001)}, `title is longer than 2000 characters`, false},
		{"non-English policy without texts", strings.Replace(base, "language: en\n", "language: nb\n", 1), []string{"      - language: nb\n        title: Informasjonskapsler\n", "      - language: de\n        title: Cookies\n", "  - key: nordlys-www", "  - ⟪key: nordlys-www"}, `site "nordlys-www" has no texts in the policy's language nb`, false},
		{"non-English policy with partial texts", strings.Replace(base, "language: en\n", "language: nb\n", 1), []string{"  - key: nordlys-www", "  - ⟪key: nordlys-www"}, `the nb texts of site "nordlys-www" lack description, accept_all, reject_all`, false},

		// warnings
		{"undeclared consent cookie", base, []string{"    consent_cookie: consent", "    consent_cookie: ⟪nordlys_consent"}, `the banner keeps the visitor's choice in the cookie "nordlys_consent", which is not declared`, true},
		{"plain http origin", base, []string{", http://localhost:8080]", ", ⟪http://nordlys-books.example]"}, `uses plain http`, true},
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
			if len(list) != 1 {
				t.Errorf("want exactly one, got:%s", dump(list))
			}
		})
	}
}

func TestSiteLookups(t *testing.T) {
	doc, err := Load("rich.yaml", []byte(withSite(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Warnings) != 0 {
		t.Fatalf("warnings:%s", dump(doc.Warnings))
	}
	s := doc.SiteByKey("nordlys-www")
	if s == nil || doc.SiteByKey("other") != nil {
		t.Fatal("SiteByKey")
	}
	if !s.CheckOrigin("https://www.nordlys-books.example") || s.CheckOrigin("https://www.nordlys-books.example/") ||
		s.CheckOrigin("https://evil.example") || s.CheckOrigin("") || s.CheckOrigin("http://www.nordlys-books.example") {
		t.Error("CheckOrigin must match exactly")
	}
	if s.CategoryOf("analytics") != CookieAnalytics || s.CategoryOf("advertising") != CookieAdvertising || s.CategoryOf("service") != "" {
		t.Error("CategoryOf")
	}
	if s.CookieFor() != "consent" || (&Site{}).CookieFor() != DefaultConsentCookie {
		t.Error("CookieFor")
	}
	if s.TextsFor("NB") == nil || s.TextsFor("de") != nil {
		t.Error("TextsFor")
	}
	// A site changes the hash; its absence does not (old hashes stay).
	plain, err := Load("rich.yaml", []byte(readFixture(t, "rich.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Hash == doc.Hash {
		t.Error("a site must change the policy hash")
	}
	d := Diff(plain.Policy, doc.Policy)
	if len(d.Changes) != 1 || d.Changes[0].Area != "site" || d.Changes[0].Kind != Added || len(d.Reconsent) != 0 {
		t.Errorf("diff: %+v", d)
	}
}
