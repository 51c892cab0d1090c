package retention

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Legal holds keep data that would otherwise be erased or expire — for a
// litigation, a tax audit, a regulator's investigation (GDPR Art. 17(3)(b),
// (e)). Held data is never swept, and the decision engine lets only the
// hold's purpose use it once it is past retention or its subject is erased.
// A hold names a subject or, with none, every subject of the tenant; it holds
// some categories and collections, or with neither, all the data.

// HoldInput is a new legal hold.
type HoldInput struct {
	// SubjectID is the subject held; empty holds every subject.
	SubjectID string
	// Categories and Collections say what is held; both empty: all data.
	Categories  []string
	Collections []string
	// Purpose is the purpose key the held data may still be used for;
	// empty: preserve only.
	Purpose string
	// Reason says why (the case, the law). It may name people, so it is
	// shown to DPOs and admins but never written to the audit log.
	Reason string
	// Until ends the hold by itself; zero: until released.
	Until time.Time
}

// maxHoldReason bounds a hold's reason (the store's text limit).
const maxHoldReason = 1024

// CreateHold validates and stores a legal hold, and records it in the audit
// log (what is held and for which purpose; not the reason's text).
func (s *Service) CreateHold(ctx context.Context, tenantID string, in HoldInput, by Actor) (store.LegalHold, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return store.LegalHold{}, err
	}
	doc := a.Doc
	now := s.now()
	var problems []string
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		problems = append(problems, "reason: a legal hold needs a reason (the case or the law that requires keeping the data)")
	case len(reason) > maxHoldReason || !utf8.ValidString(reason):
		problems = append(problems, "reason: at most 1024 bytes of text")
	}
	for _, c := range in.Categories {
		if !doc.Taxonomy().Has(c) {
			problems = append(problems, "categories: "+c+" is not a data category of the policy")
		}
	}
	for _, c := range in.Collections {
		if doc.CollectionByName(c) == nil {
			problems = append(problems, "collections: "+c+" is not a collection declared in the policy")
		}
	}
	if in.Purpose != "" && doc.PurposeByKey(in.Purpose) == nil {
		problems = append(problems, "purpose: "+in.Purpose+" is not a purpose declared in the policy")
	}
	if !in.Until.IsZero() && !in.Until.After(now) {
		problems = append(problems, "until: must be in the future")
	}
	if len(problems) > 0 {
		return store.LegalHold{}, &InputError{Msg: strings.Join(problems, "; ")}
	}
	h := store.LegalHold{
		TenantID: tenantID, ID: store.NewID(), SubjectID: in.SubjectID,
		Categories: slices.Clone(in.Categories), Collections: slices.Clone(in.Collections),
		Purpose: in.Purpose, Reason: reason, Actor: by.ID, Until: in.Until.UTC(), CreatedAt: now,
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.AddLegalHold(h); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		ev := by.event("legal_hold.create", h.SubjectID)
		ev.Purpose = h.Purpose
		ev.Fields = h.Collections
		ev.Categories = h.Categories
		ev.Reason = "hold " + h.ID + holdScope(h)
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return store.LegalHold{}, err
	}
	return h, nil
}

// holdScope describes a hold's reach for the audit reason, without its text.
func holdScope(h store.LegalHold) string {
	var b strings.Builder
	if h.SubjectID == "" {
		b.WriteString(" of every subject")
	}
	if len(h.Categories) == 0 && len(h.Collections) == 0 {
		b.WriteString(", all data")
	}
	if !h.Until.IsZero() {
		b.WriteString(", until " + h.Until.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// ListHolds returns the tenant's holds (of one subject and the tenant-wide
// ones, or all with subjectID empty), newest first; activeOnly leaves out
// released and ended ones.
func (s *Service) ListHolds(ctx context.Context, tenantID, subjectID string, activeOnly bool) ([]store.LegalHold, error) {
	now := s.now()
	var out []store.LegalHold
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		hs, err := tx.ListLegalHolds(tenantID, subjectID)
		out = out[:0]
		for _, h := range hs {
			if !activeOnly || h.ActiveAt(now) {
				out = append(out, h)
			}
		}
		return err
	})
	return out, err
}

// GetHold returns one hold, or ErrNotFound.
func (s *Service) GetHold(ctx context.Context, tenantID, id string) (store.LegalHold, error) {
	var h store.LegalHold
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		h, err = tx.GetLegalHold(tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return h, ErrNotFound
	}
	return h, err
}

// ReleaseHold ends a hold now (releasing twice keeps the first time) and
// audits it. Data the hold kept past its retention, or past its subject's
// erasure, is due from then on: a subject's own hold sweeps that subject at
// once, a tenant-wide one leaves it to the next sweep.
func (s *Service) ReleaseHold(ctx context.Context, tenantID, id string, by Actor) (store.LegalHold, error) {
	now := s.now()
	var h store.LegalHold
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		old, err := tx.GetLegalHold(tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.ReleaseLegalHold(tenantID, id, now); err != nil {
			return err
		}
		if h, err = tx.GetLegalHold(tenantID, id); err != nil {
			return err
		}
		if !old.ReleasedAt.IsZero() {
			return nil // already released: nothing happened to audit
		}
		ev := by.event("legal_hold.release", h.SubjectID)
		ev.Purpose = h.Purpose
		ev.Fields = h.Collections
		ev.Categories = h.Categories
		ev.Reason = "hold " + h.ID + " released"
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return store.LegalHold{}, err
	}
	if h.SubjectID != "" {
		if _, err := s.SweepSubject(ctx, tenantID, h.SubjectID); err != nil {
			s.log().Warn("sweep after releasing a hold failed; the next sweep will do it", "tenant", tenantID, "err", err.Error())
		}
	}
	return h, nil
}

// holdCovers reports whether an active hold keeps an item of a subject: the
// hold names the subject or every subject, and it holds everything, or the
// item's collection, or a category that covers the item's. An item the
// policy no longer declares (no category) is held only by a hold of all data.
func holdCovers(doc *policy.Document, h store.LegalHold, subjectID, kind, name, category string) bool {
	if h.SubjectID != "" && h.SubjectID != subjectID {
		return false
	}
	if len(h.Categories) == 0 && len(h.Collections) == 0 {
		return true
	}
	if kind == store.ItemRecord && slices.Contains(h.Collections, name) {
		return true
	}
	if category == "" {
		return false
	}
	for _, c := range h.Categories {
		if doc.Taxonomy().Covers(c, category) {
			return true
		}
	}
	return false
}

// activeHolds returns the tenant's holds in force at now, and whether one of
// them holds all data of every subject (then nothing of the tenant expires).
func activeHolds(tx store.Tx, tenantID string, now time.Time) ([]store.LegalHold, bool, error) {
	hs, err := tx.ListLegalHolds(tenantID, "")
	if err != nil {
		return nil, false, err
	}
	var out []store.LegalHold
	all := false
	for _, h := range hs {
		if !h.ActiveAt(now) {
			continue
		}
		out = append(out, h)
		if h.SubjectID == "" && len(h.Categories) == 0 && len(h.Collections) == 0 {
			all = true
		}
	}
	return out, all, nil
}
