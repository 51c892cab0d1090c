package consent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// addresses is a ContactReader over a fixed map, recording each read.
type addresses struct {
	m     map[string]string
	reads []string
}

func (a *addresses) ContactEmail(_ context.Context, _, subjectID, reason string, _ vault.Actor) (string, error) {
	a.reads = append(a.reads, reason)
	if addr, ok := a.m[subjectID]; ok {
		return addr, nil
	}
	return "", vault.ErrNoContact
}

// A person whose consent a policy change no longer covers gets one email,
// through real SMTP, naming the purpose and saying the data is no longer
// used for it; people without an address are skipped, and repeats of the
// at-least-once job send nothing twice.
func TestEmailRenewalNotifier(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		rig := outboxtest.NewRig(t, f.st)
		withMail := f.person("ada@example.test")
		without := f.person("bo@example.test")
		book := &addresses{m: map[string]string{withMail: "ada@example.test"}}
		n := &consent.EmailRenewalNotifier{Tenants: f.tenants, Store: f.st, Contacts: book, Outbox: rig.Outbox,
			PreferencesURL: func(string) string { return "https://privacy.example.test/p/brightfjord/preferences" }}
		for _, id := range []string{withMail, without, withMail} {
			if err := n.NotifyRenewal(f.ctx, consent.RenewalNotice{TenantID: f.tn.ID, SubjectID: id, Purpose: "analytics_cookies", SinceVersion: 2}); err != nil {
				t.Fatalf("notify %s: %v", id, err)
			}
		}
		mails := rig.SMTP.WaitFor(t, 1, 10*time.Second)
		time.Sleep(300 * time.Millisecond)
		if got := len(rig.SMTP.Messages()); got != 1 {
			t.Fatalf("%d emails sent, want exactly 1", got)
		}
		m := mails[0]
		if len(m.To) != 1 || m.To[0] != "ada@example.test" {
			t.Errorf("sent to %v", m.To)
		}
		for _, want := range []string{"stopped using your data for this purpose", "https://privacy.example.test/p/brightfjord/preferences"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("email text lacks %q:\n%s", want, m.Text)
			}
		}
		if len(book.reads) != 3 || !strings.Contains(book.reads[0], "consent renewal notice") {
			t.Errorf("address reads not audited with a reason: %v", book.reads)
		}
	})
}
