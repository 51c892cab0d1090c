package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

const wait = 15 * time.Second

// forEngines runs fn on a fresh store of each engine, in parallel.
func forEngines(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

func bg() context.Context { return context.Background() }

// Personal data the tests send, which must never show up in clear in the
// database, an error or a log.
const (
	addr    = "kari.nordmann@example.no"
	subject = "Din bekreftelseskode – 493817"
	code    = "493817"
	hookURL = "/hooks/trustee?token=very-secret-query"
)

func email() *outbox.Email {
	return &outbox.Email{
		To:      "Kari Nordmann <" + addr + ">",
		Subject: subject,
		Text:    "Hei Kari,\n\nkoden din er " + code + ". Den gjelder i 15 minutter.\n",
		HTML:    "<p>Hei Kari,</p><p>koden din er <b>" + code + "</b>.</p>",
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://acme.example/unsubscribe/abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}
}

func webhook(r *outboxtest.Rig, body string) *outbox.Webhook {
	return &outbox.Webhook{URL: r.Hooks.URL + hookURL, Secret: r.Secret, Event: "subject.erased", Body: json.RawMessage(body)}
}

// row reads the stored message, payload included.
func row(t *testing.T, st store.Store, tenantID, id string) store.OutboxMessage {
	t.Helper()
	var m store.OutboxMessage
	if err := st.Read(bg(), func(tx store.Tx) (err error) { m, err = tx.GetOutboxMessage(tenantID, id); return err }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnqueueRolledBack(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		boom := errors.New("the change failed")
		err := st.Write(bg(), func(tx store.Tx) error {
			if _, err := r.Outbox.Enqueue(tx, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("write = %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		if l, err := r.Outbox.List(bg(), tn, outbox.Filter{}); err != nil || len(l) != 0 {
			t.Fatalf("list after rollback = %v, %v", l, err)
		}
		var jobs []store.Job
		_ = st.Read(bg(), func(tx store.Tx) (err error) {
			jobs, err = tx.ListJobs(store.JobFilter{Kind: outbox.JobKind})
			return err
		})
		if len(jobs) != 0 || len(r.SMTP.Messages()) != 0 {
			t.Fatalf("rolled-back message left %d jobs, %d mails", len(jobs), len(r.SMTP.Messages()))
		}
	})
}

func TestEmailDelivered(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		id := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "subject-1", Topic: "rights.verification_code", Email: email()})

		m := r.SMTP.WaitFor(t, 1, wait)[0]
		if m.From != "privacy@trustee.test" || len(m.To) != 1 || m.To[0] != addr {
			t.Errorf("envelope from %q to %q", m.From, m.To)
		}
		if got := m.Header.Get("From"); !strings.Contains(got, "privacy@trustee.test") || !strings.Contains(got, "Trustee Privacy") {
			t.Errorf("From: %q", got)
		}
		if got := m.Header.Get("To"); !strings.Contains(got, addr) {
			t.Errorf("To: %q", got)
		}
		if m.Subject != subject {
			t.Errorf("Subject = %q", m.Subject)
		}
		if !strings.Contains(m.Text, "koden din er "+code) || !strings.Contains(m.HTML, "<b>"+code+"</b>") {
			t.Errorf("bodies: text %q html %q", m.Text, m.HTML)
		}
		if m.Header.Get("List-Unsubscribe") != "<https://acme.example/unsubscribe/abc>" ||
			m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("unsubscribe headers: %v", m.Header)
		}
		if got := m.Header.Get("Message-Id"); got != "<"+id+"@trustee.test>" {
			t.Errorf("Message-ID = %q, want one derived from %s", got, id)
		}
		if m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("Date") == "" {
			t.Errorf("Auto-Submitted %q, Date %q", m.Header.Get("Auto-Submitted"), m.Header.Get("Date"))
		}

		s := r.WaitState(t, tn, id, outbox.Delivered, wait)
		if s.Attempts != 1 || s.LastCode != 250 || s.Destination != "example.no" || s.HasPayload ||
			s.DeliveredAt.IsZero() || s.SubjectID != "subject-1" || s.Channel != outbox.ChannelEmail {
			t.Errorf("status %+v", s)
		}
		// The payload is gone from the row; the metadata stays.
		if got := row(t, st, tn, id); got.Payload != nil || got.Status != store.OutboxDelivered || got.Topic != "rights.verification_code" {
			t.Errorf("row after delivery: payload %d bytes, status %s", len(got.Payload), got.Status)
		}
	})
}

