package policy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFixturesLoadCleanly(t *testing.T) {
	for _, name := range []string{"minimal.yaml", "rich.yaml"} {
		t.Run(name, func(t *testing.T) {
			src := readFixture(t, name)
			doc, err := Load(name, []byte(src))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(doc.Warnings) > 0 {
				t.Errorf("unexpected warnings:%s", dump(doc.Warnings))
			}
			if doc.Format != "yaml" || doc.Name != name || !strings.HasPrefix(doc.Hash, "sha256:") || len(doc.Hash) != 71 {
				t.Errorf("Format=%q Name=%q Hash=%q", doc.Format, doc.Name, doc.Hash)
			}
		})
	}
}

func TestMinimalExampleMatchesFixture(t *testing.T) {
	if got := readFixture(t, "minimal.yaml"); got != minimalExample {
		t.Fatal("testdata/minimal.yaml and minimalExample in refdoc.go differ; keep them identical")
	}
	if _, err := Load("minimal", []byte(minimalExample)); err != nil {
		t.Fatal(err)
	}
}

// TestManyMistakesAllReported is the done-criterion of the loader: one
// policy with many different mistakes, every one reported at its exact
// line and column in one pass.
func TestManyMistakesAllReported(t *testing.T) {
	src := `version: 1
mode: controller
controller:
  name: Example Widgets AS
  address: Storgata 1, Oslo
  country: "NO"
  email: privacy@example.com
  supervisory_authority:
    name: Datatilsynet
jurisdictions: [gdpr]
fields:
  - name: email
    category: user.contact.emial
  - name: phone
    category: user.contact.phone_number
    identity: telephone
purposes:
  - key: service
    name: Service
    description: Running the service.
    legal_basis: contract
    categories: [user.contact]
    recipents: [host]
  - key: newsletter
    name: Newsletter
    description: News by email.
    legal_basis: consent
    categories: [user.contact.email]
  - key: service
    name: Duplicate
    description: Oops.
    categories: [user.contact]
recipients:
  - key: host
    name: Example Cloud Inc.
    role: processor
    country: US
    categories: [user.contact]
retention:
  - key: closed_30d
    duration: 30 dais
    trigger: account_closed
    action: delete
default_retention: closed_30d
backup_retention: 90d
children:
  minimum_age: yes
`
	want := []struct {
		line, col int
		frag      string
	}{
		{13, 15, `unknown data category "user.contact.emial"; did you mean "user.contact.email"?`},
		{16, 15, `"telephone" is not allowed; did you mean "phone"? Allowed values: email, phone, external_id, login.`},
		{23, 5, `unknown key "recipents"; did you mean "recipients"?`},
		{27, 18, `purpose "newsletter" is based on consent but gives no way to withdraw it (consent.withdrawal)`},
		{29, 5, `purposes[2]: missing required key "legal_basis"`},
		{29, 10, `purpose "service" is declared twice (first at line 18)`},
		{37, 14, `recipient "host" is in United States (US), a third country under the GDPR, but names no transfer mechanism`},
		{41, 15, `period "30 dais" has an unknown unit "dais"`},
		{47, 16, `expected a whole number, got the text "yes"`},
	}
	doc, err := Load("policy.yaml", []byte(src))
	if doc != nil || err == nil {
		t.Fatal("Load accepted a broken policy")
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want Errors", err)
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:%s", len(errs), len(want), dump(errs))
	}
	for _, w := range want {
		found := false
		for _, e := range errs {
			if e.Line == w.line && e.Col == w.col && strings.Contains(e.Error(), w.frag) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %d:%d %s\ngot:%s", w.line, w.col, w.frag, dump(errs))
		}
	}
	// The CLI prints these one per line as FILE:LINE:COL: message.
	first := strings.Split(err.Error(), "\n")[0]
	if !strings.HasPrefix(first, "policy.yaml:13:15: fields[0].category: unknown data category") {
		t.Errorf("first line = %q", first)
	}
}

