package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// demoTenants are the example policies the demo loads, one tenant each; the
// first is the one the printed key belongs to.
var demoTenants = []struct{ slug, name, file string }{
	{"demo", "Demo: learning SaaS", "learning-saas.yaml"},
	{"door-entry", "Demo: door-entry app", "door-entry.yaml"},
}

const (
	demoKeyName       = "demo admin"
	demoShutdownGrace = 5 * time.Second
	// demoSubjects synthetic people are stored in the demo tenant on the
	// first start, with a few orders each.
	demoSubjects = 300
)

func newDemoCmd() *cobra.Command {
	var addr, dir, logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Trustee with example data on 127.0.0.1:8080",
		Long: `Run Trustee on an embedded SQLite store in ./trustee-data (created if missing) with
demo tenants loaded from the example policies and a few hundred synthetic people
(example.com addresses, phone numbers from a range reserved for fiction), and print
the URL, an admin API key and commands to try. Each start prints a fresh admin key and
revokes the previous demo keys. Stop with Ctrl-C.`,
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
			root, err := keys.LoadRootKey(keyPath)
			if err != nil {
				return err
			}
			a, err := app.Open(ctx, app.Options{DB: "sqlite:" + filepath.Join(dir, "trustee.db"), Root: root, KeyFile: keyPath, Logger: logger, Version: version})
			if err != nil {
				return err
			}
			defer a.Close()
			token, err := seedDemo(ctx, a)
			if err != nil {
				return err
			}
			ln, err := listen(addr)
			if err != nil {
				return err
			}
			base := "http://" + ln.Addr().String()
			first := synth.Nth(0)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Trustee demo is running (data in %s). Stop it with Ctrl-C.\n\n", dir)
			fmt.Fprintf(out, "URL: %s\n", base)
			fmt.Fprintf(out, "Admin API key: %s\n\n", token)
			fmt.Fprintf(out, "Try:\n")
			fmt.Fprintf(out, "  curl %s/healthz\n", base)
			fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/v1/notice?format=md'\n", token, base)
			fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/v1/ropa?format=csv'\n", token, base)
			fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' '%s/v1/subjects?email=%s&purpose=account'\n", token, base, url.QueryEscape(first.Email))
			fmt.Fprintf(out, "\nThe demo tenant holds %d synthetic people (%s to %s). The API is described at %s/openapi.json.\n",
				demoSubjects, first.Email, synth.Nth(demoSubjects-1).Email, base)
			return serveApp(ctx, a, ln, "", "", demoShutdownGrace)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&dir, "dir", "trustee-data", "directory for the demo's databases and root key")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}

// seedDemo creates the demo tenants, applies the example policies (a new
// version only if an example changed), stores the synthetic people once and
// returns a fresh admin key for the first tenant, revoking earlier demo keys.
func seedDemo(ctx context.Context, a *app.App) (string, error) {
	var token string
	for i, d := range demoTenants {
		src, ok := examples.File(d.file)
		if !ok {
			return "", fmt.Errorf("example %s is missing from this build", d.file)
		}
		t, _, err := a.EnsureTenant(ctx, d.slug, d.name)
		if err != nil {
			return "", err
		}
		if _, err := a.Tenants.Apply(ctx, t.ID, "examples/"+d.file, src, "demo"); err != nil {
			return "", fmt.Errorf("examples/%s: %w", d.file, err)
		}
		if i != 0 {
			continue
		}
		if err := seedPeople(ctx, a, t.ID); err != nil {
			return "", fmt.Errorf("seed synthetic people: %w", err)
		}
		old, err := a.APIKeys.List(ctx, t.ID)
		if err != nil {
			return "", err
		}
		for _, k := range old {
			if k.Name == demoKeyName && k.RevokedAt.IsZero() {
				if err := a.APIKeys.Revoke(ctx, t.ID, k.ID); err != nil {
					return "", err
				}
			}
		}
		token, _, err = a.APIKeys.Create(ctx, t.ID, auth.RoleAdmin, demoKeyName, "demo", 0)
		if err != nil {
			return "", err
		}
	}
	return token, nil
}

// seedPeople stores the synthetic people, unless an earlier start did.
func seedPeople(ctx context.Context, a *app.App, tenantID string) error {
	if err := a.Keys.EnsureTenant(ctx, tenantID); err != nil {
		return err
	}
	blind, err := a.Keys.BlindIndex(ctx, tenantID, "email", synth.Nth(0).Email)
	if err != nil {
		return err
	}
	err = a.Store.Read(ctx, func(tx store.Tx) error {
		_, err := tx.FindIdentity(tenantID, "email", blind)
		return err
	})
	if err == nil {
		return nil // seeded before
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	by := vault.Actor{ID: "demo", Role: "admin"}
	work := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := seedPerson(ctx, a, tenantID, n, by); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		}()
	}
	for n := 0; n < demoSubjects; n++ {
		work <- n
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func seedPerson(ctx context.Context, a *app.App, tenantID string, n int, by vault.Actor) error {
	p := synth.Nth(n)
	c, err := a.Vault.Create(ctx, tenantID, vault.CreateInput{Fields: p.LearningSaaSFields()}, by)
	var conflict *vault.ConflictError
	if errors.As(err, &conflict) {
		return nil // an interrupted earlier seeding stored this one
	}
	if err != nil {
		return err
	}
	for k := 0; k < n%4; k++ {
		order, _ := json.Marshal(map[string]any{"plan": []string{"Team", "Business", "Enterprise"}[k%3], "seats": 5 + n%20, "amount_eur": 99 * (k + 1)})
		at := time.Now().AddDate(0, -(k + 1), -(n % 28))
		if _, err := a.Vault.AppendRecord(ctx, tenantID, c.ID, "orders", order, "", at, by); err != nil {
			return err
		}
	}
	return nil
}
