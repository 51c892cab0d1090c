package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
)

// result is the outcome of one delivery attempt. err is a description fit
// to store and log: no address, URL, body or secret (see scrub).
type result struct {
	ok         bool
	permanent  bool // retrying cannot help: dead at once
	code       int  // HTTP status or SMTP reply code
	err        string
	retryAfter time.Duration // the receiver asked for at least this delay
}

func failed(permanent bool, code int, format string, args ...any) result {
	return result{permanent: permanent, code: code, err: scrub(fmt.Sprintf(format, args...))}
}

// errSMTPNotConfigured is the status of an email waiting for SMTP.
const errSMTPNotConfigured = "SMTP not configured: the email waits until smtp_host and smtp_from are set"

// recordTimeout bounds recording an outcome, which must happen even when
// the runner is stopping right after a message went out.
const recordTimeout = 30 * time.Second

// handle is the job handler: it makes one delivery attempt of the message
// the job names, if the job still owns the message, and records the outcome
// with the next attempt (a new job) in one transaction. Errors returned
// here are infrastructure failures (store, key store) that the job runner
// retries; delivery failures are recorded on the message instead.
func (o *Outbox) handle(ctx context.Context, j store.Job) error {
	var p jobPayload
	if err := jobs.Decode(j, &p); err != nil || p.Message == "" {
		return jobs.Permanent(errors.New("outbox: job payload names no message"))
	}
	var m store.OutboxMessage
	err := o.st.Read(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.GetOutboxMessage(j.TenantID, p.Message)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // purged
	}
	if err != nil {
		return err
	}
	if m.Status != store.OutboxQueued || m.JobID != j.ID {
		return nil // delivered, closed, or another job owns the next attempt
	}
	log := o.log.With("message", m.ID, "topic", m.Topic, "tenant", m.TenantID, "channel", m.Channel, "attempt", m.Attempts+1)

	if m.Channel == ChannelEmail && !o.opts.SMTP.Configured() {
		log.Debug("outbox email held: SMTP not configured")
		return o.hold(ctx, m, j)
	}
	plain, err := o.km.OpenTenant(ctx, m.TenantID, keys.PurposeOutbox, []byte(m.ID), m.Payload)
	var res result
	switch {
	case errors.Is(err, keys.ErrDecrypt), errors.Is(err, keys.ErrNoKey):
		// Altered, moved from another row, or its tenant's keys are gone:
		// no retry can open it.
		res = failed(true, 0, "the sealed message does not open (altered, moved or its tenant key is gone)")
	case err != nil:
		return err
	default:
		var msg sealed
		uerr := json.Unmarshal(plain, &msg)
		clear(plain)
		switch {
		case uerr != nil:
			res = failed(true, 0, "the sealed message does not decode")
		case m.Channel == ChannelEmail && msg.Email != nil:
			res = o.sendEmail(ctx, m.ID, msg.Email)
		case m.Channel == ChannelWebhook && msg.Webhook != nil:
			res = o.sendWebhook(ctx, m.ID, msg.Webhook)
		default:
			res = failed(true, 0, "the sealed message does not match its channel")
		}
	}
	if ctx.Err() != nil && !res.ok {
		// Interrupted by shutdown or a lost lease: not the receiver's
		// fault, so no attempt is counted; the job runs again.
		return ctx.Err()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	final, err := o.record(rctx, m, j, res)
	if err != nil {
		return err
	}
	switch {
	case res.ok:
		log.Info("outbox message delivered", "code", res.code)
	case final.Status == store.OutboxDead:
		log.Warn("outbox message dead", "error", res.err, "code", res.code, "attempts", final.Attempts)
	case final.Status == store.OutboxQueued:
		log.Warn("outbox delivery failed; will retry", "error", res.err, "code", res.code, "next_attempt_at", final.NextAttemptAt)
	}
	return nil
}

// record writes the outcome of an attempt and schedules the next one, in
// one transaction, if job j still owns the message. A successful delivery
// is recorded even if a person asked for a retry meanwhile (the new job
// then finds the message delivered and does nothing).
func (o *Outbox) record(ctx context.Context, m store.OutboxMessage, j store.Job, res result) (store.OutboxMessage, error) {
	var out store.OutboxMessage
	err := o.st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.GetOutboxMessage(m.TenantID, m.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		owned := cur.Status == store.OutboxQueued && cur.JobID == j.ID
		if !owned && !(res.ok && (cur.Status == store.OutboxQueued || cur.Status == store.OutboxDead)) {
			out = cur
			return nil // handled or cancelled meanwhile; the attempt is moot
		}
		now := o.clk.Now()
		prev := cur.JobID
		cur.Attempts++
		cur.LastCode, cur.UpdatedAt = res.code, now
		switch {
		case res.ok:
			cur.Status, cur.Payload, cur.DeliveredAt, cur.LastError = store.OutboxDelivered, nil, now, ""
			cur.NextAttemptAt, cur.JobID = time.Time{}, ""
		case res.permanent || cur.Attempts >= cur.MaxAttempts:
			cur.Status, cur.NextAttemptAt, cur.JobID = store.OutboxDead, time.Time{}, ""
			cur.LastError = res.err
			if !res.permanent {
				cur.LastError = truncate(fmt.Sprintf("%s (gave up after %d attempts)", res.err, cur.Attempts), 1000)
			}
		default:
			next := now.Add(max(o.backoff(cur.Attempts), min(res.retryAfter, o.opts.BackoffMax)))
			job, err := o.newJob(cur.TenantID, cur.ID, next)
			if err != nil {
				return err
			}
			if _, err := tx.EnqueueJob(job); err != nil {
				return err
			}
			cur.NextAttemptAt, cur.JobID, cur.LastError = next, job.ID, res.err
		}
		if err := tx.UpdateOutboxMessage(cur, prev); err != nil {
			return err
		}
		if cur.Status != store.OutboxQueued {
			if err := o.notify(tx, cur, now); err != nil {
				return err
			}
		}
		out = cur
		return nil
	})
	return out, err
}

