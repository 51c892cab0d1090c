package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/config"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// keysFlags are the settings every `trustee keys` command needs, resolved
// like serve's so that both always use the same key file and stores.
type keysFlags struct {
	keyFile, db, keysDB, config string
}

func addKeysFlags(cmd *cobra.Command) *keysFlags {
	var kf keysFlags
	f := cmd.Flags()
	f.StringVar(&kf.keyFile, "key-file", "", "root key file (default: TRUSTEE_KEY_FILE or the config file's key_file)")
	f.StringVar(&kf.db, "db", "", "data store, to name tenants by slug: sqlite:PATH or postgres://... (default: TRUSTEE_DB, the config file's db, else "+config.Defaults().DB+")")
	f.StringVar(&kf.keysDB, "keys-db", "", "key store: sqlite:PATH or postgres://... (default: derived from --db: keys.db beside a SQLite data file, the same DSN for PostgreSQL)")
	f.StringVar(&kf.config, "config", "", "config file whose key_file and db settings to use (also TRUSTEE_CONFIG)")
	return &kf
}

// resolve returns the key file, the data DSN and the key-store DSN.
func (kf *keysFlags) resolve() (keyFile, dataDSN, keysDSN string, err error) {
	path := kf.config
	if path == "" {
		path = os.Getenv("TRUSTEE_CONFIG")
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		return "", "", "", err
	}
	keyFile, dataDSN, keysDSN = cfg.KeyFile, cfg.DB, kf.keysDB
	if kf.keyFile != "" {
		keyFile = kf.keyFile
	}
	if kf.db != "" {
		dataDSN = kf.db
	}
	if keysDSN == "" {
		keysDSN = keys.DefaultKeyStoreDSN(dataDSN)
		if keysDSN == "" {
			return "", "", "", errors.New("cannot derive the key store from --db; pass --keys-db")
		}
	}
	return keyFile, dataDSN, keysDSN, nil
}

// openExistingKeyStore opens the key store, refusing to create a new, empty
// SQLite file: a mistyped path would otherwise report "no keys" and rotate
// nothing.
func openExistingKeyStore(ctx context.Context, dsn string) (store.KeyStore, error) {
	kind, path, err := engines.Parse(dsn)
	if err != nil {
		return nil, err
	}
	if kind == engines.SQLite {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no key store at %s (the server creates it on first start; pass --keys-db if it is elsewhere)", path)
		}
	}
	return engines.OpenKeyStore(ctx, dsn, engines.Options{})
}

// tenantNames maps tenant ids to slugs from the data store, when it can be
// opened; names are a convenience, so failure is only reported.
func tenantNames(ctx context.Context, dsn string, warn io.Writer) map[string]string {
	names := map[string]string{}
	if dsn == "" {
		return names
	}
	if kind, path, err := engines.Parse(dsn); err == nil && kind == engines.SQLite {
		if _, err := os.Stat(path); err != nil {
			return names
		}
	}
	st, err := engines.Open(ctx, dsn, engines.Options{})
	if err != nil {
		fmt.Fprintf(warn, "note: tenants are shown by id (the data store did not open: %v)\n", err)
		return names
	}
	defer st.Close()
	var ts []store.Tenant
	if err := st.Read(ctx, func(tx store.Tx) (err error) { ts, err = tx.ListTenants(); return err }); err != nil {
		fmt.Fprintf(warn, "note: tenants are shown by id (%v)\n", err)
		return names
	}
	for _, t := range ts {
		names[t.ID] = t.Slug
	}
	return names
}

func tenantLabel(names map[string]string, id string) string {
	if slug := names[id]; slug != "" {
		return slug + " (" + id + ")"
	}
	return id
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// newKeysCmd is `trustee keys`: status, rotation and retirement of the key
// hierarchy.
func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Inspect and rotate the key hierarchy",
		Long: `Inspect and rotate Trustee's keys.

The root key (a Tink keyset in a file, kept outside every database) wraps each
tenant's keys: a key-encryption key (KEK), a blind-index key and an audit signing
key. The KEK wraps one data key per subject, which encrypts that subject's data.
Erasing a subject destroys its data key (crypto-shredding). The wrapped keys live
in the key store, apart from the data: keys.db beside a SQLite data file, or the
key tables on PostgreSQL (give them their own schema or database with --keys-db).

Rotation runs while servers keep serving: ` + "`trustee keys rotate`" + ` adds a new root key
and re-wraps every tenant key under it (servers reload the key file by themselves
when they meet the new key); ` + "`trustee keys retire`" + ` then removes the old root key.
See docs/security.md.`,
	}
	cmd.AddCommand(newKeysStatusCmd(), newKeysRotateCmd(), newKeysRetireCmd())
	return cmd
}

func newKeysStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show root key ids, tenant key versions and subject key counts",
		Long: `Show the state of the key hierarchy, without any key material: the root keyset's
key ids (and which is primary), how many tenant keys each root key wraps, every
tenant's key versions, and the number of subject keys per KEK version (more than
one version means a KEK rotation has not finished: run ` + "`trustee keys rotate --resume`" + `).

Works on a running or a stopped server's stores. The key file is optional here;
without it the root key section is left out.`,
		Example: `  trustee keys status --key-file root.key --db sqlite:trustee-data/trustee.db
  trustee keys status --config trustee.yaml`,
		Args: cobra.NoArgs,
	}
	kf := addKeysFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		keyFile, dataDSN, keysDSN, err := kf.resolve()
		if err != nil {
			return err
		}
		var root *keys.RootKey
		if keyFile != "" || os.Getenv(keys.RootKeyEnv) != "" {
			if root, err = keys.LoadRootKey(keyFile); err != nil {
				return err
			}
		}
		ks, err := openExistingKeyStore(ctx, keysDSN)
		if err != nil {
			return err
		}
		defer ks.Close()
		st, err := keys.ReadStatus(ctx, ks)
		if err != nil {
			return err
		}
		names := tenantNames(ctx, dataDSN, cmd.ErrOrStderr())
		return printStatus(cmd.OutOrStdout(), root, keyFile, st, names)
	}
	return cmd
}

