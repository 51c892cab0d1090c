package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// auditPublicKeys gives tenants' audit public keys (keys.Manager does).
type auditPublicKeys interface {
	AuditPublicKey(ctx context.Context, tenantID string) (ed25519.PublicKey, error)
}

// openAuditKeys opens the key store named by keysDSN, unlocked by the root
// key in keyFile, for `audit verify --keys-db --key-file`. It is nil until
// the key store provides audit keys; while it is, verification checks the
// chains and says that signatures were not checked. Wire it to
// internal/keys (open the manager, return it and its closer).
var openAuditKeys func(ctx context.Context, keysDSN, keyFile string) (auditPublicKeys, io.Closer, error)

// Exit codes of `audit verify`.
const (
	exitAuditBroken   = 1 // a log is broken; the first broken link is printed
	exitAuditUnusable = 2 // the store or a key could not be read: nothing was proven
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the tamper-evident audit log",
		Long: `Every access to personal data, every key operation, policy change and refused
request is an audit event. Each tenant's log is a set of hash chains with signed
checkpoints; see docs/security.md ("Audit log") for what verification proves.

These commands open the store directly, so they work on a stopped server's store or
on a copy of it. They only read, apart from migrations: opening a store made by an
older Trustee applies this build's migrations, so verify a copy when the store is
evidence.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditListCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var tenantSlug, pubFile, keysDB, keyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every tenant's audit log and report the first broken link",
		Long: `Walk every hash chain of the audit log of one tenant (--tenant) or of all tenants,
check the checkpoints, and report the first broken link: an edited, deleted,
inserted or reordered row.

Checkpoint signatures are checked with the tenant's audit public key, from a file
(--public-key: PEM, hex or base64; one tenant) or from the key store (--keys-db
and --key-file). Without a key the chains and checkpoints are still checked, and
the report says "signatures not checked".

Exit status: 0 when every log verified is intact, 1 when one is broken (its first
broken link is printed), 2 when a log could not be read or a key is unusable.`,
		Example: `  trustee audit verify --db sqlite:/var/lib/trustee/data.db
  trustee audit verify --db postgres://trustee@db/trustee --tenant acme --public-key acme-audit.pub`,
		Args: cobra.NoArgs,
	}
	sf := dbFlag(cmd)
	cmd.Flags().StringVar(&tenantSlug, "tenant", "", "verify this tenant only (default: all tenants)")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "the tenant's audit public key (PEM, hex or base64), to check checkpoint signatures; needs --tenant")
	cmd.Flags().StringVar(&keysDB, "keys-db", "", "the key store, to check checkpoint signatures with each tenant's audit key")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "the root key file that unlocks --keys-db")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON report per tenant instead of text")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		out := cmd.OutOrStdout()
		unusable := func(err error) error {
			return &exitError{code: exitAuditUnusable, msg: "trustee: " + err.Error()}
		}
		if pubFile != "" && tenantSlug == "" {
			return unusable(errors.New("--public-key is one tenant's key: give --tenant too"))
		}
		if pubFile != "" && keysDB != "" {
			return unusable(errors.New("give --public-key or --keys-db, not both"))
		}
		if (keysDB == "") != (keyFile == "") {
			return unusable(errors.New("--keys-db and --key-file go together"))
		}
		var pub ed25519.PublicKey
		if pubFile != "" {
			var err error
			if pub, err = readPublicKey(pubFile); err != nil {
				return unusable(err)
			}
		}
		var keys auditPublicKeys
		noKeys := "signatures not checked (give --public-key, or --keys-db and --key-file)"
		if keysDB != "" {
			if openAuditKeys == nil {
				noKeys = "signatures not checked: this build cannot read audit keys from the key store yet; give --public-key"
			} else {
				k, closer, err := openAuditKeys(ctx, keysDB, keyFile)
				if err != nil {
					return unusable(fmt.Errorf("key store: %w", err))
				}
				defer closer.Close()
				keys = k
			}
		}

		st, err := openExistingStore(ctx, sf)
		if err != nil {
			return unusable(err)
		}
		defer st.Close()
		tenants, err := auditTenants(ctx, st, tenantSlug)
		if err != nil {
			return unusable(err)
		}
		broken := 0
		enc := json.NewEncoder(out)
		for _, t := range tenants {
			key := pub
			if keys != nil {
				if key, err = keys.AuditPublicKey(ctx, t.ID); err != nil {
					return unusable(fmt.Errorf("tenant %s: audit key: %w", t.Slug, err))
				}
			}
			rep, err := audit.Verify(ctx, st, t.ID, key)
			if err != nil {
				return unusable(fmt.Errorf("tenant %s: %w", t.Slug, err))
			}
			if !rep.Intact {
				broken++
			}
			if asJSON {
				if err := enc.Encode(verifyJSON(t, rep)); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(out, verifyLine(t, rep, noKeys))
		}
		if broken > 0 {
			return &exitError{code: exitAuditBroken, msg: fmt.Sprintf("trustee: %d of %d audit log(s) broken", broken, len(tenants))}
		}
		return nil
	}
	return cmd
}

