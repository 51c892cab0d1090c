package policy

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ChangeKind says whether something was added, removed or changed.
type ChangeKind string

// Change kinds.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one difference between two versions of a policy, for the
// "what changed" page of the notice, the console and the change email.
type Change struct {
	Kind ChangeKind
	// Area is what kind of thing changed: policy (top-level settings),
	// controller, jurisdiction, category, field, collection, purpose,
	// recipient, retention, cookie, site, rights or children.
	Area string
	// Key names the thing: a purpose key, a field name, a top-level key.
	Key string
	// Details say what changed, one fact each, e.g.
	// "legal_basis: contract → consent" or "categories added: user.name".
	Details []string
}

// ReconsentReason says why consents given for a purpose under the old
// policy do not cover the new one: consent must be specific and informed
// (GDPR Art. 4(11)), so a purpose that is new or does more needs to be
// asked again.
type ReconsentReason struct {
	Purpose string
	Reason  string
}

// DiffResult is everything that changed between two policies, and which
// consent-based purposes need fresh consent because of it.
type DiffResult struct {
	Changes   []Change
	Reconsent []ReconsentReason
}

// Empty reports whether the two policies are the same in content.
func (r DiffResult) Empty() bool { return len(r.Changes) == 0 }

// ReconsentPurposes returns the keys of the purposes that need fresh
// consent, each once, in policy order.
func (r DiffResult) ReconsentPurposes() []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range r.Reconsent {
		if !seen[x.Purpose] {
			seen[x.Purpose] = true
			out = append(out, x.Purpose)
		}
	}
	return out
}

// Text renders the differences for people: one line per change with its
// details indented under it, then a line saying whether existing consents
// must be asked again, and for which purposes.
func (r DiffResult) Text() string {
	var b strings.Builder
	if len(r.Changes) == 0 {
		b.WriteString("No changes.\n")
	}
	for _, c := range r.Changes {
		mark := map[ChangeKind]string{Added: "+", Removed: "-", Changed: "~"}[c.Kind]
		fmt.Fprintf(&b, "%s %s %s %s\n", mark, c.Area, strconv.Quote(c.Key), c.Kind)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	if len(r.Reconsent) == 0 {
		b.WriteString("Existing consents remain valid: no consent-based purpose was added or widened.\n")
		return b.String()
	}
	b.WriteString("Existing consents must be asked again for: ")
	byPurpose := map[string][]string{}
	for _, x := range r.Reconsent {
		byPurpose[x.Purpose] = append(byPurpose[x.Purpose], x.Reason)
	}
	for i, p := range r.ReconsentPurposes() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", p, strings.Join(byPurpose[p], ", "))
	}
	b.WriteString(".\n")
	return b.String()
}

