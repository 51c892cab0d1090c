package keys

import (
	"context"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Defaults for ManagerOptions fields left zero.
const (
	DefaultCacheSize    = 100_000
	DefaultCacheTTL     = time.Minute
	DefaultTenantKeyTTL = time.Minute
)

// minReloadInterval bounds how often an unknown root key id makes the
// Manager reload the root key, so a corrupt row cannot make every request
// read the key file.
const minReloadInterval = time.Second

// ManagerOptions tune a Manager. The zero value is ready to use.
type ManagerOptions struct {
	// Now is the clock for created, retired and destroyed times and for
	// cache expiry (default time.Now).
	Now func() time.Time
	// CacheSize bounds the unwrapped subject keys kept in memory (default
	// 100,000; negative disables the cache). Each costs about 1 KiB (the
	// expanded AES key and GCM tables).
	CacheSize int
	// CacheTTL is how long an unwrapped subject key is served from memory
	// before it is read again (default one minute): the bound on how long
	// another instance may go on using a key this one destroyed. Negative
	// means forever.
	CacheTTL time.Duration
	// TenantKeyTTL is how long tenant keys are kept before the key store is
	// read again (default one minute), so a KEK rotated by `trustee keys
	// rotate` is used for new subject keys by every instance within it.
	TenantKeyTTL time.Duration
	// ReloadRoot, if set, returns the root key as it is now (typically
	// LoadRootKey on the key file). The Manager calls it when a tenant key
	// is wrapped by a root key its keyset does not hold (the file was
	// rotated while the server runs) and before it wraps new tenant keys,
	// so that it always wraps under the file's current primary key.
	ReloadRoot func() (*RootKey, error)
	// Logger receives key events (ids, versions, counts; never key material
	// or plaintext). Nil discards them.
	Logger *slog.Logger
}

// Manager is the key hierarchy at run time: the root key (in memory), the
// tenant keys it wraps and the subject keys they wrap (in the key store), with
// caches so that the hot paths (Seal/Open with a cached DataKey, BlindIndex)
// touch no database. It is safe for concurrent use, and several instances
// may share one key store.
type Manager struct {
	root    atomic.Pointer[RootKey]
	ks      store.KeyStore
	now     func() time.Time
	start   time.Time // base of mono
	fixed   bool      // now was injected: expiry follows it too
	cache   *keyCache
	tenTTL  time.Duration
	reload  func() (*RootKey, error)
	log     *slog.Logger
	tenants sync.Map // tenant id → *tenantEntry

	reloadMu sync.Mutex
	tried    map[uint32]time.Time // root key ids a reload was tried for
}

// NewManager returns a Manager over the root key and the key store.
func NewManager(root *RootKey, ks store.KeyStore, opts ManagerOptions) *Manager {
	m := &Manager{ks: ks, now: opts.Now, reload: opts.ReloadRoot, log: opts.Logger, tried: map[uint32]time.Time{}}
	if m.now == nil {
		m.now = time.Now
	} else {
		m.fixed = true
	}
	m.start = time.Now()
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	size := opts.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	ttl := opts.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	m.cache = newKeyCache(size, ttl)
	m.tenTTL = opts.TenantKeyTTL
	if m.tenTTL == 0 {
		m.tenTTL = DefaultTenantKeyTTL
	}
	m.root.Store(root)
	return m
}

// mono is the clock of cache expiry, in nanoseconds: the monotonic clock
// (time.Since is about three times cheaper than time.Now on some virtual
// machines, and this is on every cache hit), or the injected clock in tests.
func (m *Manager) mono() int64 {
	if m.fixed {
		return m.now().UnixNano()
	}
	return int64(time.Since(m.start))
}

// Root returns the root key in use (it changes when the key file is
// reloaded).
func (m *Manager) Root() *RootKey { return m.root.Load() }

// tenantKeys is one tenant's unwrapped keys as loaded at one moment.
type tenantKeys struct {
	loaded     int64               // mono() when read
	kekVersion int                 // current: wraps new subject keys; 0 if none
	keks       map[int]cipher.AEAD // every version, to unwrap older subject keys
	indexPool  *sync.Pool          // of *indexHasher; nil if no index key
	signer     ed25519.PrivateKey  // nil if no signing key
	versions   map[string]int      // current version per purpose
}

func (tk *tenantKeys) complete() bool {
	return tk.kekVersion > 0 && tk.indexPool != nil && tk.signer != nil
}

type tenantEntry struct {
	mu   sync.Mutex // held while loading or creating
	keys atomic.Pointer[tenantKeys]
}

// indexHasher is a reusable HMAC with a buffer for its input; pooled per
// tenant so BlindIndex allocates only its 32-byte result.
type indexHasher struct {
	mac hash.Hash
	buf []byte
}

// tenant returns the tenant's keys, loading them from the key store when not
// cached or older than TenantKeyTTL, and creating missing ones when create
// is set. ErrNoKey if the tenant has no keys and create is false.
func (m *Manager) tenant(ctx context.Context, tenantID string, create bool) (*tenantKeys, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("keys: empty tenant id: %w", ErrNoKey)
	}
	v, ok := m.tenants.Load(tenantID)
	var e *tenantEntry
	if ok {
		e = v.(*tenantEntry)
		if tk := e.keys.Load(); tk != nil && (!create || tk.complete()) {
			if m.mono()-tk.loaded < int64(m.tenTTL) {
				return tk, nil
			}
			// Stale: one caller refreshes, the others go on with the
			// keys they have (still valid; only new wrapping might lag).
			if !e.mu.TryLock() {
				return tk, nil
			}
			e.mu.Unlock()
		}
	} else {
		e = &tenantEntry{}
	}
	return m.loadTenant(ctx, tenantID, e, create, false)
}

