package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/backup"
	"github.com/trustee-privacy/trustee/internal/config"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// storesFlags name the three stores (data, keys, erasure ledger) and the
// root key, resolved like serve's settings: flags, then TRUSTEE_*, then the
// config file, then the defaults derived from the data store.
type storesFlags struct {
	db, keysDB, ledgerDB, keyFile, config string
}

func addStoresFlags(cmd *cobra.Command) *storesFlags {
	var sf storesFlags
	f := cmd.Flags()
	f.StringVar(&sf.db, "db", "", "data store: sqlite:PATH or postgres://... (default: TRUSTEE_DB, the config file's db, else "+config.Defaults().DB+")")
	f.StringVar(&sf.keysDB, "keys-db", "", "key store (default: TRUSTEE_KEYS_DB, the config file's keys_db, else keys.db beside an SQLite data file, the data database on PostgreSQL)")
	f.StringVar(&sf.ledgerDB, "ledger-db", "", "erasure ledger (default: TRUSTEE_LEDGER_DB, the config file's ledger_db, else erasure-ledger.db beside an SQLite data file, the data database on PostgreSQL)")
	f.StringVar(&sf.keyFile, "key-file", "", "root key file (default: TRUSTEE_KEY_FILE, the config file's key_file; or the key itself in TRUSTEE_ROOT_KEY)")
	f.StringVar(&sf.config, "config", "", "config file whose settings to use (also TRUSTEE_CONFIG)")
	return &sf
}

// options resolves the flags into backup options; the root key is loaded
// when needRoot is set.
func (sf *storesFlags) options(needRoot bool) (backup.Options, config.Config, error) {
	path := sf.config
	if path == "" {
		path = os.Getenv("TRUSTEE_CONFIG")
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		return backup.Options{}, cfg, err
	}
	pick := func(flag, setting string) string {
		if flag != "" {
			return flag
		}
		return setting
	}
	cfg.DB, cfg.KeysDB, cfg.LedgerDB, cfg.KeyFile = pick(sf.db, cfg.DB), pick(sf.keysDB, cfg.KeysDB), pick(sf.ledgerDB, cfg.LedgerDB), pick(sf.keyFile, cfg.KeyFile)
	o := backup.Options{DataDSN: cfg.DB, KeysDSN: cfg.KeysDB, LedgerDSN: cfg.LedgerDB, Version: version}
	if o.KeysDSN == "" {
		o.KeysDSN = keys.DefaultKeyStoreDSN(o.DataDSN)
	}
	if o.LedgerDSN == "" {
		o.LedgerDSN = backup.DefaultLedgerDSN(o.DataDSN)
	}
	if needRoot {
		if o.Root, err = keys.LoadRootKey(cfg.KeyFile); err != nil {
			return o, cfg, err
		}
	}
	return o, cfg, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newBackupCmd is `trustee backup`.
func newBackupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up and restore the stores; backups that forget erased people",
		Long: `Back up and restore Trustee's stores so that erasure reaches backups.

A backup is a consistent, encrypted snapshot of the data store and, separately, of
the key store, each with a manifest (time, schema version, SHA-256, engine, tenant
count). Erasing a subject destroys its data key; once every key snapshot older than
the erasure is pruned (after the policy's backup_retention), no copy of the key
exists and every data snapshot is unreadable for that person. Until then the
erasure ledger, which no restore rolls back, erases them again after each restore.

  trustee backup create   --out DIR [--keys-out DIR2]
  trustee backup restore  --from DIR/NAME [--keys-from DIR2/NAME]   into empty stores
  trustee backup prune    --dir DIR                                  by the policies' backup retention
  trustee backup list     --dir DIR
  trustee backup reapply-erasures                                    after any restore, by any tool

See docs/operations.md, "Backups".`,
	}
	cmd.AddCommand(newBackupCreateCmd(), newBackupRestoreCmd(), newBackupPruneCmd(), newBackupListCmd(), newBackupReapplyCmd())
	return cmd
}