// verifyLine is one tenant's verdict for people.
func verifyLine(t store.Tenant, rep audit.Report, noKeys string) string {
	if !rep.Intact {
		return fmt.Sprintf("%s: BROKEN: %s", t.Slug, rep.Break)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: intact: %d event(s) in %d shard(s)", t.Slug, rep.Events, rep.Shards)
	switch {
	case rep.Checkpoints == 0:
		b.WriteString("; no checkpoints yet")
		return b.String()
	default:
		fmt.Fprintf(&b, "; %d checkpoint(s)", rep.Checkpoints)
	}
	switch {
	case rep.SignaturesChecked:
		b.WriteString(", signatures checked")
	default:
		b.WriteString(", " + noKeys)
	}
	if c := rep.LastCheckpoint; c != nil {
		fmt.Fprintf(&b, "; last checkpoint %d at %s (events after it rest on their chain alone)", c.Seq, c.At.Format(time.RFC3339))
	}
	return b.String()
}

type verifyReportJSON struct {
	Tenant            string           `json:"tenant"`
	TenantID          string           `json:"tenant_id"`
	Intact            bool             `json:"intact"`
	Shards            int              `json:"shards"`
	Events            int64            `json:"events"`
	Checkpoints       int64            `json:"checkpoints"`
	SignaturesChecked bool             `json:"signatures_checked"`
	LastCheckpoint    *checkpointJSON  `json:"last_checkpoint,omitempty"`
	Break             *verifyBreakJSON `json:"break,omitempty"`
}

type checkpointJSON struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	KeyID string    `json:"key_id"`
}

type verifyBreakJSON struct {
	Kind       string `json:"kind"`
	Shard      *int   `json:"shard,omitempty"`
	Seq        int64  `json:"seq,omitempty"`
	Checkpoint int64  `json:"checkpoint,omitempty"`
	Detail     string `json:"detail"`
}

func verifyJSON(t store.Tenant, rep audit.Report) verifyReportJSON {
	out := verifyReportJSON{Tenant: t.Slug, TenantID: t.ID, Intact: rep.Intact, Shards: rep.Shards, Events: rep.Events,
		Checkpoints: rep.Checkpoints, SignaturesChecked: rep.SignaturesChecked}
	if c := rep.LastCheckpoint; c != nil {
		out.LastCheckpoint = &checkpointJSON{Seq: c.Seq, At: c.At, KeyID: c.KeyID}
	}
	if b := rep.Break; b != nil {
		out.Break = &verifyBreakJSON{Kind: string(b.Kind), Seq: b.Seq, Checkpoint: b.Checkpoint, Detail: b.Detail}
		if b.Shard >= 0 {
			s := b.Shard
			out.Break.Shard = &s
		}
	}
	return out
}

