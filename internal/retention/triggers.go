package retention

import (
	"context"
	"errors"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// TriggerResult says what moving a trigger did.
type TriggerResult struct {
	ID      string     `json:"id"`
	Trigger string     `json:"trigger"`
	At      *time.Time `json:"at"`
	// Swept is what the immediate sweep of the subject did: rules counted
	// from the trigger that are already over (0d, immediately) act at
	// once.
	Swept Result `json:"swept"`
}

// maxTriggerSkew bounds how far a trigger time may lie from now: a contract
// may end in the future, an account may have been closed in the past, but
// a date centuries away is a mistake.
const maxTriggerSkew = 100 * 365 * 24 * time.Hour

// SetTrigger records a subject's contract end or account closure (trigger
// contract_end or account_closed) at at, or clears it when at is zero (a
// contract renewed, an account reopened). In the same transaction it
// recomputes the due times of the rows whose rules count from that trigger,
// and audits the change; then, if the trigger is not in the future, it
// sweeps the subject at once, so rules of 0d (immediately) act before it
// returns. Rows already deleted stay deleted when a trigger is cleared.
func (s *Service) SetTrigger(ctx context.Context, tenantID, subjectID string, trigger policy.RetentionTrigger, at time.Time, by Actor) (TriggerResult, error) {
	var col string
	switch trigger {
	case policy.TriggerContractEnd:
		col = store.TriggerContractEnd
	case policy.TriggerAccountClosed:
		col = store.TriggerAccountClosed
	default:
		return TriggerResult{}, inputf("trigger must be contract_end or account_closed")
	}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return TriggerResult{}, err
	}
	now := s.now()
	if !at.IsZero() {
		at = at.UTC().Truncate(time.Microsecond)
		if d := at.Sub(now); d > maxTriggerSkew || d < -maxTriggerSkew {
			return TriggerResult{}, inputf("at must be within a hundred years of now")
		}
	}
	out := TriggerResult{ID: subjectID, Trigger: string(trigger)}
	if !at.IsZero() {
		out.At = &at
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		subj, err := tx.GetSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if subj.State == store.SubjectErased {
			return ErrErased
		}
		// The targeted update takes the subject's row lock first; the row
		// read after it is current, and a concurrent activity waits.
		if err := tx.SetSubjectTrigger(tenantID, subjectID, col, at, now); err != nil {
			return err
		}
		if subj, err = tx.GetSubject(tenantID, subjectID); err != nil {
			return err
		}
		if err := RecomputeSubject(tx, a.Doc, &subj, trigger); err != nil {
			return err
		}
		ev := by.event("subject."+col, subjectID)
		ev.Reason = "cleared"
		if !at.IsZero() {
			ev.Reason = "set to " + at.Format(time.RFC3339)
		}
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return TriggerResult{}, err
	}
	if !at.IsZero() && !at.After(now) {
		r, err := s.SweepSubject(ctx, tenantID, subjectID)
		if err != nil {
			// Committed: the next periodic sweep finishes what this one could not.
			s.log().Warn("immediate sweep after a trigger failed; the next sweep will do it", "tenant", tenantID, "err", err.Error())
		}
		out.Swept = r
	}
	return out, nil
}
