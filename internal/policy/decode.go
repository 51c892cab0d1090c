package policy

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// This file is the reflective decoder: it walks the yaml.Node tree against
// the Go types of the format, guided by their struct tags, and reports every
// mismatch with the line and column of the node that causes it. yaml.v3's
// own decoder stops at the first type error and does not know our tags
// (required, enum), hence a decoder of our own.

// fieldInfo is what the decoder, the schema and the reference docs need to
// know about one struct field of the format.
type fieldInfo struct {
	name      string // yaml key
	index     int
	typ       reflect.Type
	required  bool
	omitempty bool
	enum      []string
	doc       string
	example   string
	goName    string
	// zeroOK marks a Period field that may be of zero length (0d,
	// immediately), from the tag zero:"allowed". Every other Period field
	// refuses zero, so a new one is strict unless it says otherwise.
	zeroOK bool
}

// structInfo is the parsed tags of one struct type.
type structInfo struct {
	typ    reflect.Type
	fields []fieldInfo
	byName map[string]int
	names  []string // yaml keys in declaration order
}

var structInfos sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{typ: t, byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fi := fieldInfo{
			name: name, index: i, typ: sf.Type, goName: sf.Name,
			required:  sf.Tag.Get("required") == "true",
			omitempty: strings.Contains(opts, "omitempty"),
			doc:       sf.Tag.Get("doc"),
			example:   sf.Tag.Get("example"),
			zeroOK:    sf.Tag.Get("zero") == "allowed",
		}
		if e := sf.Tag.Get("enum"); e != "" {
			fi.enum = strings.Split(e, ",")
		} else {
			fi.enum = enumOf(elemType(sf.Type))
		}
		si.byName[name] = len(si.fields)
		si.fields = append(si.fields, fi)
		si.names = append(si.names, name)
	}
	v, _ := structInfos.LoadOrStore(t, si)
	return v.(*structInfo)
}

// elemType strips pointers and slices to the type a value is checked as.
func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// enumValues holds the allowed values of the format's enumerated types, for
// places that carry no enum tag (map keys and values). A test checks that
// every enum tag agrees with this table.
var enumValues = map[reflect.Type][]string{
	reflect.TypeFor[Mode]():              {"controller", "processor"},
	reflect.TypeFor[Jurisdiction]():      {"gdpr", "uk_gdpr", "ccpa"},
	reflect.TypeFor[IdentityKind]():      {"email", "phone", "external_id", "login"},
	reflect.TypeFor[Source]():            {"provided", "observed", "inferred", "third_party"},
	reflect.TypeFor[LegalBasis]():        {"consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"},
	reflect.TypeFor[RecipientRole]():     {"processor", "third_party", "joint_controller", "public_authority"},
	reflect.TypeFor[TransferMechanism](): {"adequacy", "dpf", "scc_2021_914", "uk_addendum", "uk_idta", "bcr", "derogation"},
	reflect.TypeFor[CookieCategory]():    {"necessary", "functional", "analytics", "advertising"},
	reflect.TypeFor[RetentionTrigger]():  {"collected", "last_activity", "contract_end", "account_closed"},
	reflect.TypeFor[RetentionAction]():   {"delete", "anonymise"},
	reflect.TypeFor[FeePolicy]():         {"free", "excessive_only"},
	reflect.TypeFor[VerificationLevel](): {"none", "email_code", "app_token", "manual"},
	reflect.TypeFor[RequestType](): func() []string {
		out := make([]string, len(RequestTypes))
		for i, r := range RequestTypes {
			out[i] = string(r)
		}
		return out
	}(),
}

func enumOf(t reflect.Type) []string { return enumValues[t] }

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	periodType          = reflect.TypeFor[Period]()
)

// position is where a path's key and value start in the source.
type position struct {
	line, col       int32
	keyLine, keyCol int32
	scalar          bool
}

// decoder accumulates every problem instead of stopping at the first.
type decoder struct {
	file string
	errs Errors
	pos  map[string]position
}

func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	d.errs = append(d.errs, Error{File: d.file, Line: n.Line, Col: n.Column, Path: path, Msg: msg})
}

