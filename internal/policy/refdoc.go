package policy

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// minimalExample is the smallest valid policy. The reference shows it and
// a test loads it (and checks testdata/minimal.yaml is the same text).
const minimalExample = `# The smallest valid policy: one field, one purpose, one retention rule.
version: 1
mode: controller
controller:
  name: Example Widgets AS
  address: Storgata 1, 0155 Oslo, Norway
  country: "NO"
  email: privacy@example.com
  supervisory_authority:
    name: Datatilsynet
    country: "NO"
    website: https://www.datatilsynet.no
jurisdictions: [gdpr]
fields:
  - name: email
    category: user.contact.email
    identity: email
purposes:
  - key: service
    name: Providing the service
    description: We use your email address to run your account.
    legal_basis: contract
    categories: [user.contact.email]
retention:
  - key: account_closed_30d
    duration: 30d
    trigger: account_closed
    action: delete
default_retention: account_closed_30d
backup_retention: 90d
`

// section is one part of the format documented on its own: a struct type
// and the paths where it appears.
type section struct {
	typ   reflect.Type
	paths []string
}

// sections lists the struct types of the format in the order they appear,
// depth first from Policy.
func sections() []section {
	var out []section
	idx := map[reflect.Type]int{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		if i, ok := idx[t]; ok {
			out[i].paths = append(out[i].paths, path)
			return
		}
		idx[t] = len(out)
		out = append(out, section{typ: t, paths: []string{path}})
		for _, f := range infoOf(t).fields {
			ft := f.typ
			p := joinKey(path, f.name)
			if ft.Kind() == reflect.Slice {
				p += "[]"
			}
			et := elemType(ft)
			if et.Kind() == reflect.Struct && !isTextType(et) {
				walk(et, p)
			}
		}
	}
	walk(reflect.TypeFor[Policy](), "")
	return out
}

func anchor(t reflect.Type) string { return strings.ToLower(t.Name()) }

// typeText says in words what a field holds, with links to sections.
func typeText(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Period]():
		return "[period](#periods)"
	case reflect.TypeFor[CookieDuration]():
		return "[cookie duration](#periods)"
	case reflect.TypeFor[Date]():
		return "[date](#dates)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeText(t.Elem())
	case reflect.Struct:
		return fmt.Sprintf("[%s](#%s)", t.Name(), anchor(t))
	case reflect.Slice:
		e := t.Elem()
		if e.Kind() == reflect.Struct && !isTextType(e) {
			return "list of " + typeText(e)
		}
		if e.Kind() == reflect.String && e != reflect.TypeFor[string]() && enumOf(e) != nil {
			return "list of names"
		}
		return "list of text"
	case reflect.Map:
		return "mapping"
	case reflect.String:
		return "text"
	case reflect.Int:
		return "integer"
	case reflect.Bool:
		return "true/false"
	}
	return t.String()
}

func mdEscape(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return strings.Join(out, ", ")
}

// snippetBody is an example mapping of one section's own keys, built from
// the example tags (and the first allowed value of required enums).
func snippetBody(t reflect.Type) string {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range infoOf(t).fields {
		et := elemType(f.typ)
		if et.Kind() == reflect.Struct && !isTextType(et) {
			continue // has its own section
		}
		ex := f.example
		if ex == "" && f.required && f.enum != nil {
			ex = f.enum[0]
		}
		if ex == "" {
			continue
		}
		if snippetSkip[t.Name()+"."+f.name] {
			continue
		}
		val := &yaml.Node{Kind: yaml.ScalarNode, Value: ex, Tag: "!!str"}
		switch strings.ToLower(ex) {
		case "y", "yes", "n", "no", "on", "off":
			val.Style = yaml.DoubleQuotedStyle // YAML 1.1 readers take these for booleans
		}
		if f.typ.Kind() == reflect.Slice || f.typ.Kind() == reflect.Map || f.typ.Kind() == reflect.Int || f.typ.Kind() == reflect.Bool {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(ex), &doc); err == nil && len(doc.Content) == 1 {
				val = doc.Content[0]
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.name, Tag: "!!str"}, val)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(m) // a node tree of plain scalars always encodes
	_ = enc.Close()
	return b.String()
}

// snippetSkip leaves conditional keys out of the examples, where they
// would contradict the example's other values.
var snippetSkip = map[string]bool{
	"Purpose.legitimate_interest": true,
	"Purpose.legal_obligation":    true,
}

