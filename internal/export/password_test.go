package export

import (
	"regexp"
	"testing"
)

// PDF passwords are five groups of four unambiguous symbols, and do not
// repeat.
func TestNewPassword(t *testing.T) {
	re := regexp.MustCompile(`^[` + passwordAlphabet + `]{4}(-[` + passwordAlphabet + `]{4}){4}$`)
	seen := map[string]bool{}
	for range 1000 {
		p := newPassword()
		if !re.MatchString(p) {
			t.Fatalf("password %q has the wrong shape", p)
		}
		if seen[p] {
			t.Fatalf("password %q repeated", p)
		}
		seen[p] = true
	}
}