// TestDecodeErrors covers each decoder check with one mistake in an
// otherwise valid policy; ⟪ marks the expected position.
func TestDecodeErrors(t *testing.T) {
	base := readFixture(t, "minimal.yaml")
	cases := []struct {
		name  string
		edits []string
		frag  string
	}{
		{"unknown top-level key", []string{"mode: controller", "mode: controller\n⟪purposez: []"}, `unknown key "purposez"; did you mean "purposes"?`},
		{"unknown key lists allowed keys when short", []string{"    website: https://www.datatilsynet.no", "    website: https://www.datatilsynet.no\n    ⟪mail: x@example.com"}, `unknown key "mail"; did you mean "email"? Allowed keys: name, country, website, email, address.`},
		{"camelCase key", []string{"    legal_basis: contract", "    ⟪legalBasis: contract"}, `unknown key "legalBasis"; did you mean "legal_basis"?`},
		{"duplicate key", []string{"mode: controller", "mode: controller\n⟪mode: processor"}, `duplicate key "mode" (first at line 3)`},
		{"mapping expected", []string{"controller:\n  name: Example Widgets AS", "controller: ⟪[a, b]\nx:\n  name: Example Widgets AS"}, `expected a mapping of keys`},
		{"list expected", []string{"jurisdictions: [gdpr]", "jurisdictions: ⟪gdpr"}, `expected a list, got a single value "gdpr"`},
		{"text expected", []string{"  name: Example Widgets AS", "  name: ⟪{a: 1}"}, `expected a text value, got a mapping`},
		{"integer expected", []string{"version: 1", "version: ⟪one"}, `expected a whole number, got the text "one"`},
		{"bool expected", []string{"    identity: email", "    identity: email\n    required: ⟪yes"}, `expected true or false, got the text "yes"; write true`},
		{"enum", []string{"legal_basis: contract", "legal_basis: ⟪contrat"}, `"contrat" is not allowed; did you mean "contract"? Allowed values: consent, contract,`},
		{"enum in list", []string{"jurisdictions: [gdpr]", "jurisdictions: [gdpr, ⟪cpra]"}, `"cpra" is not allowed. Allowed values: gdpr, uk_gdpr, ccpa.`},
		{"period", []string{"backup_retention: 90d", "backup_retention: ⟪90"}, `period "90" needs a unit`},
		{"period unit", []string{"duration: 30d", "duration: ⟪30 fortnights"}, `unknown unit "fortnights"`},
		{"date", []string{"version: 1", "version: 1\neffective_date: ⟪01.12.2026"}, `date "01.12.2026" must be written YYYY-MM-DD`},
		{"missing required key", []string{"    trigger: account_closed\n", ""}, `retention[0]: missing required key "trigger"`},
		{"missing required at top", []string{"backup_retention: 90d\n", ""}, `missing required key "backup_retention"`},
		{"required key without value", []string{"  email: privacy@example.com", "  ⟪email:"}, `required key "email" has no value`},
		{"required text empty", []string{"  email: privacy@example.com", "  email: ⟪\"\""}, `"email" must not be empty`},
		{"required list empty", []string{"    categories: [user.contact.email]", "    categories: ⟪[]"}, `"categories" must list at least one item`},
		{"empty list item", []string{"    categories: [user.contact.email]", "    categories:\n      - user.contact.email\n      -⟪"}, `empty list item`},
		{"verification key", []string{"backup_retention: 90d", "backup_retention: 90d\nrights:\n  verification:\n    ⟪acess: email_code"}, `unknown key "acess"; did you mean "access"?`},
		{"verification value", []string{"backup_retention: 90d", "backup_retention: 90d\nrights:\n  verification:\n    access: ⟪sms"}, `"sms" is not allowed. Allowed values: none, email_code, app_token, manual.`},
		{"verification duplicate", []string{"backup_retention: 90d", "backup_retention: 90d\nrights:\n  verification:\n    access: manual\n    ⟪access: manual"}, `duplicate key "access" (first at line`},
		{"cookie duration", []string{"backup_retention: 90d", "backup_retention: 90d\ncookies:\n  - name: s\n    provider: us\n    category: necessary\n    duration: ⟪forever\n    purpose: x"}, `cookie duration: period "forever" must start with a number`},
		{"zero backup retention", []string{"backup_retention: 90d", "backup_retention: ⟪0d"}, `backup_retention: a zero period ("0d") is not allowed for backup_retention: only a retention rule's duration may be 0d or immediately. Backups keep deleted data until they expire`},
		{"immediately as backup retention", []string{"backup_retention: 90d", "backup_retention: ⟪immediately"}, `a zero period ("immediately") is not allowed for backup_retention`},
		{"zero deadline", []string{"backup_retention: 90d", "backup_retention: 90d\nrights:\n  deadlines:\n    respond: ⟪P0D"}, `rights.deadlines.respond: a zero period ("P0D") is not allowed for respond: only a retention rule's duration may be 0d or immediately. Leave it out to use the deadline the law sets.`},
		{"zero consent lifetime", []string{"    legal_basis: contract", "    legal_basis: consent\n    consent:\n      withdrawal: Write to us.\n      lifetime: ⟪0 days"}, `purposes[0].consent.lifetime: a zero period ("0 days") is not allowed for lifetime: only a retention rule's duration may be 0d or immediately. Leave lifetime out for consent that lasts until it is withdrawn.`},
		{"zero cookie duration", []string{"backup_retention: 90d", "backup_retention: 90d\ncookies:\n  - name: s\n    provider: us\n    category: necessary\n    duration: ⟪0min\n    purpose: x"}, `cookie duration "0min" is zero: a cookie must live for some time; use session`},
		{"immediate cookie", []string{"backup_retention: 90d", "backup_retention: 90d\ncookies:\n  - name: s\n    provider: us\n    category: necessary\n    duration: ⟪immediately\n    purpose: x"}, `cookie duration "immediately" has no length`},
		{"ambiguous cookie m", []string{"backup_retention: 90d", "backup_retention: 90d\ncookies:\n  - name: s\n    provider: us\n    category: necessary\n    duration: ⟪30m\n    purpose: x"}, `cookie duration "30m" is ambiguous: write 30min for minutes or 30mo for months`},
		{"hours outside cookies", []string{"backup_retention: 90d", "backup_retention: ⟪24h"}, `period "24h" has an unknown unit "h": use d (days), wd (working days), w (weeks), mo (months) or y (years)`},
		{"minutes in retention", []string{"duration: 30d", "duration: ⟪30min"}, `period "30min" has an unknown unit "min"`},
		{"merge key", []string{"  name: Example Widgets AS", "  ⟪<<: {name: X}\n  name: Example Widgets AS"}, `merge keys (<<) are not supported`},
		{"complex key", []string{"mode: controller", "mode: controller\n? ⟪[a]\n: b"}, `keys must be plain names`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := edit(t, base, c.edits...)
			var line, col int
			if strings.Contains(src, marker) {
				src, line, col = takeMarker(t, src)
			}
			errs, _ := loadErrs(t, src)
			for _, e := range errs {
				if strings.Contains(e.Error(), c.frag) && (line == 0 || (e.Line == line && e.Col == col)) {
					return
				}
			}
			t.Errorf("want %d:%d %q; got:%s", line, col, c.frag, dump(errs))
		})
	}
}

