package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Erased says what an erasure did.
type Erased struct {
	ID       string    `json:"id"`
	ErasedAt time.Time `json:"erased_at"`
	// KeyDestroyed is true when the subject's data key was destroyed, so
	// every copy of its data, backups included, is unreadable. It stays
	// false while some data must be kept (Kept); the key is destroyed when
	// the last of it goes.
	KeyDestroyed bool `json:"key_destroyed"`
	// Kept lists what the law or a legal hold requires to keep, and why.
	// It is usable only for that purpose from now on.
	Kept []KeptItem `json:"kept"`
}

// KeptItem is data that survives an erasure.
type KeptItem struct {
	Name  string `json:"name" doc:"Field or collection name."`
	Kind  string `json:"kind" enum:"field,collection"`
	Basis string `json:"basis" doc:"Why it is kept: the law of the retention rule, or the legal hold's reason."`
	// Until is when it will be deleted; absent while it depends on an
	// event that has not happened or a hold without an end.
	Until *time.Time `json:"until,omitempty"`
}

// Erase deletes the subject's data except what the law or a legal hold
// requires to keep (a retention rule with kept_by_law that has not run out,
// or an active hold), removes every identity so the person can no longer be
// found, and destroys the data key when nothing is kept (crypto-shredding).
// It is idempotent: erasing again finishes an interrupted erasure.
func (s *Service) Erase(ctx context.Context, tenantID, subjectID string, by Actor) (Erased, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Erased{}, err
	}
	doc := a.Doc
	now := s.now()
	out := Erased{ID: subjectID, ErasedAt: now}
	if s.Ledger != nil {
		// The erasure ledger learns of the erasure before it happens, so
		// that a restore of an older backup cannot bring the person back
		// even if this process dies half-way; recording a subject that is
		// then not erased (a failure below) only makes a later restore
		// erase what was asked to be erased anyway.
		var ids []store.Identity
		err := s.Store.Read(ctx, func(tx store.Tx) error {
			if _, err := tx.GetSubject(tenantID, subjectID); err != nil {
				return err
			}
			var err error
			ids, err = tx.ListIdentities(tenantID, subjectID)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return Erased{}, ErrNotFound
		}
		if err != nil {
			return Erased{}, err
		}
		if err := s.Ledger.RecordErasure(ctx, tenantID, subjectID, ids, now); err != nil {
			return Erased{}, fmt.Errorf("erasure ledger: %w", err)
		}
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		out.Kept = out.Kept[:0]
		subj, err := tx.GetSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if subj.State == store.SubjectErased {
			out.ErasedAt = subj.ErasedAt
		}
		// Erasure ends the account: rules counted from account closure
		// start now.
		if subj.AccountClosedAt.IsZero() {
			subj.AccountClosedAt = now
			subj.UpdatedAt = now
			if err := tx.UpdateSubject(subj); err != nil {
				return err
			}
		}
		fields, err := tx.GetFields(tenantID, subjectID)
		if err != nil {
			return err
		}
		ctl, err := tx.SubjectControls(tenantID, subjectID, now)
		if err != nil {
			return err
		}
		keepF, keepC := []string{}, []string{}
		for _, f := range fields {
			def := doc.FieldByName(f.Field)
			if def == nil {
				continue
			}
			if k, ok := kept(doc, &subj, &ctl, f.Field, "field", def.Category, f.CollectedAt, now); ok {
				keepF = append(keepF, f.Field)
				out.Kept = append(out.Kept, k)
			}
		}
		for i := range doc.Policy.Collections {
			c := &doc.Policy.Collections[i]
			recs, err := tx.ListRecords(tenantID, subjectID, c.Name, "", 1)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				continue
			}
			if k, ok := kept(doc, &subj, &ctl, c.Name, "collection", c.Category, time.Time{}, now); ok {
				keepC = append(keepC, c.Name)
				out.Kept = append(out.Kept, k)
			}
		}
		if err := tx.EraseSubject(tenantID, subjectID, out.ErasedAt, keepF, keepC); err != nil {
			return err
		}
		// What is kept gets its due time: a rule kept by law runs its
		// course (from the account closure just set, for rules counted
		// from it); what only a hold keeps is due now, and goes with the
		// first sweep after the hold ends.
		if len(out.Kept) > 0 {
			erased, err := tx.GetSubject(tenantID, subjectID)
			if err != nil {
				return err
			}
			if err := retention.RecomputeSubject(tx, doc, &erased); err != nil {
				return err
			}
		}
		ev := by.event(actErase, subjectID)
		ev.Fields = append(append([]string{}, keepF...), keepC...)
		if len(out.Kept) == 0 {
			ev.Reason = "all data deleted; data key destroyed"
		} else {
			ev.Reason = "data deleted except what is kept by law or a legal hold (fields listed); data key kept until that data goes"
		}
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Erased{}, err
	}
	if len(out.Kept) > 0 {
		return out, nil
	}
	if err := s.Keys.Shred(ctx, tenantID, subjectID); err != nil {
		return out, err
	}
	out.KeyDestroyed = true
	return out, nil
}

// kept decides whether a field or collection survives an erasure: an active
// legal hold covers it, or its retention rule is kept by law and has not
// run out.
func kept(doc *policy.Document, subj *store.Subject, ctl *store.Controls, name, kind, category string, collectedAt, now time.Time) (KeptItem, bool) {
	for _, h := range ctl.Holds {
		if !h.ActiveAt(now) || !holdCovers(doc, h, kind, name, category) {
			continue
		}
		k := KeptItem{Name: name, Kind: kind, Basis: "legal hold: " + h.Reason}
		if !h.Until.IsZero() {
			u := h.Until
			k.Until = &u
		}
		return k, true
	}
	rule := doc.RetentionFor(name)
	if rule == nil || rule.KeptByLaw == "" {
		return KeptItem{}, false
	}
	base := collectedAt
	if base.IsZero() {
		base = now
	}
	exp := retention.ExpiresAt(rule, subj, base)
	if !exp.IsZero() && !exp.After(now) {
		return KeptItem{}, false
	}
	k := KeptItem{Name: name, Kind: kind, Basis: rule.KeptByLaw}
	if !exp.IsZero() {
		k.Until = &exp
	}
	return k, true
}

// holdCovers reports whether hold h keeps the field or collection.
func holdCovers(doc *policy.Document, h store.LegalHold, kind, name, category string) bool {
	if len(h.Categories) == 0 && len(h.Collections) == 0 {
		return true
	}
	if kind == "collection" && slices.Contains(h.Collections, name) {
		return true
	}
	for _, c := range h.Categories {
		if doc.Taxonomy().Covers(c, category) {
			return true
		}
	}
	return false
}

// Cursors are opaque to clients: the record id, base64url-encoded.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > 64 {
		return "", errors.New("is not a cursor returned by this API")
	}
	return string(b), nil
}