func printStatus(w io.Writer, root *keys.RootKey, keyFile string, st keys.Status, names map[string]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if root != nil {
		src := keyFile
		if src == "" {
			src = "$" + keys.RootKeyEnv
		}
		var ids []string
		for _, id := range root.KeyIDs() {
			ids = append(ids, fmt.Sprint(id))
		}
		fmt.Fprintf(tw, "Root keyset (%s): primary %d; keys %s\n\n", src, root.PrimaryKeyID(), strings.Join(ids, ", "))
	}
	fmt.Fprintln(tw, "ROOT KEY\tTENANT KEYS\tSTATE")
	roots := slices.Sorted(func(yield func(uint32) bool) {
		for id := range st.TenantKeysByRoot {
			if !yield(id) {
				return
			}
		}
	})
	if len(roots) == 0 {
		fmt.Fprintln(tw, "-\t0\tno tenant has keys yet")
	}
	for _, id := range roots {
		state := ""
		switch {
		case root == nil:
		case id == root.PrimaryKeyID():
			state = "primary"
		case root.Has(id):
			state = "old: re-wrap with `trustee keys rotate --resume`, then retire"
		default:
			state = "NOT IN THE KEYSET: these tenant keys cannot be unwrapped with this key file"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\n", id, st.TenantKeysByRoot[id], state)
	}
	if len(st.Tenants) > 0 {
		fmt.Fprintln(tw, "\nTENANT\tKEY\tVERSION\tROOT KEY\tCREATED\tRETIRED")
		for _, t := range st.Tenants {
			for _, k := range t.Keys {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", tenantLabel(names, t.TenantID), k.Purpose, k.Version, k.RootKeyID, fmtTime(k.CreatedAt), fmtTime(k.RetiredAt))
			}
		}
		fmt.Fprintln(tw, "\nTENANT\tSUBJECT KEYS BY KEK VERSION\tSHREDDED\tNOTE")
		for _, t := range st.Tenants {
			vs := slices.Sorted(func(yield func(int) bool) {
				for v := range t.SubjectKeys {
					if !yield(v) {
						return
					}
				}
			})
			var parts []string
			for _, v := range vs {
				parts = append(parts, fmt.Sprintf("v%d: %d", v, t.SubjectKeys[v]))
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			note := ""
			if len(vs) > 1 {
				note = "KEK rotation unfinished: `trustee keys rotate --resume`"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", tenantLabel(names, t.TenantID), strings.Join(parts, ", "), t.Shredded, note)
		}
	}
	return tw.Flush()
}

func newKeysRotateCmd() *cobra.Command {
	var kek, resume bool
	var tenants []string
	var batch int
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new root key and re-wrap every tenant key under it (optionally rotate KEKs)",
		Long: `Rotate the root key while servers keep running:

  1. a new AES-256-GCM key is added to the root keyset file as its primary (the
     file is rewritten atomically, mode 0600; the old key stays in it);
  2. every tenant key is re-wrapped under the new root key. The key material does
     not change, so servers keep serving; when a server next reads a tenant key
     wrapped by a root key it does not know, it reloads the key file itself.

With --kek, each tenant (or each --tenant) also gets a new key-encryption key
version, and its subject data keys are re-wrapped under it in batches of --batch
per transaction. Instances pick up the new KEK for new subjects within a minute.

Everything is resumable: if the command is interrupted (or instances kept
creating keys under the old versions meanwhile), run it again with --resume,
which adds no new key or version and re-wraps whatever is not yet under the
current ones. ` + "`trustee keys status`" + ` shows what is left.

Afterwards, once every instance has the new key file, run ` + "`trustee keys retire`" + `
to remove the old root key. Keep a backup of the new key file first: without it,
every tenant's data is lost.

The root key must be a file (--key-file); a key given in TRUSTEE_ROOT_KEY
cannot be rewritten.`,
		Example: `  trustee keys rotate --key-file root.key --db sqlite:trustee-data/trustee.db
  trustee keys rotate --config trustee.yaml --kek
  trustee keys rotate --config trustee.yaml --kek --tenant acme
  trustee keys rotate --config trustee.yaml --resume`,
		Args: cobra.NoArgs,
	}
	kf := addKeysFlags(cmd)
	cmd.Flags().BoolVar(&kek, "kek", false, "also give tenants a new KEK version and re-wrap their subject keys")
	cmd.Flags().StringSliceVar(&tenants, "tenant", nil, "with --kek or --resume: only these tenants (slug or id; repeatable); default all")
	cmd.Flags().BoolVar(&resume, "resume", false, "finish an interrupted rotation: no new root key or KEK version")
	cmd.Flags().IntVar(&batch, "batch", 1000, "subject keys re-wrapped per transaction")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if batch < 1 || batch > 100_000 {
			return errors.New("--batch must be between 1 and 100000")
		}
		keyFile, dataDSN, keysDSN, err := kf.resolve()
		if err != nil {
			return err
		}
		if keyFile == "" {
			return fmt.Errorf("rotation needs the root key file: pass --key-file (a key in %s cannot be rewritten)", keys.RootKeyEnv)
		}
		ks, err := openExistingKeyStore(ctx, keysDSN)
		if err != nil {
			return err
		}
		defer ks.Close()
		names := tenantNames(ctx, dataDSN, errw)
		ids, err := selectTenants(ctx, ks, tenants, names)
		if err != nil {
			return err
		}

		var root *keys.RootKey
		if resume {
			if root, err = keys.LoadRootKey(keyFile); err != nil {
				return err
			}
			fmt.Fprintf(out, "Root key: resuming with primary %d.\n", root.PrimaryKeyID())
		} else {
			before, err := keys.LoadRootKey(keyFile)
			if err != nil {
				return err
			}
			if root, err = keys.AddRootKey(keyFile); err != nil {
				return err
			}
			fmt.Fprintf(out, "Root key: added %d as primary in %s (previous primary %d kept until retired).\n", root.PrimaryKeyID(), keyFile, before.PrimaryKeyID())
		}
		m := keys.NewManager(root, ks, keys.ManagerOptions{
			CacheSize:  -1,
			ReloadRoot: func() (*keys.RootKey, error) { return keys.LoadRootKey(keyFile) },
			Logger:     slog.New(slog.DiscardHandler),
		})
		n, err := m.RewrapTenantKeys(ctx)
		if err != nil {
			return fmt.Errorf("%w\nNothing is lost: run `trustee keys rotate --resume` to finish", err)
		}
		fmt.Fprintf(out, "Tenant keys: re-wrapped %d under root key %d.\n", n, m.Root().PrimaryKeyID())

		if kek || resume {
			for _, id := range ids {
				label := tenantLabel(names, id)
				if kek && !resume {
					v, err := m.RotateKEK(ctx, id)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "Tenant %s: KEK version %d.\n", label, v)
				}
				last := time.Now()
				done, err := m.RewrapSubjectKeys(ctx, id, batch, func(done int) {
					if time.Since(last) > 2*time.Second {
						fmt.Fprintf(errw, "  %s: %d subject keys re-wrapped...\n", label, done)
						last = time.Now()
					}
				})
				if err != nil {
					return fmt.Errorf("tenant %s: %w\nRe-wrapped %d so far; run `trustee keys rotate --resume` to finish", label, err, done)
				}
				if done > 0 || kek {
					fmt.Fprintf(out, "Tenant %s: re-wrapped %d subject keys.\n", label, done)
				}
			}
		}
		if !resume {
			fmt.Fprintln(out, "Back up the new key file now. Once every instance runs with it (servers reload it by themselves), run `trustee keys retire`.")
		}
		return nil
	}
	return cmd
}