func TestRefusals(t *testing.T) {
	min := readFixture(t, "minimal.yaml")
	big := bytes.Repeat([]byte("# padding\n"), MaxSize/10+1)
	cases := []struct {
		name      string
		src       string
		line, col int
		frag      string
	}{
		{"empty", "", 1, 1, "the policy is empty"},
		{"whitespace", "  \n\n", 1, 1, "the policy is empty"},
		{"only comments", "# nothing here\n", 1, 1, "the policy is empty"},
		{"null document", "---\n~\n", 1, 1, "the policy is empty"},
		{"too large", string(big), 1, 1, "the limit is 1048576 bytes"},
		{"two documents", min + "---\nversion: 1\n", 31, 1, "more than one YAML document"},
		{"anchor", strings.Replace(min, "  name: Example Widgets AS", "  name: &n Example Widgets AS", 1), 5, 9, "anchors (&n) are not allowed"},
		{"alias", strings.Replace(min, "backup_retention: 90d", "backup_retention: *x", 1), 30, 19, "aliases (*x) are not allowed"},
		{"custom tag", strings.Replace(min, "backup_retention: 90d", "backup_retention: !!binary aGk=", 1), 30, 19, "the YAML tag !!binary is not supported"},
		{"invalid utf-8", "version: 1\nmode: \xff\n", 2, 7, "invalid UTF-8"},
		{"control character", "version: 1\nmode: a\x00b\n", 2, 8, "character U+0000 is not allowed"},
		{"utf-16", "\xff\xfev\x00", 1, 1, "UTF-16"},
		{"top-level list", "- a\n- b\n", 1, 1, "the policy must be a mapping"},
		{"top-level scalar", "hello\n", 1, 1, "the policy must be a mapping"},
		{"version 2", strings.Replace(min, "version: 1", "version: 2", 1), 2, 10, "understands policy format version 1, not 2"},
		{"syntax error", "version: 1\nmode: [controller\nx: 1\n", 2, 1, "YAML syntax error"},
		{"tab indentation", "version: 1\ncontroller:\n\tname: x\n", 3, 2, "YAML syntax error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("p.yaml", []byte(c.src))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("want Errors, got %v", err)
			}
			e := errs[0]
			if e.Line != c.line || e.Col != c.col || !strings.Contains(e.Msg, c.frag) {
				t.Errorf("got %s; want %d:%d %q", e.Error(), c.line, c.col, c.frag)
			}
		})
	}
}

