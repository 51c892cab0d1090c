package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/store"
)

// cliBreachActor is who the breach commands act as in the audit log.
var cliBreachActor = breach.Actor{ID: "cli", Role: "admin"}

// newBreachCmd is `trustee breach`.
func newBreachCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breach",
		Short: "Keep the personal data breach register (GDPR Art. 33 and 34)",
		Long: `Record personal data breaches, compute whose data they concern from the audit log,
confirm the risk, record the notification of the supervisory authority within 72
hours, notify the people affected and write the notification document. The same
register as /v1/breaches and the console's Breaches page; every change is audited
with actor "cli". These commands open the stores directly (they need the root key)
and take the tenant with --tenant (optional when the store has one tenant).
Notices queued by "notify" are sent by a running server. See docs/breaches.md.`,
		Example: `  trustee breach create --tenant acme --file incident.yaml --config trustee.yaml
  trustee breach list --tenant acme --config trustee.yaml`,
	}
	cmd.AddCommand(newBreachListCmd(), newBreachShowCmd(), newBreachCreateCmd(), newBreachUpdateCmd(), newBreachAffectedCmd(),
		newBreachAssessCmd(), newBreachAuthorityCmd(), newBreachNotifyCmd(), newBreachCloseCmd(), newBreachDocumentCmd())
	return cmd
}

// breachFlags are the flags every breach command shares.
type breachFlags struct {
	stores *storesFlags
	tenant string
	json   bool
}

func addBreachFlags(cmd *cobra.Command, withJSON bool) *breachFlags {
	bf := &breachFlags{stores: addStoresFlags(cmd)}
	cmd.Flags().StringVar(&bf.tenant, "tenant", "", "tenant slug (default: the only tenant of the store)")
	if withJSON {
		cmd.Flags().BoolVar(&bf.json, "json", false, "print JSON")
	}
	return bf
}

// withBreach opens the app over the stores and calls fn with the register
// and the tenant's id.
func (bf *breachFlags) with(ctx context.Context, cmd *cobra.Command, fn func(svc *breach.Service, tenantID string) error) error {
	o, cfg, err := bf.stores.options(true)
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
	tenants, err := retentionTenants(ctx, a.Tenants, bf.tenant)
	if err != nil {
		return err
	}
	if len(tenants) != 1 {
		return fmt.Errorf("the store has %d tenants: name one with --tenant", len(tenants))
	}
	return fn(a.Breach, tenants[0].ID)
}

// breachErr turns the register's errors into messages that say what to do.
func breachErr(err error) error {
	var ie *breach.InputError
	var se *breach.StateError
	switch {
	case errors.As(err, &ie):
		msgs := make([]string, len(ie.Problems))
		for i, p := range ie.Problems {
			msgs[i] = "  " + p.Field + ": " + p.Message
		}
		return fmt.Errorf("nothing was changed:\n%s", strings.Join(msgs, "\n"))
	case errors.Is(err, breach.ErrNotFound):
		return errors.New("there is no such breach in this tenant (see trustee breach list)")
	case errors.As(err, &se):
		return fmt.Errorf("not possible now: %s", se.Msg)
	}
	return err
}

func oneID(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs the breach id (see trustee breach list)", cmd.CommandPath())
	}
	return nil
}

func newBreachListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the register, newest first, with the 72-hour clock",
		Example: `  trustee breach list --tenant acme --config trustee.yaml`,
		Args:    cobra.NoArgs,
	}
	bf := addBreachFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			bs, err := svc.List(cmd.Context(), tid, 1000)
			if err != nil {
				return err
			}
			if bf.json {
				if bs == nil {
					bs = []breach.Breach{}
				}
				return printJSON(cmd.OutOrStdout(), bs)
			}
			if len(bs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no breaches recorded")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tRISK\tAWARE\tAUTHORITY CLOCK\tTITLE")
			now := time.Now()
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Status, dash(b.Risk), b.AwareAt.Format(time.RFC3339), clockText(b, now), b.Title)
			}
			return tw.Flush()
		})
	}
	return cmd
}

// clockText is the state of the 72-hour clock in words.
func clockText(b breach.Breach, now time.Time) string {
	switch {
	case b.Details.Authority != nil && b.Details.Authority.Late:
		return "notified late " + b.AuthorityNotifiedAt.Format(time.RFC3339)
	case b.Details.Authority != nil:
		return "notified " + b.AuthorityNotifiedAt.Format(time.RFC3339)
	case b.Status == store.BreachClosed:
		return "closed"
	case b.Overdue:
		return fmt.Sprintf("OVERDUE by %s", now.Sub(b.Deadline).Round(time.Minute))
	}
	return fmt.Sprintf("%s left", b.Deadline.Sub(now).Round(time.Minute))
}

func newBreachShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show one breach: description, clock, risk suggestion, notice counts",
		Example: `  trustee breach show 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --tenant acme --config trustee.yaml`,
		Args:    oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			b, err := svc.Get(cmd.Context(), tid, args[0])
			if err != nil {
				return breachErr(err)
			}
			return printBreach(cmd.OutOrStdout(), b, bf.json)
		})
	}
	return cmd
}

func printBreach(w io.Writer, b breach.Breach, asJSON bool) error {
	if asJSON {
		return printJSON(w, b)
	}
	d := b.Details
	fmt.Fprintf(w, "breach %s: %s\n", b.ID, b.Title)
	fmt.Fprintf(w, "  status:     %s\n", b.Status)
	fmt.Fprintf(w, "  detected:   %s\n  aware:      %s\n  deadline:   %s (%s)\n", b.DetectedAt.Format(time.RFC3339), b.AwareAt.Format(time.RFC3339),
		b.Deadline.Format(time.RFC3339), clockText(b, time.Now()))
	fmt.Fprintf(w, "  nature:     %s\n", d.Nature)
	if len(d.Categories) > 0 {
		fmt.Fprintf(w, "  categories: %s\n", strings.Join(d.Categories, ", "))
	}
	fmt.Fprintf(w, "  risk:       %s (suggested %s: %s)\n", dash(b.Risk), b.Suggested, strings.Join(b.SuggestedReasons, "; "))
	fmt.Fprintf(w, "  affected:   %d", b.Affected)
	if b.Affected > 0 {
		states := make([]string, 0, len(b.Notices))
		for st, n := range b.Notices {
			states = append(states, fmt.Sprintf("%s %d", st, n))
		}
		sort.Strings(states)
		fmt.Fprintf(w, " (%s)", strings.Join(states, ", "))
	}
	fmt.Fprintln(w)
	if a := d.Authority; a != nil {
		fmt.Fprintf(w, "  authority:  notified %s", a.At.Format(time.RFC3339))
		if a.Reference != "" {
			fmt.Fprintf(w, ", reference %s", a.Reference)
		}
		if a.Late {
			fmt.Fprintf(w, ", late: %s", a.DelayReason)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// incidentFlags are the descriptive flags of create and update.
type incidentFlags struct {
	file                                                 string
	fromFile                                             *breach.Input // the file, once read
	title, nature, consequences, measures, advice        string
	detectedAt, awareAt, from, until                     string
	categories, subjects, apiKeys, actors, scopeCategory []string
	approxRecords                                        int64
	encrypted, children                                  bool
}

func addIncidentFlags(cmd *cobra.Command) *incidentFlags {
	var f incidentFlags
	fl := cmd.Flags()
	fl.StringVar(&f.file, "file", "", "read the description from a YAML or JSON file (fields as in POST /v1/breaches); flags override it")
	fl.StringVar(&f.title, "title", "", "short name of the incident")
	fl.StringVar(&f.nature, "nature", "", "what happened (Art. 33(3)(a))")
	fl.StringVar(&f.detectedAt, "detected-at", "", "when it was detected (RFC 3339)")
	fl.StringVar(&f.awareAt, "aware-at", "", "when you became aware of a personal data breach: the 72-hour clock starts here (RFC 3339; default --detected-at)")
	fl.StringSliceVar(&f.categories, "category", nil, "data category concerned (repeat or comma-separate)")
	fl.StringSliceVar(&f.subjects, "subject", nil, "scope: subject id known to be concerned")
	fl.StringSliceVar(&f.apiKeys, "api-key", nil, "scope: compromised API key id")
	fl.StringSliceVar(&f.actors, "actor", nil, "scope: other audit actor, e.g. staff:<id>")
	fl.StringSliceVar(&f.scopeCategory, "scope-category", nil, "scope: limit to data in these categories")
	fl.StringVar(&f.from, "from", "", "scope: start of the window of access (RFC 3339)")
	fl.StringVar(&f.until, "until", "", "scope: end of the window, exclusive (RFC 3339)")
	fl.Int64Var(&f.approxRecords, "approx-records", 0, "approximate number of records concerned")
	fl.StringVar(&f.consequences, "consequences", "", "likely consequences (Art. 33(3)(c))")
	fl.StringVar(&f.measures, "measures", "", "measures taken or proposed (Art. 33(3)(d))")
	fl.StringVar(&f.advice, "person-advice", "", "what people can do to protect themselves, for the notices")
	fl.BoolVar(&f.encrypted, "encrypted", false, "the data stayed encrypted and the keys were not compromised")
	fl.BoolVar(&f.children, "children", false, "children's data is concerned")
	return &f
}

// maxIncidentFile bounds the incident file.
const maxIncidentFile = 1 << 20

// parseIncident decodes an incident description, YAML or JSON (JSON is
// YAML too, but decoding it as JSON gives JSON's error messages), refusing
// unknown fields so a misspelt field is not silently dropped.
func parseIncident(data []byte, name string) (breach.Input, error) {
	var in breach.Input
	if len(data) > maxIncidentFile {
		return in, fmt.Errorf("%s: larger than %d bytes", name, maxIncidentFile)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return in, fmt.Errorf("%s: empty", name)
	}
	if strings.HasSuffix(strings.ToLower(name), ".json") || trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return breach.Input{}, fmt.Errorf("%s: %w", name, err)
		}
		if dec.More() {
			return breach.Input{}, fmt.Errorf("%s: more than one JSON value", name)
		}
		return in, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&in); err != nil {
		return breach.Input{}, fmt.Errorf("%s: %w", name, err)
	}
	return in, nil
}

// apply sets the fields given on the command line (or all of them from the
// file) on in. It returns whether anything was given.
func (f *incidentFlags) apply(cmd *cobra.Command, in *breach.Input) (bool, error) {
	given := false
	if f.fromFile != nil {
		*in = *f.fromFile
		given = true
	} else if f.file != "" {
		var data []byte
		var err error
		if f.file == "-" {
			data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxIncidentFile+1))
		} else {
			data, err = os.ReadFile(f.file)
		}
		if err != nil {
			return false, err
		}
		file, err := parseIncident(data, filepath.Base(f.file))
		if err != nil {
			return false, err
		}
		f.fromFile = &file
		*in = file
		given = true
	}
	ch := cmd.Flags().Changed
	setS := func(flag string, dst *string, v string) {
		if ch(flag) {
			*dst, given = v, true
		}
	}
	setL := func(flag string, dst *[]string, v []string) {
		if ch(flag) {
			*dst, given = v, true
		}
	}
	setT := func(flag string, dst *time.Time, v string) error {
		if !ch(flag) {
			return nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("--%s: %q is not an RFC 3339 time such as 2026-03-01T09:30:00Z", flag, v)
		}
		*dst, given = t, true
		return nil
	}
	setS("title", &in.Title, f.title)
	setS("nature", &in.Nature, f.nature)
	setS("consequences", &in.Consequences, f.consequences)
	setS("measures", &in.Measures, f.measures)
	setS("person-advice", &in.PersonAdvice, f.advice)
	setL("category", &in.Categories, f.categories)
	setL("subject", &in.Scope.SubjectIDs, f.subjects)
	setL("api-key", &in.Scope.APIKeyIDs, f.apiKeys)
	setL("actor", &in.Scope.Actors, f.actors)
	setL("scope-category", &in.Scope.Categories, f.scopeCategory)
	for _, t := range []struct {
		flag string
		dst  *time.Time
		v    string
	}{{"detected-at", &in.DetectedAt, f.detectedAt}, {"aware-at", &in.AwareAt, f.awareAt}, {"from", &in.Scope.From, f.from}, {"until", &in.Scope.Until, f.until}} {
		if err := setT(t.flag, t.dst, t.v); err != nil {
			return false, err
		}
	}
	if ch("approx-records") {
		in.ApproxRecords, given = f.approxRecords, true
	}
	if ch("encrypted") {
		in.Encrypted, given = f.encrypted, true
	}
	if ch("children") {
		in.Children, given = f.children, true
	}
	return given, nil
}

func newBreachCreateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Record a new breach (the 72-hour clock starts at aware_at)",
		Long: `Record a breach from a YAML or JSON file (--file, "-" for stdin) and/or flags; flags
override the file. title, nature and detected_at are required. Example file:

  title: Support laptop stolen
  nature: An unencrypted laptop with a CSV export of support tickets was stolen.
  detected_at: 2026-03-01T09:30:00Z
  categories: [user.contact.email, user.name]
  scope:
    api_key_ids: [01970c1e-0000-7000-8000-000000000001]
    from: 2026-02-28T00:00:00Z
  consequences: Phishing emails to the people concerned.
  measures: Key revoked, passwords reset.`,
		Example: `  trustee breach create --tenant acme --file incident.yaml --config trustee.yaml
  trustee breach create --tenant acme --title "Lost laptop" --nature "Unencrypted laptop stolen" \
      --detected-at 2026-03-01T09:30:00Z --category user.contact.email --config trustee.yaml`,
		Args: cobra.NoArgs,
	}
	bf := addBreachFlags(cmd, true)
	inf := addIncidentFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var in breach.Input
		given, err := inf.apply(cmd, &in)
		if err != nil {
			return err
		}
		if !given {
			return errors.New("describe the breach with --file or flags (--title, --nature, --detected-at, ...); see --help")
		}
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			b, err := svc.Create(cmd.Context(), tid, in, cliBreachActor)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded breach %s; tell the authority by %s (%s)\n", b.ID, b.Deadline.Format(time.RFC3339), clockText(b, time.Now()))
			return nil
		})
	}
	return cmd
}

func newBreachUpdateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a breach's description (fields given replace the stored ones)",
		Long: `Change the description of an open breach. With --file the file replaces the whole
description; flags replace only their own field.`,
		Example: `  trustee breach update 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --tenant acme --measures "Passwords reset" --config trustee.yaml`,
		Args:    oneID,
	}
	bf := addBreachFlags(cmd, true)
	inf := addIncidentFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var probe breach.Input
		if given, err := inf.apply(cmd, &probe); err != nil {
			return err
		} else if !given {
			return errors.New("nothing to change: give --file or a field flag (see --help)")
		}
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			var applyErr error
			b, err := svc.Update(cmd.Context(), tid, args[0], func(cur *breach.Input) {
				_, applyErr = inf.apply(cmd, cur)
			}, cliBreachActor)
			if applyErr != nil {
				return applyErr
			}
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated breach %s\n", b.ID)
			return nil
		})
	}
	return cmd
}

func newBreachAffectedCmd() *cobra.Command {
	var compute bool
	var state, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "affected ID",
		Short: "Compute (--compute) and list the affected set: subject ids and notice states",
		Long: `List the subjects a breach concerns (ids only), with how each was found and the
state of its notice. --compute first (re)computes the set from the breach's scope
and the audit log.`,
		Example: `  trustee breach affected 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --compute --tenant acme --config trustee.yaml
  trustee breach affected 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --state unreachable --tenant acme --config trustee.yaml`,
		Args: oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.Flags().BoolVar(&compute, "compute", false, "recompute the set from the scope first")
	cmd.Flags().StringVar(&state, "state", "", "only subjects whose notice is pending, queued, delivered, failed or unreachable")
	cmd.Flags().StringVar(&after, "after", "", "start after this subject id (paging)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many subjects (1-1000)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if limit < 1 || limit > 1000 {
			return errors.New("--limit must be from 1 to 1000")
		}
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			ctx := cmd.Context()
			w := cmd.OutOrStdout()
			var res *breach.AffectedResult
			if compute {
				r, err := svc.ComputeAffected(ctx, tid, args[0], cliBreachActor)
				if err != nil {
					return breachErr(err)
				}
				res = &r
			}
			rows, err := svc.Affected(ctx, tid, args[0], after, state, limit)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				type row struct {
					SubjectID   string    `json:"subject_id"`
					Basis       string    `json:"basis"`
					NoticeState string    `json:"notice_state"`
					UpdatedAt   time.Time `json:"updated_at"`
				}
				out := struct {
					Computed *breach.AffectedResult `json:"computed,omitempty"`
					Subjects []row                  `json:"subjects"`
				}{Computed: res, Subjects: []row{}}
				for _, r := range rows {
					out.Subjects = append(out.Subjects, row{r.SubjectID, r.Basis, r.NoticeState, r.UpdatedAt})
				}
				return printJSON(w, out)
			}
			if res != nil {
				fmt.Fprintf(w, "computed: %d subject(s) affected, %d added, %d audit event(s) scanned", res.Total, res.Added, res.EventsScanned)
				if res.Kept {
					fmt.Fprint(w, " (notices already went out: earlier subjects kept)")
				}
				fmt.Fprintln(w)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBJECT\tBASIS\tNOTICE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.SubjectID, r.Basis, r.NoticeState)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newBreachAssessCmd() *cobra.Command {
	var risk, reason string
	cmd := &cobra.Command{
		Use:   "assess ID",
		Short: "Confirm or override the suggested risk level (none, low, risk, high)",
		Long: `Record the DPO's risk decision. "trustee breach show" prints the suggestion and its
reasons; a level other than the suggestion needs --reason.`,
		Example: `  trustee breach assess 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --risk high --tenant acme --config trustee.yaml
  trustee breach assess 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --risk low --reason "data was pseudonymised" --tenant acme`,
		Args: oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.Flags().StringVar(&risk, "risk", "", "none, low, risk or high (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, when overriding the suggestion")
	_ = cmd.MarkFlagRequired("risk")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			b, err := svc.Assess(cmd.Context(), tid, args[0], risk, reason, cliBreachActor)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "breach %s assessed: risk %s (suggested %s)\n", b.ID, b.Risk, b.Details.Assessment.Suggested)
			return nil
		})
	}
	return cmd
}

