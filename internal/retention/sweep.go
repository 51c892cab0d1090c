package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Result says what a sweep did: counts and rule names, never values.
type Result struct {
	TenantID          string `json:"-"`
	FieldsDeleted     int64  `json:"fields_deleted"`
	RecordsDeleted    int64  `json:"records_deleted"`
	RecordsAnonymised int64  `json:"records_anonymised"`
	// Held counts due rows a legal hold kept.
	Held int64 `json:"held"`
	// Postponed counts rows whose stored due time was stale (a trigger
	// moved, the policy changed) and was corrected instead of acted on.
	Postponed int64 `json:"postponed"`
	// SubjectsErased counts subjects the sweep emptied whose account was
	// closed (or who were erased with data kept): marked erased, data key
	// destroyed.
	SubjectsErased int64 `json:"subjects_erased"`
	MinorsErased   int64 `json:"minors_erased"`
	MinorsFlagged  int64 `json:"minors_flagged"`
	// Recomputed counts rows whose due time a policy change moved.
	Recomputed int64 `json:"recomputed"`
	// TenantHold is true when a hold of all data of every subject stopped
	// every deletion.
	TenantHold bool `json:"tenant_hold"`
	Batches    int  `json:"batches"`
	// Complete is false when the sweep was stopped (deadline, shutdown)
	// before it finished; what it did is committed, the next sweep goes on.
	Complete bool `json:"complete"`
	// ByRule counts what each retention rule did.
	ByRule map[string]*RuleResult `json:"by_rule"`
}

// RuleResult is what one rule did in a sweep.
type RuleResult struct {
	Deleted    int64 `json:"deleted"`
	Anonymised int64 `json:"anonymised"`
}

func (r *Result) rule(key string) *RuleResult {
	if r.ByRule == nil {
		r.ByRule = map[string]*RuleResult{}
	}
	rr := r.ByRule[key]
	if rr == nil {
		rr = &RuleResult{}
		r.ByRule[key] = rr
	}
	return rr
}

func (r *Result) add(o *Result) {
	r.FieldsDeleted += o.FieldsDeleted
	r.RecordsDeleted += o.RecordsDeleted
	r.RecordsAnonymised += o.RecordsAnonymised
	r.Held += o.Held
	r.Postponed += o.Postponed
	r.SubjectsErased += o.SubjectsErased
	for k, v := range o.ByRule {
		rr := r.rule(k)
		rr.Deleted += v.Deleted
		rr.Anonymised += v.Anonymised
	}
}

// errStopped ends a sweep early, without error, when its context is done.
var errStopped = errors.New("sweep stopped")

// SweepAll sweeps every tenant with a policy, one after the other, and
// finishes pending key destructions. It returns the results per tenant id;
// a tenant that fails does not stop the others (the error joins them all).
func (s *Service) SweepAll(ctx context.Context) (map[string]Result, error) {
	var ts []store.Tenant
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) { ts, err = tx.ListTenants(); return err }); err != nil {
		return nil, err
	}
	out := map[string]Result{}
	var errs []error
	for _, t := range ts {
		if ctx.Err() != nil {
			break
		}
		r, err := s.Sweep(ctx, t.ID)
		if errors.Is(err, ErrNoPolicy) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
		}
		out[t.ID] = r
	}
	if err := s.DrainShreds(ctx); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// Sweep runs retention for one tenant: it brings stored due times up to date
// with the active policy (recompute), deletes or anonymises every due row
// that no legal hold keeps, in batches of Batch rows, one transaction each,
// erases or flags children per the policy, and finishes subjects left
// without data. A crash between batches loses nothing (each batch
// committed, or not at all) and acts on nothing twice (an acted-on row is
// gone); the next sweep continues where this one stopped.
func (s *Service) Sweep(ctx context.Context, tenantID string) (Result, error) {
	return s.sweep(ctx, tenantID, "")
}

