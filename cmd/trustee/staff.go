package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// cliActor is who the CLI acts as in the audit log.
var cliActor = staff.Actor{ID: "cli"}

// staffFlags are the flags every staff subcommand shares.
type staffFlags struct {
	db     *storeFlags
	tenant string
	login  string
}

func addStaffFlags(cmd *cobra.Command, withLogin bool) *staffFlags {
	f := &staffFlags{db: dbFlag(cmd)}
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "tenant slug (required)")
	_ = cmd.MarkFlagRequired("tenant")
	if withLogin {
		cmd.Flags().StringVar(&f.login, "login", "", "the staff member's login (required)")
		_ = cmd.MarkFlagRequired("login")
	}
	return f
}

// withStaff opens the store and runs fn with the staff service and the
// tenant. The CLI needs no key store: creating, listing, disabling and
// resetting accounts touch no sealed secret.
func withStaff(ctx context.Context, f *staffFlags, fn func(svc *staff.Service, t store.Tenant) error) error {
	return withApp(ctx, f.db, func(a *adminApp) error {
		t, err := a.tenants.BySlug(ctx, f.tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", f.tenant, err)
		}
		svc := &staff.Service{Store: a.store, Audit: audit.New(audit.Options{Shards: audit.ShardsFor(a.store.Engine())})}
		return fn(svc, t)
	})
}

func newStaffCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff",
		Short: "Manage the admin console's staff accounts",
		Long: `Staff sign in to the admin console (/admin/) with a login, a password and optionally
a two-factor code. Each belongs to one tenant and has one of the API's roles: admin,
dpo, agent, service or auditor. Passwords are stored as argon2id hashes; a new account
gets a one-time password that must be changed at first sign-in. Every change is
recorded in the tenant's audit log. See docs/console.md.`,
	}
	cmd.AddCommand(newStaffCreateCmd(), newStaffListCmd(),
		newStaffChangeCmd("disable", "Disable an account and end its sessions", "staff.disable"),
		newStaffChangeCmd("enable", "Enable a disabled account again", "staff.enable"),
		newStaffChangeCmd("reset-totp", "Remove an account's two-factor sign-in (a lost phone)", "staff.totp_reset"),
		newStaffResetPasswordCmd())
	return cmd
}

func newStaffCreateCmd() *cobra.Command {
	var role string
	var fromStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a staff account with a one-time password",
		Long: `Create a staff account. A random one-time password is printed once (or, with
--password-stdin, the first line of standard input is used); the person must choose
their own password at first sign-in.`,
		Example: "  trustee staff create --tenant acme --login alice --role dpo\n" +
			"  pass show trustee/alice | trustee staff create --tenant acme --login alice --role admin --password-stdin",
		Args: cobra.NoArgs,
	}
	f := addStaffFlags(create, true)
	create.Flags().StringVar(&role, "role", "", "admin, dpo, agent, service or auditor (required)")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the initial password from the first line of standard input")
	_ = create.MarkFlagRequired("role")
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := auth.ParseRole(role)
		if err != nil {
			return err
		}
		var pw string
		if fromStdin {
			if pw, err = readPasswordLine(cmd.InOrStdin()); err != nil {
				return err
			}
		}
		return withStaff(cmd.Context(), f, func(svc *staff.Service, t store.Tenant) error {
			a, initial, err := svc.Create(cmd.Context(), staff.CreateInput{TenantID: t.ID, Login: f.login, Role: r, Password: pw}, cliActor)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Staff account %s (%s) created for tenant %s.\n", a.Login, a.Role, t.Slug)
			fmt.Fprintf(out, "Sign in at /admin/%s/sign-in; the password must be changed at first sign-in.\n", t.Slug)
			if !fromStdin {
				fmt.Fprintf(out, "One-time password (shown once):\n%s\n", initial)
			}
			return nil
		})
	}
	return create
}

// readPasswordLine reads one line; the password never appears in the
// process list or shell history the way a flag would.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, staff.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func newStaffListCmd() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "List a tenant's staff accounts", Args: cobra.NoArgs}
	f := addStaffFlags(list, false)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return withStaff(cmd.Context(), f, func(svc *staff.Service, t store.Tenant) error {
			as, err := svc.List(cmd.Context(), t.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LOGIN\tROLE\tTWO-FACTOR\tLAST SIGN-IN\tSTATE\tID")
			for _, a := range as {
				state := "active"
				switch {
				case !a.DisabledAt.IsZero():
					state = "disabled " + a.DisabledAt.Format(time.RFC3339)
				case a.MustChangePassword:
					state = "must change password"
				}
				tfa := "off"
				if a.TOTPSecret != nil {
					tfa = "on"
				}
				last := "never"
				if !a.LastSignInAt.IsZero() {
					last = a.LastSignInAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Login, a.Role, tfa, last, state, a.ID)
			}
			return tw.Flush()
		})
	}
	return list
}

func newStaffChangeCmd(use, short, action string) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	f := addStaffFlags(c, true)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return withStaff(cmd.Context(), f, func(svc *staff.Service, t store.Tenant) error {
			a, err := svc.GetByLogin(cmd.Context(), t.ID, f.login)
			if err != nil {
				return fmt.Errorf("staff %q: %w", f.login, err)
			}
			switch action {
			case "staff.disable":
				err = svc.SetDisabled(cmd.Context(), t.ID, a.ID, true, cliActor)
			case "staff.enable":
				err = svc.SetDisabled(cmd.Context(), t.ID, a.ID, false, cliActor)
			case "staff.totp_reset":
				err = svc.ResetTOTP(cmd.Context(), t.ID, a.ID, cliActor)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: done for %s (tenant %s).\n", use, a.Login, t.Slug)
			return nil
		})
	}
	return c
}

func newStaffResetPasswordCmd() *cobra.Command {
	c := &cobra.Command{Use: "reset-password", Short: "Give an account a new one-time password and end its sessions", Args: cobra.NoArgs}
	f := addStaffFlags(c, true)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return withStaff(cmd.Context(), f, func(svc *staff.Service, t store.Tenant) error {
			a, err := svc.GetByLogin(cmd.Context(), t.ID, f.login)
			if err != nil {
				return fmt.Errorf("staff %q: %w", f.login, err)
			}
			pw, err := svc.ResetPassword(cmd.Context(), t.ID, a.ID, cliActor)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "New one-time password for %s (shown once):\n%s\n", a.Login, pw)
			return nil
		})
	}
	return c
}
