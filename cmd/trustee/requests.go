package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// newRequestsCmd is `trustee requests`.
func newRequestsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "Work the queue of data-subject requests",
		Long: `List, read and decide data-subject requests (access, erasure, rectification,
objection, CCPA know/delete/opt-out...) on their statutory clock. These commands
open the stores directly, like the server, and need the root key: requests carry
sealed details and approving one fulfils it. Actions are audited as "cli".
See docs/rights.md.`,
	}
	cmd.AddCommand(newRequestsListCmd(), newRequestsShowCmd(), newRequestsApproveCmd(), newRequestsExtendCmd(), newRequestsRefuseCmd())
	return cmd
}

// requestsCmd declares the flags every requests command has and opens the
// app and the tenant for it.
type requestsCmd struct {
	sf     *storesFlags
	slug   string
	asJSON bool
}

func newRequestsBase(cmd *cobra.Command) *requestsCmd {
	rc := &requestsCmd{sf: addStoresFlags(cmd)}
	cmd.Flags().StringVar(&rc.slug, "tenant", "", "the tenant's slug (required)")
	cmd.Flags().BoolVar(&rc.asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("tenant")
	return rc
}

func (rc *requestsCmd) open(cmd *cobra.Command) (*app.App, string, error) {
	ctx := cmd.Context()
	o, cfg, err := rc.sf.options(true)
	if err != nil {
		return nil, "", err
	}
	if err := mustExist(o.DataDSN, "data store"); err != nil {
		return nil, "", err
	}
	a, err := app.Open(ctx, app.Options{DB: o.DataDSN, KeysDB: o.KeysDSN, LedgerDB: o.LedgerDSN, Root: o.Root, KeyFile: cfg.KeyFile,
		Version: version, Logger: newLogger(cmd.ErrOrStderr(), "warn", "text")})
	if err != nil {
		return nil, "", err
	}
	t, err := a.Tenants.BySlug(ctx, rc.slug)
	if errors.Is(err, tenant.ErrTenantNotFound) {
		a.Close()
		return nil, "", fmt.Errorf("no tenant %q in this store", rc.slug)
	}
	if err != nil {
		a.Close()
		return nil, "", err
	}
	return a, t.ID, nil
}

var requestsCLIActor = rights.Actor{ID: "cli", Role: "admin"}

func newRequestsListCmd() *cobra.Command {
	var status []string
	var typ string
	var overdue, dueSoon bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List requests, soonest due first",
		Example: `  trustee requests list --tenant acme --overdue
  trustee requests list --tenant acme --status verifying,in_progress --json`,
		Args: cobra.NoArgs,
	}
	rc := newRequestsBase(cmd)
	cmd.Flags().StringSliceVar(&status, "status", nil, "only these statuses")
	cmd.Flags().StringVar(&typ, "type", "", "only this type")
	cmd.Flags().BoolVar(&overdue, "overdue", false, "only open requests past their due date")
	cmd.Flags().BoolVar(&dueSoon, "due-soon", false, "only open requests due within 7 days")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, tenantID, err := rc.open(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		rs, err := a.Rights.List(cmd.Context(), tenantID, rights.Filter{Statuses: status, Type: typ, Overdue: overdue, DueSoon: dueSoon, Limit: 1000})
		if err != nil {
			return err
		}
		if rc.asJSON {
			return printJSON(cmd.OutOrStdout(), summaries(rs))
		}
		printRequests(cmd.OutOrStdout(), rs, time.Now())
		return nil
	}
	return cmd
}

// requestSummary is a request without its sealed details, for JSON output.
type requestSummary struct {
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Status       string        `json:"status"`
	SubjectID    string        `json:"subject_id,omitempty"`
	Jurisdiction string        `json:"jurisdiction"`
	Channel      string        `json:"channel"`
	ReceivedAt   time.Time     `json:"received_at"`
	DueAt        time.Time     `json:"due_at"`
	Verified     bool          `json:"verified"`
	State        *rights.State `json:"state,omitempty"`
}

