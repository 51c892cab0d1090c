package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

type fixture struct {
	app    *app.App
	tenant string
	by     vault.Actor
}

var engines = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") }},
	{"postgres", func(t *testing.T) string { return storetest.PostgresSchemaDSN(t) }},
}

func forEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			raw, _ := keys.GenerateRootKey()
			root, _ := keys.ParseRootKey(raw)
			a, err := app.Open(ctx, app.Options{DB: e.dsn(t), Root: root})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			tn, _, err := a.EnsureTenant(ctx, "v", "V")
			if err != nil {
				t.Fatal(err)
			}
			src, _ := examples.File("learning-saas.yaml")
			if _, err := a.Tenants.Apply(ctx, tn.ID, "learning-saas.yaml", src, "test"); err != nil {
				t.Fatal(err)
			}
			fn(t, &fixture{app: a, tenant: tn.ID, by: vault.Actor{ID: "apikey:test", Role: "service", RequestID: "req-1"}})
		})
	}
}

func (f *fixture) create(t *testing.T, n int) string {
	t.Helper()
	c, err := f.app.Vault.Create(context.Background(), f.tenant, vault.CreateInput{Fields: synth.Nth(n).LearningSaaSFields()}, f.by)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func reasonOf(v vault.View, field string) decide.Reason {
	for _, w := range v.Withheld {
		if w.Field == field {
			return w.Reason
		}
	}
	return ""
}

// TestCiphertextsAreBoundToTheirRow copies one subject's encrypted email into
// another subject's row: it must not decrypt there.
func TestCiphertextsAreBoundToTheirRow(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, b := f.create(t, 1), f.create(t, 2)
		var stolen []byte
		err := f.app.Store.Read(ctx, func(tx store.Tx) error {
			fs, err := tx.GetFields(f.tenant, a)
			for _, fv := range fs {
				if fv.Field == "email" {
					stolen = fv.Ciphertext
				}
			}
			return err
		})
		if err != nil || stolen == nil {
			t.Fatal(err)
		}
		// Into another subject's email, and into the same subject's name.
		for _, target := range []struct{ subject, field string }{{b, "email"}, {a, "name"}} {
			err = f.app.Store.Write(ctx, func(tx store.Tx) error {
				return tx.PutFields([]store.FieldValue{{TenantID: f.tenant, SubjectID: target.subject, Field: target.field, Ciphertext: stolen, Source: "provided"}})
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.app.Vault.Get(ctx, f.tenant, target.subject, "account", f.by)
			if err == nil || !strings.Contains(err.Error(), "does not decrypt") {
				t.Errorf("a ciphertext moved to %s/%s decrypted (err %v)", target.subject, target.field, err)
			}
		}
	})
}

// TestNoUnauditedReads: when the audit log cannot be written, the read
// fails and releases nothing.
func TestNoUnauditedReads(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		id := f.create(t, 3)
		v0 := f.app.Vault
		broken := &vault.Service{Store: v0.Store, Keys: v0.Keys, Tenants: v0.Tenants} // no audit log
		v, err := broken.Get(context.Background(), f.tenant, id, "account", f.by)
		if err == nil || len(v.Fields) != 0 {
			t.Fatalf("a read without a working audit log returned %v, %v", v.Fields, err)
		}
		_, err = broken.Create(context.Background(), f.tenant, vault.CreateInput{Fields: synth.Nth(4).LearningSaaSFields()}, f.by)
		if err == nil {
			t.Fatal("a create without a working audit log succeeded")
		}
		_, err = f.app.Vault.Lookup(context.Background(), f.tenant, "email", synth.Nth(4).Email, "account", f.by)
		if !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("the unaudited create left a subject behind: %v", err)
		}
	})
}