// wrapSnippet nests a section's example under its path, e.g.
// purposes[].consent.
func wrapSnippet(path string, body []string) []string {
	if path == "" {
		return body
	}
	seg, rest, _ := strings.Cut(path, ".")
	inner := wrapSnippet(rest, body)
	var out []string
	if key, ok := strings.CutSuffix(seg, "[]"); ok {
		out = append(out, key+":")
		for i, l := range inner {
			if i == 0 {
				out = append(out, "  - "+l)
			} else if l != "" {
				out = append(out, "    "+l)
			}
		}
		return out
	}
	out = append(out, seg+":")
	for _, l := range inner {
		if l != "" {
			l = "  " + l
		}
		out = append(out, l)
	}
	return out
}

func snippet(s section) string {
	body := strings.Split(strings.TrimRight(snippetBody(s.typ), "\n"), "\n")
	return strings.Join(wrapSnippet(s.paths[0], body), "\n") + "\n"
}

// ReferenceMarkdown returns docs/policy-reference.md: every key of the
// format with its type, whether it is required, its allowed values and
// description, generated from the same types and tags as the loader and
// JSONSchema so the three cannot drift apart.
func ReferenceMarkdown() []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("<!-- Generated by internal/policy (ReferenceMarkdown); do not edit. Refresh with: go generate ./internal/policy -->\n\n")
	w("# Policy reference\n\n")
	w("A Trustee policy is your privacy policy written as code: one YAML (or JSON) file that says who you are, ")
	w("what personal data you hold, why, on which legal basis, who receives it and how long it is kept. ")
	w("Trustee renders the privacy notice, the cookie table and the record of processing from it, and enforces it: ")
	w("every read of personal data names a purpose, and gets only the data that purpose may use.\n\n")
	w("This reference is generated from the Go types the loader decodes into (`internal/policy`), so it lists exactly ")
	w("what Trustee accepts. A JSON Schema of the same format is in [policy.schema.json](policy.schema.json); ")
	w("point your editor at it for completion while you type, e.g. with the YAML language server:\n\n")
	w("```yaml\n# yaml-language-server: $schema=../docs/policy.schema.json\n```\n\n")
	w("Check a policy with `trustee policy check FILE`. Every problem is reported at once, one per line, as ")
	w("`FILE:LINE:COLUMN: message`, so editors and CI can jump to it. Warnings (`FILE:LINE:COLUMN: warning: ...`) ")
	w("point at things a DPO should look at in a policy that is nevertheless valid.\n\n")
	w("## Contents\n\n")
	w("- [A minimal policy](#a-minimal-policy)\n")
	for _, s := range sections() {
		w("- [%s](#%s)\n", sectionTitle(s), anchor(s.typ))
	}
	w("- [Periods](#periods) and [dates](#dates)\n- [Legal bases](#legal-bases)\n- [Special category conditions](#special-category-conditions)\n")
	w("- [International transfers](#international-transfers)\n- [Built-in data categories](#built-in-data-categories)\n- [What the loader checks](#what-the-loader-checks)\n\n")

	w("## A minimal policy\n\n```yaml\n%s```\n\n", minimalExample)
	w("The file is YAML 1.2 (JSON is accepted too, being YAML). Anchors and aliases (`&x`, `*x`), custom tags and ")
	w("several documents in one file are refused; the file must be UTF-8 and at most 1 MiB. Keys are written in ")
	w("lower snake case; an unknown key is an error, with a suggestion when it looks like a typo. Quote values ")
	w("YAML would read as something else, such as the country code `\"NO\"`.\n\n")

	for _, s := range sections() {
		w("## %s\n\n", sectionTitle(s))
		w("<a id=\"%s\"></a>", anchor(s.typ))
		if d := typeDocs[s.typ]; d != "" {
			w("%s\n\n", d)
		} else {
			w("\n\n")
		}
		if len(s.paths) > 1 || s.paths[0] != "" {
			var ps []string
			for _, p := range s.paths {
				ps = append(ps, "`"+p+"`")
			}
			w("Appears at %s.\n\n", strings.Join(ps, ", "))
		}
		w("| Key | Type | Required | Description |\n|---|---|---|---|\n")
		for _, f := range infoOf(s.typ).fields {
			req := ""
			if f.required {
				req = "yes"
			}
			desc := f.doc
			if s.typ == reflect.TypeFor[Rights]() && f.name == "verification" {
				desc += " Keys: " + codeList(enumOf(reflect.TypeFor[RequestType]())) + ". Values: " + codeList(enumOf(reflect.TypeFor[VerificationLevel]())) + "."
			} else if f.enum != nil {
				desc += " Allowed: " + codeList(f.enum) + "."
			}
			w("| `%s` | %s | %s | %s |\n", f.name, typeText(f.typ), req, mdEscape(desc))
		}
		w("\n")
		if s.typ != reflect.TypeFor[Policy]() {
			w("Example:\n\n```yaml\n%s```\n\n", snippet(s))
		} else {
			w("A key marked required must be present and not empty; a required list must have at least one item.\n\n")
		}
	}

	w("## Periods\n\n<a id=\"dates\"></a>")
	w("Durations (`duration`, `backup_retention`, `lifetime`, deadlines) are a whole number and one unit:\n\n")
	w("| Unit | Short | Also accepted | Example |\n|---|---|---|---|\n")
	w("| days | `d` | `day`, `days` | `90d`, `90 days` |\n")
	w("| working days (Monday to Friday, excluding public holidays of the jurisdiction) | `wd` | `working day(s)`, `business day(s)`, `bd` | `5wd` |\n")
	w("| weeks | `w` | `week`, `weeks` | `2w` |\n")
	w("| calendar months | `mo` | `m` (not in a cookie duration), `month`, `months` | `6mo` |\n")
	w("| calendar years | `y` | `year`, `years` | `10y` |\n\n")
	w("The number is from 1 to 10000. An ISO 8601 duration with one component is accepted too: `P90D`, `P2W`, `P6M`, `P10Y`. ")
	w("Months and years are calendar units: one month from 31 January ends on the last day of February, the way the GDPR counts.\n\n")
	w("A retention rule's `duration` may also be zero, written `0d` (any unit, or `P0D`) or `immediately`: the data is deleted or anonymised as soon as the trigger happens, ")
	w("for example when the account is closed, and the notice says so (\"deleted immediately when you close your account\"). It is stored as `0d`. ")
	w("Everywhere else (`backup_retention`, `lifetime`, deadlines, cookies) a zero period is refused.\n\n")
	w("A cookie `duration` may also be `session`, or a clock time in minutes or hours for cookies that live less than a day or an exact number of hours: ")
	w("`30min` (also `min`, `mins`, `minute`, `minutes`) or `1h`, `24h` (also `hr`, `hrs`, `hour`, `hours`), from 1 to 10000. ")
	w("Whole hours are stored as hours (`60min` is `1h`). In a cookie duration a bare `m` is refused as ambiguous: write `mo` for months or `min` for minutes. ")
	w("Only cookies take hours and minutes: retention, backups, consent and deadlines count in calendar days and longer.\n\n")
	w("Dates (`effective_date`) are written `YYYY-MM-DD`.\n\n")

	w("## Legal bases\n\nEach purpose names one lawful basis of GDPR Art. 6(1):\n\n")
	w("| `legal_basis` | GDPR | What Trustee requires and does |\n|---|---|---|\n")
	w("| `consent` | Art. 6(1)(a) | A `consent` block saying how to withdraw (Art. 7(3)). Data is used only while the person's consent is recorded and not withdrawn or expired. |\n")
	w("| `contract` | Art. 6(1)(b) | Processing necessary to perform a contract with the person or to take steps before one. |\n")
	w("| `legal_obligation` | Art. 6(1)(c) | `legal_obligation` naming the law. Such data can be kept despite an erasure request while the law requires it. |\n")
	w("| `vital_interests` | Art. 6(1)(d) | To protect someone's life. |\n")
	w("| `public_task` | Art. 6(1)(e) | A task in the public interest or official authority. |\n")
	w("| `legitimate_interests` | Art. 6(1)(f) | `legitimate_interest` stating the interest, shown in the notice (Art. 13(1)(d)). People may object (Art. 21). |\n\n")
	w("Direct marketing (`direct_marketing: true`) must be based on `consent` or `legitimate_interests`; an objection stops it unconditionally (Art. 21(3)).\n\n")

	w("## Special category conditions\n\nA purpose that uses special category data (GDPR Art. 9(1): health, genetic and biometric data, racial or ethnic origin, political opinions, religious or philosophical beliefs, trade union membership, sex life or sexual orientation) must name the Art. 9(2) condition it relies on:\n\n")
	w("| `special_category_condition` | GDPR |\n|---|---|\n")
	conds := []struct{ k, a, d string }{
		{"explicit_consent", "(a)", "explicit consent (the purpose's `legal_basis` must then be `consent`)"},
		{"employment", "(b)", "employment, social security and social protection law"},
		{"vital_interests", "(c)", "vital interests of a person unable to consent"},
		{"non_profit", "(d)", "a foundation, association or other not-for-profit body, about its members"},
		{"made_public", "(e)", "data manifestly made public by the person"},
		{"legal_claims", "(f)", "establishing, exercising or defending legal claims"},
		{"substantial_public_interest", "(g)", "substantial public interest, on the basis of law"},
		{"health_care", "(h)", "preventive or occupational medicine, medical diagnosis, health or social care"},
		{"public_health", "(i)", "public interest in public health"},
		{"archiving_research", "(j)", "archiving in the public interest, scientific or historical research, statistics"},
	}
	for _, c := range conds {
		w("| `%s` | Art. 9(2)%s: %s |\n", c.k, c.a, c.d)
	}
	w("\nA purpose uses special category data when one of its categories is special, or covers a declared field or collection whose category is. Custom categories are special when marked `special: true` or when their parent is.\n\n")

	w("## International transfers\n\nA recipient in a *third country* needs a `transfer` mechanism (GDPR Chapter V). When the GDPR applies, a third country is one outside the European Economic Area; when only the UK GDPR applies, one other than the United Kingdom.\n\n")
	w("| `transfer` | Safeguard | Valid for |\n|---|---|---|\n")
	w("| `adequacy` | An adequacy decision (Art. 45) | Only countries with one, listed below |\n")
	w("| `dpf` | EU-US Data Privacy Framework (and its UK Extension): the recipient is certified | Only the United States (`US`) |\n")
	w("| `scc_2021_914` | Standard contractual clauses, Commission Decision (EU) 2021/914 (Art. 46(2)(c)) | GDPR; not alone under the UK GDPR |\n")
	w("| `uk_addendum` | The EU SCCs with the UK Addendum | GDPR and UK GDPR |\n")
	w("| `uk_idta` | The UK International Data Transfer Agreement | UK GDPR only |\n")
	w("| `bcr` | Binding corporate rules (Art. 47) | GDPR and UK GDPR |\n")
	w("| `derogation` | A derogation for a specific situation (Art. 49) | GDPR and UK GDPR |\n\n")
	w("Countries are ISO 3166-1 alpha-2 codes in capitals (`GB` for the United Kingdom, `GR` for Greece).\n\n")
	w("The EEA: %s.\n\n", countryList(eeaCountries))
	w("EU adequacy decisions: %s. For the United States, only organisations certified under the Data Privacy Framework are covered: use `dpf`, not `adequacy`. The decision for Canada covers organisations subject to PIPEDA.\n\n", countryList(euAdequate))
	w("UK adequacy regulations: the EEA, %s. For the United States, use `dpf` (UK Extension).\n\n", countryList(minus(ukAdequate, eeaCountries)))
	w("These lists reflect decisions in force in 2025; check them against the Commission's and the ICO's current lists.\n\n")

	w("## Built-in data categories\n\n")
	w("%s\n\n", TaxonomyAttribution)
	w("A category covers its sub-categories: a purpose that lists `user.contact` may use `user.contact.email`. ")
	w("Declare your own under [`categories`](#category). Special categories (GDPR Art. 9) and sensitive personal information (CPRA) are marked.\n\n")
	w("| Key | Name | Art. 9 special | CPRA sensitive |\n|---|---|---|---|\n")
	for _, k := range builtinTaxonomy.Keys() {
		c, _ := builtinTaxonomy.Lookup(k)
		w("| `%s` | %s | %s | %s |\n", k, mdEscape(c.Name), yes(c.Special), yes(c.Sensitive))
	}
	w("\n")

	w("## What the loader checks\n\nBesides the types, keys and allowed values above, a policy is refused when:\n\n")
	for _, r := range ruleDocs {
		w("- %s\n", r)
	}
	w("\nIt loads with a warning when:\n\n")
	for _, r := range warningDocs {
		w("- %s\n", r)
	}
	return b.Bytes()
}

