package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// runAudit runs `trustee audit ARGS` in process and returns the exit code
// main would give, stdout and stderr.
func runAudit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := &cobra.Command{Use: "trustee", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newAuditCmd())
	root.SetArgs(append([]string{"audit"}, args...))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			errOut.WriteString(ee.msg + "\n")
		} else {
			errOut.WriteString(err.Error() + "\n")
		}
	}
	return code, out.String(), errOut.String()
}

// auditStore fills a store at dsn with two tenants' logs, a checkpoint for
// acme, and closes it, as a stopped server leaves it. It returns acme's
// audit key.
func auditStore(t *testing.T, dsn string) (ed25519.PrivateKey, string) {
	t.Helper()
	ctx := context.Background()
	st, err := engines.Open(ctx, dsn, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := audit.New(audit.Options{Shards: 1})
	subject := store.NewID()
	ids := map[string]string{}
	for _, slug := range []string{"acme", "beta"} {
		tn := store.Tenant{ID: store.NewID(), Slug: slug, Name: slug, Mode: "controller"}
		if err := st.Write(ctx, func(tx store.Tx) error { return tx.CreateTenant(tn) }); err != nil {
			t.Fatal(err)
		}
		ids[slug] = tn.ID
		for i := range 5 {
			e := audit.Event{Actor: "apikey:k1", Role: "agent", Action: "subject.read", SubjectID: subject, Purpose: "support",
				Outcome: audit.OutcomeOK, Fields: []string{"email"}, At: time.Date(2025, 3, 1, 10, i, 0, 0, time.UTC)}
			if i == 4 {
				e.SubjectID, e.Action = "", "policy.apply"
			}
			if err := l.Record(ctx, st, tn.ID, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	if err := audit.Checkpoint(ctx, st, ids["acme"], priv); err != nil {
		t.Fatal(err)
	}
	return priv, subject
}

func TestAuditCLI(t *testing.T) {
	for _, e := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "data.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresSchemaDSN(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.dsn(t)
			priv, subject := auditStore(t, dsn)
			dir := t.TempDir()
			der, _ := x509.MarshalPKIXPublicKey(priv.Public())
			pemFile := filepath.Join(dir, "acme.pem")
			hexFile := filepath.Join(dir, "acme.hex")
			os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
			os.WriteFile(hexFile, []byte(hex.EncodeToString(priv.Public().(ed25519.PublicKey))+"\n"), 0o600)
			_, other, _ := ed25519.GenerateKey(nil)
			otherFile := filepath.Join(dir, "other.hex")
			os.WriteFile(otherFile, []byte(hex.EncodeToString(other.Public().(ed25519.PublicKey))), 0o600)

			code, out, errOut := runAudit(t, "verify", "--db", dsn)
			if code != 0 || !strings.Contains(out, "acme: intact: 6 event(s) in 1 shard(s); 1 checkpoint(s), signatures not checked") ||
				!strings.Contains(out, "beta: intact: 5 event(s)") {
				t.Fatalf("verify: %d\n%s%s", code, out, errOut)
			}
			for _, f := range []string{pemFile, hexFile} {
				code, out, errOut = runAudit(t, "verify", "--db", dsn, "--tenant", "acme", "--public-key", f)
				if code != 0 || !strings.Contains(out, "signatures checked") || strings.Contains(out, "beta") {
					t.Fatalf("verify with %s: %d\n%s%s", f, code, out, errOut)
				}
			}
			code, out, _ = runAudit(t, "verify", "--db", dsn, "--tenant", "acme", "--public-key", otherFile)
			if code != 1 || !strings.Contains(out, "acme: BROKEN: bad_checkpoint_signature (checkpoint 1)") {
				t.Fatalf("verify with another key: %d\n%s", code, out)
			}
			code, out, _ = runAudit(t, "verify", "--db", dsn, "--keys-db", "sqlite:"+filepath.Join(dir, "keys.db"), "--key-file", filepath.Join(dir, "root.key"))
			if openAuditKeys == nil && (code != 0 || !strings.Contains(out, "signatures not checked: this build cannot read audit keys")) {
				t.Fatalf("verify with --keys-db before the key store is wired: %d\n%s", code, out)
			}

			// Tampering with the stopped server's database.
			tamperSQL(t, dsn, `UPDATE audit_events SET purpose = 'marketing' WHERE seq = 2 AND tenant_id = (SELECT id FROM tenants WHERE slug = 'beta')`)
			code, out, errOut = runAudit(t, "verify", "--db", dsn)
			if code != 1 || !strings.Contains(out, "beta: BROKEN: hash_mismatch at shard 0, seq 2") || !strings.Contains(out, "acme: intact") ||
				!strings.Contains(errOut, "1 of 2 audit log(s) broken") {
				t.Fatalf("verify after tampering: %d\n%s%s", code, out, errOut)
			}
			code, out, _ = runAudit(t, "verify", "--db", dsn, "--json")
			var reports []verifyReportJSON
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var r verifyReportJSON
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("not JSON lines: %v\n%s", err, out)
				}
				reports = append(reports, r)
			}
			if code != 1 || len(reports) != 2 || reports[1].Tenant != "beta" || reports[1].Intact || reports[1].Break.Kind != "hash_mismatch" ||
				*reports[1].Break.Shard != 0 || reports[1].Break.Seq != 2 {
				t.Fatalf("verify --json: %d %+v", code, reports)
			}

			// list
			code, out, errOut = runAudit(t, "list", "--db", dsn, "--tenant", "acme", "--subject", subject)
			if code != 0 || strings.Count(out, "subject.read") != 4 || !strings.HasPrefix(out, "TIME") || strings.Contains(out, "policy.apply") {
				t.Fatalf("list --subject: %d\n%s%s", code, out, errOut)
			}
			code, out, _ = runAudit(t, "list", "--db", dsn, "--tenant", "acme", "--limit", "2", "--json", "--since", "2025-03-01T10:01:00Z")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var first eventJSON
			if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Action != audit.ActionCheckpoint {
				t.Fatalf("list --json --limit 2: %d\n%s", code, out)
			}
		})
	}
}

