package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Item kinds of Export.
const (
	ItemField  = "field"
	ItemRecord = "record"
)

// Item is one decrypted piece of a subject's data, as an access or
// portability export needs it: a field value, or one record of a
// collection.
type Item struct {
	Kind string // ItemField or ItemRecord
	// Name is the field name, or the collection name of a record.
	Name string
	// Category is the data category the policy gives the field or
	// collection; empty when the policy no longer declares it.
	Category string
	// RecordID is the record's id (ItemRecord only).
	RecordID string
	Value    json.RawMessage
	Source   string
	// CollectedAt is when the value was collected (a record: when the
	// event occurred); UpdatedAt when a field was last changed.
	CollectedAt time.Time
	UpdatedAt   time.Time
}

// ExportBatch is how many records Export decrypts and hands over per store
// read, so a subject with a long history is never held in memory whole.
const ExportBatch = 500

const actExport = "subject.export"

// Export streams every field and every collection record the vault holds
// about the subject, decrypted, to visit: fields first (by name), then each
// collection in name order, records oldest first. It serves the right of
// access (GDPR Art. 15) and portability (Art. 20), which concern all data
// held, so no purpose decision applies; records are read in batches of
// ExportBatch with cursor pagination.
//
// The export is audited once, before any value is released, as
// subject.export naming the fields and collections (never values). A
// visit error stops the export and is returned as is.
func (s *Service) Export(ctx context.Context, tenantID, subjectID string, by Actor, visit func(Item) error) error {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return err
	}
	doc := a.Doc
	var (
		subj        store.Subject
		fields      []store.FieldValue
		collections []string
	)
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		d, err := tx.LoadSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		subj, fields = d.Subject, d.Fields
		collections, err = tx.SubjectCollections(tenantID, subjectID)
		return err
	})
	if err != nil {
		return err
	}
	if subj.State == store.SubjectErased && len(fields) == 0 && len(collections) == 0 {
		return ErrErased
	}
	var dk *keys.DataKey
	if len(fields) > 0 || len(collections) > 0 {
		if dk, err = s.subjectKey(ctx, tenantID, subjectID); err != nil {
			return err
		}
	}

	names := make([]string, 0, len(fields)+len(collections))
	cats := map[string]bool{}
	category := func(name string, record bool) string {
		if record {
			if c := doc.CollectionByName(name); c != nil {
				return c.Category
			}
			return ""
		}
		if f := doc.FieldByName(name); f != nil {
			return f.Category
		}
		return ""
	}
	for _, f := range fields {
		names = append(names, f.Field)
		if c := category(f.Field, false); c != "" {
			cats[c] = true
		}
	}
	for _, c := range collections {
		names = append(names, c)
		if cat := category(c, true); cat != "" {
			cats[cat] = true
		}
	}
	ev := by.event(actExport, subjectID)
	ev.Fields = names
	for c := range cats {
		ev.Categories = append(ev.Categories, c)
	}
	sort.Strings(ev.Categories)
	ev.Reason = "access or portability export"
	ev.At = s.now()
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return fmt.Errorf("audit the export: %w", err)
	}

	sort.Slice(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	for _, f := range fields {
		pt, err := dk.Open(keys.FieldAD(tenantID, subjectID, f.Field), f.Ciphertext)
		if err != nil {
			return fmt.Errorf("field %s of subject %s does not decrypt (tampered or corrupt): %w", f.Field, subjectID, err)
		}
		if err := visit(Item{Kind: ItemField, Name: f.Field, Category: category(f.Field, false), Value: pt, Source: f.Source,
			CollectedAt: f.CollectedAt, UpdatedAt: f.UpdatedAt}); err != nil {
			return err
		}
	}
	for _, c := range collections {
		cat := category(c, true)
		after := ""
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var recs []store.Record
			err := s.Store.Read(ctx, func(tx store.Tx) error {
				var err error
				recs, err = tx.ListRecords(tenantID, subjectID, c, after, ExportBatch)
				return err
			})
			if err != nil {
				return err
			}
			for _, r := range recs {
				pt, err := dk.Open(keys.RecordAD(tenantID, subjectID, c, r.ID), r.Ciphertext)
				if err != nil {
					return fmt.Errorf("record %s of subject %s does not decrypt (tampered or corrupt): %w", r.ID, subjectID, err)
				}
				if err := visit(Item{Kind: ItemRecord, Name: c, Category: cat, RecordID: r.ID, Value: pt, Source: r.Source,
					CollectedAt: r.CollectedAt}); err != nil {
					return err
				}
			}
			if len(recs) < ExportBatch {
				break
			}
			after = recs[len(recs)-1].ID
		}
	}
	return nil
}
