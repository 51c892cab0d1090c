// Package app assembles a running Trustee from its parts: the data store and
// the key store, the domain services, background jobs and the HTTP API. The
// CLI, the benchmarks and end-to-end tests build the same thing through it,
// so what is measured and tested is what ships.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/export"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/httpapi"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
	"github.com/trustee-privacy/trustee/internal/web"
)

// Options say where the stores and the root key are.
type Options struct {
	// DB is the data store DSN (sqlite:PATH or postgres://...).
	DB string
	// KeysDB is the key store DSN; empty derives it from DB (a keys.db next
	// to an SQLite file, the same database on PostgreSQL).
	KeysDB string
	// Root is the root key. KeyFile, when set, is re-read if a tenant key
	// turns out to be wrapped by a root key the loaded keyset lacks (the
	// file was rotated while running).
	Root    *keys.RootKey
	KeyFile string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Version is the build version, for /healthz and the OpenAPI document.
	Version string
	// AuditCheckpointEvery is how often audit heads are signed (default
	// audit.DefaultCheckpointEvery).
	AuditCheckpointEvery time.Duration
	// LedgerDB is the erasure ledger's DSN; empty derives it from DB
	// (erasure-ledger.db beside an SQLite file, the same database on
	// PostgreSQL). BackupDir, if set, is pruned of backups older than the
	// policies' backup retention. RetentionEvery is the sweep's period
	// (default retention.DefaultEvery).
	LedgerDB       string
	BackupDir      string
	RetentionEvery time.Duration

	// SMTP is the mail server outgoing email goes to; zero keeps emails
	// queued with the status "SMTP not configured".
	SMTP outbox.SMTPConfig
	// WebhookAllowPrivate lets webhooks reach loopback, private and
	// link-local addresses (tests, or receivers on the same network).
	WebhookAllowPrivate bool
	// OutboxMaxAttempts is how often a message is tried before it is
	// dead-lettered (default outbox.DefaultMaxAttempts).
	OutboxMaxAttempts int
	// SecureCookies forces Secure (and the __Host- prefix) on the console's
	// session cookie when TLS ends at a proxy; TRUSTEE_SECURE_COOKIES=1 sets
	// it too. Over Trustee's own TLS it is always on.
	SecureCookies bool

	// ExportDir holds the encrypted access and portability export files;
	// empty puts them beside an SQLite data file (see exportDir).
	// ExportTTL is how long an export is kept (default export.DefaultTTL).
	ExportDir string
	ExportTTL time.Duration
	// PublicURL is where people reach this Trustee from outside (no
	// trailing slash); links in emails are built on it. Empty: no links.
	PublicURL string
}

// App is an assembled Trustee.
type App struct {
	Store    store.Store
	KeyStore store.KeyStore
	Tenants  *tenant.Service
	Auth     *auth.Authenticator
	APIKeys  *auth.Keys
	Keys     *keys.Manager
	Audit    *audit.Log
	Vault    *vault.Service
	Consent  *consent.Service
	Jobs     *jobs.Runner
	Outbox   *outbox.Outbox
	API      *httpapi.Server
	Web      *web.Server
	Log      *slog.Logger

	// Retention sweeps due data; Ledger is the erasure ledger's store.
	Retention *retention.Service
	Ledger    store.LedgerStore
	// Exports builds access and portability exports and serves their
	// download links.
	Exports *export.Service
	// Breach is the breach register (Art. 33-34).
	Breach *breach.Service
	// Fulfil carries out approved data-subject requests and passes
	// rectifications, erasures and restrictions on to recipients.
	Fulfil *fulfil.Service
	// Rights runs data-subject requests from intake to an answer.
	Rights *rights.Service

	// PublicURL is Options.PublicURL without a trailing slash.
	PublicURL string
}

// PrivacyCenterURL returns the absolute address of the tenant's privacy
// center, or "" when no public URL is configured or the tenant is unknown:
// emails then name the controller's contact instead of a link.
func (a *App) PrivacyCenterURL(tenantID string) string {
	if a.PublicURL == "" {
		return ""
	}
	t, err := a.Tenants.Get(context.Background(), tenantID)
	if err != nil {
		return ""
	}
	return a.PublicURL + "/p/" + t.Slug + "/"
}

