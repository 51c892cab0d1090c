package policy

//go:generate go test -run ^(TestSchemaUpToDate|TestReferenceUpToDate)$ -update .

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// SchemaID is the $id of the generated JSON Schema.
const SchemaID = "https://github.com/trustee-privacy/trustee/blob/main/docs/policy.schema.json"

// obj is a JSON object that keeps its keys in insertion order, so the
// generated schema is deterministic and reads in the order of the types.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoEscape(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// typeDocs describe each type of the format; the schema and the reference
// docs show them. Struct field docs live in the `doc` tags in types.go.
var typeDocs = map[reflect.Type]string{
	reflect.TypeFor[Policy]():         "A Trustee privacy policy: who the controller is, what personal data is held, why, for how long and who receives it.",
	reflect.TypeFor[Controller]():     "Who is responsible for the processing and every contact a notice must give (GDPR Art. 13(1)(a)-(b)).",
	reflect.TypeFor[Contact]():        "A person or office people can write to.",
	reflect.TypeFor[Authority]():      "A data protection supervisory authority people may complain to.",
	reflect.TypeFor[Category]():       "A custom data category, in addition to the built-in fideslang categories.",
	reflect.TypeFor[Field]():          "A single-valued piece of personal data held per person. Only declared fields can be stored.",
	reflect.TypeFor[Collection]():     "A kind of repeated record held per person, such as orders or support tickets.",
	reflect.TypeFor[Anonymisation]():  "What anonymisation keeps of a record: a count per collection, generalised period and values of the attributes kept. The record, its person and its exact time are destroyed.",
	reflect.TypeFor[Generalisation](): "How anonymisation coarsens what it keeps.",
	reflect.TypeFor[Purpose]():        "A reason for processing, with its legal basis. Every read of personal data names a purpose and gets only what it may use.",
	reflect.TypeFor[ConsentTerms]():   "How consent for a purpose is asked for and withdrawn.",
	reflect.TypeFor[Automated]():      "Profiling or automated decision-making done for a purpose (GDPR Art. 22).",
	reflect.TypeFor[Recipient]():      "A processor or third party that personal data is disclosed to.",
	reflect.TypeFor[Cookie]():         "A cookie or similar tracker (local storage, pixel) set by the website or app.",
	reflect.TypeFor[Site]():           "A website or app that embeds Trustee's cookie banner (/consent.js): its public key, the origins allowed to use it, which purposes its categories stand for, and its texts.",
	reflect.TypeFor[SiteCategories](): "The consent-based purposes each optional banner category stands for; necessary cookies need no consent and map to nothing.",
	reflect.TypeFor[BannerTexts]():    "The cookie banner's texts in one language. Texts left out fall back to the policy's language; English ones are built in.",
	reflect.TypeFor[RetentionRule]():  "How long data is kept, counted from which event, and what happens when the time is up. A rule kept by law may end in delete or anonymise: either ends the processing of personal data.",
	reflect.TypeFor[Rights]():         "How data-subject requests are verified, timed and charged.",
	reflect.TypeFor[Deadlines]():      "Answer deadlines a tenant promises; they may only be stricter than the law.",
	reflect.TypeFor[Children]():       "The minimum age and what happens to accounts of younger children.",
	reflect.TypeFor[Period]():         "A length of time in one unit: 90d, 6mo, 10y, 2w, 5wd (working days), also written out (90 days) or as ISO 8601 (P90D).",
	reflect.TypeFor[CookieDuration](): "session, a period such as 13mo, or a clock time in hours or minutes such as 30min, 1h or 24h (a bare m is refused: write mo or min).",
	reflect.TypeFor[Date]():           "A calendar date written YYYY-MM-DD.",
}

// periodOrZeroDoc describes a period that may be of zero length.
const periodOrZeroDoc = "A period as in Period, or a zero length, 0d (also written immediately): the time is up as soon as the event happens."

// space matches the ASCII white space the parsers trim and split on
// (strings.TrimSpace, strings.Fields). \s would not do: in Go's regexp it
// leaves out \v, which ECMA-262 includes.
const space = `[\t\n\v\f\r ]`

// anchored matches the whole value, allowing the white space around it that
// the parsers trim.
func anchored(pattern string) string { return `^` + space + `*` + pattern + space + `*$` }

