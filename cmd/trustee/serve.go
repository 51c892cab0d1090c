package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/config"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
)

func addServerFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	d := config.Defaults()
	f.String("config", "", "config file (YAML); also TRUSTEE_CONFIG")
	f.String("addr", d.Addr, "address to listen on (TRUSTEE_ADDR)")
	f.String("db", d.DB, "data store: sqlite:PATH or postgres://... (TRUSTEE_DB)")
	f.String("keys-db", "", "key store, kept apart from the data: sqlite:PATH or postgres://... (TRUSTEE_KEYS_DB; default keys.db next to an SQLite data file, the same database on PostgreSQL)")
	f.String("key-file", "", "root key file written by `trustee init` (TRUSTEE_KEY_FILE; or the key itself in TRUSTEE_ROOT_KEY)")
	f.String("policy", "", "policy file to apply to --tenant at start (TRUSTEE_POLICY)")
	f.String("tenant", d.Tenant, "tenant slug that --policy applies to; created if missing (TRUSTEE_TENANT)")
	f.String("tls-cert", "", "TLS certificate file; serve HTTPS when set with --tls-key (TRUSTEE_TLS_CERT)")
	f.String("tls-key", "", "TLS private key file (TRUSTEE_TLS_KEY)")
	f.String("log-level", d.LogLevel, "debug, info, warn or error (TRUSTEE_LOG_LEVEL)")
	f.String("log-format", d.LogFormat, "json or text (TRUSTEE_LOG_FORMAT)")
	f.Duration("shutdown-timeout", d.ShutdownTimeout, "how long to drain in-flight requests on SIGINT/SIGTERM (TRUSTEE_SHUTDOWN_TIMEOUT)")
	f.String("ledger-db", "", "erasure ledger, kept where no restore writes: sqlite:PATH or postgres://... (TRUSTEE_LEDGER_DB; default erasure-ledger.db next to an SQLite data file, the data database on PostgreSQL)")
	f.String("backup-dir", "", "directory of `trustee backup create` snapshots to prune by the policies' backup retention (TRUSTEE_BACKUP_DIR)")
	// Outgoing email and webhooks. The SMTP password has no flag (flags
	// show in process listings): TRUSTEE_SMTP_PASSWORD or the config file.
	f.String("smtp-host", "", "SMTP server for outgoing email; without it emails stay queued (TRUSTEE_SMTP_HOST)")
	f.Int("smtp-port", 0, "SMTP port; 0 means 587, 465 or 25 by --smtp-tls (TRUSTEE_SMTP_PORT)")
	f.String("smtp-username", "", "SMTP user; the password comes from TRUSTEE_SMTP_PASSWORD (TRUSTEE_SMTP_USERNAME)")
	f.String("smtp-from", "", `sender of every email, e.g. "Acme Privacy <privacy@acme.example>" (TRUSTEE_SMTP_FROM)`)
	f.String("smtp-tls", d.SMTPTLS, "starttls, tls (implicit, port 465) or none (a local relay) (TRUSTEE_SMTP_TLS)")
	f.Bool("webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses (TRUSTEE_WEBHOOK_ALLOW_PRIVATE)")
	f.String("export-dir", "", "directory of encrypted access and portability exports; instances on one PostgreSQL must share it (TRUSTEE_EXPORT_DIR; default exports/ beside an SQLite file)")
	f.Duration("export-ttl", 0, "how long an export is kept before it is deleted; 0 means 7 days (TRUSTEE_EXPORT_TTL)")
	f.String("public-url", "", "where people reach Trustee, e.g. https://privacy.example.com; links in emails are built on it (TRUSTEE_PUBLIC_URL)")
	f.Int("outbox-max-attempts", d.OutboxMaxAttempts, "delivery attempts of an email or webhook before it is dead-lettered (TRUSTEE_OUTBOX_MAX_ATTEMPTS)")
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Trustee server",
		Long: `Run the Trustee server.

Settings come from flags, TRUSTEE_* environment variables and an optional config
file, in that order of precedence. The data store is SQLite by default (a file that
is created if missing) or PostgreSQL (--db postgres://...); the key store, which
holds the wrapped encryption keys, is kept apart from it (--keys-db). Migrations
are applied on start. A root key is required: create one with ` + "`trustee init`" + `.

With --policy, the policy file is validated and applied to the tenant named by
--tenant (created if missing) before the server starts; an invalid policy stops
the start with every mistake listed as FILE:LINE:COL.

SIGINT or SIGTERM stop accepting connections, drain in-flight requests, stop
background jobs and close the stores cleanly.`,
		Example: `  trustee serve --key-file ./root.key --policy ./policy.yaml
  TRUSTEE_DB=postgres://trustee@db/trustee trustee serve --config trustee.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			if cfgPath == "" {
				cfgPath = os.Getenv("TRUSTEE_CONFIG")
			}
			cfg, err := config.Load(cfgPath, cmd.Flags())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), cfg.LogLevel, cfg.LogFormat)
			root, err := keys.LoadRootKey(cfg.KeyFile)
			if err != nil {
				return err
			}
			a, err := app.Open(ctx, app.Options{DB: cfg.DB, KeysDB: cfg.KeysDB, Root: root, KeyFile: cfg.KeyFile, LedgerDB: cfg.LedgerDB, BackupDir: cfg.BackupDir, Logger: logger, Version: version,
				SMTP: outbox.SMTPConfig{
					Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
					From: cfg.SMTPFrom, TLS: cfg.SMTPTLS,
				},
				WebhookAllowPrivate: cfg.WebhookAllowPrivate, OutboxMaxAttempts: cfg.OutboxMaxAttempts, PublicURL: cfg.PublicURL,
				ExportDir: cfg.ExportDir, ExportTTL: cfg.ExportTTL})
			if err != nil {
				return err
			}
			defer a.Close()
			if cfg.Policy != "" {
				if err := applyPolicyFile(ctx, a, cfg.Tenant, cfg.Policy, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			ln, err := listen(cfg.Addr)
			if err != nil {
				return err
			}
			scheme := "http"
			if cfg.TLSCert != "" {
				scheme = "https"
			}
			logger.Info("trustee listening", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "engine", a.Store.Engine(), "version", version)
			if err := serveApp(ctx, a, ln, cfg.TLSCert, cfg.TLSKey, cfg.ShutdownTimeout); err != nil {
				return err
			}
			logger.Info("trustee stopped")
			return nil
		},
	}
	addServerFlags(cmd)
	return cmd
}
