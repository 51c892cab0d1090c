package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// runCmd runs a command tree with args and returns stdout and the error.
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestRetentionAndBackupCommands drives the CLI on a stopped server's SQLite
// stores: the plan, an immediate sweep, a backup, an erasure, a restore into
// new stores that erases the person again, and pruning.
func TestRetentionAndBackupCommands(t *testing.T) {
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
	data := "sqlite:" + filepath.Join(dir, "live", "trustee.db")
	a, err := app.Open(ctx, app.Options{DB: data, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	tn, _, err := a.EnsureTenant(ctx, "door", "Door")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := examples.File("door-entry.yaml")
	if _, err := a.Tenants.Apply(ctx, tn.ID, "door-entry.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{ID: "cli", Role: "admin"}
	mk := func(email string, minor bool) string {
		c, err := a.Vault.Create(ctx, tn.ID, vault.CreateInput{Minor: minor, Fields: map[string]json.RawMessage{"email": json.RawMessage(`"` + email + `"`)}}, by)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	alice, bob := mk("alice@example.org", false), mk("bob@example.org", false)
	mk("kid@example.org", true) // door-entry flags children below 13
	a.Close()

	flags := []string{"--db", data, "--key-file", keyFile}
	out, err := runCmd(t, newRetentionCmd(), append([]string{"plan", "--days", "0"}, flags[:2]...)...)
	if err != nil || !strings.Contains(out, "account_closed") || !strings.Contains(out, "1 account(s) below the minimum age (13)") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out, err = runCmd(t, newRetentionCmd(), append([]string{"run"}, flags...)...)
	if err != nil || !strings.Contains(out, "door: 0 field(s) deleted") || !strings.Contains(out, "1 flagged") {
		t.Fatalf("run: %v\n%s", err, out)
	}

	backups := filepath.Join(dir, "backups")
	out, err = runCmd(t, newBackupCmd(), append([]string{"create", "--out", backups}, flags...)...)
	if err != nil || !strings.Contains(out, "1 tenant(s)") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	sets, _ := os.ReadDir(backups)
	if len(sets) != 1 {
		t.Fatalf("backup dir holds %d sets", len(sets))
	}
	set := filepath.Join(backups, sets[0].Name())

	// Erase alice after the backup.
	a, err = app.Open(ctx, app.Options{DB: data, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Vault.Erase(ctx, tn.ID, alice, by); err != nil {
		t.Fatal(err)
	}
	a.Close()

	// Restore into new stores, with the live ledger: alice is erased again.
	restored := "sqlite:" + filepath.Join(dir, "restored", "trustee.db")
	ledger := "sqlite:" + filepath.Join(dir, "live", "erasure-ledger.db")
	out, err = runCmd(t, newBackupCmd(), "restore", "--from", set, "--db", restored, "--ledger-db", ledger, "--key-file", keyFile, "--json")
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	var res struct {
		Reapplied struct{ Erased []string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Reapplied.Erased) != 1 || res.Reapplied.Erased[0] != alice {
		t.Fatalf("restore result: %v %s", err, out)
	}
	b, err := app.Open(ctx, app.Options{DB: restored, LedgerDB: ledger, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Vault.Lookup(ctx, tn.ID, "email", "alice@example.org", "account", by); err == nil {
		t.Error("alice is back after the restore")
	}
	if v, err := b.Vault.Lookup(ctx, tn.ID, "email", "bob@example.org", "account", by); err != nil || v.ID != bob {
		t.Errorf("bob after the restore: %v", err)
	}
	b.Close()
	// Running reapply again erases nobody new.
	out, err = runCmd(t, newBackupCmd(), "reapply-erasures", "--db", restored, "--ledger-db", ledger, "--key-file", keyFile)
	if err != nil || !strings.Contains(out, "3 subject(s) checked, 1 erased again") {
		t.Fatalf("reapply: %v\n%s", err, out)
	}

	// Prune by the policy's 90 days: nothing is old enough yet.
	out, err = runCmd(t, newBackupCmd(), "prune", "--dir", backups, "--db", data)
	if err != nil || !strings.Contains(out, "backup retention 90d (from the policy of tenant door)") || !strings.Contains(out, "0 snapshot(s) deleted, 2 kept") {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	if _, err := runCmd(t, newBackupCmd(), "prune", "--dir", backups, "--retention", "soon"); err == nil {
		t.Error("prune accepted a retention that is not a period")
	}
	out, err = runCmd(t, newBackupCmd(), "list", "--dir", backups, "--json")
	var listed []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 {
		t.Fatalf("list: %v\n%s", err, out)
	}
}
