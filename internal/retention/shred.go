package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/store"
)

// ErasureLedger remembers erased subjects outside the data and key stores,
// so that a restore of an older backup cannot bring them back (see
// internal/backup). The vault records every erasure in it before erasing;
// the sweep records the subjects it empties and erases before destroying
// their keys. Recording twice is harmless.
type ErasureLedger interface {
	RecordErasure(ctx context.Context, tenantID, subjectID string, identities []store.Identity, at time.Time) error
}

// shredPayload is a JobShred job's payload: whose key to destroy. Ids only.
type shredPayload struct {
	TenantID  string `json:"tenant_id"`
	SubjectID string `json:"subject_id"`
}

// shredLease is how long a claimed shred job is held: one key-store write.
const shredLease = 2 * time.Minute

// Schedule registers the sweep of every tenant as a periodic task (one
// instance per period) and the key destruction handler with the job runner.
func (s *Service) Schedule(r *jobs.Runner, every time.Duration) {
	if every <= 0 {
		every = DefaultEvery
	}
	r.Register(JobShred, func(ctx context.Context, j store.Job) error { return s.runShred(ctx, j) })
	r.Periodic("retention.sweep", every, func(ctx context.Context) error {
		_, err := s.SweepAll(ctx)
		return err
	})
}

// DrainShreds destroys the data keys queued by sweeps (JobShred jobs), in
// this process, claiming each job like the job runner would so that a
// server's runner and a `trustee retention run` never both work on one. It
// is how a sweep on a stopped server's stores finishes what it started, and
// how a crash between a sweep's commit and the key store is repaired.
func (s *Service) DrainShreds(ctx context.Context) error {
	if s.Keys == nil {
		return nil // a service without keys leaves them to one that has
	}
	owner := fmt.Sprintf("retention-sweep/%08x", rand.Uint32())
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := s.now()
		var claimed []store.Job
		if err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
			claimed, err = tx.ClaimJobs(owner, []string{JobShred}, now, now.Add(shredLease), 100)
			return err
		}); err != nil {
			return err
		}
		if len(claimed) == 0 {
			return nil
		}
		for _, j := range claimed {
			err := s.runShred(ctx, j)
			done := s.now()
			werr := s.Store.Write(context.WithoutCancel(ctx), func(tx store.Tx) error {
				if err != nil {
					return tx.FailJob(j.ID, owner, err.Error(), done, done.Add(time.Minute))
				}
				return tx.CompleteJob(j.ID, owner, done)
			})
			if err != nil {
				s.log().Warn("destroying a data key failed; will retry", "tenant", j.TenantID, "job", j.ID, "err", err.Error())
			}
			if werr != nil && !errors.Is(werr, store.ErrLeaseLost) {
				return werr
			}
		}
		if len(claimed) < 100 {
			return nil
		}
	}
}

// runShred records the subject in the erasure ledger and destroys its data
// key. Both are idempotent, so a job run twice (at least once delivery) does
// no harm; the order makes sure the ledger knows of every destroyed key.
func (s *Service) runShred(ctx context.Context, j store.Job) error {
	var p shredPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.TenantID == "" || p.SubjectID == "" {
		return jobs.Permanent(fmt.Errorf("retention: bad %s payload", JobShred))
	}
	if s.Keys == nil {
		return errors.New("retention: no key manager to destroy keys with")
	}
	if s.Ledger != nil {
		if err := s.Ledger.RecordErasure(ctx, p.TenantID, p.SubjectID, nil, s.now()); err != nil {
			return fmt.Errorf("retention: erasure ledger: %w", err)
		}
	}
	return s.Keys.Shred(ctx, p.TenantID, p.SubjectID)
}
