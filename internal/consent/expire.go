package consent

import (
	"context"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Expiry.
//
// A consent given for a purpose with a lifetime ends by itself: the
// decision engine stops counting it the moment its recorded expiry (or the
// purpose's current, shorter lifetime) passes, whether or not anything runs.
// The sweep below also writes that moment into the ledger as an expired
// event, so a person's history and a DPO's audit show when consent lapsed
// and not only when it was given. It is a periodic job across instances.

// PeriodicExpire is the name of the periodic expiry sweep.
const PeriodicExpire = "consent.expire"

// ExpireEvery is how often the sweep runs.
const ExpireEvery = time.Hour

// expireBatch bounds one transaction of the sweep.
const expireBatch = 500

// ExpireDue appends an expired event (method system, at the recorded
// expiry) for every given consent of every tenant whose recorded expiry
// has passed and that is still the latest choice for its purpose, and
// returns how many it appended.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	var tenants []store.Tenant
	if err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return 0, err
	}
	total := 0
	for _, tn := range tenants {
		n, err := s.expireTenant(ctx, tn.ID)
		total += n
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		s.log().InfoContext(ctx, "consent expiry: expired events recorded", "events", total)
	}
	return total, nil
}

func (s *Service) expireTenant(ctx context.Context, tenantID string) (int, error) {
	total := 0
	for {
		now := s.now()
		n := 0
		err := s.Store.Write(ctx, func(tx store.Tx) error {
			n = 0
			due, err := tx.DueConsentExpiries(tenantID, now, expireBatch)
			if err != nil {
				return err
			}
			for _, g := range due {
				e := store.ConsentEvent{TenantID: tenantID, ID: store.NewID(), SubjectID: g.SubjectID, BrowserID: g.BrowserID,
					Purpose: g.Purpose, Kind: store.ConsentExpired, PolicyVersion: g.PolicyVersion, PolicyHash: g.PolicyHash,
					Method: store.MethodSystem, Source: "lifetime:" + g.ID, Actor: "system", At: g.ExpiresAt}
				if err := tx.AppendConsent(e); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < expireBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