func newBackupCreateCmd() *cobra.Command {
	var out, keysOut string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Take an encrypted snapshot of the data store and, separately, of the key store",
		Long: `Take a backup while servers run: a consistent snapshot of the data store into
OUT/NAME/data and of the key store into KEYS-OUT/NAME/keys (KEYS-OUT defaults to
OUT; keep key snapshots on other media if you can), each with a manifest.json.
SQLite is copied with VACUUM INTO; PostgreSQL with COPY of Trustee's own tables in
one REPEATABLE READ transaction. Every file is gzip-compressed and encrypted with
AES-256-GCM under a key of its own, wrapped by the root key: a stolen data
snapshot alone reveals nothing. The data snapshot also carries a copy of the
erasure ledger.`,
		Example: `  trustee backup create --config trustee.yaml --out /backups/trustee
  trustee backup create --db postgres://trustee@db/trustee --key-file root.key --out /backups/data --keys-out /vault/keys`,
		Args: cobra.NoArgs,
	}
	sf := addStoresFlags(cmd)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the backup into (required)")
	cmd.Flags().StringVar(&keysOut, "keys-out", "", "directory for the key snapshot (default: --out)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifests as JSON")
	_ = cmd.MarkFlagRequired("out")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o, _, err := sf.options(true)
		if err != nil {
			return err
		}
		if err := mustExist(o.DataDSN, "data store"); err != nil {
			return err
		}
		if err := mustExist(o.KeysDSN, "key store"); err != nil {
			return err
		}
		res, err := backup.Create(cmd.Context(), o, out, keysOut)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), res)
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "backup %s (%s, schema %d, %d tenant(s))\n", res.Name, res.Data.Engine, res.Data.SchemaVersion, res.Data.TenantCount)
		fmt.Fprintf(w, "  data: %s (%d bytes, sha256 %s)\n", res.DataDir, res.Data.Files[0].Bytes, res.Data.Files[0].SHA256)
		fmt.Fprintf(w, "  keys: %s (%d bytes, sha256 %s)\n", res.KeysDir, res.Keys.Files[0].Bytes, res.Keys.Files[0].SHA256)
		return nil
	}
	return cmd
}

// mustExist refuses an SQLite DSN whose file does not exist, so a mistyped
// path is not backed up as an empty store.
func mustExist(dsn, what string) error {
	kind, path, err := engines.Parse(dsn)
	if err != nil {
		return err
	}
	if kind == engines.SQLite {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no %s at %s", what, path)
		}
	}
	return nil
}

func newBackupRestoreCmd() *cobra.Command {
	var from, keysFrom string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into empty stores, then re-apply erasures",
		Long: `Restore the data snapshot in FROM/data and the key snapshot in KEYS-FROM/keys
(default FROM) into empty stores (--db, --keys-db). Manifests, the pairing of the two
snapshots and every file's SHA-256 are checked first; a target that holds data is
refused. Stop every server using the targets before restoring.

Then the erasure ledger (--ledger-db: give the live one, which the restore does
not touch) is merged with the ledger copies of the backups beside FROM, and every
restored subject it names is erased again: nobody erased after the backup was
taken comes back.

PostgreSQL snapshots restore into a schema at the same migration version: use the
Trustee version that made the backup (see its manifest), then upgrade.`,
		Example: `  trustee backup restore --from /backups/trustee/trustee-20260301T020000Z-1a2b3c4d --db sqlite:/srv/new/trustee.db --ledger-db sqlite:/srv/old/erasure-ledger.db --key-file root.key`,
		Args:    cobra.NoArgs,
	}
	sf := addStoresFlags(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the backup to restore: a directory holding data/ (required)")
	cmd.Flags().StringVar(&keysFrom, "keys-from", "", "the directory holding its keys/ (default: --from)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	_ = cmd.MarkFlagRequired("from")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o, _, err := sf.options(true)
		if err != nil {
			return err
		}
		res, err := backup.Restore(cmd.Context(), o, from, keysFrom)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), res)
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "restored backup %s taken %s (%s, schema %d, %d tenant(s))\n", res.Data.BackupID, res.Data.CreatedAt.Format(time.RFC3339),
			res.Data.Engine, res.Data.SchemaVersion, res.Data.TenantCount)
		fmt.Fprintf(w, "erasure ledger: %d entries merged from backup copies; %d subject(s) checked, %d erased again\n",
			res.LedgerEntries, res.Reapplied.Checked, len(res.Reapplied.Erased))
		return nil
	}
	return cmd
}