// Diff compares two versions of a policy. Items are matched by their key
// or name, so a renamed purpose shows as one removed and one added.
func Diff(old, new *Policy) DiffResult {
	if old == nil {
		old = &Policy{}
	}
	if new == nil {
		new = &Policy{}
	}
	var r DiffResult
	r.topLevel(old, new)
	if ds := diffValues("", reflect.ValueOf(old.Controller), reflect.ValueOf(new.Controller)); len(ds) > 0 {
		r.Changes = append(r.Changes, Change{Kind: Changed, Area: "controller", Key: "controller", Details: ds})
	}
	added, removed := setDiff(stringsOf(old.Jurisdictions), stringsOf(new.Jurisdictions))
	for _, j := range added {
		r.Changes = append(r.Changes, Change{Kind: Added, Area: "jurisdiction", Key: j})
	}
	for _, j := range removed {
		r.Changes = append(r.Changes, Change{Kind: Removed, Area: "jurisdiction", Key: j})
	}
	diffList(&r, "category", old.Categories, new.Categories, func(c Category) string { return c.Key }, func(c Category) []string {
		return nonEmpty("name: "+c.Name, prefixed("parent: ", c.Parent), flagIf(c.Special, "special category (GDPR Art. 9)"), flagIf(c.Sensitive, "sensitive (CPRA)"))
	})
	diffList(&r, "field", old.Fields, new.Fields, func(f Field) string { return f.Name }, func(f Field) []string {
		return nonEmpty("category: "+f.Category, prefixed("identity: ", string(f.Identity)), prefixed("retention: ", f.Retention))
	})
	diffList(&r, "collection", old.Collections, new.Collections, func(c Collection) string { return c.Name }, func(c Collection) []string {
		return nonEmpty("category: "+c.Category, prefixed("retention: ", c.Retention))
	})
	diffList(&r, "purpose", old.Purposes, new.Purposes, func(p Purpose) string { return p.Key }, func(p Purpose) []string {
		return nonEmpty("legal_basis: "+string(p.LegalBasis), "categories: "+strings.Join(p.Categories, ", "),
			prefixed("recipients: ", strings.Join(p.Recipients, ", ")), flagIf(p.DirectMarketing, "direct marketing"),
			flagIf(p.SaleOrShare, "sale or sharing (CCPA)"), flagIf(p.AutomatedDecisions != nil, "automated decisions"))
	})
	diffList(&r, "recipient", old.Recipients, new.Recipients, func(x Recipient) string { return x.Key }, func(x Recipient) []string {
		return nonEmpty("role: "+string(x.Role), "country: "+x.Country, prefixed("transfer: ", string(x.Transfer)),
			"categories: "+strings.Join(x.Categories, ", "), flagIf(x.SaleOrShare, "sale or sharing (CCPA)"))
	})
	diffList(&r, "retention", old.Retention, new.Retention, func(x RetentionRule) string { return x.Key }, func(x RetentionRule) []string {
		return nonEmpty(fmt.Sprintf("%s from %s, then %s", x.Duration, x.Trigger, x.Action), prefixed("kept_by_law: ", x.KeptByLaw))
	})
	diffList(&r, "cookie", old.Cookies, new.Cookies, func(c Cookie) string { return c.Name }, func(c Cookie) []string {
		return nonEmpty("category: "+string(c.Category), "duration: "+c.Duration.String(), "provider: "+c.Provider)
	})
	diffList(&r, "site", old.Sites, new.Sites, func(x Site) string { return x.Key }, func(x Site) []string {
		return nonEmpty("origins: "+strings.Join(x.Origins, ", "), prefixed("notice_url: ", x.NoticeURL))
	})
	if ds := diffValues("", reflect.ValueOf(old.Rights), reflect.ValueOf(new.Rights)); len(ds) > 0 {
		r.Changes = append(r.Changes, Change{Kind: Changed, Area: "rights", Key: "rights", Details: ds})
	}
	if ds := diffValues("", reflect.ValueOf(old.Children), reflect.ValueOf(new.Children)); len(ds) > 0 {
		r.Changes = append(r.Changes, Change{Kind: Changed, Area: "children", Key: "children", Details: ds})
	}
	r.reconsent(old, new)
	return r
}

// topLevel compares the scalar and list settings at the top of the policy.
func (r *DiffResult) topLevel(old, new *Policy) {
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem()
	for _, f := range infoOf(ov.Type()).fields {
		t := f.typ
		if t.Kind() == reflect.Struct && !isTextType(t) {
			continue // controller, rights, children: compared on their own
		}
		if t.Kind() == reflect.Slice && elemType(t).Kind() == reflect.Struct {
			continue // keyed lists: compared item by item
		}
		if f.name == "jurisdictions" {
			continue
		}
		a, b := ov.Field(f.index), nv.Field(f.index)
		if ds := diffValue("", a, b); len(ds) > 0 {
			r.Changes = append(r.Changes, Change{Kind: Changed, Area: "policy", Key: f.name, Details: ds})
		}
	}
}