// TestControlsWithholdData: restrictions, objections and holds recorded in
// the store change what the next read releases.
func TestControlsWithholdData(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id := f.create(t, 5)
		now := time.Now().UTC()
		write := func(fn func(tx store.Tx) error) {
			t.Helper()
			if err := f.app.Store.Write(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		get := func(purpose string) vault.View {
			t.Helper()
			v, err := f.app.Vault.Get(ctx, f.tenant, id, purpose, f.by)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if _, ok := get("security").Fields["email"]; !ok {
			t.Fatal("security (legitimate interests) should release the email before any objection")
		}
		write(func(tx store.Tx) error {
			return tx.AddObjection(store.Objection{TenantID: f.tenant, ID: store.NewID(), SubjectID: id, Purpose: "security",
				Kind: store.ObjectLegitimateInterest, Reason: "test", CreatedAt: now})
		})
		if r := reasonOf(get("security"), "email"); r != decide.Objected {
			t.Errorf("after an objection: %q, want objected", r)
		}
		write(func(tx store.Tx) error {
			return tx.AddRestriction(store.Restriction{TenantID: f.tenant, ID: store.NewID(), SubjectID: id,
				Categories: []string{"user.contact"}, Ground: store.GroundAccuracyContested, Reason: "test", CreatedAt: now})
		})
		v := get("account")
		if r := reasonOf(v, "email"); r != decide.Restricted {
			t.Errorf("restricted email: %q", r)
		}
		if _, ok := v.Fields["name"]; !ok {
			t.Error("a restriction of contact data withheld the name too")
		}
	})
}

func TestActivityMovesLastActivity(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f.app.Vault.Now = func() time.Time { return now }
		id := f.create(t, 6)
		now = now.Add(48 * time.Hour)
		if err := f.app.Vault.Activity(ctx, f.tenant, id, time.Time{}, f.by); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(map[string]any{"event": "login"})
		if _, err := f.app.Vault.AppendRecord(ctx, f.tenant, id, "activity_log", data, "", now.Add(-time.Hour), f.by); err != nil {
			t.Fatal(err)
		}
		v, err := f.app.Vault.Get(ctx, f.tenant, id, "account", f.by)
		if err != nil {
			t.Fatal(err)
		}
		if !v.LastActivityAt.Equal(now) {
			t.Errorf("last activity = %v, want %v (an older record does not move it back)", v.LastActivityAt, now)
		}
		if err := f.app.Vault.Activity(ctx, f.tenant, store.NewID(), time.Time{}, f.by); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("activity of a missing subject: %v", err)
		}
	})
}

func TestAnonymousSubjects(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		c, err := f.app.Vault.Create(context.Background(), f.tenant, vault.CreateInput{Anonymous: true,
			Fields: map[string]json.RawMessage{"ip_address": json.RawMessage(`"203.0.113.7"`)}}, f.by)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Identities) != 0 {
			t.Errorf("anonymous subject has identities %v", c.Identities)
		}
		v, err := f.app.Vault.Get(context.Background(), f.tenant, c.ID, "security", f.by)
		if err != nil || !v.Anonymous || string(v.Fields["ip_address"].Value) != `"203.0.113.7"` {
			t.Errorf("anonymous read: %+v %v", v, err)
		}
	})
}

func TestContactEmail(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id := f.create(t, 20)
		got, err := f.app.Vault.ContactEmail(ctx, f.tenant, id, "test-notice", f.by)
		if err != nil || got != synth.Nth(20).Email {
			t.Fatalf("ContactEmail = %q, %v", got, err)
		}
		if _, err := f.app.Vault.ContactEmail(ctx, f.tenant, store.NewID(), "test-notice", f.by); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("missing subject: %v", err)
		}
		anon, err := f.app.Vault.Create(ctx, f.tenant, vault.CreateInput{Anonymous: true, Fields: map[string]json.RawMessage{}}, f.by)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.app.Vault.ContactEmail(ctx, f.tenant, anon.ID, "test-notice", f.by); !errors.Is(err, vault.ErrNoContact) {
			t.Errorf("anonymous subject: %v", err)
		}
	})
}