func summaries(rs []*rights.Request) []requestSummary {
	out := make([]requestSummary, 0, len(rs))
	for _, r := range rs {
		out = append(out, requestSummary{ID: r.ID, Type: r.Type, Status: r.Status, SubjectID: r.SubjectID, Jurisdiction: r.Jurisdiction,
			Channel: r.Channel, ReceivedAt: r.ReceivedAt, DueAt: r.DueAt, Verified: r.Verified()})
	}
	return out
}

func printRequests(w io.Writer, rs []*rights.Request, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tRECEIVED\tDUE\tVERIFIED\tFLAGS")
	for _, r := range rs {
		var flags []string
		if r.Overdue(now) {
			flags = append(flags, "OVERDUE")
		} else if r.DueSoon(now) {
			flags = append(flags, "due soon")
		}
		if r.State.Repeated > 0 {
			flags = append(flags, fmt.Sprintf("repeated x%d", r.State.Repeated))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", r.ID, r.Type, r.Status, r.ReceivedAt.Format(time.DateOnly),
			r.DueAt.Format(time.DateOnly), r.Verified(), strings.Join(flags, ", "))
	}
	tw.Flush()
}

func newRequestsShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a request with its history, verification and recipients",
		Args:  cobra.ExactArgs(1),
	}
	rc := newRequestsBase(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, tenantID, err := rc.open(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		r, err := a.Rights.Get(cmd.Context(), tenantID, args[0])
		if err != nil {
			return err
		}
		recips, err := a.Rights.Recipients(cmd.Context(), tenantID, r.ID)
		if err != nil {
			return err
		}
		if rc.asJSON {
			s := summaries([]*rights.Request{r})[0]
			s.State = &r.State
			s.State.Verification.CodeMAC = nil
			return printJSON(cmd.OutOrStdout(), map[string]any{"request": s, "history": r.History, "recipients": recips})
		}
		printRequest(cmd.OutOrStdout(), r, recips)
		return nil
	}
	return cmd
}

func printRequest(w io.Writer, r *rights.Request, recips []fulfil.RecipientStatus) {
	v := r.State.Verification
	fmt.Fprintf(w, "Request %s\n  type %s (%s), channel %s\n  status %s\n  received %s, due %s (%s)\n",
		r.ID, r.Type, r.Jurisdiction, r.Channel, r.Status, r.ReceivedAt.Format(time.RFC3339), r.DueAt.Format(time.RFC3339), r.State.Schedule.Rule)
	if r.SubjectID != "" {
		fmt.Fprintf(w, "  subject %s\n", r.SubjectID)
	} else {
		fmt.Fprintln(w, "  subject: the identity given matched nobody")
	}
	fmt.Fprintf(w, "  verification: level %s, verified %t", v.Level, v.Verified())
	if v.Verified() {
		fmt.Fprintf(w, " (%s by %s)", v.Method, v.VerifiedBy)
	}
	fmt.Fprintln(w)
	if r.State.Repeated > 0 {
		fmt.Fprintf(w, "  repeated: %d request(s) of this type by this subject in the 30 days before\n", r.State.Repeated)
	}
	if e := r.State.Extension; e != nil {
		fmt.Fprintf(w, "  extended by %s: %s\n", e.By, e.Reason)
	}
	if o := r.State.Outcome; o != nil {
		fmt.Fprintf(w, "  outcome: %s\n", o.Summary)
	}
	fmt.Fprintln(w, "History:")
	for _, h := range r.History {
		fmt.Fprintf(w, "  %s  %s -> %s  %s  %s\n", h.At.Format(time.RFC3339), orDash(h.From), h.To, h.Actor, h.Note)
	}
	if len(recips) > 0 {
		fmt.Fprintln(w, "Recipients:")
		for _, x := range recips {
			fmt.Fprintf(w, "  %s  %s  %s\n", x.Recipient, x.State, x.Note)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRequestsApproveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve and fulfil a verified request",
		Long: `Fulfil the request (erase, restrict, rectify, export...) and tell the person. An
export's PDF password is printed once here: give it to the person by another
channel than the email with the download link.`,
		Args: cobra.ExactArgs(1),
	}
	rc := newRequestsBase(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rc.act(cmd, func(ctx context.Context, a *app.App, tenantID string) (*rights.Request, error) {
			ap, err := a.Rights.Approve(ctx, tenantID, args[0], requestsCLIActor)
			if err != nil {
				return nil, err
			}
			if ap.PDFPassword != "" && !rc.asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "PDF password (shown once): %s\n", ap.PDFPassword)
			}
			if ap.TransmitSecret != "" && !rc.asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "Transmission webhook secret for the receiving controller (shown once): %s\n", ap.TransmitSecret)
			}
			return ap.Request, nil
		})
	}
	return cmd
}

func newRequestsExtendCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:     "extend ID",
		Short:   "Extend a request's deadline once, with a reason the person is told",
		Example: `  trustee requests extend 0190... --tenant acme --by 2mo --reason "We must search archived mailboxes"`,
		Args:    cobra.ExactArgs(1),
	}
	rc := newRequestsBase(cmd)
	cmd.Flags().StringVar(&by, "by", "", "GDPR: 1mo or 2mo; CCPA: up to 45d (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	_ = cmd.MarkFlagRequired("by")
	_ = cmd.MarkFlagRequired("reason")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rc.act(cmd, func(ctx context.Context, a *app.App, tenantID string) (*rights.Request, error) {
			return a.Rights.Extend(ctx, tenantID, args[0], by, reason, requestsCLIActor)
		})
	}
	return cmd
}

func newRequestsRefuseCmd() *cobra.Command {
	var reason, text, currency string
	var fee int64
	cmd := &cobra.Command{
		Use:   "refuse ID",
		Short: "Refuse a request (or ask a fee for an excessive one)",
		Example: `  trustee requests refuse 0190... --tenant acme --reason identity_not_verified
  trustee requests refuse 0190... --tenant acme --reason excessive --fee 2500 --currency NOK`,
		Args: cobra.ExactArgs(1),
	}
	rc := newRequestsBase(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "one of "+strings.Join(rights.RefusalReasons, ", ")+" (required)")
	cmd.Flags().StringVar(&text, "text", "", "more words for the person (required for other)")
	cmd.Flags().Int64Var(&fee, "fee", 0, "ask this fee (minor units) instead of refusing an excessive request")
	cmd.Flags().StringVar(&currency, "currency", "", "ISO 4217 currency of --fee")
	_ = cmd.MarkFlagRequired("reason")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rc.act(cmd, func(ctx context.Context, a *app.App, tenantID string) (*rights.Request, error) {
			return a.Rights.Refuse(ctx, tenantID, args[0], rights.RefuseInput{Reason: reason, Text: text, FeeAmount: fee, FeeCurrency: currency}, requestsCLIActor)
		})
	}
	return cmd
}

// act runs one action and prints the request after it. The person's email
// is queued durably in the outbox, in the same transaction, and sent by the
// running server.
func (rc *requestsCmd) act(cmd *cobra.Command, fn func(ctx context.Context, a *app.App, tenantID string) (*rights.Request, error)) error {
	a, tenantID, err := rc.open(cmd)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := fn(cmd.Context(), a, tenantID)
	if err != nil {
		var ie *rights.InputError
		var se *rights.StateError
		if errors.As(err, &ie) || errors.As(err, &se) {
			return fmt.Errorf("%s (nothing was changed)", err)
		}
		return err
	}
	if rc.asJSON {
		return printJSON(cmd.OutOrStdout(), summaries([]*rights.Request{r})[0])
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, due %s\n", r.ID, r.Status, r.DueAt.Format(time.DateOnly))
	return nil
}
