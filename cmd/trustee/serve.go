package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/config"
	"github.com/trustee-privacy/trustee/internal/keys"
)

func addServerFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	d := config.Defaults()
	f.String("config", "", "config file (YAML); also TRUSTEE_CONFIG")
	f.String("addr", d.Addr, "address to listen on (TRUSTEE_ADDR)")
	f.String("db", d.DB, "store: sqlite:PATH or postgres://... (TRUSTEE_DB)")
	f.String("key-file", "", "root key file written by `trustee init` (TRUSTEE_KEY_FILE; or the key itself in TRUSTEE_ROOT_KEY)")
	f.String("policy", "", "policy file to apply to --tenant at start (TRUSTEE_POLICY)")
	f.String("tenant", d.Tenant, "tenant slug that --policy applies to; created if missing (TRUSTEE_TENANT)")
	f.String("tls-cert", "", "TLS certificate file; serve HTTPS when set with --tls-key (TRUSTEE_TLS_CERT)")
	f.String("tls-key", "", "TLS private key file (TRUSTEE_TLS_KEY)")
	f.String("log-level", d.LogLevel, "debug, info, warn or error (TRUSTEE_LOG_LEVEL)")
	f.String("log-format", d.LogFormat, "json or text (TRUSTEE_LOG_FORMAT)")
	f.Duration("shutdown-timeout", d.ShutdownTimeout, "how long to drain in-flight requests on SIGINT/SIGTERM (TRUSTEE_SHUTDOWN_TIMEOUT)")
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Trustee server",
		Long: `Run the Trustee server.

Settings come from flags, TRUSTEE_* environment variables and an optional config
file, in that order of precedence. The store is SQLite by default (a file that is
created if missing) or PostgreSQL (--db postgres://...); migrations are applied
on start. A root key is required: create one with ` + "`trustee init`" + `.

With --policy, the policy file is validated and applied to the tenant named by
--tenant (created if missing) before the server starts; an invalid policy stops
the start with every mistake listed as FILE:LINE:COL.

SIGINT or SIGTERM stop accepting connections, drain in-flight requests and close
the store cleanly.`,
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
			if _, err := keys.LoadRootKey(cfg.KeyFile); err != nil {
				return err
			}
			st, err := openStore(ctx, cfg.DB)
			if err != nil {
				return err
			}
			defer st.Close()
			a := newApp(st, logger)
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
			logger.Info("trustee listening", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "engine", st.Engine(), "version", version)
			if err := a.serveHTTP(ctx, ln, cfg.TLSCert, cfg.TLSKey, cfg.ShutdownTimeout); err != nil {
				return err
			}
			logger.Info("trustee stopped")
			return nil
		},
	}
	addServerFlags(cmd)
	return cmd
}
