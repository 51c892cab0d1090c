package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// runKeys runs `trustee keys ARGS` and returns stdout, stderr and the error.
func runKeys(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newKeysCmd()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestKeysCommands: status, rotate (with KEKs), retire on SQLite stores, with
// the data still readable through every step.
func TestKeysCommands(t *testing.T) {
	unsetEnv(t, keys.RootKeyEnv, "TRUSTEE_CONFIG", "TRUSTEE_KEY_FILE", "TRUSTEE_DB")
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "root.key")
	if err := keys.WriteRootKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	dataDSN := "sqlite:" + filepath.Join(dir, "trustee.db")
	keysDSN := keys.DefaultKeyStoreDSN(dataDSN)
	if keysDSN != "sqlite:"+filepath.Join(dir, "keys.db") {
		t.Fatalf("DefaultKeyStoreDSN = %q", keysDSN)
	}
	flags := []string{"--key-file", keyFile, "--db", dataDSN}

	// Before the server ever ran there is no key store: say so, create nothing.
	if _, _, err := runKeys(t, append([]string{"status"}, flags...)...); err == nil || !strings.Contains(err.Error(), "no key store") {
		t.Fatalf("status without a key store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys.db")); err == nil {
		t.Fatal("status created a key store")
	}

	// A "server": a tenant in the data store, subjects in the key store.
	st, err := engines.Open(ctx, dataDSN, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{ID: store.NewID(), Slug: "acme", Name: "Acme", Mode: "controller"}
	if err := st.Write(ctx, func(tx store.Tx) error { return tx.CreateTenant(tn) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ks, err := engines.OpenKeyStore(ctx, keysDSN, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := keys.LoadRootKey(keyFile)
	m := keys.NewManager(root, ks, keys.ManagerOptions{})
	type sealed struct {
		subject string
		ct      []byte
	}
	var data []sealed
	for range 5 {
		s := store.NewID()
		dk, err := m.NewSubjectKey(ctx, tn.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := dk.Seal(keys.FieldAD(tn.ID, s, "email"), []byte(s))
		data = append(data, sealed{s, ct})
	}
	if err := m.Shred(ctx, tn.ID, data[0].subject); err != nil {
		t.Fatal(err)
	}
	data = data[1:]
	ks.Close()
	check := func(step string) {
		t.Helper()
		ks, err := engines.OpenKeyStore(ctx, keysDSN, engines.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer ks.Close()
		r, err := keys.LoadRootKey(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		m := keys.NewManager(r, ks, keys.ManagerOptions{})
		for _, d := range data {
			dk, err := m.SubjectKey(ctx, tn.ID, d.subject)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if got, err := dk.Open(keys.FieldAD(tn.ID, d.subject, "email"), d.ct); err != nil || string(got) != d.subject {
				t.Fatalf("%s: Open = %v", step, err)
			}
		}
	}

	out, _, err := runKeys(t, append([]string{"status"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"primary " + itoa(root.PrimaryKeyID()), "acme (" + tn.ID + ")", "kek", "index", "audit_signing", "v1: 4", "primary"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runKeys(t, append([]string{"rotate", "--kek", "--batch", "2"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"added", "re-wrapped 3 under root key", "KEK version 2", "re-wrapped 4 subject keys", "trustee keys retire"} {
		if !strings.Contains(out, want) {
			t.Errorf("rotate output lacks %q:\n%s", want, out)
		}
	}
	check("after rotate")
	if st, _ := os.Stat(keyFile); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	out, _, _ = runKeys(t, append([]string{"status"}, flags...)...)
	if !strings.Contains(out, "v2: 4") || strings.Contains(out, "unfinished") {
		t.Errorf("status after rotate:\n%s", out)
	}

	out, _, err = runKeys(t, append([]string{"rotate", "--resume", "--tenant", "acme"}, flags...)...)
	if err != nil || !strings.Contains(out, "re-wrapped 0 under") {
		t.Fatalf("resume = %v\n%s", err, out)
	}
	if _, _, err := runKeys(t, append([]string{"rotate", "--kek", "--tenant", "nope"}, flags...)...); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown tenant: %v", err)
	}

	out, _, err = runKeys(t, append([]string{"retire", "--grace", "0s"}, flags...)...)
	if err != nil || !strings.Contains(out, "Retired root key(s) ["+itoa(root.PrimaryKeyID())+"]") {
		t.Fatalf("retire = %v\n%s", err, out)
	}
	check("after retire")
	after, _ := keys.LoadRootKey(keyFile)
	if len(after.KeyIDs()) != 1 || after.Has(root.PrimaryKeyID()) {
		t.Fatalf("key ids after retire: %v", after.KeyIDs())
	}
	out, _, err = runKeys(t, append([]string{"retire"}, flags...)...)
	if err != nil || !strings.Contains(out, "Nothing to retire") {
		t.Fatalf("second retire = %v\n%s", err, out)
	}

	// Rotation needs a file.
	t.Setenv(keys.RootKeyEnv, "x")
	if _, _, err := runKeys(t, "rotate", "--db", dataDSN); err == nil || !strings.Contains(err.Error(), "--key-file") {
		t.Fatalf("rotate without a key file: %v", err)
	}
}

// TestKeysRetireRefuses: retire changes nothing while an old root key still
// wraps tenant keys.
func TestKeysRetireRefuses(t *testing.T) {
	unsetEnv(t, keys.RootKeyEnv, "TRUSTEE_CONFIG", "TRUSTEE_KEY_FILE", "TRUSTEE_DB")
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "root.key")
	if err := keys.WriteRootKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	keysDSN := "sqlite:" + filepath.Join(dir, "k.db")
	ks, err := engines.OpenKeyStore(ctx, keysDSN, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := keys.LoadRootKey(keyFile)
	if err := keys.NewManager(root, ks, keys.ManagerOptions{}).EnsureTenant(ctx, store.NewID()); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	if _, err := keys.AddRootKey(keyFile); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(keyFile)
	_, _, err = runKeys(t, "retire", "--key-file", keyFile, "--keys-db", keysDSN)
	if err == nil || !strings.Contains(err.Error(), "still wraps 3 tenant key(s)") {
		t.Fatalf("retire = %v", err)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
		t.Fatal("a refused retire changed the key file")
	}
	out, _, err := runKeys(t, "status", "--key-file", keyFile, "--keys-db", keysDSN)
	if err != nil || !strings.Contains(out, "old: re-wrap") {
		t.Fatalf("status = %v\n%s", err, out)
	}
}

func TestKeysHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"status", "--help"}, {"rotate", "--help"}, {"retire", "--help"}} {
		out, _, err := runKeys(t, args...)
		if err != nil || !strings.Contains(out, "Usage:") || len(out) < 300 {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

// unsetEnv removes variables for the test (restored after).
func unsetEnv(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
