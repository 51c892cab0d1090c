package rights

import (
	"context"
	"errors"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// PeriodicReminders is the leased periodic task that reminds the privacy
// team of requests due within RemindWithin or overdue.
const PeriodicReminders = "rights.reminders"

// RemindEvery is how often the reminders task runs; the outbox dedupe key
// keeps it to one email per request per day however often it runs.
const RemindEvery = time.Hour

// RegisterJobs registers the reminders task with the runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Periodic(PeriodicReminders, RemindEvery, func(ctx context.Context) error {
		_, err := s.Remind(ctx)
		return err
	})
}

// Remind emails the privacy contact of each tenant (the DPO's address, else
// the controller's) about every open request due within RemindWithin or
// overdue, once per request per UTC day, and returns how many reminders it
// queued (including ones the dedupe key turned into no-ops).
func (s *Service) Remind(ctx context.Context) (int, error) {
	var tenants []store.Tenant
	if err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	for _, t := range tenants {
		a, err := s.Tenants.Active(ctx, t.ID)
		if errors.Is(err, tenant.ErrNoPolicy) {
			continue
		}
		if err != nil {
			return n, err
		}
		to := a.Doc.Policy.Controller.Email
		if dpo := a.Doc.Policy.Controller.DPO; dpo != nil && dpo.Email != "" {
			to = dpo.Email
		}
		for offset := 0; ; offset += 500 {
			var rows []store.Request
			err := s.Store.Read(ctx, func(tx store.Tx) error {
				var err error
				rows, err = tx.ListRequests(store.RequestFilter{TenantID: t.ID, Open: true, DueBefore: now.Add(RemindWithin), Limit: 500, Offset: offset})
				return err
			})
			if err != nil {
				return n, err
			}
			err = s.Store.Write(ctx, func(tx store.Tx) error {
				for _, row := range rows {
					r := &Request{Request: row}
					key := "reminder:" + r.ID + ":" + now.Format(time.DateOnly)
					if err := s.mail(tx, r, to, "rights.reminder", key, reminderMail(r, now)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += len(rows)
			if len(rows) < 500 {
				break
			}
		}
	}
	if n > 0 {
		s.log().Info("rights: reminders queued", "count", n)
	}
	return n, nil
}
