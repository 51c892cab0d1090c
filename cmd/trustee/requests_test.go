package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// TestRequestsCommands drives `trustee requests` on a stopped server's
// stores: list, show, extend, refuse, and approve's refusal of an
// unverified request.
func TestRequestsCommands(t *testing.T) {
	unsetEnv(t, keys.RootKeyEnv, "TRUSTEE_CONFIG", "TRUSTEE_KEY_FILE", "TRUSTEE_DB", "TRUSTEE_KEYS_DB", "TRUSTEE_LEDGER_DB")
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
	tn, _, err := a.EnsureTenant(ctx, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := examples.File("learning-saas.yaml")
	if _, err := a.Tenants.Apply(ctx, tn.ID, "learning-saas.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	p := synth.Nth(3)
	if _, err := a.Vault.Create(ctx, tn.ID, vault.CreateInput{Fields: p.LearningSaaSFields()}, vault.Actor{ID: "test"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, typ := range []string{"access", "erasure"} {
		c, err := a.Rights.Create(ctx, tn.ID, rights.Input{Type: typ, Identity: &rights.IdentityInput{Kind: "email", Value: p.Email}}, rights.Actor{ID: "test"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.Request.ID)
	}
	a.Close()
	flags := []string{"--db", dsn, "--key-file", keyFile, "--tenant", "acme"}
	cli := func(args ...string) (string, error) {
		t.Helper()
		return runCmd(t, newRequestsCmd(), append(args, flags...)...)
	}

	out, err := cli("list")
	if err != nil || !strings.Contains(out, ids[0]) || !strings.Contains(out, "erasure") || !strings.Contains(out, "verifying") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = cli("list", "--type", "erasure", "--json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["id"] != ids[1] {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if _, err := cli("approve", ids[0]); err == nil || !strings.Contains(err.Error(), "not been verified") {
		t.Fatalf("approve unverified: %v", err)
	}
	out, err = cli("extend", ids[0], "--by", "1mo", "--reason", "Archived mailboxes")
	if err != nil || !strings.Contains(out, "extended") {
		t.Fatalf("extend: %v\n%s", err, out)
	}
	if _, err := cli("extend", ids[0], "--by", "1mo", "--reason", "again"); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("second extend: %v", err)
	}
	out, err = cli("refuse", ids[1], "--reason", "identity_not_verified")
	if err != nil || !strings.Contains(out, "refused") {
		t.Fatalf("refuse: %v\n%s", err, out)
	}
	out, err = cli("show", ids[0])
	if err != nil || !strings.Contains(out, "Archived mailboxes") || !strings.Contains(out, "verifying -> in_progress") && !strings.Contains(out, "-> extended") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if strings.Contains(out, p.Email) {
		t.Fatal("show prints the email address")
	}
}
