package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Children below the policy's minimum age without a recorded parental
// consent (age status "minor"; GDPR Art. 8) may not use the service. The
// decision engine already withholds their data from every purpose but legal
// obligations and vital interests; the sweep then applies children.action:
// erase (the default) erases each such account as an erasure request would,
// audited; flag leaves them for a person to review (the plan lists them).

// childrenAction returns the policy's action for children, and whether the
// rule applies at all (a minimum age is set).
func childrenAction(doc *policy.Document) (string, bool) {
	c := doc.Policy.Children
	if c.MinimumAge <= 0 {
		return "", false
	}
	if c.Action == "" {
		return "erase", true
	}
	return c.Action, true
}

func (s *Service) children(ctx context.Context, doc *policy.Document, tenantID string, now time.Time, res *Result) error {
	action, ok := childrenAction(doc)
	if !ok {
		return nil
	}
	erase := action == "erase" && s.EraseSubject != nil
	after := ""
	for {
		if ctx.Err() != nil {
			return errStopped
		}
		var ids []string
		if err := s.Store.Read(ctx, func(tx store.Tx) (err error) { ids, err = tx.ListMinors(tenantID, after, s.batch()); return err }); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		after = ids[len(ids)-1]
		for _, id := range ids {
			if !erase {
				res.MinorsFlagged++
				continue
			}
			if err := s.EraseSubject(ctx, tenantID, id); err != nil {
				return fmt.Errorf("erasing a subject below the minimum age: %w", err)
			}
			ev := systemActor.event("retention.minor_erase", id)
			ev.Reason = fmt.Sprintf("below the policy's minimum age (%d) without parental consent; erased (children.action erase)", doc.Policy.Children.MinimumAge)
			ev.At = now
			if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
				return err
			}
			res.MinorsErased++
		}
	}
}
