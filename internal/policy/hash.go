package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
)

// Hash identifies the content of a policy: "sha256:" and the hex SHA-256 of
// its canonical JSON (see CanonicalJSON). It is semantic: comments,
// whitespace, key order, YAML versus JSON and spellings of the same value
// ("90 days" and "90d") do not change it, so consent records and notices
// can name the exact policy version they were given under.
func (p *Policy) Hash() string {
	sum := sha256.Sum256(p.CanonicalJSON())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CanonicalJSON is the policy as compact JSON with the format's key names,
// object keys sorted, values in their canonical form (periods as 90d,
// dates as YYYY-MM-DD) and empty values left out, so that equal policies
// give equal bytes. It is what Hash hashes.
func (p *Policy) CanonicalJSON() []byte {
	var b bytes.Buffer
	canonical(&b, reflect.ValueOf(p).Elem())
	return b.Bytes()
}

var textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()

// isEmptyValue reports whether a value adds nothing to a policy and is left
// out of the canonical form, the same way an absent key is.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return v.Int() == 0
	case reflect.Struct:
		if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
			return z.IsZero()
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && !isEmptyValue(v.Field(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero()
}

func canonicalString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // never fails for a string
	// json.Marshal escapes <, > and & for HTML; that is still canonical.
	b.Write(enc)
}

func canonical(b *bytes.Buffer, v reflect.Value) {
	if v.Type().Implements(textMarshalerType) {
		t, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		canonicalString(b, string(t))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		canonical(b, v.Elem())
	case reflect.Struct:
		si := infoOf(v.Type())
		type kv struct {
			k string
			v reflect.Value
		}
		var fs []kv
		for _, f := range si.fields {
			fv := v.Field(f.index)
			if isEmptyValue(fv) {
				continue
			}
			fs = append(fs, kv{f.name, fv})
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].k < fs[j].k })
		b.WriteByte('{')
		for i, f := range fs {
			if i > 0 {
				b.WriteByte(',')
			}
			canonicalString(b, f.k)
			b.WriteByte(':')
			canonical(b, f.v)
		}
		b.WriteByte('}')
	case reflect.Slice:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		vals := map[string]reflect.Value{}
		it := v.MapRange()
		for it.Next() {
			k := it.Key().String()
			keys = append(keys, k)
			vals[k] = it.Value()
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			canonicalString(b, k)
			b.WriteByte(':')
			canonical(b, vals[k])
		}
		b.WriteByte('}')
	case reflect.String:
		canonicalString(b, v.String())
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64, reflect.Int32:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	default:
		b.WriteString("null")
	}
}
