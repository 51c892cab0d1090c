// Package outbox delivers Trustee's emails (over SMTP) and webhooks (signed
// HTTP POSTs) durably, written in the same transaction as the change that
// causes them.
//
// A caller that changes something and must tell someone — a verification
// code to send, a request completed, a breach notice, an erasure to pass on
// to a recipient — calls Enqueue with its own store.Tx. The message row and
// the job that delivers it commit with the change or not at all, so no
// message is sent for a change that rolled back and none is lost for one
// that committed. Delivery is at least once: a crash between sending and
// recording sends again; receivers deduplicate by the message id
// (Trustee-Delivery header, Message-ID).
//
// Everything personal in a message (recipient address, subject line,
// bodies, webhook URL, secret and body) is sealed at rest under a tenant key
// with the message id as associated data, and deleted once the message is
// delivered, handled by hand or cancelled; what stays is metadata: topic,
// status, times, attempts, the recipient's domain. Logs and stored errors
// never hold addresses, bodies, codes, secrets or URLs.
//
// Failed attempts are retried with exponential backoff and jitter (by
// default 10 attempts over about a day) and then dead-lettered: visible in
// List, retried with RetryNow, or closed with MarkHandled when a person took
// care of it another way.
package outbox

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/clock"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Message is something to deliver. Exactly one of Email and Webhook is set.
type Message struct {
	TenantID string
	// SubjectID is whose message it is, if anyone's: the console shows it
	// and CancelSubject finds it when the person is erased. Optional.
	SubjectID string
	// Topic says what the message is about, in lower case with dots, e.g.
	// rights.verification_code, rights.completed, breach.notice,
	// propagation.erasure. Listed, filtered and logged; never personal.
	Topic   string
	Email   *Email
	Webhook *Webhook
	// NotBefore delays the first attempt; zero means now.
	NotBefore time.Time
	// DedupeKey, if set, makes the message unique in the tenant for as
	// long as its record is kept (until Purge removes it): enqueueing
	// another with the same key returns the first one's id and sends
	// nothing ("send the completion notice of request R once").
	DedupeKey string
}

// Email is an email to one recipient, sent from the configured smtp_from.
type Email struct {
	// To is one address, optionally with a display name:
	// "kari@example.no" or "Kari Nordmann <kari@example.no>".
	To      string `json:"to"`
	Subject string `json:"subject"`
	// Text and HTML are the bodies; at least one is needed. With both,
	// the email is multipart/alternative.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// Headers are extra header fields, e.g. List-Unsubscribe,
	// List-Unsubscribe-Post, Reply-To. The fields Trustee sets itself
	// (From, To, Subject, Date, Message-ID, MIME and content fields...)
	// cannot be overridden.
	Headers map[string]string `json:"headers,omitempty"`
}

// Webhook is a signed POST of a JSON body.
type Webhook struct {
	// URL is where to POST, http or https. Destinations on loopback,
	// private or link-local addresses are refused at delivery unless
	// Options.AllowPrivate is set.
	URL string `json:"url"`
	// Secret is the HMAC-SHA256 key of the Trustee-Signature header, at
	// least 16 bytes, shared with the receiver.
	Secret []byte `json:"secret"`
	// Event names the event in the Trustee-Event header, e.g.
	// subject.erased.
	Event string `json:"event"`
	// Body is the JSON document to send.
	Body json.RawMessage `json:"body"`
}

// State is where a message is in its life.
type State string

// States of a message.
const (
	// Queued: waiting for its next attempt (the first one, a retry, or
	// for SMTP to be configured).
	Queued State = store.OutboxQueued
	// Delivered: accepted by the SMTP server, or answered 2xx by the
	// webhook receiver. Final; the payload is deleted.
	Delivered State = store.OutboxDelivered
	// Dead: given up after MaxAttempts or a permanent failure. The
	// payload is kept for RetryNow until a person handles it.
	Dead State = store.OutboxDead
	// Handled: a person took care of it another way (MarkHandled). Final.
	Handled State = store.OutboxHandled
	// Cancelled: withdrawn before delivery (Cancel, CancelSubject). Final.
	Cancelled State = store.OutboxCancelled
)

// Final reports whether nothing more will happen to a message in s.
func (s State) Final() bool { return s == Delivered || s == Handled || s == Cancelled }

