package policy

import (
	"strings"
	"testing"
)

func mustLoad(t testing.TB, name, src string) *Document {
	t.Helper()
	d, err := Load(name, []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func TestHashIsSemantic(t *testing.T) {
	base := readFixture(t, "minimal.yaml")
	h := mustLoad(t, "a", base).Hash
	same := []string{
		"# a comment\n" + base + "\n\n# trailing\n",
		strings.Replace(base, "backup_retention: 90d", "backup_retention: 90 days", 1),
		strings.Replace(base, "backup_retention: 90d", "backup_retention: P90D", 1),
		strings.Replace(base, "mode: controller\n", "", 1) + "mode: controller\n",
		strings.Replace(base, "jurisdictions: [gdpr]", "jurisdictions:\n  - gdpr", 1),
		strings.Replace(base, "  email: privacy@example.com", "  email: \"privacy@example.com\"", 1),
		strings.Replace(base, "default_retention: account_closed_30d", "default_retention: account_closed_30d\nsecurity:\nsources: []", 1),
	}
	for i, s := range same {
		if got := mustLoad(t, "b", s).Hash; got != h {
			t.Errorf("variant %d changed the hash", i)
		}
	}
	different := []string{
		strings.Replace(base, "backup_retention: 90d", "backup_retention: 3mo", 1),
		strings.Replace(base, "Providing the service", "Providing the service.", 1),
		strings.Replace(base, "jurisdictions: [gdpr]", "jurisdictions: [gdpr, ccpa]", 1),
	}
	for i, s := range different {
		if got := mustLoad(t, "c", s).Hash; got == h {
			t.Errorf("different policy %d has the same hash", i)
		}
	}
	// The hash is stable across builds: changing it invalidates stored
	// consent receipts' policy references, so it must be deliberate.
	const want = "sha256:dd9eae60acad696dfdae2282ace82a9b44c0d53ff29da1c6943effd414190b4c"
	if h != want {
		t.Errorf("hash of minimal.yaml = %s, want %s (did the canonical form change?)", h, want)
	}
}

func TestCanonicalJSONSortedAndCompact(t *testing.T) {
	d := mustLoad(t, "a", readFixture(t, "minimal.yaml"))
	got := string(d.Policy.CanonicalJSON())
	if !strings.HasPrefix(got, `{"backup_retention":"90d","controller":{"address":`) || strings.Contains(got, "\n") || strings.Contains(got, `"effective_date"`) {
		t.Errorf("canonical JSON = %s", got)
	}
}
