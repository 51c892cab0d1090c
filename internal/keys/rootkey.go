// Package keys holds Trustee's key hierarchy and the cryptography on it.
//
// The root key is a Tink AEAD keyset kept outside every database (a file with
// mode 0600, an environment variable, or later a KMS). It wraps each tenant's
// keys — a KEK, a blind-index key and an audit signing key — which live,
// wrapped, in the key store (store.KeyStore), apart from the data. The KEK
// wraps one data key per subject (DataKey), which encrypts the subject's
// field values and records with associated data binding each ciphertext to
// its tenant, subject and field or record. Destroying a subject's data key
// (Manager.Shred) makes everything encrypted under it unreadable for good:
// crypto-shredding. A copy of the data store alone, or of the key store
// alone, reveals no personal data; see docs/security.md for the threat model
// and rotate.go for rotation.
package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// RootKeyEnv names the environment variable that may carry the root keyset
// (its JSON, or that JSON in base64) instead of a file.
const RootKeyEnv = "TRUSTEE_ROOT_KEY"

// RootKey is the loaded root keyset with its AEAD primitive. It encrypts
// with its primary key and decrypts with any enabled key of the keyset, which
// is what lets tenant keys be re-wrapped under a new root key while the old
// one still opens what it wrapped.
type RootKey struct {
	handle  *keyset.Handle
	aead    tink.AEAD
	primary uint32
	ids     []uint32 // enabled key ids, ascending
}

// AEAD is the primitive that wraps tenant keys.
func (r *RootKey) AEAD() tink.AEAD { return r.aead }

// Handle exposes the keyset for rotation.
func (r *RootKey) Handle() *keyset.Handle { return r.handle }

// PrimaryKeyID is the id of the key that wraps new tenant keys; the key store
// records it next to every wrapped key so a root key can be retired once
// nothing references it.
func (r *RootKey) PrimaryKeyID() uint32 { return r.primary }

// KeyIDs returns the ids of the keyset's enabled keys, ascending.
func (r *RootKey) KeyIDs() []uint32 { return slices.Clone(r.ids) }

// Has reports whether the keyset holds the enabled key id, so a failure to
// unwrap can be told apart: an unknown key (the file was rotated by another
// process; reload it) or tampering (a known key that does not open).
func (r *RootKey) Has(id uint32) bool {
	_, ok := slices.BinarySearch(r.ids, id)
	return ok
}

// GenerateRootKey makes a fresh AES-256-GCM root keyset and returns it in
// Tink's JSON keyset format.
func GenerateRootKey() ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("generate root key: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("encode root key: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteRootKeyFile creates path with a new root key, mode 0600, refusing to
// overwrite an existing file (a lost root key makes every tenant's data
// unreadable, so it is never replaced silently).
func WriteRootKeyFile(path string) error {
	b, err := GenerateRootKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite a root key", path)
		}
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	// A key that may not have reached the disk is removed like a partly
	// written one: the caller is told init failed, and a leftover file
	// would make the retry refuse to write a new key.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// LoadRootKey reads the root key from path, or from TRUSTEE_ROOT_KEY when
// path is empty. A key file readable by group or others is refused.
func LoadRootKey(path string) (*RootKey, error) {
	var data []byte
	switch {
	case path != "":
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("root key: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("root key %s is readable by other users (mode %v); run chmod 600 %s", path, st.Mode().Perm(), path)
		}
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("root key: %w", err)
		}
	case os.Getenv(RootKeyEnv) != "":
		v := strings.TrimSpace(os.Getenv(RootKeyEnv))
		if !strings.HasPrefix(v, "{") {
			dec, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("%s is neither a JSON keyset nor base64 of one", RootKeyEnv)
			}
			v = string(dec)
		}
		data = []byte(v)
	default:
		return nil, fmt.Errorf("no root key: pass --key-file (create one with `trustee init`) or set %s", RootKeyEnv)
	}
	return ParseRootKey(data)
}

// ParseRootKey reads a JSON keyset.
func ParseRootKey(data []byte) (*RootKey, error) {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, errors.New("root key is not a valid Tink JSON keyset")
	}
	return newRootKey(h)
}

func newRootKey(h *keyset.Handle) (*RootKey, error) {
	p, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("root key is not an AEAD keyset: %w", err)
	}
	info := h.KeysetInfo()
	r := &RootKey{handle: h, aead: p, primary: info.GetPrimaryKeyId()}
	for _, k := range info.GetKeyInfo() {
		if k.GetStatus() == tinkpb.KeyStatusType_ENABLED {
			r.ids = append(r.ids, k.GetKeyId())
		}
	}
	slices.Sort(r.ids)
	return r, nil
}
