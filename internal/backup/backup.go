// Package backup makes backups that forget: consistent, encrypted snapshots
// of the data store and, separately, of the key store, each with a manifest;
// restores of both into empty stores; pruning of snapshots older than the
// policy's backup retention; and the erasure ledger that keeps erased people
// erased when an older backup is restored.
//
// Why it forgets: erasing a subject destroys its data key in the key store.
// Every data snapshot still holds the subject's ciphertexts, but they are
// unreadable once no key-store snapshot from before the erasure is left, and
// prune deletes every snapshot older than the backup retention — so at most
// that long after an erasure, no readable copy of the person exists. Within
// that time the erasure ledger (ledger.go) erases again, after every restore,
// whoever a restored backup brings back. See docs/operations.md, "Backups".
package backup

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Format names this version of the snapshot layout and file format.
const Format = "trustee-backup/1"

// Snapshot kinds, and the directory each is written to inside a backup set.
const (
	KindData = "data"
	KindKeys = "keys"
)

// File names inside a snapshot directory.
const (
	ManifestFile = "manifest.json"
	dataFile     = "data.tbk"
	keysFile     = "keys.tbk"
	ledgerFile   = "ledger.tbk"
)

// Errors callers branch on.
var (
	// ErrNotEmpty means a restore target holds data.
	ErrNotEmpty = errors.New("backup: the restore target is not empty")
	// ErrMismatch means a manifest or file is not what it should be.
	ErrMismatch = errors.New("backup: the snapshot does not match its manifest")
)

// Manifest describes one snapshot: what it holds, when it was taken, and how
// to check and open its files. It holds no key in clear.
type Manifest struct {
	Format string `json:"format"`
	Kind   string `json:"kind"` // data | keys
	// BackupID is shared by the data and the key snapshot of one backup.
	BackupID  string    `json:"backup_id"`
	CreatedAt time.Time `json:"created_at"`
	Engine    string    `json:"engine"`
	// SchemaVersion is the store's migration version when it was copied.
	SchemaVersion  int64  `json:"schema_version"`
	TrusteeVersion string `json:"trustee_version,omitempty"`
	TenantCount    int    `json:"tenant_count"`
	// Content is sqlite-database (the database file, from VACUUM INTO) or
	// postgres-copy (Trustee's tables in COPY text format, see Tables).
	Content string  `json:"content"`
	Tables  []Table `json:"tables,omitempty"`
	Files   []File  `json:"files"`
}

// Table is one PostgreSQL table of a snapshot.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    int64    `json:"rows"`
}

// File is one file of a snapshot.
type File struct {
	Name string `json:"name"`
	// Role is snapshot (the store) or ledger (a copy of the erasure
	// ledger as it was, for a restore that lost the live one).
	Role string `json:"role"`
	// SHA256 and Bytes are of the file as stored (encrypted), checked
	// before anything is opened.
	SHA256     string     `json:"sha256"`
	Bytes      int64      `json:"bytes"`
	Encryption Encryption `json:"encryption"`
}

// Encryption says how a file is sealed.
type Encryption struct {
	// Scheme is aes-256-gcm-stream/1 (stream.go).
	Scheme     string `json:"scheme"`
	ChunkBytes int    `json:"chunk_bytes"`
	// Compression is gzip: the plaintext is gzip-compressed, then sealed.
	Compression string `json:"compression"`
	// WrappedKey is the file's key encrypted by the root key (Tink AEAD,
	// associated data = the binding); RootKeyID names the root key.
	WrappedKey []byte `json:"wrapped_key"`
	RootKeyID  uint32 `json:"root_key_id"`
}

const scheme = "aes-256-gcm-stream/1"

// binding ties a file's key and chunks to its backup, kind and name.
func binding(backupID, kind, name string) []byte {
	return []byte("trustee.backup.v1\x00" + backupID + "\x00" + kind + "\x00" + name)
}

// Options say where the stores are and how to seal.
type Options struct {
	// DataDSN, KeysDSN and LedgerDSN name the three stores; empty KeysDSN
	// and LedgerDSN are derived from DataDSN as the server derives them.
	DataDSN, KeysDSN, LedgerDSN string
	// Root wraps each snapshot file's key; restores need the same root key
	// (or a keyset that still holds it).
	Root *keys.RootKey
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is the Trustee build, recorded in manifests.
	Version string
	Logger  *slog.Logger
}

