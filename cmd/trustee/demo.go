package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/keys"
)

// demoTenants are the example policies the demo loads, one tenant each; the
// first is the one the printed key belongs to.
var demoTenants = []struct{ slug, name, file string }{
	{"demo", "Demo: learning SaaS", "learning-saas.yaml"},
	{"door-entry", "Demo: door-entry app", "door-entry.yaml"},
}

const demoKeyName = "demo admin"

const demoShutdownGrace = 5 * time.Second

func newDemoCmd() *cobra.Command {
	var addr, dir, logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Trustee with example data on 127.0.0.1:8080",
		Long: `Run Trustee on an embedded SQLite store in ./trustee-data (created if missing) with
demo tenants loaded from the example policies, and print the URL, an admin API key
and commands to try. Each start prints a fresh admin key and revokes the previous
demo keys. Stop with Ctrl-C.`,
		Example: "  go run ./cmd/trustee demo --addr 127.0.0.1:9090",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), logLevel, "text")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			keyPath := filepath.Join(dir, "root.key")
			if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
				if err := keys.WriteRootKeyFile(keyPath); err != nil {
					return err
				}
			}
			if _, err := keys.LoadRootKey(keyPath); err != nil {
				return err
			}
			st, err := openStore(ctx, "sqlite:"+filepath.Join(dir, "trustee.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			a := newApp(st, logger)
			token, err := seedDemo(ctx, a)
			if err != nil {
				return err
			}
			ln, err := listen(addr)
			if err != nil {
				return err
			}
			url := "http://" + ln.Addr().String()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Trustee demo is running (data in %s). Stop it with Ctrl-C.\n\n", dir)
			fmt.Fprintf(out, "URL: %s\n", url)
			fmt.Fprintf(out, "Admin API key: %s\n\n", token)
			fmt.Fprintf(out, "Try:\n")
			fmt.Fprintf(out, "  curl %s/healthz\n", url)
			fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/v1/notice?format=md'\n", token, url)
			fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/v1/ropa?format=csv'\n", token, url)
			fmt.Fprintf(out, "\nThe API is described at %s/openapi.json.\n", url)
			return a.serveHTTP(ctx, ln, "", "", demoShutdownGrace)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&dir, "dir", "trustee-data", "directory for the demo's database and root key")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}

// seedDemo creates the demo tenants, applies the example policies (a new
// version only if an example changed) and returns a fresh admin key for the
// first tenant, revoking earlier demo keys.
func seedDemo(ctx context.Context, a *app) (string, error) {
	var token string
	for i, d := range demoTenants {
		src, ok := examples.File(d.file)
		if !ok {
			return "", fmt.Errorf("example %s is missing from this build", d.file)
		}
		t, _, err := ensureTenant(ctx, a.tenants, d.slug, d.name)
		if err != nil {
			return "", err
		}
		if _, err := a.tenants.Apply(ctx, t.ID, "examples/"+d.file, src, "demo"); err != nil {
			return "", fmt.Errorf("examples/%s: %w", d.file, err)
		}
		if i != 0 {
			continue
		}
		old, err := a.keys.List(ctx, t.ID)
		if err != nil {
			return "", err
		}
		for _, k := range old {
			if k.Name == demoKeyName && k.RevokedAt.IsZero() {
				if err := a.keys.Revoke(ctx, t.ID, k.ID); err != nil {
					return "", err
				}
			}
		}
		token, _, err = a.keys.Create(ctx, t.ID, auth.RoleAdmin, demoKeyName, "demo", 0)
		if err != nil {
			return "", err
		}
	}
	return token, nil
}