// SweepSubject sweeps one subject at once: what a trigger that just moved
// made due (a 0d rule after an account closure) is gone when the request
// that moved it returns, not at the next periodic sweep.
func (s *Service) SweepSubject(ctx context.Context, tenantID, subjectID string) (Result, error) {
	return s.sweep(ctx, tenantID, subjectID)
}

func (s *Service) sweep(ctx context.Context, tenantID, subjectID string) (Result, error) {
	res := Result{TenantID: tenantID, ByRule: map[string]*RuleResult{}}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return res, err
	}
	doc := a.Doc
	now := s.now()
	stopped := func(err error) (Result, error) {
		if errors.Is(err, errStopped) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			return res, nil
		}
		return res, err
	}
	if subjectID == "" {
		n, err := s.recompute(ctx, tenantID, doc)
		res.Recomputed = n
		if err != nil {
			return stopped(err)
		}
	}
	for _, kind := range []string{store.ItemField, store.ItemRecord} {
		if err := s.sweepKind(ctx, doc, tenantID, subjectID, kind, now, &res); err != nil {
			return stopped(err)
		}
	}
	if subjectID != "" {
		if err := s.finishOne(ctx, doc, tenantID, subjectID, now, &res); err != nil {
			return stopped(err)
		}
	} else if err := s.children(ctx, doc, tenantID, now, &res); err != nil {
		return stopped(err)
	}
	if err := s.DrainShreds(ctx); err != nil {
		return stopped(err)
	}
	res.Complete = true
	if res.FieldsDeleted+res.RecordsDeleted+res.RecordsAnonymised+res.SubjectsErased+res.MinorsErased > 0 {
		s.log().Info("retention sweep", "tenant", tenantID, "fields_deleted", res.FieldsDeleted, "records_deleted", res.RecordsDeleted,
			"records_anonymised", res.RecordsAnonymised, "held", res.Held, "subjects_erased", res.SubjectsErased, "minors_erased", res.MinorsErased)
	}
	return res, nil
}

// needsData reports whether some collection keeps attributes through
// anonymisation, so due records must be read with their ciphertexts.
func needsData(doc *policy.Document) bool {
	for i := range doc.Policy.Collections {
		c := &doc.Policy.Collections[i]
		if r := doc.RetentionFor(c.Name); r != nil && r.Action == policy.ActionAnonymise && len(c.Anonymise.Keep) > 0 {
			return true
		}
	}
	return false
}

// sweepKind walks the due rows of one kind in keyset order, one batch per
// transaction. Rows a hold keeps, or whose due time turns out stale, stay
// behind the cursor, so a batch never reads them again in this sweep.
func (s *Service) sweepKind(ctx context.Context, doc *policy.Document, tenantID, subjectID, kind string, now time.Time, res *Result) error {
	limit := s.batch()
	f := store.DueFilter{TenantID: tenantID, SubjectID: subjectID, Before: now, Limit: limit,
		WithData: kind == store.ItemRecord && s.Keys != nil && needsData(doc)}
	for {
		if ctx.Err() != nil {
			return errStopped
		}
		var items []store.DueItem
		err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
			if kind == store.ItemField {
				items, err = tx.DueFields(f)
			} else {
				items, err = tx.DueRecords(f)
			}
			return err
		})
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		last := items[len(items)-1]
		f.After = store.DueCursor{ExpiresAt: last.ExpiresAt, SubjectID: last.SubjectID, Name: last.Name, RecordID: last.RecordID}
		var attrs map[string]string
		if f.WithData {
			attrs = s.keptAttributes(ctx, doc, tenantID, items)
		}
		if err := s.applyBatch(ctx, doc, tenantID, kind, items, attrs, now, res); err != nil {
			return err
		}
		if len(items) < limit {
			return nil
		}
	}
}

// itemMeta is what a batch decided about one row it deletes.
type itemMeta struct {
	rule       *policy.RetentionRule
	category   string
	coll       *policy.Collection
	collected  time.Time
	byErasure  bool
	anonymised bool
}

