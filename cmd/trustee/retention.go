package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// newRetentionCmd is `trustee retention`.
func newRetentionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "See and run what the policy's retention rules delete or anonymise",
		Long: `Every field and record carries its due time, from its retention rule (a duration
counted from collection, last activity, contract end or account closure). The server
sweeps due data every ten minutes: deleted, or anonymised into counts, in audited
batches, except what a legal hold keeps. These commands open the stores directly,
so they also work on a stopped server's stores. See docs/retention.md.`,
	}
	cmd.AddCommand(newRetentionPlanCmd(), newRetentionRunCmd())
	return cmd
}

// retentionTenants returns the tenant named by slug, or every tenant.
func retentionTenants(ctx context.Context, ts *tenant.Service, slug string) ([]store.Tenant, error) {
	if slug == "" {
		return ts.List(ctx)
	}
	t, err := ts.BySlug(ctx, slug)
	if errors.Is(err, tenant.ErrTenantNotFound) {
		return nil, fmt.Errorf("no tenant %q in this store", slug)
	}
	return []store.Tenant{t}, err
}

func newRetentionPlanCmd() *cobra.Command {
	var days int
	var slug string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what retention will delete or anonymise within N days (a dry run)",
		Long: `Count, per retention rule, the fields and records whose retention ends within
--days (0: what is due now), from the stored due times. Nothing is changed. Rows a
legal hold keeps are counted too (the sweep skips them); the active holds and
children below the minimum age are listed.`,
		Example: `  trustee retention plan --days 30 --config trustee.yaml
  trustee retention plan --tenant acme --days 0 --json`,
		Args: cobra.NoArgs,
	}
	sf := dbFlag(cmd)
	cmd.Flags().IntVar(&days, "days", 30, "look this many days ahead")
	cmd.Flags().StringVar(&slug, "tenant", "", "only this tenant (default: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		st, err := openExistingStore(ctx, sf)
		if err != nil {
			return err
		}
		defer st.Close()
		ts := &tenant.Service{Store: st}
		svc := &retention.Service{Store: st, Tenants: ts}
		tenants, err := retentionTenants(ctx, ts, slug)
		if err != nil {
			return err
		}
		plans := map[string]retention.Plan{}
		for _, t := range tenants {
			p, err := svc.PlanFor(ctx, t.ID, days)
			if errors.Is(err, retention.ErrNoPolicy) {
				continue
			}
			if err != nil {
				return fmt.Errorf("tenant %s: %w", t.Slug, err)
			}
			plans[t.Slug] = p
			if !asJSON {
				printPlan(cmd.OutOrStdout(), t.Slug, p)
			}
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), plans)
		}
		return nil
	}
	return cmd
}

func printPlan(w io.Writer, slug string, p retention.Plan) {
	fmt.Fprintf(w, "%s: due by %s (%d days)\n", slug, p.Until.Format("2006-01-02 15:04 MST"), p.Days)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RULE\tDURATION\tFROM\tACTION\tFIELDS\tRECORDS\tTOTAL")
	for _, r := range p.Rules {
		var f, c int64
		for _, it := range r.Fields {
			f += it.Count
		}
		for _, it := range r.Collections {
			c += it.Count
		}
		action := r.Action
		if r.KeptByLaw != "" {
			action += " (kept by law)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\n", r.Rule, r.Duration, r.Trigger, action, f, c, r.Total)
	}
	tw.Flush()
	for _, u := range p.Undeclared {
		fmt.Fprintf(w, "  %d row(s) of %s, no longer declared by the policy (deleted with their erased subjects)\n", u.Count, u.Name)
	}
	if p.ActiveHolds > 0 {
		fmt.Fprintf(w, "  %d legal hold(s) in force: what they cover is not swept", p.ActiveHolds)
		if p.TenantHold {
			fmt.Fprint(w, " (one holds all data: nothing is)")
		}
		fmt.Fprintln(w)
	}
	if p.RecomputePending {
		fmt.Fprintln(w, "  a policy change is not yet applied to the due times; the next sweep applies it first")
	}
	if c := p.Children; c != nil && c.Count > 0 {
		fmt.Fprintf(w, "  %d account(s) below the minimum age (%d) without parental consent; action %s\n", c.Count, c.MinimumAge, c.Action)
	}
	fmt.Fprintln(w)
}

func newRetentionRunCmd() *cobra.Command {
	var slug string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Sweep now: delete or anonymise what is due",
		Long: `Run the retention sweep now, as the server does periodically: bring due times up
to date with the active policy, delete or anonymise every due row no legal hold
keeps (in batches, each one transaction with its audit events), erase or flag
children per the policy, and destroy the data keys of subjects left empty.
Interrupting it loses nothing; run it again to go on. Needs the root key.`,
		Example: `  trustee retention run --config trustee.yaml
  trustee retention run --db sqlite:trustee-data/trustee.db --key-file root.key --tenant acme`,
		Args: cobra.NoArgs,
	}
	sf := addStoresFlags(cmd)
	cmd.Flags().StringVar(&slug, "tenant", "", "only this tenant (default: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		o, cfg, err := sf.options(true)
		if err != nil {
			return err
		}
		if err := mustExist(o.DataDSN, "data store"); err != nil {
			return err
		}
		a, err := app.Open(ctx, app.Options{DB: o.DataDSN, KeysDB: o.KeysDSN, LedgerDB: o.LedgerDSN, Root: o.Root, KeyFile: cfg.KeyFile,
			Version: version, Logger: newLogger(cmd.ErrOrStderr(), "warn", "text")})
		if err != nil {
			return err
		}
		defer a.Close()
		tenants, err := retentionTenants(ctx, a.Tenants, slug)
		if err != nil {
			return err
		}
		results := map[string]retention.Result{}
		for _, t := range tenants {
			r, err := a.Retention.Sweep(ctx, t.ID)
			if errors.Is(err, retention.ErrNoPolicy) {
				continue
			}
			if err != nil {
				return fmt.Errorf("tenant %s: %w", t.Slug, err)
			}
			results[t.Slug] = r
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), results)
		}
		slugs := make([]string, 0, len(results))
		for s := range results {
			slugs = append(slugs, s)
		}
		sort.Strings(slugs)
		w := cmd.OutOrStdout()
		for _, s := range slugs {
			r := results[s]
			fmt.Fprintf(w, "%s: %d field(s) deleted, %d record(s) deleted, %d anonymised; %d held; %d subject(s) erased; children: %d erased, %d flagged",
				s, r.FieldsDeleted, r.RecordsDeleted, r.RecordsAnonymised, r.Held, r.SubjectsErased, r.MinorsErased, r.MinorsFlagged)
			if r.Recomputed > 0 {
				fmt.Fprintf(w, "; %d due time(s) recomputed for a policy change", r.Recomputed)
			}
			if !r.Complete {
				fmt.Fprint(w, " (interrupted: run again to finish)")
			}
			fmt.Fprintln(w)
		}
		return nil
	}
	return cmd
}
