package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite docs/policy.schema.json and docs/policy-reference.md from the Go types")

const (
	schemaFile    = "../../docs/policy.schema.json"
	referenceFile = "../../docs/policy-reference.md"
)

// checkGenerated compares a committed generated file with what the code
// generates now, or rewrites it with -update.
func checkGenerated(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the policy types; regenerate it with:\n\tgo generate ./internal/policy\n(or: go test ./internal/policy -run 'UpToDate' -update)", path)
	}
}

func TestSchemaUpToDate(t *testing.T) { checkGenerated(t, schemaFile, JSONSchema()) }

func TestReferenceUpToDate(t *testing.T) { checkGenerated(t, referenceFile, ReferenceMarkdown()) }

func TestSchemaDeterministic(t *testing.T) {
	if !bytes.Equal(JSONSchema(), JSONSchema()) || !bytes.Equal(ReferenceMarkdown(), ReferenceMarkdown()) {
		t.Fatal("generated output differs between runs")
	}
	if !json.Valid(JSONSchema()) {
		t.Fatal("schema is not valid JSON")
	}
}

// yamlToJSON converts YAML to the JSON value it denotes, keeping scalars
// as written (a date stays "2026-12-01", not a timestamp).
func yamlToJSON(t *testing.T, src string) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		switch n.Kind {
		case yaml.DocumentNode:
			return conv(n.Content[0])
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				m[n.Content[i].Value] = conv(n.Content[i+1])
			}
			return m
		case yaml.SequenceNode:
			out := []any{}
			for _, c := range n.Content {
				out = append(out, conv(c))
			}
			return out
		}
		switch n.Tag {
		case "!!int", "!!float":
			return json.Number(n.Value)
		case "!!bool":
			return n.Value == "true"
		case "!!null":
			return nil
		}
		return n.Value
	}
	// Round-trip through encoding/json so the value has the types the
	// validator expects.
	raw, err := json.Marshal(conv(&doc))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, s); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestSchemaValidatesPolicies(t *testing.T) {
	sch := compileSchema(t)
	rich := readFixture(t, "rich.yaml")
	minimal := readFixture(t, "minimal.yaml")
	cookie := "cookies:\n  - name: c\n    provider: us\n    category: analytics\n    duration: 30min\n    purpose: x\n"
	valid := map[string]string{
		"minimal": minimal, "rich": rich, "example": minimalExample,
		"zero retention":      edit(t, minimal, "    duration: 30d", "    duration: 0d"),
		"immediate retention": edit(t, minimal, "    duration: 30d", "    duration: immediately"),
		"new keys":            minimal + cookie + "scope: Our website.\ncookie_settings: Use the link.\n",
	}
	// The shipped examples are valid for editors too.
	for _, name := range []string{"door-entry", "learning-saas"} {
		b, err := os.ReadFile("../../examples/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		valid[name] = string(b)
	}
	for name, src := range valid {
		if err := sch.Validate(yamlToJSON(t, src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// JSON written by MarshalJSON validates too.
	js, err := MarshalJSON(mustLoad(t, "rich", rich).Policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(yamlToJSON(t, string(js))); err != nil {
		t.Errorf("MarshalJSON output: %v", err)
	}
	invalid := map[string][]string{
		"unknown key":      {"mode: controller", "mode: controller\nmood: happy"},
		"bad enum":         {"legal_basis: contract", "legal_basis: contrat"},
		"bad period":       {"backup_retention: 90d", "backup_retention: 90 fortnights"},
		"missing required": {"backup_retention: 90d\n", ""},
		"wrong version":    {"version: 1", "version: 2"},
		"empty list":       {"categories: [user.contact.email]", "categories: []"},
		"bad verification": {"backup_retention: 90d", "backup_retention: 90d\nrights:\n  verification:\n    access: sms"},
		"zero backup":      {"backup_retention: 90d", "backup_retention: 0d"},
		"hours in backup":  {"backup_retention: 90d", "backup_retention: 24h"},
		"ambiguous cookie": {"backup_retention: 90d", "backup_retention: 90d\n" + strings.Replace(cookie, "30min", "30m", 1)},
		"zero cookie":      {"backup_retention: 90d", "backup_retention: 90d\n" + strings.Replace(cookie, "30min", "0h", 1)},
	}
	for name, e := range invalid {
		if err := sch.Validate(yamlToJSON(t, edit(t, minimal, e...))); err == nil {
			t.Errorf("%s: schema accepted an invalid policy", name)
		}
	}
}

// TestPeriodPatternAgreesWithParser keeps the schema's period pattern and
// ParsePeriod in step.
func TestPeriodPatternAgreesWithParser(t *testing.T) {
	re := regexp.MustCompile(anchored(periodPattern()))
	for _, s := range []string{"90d", "90 d", " 6mo ", "6 Months", "10y", "1 year", "5wd", "5 working days", "5 Business  Days", "2w",
		"P90D", "p6m", "P10Y", "P2W", "0010d", "10000d", "10001d", "0d", "d", "90", "90 dais", "P", "P0D", "P+5D", "P1H", "1.5y", "-1d", "90dd", "3 bd"} {
		_, err := ParsePeriod(s)
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("%q: pattern match %v, ParsePeriod ok %v (%v)", s, got, want, err)
		}
	}
}

// TestEnumTagsMatchTypes keeps the enum tags in types.go and the typed
// constants' table (used for map keys and values) in step.
func TestEnumTagsMatchTypes(t *testing.T) {
	for _, s := range sections() {
		for _, f := range infoOf(s.typ).fields {
			et := elemType(f.typ)
			reg, ok := enumValues[et]
			if !ok || f.enum == nil {
				continue
			}
			if strings.Join(reg, ",") != strings.Join(f.enum, ",") {
				t.Errorf("%s.%s: enum tag %v differs from the values of %s %v", s.typ.Name(), f.name, f.enum, et.Name(), reg)
			}
		}
	}
	if got := enumValues[reflect.TypeFor[RequestType]()]; len(got) != len(RequestTypes) {
		t.Error("request types")
	}
}

// TestReferenceSnippetsDecode checks that every example in the reference
// is valid for its section.
func TestReferenceSnippetsDecode(t *testing.T) {
	for _, s := range sections() {
		if s.typ == reflect.TypeFor[Policy]() {
			continue
		}
		var doc yaml.Node
		body := snippetBody(s.typ)
		if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", s.typ.Name(), err, body)
		}
		d := &decoder{file: "snippet", pos: map[string]position{}}
		d.value(doc.Content[0], reflect.New(s.typ).Elem(), "", nil)
		if len(d.errs) > 0 {
			t.Errorf("%s example does not decode:%s\n%s", s.typ.Name(), dump(d.errs), body)
		}
		// The wrapped snippet is valid YAML too.
		if err := yaml.Unmarshal([]byte(snippet(s)), &doc); err != nil {
			t.Errorf("%s: wrapped snippet: %v\n%s", s.typ.Name(), err, snippet(s))
		}
	}
	if !strings.Contains(string(ReferenceMarkdown()), "CC BY 4.0") {
		t.Error("the reference must credit fideslang (CC BY 4.0)")
	}
}
