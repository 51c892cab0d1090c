package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Audiences.
//
// An audience is everyone whose data may be used for a purpose now: for a
// newsletter, the send list. It is computed in pages of subject ids, each
// page in its own short read transaction, so a tenant with millions of
// subjects streams in constant memory and never holds a long transaction.
// SQL does the filtering it can (active, not a minor, consent given and
// valid, no objection, no CCPA opt-out: AudienceCandidates); the decision
// engine then re-checks every candidate against every category of the
// purpose with its full controls (restrictions, lifetimes), exactly as a
// read would, and for direct-marketing purposes the suppression list drops
// anyone with a suppressed address, including a person who was erased and
// came back with the same address.

// AudienceMember is one subject of an audience.
type AudienceMember struct {
	SubjectID string `json:"subject_id"`
	// UnsubscribeToken is set for direct-marketing purposes: put
	// /v1/public/{token}/unsubscribe in the message's List-Unsubscribe
	// header (RFC 8058).
	UnsubscribeToken string `json:"unsubscribe_token,omitempty"`
}

// AudiencePage is how many candidates one page asks SQL for, unless
// Service.PageSize says otherwise.
const AudiencePage = 1000

func (s *Service) pageSize() int {
	if s.PageSize > 0 {
		return min(s.PageSize, 5000)
	}
	return AudiencePage
}

// Audience calls emit for every subject the purpose may use now, in
// subject id order, and returns how many it emitted. It stops at the first
// error emit returns (the client went away). The listing is audited before
// the first subject is emitted.
func (s *Service) Audience(ctx context.Context, tenantID, purpose string, by Actor, emit func(AudienceMember) error) (int, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	doc := a.Doc
	p := doc.PurposeByKey(purpose)
	if p == nil {
		return 0, ErrUnknownPurpose
	}
	now := s.now()
	var validSince map[string]int
	if err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		validSince, err = tx.ConsentValidSince(tenantID)
		return err
	}); err != nil {
		return 0, err
	}
	ev := by.event(actAudience, "")
	ev.Purpose = purpose
	ev.Categories = p.Categories
	ev.Reason = "subject ids listed"
	ev.At = now
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return 0, fmt.Errorf("audit the listing: %w", err)
	}
	q := audienceQuery(doc, tenantID, p, validSince, now)
	q.Limit = s.pageSize()
	n := 0
	for {
		var (
			page     []store.AudienceCandidate
			controls map[string]store.Controls
			suppress map[string]bool // subject -> suppressed for the purpose
		)
		err := s.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			if page, err = tx.AudienceCandidates(q); err != nil || len(page) == 0 {
				return err
			}
			var withControls, all []string
			for _, c := range page {
				all = append(all, c.Subject.ID)
				if c.Subject.HasControls {
					withControls = append(withControls, c.Subject.ID)
				}
			}
			if len(withControls) > 0 {
				if controls, err = tx.ControlsOf(tenantID, withControls, now); err != nil {
					return err
				}
			}
			if p.DirectMarketing {
				suppress, err = s.suppressedSubjects(ctx, tx, tenantID, purpose, all)
			}
			return err
		})
		if err != nil {
			return n, err
		}
		for _, c := range page {
			if suppress[c.Subject.ID] || !allowed(doc, p, c.Subject, controls[c.Subject.ID], validSince, now) {
				continue
			}
			m := AudienceMember{SubjectID: c.Subject.ID}
			if p.DirectMarketing {
				if m.UnsubscribeToken, err = s.UnsubscribeToken(ctx, tenantID, c.Subject.ID, purpose); err != nil {
					return n, err
				}
			}
			if err := emit(m); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < q.Limit {
			return n, nil
		}
		q.After = page[len(page)-1].Subject.ID
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// audienceQuery is the SQL side of the decision engine's rules for p: it
// may only drop subjects the engine would deny.
func audienceQuery(doc *policy.Document, tenantID string, p *policy.Purpose, validSince map[string]int, now time.Time) store.AudienceQuery {
	q := store.AudienceQuery{TenantID: tenantID, Purpose: p.Key, Limit: AudiencePage, Now: now}
	q.RequireConsent = p.LegalBasis == policy.BasisConsent
	q.MinConsentVersion = validSince[p.Key]
	q.ExcludeMinors = p.LegalBasis != policy.BasisLegalObligation && p.LegalBasis != policy.BasisVitalInterests
	li, pt := p.LegalBasis == policy.BasisLegitimateInterests, p.LegalBasis == policy.BasisPublicTask
	if p.DirectMarketing || li || pt {
		q.CheckObjections = true
		if p.DirectMarketing {
			q.ObjectionKinds = append(q.ObjectionKinds, store.ObjectDirectMarketing)
		}
		if li {
			q.ObjectionKinds = append(q.ObjectionKinds, store.ObjectLegitimateInterest)
		}
		if pt {
			q.ObjectionKinds = append(q.ObjectionKinds, store.ObjectPublicTask)
		}
	}
	q.ExcludeSaleShareOptOut = saleOrShare(doc, p)
	return q
}

// allowed asks the decision engine whether p may use every category it
// names of the subject now: a restriction of any of them keeps the person
// out of the audience.
func allowed(doc *policy.Document, p *policy.Purpose, subj store.Subject, c store.Controls, validSince map[string]int, now time.Time) bool {
	snap := decide.Snapshot(subj, c, validSince)
	for _, cat := range p.Categories {
		d, err := decide.DecideCategory(doc, p.Key, snap, cat, now)
		if err != nil || !d.Allowed {
			return false
		}
	}
	return true
}

// suppressedSubjects returns the candidates with an address on the
// suppression list for the purpose.
func (s *Service) suppressedSubjects(ctx context.Context, tx store.Tx, tenantID, purpose string, subjects []string) (map[string]bool, error) {
	ids, err := tx.IdentitiesOf(tenantID, subjects, suppressKinds)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	owner := make(map[string]string, len(ids)) // hash -> subject
	hashes := make([][]byte, 0, len(ids))
	for _, id := range ids {
		h, err := s.SuppressionHash(ctx, tenantID, id.Kind, id.Blind)
		if err != nil {
			return nil, err
		}
		owner[string(h)] = id.SubjectID
		hashes = append(hashes, h)
	}
	entries, err := tx.Suppressions(tenantID, hashes)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range entries {
		if e.Purpose == "" || e.Purpose == purpose {
			out[owner[string(e.Hash)]] = true
		}
	}
	return out, nil
}