func TestAuditCLIErrors(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "data.db")
	auditStore(t, dsn)
	missing := filepath.Join(dir, "nope", "data.db")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", "--db", "sqlite:" + missing}, 2, "no such file"},
		{[]string{"verify", "--db", dsn, "--public-key", "x"}, 2, "give --tenant too"},
		{[]string{"verify", "--db", dsn, "--keys-db", "sqlite:k.db"}, 2, "go together"},
		{[]string{"verify", "--db", dsn, "--tenant", "gamma"}, 2, `no tenant "gamma"`},
		{[]string{"verify", "--db", dsn, "--tenant", "acme", "--public-key", filepath.Join(dir, "none.pem")}, 2, "public key"},
		{[]string{"list", "--db", dsn}, 1, `"tenant" not set`},
		{[]string{"list", "--db", dsn, "--tenant", "acme", "--since", "yesterday"}, 1, "RFC 3339"},
		{[]string{"list", "--db", dsn, "--tenant", "acme", "--limit", "0"}, 1, "--limit"},
	}
	for _, c := range cases {
		code, out, errOut := runAudit(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("verify created the missing store")
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if code, _, errOut := runAudit(t, "verify", "--db", dsn, "--tenant", "acme", "--public-key", bad); code != 2 || !strings.Contains(errOut, "not an Ed25519 public key") {
		t.Errorf("bad key file: %d %s", code, errOut)
	}
}

// tamperSQL runs q on the database at dsn with a plain connection.
func tamperSQL(t *testing.T, dsn, q string) {
	t.Helper()
	db, err := engines.OpenDB(context.Background(), dsn, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw *sql.DB
	switch d := db.(type) {
	case interface{ SQL() *sql.DB }:
		raw = d.SQL()
	case interface{ Path() string }:
		if raw, err = sql.Open("sqlite", d.Path()+"?_pragma=busy_timeout(10000)"); err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
	}
	if _, err := raw.Exec(q); err != nil {
		t.Fatal(err)
	}
}
