package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Rotation, in the order `trustee keys rotate` and `trustee keys retire` run
// it while servers keep serving:
//
//  1. AddRootKey puts a new key into the root keyset file as its primary
//     (old keys stay, so everything they wrapped still opens).
//  2. RewrapTenantKeys re-wraps every tenant key under the new primary.
//     Running servers still hold the old keyset; when they next read a
//     tenant key wrapped by the new root key they do not know, they reload
//     the file (ManagerOptions.ReloadRoot) and go on.
//  3. Optionally RotateKEK gives a tenant a new KEK version and
//     RewrapSubjectKeys re-wraps its subject keys under it in batches; both
//     steps can be run again to finish an interrupted run.
//  4. RetireRootKeys removes the old root keys from the file once no tenant
//     key references them.

// SaveRootKeyFile writes the keyset to path atomically: a temporary file with
// mode 0600 in the same directory, written and fsynced, then renamed over
// path and the directory fsynced. A crash leaves either the old file or the
// new one, never a torn key. A symlink at path is followed, so the file it
// points to is replaced.
func SaveRootKeyFile(path string, h *keyset.Handle) error {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return fmt.Errorf("encode root key: %w", err)
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write root key: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write root key: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write root key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write root key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("write root key: sync directory: %w", err)
		}
	}
	return nil
}

// AddRootKey adds a new AES-256-GCM key to the root keyset in path, makes it
// the primary and saves the file atomically. The old keys stay in the keyset
// (they still unwrap what they wrapped) until RetireRootKeys removes them.
// It returns the new keyset.
func AddRootKey(path string) (*RootKey, error) {
	if path == "" {
		return nil, fmt.Errorf("rotation needs the root key file (--key-file); a key in %s cannot be rewritten: put it in a file first", RootKeyEnv)
	}
	r, err := LoadRootKey(path)
	if err != nil {
		return nil, err
	}
	km := keyset.NewManagerFromHandle(r.Handle())
	id, err := km.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("add root key: %w", err)
	}
	if err := km.SetPrimary(id); err != nil {
		return nil, fmt.Errorf("add root key: %w", err)
	}
	h, err := km.Handle()
	if err != nil {
		return nil, fmt.Errorf("add root key: %w", err)
	}
	if err := SaveRootKeyFile(path, h); err != nil {
		return nil, err
	}
	return newRootKey(h)
}

// RewrapTenantKeys re-wraps every tenant key that is not wrapped by the root
// keyset's primary key (after reloading it, when ReloadRoot is set) and
// returns how many it re-wrapped. The key material does not change, so
// running servers keep using their cached keys. It can be run again at any
// time: what is done is not redone.
func (m *Manager) RewrapTenantKeys(ctx context.Context) (int, error) {
	to, _ := m.reloadRoot(true, 0)
	primary := to.PrimaryKeyID()
	total, stalled := 0, 0
	for {
		var page []store.TenantKey
		if err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
			page, err = tx.TenantKeysNotWrappedBy(primary, 200)
			return err
		}); err != nil {
			return total, fmt.Errorf("keys: listing tenant keys: %w", err)
		}
		if len(page) == 0 {
			return total, nil
		}
		n, err := rewrapTenantRows(ctx, m.ks, page, m.unwrapTenantKey, to)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			// Every row changed under us: another rotation is running.
			if stalled++; stalled > 3 {
				return total, errors.New("keys: tenant keys keep changing while being re-wrapped; is another rotation running?")
			}
		} else {
			stalled = 0
		}
	}
}