func newBreachAuthorityCmd() *cobra.Command {
	var at, reference, delay string
	cmd := &cobra.Command{
		Use:   "authority-notified ID",
		Short: "Record that the supervisory authority was notified",
		Long: `Record the notification of the supervisory authority (Art. 33). Later than 72 hours
after awareness, --delay-reason is required.`,
		Example: `  trustee breach authority-notified 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --reference ICO-12345 --tenant acme --config trustee.yaml`,
		Args:    oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.Flags().StringVar(&at, "at", "", "when it was notified (RFC 3339; default now)")
	cmd.Flags().StringVar(&reference, "reference", "", "the authority's case reference")
	cmd.Flags().StringVar(&delay, "delay-reason", "", "reasons for a delay beyond 72 hours (Art. 33(1))")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var when time.Time
		if at != "" {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return fmt.Errorf("--at: %q is not an RFC 3339 time such as 2026-03-01T09:30:00Z", at)
			}
			when = t
		}
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			b, err := svc.RecordAuthority(cmd.Context(), tid, args[0], when, reference, delay, cliBreachActor)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			late := ""
			if b.Details.Authority.Late {
				late = " (late)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "breach %s: authority notified %s%s\n", b.ID, b.AuthorityNotifiedAt.Format(time.RFC3339), late)
			return nil
		})
	}
	return cmd
}

func newBreachNotifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify ID",
		Short: "Email the Art. 34 notice to every pending affected person",
		Long: `Queue one notice email per pending affected subject in the outbox (once per person,
however often it is run); people without an email address are marked unreachable
and need a public communication. Needs a confirmed high risk. A running server
sends the queued emails.`,
		Example: `  trustee breach notify 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --tenant acme --config trustee.yaml`,
		Args:    oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			r, err := svc.NotifyPeople(cmd.Context(), tid, args[0], cliBreachActor)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d notice(s) queued, %d person(s) unreachable by email\n", r.Queued, r.Unreachable)
			return nil
		})
	}
	return cmd
}

func newBreachCloseCmd() *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:     "close ID",
		Short:   "Close an assessed breach",
		Example: `  trustee breach close 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --note "no risk, documented only" --tenant acme --config trustee.yaml`,
		Args:    oneID,
	}
	bf := addBreachFlags(cmd, true)
	cmd.Flags().StringVar(&note, "note", "", "why it is closed")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			b, err := svc.Close(cmd.Context(), tid, args[0], note, cliBreachActor)
			if err != nil {
				return breachErr(err)
			}
			if bf.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "breach %s closed\n", b.ID)
			return nil
		})
	}
	return cmd
}

func newBreachDocumentCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "document ID",
		Short: "Write the notification document for the supervisory authority (Markdown or JSON)",
		Long: `Write the Art. 33(3) notification document: controller and authority from the
policy, nature, categories and numbers, contact point, consequences, measures, risk,
timeline, reasons for a delay and notice counts.`,
		Example: `  trustee breach document 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --tenant acme --config trustee.yaml > notification.md
  trustee breach document 01970c1e-7d2a-7c3e-9a41-1f2e3d4c5b6a --format json --out notification.json --tenant acme`,
		Args: oneID,
	}
	bf := addBreachFlags(cmd, false)
	cmd.Flags().StringVar(&format, "format", "md", "md or json")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if format != "md" && format != "json" {
			return fmt.Errorf("--format must be md or json, not %q", format)
		}
		return bf.with(cmd.Context(), cmd, func(svc *breach.Service, tid string) error {
			d, err := svc.Notification(cmd.Context(), tid, args[0])
			if err != nil {
				return breachErr(err)
			}
			var body []byte
			if format == "md" {
				body = []byte(d.Markdown())
			} else {
				if body, err = json.MarshalIndent(d, "", "  "); err != nil {
					return err
				}
				body = append(body, '\n')
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			if err := os.WriteFile(out, body, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		})
	}
	return cmd
}
