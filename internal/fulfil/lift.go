package fulfil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Lifting a restriction (GDPR Art. 18(3)): "A data subject who has
// obtained restriction of processing ... shall be informed by the controller
// before the restriction of processing is lifted." So a lift is never
// immediate: ScheduleLift tells the person, in the same transaction that
// queues the lift for a later time, and the lift job ends the restriction
// when that time comes.

// JobLiftRestriction ends a restriction at its scheduled time.
const JobLiftRestriction = "fulfil.lift_restriction"

// DefaultLiftNotice is how long after the notice a restriction is lifted
// when the caller names no time: long enough for the person to object.
const DefaultLiftNotice = 7 * 24 * time.Hour

// Audit actions of restriction lifting.
const (
	actLiftScheduled = "restriction.lift_scheduled"
	actLifted        = "restriction.lifted"
)

// TopicLiftNotice is the outbox topic of the notice to the person.
const TopicLiftNotice = "rights.restriction_lift"

// ErrAlreadyLifted: the restriction has ended already.
var ErrAlreadyLifted = errors.New("the restriction has been lifted already")

// LiftInput asks for a restriction to be lifted.
type LiftInput struct {
	SubjectID     string
	RestrictionID string
	// At is when the restriction ends; zero means DefaultLiftNotice from
	// now. It must be in the future: the person is told first.
	At time.Time
	// Reason is why, in words the person is sent (e.g. "we verified that
	// your address is correct"). Required.
	Reason string
	// ToldBy records how the person was told when they have no email on
	// file (e.g. "letter of 20 November 2026"); required then, ignored
	// when Trustee emails them.
	ToldBy string
	// Actor is who decided, for the audit log.
	Actor string
}

// LiftScheduled says when a restriction will be lifted and how the person
// was told.
type LiftScheduled struct {
	RestrictionID string    `json:"restriction_id"`
	LiftsAt       time.Time `json:"lifts_at"`
	// Notice is "email" when Trustee emailed the person, "recorded" when
	// staff told them another way (LiftInput.ToldBy).
	Notice string `json:"notice" enum:"email,recorded"`
}

type liftPayload struct {
	RestrictionID string `json:"restriction_id"`
	SubjectID     string `json:"subject_id"`
}

// RegisterJobs registers the lift job on r; ScheduleLift needs it.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	s.o.Jobs = r
	r.Register(JobLiftRestriction, s.liftJob)
}