func TestEmailTLSModes(t *testing.T) {
	for _, mode := range []string{outbox.TLSStartTLS, outbox.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			st := storetest.OpenSQLite(t)
			r := outboxtest.NewRig(t, st, outboxtest.WithSMTPOptions(outboxtest.WithTLS(mode), outboxtest.WithAuth("trustee", "s3cret-pass")))
			tn := r.Tenant(t, "acme")
			id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: &outbox.Email{To: addr, Subject: "Done", Text: "Your request is complete."}})
			m := r.SMTP.WaitFor(t, 1, wait)[0]
			if !m.TLS || m.User != "trustee" || m.Text != "Your request is complete." || m.HTML != "" {
				t.Errorf("mail over %s: tls %v, user %q, text %q", mode, m.TLS, m.User, m.Text)
			}
			r.WaitState(t, tn, id, outbox.Delivered, wait)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		st := storetest.OpenSQLite(t)
		r := outboxtest.NewRig(t, st, outboxtest.Stopped(), outboxtest.WithSMTPOptions(outboxtest.WithTLS(outbox.TLSStartTLS), outboxtest.WithAuth("trustee", "right")))
		cfg := r.SMTP.Config()
		cfg.Password = "wrong-password-here"
		r2 := outboxtest.NewRig(t, st, outboxtest.WithOptions(withSMTP(outboxtest.Fast(), cfg)))
		tn := r2.Tenant(t, "acme")
		id := r2.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: &outbox.Email{To: addr, Subject: "Done", Text: "x"}})
		s := r2.WaitState(t, tn, id, outbox.Dead, wait)
		if !strings.Contains(s.LastError, "authentication") || strings.Contains(s.LastError, "wrong-password") || s.Attempts != 3 {
			t.Errorf("status %+v", s)
		}
	})
}

func withSMTP(o outbox.Options, c outbox.SMTPConfig) outbox.Options {
	o.SMTP = c
	o.AllowPrivate = true
	return o
}

func TestEmailRetriedThenDelivered(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.SMTP.Reject(451)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()})
		s := r.WaitState(t, tn, id, outbox.Delivered, wait)
		if s.Attempts != 2 || len(r.SMTP.Messages()) != 1 {
			t.Errorf("attempts %d, mails %d", s.Attempts, len(r.SMTP.Messages()))
		}
	})
}

func TestEmailPermanentFailure(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.SMTP.Reject(550)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()})
		s := r.WaitState(t, tn, id, outbox.Dead, wait)
		// The server's reply quoted the address; the stored error does not.
		if s.Attempts != 1 || s.LastCode != 550 || !strings.Contains(s.LastError, "550 5.1.1") || strings.Contains(s.LastError, "@") {
			t.Errorf("status %+v", s)
		}
		if !s.HasPayload {
			t.Error("a dead letter lost its payload")
		}
	})
}

func TestWebhookDelivered(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.Hooks.Respond(http.StatusNoContent)
		body := `{"subject_id":"subject-1","request_id":"req-1","categories":["contact"]}`
		id := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "subject-1", Topic: "propagation.erasure", Webhook: webhook(r, body)})
		d := r.Hooks.WaitFor(t, 1, wait)[0]
		if d.Verified != nil || d.Event != "subject.erased" || d.ID != id || string(d.Body) != body ||
			d.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(d.Header.Get(outbox.HeaderSignature), "v1=") {
			t.Errorf("delivery %+v (verified: %v)", d, d.Verified)
		}
		s := r.WaitState(t, tn, id, outbox.Delivered, wait)
		if s.LastCode != http.StatusNoContent || s.Attempts != 1 || s.Destination != "127.0.0.1" || s.HasPayload {
			t.Errorf("status %+v", s)
		}
	})
}

