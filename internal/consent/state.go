package consent

import (
	"context"
	"errors"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Consent statuses of a purpose, as a person and an application see them.
const (
	// StatusGiven: consent is given and counts now.
	StatusGiven = "given"
	// StatusWithdrawn: the latest choice is a withdrawal (or a refusal).
	StatusWithdrawn = "withdrawn"
	// StatusExpired: the consent ran out its lifetime.
	StatusExpired = "expired"
	// StatusRenewalNeeded: given under a policy version that did not cover
	// the purpose as it is now; it must be asked again.
	StatusRenewalNeeded = "renewal_needed"
	// StatusNotGiven: no choice recorded.
	StatusNotGiven = "not_given"
	// StatusOptedOut and StatusOptedIn are the CCPA sale/share choice.
	StatusOptedOut = "opted_out"
	StatusOptedIn  = "not_opted_out"
)

// PurposeState is the current state of one consent-based purpose (or of
// the CCPA choice) for a subject, derived from the ledger.
type PurposeState struct {
	Purpose         string     `json:"purpose" doc:"Purpose key, or ccpa.sale_share."`
	Name            string     `json:"name,omitempty" doc:"The purpose's name in the policy."`
	Status          string     `json:"status" enum:"given,withdrawn,expired,renewal_needed,not_given,opted_out,not_opted_out" doc:"What counts now: the decision engine uses consent only when given."`
	ReceiptID       string     `json:"receipt_id,omitempty" doc:"The latest event's receipt id."`
	Method          string     `json:"method,omitempty"`
	At              *time.Time `json:"at,omitempty" doc:"When the latest choice was made."`
	ExpiresAt       *time.Time `json:"expires_at,omitempty" doc:"When the given consent ends (recorded expiry, or the current lifetime if shorter)."`
	PolicyVersion   int        `json:"policy_version,omitempty" doc:"Policy version of the latest choice."`
	ValidSince      int        `json:"valid_since,omitempty" doc:"Consents given under an earlier policy version need renewal."`
	DirectMarketing bool       `json:"direct_marketing,omitempty"`
	SaleOrShare     bool       `json:"sale_or_share,omitempty"`
}

// SubjectConsents is a subject's consent state and full history.
type SubjectConsents struct {
	SubjectID string         `json:"subject_id"`
	Purposes  []PurposeState `json:"purposes" doc:"Every consent-based purpose of the policy, then ccpa.sale_share."`
	// DoNotSell is the CCPA opt-out in force.
	DoNotSell bool `json:"do_not_sell" doc:"The person opted out of the sale and sharing of personal information (CCPA)."`
	// MarketingObjection is an upheld objection stopping every
	// direct-marketing purpose.
	MarketingObjection bool `json:"marketing_objection" doc:"An upheld objection stops every direct-marketing purpose."`
	// Suppressed: one of the person's addresses is on the suppression list
	// for every direct-marketing purpose (it may come from an earlier,
	// erased account with the same address).
	Suppressed bool       `json:"suppressed" doc:"An address of the person is on the marketing suppression list."`
	History    []EventOut `json:"history" doc:"Every ledger event of the subject, newest first."`
}

// status derives what counts now from the latest event, as the decision
// engine does (docs/decisions.md rule 9).
func status(p *policy.Purpose, st store.ConsentState, validSince int, now time.Time) (string, time.Time) {
	switch st.Kind {
	case store.ConsentWithdrawn:
		return StatusWithdrawn, time.Time{}
	case store.ConsentExpired:
		return StatusExpired, time.Time{}
	}
	exp := st.ExpiresAt
	if l := expiry(p, st.At); !l.IsZero() && (exp.IsZero() || l.Before(exp)) {
		exp = l
	}
	switch {
	case !exp.IsZero() && !exp.After(now):
		return StatusExpired, exp
	case validSince > 0 && st.PolicyVersion < validSince:
		return StatusRenewalNeeded, exp
	}
	return StatusGiven, exp
}

// State returns the subject's current consents and their history, and
// records the read in the audit log (the history holds proof such as user
// agents).
func (s *Service) State(ctx context.Context, tenantID, subjectID string, by Actor) (SubjectConsents, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return SubjectConsents{}, err
	}
	doc := a.Doc
	now := s.now()
	var (
		current    []store.ConsentState
		history    []store.ConsentEvent
		validSince map[string]int
		objs       []store.Objection
		entries    []store.Suppression
	)
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubject(tenantID, subjectID); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var err error
		if current, err = tx.CurrentConsents(tenantID, subjectID); err != nil {
			return err
		}
		if history, err = tx.ConsentHistory(tenantID, subjectID); err != nil {
			return err
		}
		if validSince, err = tx.ConsentValidSince(tenantID); err != nil {
			return err
		}
		if objs, err = tx.ListObjections(tenantID, subjectID); err != nil {
			return err
		}
		hashes, err := s.subjectSuppressionHashes(ctx, tx, tenantID, subjectID)
		if err != nil || len(hashes) == 0 {
			return err
		}
		entries, err = tx.Suppressions(tenantID, hashList(hashes))
		return err
	})
	if err != nil {
		return SubjectConsents{}, err
	}
	out := SubjectConsents{SubjectID: subjectID, Purposes: []PurposeState{}, History: make([]EventOut, 0, len(history))}
	byPurpose := map[string]store.ConsentState{}
	for _, st := range current {
		byPurpose[st.Purpose] = st
	}
	for i := range doc.Policy.Purposes {
		p := &doc.Policy.Purposes[i]
		if p.LegalBasis != policy.BasisConsent {
			continue
		}
		ps := PurposeState{Purpose: p.Key, Name: p.Name, Status: StatusNotGiven, ValidSince: validSince[p.Key],
			DirectMarketing: p.DirectMarketing, SaleOrShare: saleOrShare(doc, p)}
		if st, ok := byPurpose[p.Key]; ok {
			var exp time.Time
			ps.Status, exp = status(p, st, validSince[p.Key], now)
			ps.ReceiptID, ps.Method, ps.PolicyVersion = st.EventID, st.Method, st.PolicyVersion
			ps.At, ps.ExpiresAt = timePtr(st.At), timePtr(exp)
		}
		out.Purposes = append(out.Purposes, ps)
	}
	cs := PurposeState{Purpose: store.PurposeSaleShare, Name: "Sale or sharing of personal information (CCPA)", Status: StatusOptedIn}
	if st, ok := byPurpose[store.PurposeSaleShare]; ok {
		if st.Kind == store.ConsentWithdrawn {
			cs.Status = StatusOptedOut
			out.DoNotSell = true
		}
		cs.ReceiptID, cs.Method, cs.PolicyVersion, cs.At = st.EventID, st.Method, st.PolicyVersion, timePtr(st.At)
	}
	out.Purposes = append(out.Purposes, cs)
	for _, o := range objs {
		if o.Kind == store.ObjectDirectMarketing && o.Purpose == "" && o.Status == store.ObjectionUpheld {
			out.MarketingObjection = true
		}
	}
	out.Suppressed = suppressedFor(entries, "")
	for _, e := range history {
		out.History = append(out.History, eventOut(e))
	}
	ev := by.event(actRead, subjectID)
	ev.At = now
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return SubjectConsents{}, err
	}
	return out, nil
}