func isTextType(t reflect.Type) bool {
	return t.Implements(reflect.TypeFor[encoding.TextMarshaler]())
}

// diffList compares two keyed lists: added items with a summary, removed
// items, and changed items with every changed value.
func diffList[T any](r *DiffResult, area string, old, new []T, key func(T) string, summary func(T) []string) {
	oldBy := map[string]T{}
	for _, x := range old {
		if _, dup := oldBy[key(x)]; !dup {
			oldBy[key(x)] = x
		}
	}
	newBy := map[string]bool{}
	for _, x := range new {
		k := key(x)
		if newBy[k] {
			continue
		}
		newBy[k] = true
		o, ok := oldBy[k]
		if !ok {
			r.Changes = append(r.Changes, Change{Kind: Added, Area: area, Key: k, Details: summary(x)})
			continue
		}
		if ds := diffValues("", reflect.ValueOf(o), reflect.ValueOf(x)); len(ds) > 0 {
			r.Changes = append(r.Changes, Change{Kind: Changed, Area: area, Key: k, Details: ds})
		}
	}
	seen := map[string]bool{}
	for _, x := range old {
		k := key(x)
		if !newBy[k] && !seen[k] {
			seen[k] = true
			r.Changes = append(r.Changes, Change{Kind: Removed, Area: area, Key: k})
		}
	}
}

// diffValues lists the differences between two structs of one type, field
// by field, with dotted names for nested values.
func diffValues(prefix string, a, b reflect.Value) []string {
	var out []string
	for _, f := range infoOf(a.Type()).fields {
		out = append(out, diffValue(joinKey(prefix, f.name), a.Field(f.index), b.Field(f.index))...)
	}
	return out
}

func canonicalBytes(v reflect.Value) []byte {
	var b bytes.Buffer
	if isEmptyValue(v) {
		return nil
	}
	canonical(&b, v)
	return b.Bytes()
}

// diffValue describes how one value changed, or nothing if it did not.
func diffValue(name string, a, b reflect.Value) []string {
	if bytes.Equal(canonicalBytes(a), canonicalBytes(b)) {
		return nil
	}
	label := func(s string) string {
		if name == "" {
			return s
		}
		return name + ": " + s
	}
	t := a.Type()
	switch {
	case isTextType(t) || t.Kind() == reflect.String || t.Kind() == reflect.Bool || t.Kind() == reflect.Int:
		as, bs := show(a), show(b)
		if long(as) || long(bs) {
			return []string{label("text changed")}
		}
		return []string{label(as + " → " + bs)}
	case t.Kind() == reflect.Slice && (t.Elem().Kind() == reflect.String):
		added, removed := setDiff(sliceStrings(a), sliceStrings(b))
		var out []string
		if len(added) > 0 {
			out = append(out, name+" added: "+strings.Join(added, ", "))
		}
		if len(removed) > 0 {
			out = append(out, name+" removed: "+strings.Join(removed, ", "))
		}
		if len(out) == 0 {
			out = append(out, label("order changed"))
		}
		return out
	case t.Kind() == reflect.Pointer:
		switch {
		case a.IsNil():
			return []string{name + " added"}
		case b.IsNil():
			return []string{name + " removed"}
		}
		return diffValues(name, a.Elem(), b.Elem())
	case t.Kind() == reflect.Struct:
		return diffValues(name, a, b)
	case t.Kind() == reflect.Map:
		keys := map[string]bool{}
		for _, m := range []reflect.Value{a, b} {
			it := m.MapRange()
			for it.Next() {
				keys[it.Key().String()] = true
			}
		}
		var out []string
		for _, k := range sortedKeys(keys) {
			kv := reflect.New(t.Key()).Elem()
			kv.SetString(k)
			av, bv := a.MapIndex(kv), b.MapIndex(kv)
			as, bs := "(not set)", "(not set)"
			if av.IsValid() {
				as = show(av)
			}
			if bv.IsValid() {
				bs = show(bv)
			}
			if as != bs {
				out = append(out, joinKey(name, k)+": "+as+" → "+bs)
			}
		}
		return out
	}
	return []string{label("changed")}
}

