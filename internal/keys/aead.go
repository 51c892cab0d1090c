package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
)

// Errors the Manager and DataKey return, so callers can branch with
// errors.Is. None of them carries key material or plaintext.
var (
	// ErrShredded means the subject's data key was destroyed: everything
	// encrypted under it is unreadable for good. The vault reports the
	// subject as erased.
	ErrShredded = errors.New("keys: the subject's data key was destroyed (crypto-shredded)")
	// ErrNoKey means no key was ever created (for this subject, or for this
	// tenant), as opposed to one that was destroyed.
	ErrNoKey = errors.New("keys: no key")
	// ErrKeyExists means NewSubjectKey was called for a subject that
	// already has a data key; replacing it would orphan its data.
	ErrKeyExists = errors.New("keys: the subject already has a data key")
	// ErrDecrypt means a ciphertext does not open: tampered with, truncated,
	// under another key, or bound to other associated data (copied from
	// another row). Deliberately one error for all of them.
	ErrDecrypt = errors.New("keys: decryption failed")
)

// Ciphertext formats. The first byte of every ciphertext this package makes
// names its format, so the format can change (another AEAD, a longer nonce)
// without guessing what old rows are.
const (
	// formatGCM is AES-256-GCM with a random 96-bit nonce:
	// 0x01 || nonce (12) || ciphertext || tag (16).
	formatGCM byte = 0x01
	// gcmOverhead is the length a GCM ciphertext adds to its plaintext.
	gcmOverhead = 1 + 12 + 16
)

// dataKeySize is the length of every symmetric key this package generates
// (AES-256), and of the index key and the Ed25519 seed.
const dataKeySize = 32

// DataKey is a subject's unwrapped data key (DEK). It encrypts the subject's
// field values and collection records with AES-256-GCM; a fresh random nonce
// per Seal means one key may seal up to 2^32 values (far more than a subject
// has) with a negligible chance of a nonce repeating. A DataKey is safe for
// concurrent use and holds no mutable state, so the Manager can share one
// from its cache.
type DataKey struct {
	aead cipher.AEAD
}

// newAEAD makes AES-256-GCM with random nonces from crypto/rand (the
// standard library generates them, so no caller can pass a fixed one).
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// newDataKey wraps raw key material; the caller clears raw afterwards if it
// wants to (the expanded AES key stays inside the AEAD).
func newDataKey(raw []byte) (*DataKey, error) {
	a, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	return &DataKey{aead: a}, nil
}

// Seal encrypts plaintext bound to ad (use FieldAD or RecordAD) and returns
// the versioned ciphertext. It allocates the result only.
func (k *DataKey) Seal(ad, plaintext []byte) ([]byte, error) {
	return k.SealAppend(make([]byte, 0, len(plaintext)+gcmOverhead), ad, plaintext), nil
}

// SealAppend appends the ciphertext of plaintext to dst and returns the
// extended slice, for callers that reuse buffers. dst and plaintext must not
// overlap.
func (k *DataKey) SealAppend(dst, ad, plaintext []byte) []byte {
	dst = append(dst, formatGCM)
	return k.aead.Seal(dst, nil, plaintext, ad)
}

// Open decrypts a ciphertext made by Seal with the same ad. Any change to
// the ciphertext, a different ad (the ciphertext was moved to another row,
// subject or tenant) or another key gives ErrDecrypt.
func (k *DataKey) Open(ad, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < gcmOverhead {
		return nil, ErrDecrypt
	}
	return k.OpenAppend(make([]byte, 0, len(ciphertext)-gcmOverhead), ad, ciphertext)
}

// OpenAppend appends the plaintext of ciphertext to dst, for callers that
// reuse buffers.
func (k *DataKey) OpenAppend(dst, ad, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < gcmOverhead || ciphertext[0] != formatGCM {
		return nil, ErrDecrypt
	}
	out, err := k.aead.Open(dst, nil, ciphertext[1:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// Domain tags of associated data. Each use of a key has its own tag, so a
// ciphertext made for one use (a field) can never be accepted as another (a
// record, a wrapped key), even with equal components.
const (
	tagField     = "trustee/v1/field"
	tagRecord    = "trustee/v1/record"
	tagTenantKey = "trustee/v1/tenant-key"
	tagDEK       = "trustee/v1/subject-dek"
)

// appendLP appends s with a 4-byte big-endian length prefix: the encoding of
// every component of associated data, so ("ab", "c") and ("a", "bc") differ.
func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func adLen(parts ...string) int {
	n := 0
	for _, p := range parts {
		n += 4 + len(p)
	}
	return n
}

// FieldAD is the associated data of a field value: it binds the ciphertext to
// its tenant, subject and field name, so a value copied into another field,
// subject or tenant fails to decrypt.
func FieldAD(tenantID, subjectID, field string) []byte {
	b := make([]byte, 0, adLen(tagField, tenantID, subjectID, field))
	b = appendLP(b, tagField)
	b = appendLP(b, tenantID)
	b = appendLP(b, subjectID)
	return appendLP(b, field)
}

// RecordAD is the associated data of a collection record: tenant, subject,
// collection and record id, so a record cannot be moved to another
// collection, subject or position.
func RecordAD(tenantID, subjectID, collection, recordID string) []byte {
	b := make([]byte, 0, adLen(tagRecord, tenantID, subjectID, collection, recordID))
	b = appendLP(b, tagRecord)
	b = appendLP(b, tenantID)
	b = appendLP(b, subjectID)
	b = appendLP(b, collection)
	return appendLP(b, recordID)
}

// tenantKeyAD binds a wrapped tenant key to its tenant, purpose and version,
// so a wrapped key copied to another tenant's row, or passed off as another
// purpose, does not unwrap.
func tenantKeyAD(tenantID, purpose string, version int) []byte {
	b := make([]byte, 0, adLen(tagTenantKey, tenantID, purpose)+4)
	b = appendLP(b, tagTenantKey)
	b = appendLP(b, tenantID)
	b = appendLP(b, purpose)
	return binary.BigEndian.AppendUint32(b, uint32(version))
}

// dekAD binds a wrapped subject key to its tenant, subject and the KEK
// version that wrapped it.
func dekAD(tenantID, subjectID string, kekVersion int) []byte {
	b := make([]byte, 0, adLen(tagDEK, tenantID, subjectID)+4)
	b = appendLP(b, tagDEK)
	b = appendLP(b, tenantID)
	b = appendLP(b, subjectID)
	return binary.BigEndian.AppendUint32(b, uint32(kekVersion))
}

// wrapDEK encrypts a subject's raw data key under a tenant KEK.
func wrapDEK(kek cipher.AEAD, tenantID, subjectID string, kekVersion int, dek []byte) []byte {
	out := make([]byte, 0, len(dek)+gcmOverhead)
	out = append(out, formatGCM)
	return kek.Seal(out, nil, dek, dekAD(tenantID, subjectID, kekVersion))
}

// unwrapDEK reverses wrapDEK; ErrDecrypt if the wrapped key was altered or
// moved to another subject, tenant or KEK version.
func unwrapDEK(kek cipher.AEAD, tenantID, subjectID string, kekVersion int, wrapped []byte) ([]byte, error) {
	if len(wrapped) != dataKeySize+gcmOverhead || wrapped[0] != formatGCM {
		return nil, ErrDecrypt
	}
	dek, err := kek.Open(make([]byte, 0, dataKeySize), nil, wrapped[1:], dekAD(tenantID, subjectID, kekVersion))
	if err != nil {
		return nil, ErrDecrypt
	}
	return dek, nil
}
