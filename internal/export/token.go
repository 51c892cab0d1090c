package export

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
)

// A download token is
//
//	base64url( 0x01 || tenant id (16) || link id (16) || expires (8, Unix seconds) || HMAC-SHA256 (32) )
//
// The HMAC is under a key derived from the tenant's blind-index key (see
// Service.linkKey) over everything before it, so a token cannot be forged,
// moved to another tenant or given a later expiry without the key store.
// The link row it names makes it single-use.
const (
	tokenVersion = 0x01
	tokenBody    = 1 + 16 + 16 + 8
	tokenLen     = tokenBody + sha256.Size
)

// ErrBadToken means the token is malformed or its signature does not match;
// it says nothing more, so a guesser learns nothing.
var ErrBadToken = errors.New("export: invalid download token")

// Token is the signed content of a download link.
type Token struct {
	TenantID string
	LinkID   string
	Expires  time.Time
	mac      []byte
	body     []byte
}

func encodeToken(tenantID, linkID string, expires time.Time, key []byte) (string, error) {
	tu, err := uuid.Parse(tenantID)
	if err != nil {
		return "", errors.New("export: tenant id is not a UUID")
	}
	lu, err := uuid.Parse(linkID)
	if err != nil {
		return "", errors.New("export: link id is not a UUID")
	}
	b := make([]byte, 0, tokenLen)
	b = append(b, tokenVersion)
	b = append(b, tu[:]...)
	b = append(b, lu[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	m := hmac.New(sha256.New, key)
	m.Write(b)
	b = m.Sum(b)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseToken decodes a token without checking its signature (which needs
// the tenant's key: Token.Verify). It is strict: one exact length, one
// version, canonical base64url without padding.
func ParseToken(s string) (Token, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return Token{}, ErrBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return Token{}, ErrBadToken
	}
	tu, _ := uuid.FromBytes(b[1:17])
	lu, _ := uuid.FromBytes(b[17:33])
	secs := binary.BigEndian.Uint64(b[33:41])
	if secs > 1<<40 {
		return Token{}, ErrBadToken
	}
	return Token{TenantID: tu.String(), LinkID: lu.String(), Expires: time.Unix(int64(secs), 0).UTC(),
		body: b[:tokenBody], mac: b[tokenBody:]}, nil
}

// Verify reports whether the token was signed with key.
func (t Token) Verify(key []byte) bool {
	if len(t.body) != tokenBody {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(t.body)
	return hmac.Equal(m.Sum(nil), t.mac)
}