func newAuditListCmd() *cobra.Command {
	var tenantSlug, subject, action, actor, since, until string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a tenant's audit events, newest first",
		Long: `List a tenant's audit events, newest first. Events name fields and categories,
never values.`,
		Example: `  trustee audit list --tenant acme --subject 0196d6e2-... --since 2025-01-01T00:00:00Z
  trustee audit list --tenant acme --action auth.denied --limit 20 --json`,
		Args: cobra.NoArgs,
	}
	sf := dbFlag(cmd)
	cmd.Flags().StringVar(&tenantSlug, "tenant", "", "tenant slug (required)")
	cmd.Flags().StringVar(&subject, "subject", "", "only events about this subject id")
	cmd.Flags().StringVar(&action, "action", "", "only this action, e.g. subject.read")
	cmd.Flags().StringVar(&actor, "actor", "", "only this actor, e.g. apikey:<id>")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only events before this time (RFC 3339)")
	cmd.Flags().IntVar(&limit, "limit", 100, "most events to print (1 to 100000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per event")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		f := audit.Filter{SubjectID: subject, Action: action, Actor: actor}
		for _, t := range []struct {
			flag, val string
			dst       *time.Time
		}{{"since", since, &f.Since}, {"until", until, &f.Until}} {
			if t.val == "" {
				continue
			}
			v, err := time.Parse(time.RFC3339, t.val)
			if err != nil {
				return fmt.Errorf("--%s %q is not an RFC 3339 time such as 2025-01-31T00:00:00Z", t.flag, t.val)
			}
			*t.dst = v
		}
		if limit < 1 || limit > 100000 {
			return errors.New("--limit must be between 1 and 100000")
		}
		st, err := openExistingStore(ctx, sf)
		if err != nil {
			return err
		}
		defer st.Close()
		ts, err := auditTenants(ctx, st, tenantSlug)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		enc := json.NewEncoder(out)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		if !asJSON {
			fmt.Fprintln(tw, "TIME\tID\tACTOR\tROLE\tACTION\tSUBJECT\tPURPOSE\tOUTCOME\tFIELDS\tREASON")
		}
		for left := limit; left > 0; {
			f.Limit = min(left, store.MaxAuditList)
			page, err := audit.List(ctx, st, ts[0].ID, f)
			if err != nil {
				return err
			}
			for _, e := range page.Events {
				if asJSON {
					if err := enc.Encode(eventJSONOf(e)); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%d.%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339Nano), e.Shard, e.Seq,
					e.Actor, dash(e.Role), e.Action, dash(e.SubjectID), dash(e.Purpose), e.Outcome,
					dash(strings.Join(e.Fields, ",")), dash(e.Reason))
			}
			left -= len(page.Events)
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				break
			}
		}
		if asJSON {
			return nil
		}
		return tw.Flush()
	}
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type eventJSON struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role,omitempty"`
	Action     string    `json:"action"`
	SubjectID  string    `json:"subject_id,omitempty"`
	Purpose    string    `json:"purpose,omitempty"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	Fields     []string  `json:"fields,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Hash       string    `json:"hash"`
}

func eventJSONOf(e audit.StoredEvent) eventJSON {
	return eventJSON{ID: strconv.Itoa(e.Shard) + "." + strconv.FormatInt(e.Seq, 10), At: e.At, Actor: e.Actor, Role: e.Role,
		Action: e.Action, SubjectID: e.SubjectID, Purpose: e.Purpose, Outcome: e.Outcome, Reason: e.Reason,
		RequestID: e.RequestID, Fields: e.Fields, Categories: e.Categories, Hash: hex.EncodeToString(e.Hash)}
}

// openExistingStore opens the store of --db/--config without creating it:
// verifying a path with a typo must not report an empty, intact log.
func openExistingStore(ctx context.Context, sf *storeFlags) (store.Store, error) {
	dsn, err := sf.dsn()
	if err != nil {
		return nil, err
	}
	if kind, path, err := engines.Parse(dsn); err == nil && kind == engines.SQLite {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store %s: %w", path, errors.Unwrap(err))
		}
	}
	return engines.Open(ctx, dsn, engines.Options{})
}

// auditTenants returns the tenant named by slug, or every tenant if slug is
// empty.
func auditTenants(ctx context.Context, st store.Store, slug string) ([]store.Tenant, error) {
	var ts []store.Tenant
	err := st.Read(ctx, func(tx store.Tx) error {
		if slug == "" {
			var err error
			ts, err = tx.ListTenants()
			return err
		}
		t, err := tx.GetTenantBySlug(slug)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no tenant %q in this store", slug)
		}
		ts = []store.Tenant{t}
		return err
	})
	return ts, err
}

// readPublicKey reads an Ed25519 public key: PEM (PKIX "PUBLIC KEY"), or
// its 32 bytes in hex or base64, or raw.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, errors.Unwrap(err))
	}
	bad := fmt.Errorf("public key %s: not an Ed25519 public key (PEM, hex or base64)", path)
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if pub, ok := k.(ed25519.PublicKey); err == nil && ok {
			return pub, nil
		}
		return nil, bad
	}
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	s := strings.TrimSpace(string(b))
	if k, err := hex.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
			return k, nil
		}
	}
	return nil, bad
}