// Channels.
const (
	ChannelEmail   = store.OutboxEmail
	ChannelWebhook = store.OutboxWebhook
)

// Status describes a message without anything personal: no address,
// subject line, body, URL or secret. It is what the console lists.
type Status struct {
	ID        string
	TenantID  string
	SubjectID string
	Topic     string
	Channel   string // email | webhook
	// Destination is the recipient's email domain or the webhook's host.
	Destination string
	State       State
	Attempts    int
	MaxAttempts int
	// NextAttemptAt is when a queued message is tried next; zero otherwise.
	NextAttemptAt time.Time
	// LastError is why the last attempt failed, or why the message waits
	// ("SMTP not configured"); LastCode the last HTTP status or SMTP reply
	// code.
	LastError   string
	LastCode    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time
	// HandledAt, HandledBy and Note record who closed it by hand (or
	// cancelled it) and why.
	HandledAt time.Time
	HandledBy string
	Note      string
	// HasPayload reports whether the sealed message is still stored (while
	// queued or dead).
	HasPayload bool
}

func statusOf(m store.OutboxMessage) Status {
	return Status{
		ID: m.ID, TenantID: m.TenantID, SubjectID: m.SubjectID, Topic: m.Topic, Channel: m.Channel,
		Destination: m.Destination, State: State(m.Status), Attempts: m.Attempts, MaxAttempts: m.MaxAttempts,
		NextAttemptAt: m.NextAttemptAt, LastError: m.LastError, LastCode: m.LastCode, CreatedAt: m.CreatedAt,
		UpdatedAt: m.UpdatedAt, DeliveredAt: m.DeliveredAt, HandledAt: m.HandledAt, HandledBy: m.HandledBy,
		Note: m.Note, HasPayload: m.HasPayload,
	}
}

// Filter selects messages to list, newest first.
type Filter struct {
	State     State  // optional
	Topic     string // optional, exact
	SubjectID string // optional
	Channel   string // optional: email or webhook
	// Before is a cursor: the ID of the last message of the previous page.
	Before string
	Limit  int // default 100, at most 1000
}

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalid: the message (or argument) is malformed; nothing was
	// stored. The error text says what is wrong, without the values.
	ErrInvalid = errors.New("outbox: invalid message")
	// ErrNotFound: the tenant has no such message.
	ErrNotFound = errors.New("outbox: no such message")
	// ErrFinal: the message is already delivered, handled or cancelled.
	ErrFinal = errors.New("outbox: the message is already delivered, handled or cancelled")
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption, for a relay on localhost or a trusted network (port 25)
)

// SMTPConfig is how to reach the mail server. The zero value means "not
// configured": emails stay queued and say so.
type SMTPConfig struct {
	Host     string
	Port     int    // default by TLS mode: 587, 465 or 25
	Username string // empty: no authentication
	Password string // never logged; see String
	// From is the sender of every email, an address with an optional
	// display name: "Acme Privacy <privacy@acme.example>".
	From string
	TLS  string // starttls (default), tls or none
	// TLSConfig overrides the TLS client configuration, e.g. to trust a
	// private CA. ServerName defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds one delivery: connect, TLS, authentication and
	// sending (default 30s).
	Timeout time.Duration
}

// Configured reports whether emails can be sent.
func (c SMTPConfig) Configured() bool { return c.Host != "" }

