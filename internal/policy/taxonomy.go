package policy

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
)

// fideslangCSV is the default data-category taxonomy of fideslang
// (https://github.com/ethyca/fideslang), © Ethyca, Inc., licensed under
// CC BY 4.0. See taxonomy/README.md.
//
//go:embed taxonomy/fideslang_data_categories.csv
var fideslangCSV []byte

// TaxonomyAttribution is the credit the CC BY 4.0 licence of the built-in
// categories requires; notices and docs that list categories show it.
const TaxonomyAttribution = "Built-in data categories from the fideslang taxonomy, © Ethyca, Inc., " +
	"licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); " +
	"source: https://github.com/ethyca/fideslang. Trustee adds the special-category " +
	"(GDPR Art. 9) and sensitive (CPRA) markings."

// builtinSpecial are the built-in categories that are special categories of
// personal data under GDPR Art. 9(1); their sub-categories are too.
var builtinSpecial = []string{
	"user.health", // includes user.health.genetic
	"user.biometrics",
	"user.authorization.biometrics",
	"user.demographic.race_ethnicity",
	"user.demographic.political_opinion",
	"user.demographic.religious_belief",
	"user.demographic.philosophical_belief",
	"user.demographic.sexual_orientation",
	"user.demographic.union_membership",
}

// builtinSensitive are the built-in categories that are sensitive personal
// information under the CCPA as amended by the CPRA (Cal. Civ. Code
// 1798.140(ae)); their sub-categories are too.
var builtinSensitive = []string{
	"user.government_id",
	"user.authorization.credentials",
	"user.authorization.password",
	"user.authorization.biometrics",
	"user.financial.bank_account",
	"user.financial.credit_card",
	"user.location.precise",
	"user.demographic.race_ethnicity",
	"user.demographic.religious_belief",
	"user.demographic.philosophical_belief",
	"user.demographic.union_membership",
	"user.demographic.sexual_orientation",
	"user.demographic.citizenship_or_immigration_status",
	"user.content.private",
	"user.health",
	"user.biometrics",
}

// CategoryInfo describes one data category, built-in or custom. Special and
// Sensitive are effective values: a category inherits them from any
// ancestor, so user.health.genetic is special because user.health is.
type CategoryInfo struct {
	Key         string
	Name        string
	Description string
	// Parent is the declared parent of a custom category, or the dotted
	// prefix of a built-in one ("" for a root).
	Parent string
	// Special marks GDPR Art. 9 special categories.
	Special bool
	// Sensitive marks CPRA sensitive personal information.
	Sensitive bool
	// BuiltIn is true for fideslang categories, false for custom ones.
	BuiltIn bool
}

// Taxonomy is the set of data categories one policy can use: the built-in
// fideslang categories plus the policy's custom ones. It answers the
// questions the decision engine asks on every read ("does user.contact
// cover user.contact.email?"), so every answer is precomputed; a Taxonomy is
// immutable and safe for concurrent use.
type Taxonomy struct {
	cats      map[string]*CategoryInfo
	keys      []string
	ancestors map[string][]string
}

var builtinTaxonomy = mustBuiltin()

func mustBuiltin() *Taxonomy {
	cats, err := parseFideslang(fideslangCSV)
	if err != nil {
		// The CSV is embedded at build time and covered by tests; a
		// failure here is a build defect, not bad input.
		panic("policy: embedded taxonomy: " + err.Error())
	}
	return newTaxonomy(cats)
}

func parseFideslang(b []byte) ([]*CategoryInfo, error) {
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 || len(rows[0]) < 3 || rows[0][0] != "key" {
		return nil, fmt.Errorf("unexpected header %v", rows[0])
	}
	special := setOf(builtinSpecial...)
	sensitive := setOf(builtinSensitive...)
	var out []*CategoryInfo
	for _, row := range rows[1:] {
		k := strings.TrimSpace(row[0])
		parent := ""
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			parent = k[:i]
		}
		out = append(out, &CategoryInfo{
			Key: k, Name: strings.TrimSpace(row[1]), Description: strings.TrimSpace(row[2]),
			Parent: parent, BuiltIn: true, Special: special[k], Sensitive: sensitive[k],
		})
	}
	return out, nil
}

// BuiltinTaxonomy returns the fideslang categories alone, for tools that
// have no policy at hand (docs, the console's category picker).
func BuiltinTaxonomy() *Taxonomy { return builtinTaxonomy }

