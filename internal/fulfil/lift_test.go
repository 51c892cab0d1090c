package fulfil_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// TestRestrictionLift: a restriction is lifted only after the person was
// told when and why (GDPR Art. 18(3)); until that time the decision engine
// keeps refusing, afterwards it allows again. Bad input changes nothing.
func TestRestrictionLift(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "lift@example.org")
		res := f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqRestriction, Ground: store.GroundAccuracyContested,
			Categories: []string{"user.contact"}})
		rid := res.Controls[0]
		lift := func(in fulfil.LiftInput) (fulfil.LiftScheduled, error) {
			if in.SubjectID == "" {
				in.SubjectID = subj
			}
			if in.RestrictionID == "" {
				in.RestrictionID = rid
			}
			in.Actor = "staff:dpo"
			return f.svc.ScheduleLift(f.ctx, f.tn.ID, in)
		}
		for name, in := range map[string]fulfil.LiftInput{
			"no reason":    {At: time.Now().Add(time.Hour)},
			"in the past":  {Reason: "verified", At: time.Now().Add(-time.Minute)},
			"long told_by": {Reason: "verified", ToldBy: strings.Repeat("x", 501)},
		} {
			var ie *fulfil.InputError
			if _, err := lift(in); !errors.As(err, &ie) {
				t.Errorf("%s: %v, want an input error", name, err)
			}
		}
		if _, err := lift(fulfil.LiftInput{SubjectID: store.NewID(), Reason: "verified"}); !errors.Is(err, fulfil.ErrNotFound) {
			t.Errorf("another subject's restriction: %v", err)
		}
		if n := len(f.rig.SMTP.Messages()); n != 0 {
			t.Fatalf("bad input sent %d emails", n)
		}

		at := time.Now().Add(1500 * time.Millisecond)
		got, err := lift(fulfil.LiftInput{Reason: "we checked and your email address is correct", At: at})
		if err != nil || got.Notice != "email" || !got.LiftsAt.Equal(at.UTC()) {
			t.Fatalf("schedule: %+v %v", got, err)
		}
		mail := f.rig.SMTP.WaitFor(t, 1, 10*time.Second)[0]
		if mail.To[0] != "lift@example.org" || !strings.Contains(mail.Text, "we checked and your email address is correct") ||
			!strings.Contains(mail.Text, "We will lift this restriction on") {
			t.Errorf("notice: to %v\n%s", mail.To, mail.Text)
		}
		if d := f.decide(subj, "account", "user.contact.email")[0]; d.Allowed || d.Reason != decide.Restricted {
			t.Fatalf("the restriction ended before its time: %+v", d)
		}
		deadline := time.Now().Add(15 * time.Second)
		for f.decide(subj, "account", "user.contact.email")[0].Reason == decide.Restricted {
			if time.Now().After(deadline) {
				t.Fatal("the restriction was not lifted at its time")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !time.Now().After(at) {
			t.Error("lifted early")
		}
		rs, err := f.svc.Restrictions(f.ctx, f.tn.ID, subj)
		if err != nil || len(rs) != 1 || rs[0].LiftedAt.IsZero() {
			t.Fatalf("restrictions after lifting: %+v %v", rs, err)
		}
		if _, err := lift(fulfil.LiftInput{Reason: "again"}); !errors.Is(err, fulfil.ErrAlreadyLifted) {
			t.Errorf("lifting twice: %v", err)
		}
		if _, err := f.svc.Restrictions(f.ctx, f.tn.ID, store.NewID()); !errors.Is(err, fulfil.ErrNotFound) {
			t.Errorf("restrictions of an unknown subject: %v", err)
		}
	})
}