func TestWebhookRetried(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.Hooks.Respond(http.StatusInternalServerError, http.StatusOK)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{"n":1}`)})
		s := r.WaitState(t, tn, id, outbox.Delivered, wait)
		ds := r.Hooks.Deliveries()
		if s.Attempts != 2 || len(ds) != 2 || ds[0].ID != id || ds[1].ID != id || ds[0].Status != 500 || ds[1].Status != 200 {
			t.Errorf("attempts %d, deliveries %+v", s.Attempts, ds)
		}
		if ds[1].At.Sub(ds[0].At) < 15*time.Millisecond {
			t.Errorf("retried after %s, before the backoff", ds[1].At.Sub(ds[0].At))
		}
	})
}

func TestWebhookDeadThenRetryNow(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.Hooks.Always(http.StatusInternalServerError)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{"n":1}`)})
		s := r.WaitState(t, tn, id, outbox.Dead, wait)
		if s.Attempts != 3 || s.LastCode != 500 || s.LastError != "HTTP 500 (gave up after 3 attempts)" || !s.HasPayload || !s.NextAttemptAt.IsZero() {
			t.Errorf("dead status %+v", s)
		}
		dead, err := r.Outbox.List(bg(), tn, outbox.Filter{State: outbox.Dead})
		if err != nil || len(dead) != 1 || dead[0].ID != id {
			t.Fatalf("dead letters = %+v, %v", dead, err)
		}
		if n := len(r.Hooks.Deliveries()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		// The receiver recovers; a person retries.
		r.Hooks.Always(http.StatusOK)
		if err := r.Outbox.RetryNow(bg(), tn, id); err != nil {
			t.Fatal(err)
		}
		s = r.WaitState(t, tn, id, outbox.Delivered, wait)
		if s.Attempts != 4 || s.LastCode != 200 || s.LastError != "" || s.HasPayload {
			t.Errorf("after retry %+v", s)
		}
		if err := r.Outbox.RetryNow(bg(), tn, id); !errors.Is(err, outbox.ErrFinal) {
			t.Errorf("retrying a delivered message: %v", err)
		}
		if err := r.Outbox.RetryNow(bg(), tn, store.NewID()); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("retrying a missing message: %v", err)
		}
	})
}

