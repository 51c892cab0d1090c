package policy

import "strings"

// index holds the maps built once when a policy is loaded, so that the
// lookups the decision engine makes on every read cost a map access.
type index struct {
	tax         *Taxonomy
	purposes    map[string]*Purpose
	fields      map[string]*Field
	collections map[string]*Collection
	recipients  map[string]*Recipient
	retention   map[string]*RetentionRule
	cookies     map[string]*Cookie
	categories  map[string]*Category
	using       map[string][]*Purpose // category -> purposes that may use it
	jur         map[Jurisdiction]bool
}

func buildIndex(p *Policy) *index {
	ix := &index{
		tax:         NewTaxonomy(p.Categories),
		purposes:    make(map[string]*Purpose, len(p.Purposes)),
		fields:      make(map[string]*Field, len(p.Fields)),
		collections: make(map[string]*Collection, len(p.Collections)),
		recipients:  make(map[string]*Recipient, len(p.Recipients)),
		retention:   make(map[string]*RetentionRule, len(p.Retention)),
		cookies:     make(map[string]*Cookie, len(p.Cookies)),
		categories:  make(map[string]*Category, len(p.Categories)),
		jur:         map[Jurisdiction]bool{},
	}
	// The first of two entries with one key wins; Validate reports the second.
	for i := range p.Purposes {
		putFirst(ix.purposes, p.Purposes[i].Key, &p.Purposes[i])
	}
	for i := range p.Fields {
		putFirst(ix.fields, p.Fields[i].Name, &p.Fields[i])
	}
	for i := range p.Collections {
		putFirst(ix.collections, p.Collections[i].Name, &p.Collections[i])
	}
	for i := range p.Recipients {
		putFirst(ix.recipients, p.Recipients[i].Key, &p.Recipients[i])
	}
	for i := range p.Retention {
		putFirst(ix.retention, p.Retention[i].Key, &p.Retention[i])
	}
	for i := range p.Cookies {
		putFirst(ix.cookies, p.Cookies[i].Name, &p.Cookies[i])
	}
	for i := range p.Categories {
		putFirst(ix.categories, p.Categories[i].Key, &p.Categories[i])
	}
	for _, j := range p.Jurisdictions {
		ix.jur[j] = true
	}
	// Precompute "which purposes may use category C" for every category a
	// field or collection holds and every category of the taxonomy.
	ix.using = map[string][]*Purpose{}
	add := func(cat string) {
		if _, done := ix.using[cat]; done || cat == "" {
			return
		}
		ix.using[cat] = ix.computeUsing(p, cat)
	}
	for _, f := range p.Fields {
		add(f.Category)
	}
	for _, c := range p.Collections {
		add(c.Category)
	}
	for _, k := range ix.tax.Keys() {
		add(k)
	}
	return ix
}