// Mode returns the TLS mode with its default.
func (c SMTPConfig) Mode() string {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

// PortOrDefault returns the port, or the usual one of the TLS mode.
func (c SMTPConfig) PortOrDefault() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.Mode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

// Validate checks a configured SMTPConfig.
func (c SMTPConfig) Validate() error {
	if !c.Configured() {
		if c.From != "" || c.Username != "" || c.Password != "" || c.Port != 0 {
			return errors.New("smtp_host is required when other SMTP settings are given")
		}
		return nil
	}
	switch c.Mode() {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("smtp_tls must be starttls, tls or none, not %q", c.TLS)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("smtp_port %d is not a port", c.Port)
	}
	if strings.ContainsAny(c.Host, " /\r\n") {
		return errors.New("smtp_host must be a host name or address, without scheme or port")
	}
	if c.From == "" {
		return errors.New("smtp_from is required when smtp_host is set")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return errors.New(`smtp_from must be an email address, optionally with a name: "Acme Privacy <privacy@acme.example>"`)
	}
	if (c.Username == "") != (c.Password == "") {
		return errors.New("smtp_username and smtp_password must be given together (the password best in TRUSTEE_SMTP_PASSWORD)")
	}
	return nil
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	if !c.Configured() {
		return "SMTP not configured"
	}
	auth := "no authentication"
	if c.Username != "" {
		auth = "as " + c.Username
	}
	return fmt.Sprintf("smtp://%s (%s, %s)", net.JoinHostPort(c.Host, strconv.Itoa(c.PortOrDefault())), c.Mode(), auth)
}

// LogValue keeps the password out of structured logs.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Resolver looks up the addresses of a webhook's host; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure an Outbox. Zero fields take the defaults shown.
type Options struct {
	// SMTP is the mail server; zero means not configured.
	SMTP SMTPConfig
	// MaxAttempts is how many times a message is tried before it is dead
	// (default 10).
	MaxAttempts int
	// BackoffBase is the delay after the first failed attempt (default 5
	// minutes); it doubles with each failure up to BackoffMax (default 8
	// hours), with ±20% jitter. The defaults spread 10 attempts over about
	// a day, so a receiver down for a night still gets its messages.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// HeldRetry is how often an email waiting for SMTP to be configured is
	// looked at again (default 5 minutes); waiting uses no attempts.
	HeldRetry time.Duration
	// WebhookTimeout bounds one webhook request (default 10s).
	WebhookTimeout time.Duration
	// AllowPrivate lets webhooks go to loopback, private and link-local
	// addresses (setting webhook_allow_private). Off by default: a webhook
	// URL is data, and must not reach the inside of the network (SSRF).
	AllowPrivate bool
	// Resolver resolves webhook hosts (default net.DefaultResolver).
	Resolver Resolver
	// JobAttempts bounds how often one delivery job is run again after an
	// infrastructure failure (store or key store unavailable, a crash)
	// before the rescue sweep takes over (default 5).
	JobAttempts int
	// RescueEvery is how often queued messages whose delivery job died are
	// given a new one (default 5 minutes; negative disables).
	RescueEvery time.Duration
	// Clock is the time source (default the system clock).
	Clock clock.Clock
	// Logger receives delivery events: message id, topic, tenant, status,
	// attempt. Never addresses, bodies, codes, secrets or URLs.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxAttempts    = 10
	DefaultBackoffBase    = 5 * time.Minute
	DefaultBackoffMax     = 8 * time.Hour
	DefaultHeldRetry      = 5 * time.Minute
	DefaultWebhookTimeout = 10 * time.Second
	DefaultSMTPTimeout    = 30 * time.Second
	DefaultJobAttempts    = 5
	DefaultRescueEvery    = 5 * time.Minute
)

// JobKind is the job that delivers one message.
const JobKind = "outbox.deliver"

// Outbox queues and delivers messages. Create it with New; it is safe for
// concurrent use.
type Outbox struct {
	st     store.Store
	km     *keys.Manager
	runner *jobs.Runner
	opts   Options
	clk    clock.Clock
	log    *slog.Logger
	web    *webhookClient

	mu        sync.RWMutex
	observers []observer
}

// New returns an Outbox over the store, sealing payloads with km and
// delivering through runner, on which it registers its job handler (and a
// periodic rescue sweep); the runner's Start begins delivery.
func New(st store.Store, km *keys.Manager, runner *jobs.Runner, o Options) *Outbox {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffBase)
	if o.HeldRetry <= 0 {
		o.HeldRetry = DefaultHeldRetry
	}
	if o.WebhookTimeout <= 0 {
		o.WebhookTimeout = DefaultWebhookTimeout
	}
	if o.SMTP.Timeout <= 0 {
		o.SMTP.Timeout = DefaultSMTPTimeout
	}
	if o.JobAttempts <= 0 {
		o.JobAttempts = DefaultJobAttempts
	}
	if o.RescueEvery == 0 {
		o.RescueEvery = DefaultRescueEvery
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ob := &Outbox{
		st: st, km: km, runner: runner, opts: o, clk: clock.OrSystem(o.Clock),
		log: log.With("component", "outbox"),
	}
	ob.web = newWebhookClient(o.WebhookTimeout, o.AllowPrivate)
	runner.Register(JobKind, ob.handle)
	if o.RescueEvery > 0 {
		runner.Periodic("outbox.rescue", max(o.RescueEvery, time.Second), ob.rescue)
	}
	return ob
}

// SMTPConfigured reports whether emails can be sent; without SMTP they
// stay queued.
func (o *Outbox) SMTPConfigured() bool { return o.opts.SMTP.Configured() }

// SMTP returns the mail server settings in use; log it freely, as its
// String and LogValue leave out the password.
func (o *Outbox) SMTP() SMTPConfig { return o.opts.SMTP }

// jobPayload is what a delivery job carries: a reference, never content.
type jobPayload struct {
	Message string `json:"message"`
}

// sealed is the plaintext of a message's payload.
type sealed struct {
	Email   *Email   `json:"email,omitempty"`
	Webhook *Webhook `json:"webhook,omitempty"`
}

// Enqueue stores m and the job that delivers it within tx, the caller's
// transaction, so both exist exactly when the caller's change commits. It
// returns the message id — or, when m.DedupeKey was used before, the id of
// that earlier message, storing nothing. Invalid messages give an error
// wrapping ErrInvalid.
func (o *Outbox) Enqueue(tx store.Tx, m Message) (string, error) {
	dest, err := m.validate()
	if err != nil {
		return "", err
	}
	id := store.NewID()
	plain, err := json.Marshal(sealed{Email: m.Email, Webhook: m.Webhook})
	if err != nil {
		return "", fmt.Errorf("outbox: encoding message: %w", err)
	}
	payload, err := o.km.SealTenant(tx.Context(), m.TenantID, keys.PurposeOutbox, []byte(id), plain)
	clear(plain)
	if err != nil {
		return "", fmt.Errorf("outbox: sealing message: %w", err)
	}
	now := o.clk.Now()
	next := now
	if m.NotBefore.After(now) {
		next = m.NotBefore
	}
	job, err := o.newJob(m.TenantID, id, next)
	if err != nil {
		return "", err
	}
	channel := ChannelEmail
	if m.Webhook != nil {
		channel = ChannelWebhook
	}
	got, inserted, err := tx.InsertOutboxMessage(store.OutboxMessage{
		TenantID: m.TenantID, ID: id, SubjectID: m.SubjectID, Topic: m.Topic, Channel: channel,
		Destination: dest, DedupeKey: m.DedupeKey, Status: store.OutboxQueued, MaxAttempts: o.opts.MaxAttempts,
		NextAttemptAt: next, JobID: job.ID, Payload: payload, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return "", err
	}
	if !inserted {
		return got, nil
	}
	if _, err := tx.EnqueueJob(job); err != nil {
		return "", err
	}
	tx.OnCommit(o.runner.Wake)
	tx.OnCommit(func() {
		o.log.Debug("outbox message queued", "message", id, "topic", m.Topic, "tenant", m.TenantID, "channel", channel)
	})
	return id, nil
}

// newJob builds the delivery job of message id, due at runAt.
func (o *Outbox) newJob(tenantID, id string, runAt time.Time) (store.Job, error) {
	return o.runner.NewJob(JobKind, tenantID, jobPayload{Message: id},
		jobs.RunAt(runAt), jobs.MaxAttempts(o.opts.JobAttempts))
}

// Get returns the status of one message; ErrNotFound if the tenant has
// none with that id.
func (o *Outbox) Get(ctx context.Context, tenantID, id string) (Status, error) {
	var s Status
	err := o.st.Read(ctx, func(tx store.Tx) error {
		var err error
		s, err = o.GetTx(tx, tenantID, id)
		return err
	})
	return s, err
}

// GetTx is Get inside the caller's transaction.
func (o *Outbox) GetTx(tx store.Tx, tenantID, id string) (Status, error) {
	m, err := tx.GetOutboxMessage(tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, ErrNotFound
	}
	if err != nil {
		return Status{}, err
	}
	m.Payload = nil
	return statusOf(m), nil
}

// List returns the tenant's messages matching f, newest first: status,
// attempts and last error, never addresses, bodies or secrets. Dead
// letters are Filter{State: Dead}.
func (o *Outbox) List(ctx context.Context, tenantID string, f Filter) ([]Status, error) {
	var rows []store.OutboxMessage
	err := o.st.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListOutboxMessages(store.OutboxFilter{
			TenantID: tenantID, Status: string(f.State), Topic: f.Topic, SubjectID: f.SubjectID,
			Channel: f.Channel, Before: f.Before, Limit: f.Limit,
		})
		return err
	})
	if errors.Is(err, store.ErrInvalid) {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(rows))
	for i, m := range rows {
		out[i] = statusOf(m)
	}
	return out, nil
}

