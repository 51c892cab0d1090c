package rights

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Subject tokens (app_token verification).
//
// An application that has already signed its user in asks Trustee for a
// token naming that subject (POST /v1/subjects/{id}/token) and hands it to
// the privacy center; the token proves the requester is the subject without
// another code. A token is
//
//	base64url( version(1) | tenant uuid(16) | subject uuid(16) | expires unix seconds(8) | MAC(32) )
//
// where MAC is HMAC-SHA256 under the tenant's index key (keys.BlindIndex)
// over the payload with the kind "subject-token:v1:" + Audience, so a token
// minted for the privacy center is accepted nowhere else, and cannot be
// forged without the tenant's key. Tokens live minutes (TokenTTL, at most
// MaxTokenTTL); they are bearer credentials and never logged.

// Audience is the only audience subject tokens are minted for.
const Audience = "privacy-center"

// Token lifetimes.
const (
	TokenTTL    = 10 * time.Minute
	MaxTokenTTL = time.Hour
)

const (
	subjectTokenVersion = 1
	subjectTokenKind    = "subject-token:v1:" + Audience
	subjectTokenPayload = 1 + 16 + 16 + 8
	maxTokenLen         = 128
)

// MintToken returns a subject token for the privacy center, valid for ttl
// (TokenTTL when zero, at most MaxTokenTTL) from now.
func MintToken(ctx context.Context, km *keys.Manager, tenantID, subjectID string, ttl time.Duration, now time.Time) (string, time.Time, error) {
	tu, err := uuid.Parse(tenantID)
	if err != nil {
		return "", time.Time{}, errors.New("rights: token: tenant id is not a UUID")
	}
	su, err := uuid.Parse(subjectID)
	if err != nil {
		return "", time.Time{}, errors.New("rights: token: subject id is not a UUID")
	}
	if ttl <= 0 {
		ttl = TokenTTL
	}
	ttl = min(ttl, MaxTokenTTL)
	exp := now.Add(ttl).Truncate(time.Second).UTC()
	payload := make([]byte, 0, subjectTokenPayload+32)
	payload = append(payload, subjectTokenVersion)
	payload = append(payload, tu[:]...)
	payload = append(payload, su[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp.Unix()))
	mac, err := km.BlindIndex(ctx, tenantID, subjectTokenKind, base64.RawURLEncoding.EncodeToString(payload))
	if err != nil {
		return "", time.Time{}, err
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, mac...)), exp, nil
}

// VerifyToken checks a subject token of the tenant and returns its
// subject. Every failure (malformed, other tenant, expired, forged) is
// ErrBadToken, so a prober learns nothing from the answer.
func VerifyToken(ctx context.Context, km *keys.Manager, tenantID, token string, now time.Time) (string, error) {
	sub, _, err := verifyToken(ctx, km, tenantID, token, now)
	return sub, err
}

// ErrTokenUsed means the subject token was exchanged already: tokens sign a
// person in once.
var ErrTokenUsed = errors.New("rights: the subject token has been used already")

// ConsumeToken verifies a subject token and spends it: a second exchange
// of the same token fails with ErrTokenUsed, so a token left in a
// browser's history or a log cannot sign anyone in again. It returns the
// subject id.
func ConsumeToken(ctx context.Context, st store.Store, km *keys.Manager, tenantID, token string, now time.Time) (string, error) {
	sub, exp, err := verifyToken(ctx, km, tenantID, token, now)
	if err != nil {
		return "", err
	}
	// The decoded bytes, not the text: base64 may spell the same token in
	// more than one way (the spare bits of its last character).
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	sum := sha256.Sum256(raw)
	var first bool
	if err := st.Write(ctx, func(tx store.Tx) error {
		var err error
		first, err = tx.UseToken(tenantID, sum[:], exp, now)
		return err
	}); err != nil {
		return "", err
	}
	if !first {
		return "", ErrTokenUsed
	}
	return sub, nil
}

func verifyToken(ctx context.Context, km *keys.Manager, tenantID, token string, now time.Time) (string, time.Time, error) {
	if len(token) > maxTokenLen {
		return "", time.Time{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != subjectTokenPayload+32 || raw[0] != subjectTokenVersion {
		return "", time.Time{}, ErrBadToken
	}
	payload, mac := raw[:subjectTokenPayload], raw[subjectTokenPayload:]
	tu, _ := uuid.FromBytes(payload[1:17])
	su, _ := uuid.FromBytes(payload[17:33])
	if tu.String() != tenantID {
		return "", time.Time{}, ErrBadToken
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload[33:41])), 0)
	if !now.Before(exp) {
		return "", time.Time{}, ErrBadToken
	}
	want, err := km.BlindIndex(ctx, tenantID, subjectTokenKind, base64.RawURLEncoding.EncodeToString(payload))
	if err != nil {
		return "", time.Time{}, err
	}
	if !hmac.Equal(mac, want) {
		return "", time.Time{}, ErrBadToken
	}
	return su.String(), exp, nil
}

// SubjectToken mints a subject token for an existing subject of the
// tenant and records it in the audit log (never the token).
func (s *Service) SubjectToken(ctx context.Context, tenantID, subjectID string, ttl time.Duration, by Actor) (string, time.Time, error) {
	now := s.now()
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		sub, err := tx.GetSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && sub.State == store.SubjectErased) {
			return ErrNoSubject
		}
		if err != nil {
			return err
		}
		return s.Audit.Append(tx, tenantID, audit.Event{Actor: by.ID, Role: by.Role, RequestID: by.RequestID, Action: "subject.token",
			SubjectID: subjectID, Outcome: audit.OutcomeOK, Reason: "audience " + Audience, At: now})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return MintToken(ctx, s.Keys, tenantID, subjectID, ttl, now)
}