// Open opens both stores (creating SQLite files and their directory if
// needed, applying migrations) and builds the services.
func Open(ctx context.Context, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Root == nil {
		return nil, errors.New("no root key")
	}
	// Reverse proxies whose X-Forwarded-For the public endpoints believe
	// (rate limits per visitor, hashed addresses as consent proof).
	proxies, err := httpapi.ParseTrustedProxies(os.Getenv("TRUSTEE_TRUSTED_PROXIES"))
	if err != nil {
		return nil, err
	}
	if err := o.SMTP.Validate(); err != nil {
		return nil, err
	}
	keysDSN := o.KeysDB
	if keysDSN == "" {
		keysDSN = keys.DefaultKeyStoreDSN(o.DB)
	}
	for _, dsn := range []string{o.DB, keysDSN} {
		if err := ensureDir(dsn); err != nil {
			return nil, err
		}
	}
	st, err := engines.Open(ctx, o.DB, engines.Options{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	ks, err := engines.OpenKeyStore(ctx, keysDSN, engines.Options{Logger: o.Logger})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("key store: %w", err)
	}
	a := &App{Store: st, KeyStore: ks, Log: o.Logger, PublicURL: strings.TrimRight(o.PublicURL, "/")}
	mopts := keys.ManagerOptions{Logger: o.Logger}
	if o.KeyFile != "" {
		path := o.KeyFile
		mopts.ReloadRoot = func() (*keys.RootKey, error) { return keys.LoadRootKey(path) }
	}
	a.Keys = keys.NewManager(o.Root, ks, mopts)
	a.Tenants = &tenant.Service{Store: st}
	a.Auth = &auth.Authenticator{Store: st, CacheTTL: 5 * time.Second}
	a.APIKeys = &auth.Keys{Store: st, Auth: a.Auth}
	a.Audit = audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Keys: a.Keys, Logger: o.Logger})
	a.Vault = &vault.Service{Store: st, Keys: a.Keys, Audit: a.Audit, Tenants: a.Tenants}
	a.Jobs = jobs.New(st, jobs.Options{Logger: o.Logger})
	// Consent: renewal marks and banner sites are written in the apply
	// transaction; renewal notices are durable jobs.
	a.Consent = &consent.Service{Store: st, Keys: a.Keys, Audit: a.Audit, Tenants: a.Tenants, Jobs: a.Jobs, Logger: o.Logger}
	a.Tenants.OnApply = a.Consent.OnPolicyApplied
	// A person on the suppression list who comes back gets no marketing.
	a.Vault.OnCreate = a.Consent.OnSubjectCreated
	a.Consent.RegisterJobs(a.Jobs)
	every := o.AuditCheckpointEvery
	if every == 0 {
		every = audit.DefaultCheckpointEvery
	}
	a.Audit.SchedulePeriodic(a.Jobs, st, every)
	if err := a.openRetention(ctx, o); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	a.Outbox = outbox.New(st, a.Keys, a.Jobs, outbox.Options{
		SMTP: o.SMTP, AllowPrivate: o.WebhookAllowPrivate, MaxAttempts: o.OutboxMaxAttempts, Logger: o.Logger,
	})
	// Breach notices report their delivery back to the affected set.
	a.Breach = &breach.Service{Store: st, Tenants: a.Tenants, Vault: a.Vault, Audit: a.Audit, Outbox: a.Outbox}
	breach.Register(a.Outbox)
	// People whose consent a policy change no longer covers are asked
	// again by email (consent.JobRenewalNotice).
	a.Consent.Notifier = &consent.EmailRenewalNotifier{Tenants: a.Tenants, Store: st, Contacts: a.Vault, Outbox: a.Outbox,
		PreferencesURL: a.PrivacyCenterURL}
	a.Exports = &export.Service{Store: st, Keys: a.Keys, Vault: a.Vault, Consent: a.Consent, Tenants: a.Tenants, Audit: a.Audit,
		Opts: export.Options{Dir: exportDir(o), TTL: o.ExportTTL, Logger: o.Logger}}
	a.Exports.Schedule(a.Jobs, 0)
	// Fulfilment observes its propagation webhooks on the outbox.
	a.Fulfil = fulfil.New(fulfil.Options{Store: st, Tenants: a.Tenants, Vault: a.Vault, Consent: a.Consent, Outbox: a.Outbox,
		Audit: a.Audit, Keys: a.Keys, Exporter: a.Exports, PublicURL: a.PublicURL, Logger: o.Logger})
	// Restrictions are lifted by a scheduled job, after the person is told.
	a.Fulfil.RegisterJobs(a.Jobs)
	// Data-subject requests: verified, approved requests go to Fulfil;
	// reminders of due requests run as a leased periodic task.
	a.Rights = &rights.Service{Store: st, Tenants: a.Tenants, Keys: a.Keys, Vault: a.Vault, Audit: a.Audit, Outbox: a.Outbox,
		Fulfiller: a.Fulfil, Exporter: a.Exports, Logger: o.Logger}
	a.Rights.RegisterJobs(a.Jobs)
	// Access reports list the person's own requests.
	a.Exports.Opts.Requests = a.Rights
	// The web surfaces come after Rights and Fulfil, which their request
	// pages use.
	a.Web = web.New(web.Deps{Store: st, Tenants: a.Tenants, Vault: a.Vault, Audit: a.Audit, Consent: a.Consent, APIKeys: a.APIKeys, Keys: a.Keys,
		Outbox: a.Outbox, Retention: a.Retention, Breach: a.Breach, Rights: a.Rights, Fulfil: a.Fulfil, TrustedProxies: proxies,
		Scheduler: a.Jobs, Logger: o.Logger, SecureCookies: o.SecureCookies || os.Getenv("TRUSTEE_SECURE_COOKIES") == "1"})
	a.API = httpapi.New(httpapi.Deps{
		Store: st, Tenants: a.Tenants, Auth: a.Auth, Keys: a.APIKeys, Vault: a.Vault, Audit: a.Audit, Outbox: a.Outbox, Retention: a.Retention, Breach: a.Breach,
		Logger: o.Logger, Version: o.Version, Web: a.Web.Handler(),
		Consent: a.Consent, Public: httpapi.PublicOptions{TrustedProxies: proxies},
		Exports: a.Exports,
		Fulfil:  a.Fulfil,
		Rights:  a.Rights,
	})
	return a, nil
}