// RetryNow makes a queued or dead message's next attempt due now — the
// console's "retry now". A dead message gets a fresh series of
// MaxAttempts attempts, since a person judged the cause fixed. ErrFinal
// for a message already delivered, handled or cancelled.
func (o *Outbox) RetryNow(ctx context.Context, tenantID, id string) error {
	return o.st.Write(ctx, func(tx store.Tx) error {
		m, err := o.current(tx, tenantID, id)
		if err != nil {
			return err
		}
		now := o.clk.Now()
		job, err := o.newJob(tenantID, id, now)
		if err != nil {
			return err
		}
		prev := m.JobID
		if m.Status == store.OutboxDead {
			m.MaxAttempts = m.Attempts + o.opts.MaxAttempts
		}
		m.Status, m.NextAttemptAt, m.JobID, m.UpdatedAt = store.OutboxQueued, now, job.ID, now
		if err := tx.UpdateOutboxMessage(m, prev); err != nil {
			return err
		}
		if _, err := tx.EnqueueJob(job); err != nil {
			return err
		}
		tx.OnCommit(o.runner.Wake)
		tx.OnCommit(func() {
			o.log.Info("outbox retry requested", "message", id, "topic", m.Topic, "tenant", tenantID, "attempts", m.Attempts)
		})
		return nil
	})
}