// caseless writes a regular expression matching word in any letter case,
// since ECMA-262 patterns (used by editors) have no inline (?i) flag.
func caseless(word string) string {
	var b strings.Builder
	for _, r := range word {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteString("[" + string(r) + string(r-'a'+'A') + "]")
		case r == ' ':
			b.WriteString(space + `+`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unitAlternation is a caseless alternation of unit words, longer words
// first so that "days" is not matched as "d" + garbage.
func unitAlternation(words []string) string {
	words = slices.Clone(words)
	sort.Slice(words, func(i, j int) bool {
		if len(words[i]) != len(words[j]) {
			return len(words[i]) > len(words[j])
		}
		return words[i] < words[j]
	})
	for i, w := range words {
		words[i] = caseless(w)
	}
	return `(?:` + strings.Join(words, "|") + `)`
}

// periodUnitWords lists the unit words of a period, except those in skip.
func periodUnitWords(skip ...string) []string {
	words := make([]string, 0, len(unitWords))
	for w := range unitWords {
		if !slices.Contains(skip, w) {
			words = append(words, w)
		}
	}
	return words
}

// Numbers of a period, leading zeros allowed: positiveNumber is 1 to
// 10000, anyNumber 0 to 10000.
const (
	positiveNumber = `0*(?:10000|[1-9][0-9]{0,3})`
	anyNumber      = `0*(?:10000|[0-9]{1,4})`
)

// periodPattern matches exactly what ParsePeriod accepts (without the
// surrounding ^…$), generated from its unit table.
func periodPattern() string {
	return `(?:` + positiveNumber + space + `*` + unitAlternation(periodUnitWords()) + `|[pP]` + positiveNumber + `[dDwWmMyY])`
}

// periodOrZeroPattern matches exactly what ParsePeriodOrZero accepts.
func periodOrZeroPattern() string {
	return `(?:` + anyNumber + space + `*` + unitAlternation(periodUnitWords()) + `|[pP]` + anyNumber + `[dDwWmMyY]|` + caseless(immediatelyWord) + `)`
}

// cookieDurationPattern matches exactly what ParseCookieDuration accepts.
func cookieDurationPattern() string {
	short := make([]string, 0, len(shortUnits))
	for w := range shortUnits {
		short = append(short, w)
	}
	words := append(periodUnitWords("m"), short...)
	return `(?:` + caseless("session") + `|` + positiveNumber + space + `*` + unitAlternation(words) + `|[pP]` + positiveNumber + `[dDwWmMyY])`
}

// schemaContext collects $defs while walking the types.
type schemaContext struct {
	defs  map[string]obj
	order []string
}

func typeName(t reflect.Type) string { return t.Name() }

func (c *schemaContext) ref(t reflect.Type) obj {
	name := typeName(t)
	if _, ok := c.defs[name]; !ok {
		c.defs[name] = nil // reserve: recursion guard
		c.order = append(c.order, name)
		c.defs[name] = c.define(t)
	}
	return obj{{"$ref", "#/$defs/" + name}}
}

func (c *schemaContext) define(t reflect.Type) obj {
	switch t {
	case reflect.TypeFor[Period]():
		return obj{{"type", "string"}, {"description", typeDocs[t]}, {"pattern", anchored(periodPattern())}, {"examples", []string{"90d", "6mo", "10y", "5wd"}}}
	case reflect.TypeFor[CookieDuration]():
		return obj{{"type", "string"}, {"description", typeDocs[t]}, {"pattern", anchored(cookieDurationPattern())}, {"examples", []string{"session", "13mo", "30min", "24h"}}}
	case reflect.TypeFor[Date]():
		return obj{{"type", "string"}, {"description", typeDocs[t]}, {"format", "date"}, {"pattern", anchored(`[0-9]{4}-[0-9]{2}-[0-9]{2}`)}, {"examples", []string{"2026-12-01"}}}
	}
	si := infoOf(t)
	props := obj{}
	var required []string
	for _, f := range si.fields {
		props = append(props, kv{f.name, c.field(t, f)})
		if f.required {
			required = append(required, f.name)
		}
	}
	o := obj{{"type", "object"}}
	if d := typeDocs[t]; d != "" {
		o = append(o, kv{"description", d})
	}
	o = append(o, kv{"properties", props})
	if len(required) > 0 {
		o = append(o, kv{"required", required})
	}
	return append(o, kv{"additionalProperties", false})
}

// exampleValue turns an example tag into the JSON value it stands for.
func exampleValue(t reflect.Type, ex string) any {
	k := elemType(t).Kind()
	if t.Kind() != reflect.Slice && t.Kind() != reflect.Map && (k == reflect.String || isTextType(elemType(t))) {
		return ex
	}
	var v any
	if err := json.Unmarshal([]byte(ex), &v); err == nil {
		return v
	}
	return ex
}

// periodOrZeroDef is the schema of a Period field tagged zero:"allowed".
const periodOrZeroDef = "PeriodOrZero"

// refNamed refers to a definition that has no Go type of its own.
func (c *schemaContext) refNamed(name string, def func() obj) obj {
	if _, ok := c.defs[name]; !ok {
		c.order = append(c.order, name)
		c.defs[name] = def()
	}
	return obj{{"$ref", "#/$defs/" + name}}
}

func (c *schemaContext) field(owner reflect.Type, f fieldInfo) obj {
	o := c.valueSchema(f.typ, f.enum, f.required)
	if f.zeroOK && f.typ == reflect.TypeFor[Period]() {
		o = c.refNamed(periodOrZeroDef, func() obj {
			return obj{{"type", "string"}, {"description", periodOrZeroDoc}, {"pattern", anchored(periodOrZeroPattern())}, {"examples", []string{"30d", "6mo", "0d", immediatelyWord}}}
		})
	}
	if owner == reflect.TypeFor[Policy]() && f.name == "version" {
		o = obj{{"const", FormatVersion}}
	}
	if owner == reflect.TypeFor[Children]() && f.name == "minimum_age" {
		o = append(o, kv{"minimum", 0}, kv{"maximum", 21})
	}
	if f.doc != "" {
		o = append(o, kv{"description", f.doc})
	}
	if f.example != "" {
		o = append(o, kv{"examples", []any{exampleValue(f.typ, f.example)}})
	}
	return o
}

func (c *schemaContext) valueSchema(t reflect.Type, enum []string, required bool) obj {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := typeDocs[t]; ok && (t.Kind() == reflect.Struct) {
		return c.ref(t)
	}
	switch t.Kind() {
	case reflect.String:
		o := obj{{"type", "string"}}
		if enum != nil {
			o = append(o, kv{"enum", enum})
		} else if required {
			o = append(o, kv{"minLength", 1})
		}
		return o
	case reflect.Int:
		return obj{{"type", "integer"}}
	case reflect.Bool:
		return obj{{"type", "boolean"}}
	case reflect.Slice:
		o := obj{{"type", "array"}, {"items", c.valueSchema(t.Elem(), enum, true)}}
		if required {
			o = append(o, kv{"minItems", 1})
		}
		if t.Elem().Kind() == reflect.String {
			o = append(o, kv{"uniqueItems", true})
		}
		return o
	case reflect.Map:
		props := obj{}
		for _, k := range enumOf(t.Key()) {
			props = append(props, kv{k, obj{{"enum", enumOf(t.Elem())}}})
		}
		return obj{{"type", "object"}, {"properties", props}, {"additionalProperties", false}}
	}
	return obj{}
}

// JSONSchema returns the JSON Schema (draft 2020-12) of the policy format,
// generated from the Go types and their tags, for editors (completion and
// checks while typing) and other tools. Trustee's own loader is stricter:
// it also applies the semantic rules. The output is deterministic; it is
// committed as docs/policy.schema.json.
func JSONSchema() []byte {
	c := &schemaContext{defs: map[string]obj{}}
	root := c.define(reflect.TypeFor[Policy]())
	defs := obj{}
	for _, name := range c.order {
		defs = append(defs, kv{name, c.defs[name]})
	}
	doc := obj{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", SchemaID},
		{"title", "Trustee privacy policy, format version 1"},
	}
	doc = append(doc, root...)
	doc = append(doc, kv{"$defs", defs})
	raw, err := json.Marshal(doc)
	if err != nil {
		panic("policy: schema: " + err.Error()) // only static data goes in
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		panic("policy: schema: " + err.Error())
	}
	out.WriteByte('\n')
	return out.Bytes()
}
