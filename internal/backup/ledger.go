package backup

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
)

// The erasure ledger is what keeps an erased person erased across restores.
//
// Erasure destroys a subject's data key, so every copy of its data — backups
// included — is unreadable once no copy of the key exists; key-store
// backups are pruned after the policy's backup retention, which bounds that
// time. Within it, restoring the key store and the data store from a backup
// taken before the erasure would bring the person back. The ledger prevents
// that: it records every erased subject (and its identities) and is kept
// where no restore writes — its own SQLite file, or its own tables on
// PostgreSQL, best in a schema or database that is backed up and restored
// separately (never rolled back with the data) — and after every restore
// Reapply erases again every restored subject it names.
//
// Entries are keyed hashes: HMAC-SHA256 under the tenant's blind-index key
// of the subject id, or of the identity's kind and blind index, with a
// domain of their own so they equal no blind index. Without the key store
// and the root key the ledger reveals nothing, not even which ids were
// erased. The index key is never rotated and every key-store backup of the
// tenant holds it, so a ledger written before a restore still matches after
// one, whichever key-store backup was restored.

// LedgerFile is the erasure ledger's SQLite file, beside the data file.
const LedgerFile = "erasure-ledger.db"

// Domains of the ledger's keyed hashes (the "kind" of the blind index).
const (
	hashSubject  = "erasure-ledger/subject"
	hashIdentity = "erasure-ledger/identity"
)

// DefaultLedgerDSN derives the ledger's DSN from the data store's: a file
// erasure-ledger.db beside an SQLite data file, the same database (its own
// table, erasure_ledger) on PostgreSQL. On PostgreSQL give it its own schema
// or database (--ledger-db) if you restore the data database with your own
// tools (pg_dump, PITR): a ledger restored along with the data would be
// rolled back with it. "" for a DSN that engines.Parse rejects.
func DefaultLedgerDSN(dataDSN string) string {
	kind, target, err := engines.Parse(dataDSN)
	if err != nil {
		return ""
	}
	if kind == engines.Postgres {
		return target
	}
	return "sqlite:" + filepath.Join(filepath.Dir(target), LedgerFile)
}

// OpenLedger opens (creating if needed) the erasure ledger named by dsn and
// applies its migrations.
func OpenLedger(ctx context.Context, dsn string) (store.LedgerStore, error) {
	if err := ensureSQLiteDir(dsn); err != nil {
		return nil, err
	}
	db, err := engines.OpenDB(ctx, dsn, engines.Options{Schema: sqlstore.SchemaLedger})
	if err != nil {
		return nil, fmt.Errorf("erasure ledger: %w", err)
	}
	return sqlstore.NewLedgerStore(db), nil
}

// ensureSQLiteDir creates the directory of an SQLite DSN's file.
func ensureSQLiteDir(dsn string) error {
	kind, target, err := engines.Parse(dsn)
	if err != nil || kind != engines.SQLite {
		return err
	}
	if dir := filepath.Dir(target); dir != "." {
		return os.MkdirAll(dir, 0o700)
	}
	return nil
}

// Ledger records erasures in the ledger store. It implements
// retention.ErasureLedger, which the vault and the retention sweep call.
type Ledger struct {
	Store store.LedgerStore
	Keys  *keys.Manager
}

// RecordErasure records that subjectID, with the given identities, was (or
// is about to be) erased at at. Recording again keeps the later time.
func (l *Ledger) RecordErasure(ctx context.Context, tenantID, subjectID string, identities []store.Identity, at time.Time) error {
	if l == nil || l.Store == nil {
		return errors.New("backup: no erasure ledger")
	}
	h, err := subjectHash(ctx, l.Keys, tenantID, subjectID)
	if err != nil {
		return err
	}
	entries := []store.LedgerEntry{{TenantID: tenantID, Kind: store.LedgerSubject, Hash: h, ErasedAt: at}}
	for _, id := range identities {
		ih, err := identityHash(ctx, l.Keys, tenantID, id.Kind, id.Blind)
		if err != nil {
			return err
		}
		entries = append(entries, store.LedgerEntry{TenantID: tenantID, Kind: store.LedgerIdentity, Hash: ih, ErasedAt: at})
	}
	return l.Store.RecordErasures(ctx, entries)
}

func subjectHash(ctx context.Context, km *keys.Manager, tenantID, subjectID string) ([]byte, error) {
	if subjectID == "" {
		return nil, errors.New("backup: empty subject id")
	}
	return km.BlindIndex(ctx, tenantID, hashSubject, subjectID)
}

func identityHash(ctx context.Context, km *keys.Manager, tenantID, kind string, blind []byte) ([]byte, error) {
	return km.BlindIndex(ctx, tenantID, hashIdentity, kind+":"+base64.RawStdEncoding.EncodeToString(blind))
}

// ReapplyResult says what re-applying the ledger did.
type ReapplyResult struct {
	// Tenants is the number of tenants of the ledger found in the store.
	Tenants int `json:"tenants"`
	// Checked is the number of subjects compared with the ledger.
	Checked int `json:"checked"`
	// Erased lists the subjects erased again (ids of the restored store).
	Erased []string `json:"erased"`
}

