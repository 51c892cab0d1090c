package policy

import (
	"strings"
	"testing"
)

// TestAnonymiseSettings: what anonymisation keeps of a collection is
// checked like every other part of the policy, each mistake at its
// position.
func TestAnonymiseSettings(t *testing.T) {
	rich := readFixture(t, "rich.yaml")
	const pv = "    retention: collected_13mo\n"
	cases := []struct {
		name  string
		edits []string
		frag  string
		warn  bool
	}{
		{"attribute not snake case", []string{pv, pv + "    anonymise:\n      keep: [⟪Country]\n"}, `attribute "Country" must be lower snake case`, false},
		{"attribute twice", []string{pv, pv + "    anonymise:\n      keep: [country, ⟪country]\n"}, `attribute "country" is kept twice`, false},
		{"too many attributes", []string{pv, pv + "    anonymise:\n      ⟪keep: [a1, a2, a3, a4, a5, a6, a7, a8, a9, b1, b2, b3, b4, b5, b6, b7, b8]\n"}, `keeps 17 attributes; keep at most 16`, false},
		{"unknown period", []string{pv, pv + "    anonymise:\n      generalise:\n        date: ⟪week\n"}, `week`, false},
		{"unused on a deleting rule", []string{"    retention: tax_5y\n    description: What", "    retention: tax_5y\n    ⟪anonymise:\n      keep: [country]\n    description: What"}, `collection "orders" says what anonymisation keeps, but its retention rule "tax_5y" deletes records`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, line, col := takeMarker(t, edit(t, rich, c.edits...))
			errs, warns := loadErrs(t, src)
			list := errs
			if c.warn {
				if len(errs) > 0 {
					t.Fatalf("want only warnings, got errors:%s", dump(errs))
				}
				list = warns
			}
			found := false
			for _, e := range list {
				if strings.Contains(e.Msg, c.frag) && e.Line == line && e.Col == col && e.Warning == c.warn {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %d:%d %q; got:%s\nwarnings:%s", line, col, c.frag, dump(errs), dump(warns))
			}
		})
	}
	// A valid setting loads and reaches the parsed collection.
	d := mustLoad(t, "ok", edit(t, rich, pv, pv+"    anonymise:\n      keep: [country, plan]\n      generalise:\n        date: year\n"))
	a := d.CollectionByName("page_views").Anonymise
	if strings.Join(a.Keep, ",") != "country,plan" || a.Generalise.Date != "year" {
		t.Fatalf("parsed %+v", a)
	}
	// Without the setting the policy hashes as before.
	if mustLoad(t, "a", rich).Hash == d.Hash {
		t.Error("the setting does not change the hash")
	}
}