func sectionTitle(s section) string {
	if s.typ == reflect.TypeFor[Policy]() {
		return "Top level"
	}
	return s.typ.Name()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func minus(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if !b[k] {
			out[k] = true
		}
	}
	return out
}

func countryList(set map[string]bool) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = isoCountries[k] + " (`" + k + "`)"
	}
	return strings.Join(out, ", ")
}

// ruleDocs and warningDocs describe validate.go for people; keep in step.
var ruleDocs = []string{
	"`version` is not 1, the file is empty, larger than 1 MiB, not UTF-8, holds more than one document, or uses anchors, aliases or custom tags.",
	"a key is unknown, given twice, of the wrong type, or a value is not one of the allowed ones; a required key is missing or empty.",
	"a period is zero (`0d`, `immediately`) anywhere but a retention rule's `duration`; a cookie `duration` is zero or written with the ambiguous unit `m`.",
	"a retention rule of zero length also names `kept_by_law` (a law that requires keeping data needs a period).",
	"two fields or collections share a name, or two purposes, recipients, retention rules, custom categories or cookies share a key or name; a list names the same item twice.",
	"a field or collection name, or a purpose, recipient or retention rule key, is not lower snake case (`^[a-z][a-z0-9_]{0,62}$`); a category key is not dotted segments of that form.",
	"a data category, retention rule or recipient that is referred to does not exist (with a suggestion for the nearest one).",
	"a custom category redefines a built-in one, names a parent that does not exist, or its parents form a cycle.",
	"a field or collection has no retention rule and there is no `default_retention`.",
	"an identity field's category is not under `user.contact`, `user.unique_id` or `user.account`.",
	"a purpose based on `legitimate_interests` does not state the interest (`legitimate_interest`), one based on `legal_obligation` does not name the law, or one based on `consent` has no `consent.withdrawal`.",
	"a purpose that is not based on consent has a `consent` block.",
	"a purpose uses special category data without `special_category_condition`, or relies on `explicit_consent` without being based on consent.",
	"a direct marketing purpose is based on anything but consent or legitimate interests.",
	"a purpose has `automated_decisions` and the policy has no top-level `automated_decisions` statement; or decisions with legal effect (`legal_effect: true`) rest on legitimate or vital interests (GDPR Art. 22(2)).",
	"a recipient in a third country has no `transfer`; `adequacy` is given for a country without an adequacy decision; `dpf` is given outside the United States; `scc_2021_914` alone for a UK GDPR transfer, or `uk_idta` for a GDPR one.",
	"a country is not an ISO 3166-1 alpha-2 code (written in capitals).",
	"the GDPR or UK GDPR applies and `controller.supervisory_authority` is missing; the GDPR applies to a controller outside the EEA without `eu_representative`; the UK GDPR applies to a controller outside the UK without `uk_representative`.",
	"`rights.deadlines.respond` could be longer than the law allows (GDPR and UK GDPR: one month, so at most `1mo` or 28 days; CCPA: 45 days), or `confirm` longer than the CCPA's 10 business days. Working days are counted with a margin of one public holiday per week.",
	"`rights.verification` is `none` for a request that discloses or changes data (access, portability, rectification, erasure, ccpa_know, ccpa_delete, ccpa_correct).",
	"`children.minimum_age` is below 13 while the GDPR or UK GDPR applies (Art. 8), or above 21.",
	"an email address or URL (absolute `http(s)`) is malformed; `language` is not a BCP 47 tag.",
	"a site key is not 3 to 63 characters of `a-z`, `0-9` and `-`, or two sites share one; an origin is not exactly `scheme://host[:port]` as browsers send it (lower case, no path, no trailing `/`, no default port, no wildcard).",
	"a site maps a purpose that does not exist, is not based on consent, or is mapped to two categories; the policy declares functional, analytics or advertising cookies and a site maps no purpose to that category.",
	"a site's consent cookie is declared with a category other than `necessary`.",
	"a site has no banner texts in the policy's language when that is not English (built-in texts exist only in English), or they lack a label; a banner text is longer than 2000 characters.",
}

var warningDocs = []string{
	"no purpose uses the category of a field or collection (data collected for no purpose), or a recipient is named by no purpose, or receives a category no purpose naming it uses.",
	"a retention rule is not used.",
	"`default_retention` is a rule kept by law, so every field without its own rule would survive erasure requests.",
	"`sale_or_share` is set while the CCPA is not among the jurisdictions.",
	"`cookie_settings` is set but no cookie needs consent, so there is no choice to change and the notice leaves the text out.",
	"`transfer` is set for a recipient that is not in a third country.",
	"a site's consent cookie is not declared under `cookies`; an origin uses plain `http` outside local testing; a site has no `notice_url` and the controller no `website`.",
	"a purpose states a `legitimate_interest`, a `legal_obligation` or a `special_category_condition` it does not need.",
	"`children.minimum_age` is above 16 under the GDPR (the service then excludes older teenagers rather than asking for parental consent), or below 13 under the CCPA alone (COPPA).",
}
