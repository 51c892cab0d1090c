// Package retention makes a policy's retention rules run. Every field value
// and collection record stores its due time, derived from its rule (a
// duration counted from collection, last activity, contract end or account
// closure) and the subject's trigger times; a trigger that moves (new
// activity, a contract end set later) moves the due times with it, in the
// same transaction. A leased periodic sweep reads only the due rows, in
// bounded batches of one transaction each, and deletes or anonymises them
// unless a legal hold keeps them, audited per subject; it erases or flags
// children below the policy's minimum age, finishes subjects left without
// data (their keys destroyed), and recomputes due times after a policy
// change. See docs/retention.md.
package retention

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// ExpiresAt is when data collected at collectedAt stops being kept under
// rule, for subject s. The zero time means "not yet known": the rule counts
// from an event (contract end, account closure) that has not happened.
func ExpiresAt(rule *policy.RetentionRule, s *store.Subject, collectedAt time.Time) time.Time {
	if rule == nil {
		return time.Time{}
	}
	var base time.Time
	switch rule.Trigger {
	case policy.TriggerCollected:
		base = collectedAt
	case policy.TriggerLastActivity:
		base = s.LastActivityAt
	case policy.TriggerContractEnd:
		base = s.ContractEndAt
	case policy.TriggerAccountClosed:
		base = s.AccountClosedAt
	}
	if base.IsZero() {
		return time.Time{}
	}
	return rule.Duration.AddTo(base)
}

// DueAt is the due time stored with an item (expires_at): ExpiresAt, except
// that once the subject is erased, everything its retention rule does not
// keep by law is due at the erasure. Such data survived the erasure only
// because a legal hold covered it, and must go as soon as no hold does; a
// rule kept by law runs its course. An item without a rule belongs to no
// declared field or collection: it is never due while the subject is
// active (the read path withholds it) and due at an erasure.
func DueAt(rule *policy.RetentionRule, s *store.Subject, collectedAt time.Time) time.Time {
	exp := ExpiresAt(rule, s, collectedAt)
	if s.State != store.SubjectErased || (rule != nil && rule.KeptByLaw != "") {
		return exp
	}
	erased := s.ErasedAt
	if erased.IsZero() {
		erased = s.UpdatedAt
	}
	if exp.IsZero() || erased.Before(exp) {
		return erased
	}
	return exp
}

// dueByErasure reports whether an item is due because its subject was
// erased rather than because its rule ran out: it is then deleted, as the
// erasure would have done, whatever the rule's action.
func dueByErasure(rule *policy.RetentionRule, s *store.Subject, collectedAt, now time.Time) bool {
	if s.State != store.SubjectErased || (rule != nil && rule.KeptByLaw != "") {
		return false
	}
	exp := ExpiresAt(rule, s, collectedAt)
	return exp.IsZero() || exp.After(now)
}

// ruleGroup is the declared fields and collections that follow one rule.
type ruleGroup struct {
	rule        *policy.RetentionRule
	fields      []string
	collections []string
}

// groupsOf groups the policy's declared fields and collections by their
// retention rule (rules in order of first use; names without a rule left
// out). It is a few map lookups per declared name, cheap enough to do per
// write rather than cache per document.
func groupsOf(doc *policy.Document) []ruleGroup {
	idx := map[*policy.RetentionRule]int{}
	var out []ruleGroup
	group := func(r *policy.RetentionRule) *ruleGroup {
		i, ok := idx[r]
		if !ok {
			i = len(out)
			idx[r] = i
			out = append(out, ruleGroup{rule: r})
		}
		return &out[i]
	}
	for i := range doc.Policy.Fields {
		f := &doc.Policy.Fields[i]
		if r := doc.RetentionFor(f.Name); r != nil {
			g := group(r)
			g.fields = append(g.fields, f.Name)
		}
	}
	for i := range doc.Policy.Collections {
		c := &doc.Policy.Collections[i]
		if r := doc.RetentionFor(c.Name); r != nil {
			g := group(r)
			g.collections = append(g.collections, c.Name)
		}
	}
	return out
}

// RecomputeSubject updates, inside tx, the stored due times of the
// subject's rows whose rule counts from one of the given triggers (every
// trigger that belongs to the subject — last activity, contract end, account
// closure — when none is given), from s as it is now. Rules counted from
// collection are left alone: their due time does not move. When the subject
// is erased, every row not kept by law is also made due at the erasure.
//
// The vault calls it in the same transaction as the change that moved the
// trigger, so a sweep never sees the new trigger with the old due times.
// Callers must hold the subject's row (they have just updated it), so a
// concurrent sweep decides on the same values.
func RecomputeSubject(tx store.Tx, doc *policy.Document, s *store.Subject, triggers ...policy.RetentionTrigger) error {
	if len(triggers) == 0 {
		triggers = []policy.RetentionTrigger{policy.TriggerLastActivity, policy.TriggerContractEnd, policy.TriggerAccountClosed}
	}
	var capF, capC []string
	for _, g := range groupsOf(doc) {
		if g.rule.Trigger != policy.TriggerCollected && slices.Contains(triggers, g.rule.Trigger) {
			if err := tx.SetSubjectExpiry(s.TenantID, s.ID, g.fields, g.collections, DueAt(g.rule, s, time.Time{})); err != nil {
				return err
			}
		}
		if s.State == store.SubjectErased && g.rule.KeptByLaw == "" {
			capF, capC = append(capF, g.fields...), append(capC, g.collections...)
		}
	}
	if len(capF)+len(capC) > 0 {
		at := s.ErasedAt
		if at.IsZero() {
			at = s.UpdatedAt
		}
		return tx.CapSubjectExpiry(s.TenantID, s.ID, capF, capC, at)
	}
	return nil
}

// signature is what the stored due times of a tenant depend on in its
// policy: for each declared field ("f:name") and collection ("c:name"), its
// rule's duration, trigger and whether it is kept by law. Two policy versions
// with the same signature need no recompute, whatever else changed (a rule
// renamed, a description, a purpose).
func signature(doc *policy.Document) map[string]string {
	sig := map[string]string{}
	put := func(key string, r *policy.RetentionRule) {
		if r == nil {
			sig[key] = ""
			return
		}
		law := ""
		if r.KeptByLaw != "" {
			law = "law"
		}
		sig[key] = r.Duration.String() + "|" + string(r.Trigger) + "|" + law
	}
	for i := range doc.Policy.Fields {
		n := doc.Policy.Fields[i].Name
		put("f:"+n, doc.RetentionFor(n))
	}
	for i := range doc.Policy.Collections {
		n := doc.Policy.Collections[i].Name
		put("c:"+n, doc.RetentionFor(n))
	}
	return sig
}

// signatureText is signature as canonical JSON (encoding/json sorts map
// keys), for storage and comparison.
func signatureText(doc *policy.Document) string {
	b, _ := json.Marshal(signature(doc))
	return string(b)
}