// loadTenant (re)reads the tenant's keys under the entry's lock; force skips
// the freshness check (after a KEK rotation, or a subject key wrapped by an
// unknown KEK version).
func (m *Manager) loadTenant(ctx context.Context, tenantID string, e *tenantEntry, create, force bool) (*tenantKeys, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if tk := e.keys.Load(); tk != nil && !force && (!create || tk.complete()) && m.mono()-tk.loaded < int64(m.tenTTL) {
		return tk, nil // loaded by another caller meanwhile
	}
	var rows []store.TenantKey
	if err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
		rows, err = tx.ListTenantKeys(tenantID)
		return err
	}); err != nil {
		return nil, fmt.Errorf("keys: reading tenant keys: %w", err)
	}
	tk, err := m.unwrapTenant(tenantID, rows)
	if err != nil {
		return nil, err
	}
	if create && !tk.complete() {
		if err := m.createTenantKeys(ctx, tenantID, tk); err != nil {
			return nil, err
		}
		if err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
			rows, err = tx.ListTenantKeys(tenantID)
			return err
		}); err != nil {
			return nil, fmt.Errorf("keys: reading tenant keys: %w", err)
		}
		if tk, err = m.unwrapTenant(tenantID, rows); err != nil {
			return nil, err
		}
		if !tk.complete() {
			return nil, fmt.Errorf("keys: tenant %s: keys incomplete after creation", tenantID)
		}
	}
	if len(rows) == 0 {
		// Remember nothing for a tenant without keys: callers may pass
		// ids that never get keys, and the map must not grow with them.
		return nil, fmt.Errorf("keys: tenant %s has no keys: %w", tenantID, ErrNoKey)
	}
	e.keys.Store(tk)
	if _, loaded := m.tenants.LoadOrStore(tenantID, e); loaded {
		if cur, _ := m.tenants.Load(tenantID); cur != e {
			cur.(*tenantEntry).keys.Store(tk)
		}
	}
	return tk, nil
}

// unwrapTenant unwraps every row of a tenant with the root key.
func (m *Manager) unwrapTenant(tenantID string, rows []store.TenantKey) (*tenantKeys, error) {
	tk := &tenantKeys{loaded: m.mono(), keks: map[int]cipher.AEAD{}, versions: map[string]int{}}
	for _, r := range rows {
		raw, err := m.unwrapTenantKey(r)
		if err != nil {
			return nil, err
		}
		switch r.Purpose {
		case store.KeyPurposeKEK:
			a, err := newAEAD(raw)
			clear(raw)
			if err != nil {
				return nil, err
			}
			tk.keks[r.Version] = a
			if r.Version > tk.kekVersion {
				tk.kekVersion = r.Version
			}
		case store.KeyPurposeIndex:
			if r.Version >= tk.versions[r.Purpose] {
				key := raw
				tk.indexPool = &sync.Pool{New: func() any {
					return &indexHasher{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)}
				}}
			}
		case store.KeyPurposeAuditSigning:
			if r.Version >= tk.versions[r.Purpose] {
				tk.signer = ed25519.NewKeyFromSeed(raw)
				clear(raw)
			}
		}
		if r.Version > tk.versions[r.Purpose] {
			tk.versions[r.Purpose] = r.Version
		}
	}
	return tk, nil
}

