// Package retention computes when data stops being kept and, later, runs the
// sweeps that delete or anonymise it. Expiry is derived from the policy's
// retention rule and the subject's trigger times, so a trigger that moves
// (new activity, a contract end set later) moves every expiry with it.
package retention

import (
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
