package policy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzLoad(f *testing.F) {
	minimal := readFixture(f, "minimal.yaml")
	rich := readFixture(f, "rich.yaml")
	f.Add(minimal)
	f.Add(rich)
	f.Add(`{"version": 1, "mode": "controller"}`)
	f.Add("version: 1\nmode: [controller\n")
	f.Add("a: &x [*x, *x]\n")
	f.Add("---\n---\n")
	f.Add("version: 2\n")
	f.Add(strings.Replace(minimal, "legal_basis: contract", "legal_basis: consent", 1))
	f.Add(strings.Replace(minimal, "backup_retention: 90d", "backup_retention: P3M", 1))
	f.Add(strings.Replace(minimal, "30d", "1 working day", 1))
	// Zero-length retention, and zero where it is refused.
	f.Add(strings.Replace(minimal, "duration: 30d", "duration: 0d", 1))
	f.Add(strings.Replace(minimal, "duration: 30d", "duration: immediately", 1))
	f.Add(strings.Replace(minimal, "backup_retention: 90d", "backup_retention: 0d", 1))
	f.Add(strings.Replace(rich, "lifetime: 24mo", "lifetime: immediately", 1))
	// Cookies that live minutes or hours, and the ambiguous m.
	f.Add(minimal + "cookies:\n  - name: __cf_bm\n    provider: Cloudflare\n    category: necessary\n    duration: 30min\n    purpose: Bot protection.\n")
	f.Add(minimal + "cookies:\n  - name: lidc\n    provider: LinkedIn\n    category: analytics\n    duration: 24 hours\n    purpose: Routing.\ncookie_settings: Use the link.\nscope: Our website.\n")
	f.Add(strings.Replace(rich, "duration: 13mo", "duration: 13m", 1))
	f.Add(strings.Replace(rich, "    parent: user.behavior\n", "    parent: user.reading.reviews\n", 1))
	f.Add(minimal + "rights:\n  verification:\n    access: manual\n    access: none\n")
	f.Add(minimal + "categories:\n  - key: a.b\n    name: x\n    parent: a.b\n")
	// Strings that look like other YAML types, or need quoting, must
	// survive the round trip as strings.
	f.Add(strings.NewReplacer(
		"  name: Example Widgets AS", "  name: \"yes\"\n  phone: 0x1F\n  registration_number: 1.0e3\n  website: https://example.com/a#b",
		"    name: Providing the service", "    name: \"null\"",
		"    description: We use your email address to run your account.", "    description: |\n      Line one: with a colon\n      - not a list\n      \"quoted\" ~ 'single' # not a comment\n    data_subjects: [\"2026-01-01\", \"~\", \"true\", \"\\t tab\", \"æøå 漢字 🙂\"]",
	).Replace(minimal))
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := Load("fuzz.yaml", []byte(src))
		if err != nil {
			es, ok := err.(Errors)
			if !ok || len(es) == 0 || doc != nil {
				t.Fatalf("Load failed without Errors: %T %v", err, err)
			}
			for _, e := range es {
				if e.Line < 1 || e.Col < 1 || e.Msg == "" || e.Warning {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		if doc.Hash != doc.Policy.Hash() {
			t.Fatal("Document.Hash differs from Policy.Hash")
		}
		y, err := MarshalYAML(doc.Policy)
		if err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
		again, err := Load("again.yaml", y)
		if err != nil {
			t.Fatalf("reloading YAML failed: %v\n--- input\n%s\n--- marshalled\n%s", err, src, y)
		}
		if again.Hash != doc.Hash {
			t.Fatalf("YAML round trip changed the hash\n--- input\n%s\n--- marshalled\n%s", src, y)
		}
		j, err := MarshalJSON(doc.Policy)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		againJ, err := Load("again.json", j)
		if err != nil {
			t.Fatalf("reloading JSON failed: %v\n--- input\n%s\n--- marshalled\n%s", err, src, j)
		}
		if againJ.Hash != doc.Hash {
			t.Fatalf("JSON round trip changed the hash\n--- input\n%s\n--- marshalled\n%s", src, j)
		}
		// Diffing a policy with itself finds nothing.
		if r := Diff(doc.Policy, again.Policy); !r.Empty() {
			t.Fatalf("Diff of equal policies: %s", r.Text())
		}
	})
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"90d", "6 months", "P10Y", "5wd", "0d", "10001y", "  2 Weeks ", "P+5D", "1 business day", "x",
		"immediately", "P0D", "0 days", "30min", "1h", "24 hours", "1m", "13M", "session", "0min", "10000h"} {
		f.Add(s)
	}
	re := regexp.MustCompile(anchored(periodPattern()))
	zeroRE := regexp.MustCompile(anchored(periodOrZeroPattern()))
	cookieRE := regexp.MustCompile(anchored(cookieDurationPattern()))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		z, zerr := ParsePeriodOrZero(s)
		c, cerr := ParseCookieDuration(s)
		// The patterns cannot express the parsers' limit of 64 characters
		// (JSON Schema's maxLength would count the white space around the
		// value too), so longer values are compared only by the parsers.
		if isASCII(s) && len(strings.TrimSpace(s)) <= maxPeriodLen {
			if got := re.MatchString(s); got != (err == nil) {
				t.Fatalf("%q: schema pattern %v, ParsePeriod err %v", s, got, err)
			}
			if got := zeroRE.MatchString(s); got != (zerr == nil) {
				t.Fatalf("%q: zero-or-positive pattern %v, ParsePeriodOrZero err %v", s, got, zerr)
			}
			if got := cookieRE.MatchString(s); got != (cerr == nil) {
				t.Fatalf("%q: cookie pattern %v, ParseCookieDuration err %v", s, got, cerr)
			}
		}
		for _, e := range []error{err, zerr, cerr} {
			if e != nil && e.Error() == "" {
				t.Fatal("empty error message")
			}
		}
		checkCookieDuration(t, s, c, cerr, p, err)
		// ParsePeriodOrZero reads what ParsePeriod reads, plus the zero
		// length, always as Period{Unit: Days}.
		switch {
		case err == nil && (zerr != nil || z != p):
			t.Fatalf("%q: ParsePeriod %v, ParsePeriodOrZero %v %v", s, p, z, zerr)
		case err != nil && zerr == nil && (z != Period{Unit: Days} || z.String() != "0d" || z.IsZero() || !z.Immediate()):
			t.Fatalf("%q: zero length read as %#v", s, z)
		case zerr == nil:
			if q, err := ParsePeriodOrZero(z.String()); err != nil || q != z {
				t.Fatalf("%q -> %v -> %v, %v", s, z, q, err)
			}
		}
		if err != nil {
			return
		}
		if p.N < 1 || p.N > 10000 {
			t.Fatalf("%q: N = %d", s, p.N)
		}
		switch p.Unit {
		case Days, WorkingDays, Weeks, Months, Years:
		default:
			t.Fatalf("%q: unit %q", s, p.Unit)
		}
		q, err := ParsePeriod(p.String())
		if err != nil || q != p {
			t.Fatalf("%q -> %v -> %v, %v", s, p, q, err)
		}
		if p.ApproxDays() < p.N || p.Human() == "" {
			t.Fatalf("%q: ApproxDays %d Human %q", s, p.ApproxDays(), p.Human())
		}
	})
}