func (d *decoder) record(path string, key, val *yaml.Node) {
	p := position{line: int32(val.Line), col: int32(val.Column), scalar: val.Kind == yaml.ScalarNode}
	if key != nil {
		p.keyLine, p.keyCol = int32(key.Line), int32(key.Column)
	}
	if p.line == 0 && key != nil { // an empty value: point at its key
		p.line, p.col = p.keyLine, p.keyCol
	}
	d.pos[path] = p
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value pairs)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return "the text " + quote(n.Value)
	}
	return "an unexpected node"
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// value decodes n into v and reports whether it succeeded, so callers do
// not pile a second complaint ("must not be empty") onto the first.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, enum []string) bool {
	if n.Kind == yaml.AliasNode {
		d.errAt(n, path, "aliases (*name) are not allowed in a policy; write the value out")
		return false
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode {
			d.errAt(n, path, "expected a text value, got %s", describe(n))
			return false
		}
		u := v.Addr().Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			d.errAt(n, path, "%s", err.Error())
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		if !d.value(n, nv.Elem(), path, enum) {
			return false
		}
		v.Set(nv)
		return true
	case reflect.Struct:
		return d.mapping(n, v, path, infoOf(t))
	case reflect.Slice:
		return d.sequence(n, v, path, enum)
	case reflect.Map:
		return d.mapValue(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errAt(n, path, "expected a text value, got %s", describe(n))
			return false
		}
		if enum == nil {
			enum = enumOf(t)
		}
		if enum != nil && !contains(enum, n.Value) {
			d.errAt(n, path, "%s", then(quote(n.Value)+" is not allowed"+didYouMean(n.Value, enum), "Allowed values: "+strings.Join(enum, ", ")+"."))
			return false
		}
		v.SetString(n.Value)
		return true
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errAt(n, path, "expected a whole number, got %s", describe(n))
			return false
		}
		var x int64
		if err := n.Decode(&x); err != nil || v.OverflowInt(x) {
			d.errAt(n, path, "number %s is out of range", n.Value)
			return false
		}
		v.SetInt(x)
		return true
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			hint := ""
			if n.Kind == yaml.ScalarNode {
				switch strings.ToLower(n.Value) {
				case "yes", "y", "on":
					hint = "; write true"
				case "no", "n", "off":
					hint = "; write false"
				}
			}
			d.errAt(n, path, "expected true or false, got %s%s", describe(n), hint)
			return false
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
		return true
	}
	d.errAt(n, path, "internal error: cannot decode into %s", t)
	return false
}

// zeroPeriodHints say, per key, what to write instead of a zero period.
var zeroPeriodHints = map[string]string{
	"Policy.backup_retention": "Backups keep deleted data until they expire: give the longest time a backup is kept, e.g. 30d or 90d.",
	"ConsentTerms.lifetime":   "Leave lifetime out for consent that lasts until it is withdrawn.",
	"Deadlines.respond":       "Leave it out to use the deadline the law sets.",
	"Deadlines.confirm":       "Leave it out to use the deadline the law sets.",
}

// zeroPeriodMessage refuses a zero-length period where the format does not
// allow one.
func zeroPeriodMessage(owner reflect.Type, key, written string) string {
	msg := fmt.Sprintf("a zero period (%s) is not allowed for %s: only a retention rule's duration may be 0d or immediately", quote(strings.TrimSpace(written)), key)
	if hint := zeroPeriodHints[owner.Name()+"."+key]; hint != "" {
		return then(msg, hint)
	}
	return msg
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, enum []string) bool {
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode {
			d.errAt(n, path, "expected a list, got a single value %s; write it as [%s] or as a \"- %s\" line", quote(n.Value), n.Value, n.Value)
		} else {
			d.errAt(n, path, "expected a list (lines starting with \"- \"), got %s", describe(n))
		}
		return false
	}
	sl := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	ok := true
	for i, item := range n.Content {
		p := joinIndex(path, i)
		d.record(p, nil, item)
		if isNull(item) {
			d.errAt(item, p, "empty list item")
			ok = false
			continue
		}
		if !d.value(item, sl.Index(i), p, enum) {
			ok = false
		}
	}
	v.Set(sl)
	return ok
}