// unwrapTenantKey opens one wrapped tenant key with the root key. If the row
// names a root key the in-memory keyset lacks, the key file was rotated by
// another process: reload it once and try again.
func (m *Manager) unwrapTenantKey(r store.TenantKey) ([]byte, error) {
	ad := tenantKeyAD(r.TenantID, r.Purpose, r.Version)
	root := m.root.Load()
	raw, err := root.AEAD().Decrypt(r.Wrapped, ad)
	if err != nil && !root.Has(r.RootKeyID) && m.reload != nil {
		if nr, rerr := m.reloadRoot(false, r.RootKeyID); rerr == nil && nr != root {
			raw, err = nr.AEAD().Decrypt(r.Wrapped, ad)
			root = nr
		}
	}
	if err != nil {
		if !root.Has(r.RootKeyID) {
			return nil, fmt.Errorf("keys: tenant %s %s key v%d is wrapped by root key %d, which the root keyset does not hold (was it retired, or is this the wrong key file?): %w",
				r.TenantID, r.Purpose, r.Version, r.RootKeyID, ErrDecrypt)
		}
		return nil, fmt.Errorf("keys: tenant %s %s key v%d does not unwrap (altered or moved): %w", r.TenantID, r.Purpose, r.Version, ErrDecrypt)
	}
	if len(raw) != dataKeySize {
		clear(raw)
		return nil, fmt.Errorf("keys: tenant %s %s key v%d has the wrong length: %w", r.TenantID, r.Purpose, r.Version, ErrDecrypt)
	}
	return raw, nil
}

