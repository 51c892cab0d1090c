package vault_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// benchVault is a vault on SQLite with n synthetic people of the
// learning-saas example.
func benchVault(b *testing.B, n int) *fixture {
	ctx := context.Background()
	raw, _ := keys.GenerateRootKey()
	root, _ := keys.ParseRootKey(raw)
	a, err := app.Open(ctx, app.Options{DB: "sqlite:" + filepath.Join(b.TempDir(), "b.db"), Root: root})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	tn, _, _ := a.EnsureTenant(ctx, "b", "B")
	src, _ := examples.File("learning-saas.yaml")
	if _, err := a.Tenants.Apply(ctx, tn.ID, "learning-saas.yaml", src, "bench"); err != nil {
		b.Fatal(err)
	}
	f := &fixture{app: a, tenant: tn.ID, by: vault.Actor{ID: "apikey:bench", Role: "service"}}
	for i := 0; i < n; i++ {
		if _, err := a.Vault.Create(ctx, tn.ID, vault.CreateInput{Fields: synth.Nth(i).LearningSaaSFields()}, f.by); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// BenchmarkLookupParallel is a purpose-scoped read by email in process:
// blind index, load, decide, decrypt, audit.
func BenchmarkLookupParallel(b *testing.B) {
	f := benchVault(b, 1000)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1)) % 1000
			if _, err := f.app.Vault.Lookup(context.Background(), f.tenant, "email", synth.Nth(i).Email, "account", f.by); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkCreateParallel creates subjects with 3 identities and 8 fields.
func BenchmarkCreateParallel(b *testing.B) {
	f := benchVault(b, 0)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if _, err := f.app.Vault.Create(context.Background(), f.tenant, vault.CreateInput{Fields: synth.Nth(i).LearningSaaSFields()}, f.by); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}