func (o *Options) resolve() error {
	if o.Root == nil {
		return errors.New("backup: a root key is needed (--key-file or TRUSTEE_ROOT_KEY)")
	}
	if o.DataDSN == "" {
		return errors.New("backup: no data store given")
	}
	if o.KeysDSN == "" {
		o.KeysDSN = keys.DefaultKeyStoreDSN(o.DataDSN)
	}
	if o.LedgerDSN == "" {
		o.LedgerDSN = DefaultLedgerDSN(o.DataDSN)
	}
	if o.KeysDSN == "" || o.LedgerDSN == "" {
		return errors.New("backup: cannot derive the key store or the ledger from the data store's DSN; give them")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Created says where a backup went.
type Created struct {
	Name    string   `json:"name"`
	DataDir string   `json:"data_dir"`
	KeysDir string   `json:"keys_dir"`
	Data    Manifest `json:"data"`
	Keys    Manifest `json:"keys"`
}

// Create takes a backup: a snapshot of the data store into out/NAME/data and
// then, separately, of the key store into keysOut/NAME/keys (keysOut
// defaults to out; keep them on different media if you can), each with its
// manifest, and a copy of the erasure ledger with the data. The data goes
// first: a key created between the two copies only exists in the key
// snapshot (harmless), and a key destroyed between them is missing from it,
// so the data snapshot never has a subject whose key the key snapshot lacks
// unless that subject was erased. Each snapshot is written to a ".partial"
// directory and renamed when complete, so prune and restore never see half
// of one.
func Create(ctx context.Context, o Options, out, keysOut string) (Created, error) {
	if err := o.resolve(); err != nil {
		return Created{}, err
	}
	if out == "" {
		return Created{}, errors.New("backup: no output directory")
	}
	if keysOut == "" {
		keysOut = out
	}
	now := o.Now().UTC().Truncate(time.Microsecond)
	id := store.NewID()
	name := "trustee-" + now.Format("20060102T150405Z") + "-" + id[len(id)-8:]
	res := Created{Name: name, DataDir: filepath.Join(out, name, KindData), KeysDir: filepath.Join(keysOut, name, KindKeys)}
	base := Manifest{Format: Format, BackupID: id, CreatedAt: now, TrusteeVersion: o.Version, Files: []File{}}

	var err error
	res.Data, err = snapshot(ctx, o, base, KindData, sqlstore.SchemaData, o.DataDSN, res.DataDir, func(dir string, m *Manifest) error {
		return ledgerCopy(ctx, o, m, dir)
	})
	if err != nil {
		return Created{}, fmt.Errorf("data snapshot: %w", err)
	}
	res.Keys, err = snapshot(ctx, o, base, KindKeys, sqlstore.SchemaKeys, o.KeysDSN, res.KeysDir, nil)
	if err != nil {
		return Created{}, fmt.Errorf("key snapshot: %w", err)
	}
	o.Logger.Info("backup created", "name", name, "data_bytes", res.Data.Files[0].Bytes, "keys_bytes", res.Keys.Files[0].Bytes)
	return res, nil
}

// snapshot writes one snapshot directory.
func snapshot(ctx context.Context, o Options, m Manifest, kind, schema, dsn, dir string, extra func(dir string, m *Manifest) error) (Manifest, error) {
	m.Kind = kind
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return m, err
	}
	if err := os.MkdirAll(partial, 0o700); err != nil {
		return m, err
	}
	defer os.RemoveAll(partial)
	if _, err := os.Stat(dir); err == nil {
		return m, fmt.Errorf("%s exists already", dir)
	}
	fileName := dataFile
	if kind == KindKeys {
		fileName = keysFile
	}
	var info dumpInfo
	f, err := sealFile(o, m.BackupID, kind, filepath.Join(partial, fileName), "snapshot", func(w io.Writer) error {
		var err error
		info, err = dump(ctx, dsn, schema, partial, w)
		return err
	})
	if err != nil {
		return m, err
	}
	m.Engine, m.SchemaVersion, m.TenantCount, m.Tables = info.engine, info.schemaVersion, info.tenants, info.tables
	m.Content = "sqlite-database"
	if info.engine == string(engines.Postgres) {
		m.Content = "postgres-copy"
	}
	m.Files = append(m.Files, f)
	if extra != nil {
		if err := extra(partial, &m); err != nil {
			return m, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := writeSynced(filepath.Join(partial, ManifestFile), append(b, '\n')); err != nil {
		return m, err
	}
	if err := syncDir(partial); err != nil {
		return m, err
	}
	if err := os.Rename(partial, dir); err != nil {
		return m, err
	}
	return m, syncDir(filepath.Dir(dir))
}

// ledgerCopy seals the erasure ledger as it is now into the data snapshot:
// if the live ledger is ever lost with the stores, a restore still knows
// every erasure made before the newest backup.
func ledgerCopy(ctx context.Context, o Options, m *Manifest, dir string) error {
	l, err := openExistingLedger(ctx, o.LedgerDSN)
	if err != nil {
		return err
	}
	if l != nil {
		defer l.Close()
	}
	f, err := sealFile(o, m.BackupID, KindData, filepath.Join(dir, ledgerFile), "ledger", func(w io.Writer) error {
		if l == nil {
			return nil
		}
		_, err := exportLedger(ctx, l, func(line string) error { _, err := io.WriteString(w, line); return err })
		return err
	})
	if err != nil {
		return fmt.Errorf("erasure ledger copy: %w", err)
	}
	m.Files = append(m.Files, f)
	return nil
}

// openExistingLedger opens the ledger, or returns nil if an SQLite ledger
// file does not exist (no erasure was ever recorded).
func openExistingLedger(ctx context.Context, dsn string) (store.LedgerStore, error) {
	if kind, path, err := engines.Parse(dsn); err == nil && kind == engines.SQLite {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return OpenLedger(ctx, dsn)
}

// sealFile writes what fill produces, gzip-compressed and sealed under a
// fresh key, to path, and describes the file.
func sealFile(o Options, backupID, kind, path, role string, fill func(w io.Writer) error) (File, error) {
	name := filepath.Base(path)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return File{}, err
	}
	defer clear(key)
	bind := binding(backupID, kind, name)
	wrapped, err := o.Root.AEAD().Encrypt(key, bind)
	if err != nil {
		return File{}, fmt.Errorf("wrapping the snapshot key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	sw, err := newSealWriter(cw, key, bind)
	if err != nil {
		return File{}, err
	}
	zw, err := gzip.NewWriterLevel(sw, gzip.BestSpeed)
	if err != nil {
		return File{}, err
	}
	if err := fill(zw); err != nil {
		return File{}, err
	}
	if err := zw.Close(); err != nil {
		return File{}, err
	}
	if err := sw.Close(); err != nil {
		return File{}, err
	}
	if err := f.Sync(); err != nil {
		return File{}, err
	}
	return File{Name: name, Role: role, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: cw.n,
		Encryption: Encryption{Scheme: scheme, ChunkBytes: chunkSize, Compression: "gzip", WrappedKey: wrapped, RootKeyID: o.Root.PrimaryKeyID()}}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// openFile checks a file against its manifest entry and returns a reader of
// its plaintext (decrypted, decompressed).
func openFile(o Options, m Manifest, dir string, f File) (io.ReadCloser, error) {
	if f.Encryption.Scheme != scheme || f.Encryption.Compression != "gzip" {
		return nil, fmt.Errorf("%w: %s uses an unknown scheme", ErrMismatch, f.Name)
	}
	if filepath.Base(f.Name) != f.Name {
		return nil, fmt.Errorf("%w: bad file name", ErrMismatch)
	}
	bind := binding(m.BackupID, m.Kind, f.Name)
	key, err := o.Root.AEAD().Decrypt(f.Encryption.WrappedKey, bind)
	if err != nil {
		return nil, fmt.Errorf("the key of %s does not unwrap: another root key, or an altered manifest (root key id %d)", f.Name, f.Encryption.RootKeyID)
	}
	fh, err := os.Open(filepath.Join(dir, f.Name))
	if err != nil {
		return nil, err
	}
	or, err := newOpenReader(fh, key, bind)
	clear(key)
	if err != nil {
		fh.Close()
		return nil, err
	}
	zr, err := gzip.NewReader(or)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return readCloser{Reader: zr, close: func() error { zr.Close(); return fh.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// ReadManifest reads and checks the manifest of a snapshot directory, and
// the SHA-256 of each of its files, before anything is decrypted.
func ReadManifest(dir, kind string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrMismatch, filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("%w: format %q, this build reads %q", ErrMismatch, m.Format, Format)
	}
	if m.Kind != kind {
		return m, fmt.Errorf("%w: %s holds a %s snapshot, not %s", ErrMismatch, dir, m.Kind, kind)
	}
	if len(m.Files) == 0 || m.Files[0].Role != "snapshot" {
		return m, fmt.Errorf("%w: no snapshot file", ErrMismatch)
	}
	for _, f := range m.Files {
		if err := checkHash(filepath.Join(dir, filepath.Base(f.Name)), f); err != nil {
			return m, err
		}
	}
	return m, nil
}

func checkHash(path string, f File) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return err
	}
	if n != f.Bytes || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%w: %s has another size or SHA-256 than its manifest says", ErrMismatch, path)
	}
	return nil
}

// Restored says what a restore did.
type Restored struct {
	Data Manifest `json:"data"`
	Keys Manifest `json:"keys"`
	// LedgerEntries is how many entries the ledger copies added.
	LedgerEntries int `json:"ledger_entries"`
	// Reapplied is what re-applying the erasure ledger did.
	Reapplied ReapplyResult `json:"reapplied"`
}

// Restore restores a backup into empty stores: the data snapshot in
// from/data into o.DataDSN and the key snapshot in keysFrom/keys (keysFrom
// defaults to from) into o.KeysDSN. It checks both manifests, that they
// belong to one backup and every file's SHA-256 first, and refuses a target
// that holds data. Then it merges the ledger copies of this backup and of
// every other backup beside it into the live erasure ledger (o.LedgerDSN,
// which the restore does not otherwise touch) and re-applies the ledger:
// whoever was erased after this backup was taken is erased again before
// Restore returns. Stop every server using the targets first.
func Restore(ctx context.Context, o Options, from, keysFrom string) (Restored, error) {
	if err := o.resolve(); err != nil {
		return Restored{}, err
	}
	if keysFrom == "" {
		keysFrom = from
	}
	var res Restored
	var err error
	if res.Data, err = ReadManifest(filepath.Join(from, KindData), KindData); err != nil {
		return res, err
	}
	if res.Keys, err = ReadManifest(filepath.Join(keysFrom, KindKeys), KindKeys); err != nil {
		return res, err
	}
	if res.Data.BackupID != res.Keys.BackupID {
		return res, fmt.Errorf("%w: the data and the key snapshot are of different backups (%s, %s)", ErrMismatch, res.Data.BackupID, res.Keys.BackupID)
	}
	for _, t := range []struct {
		m   Manifest
		dsn string
	}{{res.Data, o.DataDSN}, {res.Keys, o.KeysDSN}} {
		kind, _, err := engines.Parse(t.dsn)
		if err != nil {
			return res, err
		}
		if string(kind) != t.m.Engine {
			return res, fmt.Errorf("the %s snapshot is of %s; the target is %s", t.m.Kind, t.m.Engine, kind)
		}
	}
	// Check both targets before writing either.
	for _, t := range []struct {
		m      Manifest
		dsn    string
		schema string
	}{{res.Data, o.DataDSN, sqlstore.SchemaData}, {res.Keys, o.KeysDSN, sqlstore.SchemaKeys}} {
		kind, target, _ := engines.Parse(t.dsn)
		if kind == engines.Postgres {
			if err := pgCheckTarget(ctx, target, t.schema, t.m); err != nil {
				return res, err
			}
		} else if empty, err := sqliteEmpty(ctx, target); err != nil {
			return res, err
		} else if !empty {
			return res, fmt.Errorf("%w: %s holds data; restore into an empty store", ErrNotEmpty, target)
		}
	}
	if err := restoreOne(ctx, o, res.Data, filepath.Join(from, KindData), o.DataDSN); err != nil {
		return res, fmt.Errorf("restoring the data store: %w", err)
	}
	if err := restoreOne(ctx, o, res.Keys, filepath.Join(keysFrom, KindKeys), o.KeysDSN); err != nil {
		return res, fmt.Errorf("restoring the key store (the data store is restored; empty it before trying again): %w", err)
	}
	o.Logger.Info("backup restored", "backup", res.Data.BackupID, "created_at", res.Data.CreatedAt)

	n, err := MergeLedgerCopies(ctx, o, filepath.Dir(filepath.Clean(from)))
	if err != nil {
		return res, fmt.Errorf("merging ledger copies (the stores are restored; run `trustee backup reapply-erasures` before serving): %w", err)
	}
	res.LedgerEntries = n
	res.Reapplied, err = ReapplyErasures(ctx, o)
	if err != nil {
		return res, fmt.Errorf("re-applying erasures (the stores are restored; run `trustee backup reapply-erasures` before serving): %w", err)
	}
	return res, nil
}

func restoreOne(ctx context.Context, o Options, m Manifest, dir, dsn string) error {
	r, err := openFile(o, m, dir, m.Files[0])
	if err != nil {
		return err
	}
	defer r.Close()
	kind, target, _ := engines.Parse(dsn)
	if kind == engines.Postgres {
		return pgRestore(ctx, target, m, r)
	}
	if err := sqliteRestore(ctx, target, r); err != nil {
		return err
	}
	// Open it once: migrations of this build are applied to an older copy.
	schema := sqlstore.SchemaData
	if m.Kind == KindKeys {
		schema = sqlstore.SchemaKeys
	}
	db, err := engines.OpenDB(ctx, dsn, engines.Options{Schema: schema})
	if err != nil {
		return err
	}
	return db.Close()
}

// MergeLedgerCopies adds to the live erasure ledger the entries of the
// ledger copy of every backup in dir (a directory of backup sets), and
// returns how many entries it read. Merging is a union: it never removes an
// entry, so merging old copies is always safe.
func MergeLedgerCopies(ctx context.Context, o Options, dir string) (int, error) {
	if err := o.resolve(); err != nil {
		return 0, err
	}
	sets, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	l, err := OpenLedger(ctx, o.LedgerDSN)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	total := 0
	for _, s := range sets {
		sd := filepath.Join(dir, s.Name(), KindData)
		m, err := ReadManifest(sd, KindData)
		if err != nil {
			continue // not a backup set, or a damaged one: other copies may do
		}
		for _, f := range m.Files {
			if f.Role != "ledger" {
				continue
			}
			r, err := openFile(o, m, sd, f)
			if err != nil {
				o.Logger.Warn("a backup's ledger copy does not open; skipped", "backup", s.Name(), "err", err.Error())
				continue
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return total, err
			}
			var entries []store.LedgerEntry
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if line == "" {
					continue
				}
				e, err := parseLedgerLine(line)
				if err != nil {
					return total, err
				}
				entries = append(entries, e)
			}
			for len(entries) > 0 {
				k := min(len(entries), 1000)
				if err := l.RecordErasures(ctx, entries[:k]); err != nil {
					return total, err
				}
				total += k
				entries = entries[k:]
			}
		}
	}
	return total, nil
}

// ReapplyErasures opens the stores and the ledger and erases again every
// subject the ledger names (see Reapply). Run it after any restore,
// including restores made with other tools (pg_dump, point-in-time
// recovery, a copied SQLite file).
func ReapplyErasures(ctx context.Context, o Options) (ReapplyResult, error) {
	if err := o.resolve(); err != nil {
		return ReapplyResult{}, err
	}
	st, err := engines.Open(ctx, o.DataDSN, engines.Options{Logger: o.Logger})
	if err != nil {
		return ReapplyResult{}, err
	}
	defer st.Close()
	ks, err := engines.OpenKeyStore(ctx, o.KeysDSN, engines.Options{Logger: o.Logger})
	if err != nil {
		return ReapplyResult{}, err
	}
	defer ks.Close()
	l, err := OpenLedger(ctx, o.LedgerDSN)
	if err != nil {
		return ReapplyResult{}, err
	}
	defer l.Close()
	km := keys.NewManager(o.Root, ks, keys.ManagerOptions{Logger: o.Logger, Now: o.Now})
	ts := &tenant.Service{Store: st, Now: o.Now}
	v := &vault.Service{Store: st, Keys: km, Tenants: ts, Now: o.Now, Ledger: &Ledger{Store: l, Keys: km},
		Audit: audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Keys: km, Now: o.Now, Logger: o.Logger})}
	by := vault.Actor{ID: "system:erasure-ledger", Role: "system"}
	res, err := Reapply(ctx, st, l, km, func(ctx context.Context, tenantID, subjectID string) error {
		_, err := v.Erase(ctx, tenantID, subjectID, by)
		return err
	})
	if err == nil && len(res.Erased) > 0 {
		o.Logger.Info("erasures re-applied after a restore", "subjects", len(res.Erased))
	}
	return res, err
}

// Set is one backup set found in a directory.
type Set struct {
	Name string    `json:"name"`
	Dir  string    `json:"dir"`
	Kind string    `json:"kind"`
	At   time.Time `json:"created_at"`
}

// List returns the snapshots in dir (data and key snapshots alike), oldest
// first. Directories that are not snapshots are ignored.
func List(dir string) ([]Set, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no backup taken yet
	}
	if err != nil {
		return nil, err
	}
	var out []Set
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for _, kind := range []string{KindData, KindKeys} {
			sd := filepath.Join(dir, e.Name(), kind)
			b, err := os.ReadFile(filepath.Join(sd, ManifestFile))
			if err != nil {
				continue
			}
			var m Manifest
			if json.Unmarshal(b, &m) != nil || m.Format != Format || m.Kind != kind {
				continue
			}
			out = append(out, Set{Name: e.Name(), Dir: sd, Kind: kind, At: m.CreatedAt})
		}
	}
	slices.SortFunc(out, func(a, b Set) int { return a.At.Compare(b.At) })
	return out, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