func newBackupPruneCmd() *cobra.Command {
	var dirs []string
	var retention string
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete snapshots older than the policies' backup retention",
		Long: `Delete every data and key snapshot in --dir (repeat it for a separate key
directory) taken more than the backup retention ago. The retention is the shortest
backup_retention of all tenants' active policies, read from --db (one snapshot
holds every tenant, so it may live only as long as the strictest promise), or
--retention to override it. A snapshot older than the retention is deleted even
if it is the newest: keeping it would break the promise, so back up more often
than that. The server does this hourly when backup_dir is set.`,
		Example: `  trustee backup prune --config trustee.yaml --dir /backups/trustee --dir /vault/keys`,
		Args:    cobra.NoArgs,
	}
	sf := addStoresFlags(cmd)
	cmd.Flags().StringSliceVar(&dirs, "dir", nil, "backup directory to prune (repeatable; required)")
	cmd.Flags().StringVar(&retention, "retention", "", "prune by this period (e.g. 90d) instead of the policies'")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	_ = cmd.MarkFlagRequired("dir")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		now := time.Now()
		var period policy.Period
		source := "--retention"
		if retention != "" {
			var err error
			if period, err = policy.ParsePeriod(retention); err != nil {
				return fmt.Errorf("--retention %q is not a period such as 90d", retention)
			}
		} else {
			ret, err := policyRetention(ctx, sf, now)
			if err != nil {
				return err
			}
			period, source = ret.Period, "the policy of tenant "+ret.Tenant
		}
		var res backup.Pruned
		var err error
		if dryRun {
			res, err = dryPrune(dirs, period, now)
		} else {
			res, err = backup.Prune(dirs, period, now)
		}
		if asJSON {
			if perr := printJSON(cmd.OutOrStdout(), res); perr != nil {
				return perr
			}
			return err
		}
		w := cmd.OutOrStdout()
		verb := "deleted"
		if dryRun {
			verb = "would delete"
		}
		fmt.Fprintf(w, "backup retention %s (from %s)\n", period, source)
		for _, d := range res.Removed {
			fmt.Fprintf(w, "%s %s\n", verb, d)
		}
		fmt.Fprintf(w, "%d snapshot(s) %s, %d kept\n", len(res.Removed), verb, len(res.Kept))
		return err
	}
	return cmd
}

// policyRetention opens the data store and reads the shortest backup
// retention of the tenants' policies.
func policyRetention(ctx context.Context, sf *storesFlags, now time.Time) (backup.Retention, error) {
	o, _, err := sf.options(false)
	if err != nil {
		return backup.Retention{}, err
	}
	if err := mustExist(o.DataDSN, "data store"); err != nil {
		return backup.Retention{}, fmt.Errorf("%w (give --retention to prune without it)", err)
	}
	st, err := engines.Open(ctx, o.DataDSN, engines.Options{})
	if err != nil {
		return backup.Retention{}, err
	}
	defer st.Close()
	ret, err := backup.PolicyRetention(ctx, &tenant.Service{Store: st}, now)
	if errors.Is(err, backup.ErrNoRetention) {
		return ret, fmt.Errorf("%w; give --retention", err)
	}
	return ret, err
}

// dryPrune is Prune without deleting.
func dryPrune(dirs []string, period policy.Period, now time.Time) (backup.Pruned, error) {
	res := backup.Pruned{Retention: period.String(), Removed: []string{}, Kept: []string{}}
	for _, d := range dirs {
		sets, err := backup.List(d)
		if err != nil {
			return res, err
		}
		for _, s := range sets {
			if period.AddTo(s.At).After(now) {
				res.Kept = append(res.Kept, s.Dir)
			} else {
				res.Removed = append(res.Removed, s.Dir)
			}
		}
	}
	return res, nil
}

func newBackupListCmd() *cobra.Command {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the snapshots in a backup directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sets, err := backup.List(dir)
			if err != nil {
				return err
			}
			if asJSON {
				if sets == nil {
					sets = []backup.Set{}
				}
				return printJSON(cmd.OutOrStdout(), sets)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BACKUP\tKIND\tCREATED\tAGE")
			for _, s := range sets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.At.Format(time.RFC3339), time.Since(s.At).Round(time.Minute))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "backup directory (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func newBackupReapplyCmd() *cobra.Command {
	var mergeFrom string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reapply-erasures",
		Short: "Erase again every restored subject the erasure ledger names",
		Long: `Erase again every subject of the data store that the erasure ledger records as
erased: by subject id, or by an identity erased after the subject was created.
Run it after ANY restore that did not go through ` + "`trustee backup restore`" + ` — pg_dump,
point-in-time recovery, a copied SQLite file — before the server serves again.
--merge-from adds the ledger copies of the backups in a directory first (for when
the live ledger was lost too). Idempotent.`,
		Example: `  trustee backup reapply-erasures --config trustee.yaml
  trustee backup reapply-erasures --db postgres://trustee@db/trustee --ledger-db 'postgres://trustee@db/trustee?search_path=ledger' --key-file root.key`,
		Args: cobra.NoArgs,
	}
	sf := addStoresFlags(cmd)
	cmd.Flags().StringVar(&mergeFrom, "merge-from", "", "a backup directory whose ledger copies to merge into the ledger first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		o, _, err := sf.options(true)
		if err != nil {
			return err
		}
		if err := mustExist(o.DataDSN, "data store"); err != nil {
			return err
		}
		merged := 0
		if mergeFrom != "" {
			if merged, err = backup.MergeLedgerCopies(ctx, o, filepath.Clean(mergeFrom)); err != nil {
				return err
			}
		}
		res, err := backup.ReapplyErasures(ctx, o)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d ledger entries merged; %d subject(s) checked, %d erased again\n", merged, res.Checked, len(res.Erased))
		return nil
	}
	return cmd
}
