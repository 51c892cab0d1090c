package breach

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// NoticeTopic is the outbox topic of notices to people; TopicPrefix is
// what Register observes.
const (
	NoticeTopic = "breach.notice"
	TopicPrefix = "breach."
)

// notifyBatch is how many subjects one transaction notifies.
const notifyBatch = 100

// NotifyResult counts what NotifyPeople did.
type NotifyResult struct {
	Queued      int64 `json:"queued"`
	Unreachable int64 `json:"unreachable"`
}

// Register makes delivery outcomes of notices update the affected set:
// delivered, or failed (dead-lettered or cancelled). Call it once, before
// delivery starts.
func Register(ob *outbox.Outbox) {
	ob.Observe(TopicPrefix, func(tx store.Tx, o outbox.Outcome) error {
		if o.Topic != NoticeTopic {
			return nil
		}
		state := store.NoticeFailed
		switch o.State {
		case outbox.Delivered, outbox.Handled:
			state = store.NoticeDelivered
		}
		_, err := tx.SetBreachNoticeByMessage(o.TenantID, o.MessageID, state, o.At)
		return err
	})
}

// NotifyPeople sends the Art. 34 notice to every affected subject still
// pending: one email each through the outbox (deduplicated per breach and
// subject, so notifying twice sends once), the address read with
// vault.ContactEmail (audited with the reason). Subjects without an address
// are marked unreachable: they need a public communication (Art.
// 34(3)(c)). The DPO must have confirmed a high risk.
func (s *Service) NotifyPeople(ctx context.Context, tenantID, id string, by Actor) (NotifyResult, error) {
	var res NotifyResult
	if s.Outbox == nil {
		return res, ErrNoOutbox
	}
	b, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return res, err
	}
	switch {
	case b.Status == store.BreachClosed:
		return res, stateErr("the breach is closed")
	case b.Risk != RiskHigh:
		return res, stateErr("people are notified of a breach the DPO assessed as high risk (Art. 34(1)); confirm the risk first")
	case b.Affected == 0:
		return res, stateErr("the affected set is empty; compute it first")
	}
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return res, err
	}
	if doc == nil {
		return res, stateErr("the tenant has no policy to name the controller in the notice")
	}
	mail := noticeEmail(b, doc.Policy)
	va := vault.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID}
	after := ""
	for {
		page, err := s.Affected(ctx, tenantID, id, after, store.NoticePending, notifyBatch)
		if err != nil {
			return res, err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].SubjectID
		addrs := make([]string, len(page))
		for i, a := range page {
			addr, err := s.Vault.ContactEmail(ctx, tenantID, a.SubjectID, "breach notice "+id, va)
			switch {
			case errors.Is(err, vault.ErrNoContact), errors.Is(err, vault.ErrNotFound), errors.Is(err, vault.ErrErased):
			case err != nil:
				return res, err
			default:
				addrs[i] = addr
			}
		}
		now := s.now()
		var queued, unreachable int64
		err = s.Store.Write(ctx, func(tx store.Tx) error {
			queued, unreachable = 0, 0
			for i, a := range page {
				if addrs[i] == "" {
					unreachable++
					if err := tx.SetBreachNotice(tenantID, id, a.SubjectID, store.NoticeUnreachable, "", now); err != nil {
						return err
					}
					continue
				}
				msgID, err := s.Outbox.Enqueue(tx, outbox.Message{
					TenantID: tenantID, SubjectID: a.SubjectID, Topic: NoticeTopic,
					DedupeKey: "breach.notice:" + id + ":" + a.SubjectID,
					Email:     &outbox.Email{To: addrs[i], Subject: mail.subject, Text: mail.text},
				})
				if err != nil {
					return err
				}
				if err := tx.SetBreachNotice(tenantID, id, a.SubjectID, store.NoticeQueued, msgID, now); err != nil {
					return err
				}
				ev := by.event("breach.notice", id, "")
				ev.SubjectID = a.SubjectID
				ev.At = now
				if err := s.Audit.Append(tx, tenantID, ev); err != nil {
					return err
				}
				queued++
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Queued += queued
		res.Unreachable += unreachable
	}
	now := s.now()
	err = s.mutate(ctx, tenantID, id, func(tx store.Tx, b *store.Breach, d *Details) error {
		if b.PeopleNotifiedAt.IsZero() {
			b.PeopleNotifiedAt = now
		}
		if b.Status != store.BreachClosed {
			b.Status = store.BreachPeopleNotified
		}
		ev := by.event("breach.notify", id, fmt.Sprintf("queued=%d unreachable=%d", res.Queued, res.Unreachable))
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	return res, err
}

type noticeMail struct{ subject, text string }

// noticeEmail is the Art. 34(2) notice in clear language: what happened,
// likely consequences, what was done, what the person can do, and whom to
// contact.
func noticeEmail(b Breach, p *policy.Policy) noticeMail {
	d := b.Details
	var w strings.Builder
	fmt.Fprintf(&w, "Dear customer,\n\nWe are writing to tell you about a security incident at %s that concerns your personal data.\n\n", p.Controller.Name)
	fmt.Fprintf(&w, "What happened\n%s\n\n", d.Nature)
	if d.Consequences != "" {
		fmt.Fprintf(&w, "What this may mean for you\n%s\n\n", d.Consequences)
	}
	if d.Measures != "" {
		fmt.Fprintf(&w, "What we have done\n%s\n\n", d.Measures)
	}
	advice := d.PersonAdvice
	if advice == "" {
		advice = "Be careful with emails, calls or messages that ask for your password or payment details, and change your password if you used it elsewhere."
	}
	fmt.Fprintf(&w, "What you can do\n%s\n\n", advice)
	c := dpoContact(d, p)
	fmt.Fprintf(&w, "Questions\nContact %s", c.Name)
	if c.Email != "" {
		fmt.Fprintf(&w, " at %s", c.Email)
	}
	if c.Phone != "" {
		fmt.Fprintf(&w, " or %s", c.Phone)
	}
	w.WriteString(".\n")
	if a := p.Controller.SupervisoryAuthority; a != nil {
		fmt.Fprintf(&w, "You may also complain to %s", a.Name)
		if a.Website != "" {
			fmt.Fprintf(&w, " (%s)", a.Website)
		}
		w.WriteString(".\n")
	}
	fmt.Fprintf(&w, "\n%s\n", p.Controller.Name)
	return noticeMail{subject: "Important: a security incident concerning your data at " + p.Controller.Name, text: w.String()}
}

// dpoContact is the breach's DPO contact, else the policy's DPO, else the
// controller's privacy contact.
func dpoContact(d Details, p *policy.Policy) policy.Contact {
	if d.DPO != nil {
		return *d.DPO
	}
	if p != nil && p.Controller.DPO != nil {
		return *p.Controller.DPO
	}
	if p != nil {
		return policy.Contact{Name: p.Controller.Name, Email: p.Controller.Email, Phone: p.Controller.Phone, Address: p.Controller.Address}
	}
	return policy.Contact{}
}
