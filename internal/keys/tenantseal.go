package keys

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Purposes of SealTenant. A purpose is part of the associated data of every
// envelope, so a ciphertext sealed for one use is never accepted by another
// (an outbox payload cannot be passed off as, say, an export), even under
// the same tenant key and the same caller-supplied associated data.
const (
	// PurposeOutbox seals queued emails and webhooks (package outbox):
	// recipient addresses, subject lines, bodies, webhook URLs and secrets.
	PurposeOutbox = "outbox"
)

// formatEnvelope is a tenant-sealed ciphertext:
//
//	0x02 || KEK version (4, big endian) || wrapped DEK (61) || nonce (12) || ciphertext || tag (16)
//
// The DEK is fresh for every envelope and wrapped under the tenant's KEK with
// associated data binding tenant, purpose and KEK version; the payload is
// sealed under the DEK with associated data binding tenant, purpose and the
// caller's associated data (typically a row id).
const formatEnvelope byte = 0x02

// Layout of an envelope.
const (
	envWrappedLen = dataKeySize + gcmOverhead // formatGCM || nonce || DEK || tag
	envHeaderLen  = 1 + 4 + envWrappedLen
	envOverhead   = envHeaderLen + 12 + 16
)

// Domain tags of envelope associated data.
const (
	tagTenantDEK  = "trustee/v1/tenant-envelope-dek"
	tagTenantData = "trustee/v1/tenant-envelope-data"
)

// SealTenant encrypts tenant-level data that belongs to no subject key — an
// email queued for delivery, a webhook secret — so it can be stored in the
// data store without being readable there.
//
// It is envelope encryption under the tenant's KEK rather than a separate
// tenant key: the KEK's one job stays wrapping data keys (here a fresh
// AES-256 key per call), no new key material or key-store schema is needed,
// EnsureTenant already creates what it uses, and `trustee keys rotate`
// covers it: an envelope names the KEK version that wrapped its key, and
// retired versions keep opening what they wrapped. The payload is sealed
// with AES-256-GCM under the fresh key, bound to tenant, purpose and ad, so
// a ciphertext copied to another row (another ad), tenant or purpose does
// not open.
//
// Unlike subject data, a tenant-sealed ciphertext survives the erasure of
// any subject: callers that hold personal data this way delete it when it
// is no longer needed (the outbox deletes a payload once delivered).
func (m *Manager) SealTenant(ctx context.Context, tenantID, purpose string, ad, plaintext []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("keys: seal: empty purpose")
	}
	tk, err := m.tenant(ctx, tenantID, true)
	if err != nil {
		return nil, err
	}
	var raw [dataKeySize]byte
	rand.Read(raw[:])
	defer clear(raw[:])
	dek, err := newAEAD(raw[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, envOverhead+len(plaintext))
	out = append(out, formatEnvelope)
	out = binary.BigEndian.AppendUint32(out, uint32(tk.kekVersion))
	out = append(out, formatGCM)
	out = tk.keks[tk.kekVersion].Seal(out, nil, raw[:], tenantDEKAD(tenantID, purpose, tk.kekVersion))
	return dek.Seal(out, nil, plaintext, tenantDataAD(tenantID, purpose, ad)), nil
}

// OpenTenant decrypts what SealTenant sealed with the same tenant, purpose
// and ad. A ciphertext that was altered, truncated, or moved to another
// tenant, purpose or ad gives ErrDecrypt; a tenant without keys gives
// ErrNoKey.
func (m *Manager) OpenTenant(ctx context.Context, tenantID, purpose string, ad, ciphertext []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("keys: open: empty purpose")
	}
	if len(ciphertext) < envOverhead || ciphertext[0] != formatEnvelope || ciphertext[5] != formatGCM {
		return nil, ErrDecrypt
	}
	version := int(binary.BigEndian.Uint32(ciphertext[1:5]))
	if version < 1 || version > 1<<30 {
		return nil, ErrDecrypt
	}
	kek, err := m.kekFor(ctx, tenantID, version)
	if err != nil {
		if errors.Is(err, ErrNoKey) {
			return nil, err
		}
		if errors.Is(err, ErrDecrypt) {
			return nil, ErrDecrypt
		}
		return nil, fmt.Errorf("keys: open: %w", err)
	}
	raw, err := kek.Open(make([]byte, 0, dataKeySize), nil, ciphertext[6:envHeaderLen], tenantDEKAD(tenantID, purpose, version))
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(raw)
	dek, err := newAEAD(raw)
	if err != nil {
		return nil, ErrDecrypt
	}
	out, err := dek.Open(nil, nil, ciphertext[envHeaderLen:], tenantDataAD(tenantID, purpose, ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// tenantDEKAD binds an envelope's wrapped key to tenant, purpose and the KEK
// version that wrapped it.
func tenantDEKAD(tenantID, purpose string, kekVersion int) []byte {
	b := make([]byte, 0, adLen(tagTenantDEK, tenantID, purpose)+4)
	b = appendLP(b, tagTenantDEK)
	b = appendLP(b, tenantID)
	b = appendLP(b, purpose)
	return binary.BigEndian.AppendUint32(b, uint32(kekVersion))
}

// tenantDataAD binds an envelope's payload to tenant, purpose and the
// caller's associated data.
func tenantDataAD(tenantID, purpose string, ad []byte) []byte {
	b := make([]byte, 0, adLen(tagTenantData, tenantID, purpose)+4+len(ad))
	b = appendLP(b, tagTenantData)
	b = appendLP(b, tenantID)
	b = appendLP(b, purpose)
	return appendLP(b, string(ad))
}