// checkCookieDuration checks a parsed cookie duration: exactly one form is
// set, it round-trips through its text, and a calendar period reads as
// ParsePeriod reads it; a period ParsePeriod accepts is refused only when
// its unit is the ambiguous m.
func checkCookieDuration(t *testing.T, s string, c CookieDuration, cerr error, p Period, perr error) {
	t.Helper()
	if cerr != nil {
		if perr == nil && !strings.Contains(cerr.Error(), "ambiguous") {
			t.Fatalf("cookie duration %q refused (%v) although it is a period", s, cerr)
		}
		return
	}
	forms := 0
	if c.Session {
		forms++
	}
	if !c.Period.IsZero() {
		forms++
		if perr != nil || c.Period != p || c.Period.Immediate() {
			t.Fatalf("cookie duration %q: period %#v, ParsePeriod %#v %v", s, c.Period, p, perr)
		}
	}
	if c.Minutes != 0 {
		forms++
		if c.Minutes < 1 || c.Minutes > 600000 {
			t.Fatalf("cookie duration %q: %d minutes", s, c.Minutes)
		}
	}
	if forms != 1 || c.IsZero() || c.Human() == "" {
		t.Fatalf("cookie duration %q: %#v", s, c)
	}
	again, err := ParseCookieDuration(c.String())
	if err != nil || again != c {
		t.Fatalf("cookie duration %q -> %q -> %#v, %v", s, c.String(), again, err)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// bigPolicy builds a policy of about the given number of lines from the
// rich fixture plus generated fields, collections, purposes and recipients.
func bigPolicy(lines int) string {
	n := lines/18 + 1 // each round below adds 18 lines
	fields, purposes := &strings.Builder{}, &strings.Builder{}
	for i := range n {
		fmt.Fprintf(fields, "  - name: extra_%d\n    category: user.demographic.profile\n    description: Generated field %d.\n", i, i)
		fmt.Fprintf(fields, "  - name: notes_%d\n    category: user.content.private\n    retention: collected_3y\n", i)
		fmt.Fprintf(purposes, "  - key: purpose_%d\n    name: Generated purpose %d\n    description: A purpose made for the benchmark.\n    legal_basis: legitimate_interests\n    legitimate_interest: Understanding our members.\n    categories: [user.demographic.profile, user.content.private, user.contact.email]\n    recipients: [cloudhost]\n", i, i)
	}
	return strings.NewReplacer(
		"\nfields:\n", "\nfields:\n"+fields.String(),
		"\npurposes:\n", "\npurposes:\n"+purposes.String(),
	).Replace(readFixtureNoT("rich.yaml"))
}

func readFixtureNoT(name string) string {
	b, err := readFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBigPolicyLoads(t *testing.T) {
	src := bigPolicy(1000)
	if n := strings.Count(src, "\n"); n < 1000 {
		t.Fatalf("big policy has only %d lines", n)
	}
	if _, err := Load("big.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLoad1000Lines(b *testing.B) {
	src := []byte(bigPolicy(1000))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Load("big.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMayUse(b *testing.B) {
	doc, err := Load("rich.yaml", []byte(readFixtureNoT("rich.yaml")))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = doc.MayUse("newsletter", "user.contact.email")
		_ = doc.PurposesUsing("user.behavior.purchase_history")
	}
}
