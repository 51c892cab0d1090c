package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"

	"github.com/trustee-privacy/trustee/internal/keys"
)

func init() { openAuditKeys = openAuditKeysFromStore }

// openAuditKeysFromStore reads tenants' audit public keys from the key store,
// unlocked by the root key, without creating any key.
func openAuditKeysFromStore(ctx context.Context, keysDSN, keyFile string) (auditPublicKeys, io.Closer, error) {
	root, err := keys.LoadRootKey(keyFile)
	if err != nil {
		return nil, nil, err
	}
	ks, err := openExistingKeyStore(ctx, keysDSN)
	if err != nil {
		return nil, nil, err
	}
	return chainOnlyWithoutKey{keys.NewManager(root, ks, keys.ManagerOptions{})}, ks, nil
}

// chainOnlyWithoutKey answers "no key" for a tenant that never signed a
// checkpoint, so its chains are still verified.
type chainOnlyWithoutKey struct{ m *keys.Manager }

func (c chainOnlyWithoutKey) AuditPublicKey(ctx context.Context, tenantID string) (ed25519.PublicKey, error) {
	pub, err := c.m.AuditPublicKey(ctx, tenantID)
	if errors.Is(err, keys.ErrNoKey) {
		return nil, nil
	}
	return pub, err
}
