package policy

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// marker shows in test inputs where an error is expected; it is removed
// before loading and its line:column is the expected position.
const marker = "⟪"

var readFile = os.ReadFile

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit applies replacements to a base text, each old string must occur
// exactly once, so a case cannot silently edit nothing.
func edit(t testing.TB, base string, pairs ...string) string {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatal("edit needs old/new pairs")
	}
	for i := 0; i < len(pairs); i += 2 {
		if n := strings.Count(base, pairs[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times in the base", pairs[i], n)
		}
		base = strings.Replace(base, pairs[i], pairs[i+1], 1)
	}
	return base
}

// takeMarker removes the marker and returns its 1-based line and column.
func takeMarker(t testing.TB, src string) (string, int, int) {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatal("no marker in input")
	}
	before := src[:i]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:]) + 1
	return before + src[i+len(marker):], line, col
}

// loadErrs loads src and returns all errors and warnings it produces.
func loadErrs(t testing.TB, src string) (errs, warnings Errors) {
	t.Helper()
	doc, err := Load("p.yaml", []byte(src))
	if err != nil {
		es, ok := err.(Errors)
		if !ok {
			t.Fatalf("Load returned %T, want Errors", err)
		}
		// Also collect warnings for the test's benefit.
		d, perrs := Parse("p.yaml", []byte(src))
		_ = perrs
		if d.Policy != nil {
			_, warnings = Validate(d).Split()
		}
		return es, warnings
	}
	return nil, doc.Warnings
}

func dump(es Errors) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("\n\t" + e.Error())
	}
	return b.String()
}