// hold keeps an email queued while SMTP is not configured: its status says
// so, and it is looked at again after HeldRetry without using an attempt.
// Emails are never dropped for want of a mail server.
func (o *Outbox) hold(ctx context.Context, m store.OutboxMessage, j store.Job) error {
	return o.st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.GetOutboxMessage(m.TenantID, m.ID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		if cur.Status != store.OutboxQueued || cur.JobID != j.ID {
			return nil
		}
		now := o.clk.Now()
		next := now.Add(o.opts.HeldRetry)
		job, err := o.newJob(cur.TenantID, cur.ID, next)
		if err != nil {
			return err
		}
		if _, err := tx.EnqueueJob(job); err != nil {
			return err
		}
		prev := cur.JobID
		cur.NextAttemptAt, cur.JobID, cur.LastError, cur.UpdatedAt = next, job.ID, errSMTPNotConfigured, now
		return tx.UpdateOutboxMessage(cur, prev)
	})
}

// backoff is the delay after the given number of failed attempts:
// BackoffBase doubling per attempt up to BackoffMax, with ±20% jitter so
// messages that failed together do not retry together.
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.opts.BackoffBase
	for i := 1; i < attempts && d < o.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.opts.BackoffMax)
	return d*4/5 + rand.N(d*2/5+1)
}

// stalledGrace is how long past its time a queued message must be before
// the rescue sweep looks at its job: longer than a job lease, so a job that
// is merely waiting for a free worker is left alone.
const stalledGrace = 10 * time.Minute

// rescue gives a new delivery job to queued messages whose job died (it
// failed JobAttempts times on the store or key store, or the job row was
// lost), so no message waits forever without an attempt.
func (o *Outbox) rescue(ctx context.Context) error {
	var stalled []store.OutboxMessage
	if err := o.st.Read(ctx, func(tx store.Tx) error {
		var err error
		stalled, err = tx.ListStalledOutbox(o.clk.Now().Add(-stalledGrace), 200)
		return err
	}); err != nil {
		return err
	}
	for _, m := range stalled {
		err := o.st.Write(ctx, func(tx store.Tx) error {
			cur, err := tx.GetOutboxMessage(m.TenantID, m.ID)
			if err != nil || cur.Status != store.OutboxQueued || cur.JobID != m.JobID {
				return nil // moved on meanwhile
			}
			if cur.JobID != "" {
				j, err := tx.GetJob(cur.JobID)
				if err == nil && (j.Status == store.JobQueued || j.Status == store.JobRunning) {
					return nil // alive, just late
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			now := o.clk.Now()
			job, err := o.newJob(cur.TenantID, cur.ID, now)
			if err != nil {
				return err
			}
			if _, err := tx.EnqueueJob(job); err != nil {
				return err
			}
			prev := cur.JobID
			cur.NextAttemptAt, cur.JobID, cur.UpdatedAt = now, job.ID, now
			if err := tx.UpdateOutboxMessage(cur, prev); err != nil {
				return err
			}
			tx.OnCommit(o.runner.Wake)
			tx.OnCommit(func() {
				o.log.Warn("outbox message had no live delivery job; rescheduled", "message", cur.ID, "topic", cur.Topic, "tenant", cur.TenantID)
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Patterns scrub removes: anything shaped like an email address or a URL.
var (
	emailLike = regexp.MustCompile(`[^\s<>()"',;:]+@[^\s<>()"',;]+`)
	urlLike   = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>]+`)
)

// scrub makes an error text safe to store and log: addresses and URLs an
// SMTP server or the network stack quoted are replaced, and the text is
// bounded. Error texts are built from fixed phrases and codes in the first
// place; this is the second line of defence.
func scrub(s string) string {
	s = urlLike.ReplaceAllString(s, "[url]")
	s = emailLike.ReplaceAllString(s, "[address]")
	return truncate(s, 500)
}
