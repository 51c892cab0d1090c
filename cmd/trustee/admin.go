package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/config"
	"github.com/trustee-privacy/trustee/internal/httpapi"
)

// storeFlags are --db and --config for administrative commands, resolved
// like serve's settings so both always open the same store.
type storeFlags struct {
	db, config string
}

func dbFlag(cmd *cobra.Command) *storeFlags {
	var sf storeFlags
	cmd.Flags().StringVar(&sf.db, "db", "", "store: sqlite:PATH or postgres://... (default: TRUSTEE_DB, the config file's db, else "+config.Defaults().DB+")")
	cmd.Flags().StringVar(&sf.config, "config", "", "config file whose db setting to use (also TRUSTEE_CONFIG)")
	return &sf
}

func (sf *storeFlags) dsn() (string, error) {
	if sf.db != "" {
		return sf.db, nil
	}
	path := sf.config
	if path == "" {
		path = os.Getenv("TRUSTEE_CONFIG")
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		return "", err
	}
	return cfg.DB, nil
}

// withApp opens the store for an administrative command and closes it after.
func withApp(ctx context.Context, sf *storeFlags, fn func(a *adminApp) error) error {
	dsn, err := sf.dsn()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(newAdminApp(st, slog.New(slog.DiscardHandler)))
}

func newTenantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Create and list tenants",
		Long:  "A tenant is one controller (or one customer of a processor). Everything in Trustee belongs to exactly one tenant.",
	}
	var name, policyFile string
	create := &cobra.Command{
		Use:   "create SLUG",
		Short: "Create a tenant and its first admin API key",
		Long: `Create a tenant and print its first admin API key (shown only once).
With --policy, the policy is validated and applied as the tenant's first version;
if it is invalid, nothing is created.`,
		Example: "  trustee tenant create acme --name 'Acme AS' --policy policy.yaml",
		Args:    cobra.ExactArgs(1),
	}
	createDB := dbFlag(create)
	create.Flags().StringVar(&name, "name", "", "display name (defaults to the slug)")
	create.Flags().StringVar(&policyFile, "policy", "", "policy file to apply as version 1")
	create.RunE = func(cmd *cobra.Command, args []string) error {
		var src []byte
		if policyFile != "" {
			if _, err := loadPolicyFile(policyFile, cmd.ErrOrStderr()); err != nil {
				return err
			}
			var err error
			if src, err = os.ReadFile(policyFile); err != nil {
				return err
			}
		}
		return withApp(cmd.Context(), createDB, func(a *adminApp) error {
			ctx := cmd.Context()
			t, err := a.tenants.Create(ctx, args[0], name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Tenant: %s (%s)\n", t.Slug, t.ID)
			if src != nil {
				res, err := a.tenants.Apply(ctx, t.ID, policyFile, src, "cli")
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "Policy: version %d, %s\n", res.Version.Version, res.Version.Hash)
			}
			tok, k, err := a.keys.Create(ctx, t.ID, auth.RoleAdmin, "initial admin", "cli", 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Admin API key (id %s, shown once): %s\n", k.ID, tok)
			return nil
		})
	}

	list := &cobra.Command{Use: "list", Short: "List tenants", Args: cobra.NoArgs}
	listDB := dbFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return withApp(cmd.Context(), listDB, func(a *adminApp) error {
			ts, err := a.tenants.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tMODE\tID\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.Mode, t.ID, t.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		})
	}
	cmd.AddCommand(create, list)
	return cmd
}

func newAPIKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Create, list and revoke API keys",
		Long: `API keys authenticate callers of the HTTP API. Each belongs to one tenant and has
one role: admin, dpo, agent, service or auditor. The key is shown once at creation;
only its hash is stored.`,
	}
	var tenantSlug, role, name string
	var ttl time.Duration
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an API key (printed once)",
		Example: "  trustee apikey create --tenant acme --role service --name checkout-backend",
		Args:    cobra.NoArgs,
	}
	createDB := dbFlag(create)
	create.Flags().StringVar(&tenantSlug, "tenant", "", "tenant slug (required)")
	create.Flags().StringVar(&role, "role", "", "admin, dpo, agent, service or auditor (required)")
	create.Flags().StringVar(&name, "name", "", "label for the key")
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 720h; 0 for none")
	_ = create.MarkFlagRequired("tenant")
	_ = create.MarkFlagRequired("role")
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := auth.ParseRole(role)
		if err != nil {
			return err
		}
		return withApp(cmd.Context(), createDB, func(a *adminApp) error {
			t, err := a.tenants.BySlug(cmd.Context(), tenantSlug)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", tenantSlug, err)
			}
			tok, k, err := a.keys.Create(cmd.Context(), t.ID, r, name, "cli", ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "API key %s (%s) for tenant %s, shown once:\n%s\n", k.ID, k.Role, t.Slug, tok)
			return nil
		})
	}

	var listTenant string
	list := &cobra.Command{Use: "list", Short: "List a tenant's API keys", Args: cobra.NoArgs}
	listDB := dbFlag(list)
	list.Flags().StringVar(&listTenant, "tenant", "", "tenant slug (required)")
	_ = list.MarkFlagRequired("tenant")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return withApp(cmd.Context(), listDB, func(a *adminApp) error {
			t, err := a.tenants.BySlug(cmd.Context(), listTenant)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", listTenant, err)
			}
			ks, err := a.keys.List(cmd.Context(), t.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tSTATE")
			for _, k := range ks {
				state := "active"
				if !k.RevokedAt.IsZero() {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				} else if !k.ExpiresAt.IsZero() {
					state = "expires " + k.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, k.CreatedAt.Format(time.RFC3339), state)
			}
			return tw.Flush()
		})
	}

	var revTenant string
	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke an API key at once", Args: cobra.ExactArgs(1)}
	revDB := dbFlag(revoke)
	revoke.Flags().StringVar(&revTenant, "tenant", "", "tenant slug (required)")
	_ = revoke.MarkFlagRequired("tenant")
	revoke.RunE = func(cmd *cobra.Command, args []string) error {
		return withApp(cmd.Context(), revDB, func(a *adminApp) error {
			t, err := a.tenants.BySlug(cmd.Context(), revTenant)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", revTenant, err)
			}
			if err := a.keys.Revoke(cmd.Context(), t.ID, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked %s.\n", args[0])
			return nil
		})
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newOpenAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3.1 document of the HTTP API",
		Long:  "Print the OpenAPI 3.1 document that the server also serves at /openapi.json. docs/openapi.json is this output.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := openAPIDocument()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}

func openAPIDocument() ([]byte, error) { return httpapi.Document() }