// rewrapTenantRows re-wraps rows under to's primary key, opening each with
// open, and reports how many it changed (a row re-wrapped meanwhile by
// someone else is skipped).
func rewrapTenantRows(ctx context.Context, ks store.KeyStore, rows []store.TenantKey, open func(store.TenantKey) ([]byte, error), to *RootKey) (int, error) {
	primary := to.PrimaryKeyID()
	wrapped := make([][]byte, len(rows))
	for i, r := range rows {
		raw, err := open(r)
		if err != nil {
			return 0, err
		}
		w, err := to.AEAD().Encrypt(raw, tenantKeyAD(r.TenantID, r.Purpose, r.Version))
		clear(raw)
		if err != nil {
			return 0, fmt.Errorf("keys: wrapping tenant key: %w", err)
		}
		wrapped[i] = w
	}
	n := 0
	err := ks.Write(ctx, func(tx store.KeyTx) error {
		n = 0
		for i, r := range rows {
			err := tx.RewrapTenantKey(r.TenantID, r.Purpose, r.Version, r.RootKeyID, wrapped[i], primary)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			default:
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("keys: storing re-wrapped tenant keys: %w", err)
	}
	return n, nil
}

// RotateKEK gives the tenant a new KEK version, wrapped by the root key's
// primary, and marks the older versions retired (they still unwrap the
// subject keys they wrapped). New subject keys use the new version at once on
// this instance and within TenantKeyTTL on others. Follow it with
// RewrapSubjectKeys.
func (m *Manager) RotateKEK(ctx context.Context, tenantID string) (int, error) {
	tk, err := m.reloadTenant(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	root, _ := m.reloadRoot(true, 0)
	next := tk.kekVersion + 1
	raw := make([]byte, dataKeySize)
	rand.Read(raw)
	w, err := root.AEAD().Encrypt(raw, tenantKeyAD(tenantID, store.KeyPurposeKEK, next))
	clear(raw)
	if err != nil {
		return 0, fmt.Errorf("keys: wrapping KEK: %w", err)
	}
	now := m.now()
	err = m.ks.Write(ctx, func(tx store.KeyTx) error {
		if err := tx.InsertTenantKey(store.TenantKey{TenantID: tenantID, Purpose: store.KeyPurposeKEK, Version: next,
			Wrapped: w, RootKeyID: root.PrimaryKeyID(), CreatedAt: now}); err != nil {
			return err
		}
		return tx.RetireTenantKeys(tenantID, store.KeyPurposeKEK, next, now)
	})
	if errors.Is(err, store.ErrConflict) {
		return 0, fmt.Errorf("keys: tenant %s: KEK version %d was created by another rotation meanwhile", tenantID, next)
	}
	if err != nil {
		return 0, fmt.Errorf("keys: storing KEK: %w", err)
	}
	if _, err := m.reloadTenant(ctx, tenantID); err != nil {
		return 0, err
	}
	m.log.Info("tenant KEK rotated", "tenant", tenantID, "kek_version", next)
	return next, nil
}

// reloadTenant reads the tenant's keys again, whatever is cached.
func (m *Manager) reloadTenant(ctx context.Context, tenantID string) (*tenantKeys, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("keys: empty tenant id: %w", ErrNoKey)
	}
	v, _ := m.tenants.Load(tenantID)
	e, _ := v.(*tenantEntry)
	if e == nil {
		e = &tenantEntry{}
	}
	return m.loadTenant(ctx, tenantID, e, false, true)
}

// RewrapSubjectKeys re-wraps the tenant's subject keys that are not under its
// current KEK version, batch keys per transaction (default 1000), calling
// progress (if set) with the running total after each batch. It is
// resumable: an interrupted run leaves every key under either version, and
// the next run does the rest. Keys destroyed meanwhile stay destroyed.
func (m *Manager) RewrapSubjectKeys(ctx context.Context, tenantID string, batch int, progress func(done int)) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	tk, err := m.reloadTenant(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	cur := tk.kekVersion
	to := tk.keks[cur]
	total, stalled := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var page []store.SubjectKey
		if err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
			page, err = tx.SubjectKeysNotAt(tenantID, cur, batch)
			return err
		}); err != nil {
			return total, fmt.Errorf("keys: listing subject keys: %w", err)
		}
		if len(page) == 0 {
			return total, nil
		}
		wrapped := make([][]byte, len(page))
		for i, k := range page {
			kek, err := m.kekFor(ctx, tenantID, k.KEKVersion)
			if err != nil {
				return total, err
			}
			raw, err := unwrapDEK(kek, tenantID, k.SubjectID, k.KEKVersion, k.Wrapped)
			if err != nil {
				return total, fmt.Errorf("keys: a subject key of tenant %s (KEK version %d) does not unwrap; rotation stopped: %w", tenantID, k.KEKVersion, err)
			}
			wrapped[i] = wrapDEK(to, tenantID, k.SubjectID, cur, raw)
			clear(raw)
		}
		n := 0
		err := m.ks.Write(ctx, func(tx store.KeyTx) error {
			n = 0
			for i, k := range page {
				err := tx.RewrapSubjectKey(tenantID, k.SubjectID, k.KEKVersion, wrapped[i], cur)
				switch {
				case errors.Is(err, store.ErrNotFound): // shredded or re-wrapped meanwhile
				case err != nil:
					return err
				default:
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("keys: storing re-wrapped subject keys: %w", err)
		}
		total += n
		if progress != nil {
			progress(total)
		}
		if n == 0 {
			if stalled++; stalled > 3 {
				return total, errors.New("keys: subject keys keep changing while being re-wrapped; is another rotation running?")
			}
		} else {
			stalled = 0
		}
	}
}

// RetireResult says what RetireRootKeys did.
type RetireResult struct {
	Primary uint32   // the key that stays
	Removed []uint32 // the keys removed from the file
	// Swept counts tenant keys that a server wrapped under a removed key
	// after the references were counted, and that were re-wrapped under
	// the primary from the copy still in memory.
	Swept int
}

// StillReferencedError is RetireRootKeys' refusal: some tenant keys are still
// wrapped by a non-primary root key.
type StillReferencedError struct {
	Refs map[uint32]int // root key id → tenant keys it wraps
}

func (e *StillReferencedError) Error() string {
	ids := slices.Sorted(func(yield func(uint32) bool) {
		for id := range e.Refs {
			if !yield(id) {
				return
			}
		}
	})
	total := 0
	msg := "refusing to retire: "
	for i, id := range ids {
		if i > 0 {
			msg += ", "
		}
		msg += fmt.Sprintf("root key %d still wraps %d tenant key(s)", id, e.Refs[id])
		total += e.Refs[id]
	}
	return msg + fmt.Sprintf(" (%d in all); run `trustee keys rotate --resume` to re-wrap them under the primary, then retire again", total)
}

// RetireRootKeys removes every non-primary key from the root keyset in path,
// refusing (with *StillReferencedError) while any tenant key is still wrapped
// by one. After saving the file it waits grace (so a server that read the old
// file just before can finish creating a tenant) and re-wraps, from the old
// keys it still holds in memory, any tenant key that was wrapped under a
// removed key meanwhile. Servers keep their in-memory keyset until they
// reload the file; nothing they hold is wrapped by a removed key.
func RetireRootKeys(ctx context.Context, path string, ks store.KeyStore, grace time.Duration) (RetireResult, error) {
	if path == "" {
		return RetireResult{}, errors.New("retiring root keys needs the root key file (--key-file)")
	}
	old, err := LoadRootKey(path)
	if err != nil {
		return RetireResult{}, err
	}
	res := RetireResult{Primary: old.PrimaryKeyID()}
	var counts map[uint32]int
	if err := ks.Read(ctx, func(tx store.KeyTx) (err error) {
		counts, err = tx.CountTenantKeysByRoot()
		return err
	}); err != nil {
		return res, fmt.Errorf("keys: counting tenant keys: %w", err)
	}
	var retire []uint32
	refs := map[uint32]int{}
	for _, k := range old.Handle().KeysetInfo().GetKeyInfo() {
		id := k.GetKeyId()
		if id == res.Primary {
			continue
		}
		retire = append(retire, id)
		if counts[id] > 0 {
			refs[id] = counts[id]
		}
	}
	if len(refs) > 0 {
		return res, &StillReferencedError{Refs: refs}
	}
	if len(retire) == 0 {
		return res, nil
	}
	km := keyset.NewManagerFromHandle(old.Handle())
	for _, id := range retire {
		if err := km.Delete(id); err != nil {
			return res, fmt.Errorf("retire root key %d: %w", id, err)
		}
	}
	h, err := km.Handle()
	if err != nil {
		return res, fmt.Errorf("retire root keys: %w", err)
	}
	next, err := newRootKey(h)
	if err != nil {
		return res, err
	}
	if err := SaveRootKeyFile(path, h); err != nil {
		return res, err
	}
	res.Removed = retire

	// The sweep: a server that read the file before it changed may have
	// wrapped a new tenant key under an old primary after the count.
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("keys: retired %v, but the final check was interrupted; run `trustee keys status` and `trustee keys rotate --resume` if any tenant key still names a removed root key: %w", retire, ctx.Err())
		case <-t.C:
		}
	}
	var rows []store.TenantKey
	if err := ks.Read(ctx, func(tx store.KeyTx) (err error) {
		rows, err = tx.TenantKeysNotWrappedBy(res.Primary, 1<<20)
		return err
	}); err != nil {
		return res, fmt.Errorf("keys: final check: %w", err)
	}
	rows = slices.DeleteFunc(rows, func(r store.TenantKey) bool { return !slices.Contains(retire, r.RootKeyID) })
	if len(rows) > 0 {
		open := func(r store.TenantKey) ([]byte, error) {
			raw, err := old.AEAD().Decrypt(r.Wrapped, tenantKeyAD(r.TenantID, r.Purpose, r.Version))
			if err != nil {
				return nil, fmt.Errorf("keys: tenant %s %s key v%d does not unwrap: %w", r.TenantID, r.Purpose, r.Version, ErrDecrypt)
			}
			return raw, nil
		}
		n, err := rewrapTenantRows(ctx, ks, rows, open, next)
		res.Swept = n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Status is the state of the key hierarchy, for `trustee keys status`: ids,
// versions and counts only, never key material.
type Status struct {
	// TenantKeysByRoot counts tenant keys per root key id that wraps them.
	TenantKeysByRoot map[uint32]int
	Tenants          []TenantStatus
}

// TenantStatus is one tenant's keys.
type TenantStatus struct {
	TenantID string
	Keys     []KeyVersion
	// SubjectKeys counts subject keys per KEK version; more than one
	// version means a KEK rotation has not finished re-wrapping.
	SubjectKeys map[int]int
	// Shredded counts destroyed subject keys (ledger entries).
	Shredded int
}

// KeyVersion describes one tenant key without its material.
type KeyVersion struct {
	Purpose   string
	Version   int
	RootKeyID uint32
	CreatedAt time.Time
	RetiredAt time.Time
}

// ReadStatus reads the key hierarchy's state from the key store.
func ReadStatus(ctx context.Context, ks store.KeyStore) (Status, error) {
	var st Status
	err := ks.Read(ctx, func(tx store.KeyTx) error {
		var err error
		if st.TenantKeysByRoot, err = tx.CountTenantKeysByRoot(); err != nil {
			return err
		}
		ids, err := tx.ListKeyTenants()
		if err != nil {
			return err
		}
		for _, id := range ids {
			ts := TenantStatus{TenantID: id}
			rows, err := tx.ListTenantKeys(id)
			if err != nil {
				return err
			}
			for _, r := range rows {
				ts.Keys = append(ts.Keys, KeyVersion{Purpose: r.Purpose, Version: r.Version, RootKeyID: r.RootKeyID, CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt})
			}
			if ts.SubjectKeys, err = tx.CountSubjectKeys(id); err != nil {
				return err
			}
			if ts.Shredded, err = tx.CountShredded(id); err != nil {
				return err
			}
			st.Tenants = append(st.Tenants, ts)
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("keys: reading status: %w", err)
	}
	return st, nil
}
