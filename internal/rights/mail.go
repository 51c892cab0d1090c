package rights

import (
	"fmt"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Emails to the person and to the privacy team. They go through the
// outbox in the same transaction as the change they report; addresses and
// bodies are sealed there. Texts are plain English for now; the privacy
// center issue localises them.

type mailText struct{ subject, body string }

// mail enqueues an email about r; an empty address sends nothing.
func (s *Service) mail(tx store.Tx, r *Request, to, topic, dedupe string, m mailText) error {
	if to == "" || s.Outbox == nil {
		return nil
	}
	_, err := s.Outbox.Enqueue(tx, outbox.Message{TenantID: r.TenantID, SubjectID: r.SubjectID, Topic: topic, DedupeKey: dedupe,
		Email: &outbox.Email{To: to, Subject: m.subject, Text: m.body}})
	return err
}

// typeName is a request type in words.
func typeName(t string) string {
	switch policy.RequestType(t) {
	case policy.ReqAccess:
		return "access to your personal data"
	case policy.ReqPortability:
		return "a copy of your data to take elsewhere (portability)"
	case policy.ReqRectification:
		return "correction of your personal data"
	case policy.ReqErasure:
		return "erasure of your personal data"
	case policy.ReqRestriction:
		return "restriction of processing"
	case policy.ReqObjection:
		return "objection to processing"
	case policy.ReqWithdrawConsent:
		return "withdrawal of consent"
	case policy.ReqCCPAKnow:
		return "to know what personal information we hold"
	case policy.ReqCCPADelete:
		return "deletion of your personal information"
	case policy.ReqCCPACorrect:
		return "correction of your personal information"
	case policy.ReqCCPAOptOut:
		return "to opt out of the sale or sharing of your personal information"
	case policy.ReqCCPALimit:
		return "to limit the use of your sensitive personal information"
	}
	return t
}

func controllerName(a *tenant.Active) string { return a.Doc.Policy.Controller.Name }

func day(t time.Time) string { return t.UTC().Format("2 January 2006") }

func signature(a *tenant.Active) string {
	return "\n\n" + controllerName(a) + "\n" + a.Doc.Policy.Controller.Email + "\n"
}

func codeMail(a *tenant.Active, r *Request, code string) mailText {
	return mailText{
		subject: "Your verification code",
		body: fmt.Sprintf("We received a request for %s.\n\nTo confirm it is you, enter this code: %s\n\n"+
			"The code is valid for %d minutes. If you did not make this request, ignore this email; nothing will happen.",
			typeName(r.Type), code, int(CodeTTL/time.Minute)) + signature(a),
	}
}

func ackMail(a *tenant.Active, r *Request) mailText {
	return mailText{
		subject: "We received your privacy request",
		body: fmt.Sprintf("We received your request for %s on %s (reference %s).\n\n"+
			"We will answer by %s. We may need to verify your identity first.",
			typeName(r.Type), day(r.ReceivedAt), r.ID, day(r.DueAt)) + signature(a),
	}
}

func controllerMail(a *tenant.Active, r *Request) mailText {
	return mailText{
		subject: "A data-subject request needs your decision",
		body: fmt.Sprintf("A %s request (reference %s) was received on %s for data we process on your behalf.\n\n"+
			"As your processor we act only on your instructions. Please instruct us to proceed or to refuse "+
			"(POST /v1/requests/%s/instruct). The request is due by %s.", r.Type, r.ID, day(r.ReceivedAt), r.ID, day(r.DueAt)),
	}
}

func extendedMail(a *tenant.Active, r *Request, reason string) mailText {
	return mailText{
		subject: "We need more time for your privacy request",
		body: fmt.Sprintf("Your request for %s (reference %s) needs more time, because: %s\n\n"+
			"We will answer by %s.", typeName(r.Type), r.ID, reason, day(r.DueAt)) + signature(a),
	}
}

func completedMail(a *tenant.Active, r *Request, summary string) mailText {
	return mailText{
		subject: "Your privacy request has been carried out",
		body:    fmt.Sprintf("We have carried out your request for %s (reference %s).\n\n%s", typeName(r.Type), r.ID, summary) + signature(a),
	}
}

func withdrawnMail(a *tenant.Active, r *Request) mailText {
	return mailText{
		subject: "Your privacy request was withdrawn",
		body:    fmt.Sprintf("Your request for %s (reference %s) was withdrawn; we will not act on it.", typeName(r.Type), r.ID) + signature(a),
	}
}

func feeMail(a *tenant.Active, r *Request, f *Fee) mailText {
	return mailText{
		subject: "A fee applies to your privacy request",
		body: fmt.Sprintf("Your request for %s (reference %s) repeats or goes beyond what the law requires us to do free of charge. "+
			"We can carry it out for a reasonable fee of %s %s.%s\n\n%s", typeName(r.Type), r.ID, formatAmount(f.Amount), f.Currency,
			optText(f.Text), remedies(a)) + signature(a),
	}
}

func refusedMail(a *tenant.Active, r *Request, reason, text string) mailText {
	why := map[string]string{
		RefuseManifestlyUnfounded: "the request is manifestly unfounded",
		RefuseExcessive:           "the request is excessive, in particular because it repeats earlier requests",
		RefuseIdentityNotVerified: "we could not verify your identity",
		RefuseExemption:           "an exemption in the law applies",
		RefuseOther:               "of the reason below",
	}[reason]
	return mailText{
		subject: "Our answer to your privacy request",
		body: fmt.Sprintf("We cannot act on your request for %s (reference %s), because %s.%s\n\n%s",
			typeName(r.Type), r.ID, why, optText(text), remedies(a)) + signature(a),
	}
}

func optText(s string) string {
	if s == "" {
		return ""
	}
	return "\n\n" + s
}

func formatAmount(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }

// remedies names the person's options (GDPR Art. 12(4)): a complaint to
// the supervisory authority named in the policy, and a judicial remedy.
func remedies(a *tenant.Active) string {
	var b strings.Builder
	b.WriteString("You have the right to lodge a complaint with a supervisory authority")
	if sa := a.Doc.Policy.Controller.SupervisoryAuthority; sa != nil {
		b.WriteString(", in particular " + sa.Name)
		if sa.Website != "" {
			b.WriteString(" (" + sa.Website + ")")
		}
	}
	b.WriteString(", and to seek a judicial remedy before the courts.")
	return b.String()
}

func reminderMail(r *Request, now time.Time) mailText {
	state := "is due"
	if r.Overdue(now) {
		state = "is OVERDUE since"
	}
	return mailText{
		subject: "Privacy request " + r.ID + " " + strings.Fields(state)[len(strings.Fields(state))-1] + " " + day(r.DueAt),
		body: fmt.Sprintf("The %s request %s (status %s, received %s) %s %s.\n\nOpen it in the console or with `trustee requests show %s`.",
			r.Type, r.ID, r.Status, day(r.ReceivedAt), state, day(r.DueAt), r.ID),
	}
}