// reloadRoot replaces the in-memory root key with what ReloadRoot returns.
// Unless force is set, it is for a wrapped key naming root key want: it does
// nothing if the keyset now holds want (another caller reloaded), or if a
// reload for want was tried less than minReloadInterval ago, so rows naming
// a key that no file holds cannot make every request read the file.
func (m *Manager) reloadRoot(force bool, want uint32) (*RootKey, error) {
	if m.reload == nil {
		return m.root.Load(), nil
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if !force {
		if cur := m.root.Load(); cur.Has(want) {
			return cur, nil
		}
		if at, ok := m.tried[want]; ok && time.Since(at) < minReloadInterval {
			return m.root.Load(), nil
		}
		if len(m.tried) > 1000 {
			clear(m.tried)
		}
		m.tried[want] = time.Now()
	}
	nr, err := m.reload()
	if err != nil {
		m.log.Warn("root key reload failed; keeping the loaded root key", "error", err.Error())
		return m.root.Load(), err
	}
	old := m.root.Swap(nr)
	if old == nil || old.PrimaryKeyID() != nr.PrimaryKeyID() || len(old.ids) != len(nr.ids) {
		m.log.Info("root key reloaded", "primary_key_id", nr.PrimaryKeyID(), "key_ids", nr.KeyIDs())
	}
	return nr, nil
}

// createTenantKeys generates and stores the purposes tk lacks. Instances
// racing to do the same insert the same versions; the first wins and the
// others' inserts conflict and are dropped, so everyone reads the winner's.
func (m *Manager) createTenantKeys(ctx context.Context, tenantID string, tk *tenantKeys) error {
	// Wrap under the key file's current primary, not a primary that a
	// rotation (and retire) may have replaced since this process started.
	root, _ := m.reloadRoot(true, 0)
	now := m.now()
	var rows []store.TenantKey
	for _, p := range []string{store.KeyPurposeKEK, store.KeyPurposeIndex, store.KeyPurposeAuditSigning} {
		if tk.versions[p] > 0 {
			continue
		}
		raw := make([]byte, dataKeySize)
		rand.Read(raw)
		w, err := root.AEAD().Encrypt(raw, tenantKeyAD(tenantID, p, 1))
		clear(raw)
		if err != nil {
			return fmt.Errorf("keys: wrapping tenant key: %w", err)
		}
		rows = append(rows, store.TenantKey{TenantID: tenantID, Purpose: p, Version: 1, Wrapped: w, RootKeyID: root.PrimaryKeyID(), CreatedAt: now})
	}
	created := 0
	err := m.ks.Write(ctx, func(tx store.KeyTx) error {
		created = 0
		for _, r := range rows {
			err := tx.InsertTenantKey(r)
			switch {
			case errors.Is(err, store.ErrConflict):
			case err != nil:
				return err
			default:
				created++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: storing tenant keys: %w", err)
	}
	if created > 0 {
		m.log.Info("tenant keys created", "tenant", tenantID, "count", created, "root_key_id", root.PrimaryKeyID())
	}
	return nil
}

// EnsureTenant creates the tenant's KEK (AES-256), blind-index key (32-byte
// HMAC-SHA256 key) and audit signing key (Ed25519) if any is missing, each
// wrapped by the root key. It is idempotent and safe when several instances
// call it at once: one set of keys wins and all of them use it. NewSubjectKey,
// BlindIndex and AuditSigner call it themselves; calling it when a
// tenant is created makes the first request fast.
func (m *Manager) EnsureTenant(ctx context.Context, tenantID string) error {
	_, err := m.tenant(ctx, tenantID, true)
	return err
}

// NewSubjectKey creates a subject's data key: 32 random bytes from
// crypto/rand, wrapped under the tenant's current KEK with associated data
// binding tenant and subject, and stored in the key store before it is
// returned, so nothing can be encrypted under a key that is not durable.
// ErrKeyExists if the subject has a key, ErrShredded if its key was
// destroyed (an erased subject id is never reused).
func (m *Manager) NewSubjectKey(ctx context.Context, tenantID, subjectID string) (*DataKey, error) {
	if subjectID == "" {
		return nil, errors.New("keys: empty subject id")
	}
	tk, err := m.tenant(ctx, tenantID, true)
	if err != nil {
		return nil, err
	}
	var raw [dataKeySize]byte
	rand.Read(raw[:])
	defer clear(raw[:])
	dk, err := newDataKey(raw[:])
	if err != nil {
		return nil, err
	}
	row := store.SubjectKey{
		TenantID: tenantID, SubjectID: subjectID, KEKVersion: tk.kekVersion, CreatedAt: m.now(),
		Wrapped: wrapDEK(tk.keks[tk.kekVersion], tenantID, subjectID, tk.kekVersion, raw[:]),
	}
	err = m.ks.Write(ctx, func(tx store.KeyTx) error { return tx.InsertSubjectKey(row) })
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, ErrKeyExists
	case errors.Is(err, store.ErrKeyDestroyed):
		return nil, ErrShredded
	case err != nil:
		return nil, fmt.Errorf("keys: storing subject key: %w", err)
	}
	m.cache.add(cacheKey{tenantID, subjectID}, dk, m.mono())
	return dk, nil
}

// SubjectKey returns the subject's data key, from memory when it was used
// recently; otherwise it reads and unwraps it (the slow path, one key-store
// read). ErrShredded if the key was destroyed, ErrNoKey if it never existed.
func (m *Manager) SubjectKey(ctx context.Context, tenantID, subjectID string) (*DataKey, error) {
	ck := cacheKey{tenantID, subjectID}
	if dk, tomb, ok := m.cache.get(ck, m.mono()); ok {
		if tomb {
			return nil, ErrShredded
		}
		return dk, nil
	}
	var row store.SubjectKey
	err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
		row, err = tx.GetSubjectKey(tenantID, subjectID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrKeyDestroyed):
		return nil, ErrShredded
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNoKey
	case err != nil:
		return nil, fmt.Errorf("keys: reading subject key: %w", err)
	}
	dk, err := m.unwrapSubjectKey(ctx, row)
	if err != nil {
		return nil, err
	}
	m.cache.add(ck, dk, m.mono())
	return dk, nil
}

// kekFor returns the tenant's KEK of the given version, reloading the tenant
// keys once if this instance has not seen that version yet (another process
// rotated the KEK).
func (m *Manager) kekFor(ctx context.Context, tenantID string, version int) (cipher.AEAD, error) {
	tk, err := m.tenant(ctx, tenantID, false)
	if err != nil {
		return nil, err
	}
	if kek := tk.keks[version]; kek != nil {
		return kek, nil
	}
	v, _ := m.tenants.LoadOrStore(tenantID, &tenantEntry{})
	if tk, err = m.loadTenant(ctx, tenantID, v.(*tenantEntry), false, true); err != nil {
		return nil, err
	}
	if kek := tk.keks[version]; kek != nil {
		return kek, nil
	}
	return nil, fmt.Errorf("keys: tenant %s has no KEK version %d: %w", tenantID, version, ErrDecrypt)
}

func (m *Manager) unwrapSubjectKey(ctx context.Context, row store.SubjectKey) (*DataKey, error) {
	kek, err := m.kekFor(ctx, row.TenantID, row.KEKVersion)
	if err != nil {
		return nil, err
	}
	raw, err := unwrapDEK(kek, row.TenantID, row.SubjectID, row.KEKVersion, row.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("keys: subject key of tenant %s does not unwrap (altered or moved): %w", row.TenantID, err)
	}
	defer clear(raw)
	return newDataKey(raw)
}

// Shred destroys the subject's data key in the key store (and in this
// instance's cache at once; other instances stop using theirs within
// CacheTTL) and records the destruction in the shredded-keys ledger. Every
// ciphertext under the key, wherever it was copied, is then unreadable:
// the key exists nowhere else, except in key-store backups until they
// expire. Shredding twice, or a subject that never had a key, is not an
// error.
func (m *Manager) Shred(ctx context.Context, tenantID, subjectID string) error {
	if tenantID == "" || subjectID == "" {
		return errors.New("keys: empty tenant or subject id")
	}
	at := m.now()
	var deleted bool
	err := m.ks.Write(ctx, func(tx store.KeyTx) (err error) {
		deleted, err = tx.DestroySubjectKey(tenantID, subjectID, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("keys: destroying subject key: %w", err)
	}
	m.cache.tomb(cacheKey{tenantID, subjectID})
	if deleted {
		m.log.Info("subject key destroyed", "tenant", tenantID)
	}
	return nil
}

// ShreddedAt reports whether (and when) the subject's key was destroyed, from
// the ledger, so erasure can be shown after the key is gone.
func (m *Manager) ShreddedAt(ctx context.Context, tenantID, subjectID string) (time.Time, bool, error) {
	var s store.ShreddedKey
	err := m.ks.Read(ctx, func(tx store.KeyTx) (err error) {
		s, err = tx.GetShredded(tenantID, subjectID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("keys: reading the shredded-keys ledger: %w", err)
	}
	return s.DestroyedAt, true, nil
}

// BlindIndex returns HMAC-SHA256, under the tenant's index key, of kind, a
// zero byte and the normalised value (see package identity): 32 bytes that
// let the vault find a subject by email, phone or external id with an
// equality lookup, without storing the identifier in clear. The kind is part
// of the input so equal strings of different kinds never share an index.
// Without the index key, an index reveals nothing and cannot be tested
// against guesses.
func (m *Manager) BlindIndex(ctx context.Context, tenantID, kind, normalized string) ([]byte, error) {
	if kind == "" || strings.IndexByte(kind, 0) >= 0 {
		return nil, errors.New("keys: blind index kind must be non-empty and free of NUL bytes")
	}
	if normalized == "" {
		return nil, errors.New("keys: blind index of an empty value")
	}
	tk, err := m.tenant(ctx, tenantID, true)
	if err != nil {
		return nil, err
	}
	h := tk.indexPool.Get().(*indexHasher)
	h.buf = append(h.buf[:0], kind...)
	h.buf = append(h.buf, 0)
	h.buf = append(h.buf, normalized...)
	h.mac.Reset()
	h.mac.Write(h.buf)
	out := h.mac.Sum(make([]byte, 0, sha256.Size))
	clear(h.buf) // the buffer held an identifier
	if cap(h.buf) > 4096 {
		h.buf = make([]byte, 0, 128)
	}
	tk.indexPool.Put(h)
	return out, nil
}

// AuditSigner returns the tenant's Ed25519 key that signs audit checkpoints
// (a copy: callers cannot alter the cached key).
func (m *Manager) AuditSigner(ctx context.Context, tenantID string) (ed25519.PrivateKey, error) {
	tk, err := m.tenant(ctx, tenantID, true)
	if err != nil {
		return nil, err
	}
	return append(ed25519.PrivateKey(nil), tk.signer...), nil
}

// AuditPublicKey returns the public half of the tenant's audit signing key,
// for verifying checkpoints. Unlike AuditSigner it never creates keys, so
// verifying (possibly a copy of a stopped server's stores) writes nothing:
// ErrNoKey if the tenant has no signing key.
func (m *Manager) AuditPublicKey(ctx context.Context, tenantID string) (ed25519.PublicKey, error) {
	tk, err := m.tenant(ctx, tenantID, false)
	if err != nil {
		return nil, err
	}
	if tk.signer == nil {
		return nil, fmt.Errorf("keys: tenant %s has no audit signing key: %w", tenantID, ErrNoKey)
	}
	return append(ed25519.PublicKey(nil), tk.signer.Public().(ed25519.PublicKey)...), nil
}