func TestWebhookGone(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		r.Hooks.Always(http.StatusGone)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{}`)})
		s := r.WaitState(t, tn, id, outbox.Dead, wait)
		if s.Attempts != 1 || s.LastCode != 410 {
			t.Errorf("status %+v", s)
		}
	})
}

func TestRetryNowPullsForward(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.reminder", Email: email(), NotBefore: time.Now().Add(time.Hour)})
		time.Sleep(100 * time.Millisecond)
		if s, _ := r.Outbox.Get(bg(), tn, id); s.State != outbox.Queued || s.Attempts != 0 || len(r.SMTP.Messages()) != 0 {
			t.Fatalf("sent before NotBefore: %+v", s)
		}
		if err := r.Outbox.RetryNow(bg(), tn, id); err != nil {
			t.Fatal(err)
		}
		r.WaitState(t, tn, id, outbox.Delivered, wait)
		// The original job, due in an hour, finds nothing to do: one mail.
		if n := len(r.SMTP.Messages()); n != 1 {
			t.Errorf("%d mails", n)
		}
	})
}

func TestNotBefore(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		start := time.Now()
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.reminder", Email: email(), NotBefore: start.Add(300 * time.Millisecond)})
		r.SMTP.WaitFor(t, 1, wait)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("sent after %s", d)
		}
		r.WaitState(t, tn, id, outbox.Delivered, wait)
	})
}

func TestMarkHandled(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		var mu sync.Mutex
		var seen []outbox.Outcome
		r.Outbox.Observe("propagation.", func(tx store.Tx, o outbox.Outcome) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, o)
			return nil
		})
		r.Hooks.Always(http.StatusInternalServerError)
		id := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "s1", Topic: "propagation.rectification", Webhook: webhook(r, `{}`)})
		r.WaitState(t, tn, id, outbox.Dead, wait)

		if err := r.Outbox.MarkHandled(bg(), tn, id, "", "apikey:abc"); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("no note: %v", err)
		}
		if err := r.Outbox.MarkHandled(bg(), tn, store.NewID(), "note", "apikey:abc"); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		if err := r.Outbox.MarkHandled(bg(), tn, id, "Phoned their DPO; they confirmed the correction.", "apikey:abc"); err != nil {
			t.Fatal(err)
		}
		s, err := r.Outbox.Get(bg(), tn, id)
		if err != nil || s.State != outbox.Handled || s.HandledBy != "apikey:abc" || s.Note == "" || s.HasPayload || s.HandledAt.IsZero() {
			t.Fatalf("handled status %+v, %v", s, err)
		}
		if got := row(t, st, tn, id); got.Payload != nil {
			t.Error("handled message kept its payload")
		}
		if err := r.Outbox.MarkHandled(bg(), tn, id, "again", "apikey:abc"); !errors.Is(err, outbox.ErrFinal) {
			t.Errorf("second MarkHandled: %v", err)
		}
		if err := r.Outbox.RetryNow(bg(), tn, id); !errors.Is(err, outbox.ErrFinal) {
			t.Errorf("RetryNow after handled: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 || seen[0].State != outbox.Dead || seen[1].State != outbox.Handled ||
			seen[1].Actor != "apikey:abc" || seen[1].MessageID != id || seen[1].SubjectID != "s1" {
			t.Errorf("observer saw %+v", seen)
		}
	})
}

func TestDedupe(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		m := outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email(), DedupeKey: "req-1/completed"}
		a, b := r.Enqueue(t, m), r.Enqueue(t, m)
		if a != b {
			t.Fatalf("ids %s and %s", a, b)
		}
		r.WaitState(t, tn, a, outbox.Delivered, wait)
		if c := r.Enqueue(t, m); c != a {
			t.Errorf("after delivery: %s", c)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(r.SMTP.Messages()); n != 1 {
			t.Errorf("%d mails, want 1", n)
		}
	})
}

func TestNoSMTPConfigured(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st, outboxtest.WithoutSMTP())
		if r.Outbox.SMTPConfigured() {
			t.Fatal("configured")
		}
		tn := r.Tenant(t, "acme")
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()})
		deadline := time.Now().Add(wait)
		var s outbox.Status
		for {
			s, _ = r.Outbox.Get(bg(), tn, id)
			if strings.Contains(s.LastError, "SMTP not configured") || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // several held rounds
		s, _ = r.Outbox.Get(bg(), tn, id)
		if s.State != outbox.Queued || s.Attempts != 0 || !s.HasPayload || !strings.Contains(s.LastError, "SMTP not configured") {
			t.Fatalf("held status %+v", s)
		}
		// Webhooks do not wait for SMTP.
		wid := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{}`)})
		r.WaitState(t, tn, wid, outbox.Delivered, wait)

		// An instance with SMTP picks the held email up: nothing was
		// dropped.
		ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
		defer cancel()
		if err := r.Runner.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		smtp := outboxtest.StartSMTP(t)
		ob := outbox.New(st, r.Keys, startRunner(t, st), withSMTP(outboxtest.Fast(), smtp.Config()))
		if m := smtp.WaitFor(t, 1, wait)[0]; m.Subject != subject {
			t.Errorf("subject %q", m.Subject)
		}
		s = waitState(t, ob, tn, id, outbox.Delivered)
		if s.Attempts != 1 || s.LastError != "" {
			t.Errorf("after SMTP appeared: %+v", s)
		}
	})
}

