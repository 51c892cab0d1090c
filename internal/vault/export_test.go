package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/vault"
)

// TestExport streams every field and every record, decrypted, across more
// than one batch, fields first and records oldest first; an erased subject
// has nothing to export.
func TestExport(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id := f.create(t, 1)
		n := vault.ExportBatch + 3
		for i := 0; i < n; i++ {
			if _, err := f.app.Vault.AppendRecord(ctx, f.tenant, id, "orders", json.RawMessage(`{"n":1}`), "", time.Time{}, f.by); err != nil {
				t.Fatal(err)
			}
		}
		var fields, records int
		last := ""
		err := f.app.Vault.Export(ctx, f.tenant, id, f.by, func(it vault.Item) error {
			switch it.Kind {
			case vault.ItemField:
				if records > 0 {
					t.Fatal("a field after records")
				}
				if len(it.Value) == 0 || it.Category == "" {
					t.Fatalf("field %+v", it)
				}
				fields++
			case vault.ItemRecord:
				if it.Name != "orders" || string(it.Value) != `{"n":1}` || it.RecordID <= last {
					t.Fatalf("record %+v after %s", it, last)
				}
				last = it.RecordID
				records++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fields == 0 || records != n {
			t.Fatalf("%d fields, %d records, want %d", fields, records, n)
		}
		stop := errors.New("stop")
		if err := f.app.Vault.Export(ctx, f.tenant, id, f.by, func(vault.Item) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("visit error: %v", err)
		}
		if err := f.app.Vault.Export(ctx, f.tenant, "0190c0de-0000-7000-8000-000000000000", f.by, func(vault.Item) error { return nil }); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("unknown subject: %v", err)
		}
	})
}
