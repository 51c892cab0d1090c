// Command trustee is the whole of Trustee in one binary: the server, a demo,
// project scaffolding, policy tooling and administration commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a process exit code through cobra without printing
// cobra's usage text (for "policy validate" finding mistakes, for example).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with args and returns the exit code; tests call it
// directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "trustee:", err)
	return 1
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "trustee",
		Short: "Trustee makes a privacy policy executable",
		Long: `Trustee makes a privacy policy executable. Write the policy as code; Trustee renders
the privacy notice and the record of processing from it, keeps the personal data it
covers encrypted, releases it only for allowed purposes, and keeps the promises the
notice makes.

Start with:
  trustee demo              run a demo on http://127.0.0.1:8080 with example data
  trustee init mydir        write a starter policy, config and root key
  trustee serve --help      run Trustee for real`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(newServeCmd(), newDemoCmd(), newInitCmd(), newPolicyCmd(), newTenantCmd(),
		newAPIKeyCmd(), newOpenAPICmd(), newKeysCmd(), newAuditCmd())
	root.AddCommand(newStaffCmd())
	root.AddCommand(newRetentionCmd())
	root.AddCommand(newRequestsCmd())
	root.AddCommand(newBackupCmd())
	root.AddCommand(newBreachCmd())
	return root
}

// newLogger builds the structured logger. Logs never carry personal data;
// see docs/security.md.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
