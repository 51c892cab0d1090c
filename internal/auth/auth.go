// Package auth turns an API key into a principal: which tenant the caller
// acts for and with which role. Keys are random, shown once, stored only as a
// SHA-256 hash and compared in constant time; every check that a role may do
// something goes through Allowed so the permission matrix lives in one place.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Role is what a key may do inside its tenant.
type Role string

// The roles. They follow the people who use Trustee: the tenant's
// administrator, the privacy team, support staff, the application backend,
// and an auditor who may read records but never personal data.
const (
	RoleAdmin   Role = "admin"
	RoleDPO     Role = "dpo"
	RoleAgent   Role = "agent"
	RoleService Role = "service"
	RoleAuditor Role = "auditor"
)

// Roles lists every role in a stable order.
var Roles = []Role{RoleAdmin, RoleDPO, RoleAgent, RoleService, RoleAuditor}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: use one of admin, dpo, agent, service, auditor", s)
}

// Principal is an authenticated caller.
type Principal struct {
	KeyID    string
	TenantID string
	Role     Role
}

// Actor names the principal in records (audit, policy versions) without
// revealing the secret: "apikey:<id>".
func (p Principal) Actor() string { return "apikey:" + p.KeyID }

// Errors of authentication. Both map to 401: the caller learns nothing about
// whether a key id exists.
var (
	ErrNoCredentials = errors.New("no API key: send Authorization: Bearer <key>")
	ErrInvalidKey    = errors.New("invalid, expired or revoked API key")
)

const (
	tokenPrefix = "trustee_"
	idLen       = 16 // base32 characters: 80 bits, public
	secretBytes = 32 // 256 bits, secret
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey creates a key for tenantID with role. The returned token is the only
// time the secret exists in plain text; only the hash goes into the store.
func NewKey(tenantID string, role Role, name, createdBy string, now time.Time, expiresAt time.Time) (token string, key store.APIKey, err error) {
	idRaw := make([]byte, 10)
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(idRaw); err != nil {
		return "", store.APIKey{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", store.APIKey{}, err
	}
	id := strings.ToLower(idEncoding.EncodeToString(idRaw))
	sec := base64.RawURLEncoding.EncodeToString(secret)
	h := sha256.Sum256([]byte(sec))
	key = store.APIKey{
		ID: id, TenantID: tenantID, Role: string(role), Name: name,
		SecretHash: h[:], CreatedAt: now.UTC(), CreatedBy: createdBy, ExpiresAt: expiresAt,
	}
	return tokenPrefix + id + "_" + sec, key, nil
}

// splitToken separates "trustee_<id>_<secret>"; ok is false for anything else.
func splitToken(tok string) (id, secret string, ok bool) {
	if !strings.HasPrefix(tok, tokenPrefix) {
		return "", "", false
	}
	rest := tok[len(tokenPrefix):]
	if len(rest) != idLen+1+43 || rest[idLen] != '_' {
		return "", "", false
	}
	return rest[:idLen], rest[idLen+1:], true
}

// KeyID extracts the public id of a token, for logs and audit; "" if the
// token is malformed.
func KeyID(tok string) string {
	id, _, _ := splitToken(tok)
	return id
}

// Authenticator checks bearer tokens against the store. Successful lookups
// are cached for a short time so a busy API does not read the key table on
// every request; a revocation through this Authenticator takes effect at
// once, one made by another instance within CacheTTL.
type Authenticator struct {
	Store    store.Store
	Now      func() time.Time
	CacheTTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedKey
	// gen counts Forget calls: a lookup that a revocation overtook while
	// it read the store must not cache the key it read.
	gen uint64
}

type cachedKey struct {
	key     store.APIKey
	fetched time.Time
}

// dummyHash is compared against when a key id is unknown so that an unknown
// id and a wrong secret take the same time.
var dummyHash = sha256.Sum256([]byte("trustee-unknown-key"))

// Authenticate validates the value of an Authorization header.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	// The scheme name is case-insensitive (RFC 9110 section 11.1).
	tok, ok := "", len(header) > 7 && strings.EqualFold(header[:7], "Bearer ")
	if ok {
		tok = header[7:]
	}
	if !ok {
		if header == "" {
			return Principal{}, ErrNoCredentials
		}
		return Principal{}, ErrInvalidKey
	}
	id, secret, ok := splitToken(strings.TrimSpace(tok))
	if !ok {
		return Principal{}, ErrInvalidKey
	}
	key, found, err := a.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	got := sha256.Sum256([]byte(secret))
	want := dummyHash[:]
	if found {
		want = key.SecretHash
	}
	match := subtle.ConstantTimeCompare(got[:], want) == 1
	if !found || !match {
		return Principal{}, ErrInvalidKey
	}
	now := a.now()
	if !key.RevokedAt.IsZero() || (!key.ExpiresAt.IsZero() && !now.Before(key.ExpiresAt)) {
		return Principal{}, ErrInvalidKey
	}
	role, err := ParseRole(key.Role)
	if err != nil {
		return Principal{}, ErrInvalidKey
	}
	return Principal{KeyID: key.ID, TenantID: key.TenantID, Role: role}, nil
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Authenticator) lookup(ctx context.Context, id string) (store.APIKey, bool, error) {
	now := a.now()
	a.mu.Lock()
	if c, ok := a.cache[id]; ok && now.Sub(c.fetched) < a.CacheTTL {
		a.mu.Unlock()
		return c.key, true, nil
	}
	gen := a.gen
	a.mu.Unlock()
	var key store.APIKey
	err := a.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		key, err = tx.GetAPIKey(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, false, nil
	}
	if err != nil {
		return store.APIKey{}, false, fmt.Errorf("look up API key: %w", err)
	}
	if a.CacheTTL > 0 {
		a.mu.Lock()
		if a.gen == gen {
			if a.cache == nil {
				a.cache = make(map[string]cachedKey)
			}
			if len(a.cache) > 10000 {
				clear(a.cache)
			}
			a.cache[id] = cachedKey{key: key, fetched: now}
		}
		a.mu.Unlock()
	}
	return key, true, nil
}

// Forget drops a key from the cache, so a revocation made here is effective
// for the next request.
func (a *Authenticator) Forget(id string) {
	a.mu.Lock()
	delete(a.cache, id)
	a.gen++
	a.mu.Unlock()
}
