package web

import (
	"io/fs"
	"regexp"
	"testing"
)

func TestCatalogFallback(t *testing.T) {
	c := &catalog{langs: map[string]map[string]string{
		"en": {"a": "Hello %s", "b": "Only English"},
		"nb": {"a": "Hei %s"},
	}}
	for _, tc := range []struct{ lang, key, want string }{
		{"en", "a", "Hello Kari"},
		{"nb", "a", "Hei Kari"},
		{"nb-NO", "a", "Hei Kari"},   // primary language
		{"nb", "b", "Only English"},  // missing message: English
		{"et", "a", "Hello Kari"},    // missing language: English
		{"en", "missing", "missing"}, // missing everywhere: the key, visible in tests
	} {
		var got string
		if tc.key == "a" {
			got = c.text(tc.lang, tc.key, "Kari")
		} else {
			got = c.text(tc.lang, tc.key)
		}
		if got != tc.want {
			t.Errorf("%s/%s = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
	if !c.has("nb", "b") || c.has("nb", "zzz") {
		t.Error("has")
	}
}

// TestTemplatesUseKnownMessages: every message key a template asks for
// exists in the English catalogue, so no page shows a bare key.
func TestTemplatesUseKnownMessages(t *testing.T) {
	re := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := messages.langs["en"][m[1]]; !ok {
				t.Errorf("%s: message %q is not in i18n/en.json", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every template set parses and names a layout.
	for name, set := range mustTemplates().sets {
		if set.Lookup("layout") == nil || set.Lookup("content") == nil {
			t.Errorf("%s lacks layout or content", name)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/admin/acme/policy":          "/admin/acme/policy",
		"":                            "/admin/acme/",
		"https://evil.example/":       "/admin/acme/",
		"//evil.example/admin/acme/":  "/admin/acme/",
		"/admin/acme//evil.example":   "/admin/acme/",
		"/admin/beta/":                "/admin/acme/",
		"/admin/acme/x?y=1":           "/admin/acme/",
		"/admin/acme/\\evil.example/": "/admin/acme/",
	} {
		if got := safeNext(next, "acme"); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
