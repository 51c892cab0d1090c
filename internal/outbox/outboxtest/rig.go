package outboxtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// Rig is a working outbox over a test store: a key manager with its own
// SQLite key store and a fresh root key, a job runner polling every few
// milliseconds, an in-process SMTP server and a webhook receiver. Tests of
// code that sends mail or webhooks build one over their store instead of
// wiring the parts themselves.
type Rig struct {
	Store  store.Store
	Keys   *keys.Manager
	Runner *jobs.Runner
	Outbox *outbox.Outbox
	SMTP   *SMTPServer
	Hooks  *WebhookReceiver
	// Secret is the webhook receiver's signing secret.
	Secret []byte
}

// RigOption adjusts a Rig before it starts.
type RigOption func(*rigConfig)

type rigConfig struct {
	opts    outbox.Options
	smtp    []SMTPOption
	noSMTP  bool
	noStart bool
	logger  *slog.Logger
}

// WithOptions replaces the outbox options (SMTP, AllowPrivate and Logger are
// still filled in unless set).
func WithOptions(o outbox.Options) RigOption { return func(c *rigConfig) { c.opts = o } }

// WithSMTPOptions configures the SMTP server (WithTLS, WithAuth).
func WithSMTPOptions(o ...SMTPOption) RigOption { return func(c *rigConfig) { c.smtp = o } }

// WithoutSMTP leaves SMTP unconfigured: emails stay queued.
func WithoutSMTP() RigOption { return func(c *rigConfig) { c.noSMTP = true } }

// Stopped builds the rig without starting the runner; call r.Start.
func Stopped() RigOption { return func(c *rigConfig) { c.noStart = true } }

// WithLogger sends the outbox's and the runner's logs to l.
func WithLogger(l *slog.Logger) RigOption { return func(c *rigConfig) { c.logger = l } }

// Fast are outbox options for tests: three attempts 20 ms apart (doubling
// to at most 200 ms), held emails looked at every 50 ms.
func Fast() outbox.Options {
	return outbox.Options{
		MaxAttempts: 3, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		HeldRetry: 50 * time.Millisecond, WebhookTimeout: 5 * time.Second, RescueEvery: -1,
	}
}

// NewRig builds and starts a Rig over st; everything stops when the test
// ends. Unless options say otherwise, the outbox has Fast options, sends
// mail to the rig's SMTP server and may post to 127.0.0.1.
func NewRig(t testing.TB, st store.Store, opts ...RigOption) *Rig {
	t.Helper()
	cfg := rigConfig{opts: Fast()}
	cfg.opts.AllowPrivate = true
	for _, o := range opts {
		o(&cfg)
	}
	data, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseRootKey(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{Store: st, Secret: []byte("outboxtest webhook secret, 32 b")}
	r.Keys = keys.NewManager(root, storetest.OpenKeyStoreSQLite(t), keys.ManagerOptions{})
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r.Runner = jobs.New(st, jobs.Options{PollInterval: 10 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Logger: logger})
	r.SMTP = StartSMTP(t, cfg.smtp...)
	r.Hooks = StartWebhook(t, r.Secret)
	if !cfg.noSMTP && !cfg.opts.SMTP.Configured() {
		cfg.opts.SMTP = r.SMTP.Config()
	}
	if cfg.opts.Logger == nil {
		cfg.opts.Logger = logger
	}
	r.Outbox = outbox.New(st, r.Keys, r.Runner, cfg.opts)
	if !cfg.noStart {
		r.Start(t)
	}
	return r
}

// Start starts the runner, stopped when the test ends.
func (r *Rig) Start(t testing.TB) {
	t.Helper()
	if err := r.Runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Runner.Stop(ctx)
	})
}

// Tenant creates a tenant in the rig's store and returns its id.
func (r *Rig) Tenant(t testing.TB, slug string) string {
	t.Helper()
	return storetest.NewTenant(t, r.Store, slug).ID
}

// Enqueue enqueues m in a transaction of its own and returns its id.
func (r *Rig) Enqueue(t testing.TB, m outbox.Message) string {
	t.Helper()
	var id string
	err := r.Store.Write(context.Background(), func(tx store.Tx) error {
		var err error
		id, err = r.Outbox.Enqueue(tx, m)
		return err
	})
	if err != nil {
		t.Fatalf("outboxtest: enqueue: %v", err)
	}
	return id
}

// WaitState waits until the message reaches state and returns its status;
// it fails the test after timeout.
func (r *Rig) WaitState(t testing.TB, tenantID, id string, state outbox.State, timeout time.Duration) outbox.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, err := r.Outbox.Get(context.Background(), tenantID, id)
		if err != nil {
			t.Fatalf("outboxtest: %v", err)
		}
		if s.State == state {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("outboxtest: message %s is %s after %s (attempts %d, last error %q), want %s",
				id, s.State, timeout, s.Attempts, s.LastError, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