// startRunner starts a job runner over st that stops when the test ends.
func startRunner(t *testing.T, st store.Store) *jobs.Runner {
	t.Helper()
	r := jobs.New(st, jobs.Options{PollInterval: 10 * time.Millisecond})
	if err := r.Start(bg()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

func waitState(t *testing.T, ob *outbox.Outbox, tenantID, id string, state outbox.State) outbox.Status {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		s, err := ob.Get(bg(), tenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.State == state {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("message is %s (%q), want %s", s.State, s.LastError, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCiphertextBoundToRow(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		later := time.Now().Add(time.Hour)
		a := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email(), NotBefore: later})
		b := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: &outbox.Email{To: "other@example.com", Subject: "x", Text: "y"}, NotBefore: later})
		ra, rb := row(t, st, tn, a), row(t, st, tn, b)

		// Nothing personal is readable in the stored payload.
		for _, s := range []string{addr, "Kari", code, "bekreftelseskode", "unsubscribe"} {
			if bytes.Contains(ra.Payload, []byte(s)) {
				t.Errorf("payload contains %q in clear", s)
			}
		}
		// Copy a's ciphertext into b's row.
		rb.Payload = ra.Payload
		if err := st.Write(bg(), func(tx store.Tx) error { return tx.UpdateOutboxMessage(rb, rb.JobID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Keys.OpenTenant(bg(), tn, keys.PurposeOutbox, []byte(b), ra.Payload); !errors.Is(err, keys.ErrDecrypt) {
			t.Errorf("a's payload opened as b's: %v", err)
		}
		if err := r.Outbox.RetryNow(bg(), tn, b); err != nil {
			t.Fatal(err)
		}
		s := r.WaitState(t, tn, b, outbox.Dead, wait)
		if s.Attempts != 1 || !strings.Contains(s.LastError, "does not open") {
			t.Errorf("status %+v", s)
		}
		if n := len(r.SMTP.Messages()); n != 0 {
			t.Errorf("%d mails sent from a moved payload", n)
		}
		// a itself is intact.
		if err := r.Outbox.RetryNow(bg(), tn, a); err != nil {
			t.Fatal(err)
		}
		r.WaitState(t, tn, a, outbox.Delivered, wait)
	})
}

func TestCancelSubject(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		later := time.Now().Add(time.Hour)
		reminder := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "s1", Topic: "marketing.newsletter", Email: email(), NotBefore: later})
		confirm := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "s1", Topic: "rights.completed", Email: email(), NotBefore: later})
		other := r.Enqueue(t, outbox.Message{TenantID: tn, SubjectID: "s2", Topic: "marketing.newsletter", Email: email(), NotBefore: later})
		var n int
		err := st.Write(bg(), func(tx store.Tx) (err error) {
			n, err = r.Outbox.CancelSubject(tx, tn, "s1", "subject erased", "rights.completed")
			return err
		})
		if err != nil || n != 1 {
			t.Fatalf("CancelSubject = %d, %v", n, err)
		}
		want := map[string]outbox.State{reminder: outbox.Cancelled, confirm: outbox.Queued, other: outbox.Queued}
		for id, state := range want {
			s, _ := r.Outbox.Get(bg(), tn, id)
			if s.State != state || (state == outbox.Cancelled && (s.HasPayload || s.Note != "subject erased")) {
				t.Errorf("%s: %+v", id, s)
			}
		}
		err = st.Write(bg(), func(tx store.Tx) error { return r.Outbox.Cancel(tx, tn, reminder, "again") })
		if !errors.Is(err, outbox.ErrFinal) {
			t.Errorf("cancel twice: %v", err)
		}
	})
}

func TestList(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn, other := r.Tenant(t, "acme"), r.Tenant(t, "other")
		later := time.Now().Add(time.Hour)
		var ids []string
		for i := range 5 {
			topic := "rights.completed"
			if i%2 == 1 {
				topic = "breach.notice"
			}
			ids = append(ids, r.Enqueue(t, outbox.Message{TenantID: tn, Topic: topic, Email: email(), NotBefore: later}))
		}
		r.Enqueue(t, outbox.Message{TenantID: other, Topic: "breach.notice", Email: email(), NotBefore: later})
		all, err := r.Outbox.List(bg(), tn, outbox.Filter{})
		if err != nil || len(all) != 5 || all[0].ID != ids[4] {
			t.Fatalf("list = %d, %v", len(all), err)
		}
		breach, _ := r.Outbox.List(bg(), tn, outbox.Filter{Topic: "breach.notice"})
		if len(breach) != 2 {
			t.Errorf("breach notices: %d", len(breach))
		}
		page, _ := r.Outbox.List(bg(), tn, outbox.Filter{Limit: 2, Before: all[1].ID})
		if len(page) != 2 || page[0].ID != ids[2] {
			t.Errorf("page = %+v", page)
		}
		if _, err := r.Outbox.List(bg(), tn, outbox.Filter{State: "sent"}); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("bad state: %v", err)
		}
		if _, err := r.Outbox.Get(bg(), other, ids[0]); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("other tenant's message: %v", err)
		}
	})
}

