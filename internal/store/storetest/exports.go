package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"Exports", testExports},
		{"ExportLinks", testExportLinks},
		{"ExportsInvalid", testExportsInvalid},
		{"SubjectCollections", testSubjectCollections},
	})
}

func newExport(tenantID, subjectID string, expires time.Time) store.Export {
	sum := sha256.Sum256([]byte("report"))
	return store.Export{TenantID: tenantID, ID: store.NewID(), RequestID: store.NewID(), SubjectID: subjectID,
		Status: store.ExportReady, CreatedAt: t0, ExpiresAt: expires,
		Files: []store.ExportFile{
			{Format: "json", Name: "t/e/report.json.enc", Size: 10, SHA256: sum[:], SealedKey: []byte("sealed-json")},
			{Format: "csv", Name: "t/e/report.zip.enc", Size: 20, SHA256: sum[:], SealedKey: []byte("sealed-csv")},
		}}
}

func testExports(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "exp-a"), NewTenant(t, s, "exp-b")
	subj := store.NewID()
	e1 := newExport(a.ID, subj, t0.Add(time.Hour))
	e2 := newExport(a.ID, subj, t0.Add(3*time.Hour))
	e2.Portability = true
	eb := newExport(b.ID, store.NewID(), t0.Add(time.Hour))
	write(t, s, func(tx store.Tx) error {
		for _, e := range []store.Export{e1, e2, eb} {
			if err := tx.CreateExport(e); err != nil {
				return err
			}
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		wantErr(t, tx.CreateExport(e1), store.ErrConflict)
		ghost := newExport(store.NewID(), subj, t0)
		wantErr(t, tx.CreateExport(ghost), store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetExport(a.ID, e2.ID)
		if err != nil {
			return err
		}
		if !got.Portability || got.SubjectID != subj || got.RequestID != e2.RequestID || got.Status != store.ExportReady ||
			!got.CreatedAt.Equal(us(t0)) || !got.ExpiresAt.Equal(us(e2.ExpiresAt)) || !got.DeletedAt.IsZero() {
			t.Fatalf("GetExport = %+v", got)
		}
		if len(got.Files) != 2 || got.Files[0].Format != "csv" || got.Files[1].Format != "json" ||
			!bytes.Equal(got.Files[1].SealedKey, []byte("sealed-json")) || got.Files[0].Size != 20 || len(got.Files[0].SHA256) != 32 {
			t.Fatalf("files = %+v", got.Files)
		}
		// Tenant isolation: b cannot see a's export.
		_, err = tx.GetExport(b.ID, e1.ID)
		wantErr(t, err, store.ErrNotFound)
		list, err := tx.ListSubjectExports(a.ID, subj)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != e2.ID || list[1].ID != e1.ID {
			t.Fatalf("ListSubjectExports = %+v", list)
		}
		due, err := tx.ExpiredExports(t0.Add(2*time.Hour), 10)
		if err != nil {
			return err
		}
		if len(due) != 2 || len(due[0].Files) != 2 {
			t.Fatalf("ExpiredExports = %+v, want e1 of a and eb of b", due)
		}
		for _, e := range due {
			if e.ID != e1.ID && e.ID != eb.ID {
				t.Fatalf("ExpiredExports returned %s, not yet due", e.ID)
			}
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		if err := tx.MarkExportDeleted(a.ID, e1.ID, t0.Add(2*time.Hour)); err != nil {
			return err
		}
		if err := tx.MarkExportDeleted(a.ID, e1.ID, t0.Add(5*time.Hour)); err != nil {
			return err
		}
		wantErr(t, tx.MarkExportDeleted(b.ID, e1.ID, t0), store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetExport(a.ID, e1.ID)
		if err != nil {
			return err
		}
		if got.Status != store.ExportDeleted || !got.DeletedAt.Equal(us(t0.Add(2*time.Hour))) {
			t.Fatalf("after delete: %+v (marking twice must keep the first time)", got)
		}
		due, err := tx.ExpiredExports(t0.Add(10*time.Hour), 10)
		if err != nil {
			return err
		}
		if len(due) != 2 {
			t.Fatalf("deleted exports are not due again: %d", len(due))
		}
		return nil
	})
}

func testExportLinks(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "link-a"), NewTenant(t, s, "link-b")
	e := newExport(a.ID, store.NewID(), t0.Add(time.Hour))
	l := store.ExportLink{TenantID: a.ID, ID: store.NewID(), ExportID: e.ID, Format: "json", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateExport(e); err != nil {
			return err
		}
		if err := tx.CreateExportLink(l); err != nil {
			return err
		}
		wantErr(t, tx.CreateExportLink(l), store.ErrConflict)
		other := l
		other.ID, other.TenantID = store.NewID(), b.ID
		wantErr(t, tx.CreateExportLink(other), store.ErrNotFound) // the export is a's
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetExportLink(a.ID, l.ID)
		if err != nil {
			return err
		}
		if got.ExportID != e.ID || got.Format != "json" || !got.UsedAt.IsZero() || !got.ExpiresAt.Equal(us(l.ExpiresAt)) {
			t.Fatalf("GetExportLink = %+v", got)
		}
		_, err = tx.GetExportLink(b.ID, l.ID)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		wantErr(t, tx.UseExportLink(b.ID, l.ID, t0), store.ErrNotFound)
		if err := tx.UseExportLink(a.ID, l.ID, t0.Add(time.Minute)); err != nil {
			return err
		}
		wantErr(t, tx.UseExportLink(a.ID, l.ID, t0.Add(2*time.Minute)), store.ErrConflict)
		wantErr(t, tx.UseExportLink(a.ID, store.NewID(), t0), store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetExportLink(a.ID, l.ID)
		if err != nil {
			return err
		}
		if !got.UsedAt.Equal(us(t0.Add(time.Minute))) {
			t.Fatalf("used at %v", got.UsedAt)
		}
		return nil
	})
}

func testExportsInvalid(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "exp-inv")
	write(t, s, func(tx store.Tx) error {
		for name, mut := range map[string]func(*store.Export){
			"no files":     func(e *store.Export) { e.Files = nil },
			"bad format":   func(e *store.Export) { e.Files[0].Format = "xml" },
			"twice":        func(e *store.Export) { e.Files[1].Format = "json" },
			"bad status":   func(e *store.Export) { e.Status = "gone" },
			"no sha":       func(e *store.Export) { e.Files[0].SHA256 = nil },
			"no subject":   func(e *store.Export) { e.SubjectID = "" },
			"zero expires": func(e *store.Export) { e.ExpiresAt = time.Time{} },
		} {
			e := newExport(a.ID, store.NewID(), t0)
			mut(&e)
			if err := tx.CreateExport(e); err == nil {
				t.Errorf("%s: accepted", name)
			} else {
				wantErr(t, err, store.ErrInvalid)
			}
		}
		wantErr(t, tx.CreateExportLink(store.ExportLink{TenantID: a.ID, ID: store.NewID(), ExportID: store.NewID(), Format: "doc",
			CreatedAt: t0, ExpiresAt: t0}), store.ErrInvalid)
		return nil
	})
}

func testSubjectCollections(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "coll-a"), NewTenant(t, s, "coll-b")
	subj := newSubject(a.ID)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateSubject(subj, nil, nil); err != nil {
			return err
		}
		for _, c := range []string{"tickets", "orders", "orders"} {
			if err := tx.AppendRecord(store.Record{TenantID: a.ID, SubjectID: subj.ID, Collection: c, ID: store.NewID(),
				Ciphertext: []byte("x"), Source: "provided", CollectedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.SubjectCollections(a.ID, subj.ID)
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0] != "orders" || got[1] != "tickets" {
			t.Fatalf("SubjectCollections = %v", got)
		}
		got, err = tx.SubjectCollections(b.ID, subj.ID)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Fatalf("other tenant sees %v", got)
		}
		return nil
	})
}