// mapping decodes a YAML mapping into a struct: unknown and duplicate keys,
// values and missing required keys are all reported.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, si *structInfo) bool {
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "expected a mapping of keys (like \"name: value\"), got %s", describe(n))
		return false
	}
	seen := make([]*yaml.Node, len(si.fields))
	var unknownSeen map[string]*yaml.Node
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errAt(k, path, "keys must be plain names, got %s", describe(k))
			ok = false
			continue
		}
		if k.Tag == "!!merge" {
			d.errAt(k, path, "merge keys (<<) are not supported in a policy; write the keys out")
			ok = false
			continue
		}
		name := k.Value
		idx, known := si.byName[name]
		if !known {
			if prev, dup := unknownSeen[name]; dup {
				d.errAt(k, path, "duplicate key %s (first at line %d)", quote(name), prev.Line)
				continue
			}
			if unknownSeen == nil {
				unknownSeen = map[string]*yaml.Node{}
			}
			unknownSeen[name] = k
			msg := "unknown key " + quote(name) + didYouMean(name, si.names)
			if len(si.names) <= 10 {
				msg = then(msg, "Allowed keys: "+strings.Join(si.names, ", ")+".")
			}
			d.errAt(k, path, "%s", msg)
			ok = false
			continue
		}
		if prev := seen[idx]; prev != nil {
			d.errAt(k, path, "duplicate key %s (first at line %d)", quote(name), prev.Line)
			ok = false
			continue
		}
		seen[idx] = k
		f := &si.fields[idx]
		fp := joinKey(path, name)
		d.record(fp, k, val)
		if isNull(val) {
			if f.required {
				d.errAt(k, fp, "required key %s has no value", quote(name))
				ok = false
			}
			continue
		}
		fv := v.Field(f.index)
		if !d.value(val, fv, fp, f.enum) {
			ok = false
			continue
		}
		if f.typ == periodType && !f.zeroOK && fv.Interface().(Period).Immediate() {
			d.errAt(val, fp, "%s", zeroPeriodMessage(si.typ, name, val.Value))
			ok = false
			continue
		}
		if f.required {
			switch fv.Kind() {
			case reflect.String:
				if strings.TrimSpace(fv.String()) == "" {
					d.errAt(val, fp, "%s must not be empty", quote(name))
					ok = false
				}
			case reflect.Slice:
				if fv.Len() == 0 {
					d.errAt(val, fp, "%s must list at least one item", quote(name))
					ok = false
				}
			}
		}
	}
	var missing []string
	for i, f := range si.fields {
		if f.required && seen[i] == nil {
			missing = append(missing, f.name)
		}
	}
	for _, m := range missing {
		d.errAt(n, path, "missing required key %s", quote(m))
		ok = false
	}
	return ok
}

// mapValue decodes a mapping into a Go map whose keys and values are
// enumerated types (rights.verification).
func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "expected a mapping of keys (like \"name: value\"), got %s", describe(n))
		return false
	}
	t := v.Type()
	keyEnum, valEnum := enumOf(t.Key()), enumOf(t.Elem())
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.errAt(k, path, "keys must be plain names, got %s", describe(k))
			ok = false
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errAt(k, path, "duplicate key %s (first at line %d)", quote(k.Value), prev.Line)
			ok = false
			continue
		}
		seen[k.Value] = k
		fp := joinKey(path, k.Value)
		d.record(fp, k, val)
		if keyEnum != nil && !contains(keyEnum, k.Value) {
			d.errAt(k, path, "%s", then("unknown key "+quote(k.Value)+didYouMean(k.Value, keyEnum), "Allowed keys: "+strings.Join(keyEnum, ", ")+"."))
			ok = false
			continue
		}
		if isNull(val) {
			d.errAt(k, fp, "key %s has no value", quote(k.Value))
			ok = false
			continue
		}
		ev := reflect.New(t.Elem()).Elem()
		if !d.value(val, ev, fp, valEnum) {
			ok = false
			continue
		}
		kv := reflect.New(t.Key()).Elem()
		kv.SetString(k.Value)
		m.SetMapIndex(kv, ev)
	}
	v.Set(m)
	return ok
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[M ~map[K]V, K ~string, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
