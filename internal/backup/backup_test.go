package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/backup"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/vault"
)

var bg = context.Background()

// target is one set of stores: data, keys and erasure ledger.
type target struct{ data, keys, ledger string }

// engine makes fresh, empty targets of one engine.
type engine struct {
	name string
	new  func(t *testing.T) target
}

var engineCases = []engine{
	{"sqlite", func(t *testing.T) target {
		d := t.TempDir()
		return target{"sqlite:" + filepath.Join(d, "trustee.db"), "sqlite:" + filepath.Join(d, "keys.db"), "sqlite:" + filepath.Join(d, "erasure-ledger.db")}
	}},
	{"postgres", func(t *testing.T) target {
		// Data, keys and ledger in one schema, as the defaults put them;
		// the backup keeps them apart.
		dsn := storetest.PostgresSchemaDSN(t)
		return target{dsn, dsn, dsn}
	}},
}

var by = vault.Actor{ID: "apikey:test", Role: "service", RequestID: "req-1"}

func rootKey(t *testing.T) *keys.RootKey {
	t.Helper()
	raw, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := keys.ParseRootKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openApp(t *testing.T, tg target, root *keys.RootKey) *app.App {
	t.Helper()
	a, err := app.Open(bg, app.Options{DB: tg.data, KeysDB: tg.keys, LedgerDB: tg.ledger, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// seed creates a tenant with the door-entry policy and two people.
func seed(t *testing.T, a *app.App) (tenantID, alice, bob string) {
	t.Helper()
	tn, _, err := a.EnsureTenant(bg, "door", "Door")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := examples.File("door-entry.yaml")
	if _, err := a.Tenants.Apply(bg, tn.ID, "door-entry.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	mk := func(name, email string) string {
		c, err := a.Vault.Create(bg, tn.ID, vault.CreateInput{Fields: map[string]json.RawMessage{
			"name": json.RawMessage(`"` + name + `"`), "email": json.RawMessage(`"` + email + `"`)}}, by)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	return tn.ID, mk("Alice", "alice@example.org"), mk("Bob", "bob@example.org")
}

func opts(tg target, root *keys.RootKey, now time.Time) backup.Options {
	return backup.Options{DataDSN: tg.data, KeysDSN: tg.keys, LedgerDSN: tg.ledger, Root: root, Version: "test",
		Now: func() time.Time { return now }}
}

// TestBackupEraseRestore is the promise: back up, erase someone, restore the
// old backup into new stores, and the person is still erased — not found by
// their email, their key gone — because the erasure ledger, which no
// restore rolls back, erases them again. Restoring without the ledger brings
// them back, which shows it is the ledger that keeps the promise.
func TestBackupEraseRestore(t *testing.T) {
	for _, e := range engineCases {
		t.Run(e.name, func(t *testing.T) {
			root := rootKey(t)
			live := e.new(t)
			a := openApp(t, live, root)
			tid, alice, bob := seed(t, a)
			dir := t.TempDir()
			keysDir := t.TempDir()
			created, err := backup.Create(bg, opts(live, root, time.Now()), dir, keysDir)
			if err != nil {
				t.Fatal(err)
			}
			if created.Data.TenantCount != 1 || created.Keys.TenantCount != 1 || created.Data.SchemaVersion < 7 || created.Data.Engine != e.name {
				t.Fatalf("manifests: %+v %+v", created.Data, created.Keys)
			}
			if _, err := a.Vault.Erase(bg, tid, alice, by); err != nil {
				t.Fatal(err)
			}
			a.Close()

			// Restore the old backup into new, empty stores; the ledger is
			// the live one.
			fresh := e.new(t)
			fresh.ledger = live.ledger
			res, err := backup.Restore(bg, opts(fresh, root, time.Now()), filepath.Join(dir, created.Name), filepath.Join(keysDir, created.Name))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Reapplied.Erased, []string{alice}) {
				t.Fatalf("re-applied erasures: %+v, want only alice", res.Reapplied)
			}
			b := openApp(t, fresh, root)
			defer b.Close()
			if _, err := b.Vault.Lookup(bg, tid, "email", "alice@example.org", "account", by); !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("alice found after the restore: %v", err)
			}
			if _, err := b.Keys.SubjectKey(bg, tid, alice); !errors.Is(err, keys.ErrShredded) {
				t.Errorf("alice's key after the restore: %v", err)
			}
			v, err := b.Vault.Lookup(bg, tid, "email", "bob@example.org", "account", by)
			if err != nil || v.ID != bob || string(v.Fields["name"].Value) != `"Bob"` {
				t.Errorf("bob after the restore: %+v %v", v, err)
			}
			// Re-applying again changes nothing.
			again, err := backup.ReapplyErasures(bg, opts(fresh, root, time.Now()))
			if err != nil || again.Checked != 2 {
				t.Errorf("second reapply: %+v %v", again, err)
			}
			// A restore never overwrites a store that holds data.
			if _, err := backup.Restore(bg, opts(fresh, root, time.Now()), filepath.Join(dir, created.Name), filepath.Join(keysDir, created.Name)); !errors.Is(err, backup.ErrNotEmpty) {
				t.Errorf("restore over data: %v, want ErrNotEmpty", err)
			}

			// Control: the same backup restored with an empty ledger brings
			// alice back (the backup's own ledger copy predates her erasure).
			control := e.new(t)
			ctl, err := backup.Restore(bg, opts(control, root, time.Now()), filepath.Join(dir, created.Name), filepath.Join(keysDir, created.Name))
			if err != nil {
				t.Fatal(err)
			}
			if len(ctl.Reapplied.Erased) != 0 {
				t.Fatalf("control erased %v", ctl.Reapplied.Erased)
			}
			c := openApp(t, control, root)
			defer c.Close()
			if v, err := c.Vault.Lookup(bg, tid, "email", "alice@example.org", "account", by); err != nil || v.ID != alice {
				t.Errorf("control: alice not restored (%v): the test proves nothing", err)
			}
		})
	}
}

// TestRestoreChecks: a restore refuses snapshots that do not match their
// manifests, pairs of different backups, another root key, and other engines.
func TestRestoreChecks(t *testing.T) {
	root := rootKey(t)
	live := engineCases[0].new(t)
	a := openApp(t, live, root)
	seed(t, a)
	a.Close()
	dir := t.TempDir()
	first, err := backup.Create(bg, opts(live, root, time.Now()), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := backup.Create(bg, opts(live, root, time.Now().Add(time.Second)), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	set := filepath.Join(dir, first.Name)
	restore := func(o backup.Options, from, keysFrom string) error {
		_, err := backup.Restore(bg, o, from, keysFrom)
		return err
	}
	fresh := func() backup.Options { return opts(engineCases[0].new(t), root, time.Now()) }

	if err := restore(fresh(), set, filepath.Join(dir, second.Name)); !errors.Is(err, backup.ErrMismatch) {
		t.Errorf("data and keys of two backups: %v", err)
	}
	other := fresh()
	other.Root = rootKey(t)
	if err := restore(other, set, ""); err == nil {
		t.Error("restored with another root key")
	}
	pg := fresh()
	pg.DataDSN = "postgres://nobody@127.0.0.1:1/none"
	if err := restore(pg, set, ""); err == nil {
		t.Error("restored an SQLite snapshot into PostgreSQL")
	}
	// A flipped byte fails the manifest's hash; with the hash "fixed" too,
	// it fails to decrypt; nothing is written either way.
	f := filepath.Join(set, backup.KindData, "data.tbk")
	b, _ := os.ReadFile(f)
	b[len(b)/2] ^= 1
	os.WriteFile(f, b, 0o600)
	tg := fresh()
	if err := restore(tg, set, ""); !errors.Is(err, backup.ErrMismatch) {
		t.Errorf("tampered file: %v, want ErrMismatch", err)
	}
	mpath := filepath.Join(set, backup.KindData, backup.ManifestFile)
	var m backup.Manifest
	mb, _ := os.ReadFile(mpath)
	json.Unmarshal(mb, &m)
	m.Files[0].SHA256 = sha256hex(b)
	mb, _ = json.Marshal(m)
	os.WriteFile(mpath, mb, 0o600)
	if err := restore(tg, set, ""); !errors.Is(err, backup.ErrCorrupt) {
		t.Errorf("tampered file with a matching manifest: %v, want ErrCorrupt", err)
	}
	if _, path, _ := engines.Parse(tg.DataDSN); fileExists(path) {
		t.Error("a failed restore left a data file behind")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestPruneForgets: with an injected clock, prune keeps snapshots younger
// than the backup retention and deletes older ones; once the snapshot taken
// before an erasure is gone, no remaining key snapshot holds the erased
// person's key.
func TestPruneForgets(t *testing.T) {
	for _, e := range engineCases {
		t.Run(e.name, func(t *testing.T) {
			root := rootKey(t)
			live := e.new(t)
			a := openApp(t, live, root)
			tid, alice, _ := seed(t, a)
			dir := t.TempDir()
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			before, err := backup.Create(bg, opts(live, root, t0), dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Vault.Erase(bg, tid, alice, by); err != nil {
				t.Fatal(err)
			}
			after, err := backup.Create(bg, opts(live, root, t0.AddDate(0, 0, 10)), dir, "")
			if err != nil {
				t.Fatal(err)
			}
			ret, err := backup.PolicyRetention(bg, a.Tenants, t0)
			if err != nil || ret.Period.String() != "90d" || ret.Tenant != "door" {
				t.Fatalf("retention: %+v %v", ret, err)
			}
			a.Close()

			res, err := backup.Prune([]string{dir}, ret.Period, t0.AddDate(0, 0, 90).Add(-time.Second))
			if err != nil || len(res.Removed) != 0 || len(res.Kept) != 4 {
				t.Fatalf("prune a second before 90 days: %+v %v", res, err)
			}
			res, err = backup.Prune([]string{dir}, ret.Period, t0.AddDate(0, 0, 90))
			if err != nil || len(res.Removed) != 2 || len(res.Kept) != 2 {
				t.Fatalf("prune at 90 days: %+v %v", res, err)
			}
			if fileExists(filepath.Join(dir, before.Name)) {
				t.Fatal("the backup from before the erasure is still there")
			}
			// Every key snapshot left was taken after the erasure: restore
			// each and look for alice's key.
			sets, err := backup.List(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sets {
				if s.Kind != backup.KindKeys {
					continue
				}
				if s.Name != after.Name {
					t.Fatalf("unexpected snapshot %s", s.Name)
				}
				tg := e.new(t)
				if _, err := backup.Restore(bg, opts(tg, root, t0), filepath.Join(dir, s.Name), ""); err != nil {
					t.Fatal(err)
				}
				ks, err := engines.OpenKeyStore(bg, tg.keys, engines.Options{})
				if err != nil {
					t.Fatal(err)
				}
				err = ks.Read(bg, func(tx store.KeyTx) error { _, err := tx.GetSubjectKey(tid, alice); return err })
				ks.Close()
				if !errors.Is(err, store.ErrKeyDestroyed) {
					t.Errorf("alice's key in a remaining key snapshot: %v, want destroyed", err)
				}
			}
			// And after 90 days from the second backup, nothing is left.
			res, err = backup.Prune([]string{dir}, ret.Period, t0.AddDate(0, 0, 100))
			if err != nil || len(res.Removed) != 2 {
				t.Fatalf("final prune: %+v %v", res, err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestPolicyRetentionShortest: one snapshot holds every tenant, so the
// shortest backup retention of all tenants applies.
func TestPolicyRetentionShortest(t *testing.T) {
	root := rootKey(t)
	a := openApp(t, engineCases[0].new(t), root)
	defer a.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := backup.PolicyRetention(bg, a.Tenants, now); !errors.Is(err, backup.ErrNoRetention) {
		t.Fatalf("no tenants: %v", err)
	}
	seed(t, a)
	src, _ := examples.File("door-entry.yaml")
	tn, _, err := a.EnsureTenant(bg, "strict", "Strict")
	if err != nil {
		t.Fatal(err)
	}
	strict := []byte(replace(string(src), "backup_retention: 90d", "backup_retention: 30d"))
	if _, err := a.Tenants.Apply(bg, tn.ID, "strict.yaml", strict, "test"); err != nil {
		t.Fatal(err)
	}
	ret, err := backup.PolicyRetention(bg, a.Tenants, now)
	if err != nil || ret.Tenant != "strict" || ret.Period != (policy.Period{N: 30, Unit: policy.Days}) {
		t.Fatalf("retention: %+v %v", ret, err)
	}
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }

// TestSchedulePrune: the server prunes its backup directory on its own, by
// the policies' retention, as a periodic job.
func TestSchedulePrune(t *testing.T) {
	root := rootKey(t)
	live := engineCases[0].new(t)
	a := openApp(t, live, root)
	defer a.Close()
	seed(t, a)
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old, err := backup.Create(bg, opts(live, root, t0), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	recent, err := backup.Create(bg, opts(live, root, t0.AddDate(0, 0, 60)), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return t0.AddDate(0, 0, 95) }
	r := jobs.New(a.Store, jobs.Options{Now: now, PollInterval: 10 * time.Millisecond})
	backup.SchedulePrune(r, []string{dir}, a.Store, a.Tenants, time.Hour, now, nil)
	if err := r.Start(bg); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(bg)
	deadline := time.Now().Add(10 * time.Second)
	for fileExists(filepath.Join(dir, old.Name)) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not prune the old backup")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !fileExists(filepath.Join(dir, recent.Name)) {
		t.Fatal("the server pruned a backup younger than the retention")
	}
}