// selectTenants returns the key store's tenants, or the named ones (by slug
// or id).
func selectTenants(ctx context.Context, ks store.KeyStore, want []string, names map[string]string) ([]string, error) {
	var all []string
	if err := ks.Read(ctx, func(tx store.KeyTx) (err error) { all, err = tx.ListKeyTenants(); return err }); err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return all, nil
	}
	bySlug := map[string]string{}
	for id, slug := range names {
		bySlug[slug] = id
	}
	var out []string
	for _, w := range want {
		id := w
		if v, ok := bySlug[w]; ok {
			id = v
		}
		if !slices.Contains(all, id) {
			return nil, fmt.Errorf("tenant %q has no keys in the key store (give its slug with --db set, or its id)", w)
		}
		out = append(out, id)
	}
	return out, nil
}

func newKeysRetireCmd() *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "retire",
		Short: "Remove old root keys from the keyset once nothing uses them",
		Long: `Remove every non-primary key from the root keyset file, after ` + "`trustee keys rotate`" + `.

It refuses, changing nothing, while any tenant key is still wrapped by an old root
key, and says how many remain (run ` + "`trustee keys rotate --resume`" + ` first). After
rewriting the file (atomically, mode 0600) it waits --grace and re-wraps any tenant
key that an instance still holding the old file created meanwhile, from the old
key it keeps in memory, so no key is left under a removed root key.

Retire only after every instance runs with the new file (they reload it when they
meet the new key; a restart makes sure), and keep backups of the key file: a
retired root key no longer opens key-store backups taken before the rotation,
which is the point.`,
		Example: `  trustee keys retire --key-file root.key --db sqlite:trustee-data/trustee.db
  trustee keys retire --config trustee.yaml`,
		Args: cobra.NoArgs,
	}
	kf := addKeysFlags(cmd)
	cmd.Flags().DurationVar(&grace, "grace", 5*time.Second, "how long to wait before the final check for keys wrapped under a removed root key")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		keyFile, _, keysDSN, err := kf.resolve()
		if err != nil {
			return err
		}
		if keyFile == "" {
			return fmt.Errorf("retiring root keys needs the root key file: pass --key-file (a key in %s cannot be rewritten)", keys.RootKeyEnv)
		}
		ks, err := openExistingKeyStore(ctx, keysDSN)
		if err != nil {
			return err
		}
		defer ks.Close()
		res, err := keys.RetireRootKeys(ctx, keyFile, ks, grace)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if len(res.Removed) == 0 {
			fmt.Fprintf(out, "Nothing to retire: the keyset holds only the primary key %d.\n", res.Primary)
			return nil
		}
		fmt.Fprintf(out, "Retired root key(s) %v; %s now holds only %d.\n", res.Removed, keyFile, res.Primary)
		if res.Swept > 0 {
			fmt.Fprintf(out, "Re-wrapped %d tenant key(s) created under a removed key during the grace period.\n", res.Swept)
		}
		return nil
	}
	return cmd
}