// maxNote bounds a handled or cancel note.
const maxNote = 1000

// MarkHandled records that a person took care of a queued or dead message
// another way (for example, phoned a recipient that never acknowledges):
// it stops delivery, deletes the payload and keeps who did it and their
// note. Observers see it as Handled. ErrFinal if it is already delivered,
// handled or cancelled.
func (o *Outbox) MarkHandled(ctx context.Context, tenantID, id, note, actor string) error {
	note, actor = strings.TrimSpace(note), strings.TrimSpace(actor)
	if note == "" || len(note) > maxNote {
		return fmt.Errorf("%w: a note of 1 to %d characters is required", ErrInvalid, maxNote)
	}
	if actor == "" || len(actor) > 200 {
		return fmt.Errorf("%w: the actor is required", ErrInvalid)
	}
	return o.st.Write(ctx, func(tx store.Tx) error {
		return o.close(tx, tenantID, id, Handled, note, actor)
	})
}

// Cancel withdraws a queued or dead message within the caller's
// transaction (a request withdrawn, a notice superseded): no further
// attempt is made and the payload is deleted. ErrFinal if it is already
// delivered, handled or cancelled.
func (o *Outbox) Cancel(tx store.Tx, tenantID, id, reason string) error {
	return o.close(tx, tenantID, id, Cancelled, reason, "system")
}

