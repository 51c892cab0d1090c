package breach

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Bases of an affected subject.
const (
	BasisExplicit       = "explicit"
	BasisReadByActor    = "read_by_actor"
	BasisStoredInWindow = "stored_in_window"
)

// readActions are the audit actions that released personal data to their
// actor.
var readActions = []string{"subject.read", "record.list", "subject.contact", "subject.export", "request.export"}

// storeActions are the audit actions that stored personal data.
var storeActions = []string{"subject.create", "subject.update", "record.append"}

// AffectedResult is what ComputeAffected found.
type AffectedResult struct {
	// Total is the size of the affected set afterwards; Added how many the
	// computation added; ByBasis how many subjects each part of the scope
	// found (a subject found twice counts under the first basis only).
	Total   int64            `json:"total"`
	Added   int64            `json:"added"`
	ByBasis map[string]int64 `json:"by_basis"`
	// EventsScanned is how many audit events were read.
	EventsScanned int64 `json:"events_scanned"`
	// Kept reports that earlier rows were kept because notices have
	// already gone out (the set only grows then).
	Kept bool `json:"kept"`
}

// ComputeAffected (re)computes the breach's affected set from its scope:
// the explicit subjects, the subjects the scope's actors read in the window
// (in the scope's categories, if any), and, without actors, the subjects
// whose data in the scope's categories was stored or changed in the window.
// The audit log is read a page at a time and each page's subjects are
// written in their own transaction, so memory stays bounded whatever the
// log's size. Before any notice went out the set is replaced; after, it
// only grows, so notice states are never lost.
func (s *Service) ComputeAffected(ctx context.Context, tenantID, id string, by Actor) (AffectedResult, error) {
	cur, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return AffectedResult{}, err
	}
	if cur.Status == store.BreachClosed {
		return AffectedResult{}, stateErr("the breach is closed")
	}
	sc := cur.Details.Scope
	if sc.Empty() {
		return AffectedResult{}, &InputError{Problems: []FieldProblem{{Field: "scope",
			Message: "is empty: give subject_ids, api_key_ids or actors, categories, or a time window (from, until)"}}}
	}
	res := AffectedResult{ByBasis: map[string]int64{}}
	res.Kept = cur.Affected > cur.Notices[store.NoticePending]
	if !res.Kept {
		if err := s.Store.Write(ctx, func(tx store.Tx) error {
			_, err := tx.ClearBreachAffected(tenantID, id)
			return err
		}); err != nil {
			return res, err
		}
	}
	add := func(basis string, ids []string) error {
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		rows := make([]store.BreachAffected, len(ids))
		now := s.now()
		for i, sid := range ids {
			rows[i] = store.BreachAffected{SubjectID: sid, Basis: basis, UpdatedAt: now}
		}
		for start := 0; start < len(rows); start += store.MaxBreachAffectedBatch {
			part := rows[start:min(start+store.MaxBreachAffectedBatch, len(rows))]
			var n int
			err := s.Store.Write(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.AddBreachAffected(tenantID, id, part)
				return err
			})
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			res.Added += int64(n)
			res.ByBasis[basis] += int64(n)
		}
		return nil
	}
	if err := add(BasisExplicit, append([]string{}, sc.SubjectIDs...)); err != nil {
		return res, err
	}
	if actors := sc.actors(); len(actors) > 0 {
		for _, a := range actors {
			err := s.scanAudit(ctx, tenantID, audit.Filter{Actor: a, Since: sc.From, Until: sc.Until}, &res, func(ev audit.StoredEvent) bool {
				return slices.Contains(readActions, ev.Action) && inCategories(sc.Categories, ev.Categories)
			}, func(ids []string) error { return add(BasisReadByActor, ids) })
			if err != nil {
				return res, err
			}
		}
	} else if len(sc.Categories) > 0 || !sc.From.IsZero() || !sc.Until.IsZero() {
		for _, action := range storeActions {
			err := s.scanAudit(ctx, tenantID, audit.Filter{Action: action, Since: sc.From, Until: sc.Until}, &res, func(ev audit.StoredEvent) bool {
				return inCategories(sc.Categories, ev.Categories)
			}, func(ids []string) error { return add(BasisStoredInWindow, ids) })
			if err != nil {
				return res, err
			}
		}
	}
	now := s.now()
	err = s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		counts, err := tx.CountBreachAffected(tenantID, id)
		if err != nil {
			return err
		}
		res.Total = 0
		for _, n := range counts {
			res.Total += n
		}
		d.AffectedComputedAt = now
		ev := by.event("breach.affected", id, fmt.Sprintf("total=%d added=%d", res.Total, res.Added))
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	return res, err
}

// scanAudit pages through the audit events matching f, newest first, and
// hands the subject ids of those keep accepts to flush, one page at a time.
func (s *Service) scanAudit(ctx context.Context, tenantID string, f audit.Filter, res *AffectedResult,
	keep func(audit.StoredEvent) bool, flush func([]string) error) error {
	f.Limit = store.MaxAuditList
	for {
		page, err := audit.List(ctx, s.Store, tenantID, f)
		if err != nil {
			return err
		}
		var ids []string
		for _, ev := range page.Events {
			res.EventsScanned++
			if ev.SubjectID != "" && ev.Outcome == audit.OutcomeOK && keep(ev) {
				ids = append(ids, ev.SubjectID)
			}
		}
		if err := flush(ids); err != nil {
			return err
		}
		if page.NextCursor == "" {
			return nil
		}
		f.Cursor = page.NextCursor
	}
}

// inCategories reports whether any of got falls under one of want (all
// when want is empty). Events without categories match only an empty want.
func inCategories(want, got []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		for _, g := range got {
			if covers(w, g) {
				return true
			}
		}
	}
	return false
}

// Affected returns a page of the affected set in subject id order, after
// the subject id given, of one notice state ("" for all).
func (s *Service) Affected(ctx context.Context, tenantID, id, after, state string, limit int) ([]store.BreachAffected, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	switch state {
	case "", store.NoticePending, store.NoticeQueued, store.NoticeDelivered, store.NoticeFailed, store.NoticeUnreachable:
	default:
		return nil, &InputError{Problems: []FieldProblem{{Field: "state", Message: "must be pending, queued, delivered, failed or unreachable"}}}
	}
	var out []store.BreachAffected
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.GetBreach(tenantID, id); err != nil {
			return err
		}
		var err error
		out, err = tx.ListBreachAffected(tenantID, id, store.BreachAffectedFilter{After: after, State: state, Limit: limit})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return out, err
}
