package consent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// TopicRenewal is the outbox topic of consent renewal emails.
const TopicRenewal = "consent.renewal"

// ContactReader reads the address Trustee writes to; vault.Service is one.
// It is an interface so the notifier can be tested without a vault.
type ContactReader interface {
	ContactEmail(ctx context.Context, tenantID, subjectID, reason string, by vault.Actor) (string, error)
}

// EmailRenewalNotifier is the RenewalNotifier that asks people by email,
// through the outbox, to renew a consent a policy change no longer covers.
// Until they do, the decision engine treats the consent as missing, so the
// email only informs and invites: it never claims the person agreed.
type EmailRenewalNotifier struct {
	Tenants  *tenant.Service
	Store    store.Store
	Contacts ContactReader
	Outbox   *outbox.Outbox
	// PreferencesURL, if set, returns the page where the tenant's people
	// manage their choices (the privacy center); otherwise the email points
	// to the controller's website and privacy contact from the policy.
	PreferencesURL func(tenantID string) string
}

// NotifyRenewal implements RenewalNotifier. People without an email on
// file are skipped: the banner and the privacy center ask them again on
// their next visit. Repeats are absorbed by the outbox's dedupe key.
func (n *EmailRenewalNotifier) NotifyRenewal(ctx context.Context, r RenewalNotice) error {
	a, err := n.Tenants.Active(ctx, r.TenantID)
	if err != nil {
		return err
	}
	pol := a.Doc.Policy
	name, desc := r.Purpose, ""
	for _, p := range pol.Purposes {
		if p.Key == r.Purpose {
			name, desc = p.Name, p.Description
		}
	}
	addr, err := n.Contacts.ContactEmail(ctx, r.TenantID, r.SubjectID,
		fmt.Sprintf("consent renewal notice: %s (policy version %d)", r.Purpose, r.SinceVersion),
		vault.Actor{ID: "system:consent-renewal", Role: "system"})
	if errors.Is(err, vault.ErrNoContact) || errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	where := pol.Controller.Website
	if n.PreferencesURL != nil {
		if u := n.PreferencesURL(r.TenantID); u != "" {
			where = u
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s has changed how it uses personal data for \"%s\".\n", pol.Controller.Name, name)
	if desc != "" {
		fmt.Fprintf(&b, "\nWhat it is for: %s\n", desc)
	}
	b.WriteString("\nYour earlier consent does not cover the change, so we have stopped using your data for this purpose. ")
	b.WriteString("Nothing else changes, and you do not need to do anything if you do not agree.\n")
	if where != "" {
		fmt.Fprintf(&b, "\nIf you agree, you can give your consent again at %s.\n", where)
	}
	fmt.Fprintf(&b, "\nQuestions: %s\n", pol.Controller.Email)
	msg := outbox.Message{
		TenantID:  r.TenantID,
		SubjectID: r.SubjectID,
		Topic:     TopicRenewal,
		Email: &outbox.Email{
			To:      addr,
			Subject: fmt.Sprintf("Please confirm your choice: %s", name),
			Text:    b.String(),
		},
		DedupeKey: fmt.Sprintf("%s:%s:%s:%d", TopicRenewal, r.SubjectID, r.Purpose, r.SinceVersion),
	}
	return n.Store.Write(ctx, func(tx store.Tx) error {
		_, err := n.Outbox.Enqueue(tx, msg)
		return err
	})
}
