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

// TestHashStableForExistingPolicies pins the hash of the rich fixture too:
// format additions (zero-length retention, cookie clock times, scope,
// cookie_settings) must not change the hash of a policy that uses none of
// them.
func TestHashStableForExistingPolicies(t *testing.T) {
	const want = "sha256:959e51a74e07fd011032e62aa9523bbebeff706c3b184a40cd21d1bff2c6beba"
	if h := mustLoad(t, "rich", readFixture(t, "rich.yaml")).Hash; h != want {
		t.Errorf("hash of rich.yaml = %s, want %s (did the canonical form change?)", h, want)
	}
}

// TestHashZeroAndShortDurations checks that the spellings of a zero-length
// retention and of a cookie clock time hash alike, that they differ from
// their neighbours, and that they survive the YAML and JSON round trips.
func TestHashZeroAndShortDurations(t *testing.T) {
	base := readFixture(t, "minimal.yaml")
	withZero := func(d string) string { return strings.Replace(base, "    duration: 30d", "    duration: "+d, 1) }
	zero := mustLoad(t, "z", withZero("0d"))
	for _, d := range []string{"0 days", "immediately", "IMMEDIATELY", "P0D", "0y", "000d"} {
		if h := mustLoad(t, d, withZero(d)).Hash; h != zero.Hash {
			t.Errorf("%q hashes differently from 0d", d)
		}
	}
	if h := mustLoad(t, "1d", withZero("1d")).Hash; h == zero.Hash {
		t.Error("0d and 1d hash alike")
	}
	if !strings.Contains(string(zero.Policy.CanonicalJSON()), `"duration":"0d"`) {
		t.Errorf("canonical JSON lacks the zero duration: %s", zero.Policy.CanonicalJSON())
	}

	withCookie := func(d string) string {
		return base + "cookies:\n  - name: c\n    provider: us\n    category: necessary\n    duration: " + d + "\n    purpose: x\n"
	}
	hour := mustLoad(t, "1h", withCookie("1h"))
	for _, d := range []string{"60min", "60 minutes", "1 hour", "1 HR"} {
		if h := mustLoad(t, d, withCookie(d)).Hash; h != hour.Hash {
			t.Errorf("%q hashes differently from 1h", d)
		}
	}
	for _, d := range []string{"1d", "2h", "59min"} {
		if h := mustLoad(t, d, withCookie(d)).Hash; h == hour.Hash {
			t.Errorf("%q hashes like 1h", d)
		}
	}

	src := withCookie("30min") + "scope: Our website and app.\ncookie_settings: Use the link.\n"
	src = strings.Replace(src, "    duration: 30d", "    duration: immediately", 1)
	doc := mustLoad(t, "all", src)
	y, err := MarshalYAML(doc.Policy)
	if err != nil {
		t.Fatal(err)
	}
	j, err := MarshalJSON(doc.Policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"duration: 0d", "duration: 30min", "scope: Our website and app.", "cookie_settings: Use the link."} {
		if !strings.Contains(string(y), want) {
			t.Errorf("YAML lacks %q:\n%s", want, y)
		}
	}
	for _, want := range []string{`"duration": "0d"`, `"duration": "30min"`, `"scope": "Our website and app."`, `"cookie_settings": "Use the link."`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("JSON lacks %q:\n%s", want, j)
		}
	}
	for name, b := range map[string][]byte{"yaml": y, "json": j} {
		if again := mustLoad(t, name, string(b)); again.Hash != doc.Hash {
			t.Errorf("%s round trip changed the hash", name)
		}
	}
	if d := Diff(doc.Policy, mustLoad(t, "again", string(y)).Policy); !d.Empty() {
		t.Errorf("diff after round trip: %s", d.Text())
	}
}

func TestCanonicalJSONSortedAndCompact(t *testing.T) {
	d := mustLoad(t, "a", readFixture(t, "minimal.yaml"))
	got := string(d.Policy.CanonicalJSON())
	if !strings.HasPrefix(got, `{"backup_retention":"90d","controller":{"address":`) || strings.Contains(got, "\n") || strings.Contains(got, `"effective_date"`) {
		t.Errorf("canonical JSON = %s", got)
	}
}