func TestJSONInput(t *testing.T) {
	yamlDoc, err := Load("rich.yaml", []byte(readFixture(t, "rich.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	js, err := MarshalJSON(yamlDoc.Policy)
	if err != nil {
		t.Fatal(err)
	}
	jsonDoc, err := Load("rich.json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if jsonDoc.Format != "json" {
		t.Errorf("Format = %q", jsonDoc.Format)
	}
	if jsonDoc.Hash != yamlDoc.Hash {
		t.Errorf("hash differs between YAML and JSON forms")
	}
	// Positions work in JSON too.
	bad := strings.Replace(string(js), `"legal_basis": "contract"`, `"legal_basis": "contrct"`, 1)
	_, err = Load("rich.json", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `did you mean "contract"?`) || !strings.Contains(err.Error(), "rich.json:") {
		t.Errorf("err = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := Error{File: "a.yaml", Line: 3, Col: 5, Path: "purposes[1]", Msg: `missing required key "legal_basis"`}
	if got := e.Error(); got != `a.yaml:3:5: purposes[1]: missing required key "legal_basis"` {
		t.Errorf("got %q", got)
	}
	e.Warning, e.Path = true, ""
	if got := e.Error(); got != `a.yaml:3:5: warning: missing required key "legal_basis"` {
		t.Errorf("got %q", got)
	}
	if (Errors{}).Err() != nil || Errors(nil).Err() != nil {
		t.Error("Err of empty Errors must be nil")
	}
}

func TestPos(t *testing.T) {
	doc, err := Load("rich.yaml", []byte(readFixture(t, "rich.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	src := string(doc.Source)
	lineOf := func(s string) int { return strings.Count(src[:strings.Index(src, s)], "\n") + 1 }
	cases := []struct {
		path      string
		line, col int
	}{
		{"controller", lineOf("controller:"), 1},
		{"controller.country", lineOf(`  country: "NO"`), 12},
		{"purposes[4].legal_basis", lineOf("    legal_basis: consent\n    direct_marketing: true\n    categories: [user.contact.email"), 18},
		{"purposes[4]", lineOf("  - key: newsletter"), 5},
		{"purposes[4].consent.withdrawal", lineOf("      withdrawal: Use the unsubscribe"), 19},
		{"purposes[4].nonexistent", lineOf("  - key: newsletter"), 5},
		{"rights.verification.access", lineOf("    access: email_code"), 13},
		{"nothing.here", 0, 0},
	}
	for _, c := range cases {
		l, col := doc.Pos(c.path)
		if l != c.line || col != c.col {
			t.Errorf("Pos(%q) = %d:%d, want %d:%d", c.path, l, col, c.line, c.col)
		}
	}
}

func TestParseKeepsPartialPolicy(t *testing.T) {
	src := edit(t, readFixture(t, "minimal.yaml"), "legal_basis: contract", "legal_basis: nope")
	doc, errs := Parse("p.yaml", []byte(src))
	if len(errs) != 1 || doc.Policy == nil || doc.Policy.Controller.Name != "Example Widgets AS" {
		t.Fatalf("errs=%v policy=%v", errs, doc.Policy)
	}
	doc, errs = Parse("p.yaml", []byte("a: [\n"))
	if len(errs) != 1 || doc.Policy != nil {
		t.Fatalf("errs=%v policy=%v", errs, doc.Policy)
	}
}

func TestFromPolicy(t *testing.T) {
	doc, err := Load("minimal.yaml", []byte(minimalExample))
	if err != nil {
		t.Fatal(err)
	}
	again, err := FromPolicy("generated", doc.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != doc.Hash {
		t.Error("FromPolicy changed the hash")
	}
}