// subjectLog gathers one subject's changes in a batch for its audit event.
type subjectLog struct {
	parts      map[string]int // "rule|action|kind|name" -> count
	names      []string
	categories []string
}

// countKey is one anonymised counter.
type countKey struct{ collection, category, period, attrs string }

// applyBatch decides and acts on one page of due rows in one write
// transaction. It locks the rows' subjects and re-reads them and the holds
// in force, so what it does follows the state at commit: a row whose due
// time moved meanwhile (new activity, a policy change) is corrected, not
// deleted; a row a new hold covers is kept; a row someone else deleted is
// not counted. Every subject touched gets one audit event, in the same
// transaction.
func (s *Service) applyBatch(ctx context.Context, doc *policy.Document, tenantID, kind string, items []store.DueItem, attrs map[string]string, now time.Time, res *Result) error {
	var br Result
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if len(ids) == 0 || ids[len(ids)-1] != it.SubjectID {
			ids = append(ids, it.SubjectID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		br = Result{}
		subjects, err := tx.LockSubjects(tenantID, ids)
		if err != nil {
			return err
		}
		byID := make(map[string]*store.Subject, len(subjects))
		for i := range subjects {
			byID[subjects[i].ID] = &subjects[i]
		}
		holds, all, err := activeHolds(tx, tenantID, now)
		if err != nil {
			return err
		}
		if all {
			br.TenantHold = true
			br.Held = int64(len(items))
			return nil
		}
		var del []store.ItemKey
		var upd []store.ExpiryUpdate
		meta := make(map[store.ItemKey]itemMeta, len(items))
	items:
		for _, it := range items {
			subj := byID[it.SubjectID]
			if subj == nil {
				continue // rows cannot outlive their subject; nothing to do
			}
			rule, category, coll := ruleFor(doc, kind, it.Name)
			due := DueAt(rule, subj, it.CollectedAt)
			if due.IsZero() || due.After(now) {
				if !due.Equal(it.ExpiresAt) {
					upd = append(upd, store.ExpiryUpdate{Key: it.Key(), At: due})
				}
				br.Postponed++
				continue
			}
			for _, h := range holds {
				if holdCovers(doc, h, it.SubjectID, kind, it.Name, category) {
					br.Held++
					continue items
				}
			}
			m := itemMeta{rule: rule, category: category, coll: coll, collected: it.CollectedAt,
				byErasure: dueByErasure(rule, subj, it.CollectedAt, now)}
			m.anonymised = kind == store.ItemRecord && rule != nil && rule.Action == policy.ActionAnonymise && !m.byErasure
			del = append(del, it.Key())
			meta[it.Key()] = m
		}
		deleted, err := tx.DeleteItems(tenantID, kind, del)
		if err != nil {
			return err
		}
		if err := tx.SetExpiries(tenantID, kind, upd); err != nil {
			return err
		}
		counts := map[countKey]int64{}
		logs := map[string]*subjectLog{}
		for _, k := range deleted {
			m := meta[k]
			if kind == store.ItemField {
				if def := doc.FieldByName(k.Name); def != nil && def.Identity != "" {
					if err := tx.DeleteIdentity(tenantID, k.SubjectID, k.Name); err != nil {
						return err
					}
				}
			}
			action := "deleted"
			switch {
			case m.anonymised:
				action = "anonymised"
				gen := ""
				if m.coll != nil {
					gen = m.coll.Anonymise.Generalise.Date
				}
				counts[countKey{k.Name, m.category, period(m.collected, gen), attrs[k.RecordID]}]++
				br.RecordsAnonymised++
			case kind == store.ItemField:
				br.FieldsDeleted++
			default:
				br.RecordsDeleted++
			}
			ruleKey := "undeclared"
			switch {
			case m.byErasure:
				ruleKey = "erasure"
			case m.rule != nil:
				ruleKey = m.rule.Key
			}
			rr := br.rule(ruleKey)
			if m.anonymised {
				rr.Anonymised++
			} else {
				rr.Deleted++
			}
			l := logs[k.SubjectID]
			if l == nil {
				l = &subjectLog{parts: map[string]int{}}
				logs[k.SubjectID] = l
			}
			l.parts[ruleKey+"|"+action+"|"+kind+"|"+k.Name]++
			l.names = append(l.names, k.Name)
			if m.category != "" {
				l.categories = append(l.categories, m.category)
			}
		}
		if len(counts) > 0 {
			rows := make([]store.AnonymisedCount, 0, len(counts))
			for k, n := range counts {
				rows = append(rows, store.AnonymisedCount{TenantID: tenantID, Collection: k.collection, Category: k.category,
					Period: k.period, Attributes: k.attrs, Total: n, UpdatedAt: now})
			}
			// A fixed order, so concurrent sweeps of one tenant lock
			// counters in the same order.
			sort.Slice(rows, func(i, j int) bool {
				a, b := rows[i], rows[j]
				return a.Collection+"\x00"+a.Period+"\x00"+a.Category+"\x00"+a.Attributes < b.Collection+"\x00"+b.Period+"\x00"+b.Category+"\x00"+b.Attributes
			})
			if err := tx.AddAnonymisedCounts(rows); err != nil {
				return err
			}
		}
		touched := make([]string, 0, len(logs))
		for id := range logs {
			touched = append(touched, id)
		}
		slices.Sort(touched)
		evs := make([]audit.Event, 0, len(touched))
		for _, id := range touched {
			evs = append(evs, expireEvent(id, logs[id], now))
		}
		if err := s.Audit.AppendAll(tx, tenantID, evs); err != nil {
			return err
		}
		for _, id := range touched {
			done, err := s.finish(tx, tenantID, byID[id], now)
			if err != nil {
				return err
			}
			if done {
				br.SubjectsErased++
			}
		}
		if s.afterBatch != nil {
			s.afterBatch("tx", res.Batches+1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Batches++
	res.add(&br)
	res.TenantHold = res.TenantHold || br.TenantHold
	if s.afterBatch != nil {
		s.afterBatch("committed", res.Batches)
	}
	return nil
}

// expireEvent is the audit event of what one batch did to one subject: the
// rules, actions and names, never values.
func expireEvent(subjectID string, l *subjectLog, now time.Time) audit.Event {
	keys := make([]string, 0, len(l.parts))
	for k := range l.parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		p := strings.SplitN(k, "|", 4)
		if i > 0 {
			b.WriteString("; ")
		}
		if p[2] == store.ItemField {
			fmt.Fprintf(&b, "rule %s: field %s %s", p[0], p[3], p[1])
		} else {
			fmt.Fprintf(&b, "rule %s: %d record(s) of %s %s", p[0], l.parts[k], p[3], p[1])
		}
	}
	reason := b.String()
	if len(reason) > 4000 {
		reason = reason[:4000] + " ..."
	}
	slices.Sort(l.names)
	slices.Sort(l.categories)
	ev := systemActor.event("retention.expire", subjectID)
	ev.Fields = slices.Compact(l.names)
	ev.Categories = slices.Compact(l.categories)
	ev.Reason = reason
	ev.At = now
	return ev
}

// finish erases a subject the sweep has emptied when nothing more is
// expected of it: its account is closed, or it was erased with data kept
// that has now gone. It marks the subject erased, audits it and queues the
// destruction of its data key (JobShred) in tx, so the key is destroyed
// even if the process dies right after the commit. It reports whether it
// finished the subject.
func (s *Service) finish(tx store.Tx, tenantID string, subj *store.Subject, now time.Time) (bool, error) {
	if subj == nil {
		return false, nil
	}
	closed := !subj.AccountClosedAt.IsZero() && !subj.AccountClosedAt.After(now)
	if subj.State != store.SubjectErased && !closed {
		return false, nil
	}
	has, err := tx.SubjectHasData(tenantID, subj.ID)
	if err != nil || has {
		return false, err
	}
	reason := "data kept after the erasure has ended: data key destroyed"
	if subj.State != store.SubjectErased {
		reason = "account closed and every retention period ended: subject erased, data key destroyed"
		if err := tx.EraseSubject(tenantID, subj.ID, now, nil, nil); err != nil {
			return false, err
		}
		subj.State, subj.ErasedAt = store.SubjectErased, now
	}
	payload, _ := json.Marshal(shredPayload{TenantID: tenantID, SubjectID: subj.ID})
	if _, err := tx.EnqueueJob(store.Job{ID: store.NewID(), TenantID: tenantID, Kind: JobShred, Key: tenantID + "/" + subj.ID,
		Payload: payload, RunAt: now, CreatedAt: now, MaxAttempts: 100}); err != nil {
		return false, err
	}
	ev := systemActor.event("retention.subject_erase", subj.ID)
	ev.Reason = reason
	ev.At = now
	return true, s.Audit.Append(tx, tenantID, ev)
}

// finishOne finishes one subject if it is closed and empty (after an
// immediate sweep of it, which may have had nothing to delete).
func (s *Service) finishOne(ctx context.Context, doc *policy.Document, tenantID, subjectID string, now time.Time, res *Result) error {
	var done bool
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		subs, err := tx.LockSubjects(tenantID, []string{subjectID})
		if err != nil || len(subs) == 0 {
			return err
		}
		if subs[0].State == store.SubjectErased {
			// Erased with nothing kept: the vault destroyed the key itself.
			// Erased with data kept: finish only once that data is gone.
			has, err := tx.SubjectHasData(tenantID, subjectID)
			if err != nil || has {
				return err
			}
			if _, shredded, err := s.shreddedAt(tx.Context(), tenantID, subjectID); err != nil || shredded {
				return err
			}
		}
		done, err = s.finish(tx, tenantID, &subs[0], now)
		return err
	})
	if done {
		res.SubjectsErased++
	}
	return err
}

// shreddedAt asks the key store whether a subject's key is destroyed; false
// without keys.
func (s *Service) shreddedAt(ctx context.Context, tenantID, subjectID string) (time.Time, bool, error) {
	if s.Keys == nil {
		return time.Time{}, false, nil
	}
	return s.Keys.ShreddedAt(context.WithoutCancel(ctx), tenantID, subjectID)
}

// keptAttributes opens the due records whose anonymisation keeps attributes
// and returns those attributes by record id. It runs before the batch's
// write transaction, so the key store is not read while the data store's
// writer waits; records are immutable, so what it read is what the batch
// deletes. A record that does not open is counted without attributes.
func (s *Service) keptAttributes(ctx context.Context, doc *policy.Document, tenantID string, items []store.DueItem) map[string]string {
	out := map[string]string{}
	failed := 0
	for _, it := range items {
		rule, _, coll := ruleFor(doc, store.ItemRecord, it.Name)
		if coll == nil || rule == nil || rule.Action != policy.ActionAnonymise || len(coll.Anonymise.Keep) == 0 || it.Ciphertext == nil {
			continue
		}
		dk, err := s.Keys.SubjectKey(ctx, tenantID, it.SubjectID)
		if err != nil {
			failed++
			out[it.RecordID] = "{}"
			continue
		}
		pt, err := dk.Open(keys.RecordAD(tenantID, it.SubjectID, it.Name, it.RecordID), it.Ciphertext)
		if err != nil {
			failed++
			out[it.RecordID] = "{}"
			continue
		}
		out[it.RecordID] = attributes(pt, coll.Anonymise.Keep)
		clear(pt)
	}
	if failed > 0 {
		s.log().Warn("records anonymised without their kept attributes: they did not open", "tenant", tenantID, "count", failed)
	}
	return out
}