// CancelSubject cancels every queued or dead message of a subject except
// those whose topic is in keep, within the caller's transaction: what
// erasure calls so that no pending email or webhook still carries the
// person's data, while, say, the confirmation of the erasure itself goes
// out. It returns how many it cancelled.
func (o *Outbox) CancelSubject(tx store.Tx, tenantID, subjectID, reason string, keep ...string) (int, error) {
	if subjectID == "" {
		return 0, fmt.Errorf("%w: empty subject id", ErrInvalid)
	}
	n := 0
	for _, st := range []string{store.OutboxQueued, store.OutboxDead} {
		for before := ""; ; {
			rows, err := tx.ListOutboxMessages(store.OutboxFilter{TenantID: tenantID, SubjectID: subjectID, Status: st, Before: before, Limit: 500})
			if err != nil {
				return n, err
			}
			for _, m := range rows {
				if containsString(keep, m.Topic) {
					continue
				}
				if err := o.close(tx, tenantID, m.ID, Cancelled, reason, "system"); err != nil {
					return n, err
				}
				n++
			}
			if len(rows) < 500 {
				break
			}
			before = rows[len(rows)-1].ID
		}
	}
	return n, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// current loads a message that is still open (queued or dead).
func (o *Outbox) current(tx store.Tx, tenantID, id string) (store.OutboxMessage, error) {
	m, err := tx.GetOutboxMessage(tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, err
	}
	if State(m.Status).Final() {
		return m, ErrFinal
	}
	return m, nil
}

// close ends an open message as handled or cancelled, and tells observers.
func (o *Outbox) close(tx store.Tx, tenantID, id string, to State, note, actor string) error {
	note = truncate(note, maxNote)
	m, err := o.current(tx, tenantID, id)
	if err != nil {
		return err
	}
	now := o.clk.Now()
	prev := m.JobID
	m.Status, m.Payload, m.NextAttemptAt, m.JobID = string(to), nil, time.Time{}, ""
	m.HandledAt, m.HandledBy, m.Note, m.UpdatedAt = now, actor, note, now
	if err := tx.UpdateOutboxMessage(m, prev); err != nil {
		return err
	}
	if err := o.notify(tx, m, now); err != nil {
		return err
	}
	tx.OnCommit(func() {
		o.log.Info("outbox message closed", "message", id, "topic", m.Topic, "tenant", tenantID, "status", string(to), "by", actor)
	})
	return nil
}

// Purge deletes the metadata of the tenant's delivered, handled and
// cancelled messages last changed before the given time, in batches, and
// returns how many it deleted: for retention of the outbox's own records.
func (o *Outbox) Purge(ctx context.Context, tenantID string, finishedBefore time.Time) (int, error) {
	total := 0
	for {
		var n int
		err := o.st.Write(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteOutboxMessages(tenantID, finishedBefore, 500)
			return err
		})
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

// Outcome is what observers are told when a message reaches Delivered, Dead,
// Handled or Cancelled. Like Status it holds nothing personal.
type Outcome struct {
	TenantID  string
	MessageID string
	SubjectID string
	Topic     string
	Channel   string
	State     State
	Attempts  int
	// Code is the last HTTP status or SMTP reply code (0 if none).
	Code int
	// Error is the last failure, for Dead.
	Error string
	// Actor and Note are set for Handled and Cancelled.
	Actor string
	Note  string
	At    time.Time
}

// Observer reacts to an outcome inside the transaction that records it, so
// its own changes (say, a request's per-recipient propagation status)
// commit with the outcome or not at all. Returning an error rolls both
// back; the delivery is then retried. Like every Write function it may run
// more than once and must act only through tx.
type Observer func(tx store.Tx, o Outcome) error

type observer struct {
	prefix string
	fn     Observer
}

// Observe registers fn for the outcomes of messages whose topic starts with
// prefix ("" for all, "propagation." for every propagation topic). Register
// observers before delivery starts.
func (o *Outbox) Observe(prefix string, fn Observer) {
	if fn == nil {
		panic("outbox: Observe needs a function")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.observers = append(o.observers, observer{prefix, fn})
}

// notify calls the observers of m's topic inside tx.
func (o *Outbox) notify(tx store.Tx, m store.OutboxMessage, at time.Time) error {
	o.mu.RLock()
	obs := o.observers
	o.mu.RUnlock()
	if len(obs) == 0 {
		return nil
	}
	out := Outcome{
		TenantID: m.TenantID, MessageID: m.ID, SubjectID: m.SubjectID, Topic: m.Topic, Channel: m.Channel,
		State: State(m.Status), Attempts: m.Attempts, Code: m.LastCode, At: at,
	}
	switch out.State {
	case Dead:
		out.Error = m.LastError
	case Handled, Cancelled:
		out.Actor, out.Note = m.HandledBy, m.Note
	}
	for _, ob := range obs {
		if strings.HasPrefix(m.Topic, ob.prefix) {
			if err := ob.fn(tx, out); err != nil {
				return fmt.Errorf("outbox: observer of %s: %w", m.Topic, err)
			}
		}
	}
	return nil
}
