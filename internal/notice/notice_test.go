package notice

import (
	"bytes"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/policy"
)

// loadExample loads a shipped example with the real loader, so the tests
// render exactly what `trustee demo` would.
func loadExample(t testing.TB, name string) (*policy.Policy, string) {
	t.Helper()
	src, ok := examples.File(name)
	if !ok {
		t.Fatalf("example %s not found", name)
	}
	doc, err := policy.Load(name+".yaml", src)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return doc.Policy, doc.Hash
}

var testOptions = Options{
	Version:          7,
	Hash:             "sha256:0123abcd",
	LastUpdated:      time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	PrivacyCenterURL: "https://privacy.example.com/",
}

// rendered is one notice in both formats, plus their text as a reader sees
// it (tags stripped and entities decoded; Markdown escapes removed), so
// assertions are about what people read, not about markup.
type rendered struct {
	html, md         string
	htmlText, mdText string
}

func render(t testing.TB, p *policy.Policy, o Options) rendered {
	t.Helper()
	h, err := HTML(p, o)
	if err != nil {
		t.Fatalf("HTML: %v", err)
	}
	m, err := Markdown(p, o)
	if err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	return rendered{html: string(h), md: string(m), htmlText: htmlText(string(h)), mdText: mdText(string(m))}
}

var (
	tagRE     = regexp.MustCompile(`<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
	mdLinkRE  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdEscRE   = regexp.MustCompile(`\\([!-/:-@\[-` + "`" + `{-~])`)
	mdStrongR = strings.NewReplacer("**", "", "`", "")
	mdItemRE  = regexp.MustCompile(`(?m)^ *(- |[0-9]+\. )`)
)

var inlineTagRE = regexp.MustCompile(`</?(a|strong|code)\b[^>]*>`)

func htmlText(s string) string {
	if i := strings.Index(s, "</style>"); i >= 0 {
		s = s[i:]
	}
	s = inlineTagRE.ReplaceAllString(s, "")
	return spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(s, " ")), " ")
}

func mdText(s string) string {
	// Escaped brackets must not be read as links: protect them first.
	s = strings.NewReplacer(`\[`, "\x00", `\]`, "\x01").Replace(s)
	s = mdLinkRE.ReplaceAllString(s, "$1")
	s = strings.NewReplacer("\x00", "[", "\x01", "]").Replace(s)
	s = mdEscRE.ReplaceAllString(s, "$1")
	s = mdStrongR.Replace(s)
	s = mdItemRE.ReplaceAllString(s, "")
	return spaceRE.ReplaceAllString(s, " ")
}

// both asserts that the reader-visible text of both formats contains want.
func (r rendered) both(t *testing.T, what, want string) {
	t.Helper()
	want = spaceRE.ReplaceAllString(want, " ")
	if !strings.Contains(r.htmlText, want) {
		t.Errorf("HTML is missing %s: %q", what, want)
	}
	if !strings.Contains(r.mdText, want) {
		t.Errorf("Markdown is missing %s: %q", what, want)
	}
}

// neither asserts that the text of neither format contains s.
func (r rendered) neither(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(r.htmlText, s) {
		t.Errorf("HTML should not contain %s: %q", what, s)
	}
	if strings.Contains(r.mdText, s) {
		t.Errorf("Markdown should not contain %s: %q", what, s)
	}
}

// mdSection returns the Markdown from a heading to the next heading of the
// same or a higher level.
func mdSection(md, heading string) string {
	level := strings.Count(strings.SplitN(heading, " ", 2)[0], "#")
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := md[i+1+len(heading):]
	for _, l := range []int{1, 2, 3}[:level] {
		if j := strings.Index(rest, "\n"+strings.Repeat("#", l)+" "); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// h2Titles lists the section headings of the HTML page in order.
func h2Titles(h string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<h2 id="[^"]*">([^<]*)</h2>`).FindAllStringSubmatch(h, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestExampleNotices checks both shipped examples the way a DPO reviews a
// notice before signing it off. Expectations come from the policy itself,
// so the test keeps checking every purpose, recipient and rule as the
// examples grow.
func TestExampleNotices(t *testing.T) {
	tests := []struct {
		name     string
		sections []string
		ccpa     bool
		cookies  bool
		extra    []string // promises specific to the example
	}{
		{
			name: "learning-saas",
			sections: []string{"Contents", "Who we are", "What we collect and why", "Where the data comes from",
				"Recipients and international transfers", "How long we keep data", "Your rights", "Cookies",
				"Children", "Automated decisions and profiling", "Security", "Changes to this notice", "Contact and complaints"},
			ccpa:    true,
			cookies: true,
			extra: []string{
				"For that data the organisation is the controller and we are its processor",
				"Legal obligation (GDPR Art. 6(1)(c)): Norwegian Bookkeeping Act",
				"Consent (GDPR Art. 6(1)(a))",
				"Contract (GDPR Art. 6(1)(b))",
				"Legitimate interests (GDPR Art. 6(1)(f)): Keeping our customers informed",
				"Click \"unsubscribe\" at the bottom of any newsletter",
				"Under California law this is a sale or sharing of personal information",
				"Our services are not meant for children under 16",
				"we delete the account and its data without delay",
				"We do not make decisions about you based solely on automated processing",
				"We answer your request within one month of receiving it",
				"extend this by up to two further months",
				"confirm receipt within 5 working days and answer within 45 calendar days",
				"manifestly unfounded or excessive",
				"You make the request while signed in to your account",
				"Firmadata Eksempel AS, our firmographic data provider",
				"Email (required)",
				"You can get a copy of these safeguards by writing to privacy@example.com",
				"This notice covers our website www.example.com, the Brightfjord web app",
				"Open \"Cookie settings\" at the bottom of any page of our website or the app",
			},
		},
		{
			name: "door-entry",
			sections: []string{"Contents", "Who we are", "What we collect and why", "Where the data comes from",
				"Recipients and international transfers", "How long we keep data", "Your rights", "Cookies",
				"Children", "Automated decisions and profiling", "Security", "Changes to this notice", "Contact and complaints"},
			extra: []string{
				"Legitimate interests (GDPR Art. 6(1)(f)): Keeping the door-entry system reliable",
				"You can also use Dørvakt without a user account",
				"aggregated and anonymised",
				"we will inform every affected user immediately",
				"We do not sell your personal data",
				"We answer your request within 14 days of receiving it, sooner than the one month the law allows",
				"Using your rights is free of charge.",
				"We do not use cookies or similar technologies that store or read information on your device.",
				"Children under 13 may use our services only with the consent of a parent or guardian",
				"Open the app and go to Profile, then My data",
				"Binding corporate rules (GDPR Art. 47)",
				// A zero-length retention rule, as the reference notice promises.
				"How long: Deleted immediately when you close your account.",
				"Name, email, phone, address, unit and user ID: Deleted immediately when you close your account.",
				"Deleted data disappears from our backups within 90 days.",
				"This notice covers the Dørvakt app",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, hash := loadExample(t, tc.name)
			o := testOptions
			o.Hash = hash
			r := render(t, p, o)

			if got := h2Titles(r.html); strings.Join(got, "|") != strings.Join(tc.sections, "|") {
				t.Errorf("sections:\n got %q\nwant %q", got, tc.sections)
			}
			r.both(t, "controller", p.Controller.Name)
			r.both(t, "controller address", p.Controller.Address)
			r.both(t, "hash", hash)
			r.both(t, "version", "This is version 7 (revision "+p.Revision+") of this notice, last updated on 1 December 2026.")
			r.both(t, "last updated", "Last updated: 1 December 2026.")

			for _, pu := range p.Purposes {
				r.both(t, "purpose name", pu.Name)
				sec := mdSection(r.md, "### "+mdEscape(pu.Name))
				if sec == "" {
					t.Errorf("purpose %q has no section", pu.Name)
					continue
				}
				if !strings.Contains(mdText(sec), legalBasisLabel(p, pu.LegalBasis)) {
					t.Errorf("purpose %q: legal basis %q missing from its section:\n%s", pu.Name, legalBasisLabel(p, pu.LegalBasis), sec)
				}
				if pu.Consent != nil && !strings.Contains(mdText(sec), oneLine(pu.Consent.Withdrawal)) {
					t.Errorf("purpose %q: withdrawal path missing", pu.Name)
				}
				if pu.DirectMarketing && !strings.Contains(sec, "You can object at any time, without giving a reason") {
					t.Errorf("purpose %q: direct-marketing objection missing", pu.Name)
				}
				if pu.Role == policy.ModeProcessor && !strings.Contains(sec, "We act as a processor") {
					t.Errorf("purpose %q: processor role missing", pu.Name)
				}
				if rr := ruleByKey(p, pu.Retention); rr != nil && !strings.Contains(mdText(sec), upperFirst(retentionWords(rr))) {
					t.Errorf("purpose %q: retention %q missing", pu.Name, retentionWords(rr))
				}
			}

			// Every recipient, with its country and its safeguard in the
			// same table row.
			for i := range p.Recipients {
				rc := &p.Recipients[i]
				var row string
				for _, line := range strings.Split(mdSection(r.md, "## Recipients and international transfers"), "\n") {
					if strings.HasPrefix(line, "| ") && strings.Contains(mdText(line), rc.Name) {
						row = mdText(line)
					}
				}
				if row == "" {
					t.Errorf("recipient %q has no row", rc.Name)
					continue
				}
				for _, want := range []string{countryName(rc.Country), recipientSafeguard(p, rc)} {
					if !strings.Contains(row, want) {
						t.Errorf("recipient %q row lacks %q: %s", rc.Name, want, row)
					}
				}
				if rc.Transfer == policy.TransferSCC && !strings.Contains(row, "EU standard contractual clauses (Commission Decision 2021/914)") {
					t.Errorf("SCC recipient %q not described as SCC 2021/914", rc.Name)
				}
				if rc.Transfer == "" && policy.InEEA(rc.Country) && !strings.Contains(row, "None needed (within the EEA)") {
					t.Errorf("EEA recipient %q: %s", rc.Name, row)
				}
				r.both(t, "recipient", rc.Name)
			}

			// Every retention rule in words, with its law.
			for i := range p.Retention {
				rr := &p.Retention[i]
				r.both(t, "retention rule "+rr.Key, upperFirst(retentionWords(rr))+".")
				if rr.KeptByLaw != "" {
					r.both(t, "law of "+rr.Key, "The law requires us to keep this data ("+rr.KeptByLaw+")")
				}
			}
			r.both(t, "backup retention", "Deleted data disappears from our backups within "+p.BackupRetention.Human()+".")

			// Rights per jurisdiction.
			for _, art := range []string{"Access (GDPR Art. 15)", "Rectification (GDPR Art. 16)", "Erasure (GDPR Art. 17)",
				"Restriction (GDPR Art. 18)", "Data portability (GDPR Art. 20)", "Objection (GDPR Art. 21)",
				"Automated decisions (GDPR Art. 22)", "Complaint (GDPR Art. 77)",
				"You can object to direct marketing, including profiling for it, at any time and without giving reasons"} {
				r.both(t, "GDPR right", art)
			}
			if usesConsent(p) {
				r.both(t, "consent withdrawal right", "Withdrawing consent (GDPR Art. 7(3))")
			} else {
				r.neither(t, "consent withdrawal right without consent purposes", "Withdrawing consent (GDPR Art. 7(3))")
			}
			ccpaRights := []string{"Your rights under California law (CCPA)", "Right to know and access", "Right to delete",
				"Right to correct", "Right to opt out of sale or sharing", "Right to limit the use of sensitive personal information",
				"Right to non-discrimination"}
			for _, s := range ccpaRights {
				if tc.ccpa {
					r.both(t, "CCPA right", s)
				} else {
					r.neither(t, "CCPA text in a GDPR-only notice", s)
				}
			}
			if !tc.ccpa {
				r.neither(t, "CCPA mention", "CCPA")
				r.neither(t, "California", "California")
			}
			r.both(t, "privacy center", "privacy.example.com")

			// Complaints.
			a := p.Controller.SupervisoryAuthority
			r.both(t, "supervisory authority", "Our lead supervisory authority is:")
			r.both(t, "supervisory authority", a.Name+" Address: "+a.Address+" Website: "+strings.TrimPrefix(a.Website, "https://"))
			if !strings.Contains(r.html, `href="`+a.Website+`"`) {
				t.Errorf("authority website %q not linked", a.Website)
			}

			// Cookies.
			rows := CookieTable(p)
			if len(rows) != len(p.Cookies) {
				t.Errorf("CookieTable has %d rows for %d cookies", len(rows), len(p.Cookies))
			}
			for _, row := range rows {
				if !strings.Contains(r.html, `<th scope="row">`+html.EscapeString(row.Name)) {
					t.Errorf("cookie %q has no HTML row", row.Name)
				}
				line := ""
				for _, l := range strings.Split(r.md, "\n") {
					if strings.HasPrefix(l, "| "+mdEscape(row.Name)+" |") {
						line = mdText(l)
					}
				}
				if line == "" || !strings.Contains(line, upperFirst(row.Duration)) || !strings.Contains(line, row.Provider) {
					t.Errorf("cookie %q: Markdown row %q lacks duration %q or provider", row.Name, line, row.Duration)
				}
			}
			if tc.cookies {
				if p.CookieSettings != "" {
					r.both(t, "the policy's cookie settings text", oneLine(p.CookieSettings))
					r.both(t, "privacy center for cookie choices", "You can also change your choices in our privacy center")
					r.neither(t, "the general cookie settings sentence", "To change your choices, open the cookie settings on our website")
				} else {
					r.both(t, "cookie choices", "To change your choices, open the cookie settings on our website")
				}
			}
			// The policy's scope replaces the general sentence.
			if p.Scope != "" {
				r.both(t, "scope", oneLine(p.Scope))
				r.neither(t, "general scope sentence", "This notice applies to our website")
			} else {
				r.both(t, "general scope sentence", "This notice applies to our website")
			}

			for _, s := range tc.extra {
				r.both(t, "promise", s)
			}
			checkNoEmpty(t, r)
		})
	}
}

// checkNoEmpty fails on empty elements, empty sections or leaked zero
// values: a notice never shows a heading with nothing under it, or "null".
func checkNoEmpty(t *testing.T, r rendered) {
	t.Helper()
	for _, bad := range []string{"<p></p>", "<ul>\n</ul>", "<li></li>", "<td></td>", "<strong></strong>"} {
		if strings.Contains(r.html, bad) {
			t.Errorf("HTML has an empty element %q", bad)
		}
	}
	for _, bad := range []string{"null", "<nil>", "%!", "0001", "()", " , ", " .", "..", ": ."} {
		if strings.Contains(r.htmlText, bad) {
			i := strings.Index(r.htmlText, bad)
			t.Errorf("HTML text contains %q near %q", bad, r.htmlText[max(0, i-60):min(len(r.htmlText), i+60)])
		}
		if strings.Contains(r.mdText, bad) {
			i := strings.Index(r.mdText, bad)
			t.Errorf("Markdown text contains %q near %q", bad, r.mdText[max(0, i-60):min(len(r.mdText), i+60)])
		}
	}
	if regexp.MustCompile(`<section[^>]*>\s*<h2[^>]*>[^<]*</h2>\s*</section>`).MatchString(r.html) {
		t.Error("HTML has a section with a heading and nothing else")
	}
	// A heading followed directly by one of the same or a higher level
	// has nothing under it.
	level := func(l string) int {
		n := len(l) - len(strings.TrimLeft(l, "#"))
		if n == 0 || n == len(l) || l[n] != ' ' {
			return 0
		}
		return n
	}
	prev := ""
	for _, l := range strings.Split(r.md, "\n") {
		if l == "" {
			continue
		}
		if lp, lc := level(prev), level(l); lp > 0 && lc > 0 && lc <= lp {
			t.Errorf("Markdown heading %q has nothing under it before %q", prev, l)
		}
		prev = l
	}
}

// TestAnchors checks that every in-page link of the HTML points at an
// element that exists, and that ids are unique, also when a purpose has the
// same name as a section.
func TestAnchors(t *testing.T) {
	p, _ := loadExample(t, "learning-saas")
	p.Purposes[0].Name = "Security" // collides with the Security section
	p.Purposes[1].Name = "Security"
	r := render(t, p, testOptions)
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(r.html, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q used %d times", id, n)
		}
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(r.html, -1) {
		if ids[m[1]] == 0 {
			t.Errorf("link to #%s has no target", m[1])
		}
	}
	// GitHub numbers repeated headings in document order.
	for _, id := range []string{"security", "security-1", "security-2"} {
		if ids[id] != 1 {
			t.Errorf("expected anchor %q", id)
		}
		if !strings.Contains(r.md, "(#"+id+")") {
			t.Errorf("Markdown table of contents lacks #%s", id)
		}
	}
}

// hostilePolicy is a minimal valid-looking policy whose texts try to break
// out of HTML, Markdown and CSV.
func hostilePolicy() *policy.Policy {
	return &policy.Policy{
		Version:       1,
		Mode:          policy.ModeController,
		EffectiveDate: policy.Date{Time: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)},
		Controller: policy.Controller{
			Name: "Evil & Co <b>AS</b>", Address: "1. Street | 2", Country: "NO",
			Email: "privacy@example.com", Website: "javascript:alert(1)",
			SupervisoryAuthority: &policy.Authority{Name: "Datatilsynet", Website: "https://www.datatilsynet.no"},
		},
		Jurisdictions: []policy.Jurisdiction{policy.GDPR},
		Fields:        []policy.Field{{Name: "email", Category: "user.contact.email", Identity: policy.IdentityEmail}},
		Purposes: []policy.Purpose{{
			Key: "service", Name: "Service *bold* [x](http://evil.example) | pipe",
			Description:     "<script>alert(1)</script>\n\n# Not a heading\n\n- not a list\n\n1. not a list either\n\n&copy; &amp; AT&T",
			LegalBasis:      policy.BasisContract,
			Categories:      []string{"user.contact.email"},
			DataSubjects:    []string{"=HYPERLINK(\"http://evil.example\")", "@SUM(A1)"},
			Recipients:      []string{"evil"},
			Retention:       "r",
			SaleOrShare:     false,
			DirectMarketing: false,
		}},
		Recipients: []policy.Recipient{{
			Key: "evil", Name: "Pipe | Corp", Role: policy.RoleProcessor, Country: "US",
			Transfer: policy.TransferSCC, Purpose: "+1 cmd|' /C calc'!A0", Categories: []string{"user"},
			PrivacyURL: "javascript:alert(document.cookie)",
		}},
		Cookies: []policy.Cookie{{
			Name: "a|b", Provider: "<img src=x onerror=alert(1)>", Category: policy.CookieAnalytics,
			Duration: policy.CookieDuration{Period: policy.Period{N: 2, Unit: policy.Years}}, Purpose: "Counts | things",
		}},
		Retention:       []policy.RetentionRule{{Key: "r", Duration: policy.Period{N: 6, Unit: policy.Years}, Trigger: policy.TriggerLastActivity, Action: policy.ActionDelete}},
		BackupRetention: policy.Period{N: 30, Unit: policy.Days},
		Security:        "-1 minus first",
	}
}

func TestHTMLEscapesHostileText(t *testing.T) {
	r := render(t, hostilePolicy(), Options{})
	for _, bad := range []string{"<script>", "<b>AS</b>", "<img", `href="javascript:`, "onerror=alert(1)>"} {
		if strings.Contains(r.html, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Evil &amp; Co &lt;b&gt;AS&lt;/b&gt;"} {
		if !strings.Contains(r.html, want) {
			t.Errorf("HTML lacks escaped %q", want)
		}
	}
	// The reader still sees the text as written.
	r.both(t, "description", "<script>alert(1)</script>")
	r.both(t, "entity text", "&copy; &amp; AT&T")
	r.both(t, "1 day months", "6 years from your last activity, then deleted.")
	// Dates fall back to the effective date.
	r.both(t, "effective date", "Last updated: 31 January 2026.")
}

func TestMarkdownEscapesHostileText(t *testing.T) {
	r := render(t, hostilePolicy(), Options{})
	md := r.md
	for _, bad := range []string{"<script>", "[x](http://evil.example)", "](javascript:", " *bold*"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown contains unescaped %q", bad)
		}
	}
	r.neither(t, "link to the hostile privacy URL", "alert(document.cookie)")
	for _, line := range strings.Split(md, "\n") {
		switch {
		case line == "# Not a heading", line == "- not a list", line == "1. not a list either":
			t.Errorf("user text became markup: %q", line)
		case strings.HasPrefix(line, "|"):
			// Count the cell separators that are not escaped.
			cells := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
			if strings.Contains(line, "Pipe") && cells != 5 {
				t.Errorf("recipient row has %d cells, want 5: %s", cells, line)
			}
			if strings.Contains(line, "Counts") && cells != 5 {
				t.Errorf("cookie row has %d cells, want 5: %s", cells, line)
			}
		}
	}
	for _, want := range []string{`\# Not a heading`, `\- not a list`, `1\. not a list either`, `a\|b`, `Pipe \| Corp`, `\<script\>`, `\&copy;`, `\&amp;`, "AT&T", `\*bold\*`} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

func TestMdEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, (parens) and 6(1)(f).", "plain text, (parens) and 6(1)(f)."},
		{"a|b", `a\|b`},
		{"*x* _y_ `z`", "\\*x\\* \\_y\\_ \\`z\\`"},
		{"[l](u)", `\[l\](u)`},
		{"<b> & &amp; &#169; AT&T R&D", `\<b\> & \&amp; \&\#169; AT&T R&D`},
		{"line\nbreak", "line break"},
		{`back\slash`, `back\\slash`},
		{"# h ~~s~~", `\# h \~\~s\~\~`},
	}
	for _, tc := range tests {
		if got := mdEscape(tc.in); got != tc.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]string{"- x": `\- x`, "+ x": `\+ x`, "12) x": `12\) x`, "3. x": `3\. x`, "x - y": "x - y", "2026 x": "2026 x"} {
		if got := mdLineStart(in); got != want {
			t.Errorf("mdLineStart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFragmentAndOptions(t *testing.T) {
	p, _ := loadExample(t, "door-entry")
	frag, err := HTML(p, Options{Fragment: true, Title: "Personvern & <you>"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(frag)
	if !strings.HasPrefix(s, `<article class="trustee-notice"`) || strings.Contains(s, "<html") || strings.Contains(s, "<style") || strings.Contains(s, "<body") {
		t.Errorf("fragment is not a bare article: %.120s", s)
	}
	if !strings.Contains(s, "<h1 id=\"personvern--you\">Personvern &amp; &lt;you&gt;</h1>") {
		t.Errorf("title not used or escaped: %.400s", s)
	}
	page, _ := HTML(p, Options{})
	for _, want := range []string{"<!DOCTYPE html>", `<html lang="en">`, `<meta name="viewport"`, "<title>Privacy notice – Dørvakt Eksempel AS</title>", "@media print", `<nav class="notice-toc"`, `<a class="skip-link" href="#who-we-are">`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(Stylesheet(), ".trustee-notice") || strings.Contains(Stylesheet(), "body {") {
		t.Error("Stylesheet must be scoped to .trustee-notice")
	}
	// Without version, hash or privacy center nothing dangles.
	r := render(t, p, Options{})
	r.neither(t, "version", "version 0")
	r.neither(t, "fingerprint", "fingerprint")
	r.neither(t, "privacy center link", "Use our privacy center")
	r.both(t, "revision", "This is revision 3 of this notice, last updated on 15 November 2026.")
	checkNoEmpty(t, r)

	if _, err := HTML(nil, Options{}); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("nil policy: %v", err)
	}
	if _, err := Markdown(nil, Options{}); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("nil policy: %v", err)
	}
	for _, bad := range []string{"javascript:alert(1)", "/relative", "mailto:x@example.com"} {
		if _, err := HTML(p, Options{PrivacyCenterURL: bad}); err == nil {
			t.Errorf("privacy center URL %q accepted", bad)
		}
	}
}

// TestOtherRegimes covers what the examples do not: the UK GDPR alone, a
// processor tenant, representatives, special categories, automated
// decisions with legal effect and a stricter deadline.
func TestOtherRegimes(t *testing.T) {
	p := hostilePolicy()
	p.Controller.Name = "Example Inc."
	p.Controller.Country = "US"
	p.Controller.Website = "https://example.com"
	p.Controller.UKRepresentative = &policy.Contact{Name: "UK Rep Ltd", Email: "uk@example.com"}
	p.Controller.SupervisoryAuthority = &policy.Authority{Name: "Information Commissioner's Office", Website: "https://ico.org.uk"}
	p.Jurisdictions = []policy.Jurisdiction{policy.UKGDPR}
	p.Mode = policy.ModeProcessor
	p.Purposes[0].Name = "Health coaching"
	p.Purposes[0].Description = "We coach you."
	p.Purposes[0].DataSubjects = nil
	p.Purposes[0].Role = policy.ModeController
	p.Purposes[0].LegalBasis = policy.BasisConsent
	p.Purposes[0].Consent = &policy.ConsentTerms{Withdrawal: "Switch it off in settings"}
	p.Purposes[0].SpecialCategoryCondition = "explicit_consent"
	p.Purposes[0].Categories = []string{"user.health"}
	p.Purposes[0].AutomatedDecisions = &policy.Automated{Logic: "A model scores answers", Significance: "It decides your plan", LegalEffect: true}
	p.Recipients[0].Country = "CH"
	p.Recipients[0].Transfer = ""
	p.Cookies = nil
	p.Rights.Deadlines.Respond = policy.Period{N: 10, Unit: policy.WorkingDays}
	r := render(t, p, Options{})
	for _, want := range []string{
		"Example Inc. provides services to organisations and processes personal data on their behalf",
		"Our role: We are the controller for this purpose.",
		"we have appointed a representative there (UK GDPR Art. 27)",
		"Consent (UK GDPR Art. 6(1)(a))",
		"your explicit consent (UK GDPR Art. 9(2)(a))",
		"Your rights under the UK GDPR",
		"Access (UK GDPR Art. 15)",
		"Withdrawing consent (UK GDPR Art. 7(3))",
		"Automated decisions: A model scores answers. It decides your plan.",
		"you can ask for a person to review it, give your point of view and contest the decision (UK GDPR Art. 22(3))",
		"outside the United Kingdom",
		"UK adequacy regulations (UK GDPR Art. 45)",
		"We answer your request within 10 working days of receiving it",
		"Our lead supervisory authority is:",
		"Information Commissioner's Office",
		"We do not use cookies",
	} {
		r.both(t, "UK/processor text", want)
	}
	r.neither(t, "EEA wording under UK GDPR only", "EEA")
	checkNoEmpty(t, r)
}

func TestCookieTable(t *testing.T) {
	p, _ := loadExample(t, "learning-saas")
	// Shuffle categories so grouping is tested, not the file order.
	p.Cookies[0], p.Cookies[len(p.Cookies)-1] = p.Cookies[len(p.Cookies)-1], p.Cookies[0]
	rows := CookieTable(p)
	rank := map[policy.CookieCategory]int{policy.CookieNecessary: 0, policy.CookieFunctional: 1, policy.CookieAnalytics: 2, policy.CookieAdvertising: 3}
	for i := 1; i < len(rows); i++ {
		if rank[rows[i-1].Category] > rank[rows[i].Category] {
			t.Errorf("row %d (%s) before %s: not grouped by category", i, rows[i-1].Category, rows[i].Category)
		}
	}
	byName := map[string]CookieRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	tests := []struct {
		name, duration, category, recipient string
		consent                             bool
	}{
		{"bf_session", "until the browser is closed", "Strictly necessary cookies", "", false},
		{"_ga", "2 years", "Analytics cookies", "Google LLC (Google Analytics)", true},
		{"IDE", "13 months", "Advertising cookies", "Google Ireland Limited (Google Ads)", true},
		{"intercom-session-*", "1 week", "Functional cookies", "Intercom R&D Unlimited Company", true},
		{"__cf_bm", "30 minutes", "Strictly necessary cookies", "Cloudflare, Inc.", false},
		{"test_cookie", "15 minutes", "Advertising cookies", "Google Ireland Limited (Google Ads)", true},
		{"lidc", "24 hours", "Advertising cookies", "LinkedIn Ireland Unlimited Company", true},
	}
	for _, tc := range tests {
		r, ok := byName[tc.name]
		if !ok {
			t.Errorf("no row for %s", tc.name)
			continue
		}
		if r.Duration != tc.duration || r.CategoryName != tc.category || r.Recipient != tc.recipient || r.NeedsConsent != tc.consent || r.Type != "cookie" {
			t.Errorf("%s: got %+v", tc.name, r)
		}
	}
	if CookieTable(nil) != nil {
		t.Error("nil policy should give no rows")
	}
}

func BenchmarkHTMLLearningSaaS(b *testing.B) {
	p, hash := loadExample(b, "learning-saas")
	o := testOptions
	o.Hash = hash
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HTML(p, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarkdownLearningSaaS(b *testing.B) {
	p, _ := loadExample(b, "learning-saas")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Markdown(p, testOptions); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkROPACSVLearningSaaS(b *testing.B) {
	p, _ := loadExample(b, "learning-saas")
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := ROPACSV(p, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestImmediateRetentionWording covers the wording of a zero-length
// retention rule for every trigger and action, in the notice and the ROPA.
func TestImmediateRetentionWording(t *testing.T) {
	zero := policy.Period{Unit: policy.Days}
	tests := []struct {
		trigger policy.RetentionTrigger
		action  policy.RetentionAction
		want    string
	}{
		{policy.TriggerAccountClosed, policy.ActionDelete, "deleted immediately when you close your account"},
		{policy.TriggerCollected, policy.ActionAnonymise, "anonymised immediately after we collect it"},
		{policy.TriggerLastActivity, policy.ActionDelete, "deleted immediately after your last activity"},
		{policy.TriggerContractEnd, policy.ActionDelete, "deleted immediately when the contract ends"},
	}
	for _, tc := range tests {
		r := &policy.RetentionRule{Key: "r", Duration: zero, Trigger: tc.trigger, Action: tc.action}
		if got := retentionWords(r); got != tc.want {
			t.Errorf("%s/%s: %q, want %q", tc.trigger, tc.action, got, tc.want)
		}
	}
	// A period of one day still reads as a period.
	one := &policy.RetentionRule{Duration: policy.Period{N: 1, Unit: policy.Days}, Trigger: policy.TriggerAccountClosed, Action: policy.ActionDelete}
	if got := retentionWords(one); got != "1 day from the closure of your account, then deleted" {
		t.Errorf("1d: %q", got)
	}

	p := hostilePolicy()
	p.Retention[0].Duration = zero
	p.Retention[0].Trigger = policy.TriggerAccountClosed
	p.Fields[0].Retention = "r"
	r := render(t, p, Options{})
	r.both(t, "purpose retention", "How long: Deleted immediately when you close your account.")
	r.both(t, "retention section", "Email: Deleted immediately when you close your account.")
	r.neither(t, "zero period in words", " 0 days")
	checkNoEmpty(t, r)

	rec := ROPA(p)
	if got := rec.Activities[0].Retention[0]; got.Period != "0d" || got.Text != "Deleted immediately when you close your account" {
		t.Errorf("ROPA retention: %+v", got)
	}
}

// TestScopeAndCookieSettings checks that the policy's own texts replace
// the general sentences, and that the general ones stay without them.
func TestScopeAndCookieSettings(t *testing.T) {
	p := hostilePolicy() // has an analytics cookie, so choices exist
	p.Controller.Website = "https://example.com"
	r := render(t, p, testOptions)
	r.both(t, "general scope", "This notice applies to our website example.com, our services and our communications with you.")
	r.both(t, "general cookie settings", "To change your choices, open the cookie settings on our website or use our privacy center.")

	p.Scope = "This notice covers our website example.com,\nthe Example app and our events.\n\nIt does not cover our shops."
	p.CookieSettings = "Use 'Cookie preferences' at the bottom of every page."
	r = render(t, p, testOptions)
	r.both(t, "scope", "This notice covers our website example.com, the Example app and our events.")
	r.both(t, "scope second paragraph", "It does not cover our shops.")
	r.neither(t, "general scope", "This notice applies to our website")
	r.both(t, "cookie settings", "Use 'Cookie preferences' at the bottom of every page. You can also change your choices in our privacy center, and delete or block cookies in your browser’s settings")
	r.neither(t, "general cookie settings", "To change your choices")
	checkNoEmpty(t, r)

	// Without a privacy center the browser remains.
	r = render(t, p, Options{})
	r.both(t, "cookie settings without privacy center", "Use 'Cookie preferences' at the bottom of every page. You can also delete or block cookies in your browser’s settings")
	r.neither(t, "privacy center", "privacy center")
	checkNoEmpty(t, r)

	// Only necessary cookies: there is no choice to change.
	p.Cookies[0].Category = policy.CookieNecessary
	r = render(t, p, testOptions)
	r.neither(t, "cookie settings without choices", "Cookie preferences")
	checkNoEmpty(t, r)
}
