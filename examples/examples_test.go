package examples

import (
	"slices"
	"testing"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// TestExamplesLoad loads every shipped example with the real loader: an
// example that fails validation would make `trustee demo` fail on first
// run, and would teach the format wrongly.
func TestExamplesLoad(t *testing.T) {
	files := Files()
	if len(files) < 2 {
		t.Fatalf("expected at least 2 examples, got %d", len(files))
	}
	for name, src := range files {
		t.Run(name, func(t *testing.T) {
			doc, err := policy.Load(name, src)
			if err != nil {
				t.Fatalf("%s does not load:\n%v", name, err)
			}
			for _, w := range doc.Warnings {
				t.Logf("warning: %v", w)
			}
			p := doc.Policy
			if len(p.Purposes) == 0 || len(p.Retention) == 0 {
				t.Errorf("%s: no purposes or retention rules", name)
			}
		})
	}
}

// TestNamesAndFile checks the accessors the CLI uses.
func TestNamesAndFile(t *testing.T) {
	names := Names()
	for _, want := range []string{"door-entry", "learning-saas"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %q", names, want)
		}
		for _, n := range []string{want, want + ".yaml"} {
			if b, ok := File(n); !ok || len(b) == 0 {
				t.Errorf("File(%q) not found", n)
			}
		}
	}
	if _, ok := File("nope"); ok {
		t.Error(`File("nope") found something`)
	}
	if _, ok := File("../examples.go"); ok {
		t.Error("File must only return YAML examples")
	}
	b, _ := File("door-entry")
	b[0] = 'X'
	if c, _ := File("door-entry"); c[0] == 'X' {
		t.Error("File must return a copy")
	}
}

// TestExamplesShowFormatFeatures keeps the examples teaching the newer
// parts of the format: immediate deletion, short cookie lifetimes, the
// notice's scope and how to change cookie choices.
func TestExamplesShowFormatFeatures(t *testing.T) {
	load := func(name string) *policy.Policy {
		t.Helper()
		src, _ := File(name)
		doc, err := policy.Load(name+".yaml", src)
		if err != nil {
			t.Fatal(err)
		}
		return doc.Policy
	}
	door := load("door-entry")
	immediate := false
	for _, r := range door.Retention {
		if r.Trigger == policy.TriggerAccountClosed && r.Duration.Immediate() && r.Action == policy.ActionDelete {
			immediate = true
		}
	}
	if !immediate {
		t.Error("door-entry: the account rule must delete immediately (0d), as its notice promises")
	}
	saas := load("learning-saas")
	short := map[string]int{}
	for _, c := range saas.Cookies {
		if c.Duration.Minutes > 0 {
			short[c.Name] = c.Duration.Minutes
		}
	}
	if short["__cf_bm"] != 30 || short["lidc"] != 24*60 {
		t.Errorf("learning-saas: short-lived cookies %v, want __cf_bm 30min and lidc 24h", short)
	}
	for name, p := range map[string]*policy.Policy{"door-entry": door, "learning-saas": saas} {
		if p.Scope == "" {
			t.Errorf("%s: no scope", name)
		}
	}
	if saas.CookieSettings == "" {
		t.Error("learning-saas: no cookie_settings")
	}
}
