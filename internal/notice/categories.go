package notice

import (
	"github.com/trustee-privacy/trustee/internal/policy"
)

// taxonomyOf gives the categories a policy can use: the built-in fideslang
// taxonomy plus the policy's custom categories. Renderers build it once per
// call.
func taxonomyOf(p *policy.Policy) *policy.Taxonomy { return policy.NewTaxonomy(p.Categories) }

// categoryName gives the human name of a data category for the notice,
// from the taxonomy (custom categories included), or the key in words if
// the taxonomy does not know it.
func categoryName(tax *policy.Taxonomy, key string) string {
	if n := tax.Name(key); n != "" && n != key {
		return oneLine(n)
	}
	return humanise(key)
}

// categoryNames maps keys to names, dropping duplicates but keeping order.
func categoryNames(tax *policy.Taxonomy, keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		n := categoryName(tax, k)
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// coveredBy reports whether any of the categories covers key: a category
// covers itself and its sub-categories, by dotted key or through a custom
// category's declared parent.
func coveredBy(tax *policy.Taxonomy, cats []string, key string) bool {
	for _, c := range cats {
		if tax.Covers(c, key) {
			return true
		}
	}
	return false
}
