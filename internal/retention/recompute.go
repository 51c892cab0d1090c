package retention

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// When a policy version changes a rule (a duration, a trigger, kept by law,
// or which rule a field follows), the stored due times of the rows it
// governs are stale. The recompute brings them up to date in bounded
// batches, one transaction each, recording its position in retention_state
// in the same transaction, so it resumes after a crash and never redoes a
// committed batch. It runs at the start of a sweep, which acts only after
// it has finished; and a sweep re-checks every due row against the active
// policy anyway, so a stale due time can delay an action, never hasten it.
//
// The first sweep after the upgrade that added due times finds no state:
// it computes every row of the tenant (the migration's backfill).

// recomputeProgress is where a recompute stopped.
type recomputeProgress struct {
	Kind     string `json:"kind"` // field | record; "" = start with fields
	Subject  string `json:"subject,omitempty"`
	Name     string `json:"name,omitempty"`
	RecordID string `json:"record_id,omitempty"`
}

// changed returns the field and collection names whose signature differs
// between two signature texts, and whether every row must be recomputed
// (no signature applied yet).
func changed(applied, target string) (fields, colls []string, all bool) {
	if applied == "" {
		return nil, nil, true
	}
	var a, t map[string]string
	if json.Unmarshal([]byte(applied), &a) != nil || json.Unmarshal([]byte(target), &t) != nil {
		return nil, nil, true
	}
	diff := map[string]bool{}
	for k, v := range t {
		if a[k] != v {
			diff[k] = true
		}
	}
	for k, v := range a {
		if t[k] != v {
			diff[k] = true
		}
	}
	for k := range diff {
		switch {
		case strings.HasPrefix(k, "f:"):
			fields = append(fields, k[2:])
		case strings.HasPrefix(k, "c:"):
			colls = append(colls, k[2:])
		}
	}
	slices.Sort(fields)
	slices.Sort(colls)
	return fields, colls, false
}

// RecomputePending reports whether the tenant's stored due times do not yet
// follow the active policy (a recompute has to run or is running).
func (s *Service) RecomputePending(ctx context.Context, tenantID string) (bool, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return false, err
	}
	var st store.RetentionState
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.GetRetentionState(tenantID); return err })
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return st.Target != "" || st.Applied != signatureText(a.Doc), nil
}

// recompute brings the tenant's stored due times up to date with doc and
// returns how many rows it changed.
func (s *Service) recompute(ctx context.Context, tenantID string, doc *policy.Document) (int64, error) {
	sig := signatureText(doc)
	var st store.RetentionState
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) { st, err = tx.GetRetentionState(tenantID); return err })
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = store.RetentionState{TenantID: tenantID}
	case err != nil:
		return 0, err
	}
	if st.Applied == sig && st.Target == "" {
		return 0, nil
	}
	var prog recomputeProgress
	if st.Target != sig {
		// A new target (or the first): start from the beginning.
		st.Target, st.Progress = sig, ""
	} else if st.Progress != "" {
		_ = json.Unmarshal([]byte(st.Progress), &prog)
	}
	fields, colls, all := changed(st.Applied, sig)
	var total int64
	for {
		if ctx.Err() != nil {
			return total, errStopped
		}
		kind := prog.Kind
		if kind == "" {
			kind = store.ItemField
		}
		names := fields
		if kind == store.ItemRecord {
			names = colls
		}
		next, n, done := prog, int64(0), false
		skip := !all && len(names) == 0
		err := s.Store.Write(ctx, func(tx store.Tx) error {
			next, n, done = prog, 0, false
			var items []store.DueItem
			if !skip {
				var err error
				cur := store.ScanCursor{SubjectID: prog.Subject, Name: prog.Name, RecordID: prog.RecordID}
				if kind == store.ItemField {
					items, err = tx.ScanFields(tenantID, cur, names, s.batch())
				} else {
					items, err = tx.ScanRecords(tenantID, cur, names, s.batch())
				}
				if err != nil {
					return err
				}
			}
			if len(items) == 0 {
				if kind == store.ItemField {
					next = recomputeProgress{Kind: store.ItemRecord}
				} else {
					done = true
				}
			} else {
				var ids []string
				for _, it := range items {
					ids = append(ids, it.SubjectID)
				}
				slices.Sort(ids)
				subjects, err := tx.LockSubjects(tenantID, slices.Compact(ids))
				if err != nil {
					return err
				}
				byID := make(map[string]*store.Subject, len(subjects))
				for i := range subjects {
					byID[subjects[i].ID] = &subjects[i]
				}
				var upd []store.ExpiryUpdate
				for _, it := range items {
					subj := byID[it.SubjectID]
					if subj == nil {
						continue
					}
					rule, _, _ := ruleFor(doc, kind, it.Name)
					if due := DueAt(rule, subj, it.CollectedAt); !due.Equal(it.ExpiresAt) {
						upd = append(upd, store.ExpiryUpdate{Key: it.Key(), At: due})
					}
				}
				if err := tx.SetExpiries(tenantID, kind, upd); err != nil {
					return err
				}
				n = int64(len(upd))
				last := items[len(items)-1]
				next = recomputeProgress{Kind: kind, Subject: last.SubjectID, Name: last.Name, RecordID: last.RecordID}
			}
			ns := st
			ns.UpdatedAt = s.now()
			if done {
				ns.Applied, ns.Target, ns.Progress = sig, "", ""
			} else {
				b, _ := json.Marshal(next)
				ns.Progress = string(b)
			}
			return tx.PutRetentionState(ns)
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			if total > 0 {
				s.log().Info("retention due times recomputed for a new policy", "tenant", tenantID, "rows", total)
			}
			return total, nil
		}
		prog = next
	}
}