// Reapply erases again every subject of st the ledger names: by subject id,
// or by an identity erased after the subject was created (the same person
// under another subject id; a subject created after the erasure of an
// identity it holds is someone who registered again, and is left alone).
// erase must be the vault's Erase, so that what the law or a hold required
// to keep is kept as it was at the erasure. It is idempotent.
func Reapply(ctx context.Context, st store.Store, ledger store.LedgerStore, km *keys.Manager, erase func(ctx context.Context, tenantID, subjectID string) error) (ReapplyResult, error) {
	res := ReapplyResult{Erased: []string{}}
	tenants, err := ledger.LedgerTenants(ctx)
	if err != nil {
		return res, err
	}
	for _, tid := range tenants {
		if err := st.Read(ctx, func(tx store.Tx) error { _, err := tx.GetTenant(tid); return err }); errors.Is(err, store.ErrNotFound) {
			continue // a tenant this store does not hold
		} else if err != nil {
			return res, err
		}
		res.Tenants++
		subjects := map[string]bool{}
		identities := map[string]time.Time{}
		kind, after := "", []byte(nil)
		for {
			es, err := ledger.LedgerEntries(ctx, tid, kind, after, 5000)
			if err != nil {
				return res, err
			}
			for _, e := range es {
				if e.Kind == store.LedgerSubject {
					subjects[string(e.Hash)] = true
				} else {
					identities[string(e.Hash)] = e.ErasedAt
				}
			}
			if len(es) < 5000 {
				break
			}
			kind, after = es[len(es)-1].Kind, es[len(es)-1].Hash
		}
		match := map[string]bool{}
		var last string
		for {
			var page []store.Subject
			if err := st.Read(ctx, func(tx store.Tx) (err error) { page, err = tx.ScanSubjects(tid, last, 5000); return err }); err != nil {
				return res, err
			}
			for _, s := range page {
				res.Checked++
				h, err := subjectHash(ctx, km, tid, s.ID)
				if err != nil {
					return res, err
				}
				if subjects[string(h)] {
					match[s.ID] = true
				}
			}
			if len(page) < 5000 {
				break
			}
			last = page[len(page)-1].ID
		}
		if len(identities) > 0 {
			ak, ab := "", []byte(nil)
			for {
				var page []store.Identity
				if err := st.Read(ctx, func(tx store.Tx) (err error) { page, err = tx.ScanIdentities(tid, ak, ab, 5000); return err }); err != nil {
					return res, err
				}
				for _, id := range page {
					h, err := identityHash(ctx, km, tid, id.Kind, id.Blind)
					if err != nil {
						return res, err
					}
					at, ok := identities[string(h)]
					if !ok || match[id.SubjectID] {
						continue
					}
					var s store.Subject
					if err := st.Read(ctx, func(tx store.Tx) (err error) { s, err = tx.GetSubject(tid, id.SubjectID); return err }); err != nil {
						return res, err
					}
					if s.CreatedAt.Before(at) {
						match[id.SubjectID] = true
					}
				}
				if len(page) < 5000 {
					break
				}
				ak, ab = page[len(page)-1].Kind, page[len(page)-1].Blind
			}
		}
		ids := make([]string, 0, len(match))
		for id := range match {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := erase(ctx, tid, id); err != nil {
				return res, fmt.Errorf("re-erasing a subject of tenant %s: %w", tid, err)
			}
			res.Erased = append(res.Erased, id)
		}
	}
	return res, nil
}

// exportLedger writes every ledger entry as a line "tenant kind hash at"
// (hash in base64, at in µs) to w, for the copy kept with each backup.
func exportLedger(ctx context.Context, l store.LedgerStore, w func(line string) error) (int, error) {
	tenants, err := l.LedgerTenants(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tid := range tenants {
		kind, after := "", []byte(nil)
		for {
			es, err := l.LedgerEntries(ctx, tid, kind, after, 5000)
			if err != nil {
				return n, err
			}
			for _, e := range es {
				if err := w(fmt.Sprintf("%s %s %s %d\n", e.TenantID, e.Kind, base64.StdEncoding.EncodeToString(e.Hash), e.ErasedAt.UnixMicro())); err != nil {
					return n, err
				}
				n++
			}
			if len(es) < 5000 {
				break
			}
			kind, after = es[len(es)-1].Kind, es[len(es)-1].Hash
		}
	}
	return n, nil
}

// parseLedgerLine is the inverse of one exportLedger line.
func parseLedgerLine(line string) (store.LedgerEntry, error) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return store.LedgerEntry{}, errors.New("backup: bad ledger line")
	}
	h, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil {
		return store.LedgerEntry{}, errors.New("backup: bad ledger hash")
	}
	var us int64
	if _, err := fmt.Sscan(f[3], &us); err != nil {
		return store.LedgerEntry{}, errors.New("backup: bad ledger time")
	}
	return store.LedgerEntry{TenantID: f[0], Kind: f[1], Hash: h, ErasedAt: time.UnixMicro(us).UTC()}, nil
}
