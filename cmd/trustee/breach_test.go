package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// breachCLI runs the CLI as main would and returns the exit code, stdout
// and stderr.
func breachCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// breachStores prepares stopped-server stores: tenants acme (with the
// learning-saas policy and two people, the second without an email) and
// beta. It returns the flags naming them and the two subject ids.
func breachStores(t *testing.T) ([]string, []string) {
	t.Helper()
	unsetEnv(t, keys.RootKeyEnv, "TRUSTEE_CONFIG", "TRUSTEE_KEY_FILE", "TRUSTEE_DB")
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "root.key")
	if err := keys.WriteRootKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	root, err := keys.LoadRootKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "trustee.db")
	a, err := app.Open(ctx, app.Options{DB: dsn, Root: root, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	src, _ := examples.File("learning-saas.yaml")
	var subjects []string
	for _, slug := range []string{"acme", "beta"} {
		tn, _, err := a.EnsureTenant(ctx, slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		if slug != "acme" {
			continue
		}
		if _, err := a.Tenants.Apply(ctx, tn.ID, "learning-saas.yaml", src, "test"); err != nil {
			t.Fatal(err)
		}
		by := vault.Actor{ID: "apikey:service", Role: "service"}
		for n := range 2 {
			c, err := a.Vault.Create(ctx, tn.ID, vault.CreateInput{Fields: synth.Nth(n).LearningSaaSFields()}, by)
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				if err := a.Vault.DeleteField(ctx, tn.ID, c.ID, "email", by); err != nil {
					t.Fatal(err)
				}
			}
			subjects = append(subjects, c.ID)
		}
	}
	return []string{"--db", dsn, "--key-file", keyFile}, subjects
}

// TestBreachCLI walks a breach through the whole workflow from the command
// line, with the mistakes a user would make on the way.
func TestBreachCLI(t *testing.T) {
	flags, subjects := breachStores(t)
	acme := append([]string{"--tenant", "acme"}, flags...)
	dir := t.TempDir()
	incident := filepath.Join(dir, "incident.yaml")
	os.WriteFile(incident, []byte(`title: Support laptop stolen
nature: An unencrypted laptop with a CSV export of support tickets was stolen.
detected_at: 2020-03-01T09:30:00Z
categories: [user.contact.email]
scope:
  subject_ids: [`+subjects[0]+`, `+subjects[1]+`]
consequences: Phishing emails.
measures: Passwords reset.
`), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("title: x\nnatur: typo\n"), 0o600)
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"title": "x", "detected_at": "yesterday"}`), 0o600)

	fail := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := breachCLI(t, append([]string{"breach"}, args...)...)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("%v: want exit 1 with %q, got %d\n%s%s", args, want, code, out, errOut)
		}
	}
	ok := func(want string, args ...string) string {
		t.Helper()
		code, out, errOut := breachCLI(t, append([]string{"breach"}, args...)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%v: want exit 0 with %q, got %d\n%s%s", args, want, code, out, errOut)
		}
		return out
	}

	// Mistakes change nothing and say what is wrong.
	fail("2 tenants: name one with --tenant", append([]string{"create", "--file", incident}, flags...)...)
	fail("no tenant \"nope\"", append([]string{"list", "--tenant", "nope"}, flags...)...)
	fail("field natur not found", append([]string{"create", "--file", bad}, acme...)...)
	fail("bad.json", append([]string{"create", "--file", badJSON}, acme...)...)
	fail("describe the breach with --file or flags", append([]string{"create"}, acme...)...)
	fail("nature: is required", append([]string{"create", "--title", "x", "--detected-at", "2020-01-01T00:00:00Z"}, acme...)...)
	fail("--detected-at: \"monday\" is not an RFC 3339 time", append([]string{"create", "--title", "x", "--detected-at", "monday"}, acme...)...)
	fail("categories[0]: is not a data category of the policy",
		append([]string{"create", "--title", "x", "--nature", "y", "--detected-at", "2020-01-01T00:00:00Z", "--category", "user.nonsense"}, acme...)...)
	fail("needs the breach id", append([]string{"show"}, acme...)...)
	ok("no breaches recorded", append([]string{"list"}, acme...)...)

	out := ok("recorded breach", append([]string{"create", "--file", incident, "--title", "Laptop stolen"}, acme...)...)
	id := regexp.MustCompile(`[0-9a-f-]{36}`).FindString(out)
	if id == "" {
		t.Fatalf("no id in %q", out)
	}
	ok("OVERDUE", append([]string{"list"}, acme...)...)
	ok("Laptop stolen", append([]string{"list"}, acme...)...)
	ok("no breaches recorded", append([]string{"list", "--tenant", "beta"}, flags...)...)
	fail("no such breach", append([]string{"show", id, "--tenant", "beta"}, flags...)...)
	ok("suggested risk", append([]string{"show", id}, acme...)...)
	ok("updated breach", append([]string{"update", id, "--measures", "Passwords reset; laptop wiped remotely."}, acme...)...)
	out = ok("Passwords reset; laptop wiped", append([]string{"show", id, "--json"}, acme...)...)
	var shown struct{ Title string }
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Title != "Laptop stolen" {
		t.Fatalf("show --json: %v %q", err, out)
	}

	ok("computed: 2 subject(s) affected", append([]string{"affected", id, "--compute"}, acme...)...)
	ok(subjects[1], append([]string{"affected", id, "--state", "pending"}, acme...)...)
	fail("not possible now: people are notified of a breach the DPO assessed as high risk", append([]string{"notify", id}, acme...)...)
	fail("reason: is required to override the suggested risk level risk", append([]string{"assess", id, "--risk", "high"}, acme...)...)
	ok("risk high (suggested risk)", append([]string{"assess", id, "--risk", "high", "--reason", "phishing of students"}, acme...)...)
	fail("delay_reason: is required", append([]string{"authority-notified", id}, acme...)...)
	ok("(late)", append([]string{"authority-notified", id, "--reference", "ICO-1", "--delay-reason", "found late"}, acme...)...)
	ok("1 notice(s) queued, 1 person(s) unreachable", append([]string{"notify", id}, acme...)...)
	ok("0 notice(s) queued", append([]string{"notify", id}, acme...)...)
	ok("Reasons for the delay", append([]string{"document", id}, acme...)...)
	docFile := filepath.Join(dir, "n.json")
	breachCLI(t, append([]string{"breach", "document", id, "--format", "json", "--out", docFile}, acme...)...)
	var doc struct {
		Reference string `json:"authority_reference"`
		Approx    int64  `json:"approx_subjects"`
	}
	if raw, err := os.ReadFile(docFile); err != nil || json.Unmarshal(raw, &doc) != nil || doc.Reference != "ICO-1" || doc.Approx != 2 {
		t.Fatalf("document json: %v %+v", err, doc)
	}
	fail("--format must be md or json", append([]string{"document", id, "--format", "pdf"}, acme...)...)
	ok("closed", append([]string{"close", id, "--note", "done"}, acme...)...)
	fail("not possible now: the breach is closed", append([]string{"update", id, "--title", "again"}, acme...)...)
}

// TestBreachHelp: every command explains itself with an example.
func TestBreachHelp(t *testing.T) {
	for _, c := range []string{"list", "show", "create", "update", "affected", "assess", "authority-notified", "notify", "close", "document"} {
		code, out, _ := breachCLI(t, "breach", c, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "trustee breach "+c) || !strings.Contains(out, "--tenant") {
			t.Errorf("breach %s --help: %d\n%s", c, code, out)
		}
	}
}

// FuzzBreachIncident: the incident file decoder never panics and either
// fails or returns a value that survives a JSON round trip.
func FuzzBreachIncident(f *testing.F) {
	f.Add([]byte("title: x\nnature: y\ndetected_at: 2020-01-01T00:00:00Z\nscope:\n  subject_ids: [a]\n"), "i.yaml")
	f.Add([]byte(`{"title":"x","scope":{"from":"2020-01-01T00:00:00Z"}}`), "i.json")
	f.Add([]byte("- 1\n- 2"), "i.yml")
	f.Add([]byte("{"), "x")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		in, err := parseIncident(data, name)
		if err != nil {
			return
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("decoded input does not marshal: %v", err)
		}
	})
}