func show(v reflect.Value) string {
	if isEmptyValue(v) && v.Kind() != reflect.Bool {
		return "(not set)"
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		t, _ := m.MarshalText()
		return string(t)
	}
	return fmt.Sprint(v.Interface())
}

func long(s string) bool { return len(s) > 60 || strings.Contains(s, "\n") }

func sliceStrings(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

func stringsOf[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// setDiff returns what is in b and not in a, and what is in a and not in b,
// in the order of b and a.
func setDiff(a, b []string) (added, removed []string) {
	as, bs := setOf(a...), setOf(b...)
	for _, x := range b {
		if !as[x] {
			added = append(added, x)
			as[x] = true
		}
	}
	for _, x := range a {
		if !bs[x] {
			removed = append(removed, x)
			bs[x] = true
		}
	}
	return added, removed
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" && !strings.HasSuffix(x, ": ") {
			out = append(out, x)
		}
	}
	return out
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func flagIf(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

// reconsent finds the consent-based purposes whose old consents do not
// cover what the new policy does.
func (r *DiffResult) reconsent(old, new *Policy) {
	tax := NewTaxonomy(append(append([]Category{}, new.Categories...), old.Categories...))
	oldP := map[string]*Purpose{}
	for i := range old.Purposes {
		if _, dup := oldP[old.Purposes[i].Key]; !dup {
			oldP[old.Purposes[i].Key] = &old.Purposes[i]
		}
	}
	recipients := func(p *Policy) map[string]*Recipient {
		m := map[string]*Recipient{}
		for i := range p.Recipients {
			if _, dup := m[p.Recipients[i].Key]; !dup {
				m[p.Recipients[i].Key] = &p.Recipients[i]
			}
		}
		return m
	}
	oldR, newR := recipients(old), recipients(new)
	done := map[string]bool{}
	for i := range new.Purposes {
		np := &new.Purposes[i]
		if np.LegalBasis != BasisConsent || done[np.Key] {
			continue
		}
		done[np.Key] = true
		add := func(reason string) {
			r.Reconsent = append(r.Reconsent, ReconsentReason{Purpose: np.Key, Reason: reason})
		}
		op := oldP[np.Key]
		switch {
		case op == nil:
			add("new purpose based on consent")
			continue
		case op.LegalBasis != BasisConsent:
			add(fmt.Sprintf("legal basis changed from %s to consent", op.LegalBasis))
			continue
		}
		var wider []string
		for _, c := range np.Categories {
			covered := false
			for _, oc := range op.Categories {
				if tax.Covers(oc, c) {
					covered = true
					break
				}
			}
			if !covered {
				wider = append(wider, c)
			}
		}
		if len(wider) > 0 {
			add("uses new categories: " + strings.Join(wider, ", "))
		}
		if added, _ := setDiff(op.Recipients, np.Recipients); len(added) > 0 {
			add("new recipients: " + strings.Join(added, ", "))
		}
		if np.SaleOrShare && !op.SaleOrShare {
			add("data is now sold or shared (CCPA)")
		}
		if np.DirectMarketing && !op.DirectMarketing {
			add("now used for direct marketing")
		}
		if np.AutomatedDecisions != nil && op.AutomatedDecisions == nil {
			add("now makes automated decisions")
		}
		for _, k := range np.Recipients {
			o, n := oldR[k], newR[k]
			if o == nil || n == nil || !contains(op.Recipients, k) {
				continue
			}
			if o.Country != n.Country {
				add(fmt.Sprintf("recipient %s moved from %s to %s", k, o.Country, n.Country))
			}
			if n.SaleOrShare && !o.SaleOrShare {
				add(fmt.Sprintf("recipient %s now buys or shares the data (CCPA)", k))
			}
		}
	}
}
