package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/notice"
	"github.com/trustee-privacy/trustee/internal/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate, render and compare policy files",
		Long: `Work with policy files offline: validate them, render the privacy notice and the
record of processing (ROPA) they describe, and compare two versions. None of these
commands needs a server or a store.`,
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyRenderCmd(), newPolicyROPACmd(), newPolicyDiffCmd())
	return cmd
}

// loadPolicyFile reads and validates a policy file. On validation failure it
// prints every problem as FILE:LINE:COL: message to w and returns an exit
// error with code 1.
func loadPolicyFile(path string, w io.Writer) (*policy.Document, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %v", path, errors.Unwrap(err))}
	}
	doc, err := policy.Load(path, src)
	if err != nil {
		var errs policy.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(w, e.Error())
			}
			return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s); the policy is not valid", path, len(errs))}
		}
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %v", path, err)}
	}
	for _, wn := range doc.Warnings {
		fmt.Fprintln(w, wn.Error())
	}
	return doc, nil
}

func newPolicyValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a policy file and list every mistake",
		Long: `Check a policy file. A valid policy prints a one-line summary and exits 0 (warnings,
if any, go to stderr). An invalid one prints every problem as FILE:LINE:COL: message,
one per line, and exits 1 — the format editors and CI annotate.`,
		Example: "  trustee policy validate examples/learning-saas.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := loadPolicyFile(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			p := doc.Policy
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid — %s %s; %d purposes, %d fields, %d collections, %d recipients, %d retention rules, %d cookies; %d warning(s); %s\n",
				args[0], p.Controller.Name, jurisdictionList(p), len(p.Purposes), len(p.Fields), len(p.Collections),
				len(p.Recipients), len(p.Retention), len(p.Cookies), len(doc.Warnings), p.Hash())
			return nil
		},
	}
}

func jurisdictionList(p *policy.Policy) string {
	names := make([]string, len(p.Jurisdictions))
	for i, j := range p.Jurisdictions {
		names[i] = strings.ToUpper(strings.ReplaceAll(string(j), "_", " "))
	}
	return "(" + strings.Join(names, ", ") + ")"
}

func newPolicyRenderCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "render FILE",
		Short:   "Print the privacy notice a policy describes",
		Long:    "Render the privacy notice from a policy file, as a standalone HTML page (--format html) or Markdown (--format md), to stdout.",
		Example: "  trustee policy render examples/door-entry.yaml --format md > notice.md",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := loadPolicyFile(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts := notice.Options{Hash: doc.Policy.Hash()}
			var out []byte
			switch format {
			case "html":
				out, err = notice.HTML(doc.Policy, opts)
			case "md", "markdown":
				out, err = notice.Markdown(doc.Policy, opts)
			default:
				return fmt.Errorf("--format must be html or md, not %q", format)
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "html", "html or md")
	return cmd
}

func newPolicyROPACmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "ropa FILE",
		Short:   "Print the record of processing activities (GDPR Art. 30)",
		Long:    "Print the Art. 30(1) record of processing activities a policy describes, one entry per purpose, as CSV or JSON.",
		Example: "  trustee policy ropa examples/learning-saas.yaml --format csv > ropa.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := loadPolicyFile(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			switch format {
			case "csv":
				return notice.ROPACSV(doc.Policy, cmd.OutOrStdout())
			case "json":
				b, err := notice.ROPAJSON(doc.Policy)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return fmt.Errorf("--format must be csv or json, not %q", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	return cmd
}

func newPolicyDiffCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Compare two policy versions",
		Long: `List what changed between two policy files: purposes, categories, fields and
collections, recipients, retention rules, cookies and contacts — and say whether
existing consents must be asked again (a new consent-based purpose, or a widened one,
needs fresh consent).`,
		Example: "  trustee policy diff policy-v1.yaml policy-v2.yaml",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			oldDoc, err := loadPolicyFile(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			newDoc, err := loadPolicyFile(args[1], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			d := policy.Diff(oldDoc.Policy, newDoc.Policy)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			_, err = io.WriteString(cmd.OutOrStdout(), d.Text())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON")
	return cmd
}

// applyPolicyFile validates path and applies it to the tenant with slug,
// creating the tenant if needed.
func applyPolicyFile(ctx context.Context, a *app.App, slug, path string, w io.Writer) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	t, created, err := a.EnsureTenant(ctx, slug, slug)
	if err != nil {
		return err
	}
	res, err := a.Tenants.Apply(ctx, t.ID, path, src, "file:"+path)
	if err != nil {
		var errs policy.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(w, e.Error())
			}
			return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s); not applied, server not started", path, len(errs))}
		}
		return err
	}
	for _, wn := range res.Warnings {
		fmt.Fprintln(w, wn.Error())
	}
	if res.Unchanged {
		a.Log.Info("policy unchanged", "tenant", slug, "version", res.Version.Version, "hash", res.Version.Hash)
	} else {
		a.Log.Info("policy applied", "tenant", slug, "version", res.Version.Version, "hash", res.Version.Hash)
	}
	if created {
		a.Log.Warn("tenant created without API keys; create one with `trustee apikey create --tenant " + slug + " --role admin`")
	}
	return nil
}
