package consent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Renewal after a policy change.
//
// Consent is specific and informed (GDPR Art. 4(11)): when a new policy
// version adds a consent-based purpose or widens one (new categories, new
// recipients, now sold or shared, now direct marketing, now automated
// decisions: policy.DiffResult.Reconsent), consents given under older
// versions no longer cover it. OnPolicyApplied records, in the transaction
// that stores the version, the version from which the purpose's consents
// count; the decision engine treats older ones as missing
// (decide.Subject.ConsentValidSince), the banner asks again, and a durable
// job ("consent.renewal_notice") walks the people whose consent lapsed and
// hands each to the RenewalNotifier.

// JobRenewalNotice is the job that notifies people whose consent for a
// purpose needs renewal.
const JobRenewalNotice = "consent.renewal_notice"

// RenewalNotice is one person to ask for a consent again.
type RenewalNotice struct {
	TenantID     string
	SubjectID    string
	Purpose      string
	SinceVersion int
}

// RenewalNotifier is the seam through which people are told that a
// consent needs renewal: the email (through the outbox) plugs in here. It
// receives subject ids only; the implementation reads the address for a
// purpose allowed to (an account or service purpose) and writes its
// message in the same transaction as its outbox entry. Jobs are delivered
// at least once, so Notify must tolerate repeats: key its messages by
// (tenant, subject, purpose, since version).
type RenewalNotifier interface {
	NotifyRenewal(ctx context.Context, n RenewalNotice) error
}

// renewalPayload is the job's payload: names and numbers only.
type renewalPayload struct {
	Purpose      string `json:"purpose"`
	SinceVersion int    `json:"since_version"`
}

// OnPolicyApplied is tenant.Service.OnApply: it runs in the transaction
// that stores a new policy version. It registers the version's banner
// sites (a key another tenant uses fails the apply with an error at the
// key), records the renewal marks of the purposes the diff says need fresh
// consent, and queues their notices.
func (s *Service) OnPolicyApplied(tx store.Tx, a tenant.Applied) error {
	doc := a.Doc
	keys := make([]string, len(doc.Policy.Sites))
	for i, st := range doc.Policy.Sites {
		keys[i] = st.Key
	}
	now := s.now()
	if err := tx.SetConsentSites(a.TenantID, keys, a.Version.Version, now); err != nil {
		var sc *store.SiteConflict
		if errors.As(err, &sc) {
			for i, st := range doc.Policy.Sites {
				if st.Key == sc.Key {
					path := fmt.Sprintf("sites[%d].key", i)
					line, col := doc.Pos(path)
					return policy.Errors{{File: doc.Name, Line: line, Col: col, Path: path,
						Msg: fmt.Sprintf("site key %q is already used by another tenant of this Trustee; choose another (it is public, in the page's HTML)", sc.Key)}}
				}
			}
		}
		return err
	}
	if a.Diff == nil {
		return nil
	}
	reasons := map[string][]string{}
	for _, r := range a.Diff.Reconsent {
		reasons[r.Purpose] = append(reasons[r.Purpose], r.Reason)
	}
	for _, purpose := range a.Diff.ReconsentPurposes() {
		reason := strings.Join(reasons[purpose], "; ")
		if len(reason) > 1000 {
			reason = reason[:1000]
		}
		if err := tx.AddConsentRenewal(store.ConsentRenewal{TenantID: a.TenantID, Purpose: purpose,
			SinceVersion: a.Version.Version, Reason: reason, CreatedAt: now}); err != nil {
			return err
		}
		if s.Jobs == nil {
			continue
		}
		if _, err := s.Jobs.EnqueueTx(tx, JobRenewalNotice, a.TenantID, renewalPayload{Purpose: purpose, SinceVersion: a.Version.Version},
			jobs.DedupeKey(fmt.Sprintf("%s:%s:%d", a.TenantID, purpose, a.Version.Version))); err != nil {
			return err
		}
	}
	return nil
}

// RegisterJobs registers the consent package's job handlers on r: the
// renewal notices, and the hourly expiry sweep.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Register(JobRenewalNotice, s.renewalJob)
	r.Periodic(PeriodicExpire, ExpireEvery, func(ctx context.Context) error {
		_, err := s.ExpireDue(ctx)
		return err
	})
}

// renewalJob walks the subjects whose latest consent for the purpose is a
// given one from before the version, in id order, and notifies each. It
// is safe to run again (the notifier dedupes).
func (s *Service) renewalJob(ctx context.Context, j store.Job) error {
	var p renewalPayload
	if err := jobs.Decode(j, &p); err != nil {
		return jobs.Permanent(err)
	}
	if p.Purpose == "" || p.SinceVersion < 1 || j.TenantID == "" {
		return jobs.Permanent(errors.New("consent: renewal job without tenant, purpose or version"))
	}
	n, err := s.RenewalCandidates(ctx, j.TenantID, p.Purpose, p.SinceVersion, func(subjectID string) error {
		if s.Notifier == nil {
			return nil
		}
		return s.Notifier.NotifyRenewal(ctx, RenewalNotice{TenantID: j.TenantID, SubjectID: subjectID, Purpose: p.Purpose, SinceVersion: p.SinceVersion})
	})
	if err != nil {
		return err
	}
	msg := "consent renewal: notified"
	if s.Notifier == nil {
		msg = "consent renewal: no notifier configured; would notify"
	}
	s.log().InfoContext(ctx, msg, "tenant", j.TenantID, "purpose", p.Purpose, "since_version", p.SinceVersion, "subjects", n)
	return nil
}

// RenewalCandidates calls fn for every active subject whose latest consent
// for purpose was given under a policy version before since, and returns
// how many there were. Withdrawn and erased people are not asked again.
func (s *Service) RenewalCandidates(ctx context.Context, tenantID, purpose string, since int, fn func(subjectID string) error) (int, error) {
	q := store.AudienceQuery{TenantID: tenantID, Purpose: purpose, Limit: s.pageSize(), ConsentBefore: since, Now: s.now()}
	n := 0
	for {
		var page []store.AudienceCandidate
		if err := s.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.AudienceCandidates(q)
			return err
		}); err != nil {
			return n, err
		}
		for _, c := range page {
			if err := fn(c.Subject.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < q.Limit {
			return n, nil
		}
		q.After = page[len(page)-1].Subject.ID
	}
}
