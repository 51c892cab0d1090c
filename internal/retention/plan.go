package retention

import (
	"context"
	"slices"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// MaxPlanDays bounds how far a plan looks ahead (ten years).
const MaxPlanDays = 3650

// Plan is a dry run: what the sweep would delete or anonymise by Until,
// grouped by retention rule, from the stored due times. It reads only the
// rows due by then. Counts include rows a legal hold keeps (the sweep will
// skip them) and, while RecomputePending, may follow the previous policy.
type Plan struct {
	Now   time.Time `json:"now"`
	Until time.Time `json:"until"`
	Days  int       `json:"days"`
	// Rules lists every rule of the policy, with what is due under it.
	Rules []PlanRule `json:"rules"`
	// Undeclared counts due rows of fields or collections the policy no
	// longer declares (rows of erased subjects, deleted with them).
	Undeclared []PlanItem `json:"undeclared"`
	// ActiveHolds counts legal holds in force; TenantHold is true when one
	// holds all data of every subject, so nothing will be swept.
	ActiveHolds int  `json:"active_holds"`
	TenantHold  bool `json:"tenant_hold"`
	// RecomputePending is true when a policy change has not yet been
	// applied to the stored due times (the next sweep does it first).
	RecomputePending bool `json:"recompute_pending"`
	// Children is what the children rule does, when the policy sets a
	// minimum age.
	Children *PlanChildren `json:"children,omitempty"`
}

// PlanRule is what is due under one rule.
type PlanRule struct {
	Rule        string     `json:"rule"`
	Duration    string     `json:"duration"`
	Trigger     string     `json:"trigger"`
	Action      string     `json:"action"`
	KeptByLaw   string     `json:"kept_by_law,omitempty"`
	Fields      []PlanItem `json:"fields"`
	Collections []PlanItem `json:"collections"`
	// Total is the number of rows due under the rule.
	Total int64 `json:"total"`
}

// PlanItem is a count of due rows of one field or collection.
type PlanItem struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// PlanChildren lists accounts below the minimum age without parental
// consent, for review.
type PlanChildren struct {
	MinimumAge int    `json:"minimum_age"`
	Action     string `json:"action"`
	// Count is how many such accounts exist now; Subjects holds the first
	// 100 of their ids.
	Count    int      `json:"count"`
	Subjects []string `json:"subjects"`
}

// PlanFor returns what would expire within days days from now.
func (s *Service) PlanFor(ctx context.Context, tenantID string, days int) (Plan, error) {
	if days < 0 || days > MaxPlanDays {
		return Plan{}, inputf("days must be 0 to %d", MaxPlanDays)
	}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Plan{}, err
	}
	doc := a.Doc
	now := s.now()
	p := Plan{Now: now, Until: now.AddDate(0, 0, days), Days: days, Rules: []PlanRule{}, Undeclared: []PlanItem{}}
	var fields, records map[string]int64
	var holds []store.LegalHold
	var minors []string
	action, kids := childrenAction(doc)
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if fields, records, err = tx.CountDue(tenantID, p.Until); err != nil {
			return err
		}
		if holds, p.TenantHold, err = activeHolds(tx, tenantID, now); err != nil {
			return err
		}
		if !kids {
			return nil
		}
		minors = minors[:0]
		after := ""
		for {
			ids, err := tx.ListMinors(tenantID, after, 5000)
			if err != nil || len(ids) == 0 {
				return err
			}
			minors = append(minors, ids...)
			after = ids[len(ids)-1]
		}
	})
	if err != nil {
		return Plan{}, err
	}
	p.ActiveHolds = len(holds)
	if p.RecomputePending, err = s.RecomputePending(ctx, tenantID); err != nil {
		return Plan{}, err
	}
	byRule := map[string]*PlanRule{}
	for i := range doc.Policy.Retention {
		r := &doc.Policy.Retention[i]
		p.Rules = append(p.Rules, PlanRule{Rule: r.Key, Duration: r.Duration.String(), Trigger: string(r.Trigger),
			Action: string(r.Action), KeptByLaw: r.KeptByLaw, Fields: []PlanItem{}, Collections: []PlanItem{}})
	}
	for i := range p.Rules {
		byRule[p.Rules[i].Rule] = &p.Rules[i]
	}
	place := func(kind string, counts map[string]int64) {
		names := make([]string, 0, len(counts))
		for n := range counts {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			it := PlanItem{Name: n, Count: counts[n]}
			rule, _, _ := ruleFor(doc, kind, n)
			pr := (*PlanRule)(nil)
			if rule != nil {
				pr = byRule[rule.Key]
			}
			if pr == nil {
				p.Undeclared = append(p.Undeclared, it)
				continue
			}
			if kind == store.ItemField {
				pr.Fields = append(pr.Fields, it)
			} else {
				pr.Collections = append(pr.Collections, it)
			}
			pr.Total += it.Count
		}
	}
	place(store.ItemField, fields)
	place(store.ItemRecord, records)
	if kids {
		p.Children = &PlanChildren{MinimumAge: doc.Policy.Children.MinimumAge, Action: action, Count: len(minors), Subjects: minors[:min(len(minors), 100)]}
		if p.Children.Subjects == nil {
			p.Children.Subjects = []string{}
		}
	}
	return p, nil
}