func putFirst[T any](m map[string]*T, k string, v *T) {
	if k == "" {
		return
	}
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func (ix *index) computeUsing(p *Policy, cat string) []*Purpose {
	var out []*Purpose
	seen := map[string]bool{}
	for i := range p.Purposes {
		pp := &p.Purposes[i]
		if seen[pp.Key] {
			continue
		}
		for _, c := range pp.Categories {
			if ix.tax.Covers(c, cat) {
				out = append(out, pp)
				seen[pp.Key] = true
				break
			}
		}
	}
	return out
}

// ix returns the index, building it for a Document made by hand.
func (d *Document) ix() *index {
	if d.idx == nil {
		p := d.Policy
		if p == nil {
			p = &Policy{}
		}
		return buildIndex(p)
	}
	return d.idx
}

// Pos returns where the element at path (e.g. purposes[2].legal_basis)
// starts in the source: the value for a scalar, the key for a mapping or
// list written under a key. An element that is not in the source (an
// optional key left out) is located at its nearest enclosing element.
// 0, 0 means the path is unknown.
func (d *Document) Pos(path string) (line, col int) {
	for {
		if p, ok := d.pos[path]; ok {
			if !p.scalar && p.keyLine > 0 {
				return int(p.keyLine), int(p.keyCol)
			}
			return int(p.line), int(p.col)
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

// KeyPos returns where the key of the element at path starts, or its value
// for a list item; like Pos it falls back to enclosing elements.
func (d *Document) KeyPos(path string) (line, col int) {
	for {
		if p, ok := d.pos[path]; ok {
			if p.keyLine > 0 {
				return int(p.keyLine), int(p.keyCol)
			}
			return int(p.line), int(p.col)
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

// parentPath strips the last key or index from a path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// Taxonomy returns the data categories this policy can use (built-in and
// custom).
func (d *Document) Taxonomy() *Taxonomy { return d.ix().tax }

// PurposeByKey returns the purpose with the key, or nil.
func (d *Document) PurposeByKey(key string) *Purpose { return d.ix().purposes[key] }

// FieldByName returns the declared field with the name, or nil. Only
// declared fields can be stored.
func (d *Document) FieldByName(name string) *Field { return d.ix().fields[name] }

// CollectionByName returns the declared collection with the name, or nil.
func (d *Document) CollectionByName(name string) *Collection { return d.ix().collections[name] }

// RecipientByKey returns the recipient with the key, or nil.
func (d *Document) RecipientByKey(key string) *Recipient { return d.ix().recipients[key] }

// RetentionByKey returns the retention rule with the key, or nil.
func (d *Document) RetentionByKey(key string) *RetentionRule { return d.ix().retention[key] }

// CookieByName returns the cookie with the name, or nil.
func (d *Document) CookieByName(name string) *Cookie { return d.ix().cookies[name] }

// CategoryByKey returns the custom category with the key, or nil; use
// Taxonomy().Lookup for built-in ones too.
func (d *Document) CategoryByKey(key string) *Category { return d.ix().categories[key] }

// RetentionFor returns the retention rule that governs a field or a
// collection (its own, else default_retention), or nil if name is neither
// or no rule applies. The retention sweeper calls it per stored value.
func (d *Document) RetentionFor(name string) *RetentionRule {
	ix := d.ix()
	key := ""
	if f := ix.fields[name]; f != nil {
		key = f.Retention
	} else if c := ix.collections[name]; c != nil {
		key = c.Retention
	} else {
		return nil
	}
	if key == "" && d.Policy != nil {
		key = d.Policy.DefaultRetention
	}
	return ix.retention[key]
}

// PurposesUsing returns the purposes whose categories cover the category,
// in policy order: the purposes for which data of that category may be
// read. The slice is shared: do not modify it.
func (d *Document) PurposesUsing(category string) []*Purpose {
	ix := d.ix()
	if ps, ok := ix.using[category]; ok {
		return ps
	}
	p := d.Policy
	if p == nil {
		return nil
	}
	return ix.computeUsing(p, category)
}

// MayUse reports whether the purpose's categories cover the category: the
// first question the decision engine asks about a read.
func (d *Document) MayUse(purposeKey, category string) bool {
	pp := d.ix().purposes[purposeKey]
	if pp == nil {
		return false
	}
	for _, c := range pp.Categories {
		if d.ix().tax.Covers(c, category) {
			return true
		}
	}
	return false
}

// IsSpecial reports whether the category is a GDPR Art. 9 special category
// in this policy's taxonomy.
func (d *Document) IsSpecial(category string) bool { return d.ix().tax.IsSpecial(category) }

// IsSensitive reports whether the category is CPRA sensitive personal
// information in this policy's taxonomy.
func (d *Document) IsSensitive(category string) bool { return d.ix().tax.IsSensitive(category) }

// Applies reports whether the policy names the jurisdiction.
func (d *Document) Applies(j Jurisdiction) bool { return d.ix().jur[j] }

// ThirdCountry reports whether sending data to the country is an
// international transfer that needs a safeguard (GDPR Chapter V): a country
// outside the EEA when the GDPR applies; when only the UK GDPR applies, a
// country other than the United Kingdom. With only the CCPA, nothing is a
// third country.
func (d *Document) ThirdCountry(country string) bool {
	return thirdCountry(d.ix().jur, country)
}

func thirdCountry(jur map[Jurisdiction]bool, country string) bool {
	switch {
	case jur[GDPR]:
		return !eeaCountries[country]
	case jur[UKGDPR]:
		return country != "GB"
	}
	return false
}

// RecipientsOf returns the recipients a purpose names, skipping unknown
// keys, in the purpose's order.
func (d *Document) RecipientsOf(purposeKey string) []*Recipient {
	ix := d.ix()
	pp := ix.purposes[purposeKey]
	if pp == nil {
		return nil
	}
	out := make([]*Recipient, 0, len(pp.Recipients))
	for _, k := range pp.Recipients {
		if r := ix.recipients[k]; r != nil {
			out = append(out, r)
		}
	}
	return out
}