func TestSSRF(t *testing.T) {
	st := storetest.OpenSQLite(t)
	resolver := fakeResolver{
		"hooks.example.com": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")},
		"meta.example.com":  {netip.MustParseAddr("169.254.169.254")},
	}
	opts := outboxtest.Fast()
	opts.Resolver = resolver
	r := outboxtest.NewRig(t, st, outboxtest.WithOptions(opts)) // AllowPrivate false
	tn := r.Tenant(t, "acme")
	urls := []string{
		r.Hooks.URL + "/direct-loopback",
		strings.Replace(r.Hooks.URL, "127.0.0.1", "localhost", 1) + "/by-name",
		"http://[::1]:1/v6-loopback",
		"http://hooks.example.com/one-private-address",
		"http://meta.example.com/latest/meta-data",
		"http://[::ffff:10.0.0.1]/mapped",
	}
	for _, u := range urls {
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure",
			Webhook: &outbox.Webhook{URL: u, Secret: r.Secret, Event: "subject.erased", Body: json.RawMessage(`{}`)}})
		s := r.WaitState(t, tn, id, outbox.Dead, wait)
		if s.Attempts != 1 || !strings.Contains(s.LastError, "private") || strings.Contains(s.LastError, "example.com") {
			t.Errorf("%s: %+v", u, s)
		}
	}
	if n := len(r.Hooks.Deliveries()); n != 0 {
		t.Errorf("%d requests reached the loopback receiver", n)
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	if host == "localhost" {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, errors.New("no such host")
}

// TestNothingPersonalInLogsOrErrors sends mail and webhooks, with failures,
// through a logger at debug level and checks that no address, subject,
// body, code, secret or URL appears in the log or the stored errors.
func TestNothingPersonalInLogsOrErrors(t *testing.T) {
	st := storetest.OpenSQLite(t)
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := outboxtest.NewRig(t, st, outboxtest.WithLogger(logger))
	tn := r.Tenant(t, "acme")
	r.SMTP.Reject(451, 550)
	r.Hooks.Respond(500, 503)
	e1 := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.verification_code", Email: email()})
	e2 := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.verification_code", Email: email()})
	w := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{"email":"`+addr+`"}`)})
	r.WaitState(t, tn, w, outbox.Delivered, wait)
	for _, id := range []string{e1, e2} {
		deadline := time.Now().Add(wait)
		for {
			s, _ := r.Outbox.Get(bg(), tn, id)
			if s.State != outbox.Queued || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	statuses, _ := r.Outbox.List(bg(), tn, outbox.Filter{})
	stored, _ := json.Marshal(statuses)
	for _, secret := range []string{addr, "Kari", code, "bekreftelseskode", "very-secret-query", "/hooks/trustee", string(r.Secret), "unsubscribe/abc"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
		if bytes.Contains(stored, []byte(secret)) {
			t.Errorf("statuses contain %q", secret)
		}
	}
	if !strings.Contains(buf.String(), `"message":"`+w+`"`) || !strings.Contains(buf.String(), "propagation.erasure") {
		t.Errorf("log lacks the message id and topic:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPayloadShreddedFromSQLiteFile: after delivery, the sealed payload's
// bytes are not left in a free page of the database file.
func TestPayloadShreddedFromSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trustee.db")
	st, err := engines.Open(bg(), "sqlite:"+path, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := outboxtest.NewRig(t, st)
	tn := r.Tenant(t, "acme")
	id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email(), NotBefore: time.Now().Add(time.Hour)})
	sealed := row(t, st, tn, id).Payload
	if err := r.Outbox.RetryNow(bg(), tn, id); err != nil {
		t.Fatal(err)
	}
	r.WaitState(t, tn, id, outbox.Delivered, wait)
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
	defer cancel()
	_ = r.Runner.Stop(ctx)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, sealed[len(sealed)-48:]) {
		t.Error("the delivered message's ciphertext is still in the SQLite file")
	}
	if !bytes.Contains(b, []byte("rights.completed")) {
		t.Error("the metadata is missing (test setup)")
	}
}

// TestRescue: a queued message whose delivery job died (its store or key
// store kept failing) gets a new job from the periodic sweep.
func TestRescue(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		opts := outboxtest.Fast()
		opts.AllowPrivate = true
		opts.RescueEvery = time.Second
		r := outboxtest.NewRig(t, st, outboxtest.Stopped(), outboxtest.WithOptions(opts))
		tn := r.Tenant(t, "acme")
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email(), NotBefore: time.Now().Add(time.Hour)})
		m := row(t, st, tn, id)
		now := time.Now()
		err := st.Write(bg(), func(tx store.Tx) error {
			jobs, err := tx.ClaimJobs("crashing-worker", []string{outbox.JobKind}, now.Add(2*time.Hour), now.Add(3*time.Hour), 10)
			if err != nil || len(jobs) != 1 || jobs[0].ID != m.JobID {
				return errors.New("could not claim the job")
			}
			if err := tx.FailJob(m.JobID, "crashing-worker", "key store unreachable", now, time.Time{}); err != nil {
				return err
			}
			m.NextAttemptAt = now.Add(-time.Hour)
			return tx.UpdateOutboxMessage(m, m.JobID)
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Start(t)
		s := r.WaitState(t, tn, id, outbox.Delivered, wait)
		if s.Attempts != 1 {
			t.Errorf("status %+v", s)
		}
	})
}

// TestObserverInTransaction: an observer's error rolls the outcome back, so
// the outcome and the observer's own changes commit together; the message
// is then delivered again (at least once).
func TestObserverInTransaction(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		var mu sync.Mutex
		calls, committed := 0, 0
		r.Outbox.Observe("rights.", func(tx store.Tx, o outbox.Outcome) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return errors.New("the request row is locked")
			}
			tx.OnCommit(func() { mu.Lock(); committed++; mu.Unlock() })
			return nil
		})
		id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()})
		r.WaitState(t, tn, id, outbox.Delivered, wait)
		// OnCommit callbacks run just after the commit that made the state
		// visible, so give the second one a moment to run.
		count := func() int { mu.Lock(); defer mu.Unlock(); return committed }
		for deadline := time.Now().Add(wait); count() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // a second commit, if any, would show by now
		if n := count(); n != 1 || len(r.SMTP.Messages()) != 2 {
			t.Errorf("observer committed %d times, %d mails (want 1 and 2)", n, len(r.SMTP.Messages()))
		}
	})
}

func TestRetryAfter(t *testing.T) {
	st := storetest.OpenSQLite(t)
	r := outboxtest.NewRig(t, st)
	tn := r.Tenant(t, "acme")
	r.Hooks.RetryAfter("1")
	r.Hooks.Respond(http.StatusTooManyRequests)
	id := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "propagation.erasure", Webhook: webhook(r, `{}`)})
	r.WaitState(t, tn, id, outbox.Delivered, wait)
	ds := r.Hooks.Deliveries()
	// The rig's BackoffMax (200 ms) caps the receiver's one second.
	if len(ds) != 2 || ds[1].At.Sub(ds[0].At) < 150*time.Millisecond {
		t.Errorf("%d deliveries, %s apart", len(ds), ds[len(ds)-1].At.Sub(ds[0].At))
	}
}

func TestPurge(t *testing.T) {
	forEngines(t, func(t *testing.T, st store.Store) {
		r := outboxtest.NewRig(t, st)
		tn := r.Tenant(t, "acme")
		done := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.completed", Email: email()})
		r.WaitState(t, tn, done, outbox.Delivered, wait)
		waiting := r.Enqueue(t, outbox.Message{TenantID: tn, Topic: "rights.reminder", Email: email(), NotBefore: time.Now().Add(time.Hour)})
		if n, err := r.Outbox.Purge(bg(), tn, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge of nothing old = %d, %v", n, err)
		}
		n, err := r.Outbox.Purge(bg(), tn, time.Now().Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		l, _ := r.Outbox.List(bg(), tn, outbox.Filter{})
		if len(l) != 1 || l[0].ID != waiting {
			t.Errorf("left %+v", l)
		}
	})
}
