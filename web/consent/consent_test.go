package consent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSizeBudget fails when the banner outgrows its budget: it loads
// before anything else on every page of a site.
func TestSizeBudget(t *testing.T) {
	n := GzippedSize()
	t.Logf("banner: %d bytes gzipped (JS+CSS), budget %d", n, Budget)
	if n > Budget {
		t.Fatalf("consent.js + consent.css are %d bytes gzipped, over the %d-byte budget", n, Budget)
	}
	for _, a := range Assets() {
		if len(a.Body) == 0 || len(a.Gzip) == 0 || !strings.HasPrefix(a.ETag, `"`) {
			t.Errorf("asset %s: %d bytes, etag %s", a.Name, len(a.Body), a.ETag)
		}
	}
}

// TestScriptRules checks properties of the script a reviewer should not
// have to look for: no network other than Trustee's API, no eval, no
// innerHTML with configured text, Consent Mode defaults set before any
// fetch.
func TestScriptRules(t *testing.T) {
	b, _ := File("consent.js")
	js := string(b)
	for _, bad := range []string{"eval(", "innerHTML", "document.write", "new Function", "XMLHttpRequest"} {
		if strings.Contains(js, bad) {
			t.Errorf("consent.js uses %s", bad)
		}
	}
	def, fetch := strings.Index(js, `gtag("consent", "default"`), strings.Index(js, "fetch(")
	if def < 0 || fetch < 0 || def > fetch {
		t.Error(`consent.js must call gtag("consent", "default", ...) before any fetch`)
	}
	for _, signal := range []string{"ad_storage", "analytics_storage", "ad_user_data", "ad_personalization",
		"functionality_storage", "personalization_storage", "security_storage", "globalPrivacyControl", `role: "dialog"`, `"aria-modal": "true"`} {
		if !strings.Contains(js, signal) {
			t.Errorf("consent.js lacks %s", signal)
		}
	}
}

// TestScriptParses runs the script through Node's parser when Node is
// installed (it is not needed to build or serve the banner).
func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the browser test runs the script")
	}
	out, err := exec.Command(node, "--check", "consent.js").CombinedOutput()
	if err != nil {
		t.Fatalf("node --check consent.js: %v\n%s", err, out)
	}
}
