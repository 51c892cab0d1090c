package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ErrKeyNotFound means the tenant has no key with that id.
var ErrKeyNotFound = errors.New("API key not found")

// Keys manages a tenant's API keys. Creation returns the token once; listing
// never shows secrets or hashes.
type Keys struct {
	Store store.Store
	// Auth, when set, has revoked keys dropped from its cache at once.
	Auth *Authenticator
	Now  func() time.Time
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

// Create makes a key for the tenant. ttl zero means the key does not expire.
func (k *Keys) Create(ctx context.Context, tenantID string, role Role, name, createdBy string, ttl time.Duration) (string, store.APIKey, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", store.APIKey{}, err
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", store.APIKey{}, fmt.Errorf("key name is longer than 100 characters")
	}
	if ttl < 0 {
		return "", store.APIKey{}, fmt.Errorf("key lifetime must not be negative")
	}
	now := k.now()
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	tok, key, err := NewKey(tenantID, role, name, createdBy, now, exp)
	if err != nil {
		return "", store.APIKey{}, err
	}
	if err := k.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(tenantID); err != nil {
			return err
		}
		return tx.CreateAPIKey(key)
	}); err != nil {
		return "", store.APIKey{}, err
	}
	return tok, key, nil
}

// List returns the tenant's keys without their hashes.
func (k *Keys) List(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	var keys []store.APIKey
	err := k.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		keys, err = tx.ListAPIKeys(tenantID)
		return err
	})
	for i := range keys {
		keys[i].SecretHash = nil
	}
	return keys, err
}

// Revoke disables a key of the tenant at once.
func (k *Keys) Revoke(ctx context.Context, tenantID, id string) error {
	err := k.Store.Write(ctx, func(tx store.Tx) error {
		return tx.RevokeAPIKey(tenantID, id, k.now())
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrKeyNotFound
	}
	if err == nil && k.Auth != nil {
		k.Auth.Forget(id)
	}
	return err
}