// Close releases both stores.
func (a *App) Close() error {
	return errors.Join(a.Store.Close(), a.KeyStore.Close(), a.closeLedger())
}

// ensureDir creates the directory of an SQLite DSN's file.
func ensureDir(dsn string) error {
	kind, target, err := engines.Parse(dsn)
	if err != nil {
		return err
	}
	if kind != engines.SQLite || target == "" || strings.HasPrefix(target, ":memory:") {
		return nil
	}
	if dir := filepath.Dir(target); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
	}
	return nil
}

// EnsureTenant returns the tenant with slug, creating it (and its keys) if
// needed; created reports whether it was new.
func (a *App) EnsureTenant(ctx context.Context, slug, name string) (t store.Tenant, created bool, err error) {
	t, err = a.Tenants.BySlug(ctx, slug)
	if errors.Is(err, tenant.ErrTenantNotFound) {
		t, err = a.Tenants.Create(ctx, slug, name)
		created = err == nil
		if errors.Is(err, store.ErrConflict) { // created concurrently by another instance
			t, err = a.Tenants.BySlug(ctx, slug)
		}
	}
	if err != nil {
		return t, false, err
	}
	return t, created, a.Keys.EnsureTenant(ctx, t.ID)
}

// Serve runs background jobs and serves the API on ln until ctx ends, then
// shuts down gracefully: no new connections, in-flight requests drained for
// up to grace, background jobs stopped.
func (a *App) Serve(ctx context.Context, ln net.Listener, tlsCert, tlsKey string, grace time.Duration) error {
	if err := a.Jobs.Start(ctx); err != nil {
		return err
	}
	a.logMail()
	srv := &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if tlsCert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if tlsCert != "" {
			err = srv.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	var serveErr error
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	case <-ctx.Done():
		a.Log.Info("shutting down: draining in-flight requests", "grace", grace.String())
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		if err := srv.Shutdown(sctx); err != nil {
			a.Log.Warn("shutdown did not finish in time; closing connections", "error", err.Error())
			_ = srv.Close()
		}
		cancel()
		<-errc
	}
	jctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := a.Jobs.Stop(jctx); err != nil {
		a.Log.Warn("background jobs did not stop in time", "error", err.Error())
	}
	return serveErr
}

// logMail says once, at start, where outgoing email goes, and warns when it
// goes nowhere yet: emails then stay queued, never dropped.
func (a *App) logMail() {
	if a.Outbox == nil {
		return
	}
	if !a.Outbox.SMTPConfigured() {
		a.Log.Warn("SMTP is not configured: emails stay queued with the status \"SMTP not configured\" until smtp_host and smtp_from are set; webhooks are delivered")
		return
	}
	a.Log.Info("outgoing email configured", "smtp", a.Outbox.SMTP())
}