// Restrictions lists the subject's restrictions, lifted ones too, newest
// first.
func (s *Service) Restrictions(ctx context.Context, tenantID, subjectID string) ([]store.Restriction, error) {
	var out []store.Restriction
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubject(tenantID, subjectID); err != nil {
			return err
		}
		var err error
		out, err = tx.ListRestrictions(tenantID, subjectID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return out, err
}

// ScheduleLift tells the person that a restriction they obtained will be
// lifted, and when and why, then lifts it at that time. Scheduling again
// before the time moves nothing and sends nothing twice.
func (s *Service) ScheduleLift(ctx context.Context, tenantID string, in LiftInput) (LiftScheduled, error) {
	if s.o.Jobs == nil {
		return LiftScheduled{}, errors.New("fulfil: no job runner registered (RegisterJobs)")
	}
	now := s.now()
	in.Reason = strings.TrimSpace(in.Reason)
	in.ToldBy = strings.TrimSpace(in.ToldBy)
	var ie InputError
	if in.Reason == "" || len(in.Reason) > 1000 {
		ie.Add("reason", "say why the restriction ends, in words the person is sent (1 to 1000 characters)")
	}
	if len(in.ToldBy) > 500 {
		ie.Add("told_by", "at most 500 characters")
	}
	at := in.At.UTC()
	if at.IsZero() {
		at = now.Add(DefaultLiftNotice)
	} else if !at.After(now) {
		ie.Add("at", "must be in the future: the person is told before the restriction is lifted (GDPR Art. 18(3))")
	}
	if err := ie.Err(); err != nil {
		return LiftScheduled{}, err
	}
	var r store.Restriction
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		r, err = tx.GetRestriction(tenantID, in.RestrictionID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.SubjectID != in.SubjectID) {
		return LiftScheduled{}, ErrNotFound
	}
	if err != nil {
		return LiftScheduled{}, err
	}
	if !r.LiftedAt.IsZero() {
		return LiftScheduled{}, ErrAlreadyLifted
	}
	a, err := s.o.Tenants.Active(ctx, tenantID)
	if err != nil {
		return LiftScheduled{}, mapErr(err)
	}
	out := LiftScheduled{RestrictionID: r.ID, LiftsAt: at, Notice: "email"}
	addr, err := s.o.Vault.ContactEmail(ctx, tenantID, r.SubjectID, "notice before lifting restriction "+r.ID,
		vault.Actor{ID: in.Actor, Role: "system"})
	switch {
	case errors.Is(err, vault.ErrNoContact):
		if in.ToldBy == "" {
			return LiftScheduled{}, inputErr("told_by", "the person has no email address on file: tell them another way first, and say how here")
		}
		out.Notice = "recorded"
	case err != nil:
		return LiftScheduled{}, mapErr(err)
	}
	err = s.o.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := s.o.Jobs.EnqueueTx(tx, JobLiftRestriction, tenantID, liftPayload{RestrictionID: r.ID, SubjectID: r.SubjectID},
			jobs.RunAt(at), jobs.DedupeKey("lift:"+tenantID+":"+r.ID)); err != nil {
			return err
		}
		if addr != "" {
			pol := a.Doc.Policy
			what := "all your data"
			if len(r.Categories) > 0 {
				what = "your data in these categories: " + strings.Join(r.Categories, ", ")
			}
			var b strings.Builder
			fmt.Fprintf(&b, "Hello,\n\nOn %s you obtained a restriction of the processing of %s.\n\n", r.CreatedAt.Format("2 January 2006"), what)
			fmt.Fprintf(&b, "We will lift this restriction on %s, because: %s\n\n", at.Format("2 January 2006 at 15:04 MST"), in.Reason)
			b.WriteString("From then on we may use this data again for the purposes described in our privacy notice. ")
			fmt.Fprintf(&b, "If you disagree, write to %s before that date.", pol.Controller.Email)
			if sa := pol.Controller.SupervisoryAuthority; sa != nil {
				fmt.Fprintf(&b, " You also have the right to complain to %s.", sa.Name)
			}
			fmt.Fprintf(&b, "\n\n%s\n", pol.Controller.Name)
			if _, err := s.o.Outbox.Enqueue(tx, outbox.Message{TenantID: tenantID, SubjectID: r.SubjectID, Topic: TopicLiftNotice,
				DedupeKey: "restriction-lift:" + r.ID,
				Email:     &outbox.Email{To: addr, Subject: "We will lift the restriction of your data", Text: b.String()}}); err != nil {
				return err
			}
		}
		reason := "lifts at " + at.Format(time.RFC3339) + "; person told by " + out.Notice
		return s.o.Audit.Append(tx, tenantID, audit.Event{Actor: in.Actor, Action: actLiftScheduled, SubjectID: r.SubjectID,
			RequestID: r.RequestID, Outcome: audit.OutcomeOK, Reason: reason, At: now})
	})
	if err != nil {
		return LiftScheduled{}, err
	}
	return out, nil
}

// liftJob ends the restriction at its time; a restriction lifted already
// is left as it is.
func (s *Service) liftJob(ctx context.Context, j store.Job) error {
	var p liftPayload
	if err := jobs.Decode(j, &p); err != nil || p.RestrictionID == "" {
		return jobs.Permanent(fmt.Errorf("fulfil: bad lift job payload: %v", err))
	}
	now := s.now()
	return s.o.Store.Write(ctx, func(tx store.Tx) error {
		r, err := tx.GetRestriction(j.TenantID, p.RestrictionID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !r.LiftedAt.IsZero() {
			return nil
		}
		if err := tx.LiftRestriction(j.TenantID, r.ID, now); err != nil {
			return err
		}
		return s.o.Audit.Append(tx, j.TenantID, audit.Event{Actor: "system:restriction-lift", Action: actLifted, SubjectID: r.SubjectID,
			RequestID: r.RequestID, Outcome: audit.OutcomeOK, At: now})
	})
}
