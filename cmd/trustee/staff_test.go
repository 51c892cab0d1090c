package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// cliRun runs the CLI in process with stdin.
func cliRun(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestStaffCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "trustee.db")
	if _, _, err := cliRun(t, "", "tenant", "create", "acme", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := cliRun(t, "", "staff", "create", "--tenant", "acme", "--login", "Alice", "--role", "dpo", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	pw := regexp.MustCompile(`(?m)^([a-z0-9]{4}(-[a-z0-9]{4}){4})$`).FindString(out)
	if pw == "" || !strings.Contains(out, "alice (dpo)") || !strings.Contains(out, "/admin/acme/sign-in") {
		t.Fatalf("create output:\n%s", out)
	}
	if _, _, err := cliRun(t, "", "staff", "create", "--tenant", "acme", "--login", "alice", "--role", "admin", "--db", db); err == nil {
		t.Error("duplicate login accepted")
	}
	if _, _, err := cliRun(t, "", "staff", "create", "--tenant", "acme", "--login", "bob", "--role", "root", "--db", db); err == nil {
		t.Error("unknown role accepted")
	}
	out, _, err = cliRun(t, "a very long chosen passphrase\n", "staff", "create", "--tenant", "acme", "--login", "bob", "--role", "admin", "--password-stdin", "--db", db)
	if err != nil || strings.Contains(out, "a very long chosen passphrase") || strings.Contains(out, "One-time password") {
		t.Fatalf("stdin create: %v\n%s", err, out)
	}
	if _, _, err := cliRun(t, "short\n", "staff", "create", "--tenant", "acme", "--login", "carol", "--role", "admin", "--password-stdin", "--db", db); err == nil {
		t.Error("short stdin password accepted")
	}

	// The passwords work (checked through the service on the same store).
	ctx := context.Background()
	st, err := engines.Open(ctx, db, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &staff.Service{Store: st, Audit: audit.New(audit.Options{Shards: 1})}
	tenants, _ := newAdminApp(st, nil).tenants.BySlug(ctx, "acme")
	for login, p := range map[string]string{"alice": pw, "bob": "a very long chosen passphrase"} {
		s, err := svc.SignIn(ctx, staff.SignInInput{TenantID: tenants.ID, Login: login, Password: p, Network: "n"})
		if err != nil || !s.Account.MustChangePassword {
			t.Errorf("%s signs in: %+v %v", login, s.Account, err)
		}
	}
	st.Close()

	if _, _, err := cliRun(t, "", "staff", "disable", "--tenant", "acme", "--login", "alice", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err = cliRun(t, "", "staff", "list", "--tenant", "acme", "--db", db)
	if err != nil || !regexp.MustCompile(`alice\s+dpo\s+off\s+\S+\s+disabled`).MatchString(out) || !strings.Contains(out, "bob") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, _, err := cliRun(t, "", "staff", "disable", "--tenant", "acme", "--login", "nobody", "--db", db); err == nil {
		t.Error("disabling an unknown login succeeded")
	}
	out, _, err = cliRun(t, "", "staff", "reset-password", "--tenant", "acme", "--login", "bob", "--db", db)
	if err != nil || !regexp.MustCompile(`(?m)^[a-z0-9]{4}(-[a-z0-9]{4}){4}$`).MatchString(out) {
		t.Fatalf("reset-password: %v\n%s", err, out)
	}
	// Every change is in the tenant's audit log as the CLI.
	st, _ = engines.Open(ctx, db, engines.Options{})
	defer st.Close()
	page, err := audit.List(ctx, st, tenants.ID, audit.Filter{Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range page.Events {
		actions[e.Action] = true
	}
	for _, want := range []string{"staff.create", "staff.disable", "staff.password_reset"} {
		if !actions[want] {
			t.Errorf("no %s event: %v", want, actions)
		}
	}
}