// NewTaxonomy combines the built-in categories with a policy's custom ones.
// It tolerates invalid input (unknown parents, cycles, redefinitions, which
// Validate reports) without looping or failing: a custom category never
// replaces a built-in one, and the first of two with one key wins.
func NewTaxonomy(custom []Category) *Taxonomy {
	if len(custom) == 0 {
		return builtinTaxonomy
	}
	cats := make([]*CategoryInfo, 0, len(builtinTaxonomy.keys)+len(custom))
	for _, k := range builtinTaxonomy.keys {
		c := *builtinTaxonomy.cats[k]
		cats = append(cats, &c)
	}
	for _, c := range custom {
		if c.Key == "" {
			continue
		}
		cats = append(cats, &CategoryInfo{
			Key: c.Key, Name: c.Name, Description: c.Description, Parent: c.Parent,
			Special: c.Special, Sensitive: c.Sensitive,
		})
	}
	return newTaxonomy(cats)
}

func newTaxonomy(list []*CategoryInfo) *Taxonomy {
	t := &Taxonomy{cats: make(map[string]*CategoryInfo, len(list)), ancestors: make(map[string][]string, len(list))}
	for _, c := range list {
		if _, dup := t.cats[c.Key]; dup {
			continue
		}
		t.cats[c.Key] = c
		t.keys = append(t.keys, c.Key)
	}
	sort.Strings(t.keys)
	for _, k := range t.keys {
		t.ancestors[k] = t.computeAncestors(k)
	}
	// Inherit Special and Sensitive from every ancestor. Work on copies of
	// the flags so the result does not depend on visiting order.
	special := make(map[string]bool, len(t.keys))
	sensitive := make(map[string]bool, len(t.keys))
	for _, k := range t.keys {
		c := t.cats[k]
		sp, se := c.Special, c.Sensitive
		for _, a := range t.ancestors[k] {
			if ac, ok := t.cats[a]; ok {
				sp = sp || ac.Special
				se = se || ac.Sensitive
			}
		}
		special[k], sensitive[k] = sp, se
	}
	for _, k := range t.keys {
		t.cats[k].Special, t.cats[k].Sensitive = special[k], sensitive[k]
	}
	return t
}

// computeAncestors lists every category that covers key: its dotted
// prefixes and, for custom categories, the declared parent and all of that
// parent's ancestors. Cycles are cut.
func (t *Taxonomy) computeAncestors(key string) []string {
	var out []string
	seen := map[string]bool{key: true}
	var walk func(k string, depth int)
	walk = func(k string, depth int) {
		if depth > 64 {
			return
		}
		add := func(a string) {
			if a == "" || seen[a] {
				return
			}
			seen[a] = true
			out = append(out, a)
			walk(a, depth+1)
		}
		for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
			add(k[:i])
		}
		if c, ok := t.cats[k]; ok && !c.BuiltIn {
			add(c.Parent)
		}
	}
	walk(key, 0)
	return out
}

// Lookup returns what is known about a category key.
func (t *Taxonomy) Lookup(key string) (CategoryInfo, bool) {
	c, ok := t.cats[key]
	if !ok {
		return CategoryInfo{}, false
	}
	return *c, true
}

// Has reports whether the key is a built-in or declared custom category.
func (t *Taxonomy) Has(key string) bool {
	_, ok := t.cats[key]
	return ok
}

// Name returns the human-readable name of a category for notices, or the
// key itself when it is unknown.
func (t *Taxonomy) Name(key string) string {
	if c, ok := t.cats[key]; ok && c.Name != "" {
		return c.Name
	}
	return key
}

// Keys returns every category key in sorted order. The slice is shared:
// do not modify it.
func (t *Taxonomy) Keys() []string { return t.keys }

// Ancestors returns the categories that cover key, nearest first. The slice
// is shared: do not modify it.
func (t *Taxonomy) Ancestors(key string) []string {
	if a, ok := t.ancestors[key]; ok {
		return a
	}
	return t.computeAncestors(key)
}

// Covers reports whether a purpose or recipient that names parent may use
// data of category child: the same key, a dotted prefix (user.contact
// covers user.contact.email), or a declared parent of a custom category.
func (t *Taxonomy) Covers(parent, child string) bool {
	if parent == child {
		return true
	}
	if parent == "" {
		return false
	}
	if a, ok := t.ancestors[child]; ok {
		for _, x := range a {
			if x == parent {
				return true
			}
		}
		return false
	}
	return len(child) > len(parent) && child[len(parent)] == '.' && strings.HasPrefix(child, parent)
}

// IsSpecial reports whether the category is a GDPR Art. 9 special category,
// itself or through an ancestor.
func (t *Taxonomy) IsSpecial(key string) bool {
	if c, ok := t.cats[key]; ok {
		return c.Special
	}
	for _, a := range t.Ancestors(key) {
		if c, ok := t.cats[a]; ok && c.Special {
			return true
		}
	}
	return false
}

// IsSensitive reports whether the category is CPRA sensitive personal
// information, itself or through an ancestor.
func (t *Taxonomy) IsSensitive(key string) bool {
	if c, ok := t.cats[key]; ok {
		return c.Sensitive
	}
	for _, a := range t.Ancestors(key) {
		if c, ok := t.cats[a]; ok && c.Sensitive {
			return true
		}
	}
	return false
}
