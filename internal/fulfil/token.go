package fulfil

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"regexp"

	"github.com/google/uuid"
)

// Acknowledgement tokens.
//
// The ack URL sent to a recipient ends in a token naming the tenant, the
// request and the recipient, with a MAC over them: the first 16 bytes of an
// HMAC-SHA256 under the tenant's index key with the distinct kind
// "propagation-ack:v1" (the same construction as unsubscribe tokens, with
// another kind, so neither token passes for the other). The token holds
// no personal data; forging one needs the tenant's key, and the worst a
// leaked one allows is acknowledging that one recipient's notice.
//
// Layout, base64url without padding:
//
//	version (1) || tenant UUID (16) || len(request id) (1) || request id || recipient key || MAC (16)

const (
	ackTokenVersion = 1
	ackMACLen       = 16
	ackKind         = "propagation-ack:v1"
	// maxAckToken bounds what is decoded: the longest valid token.
	maxAckToken = 400
)

// ErrBadToken means an acknowledgement token is malformed, forged or names
// nothing; every failure looks the same to the caller.
var ErrBadToken = errors.New("the acknowledgement link is not valid")

// AckToken is what an acknowledgement token names.
type AckToken struct {
	TenantID  string
	RequestID string
	Recipient string
	// payload and mac are the signed bytes and their MAC, for Verify.
	payload, mac []byte
}

// recipientKeyRE matches recipient keys of a policy (lower snake case) and
// the reserved key of the application endpoint.
var recipientKeyRE = regexp.MustCompile(`^(_application|[a-z][a-z0-9_]{0,62})$`)

// requestIDRE bounds request ids to the characters of ids Trustee makes.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// ackPayload builds the signed part of a token.
func ackPayload(tenantID, requestID, recipient string) ([]byte, error) {
	tu, err := uuid.Parse(tenantID)
	if err != nil {
		return nil, errors.New("fulfil: tenant id is not a UUID")
	}
	if !requestIDRE.MatchString(requestID) {
		return nil, errors.New("fulfil: request id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -")
	}
	if !recipientKeyRE.MatchString(recipient) {
		return nil, errors.New("fulfil: malformed recipient key")
	}
	p := make([]byte, 0, 1+16+1+len(requestID)+len(recipient)+ackMACLen)
	p = append(p, ackTokenVersion)
	p = append(p, tu[:]...)
	p = append(p, byte(len(requestID)))
	p = append(p, requestID...)
	p = append(p, recipient...)
	return p, nil
}

// ParseAckToken decodes a token without checking its MAC: the shape only.
// Use Service.VerifyAckToken before trusting it.
func ParseAckToken(token string) (AckToken, error) {
	if len(token) > maxAckToken {
		return AckToken{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+16+1+1+1+ackMACLen || raw[0] != ackTokenVersion {
		return AckToken{}, ErrBadToken
	}
	payload, mac := raw[:len(raw)-ackMACLen], raw[len(raw)-ackMACLen:]
	n := int(payload[17])
	rest := payload[18:]
	if n == 0 || n >= len(rest) {
		return AckToken{}, ErrBadToken
	}
	tu, err := uuid.FromBytes(payload[1:17])
	if err != nil {
		return AckToken{}, ErrBadToken
	}
	t := AckToken{TenantID: tu.String(), RequestID: string(rest[:n]), Recipient: string(rest[n:]), payload: payload, mac: mac}
	if !requestIDRE.MatchString(t.RequestID) || !recipientKeyRE.MatchString(t.Recipient) {
		return AckToken{}, ErrBadToken
	}
	return t, nil
}

// ackToken returns the token for a recipient of a request.
func (s *Service) ackToken(ctx context.Context, tenantID, requestID, recipient string) (string, error) {
	p, err := ackPayload(tenantID, requestID, recipient)
	if err != nil {
		return "", err
	}
	mac, err := s.o.Keys.BlindIndex(ctx, tenantID, ackKind, base64.RawURLEncoding.EncodeToString(p))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(p, mac[:ackMACLen]...)), nil
}

// VerifyAckToken parses a token and checks its MAC. The tenant must exist
// before its key is used: keys are never created for a tenant named by a
// stranger. Every failure of the token itself is ErrBadToken.
func (s *Service) VerifyAckToken(ctx context.Context, token string) (AckToken, error) {
	t, err := ParseAckToken(token)
	if err != nil {
		return AckToken{}, err
	}
	if _, err := s.o.Tenants.Get(ctx, t.TenantID); err != nil {
		if tenantMissing(err) {
			return AckToken{}, ErrBadToken
		}
		return AckToken{}, err
	}
	want, err := s.o.Keys.BlindIndex(ctx, t.TenantID, ackKind, base64.RawURLEncoding.EncodeToString(t.payload))
	if err != nil {
		return AckToken{}, err
	}
	if !hmac.Equal(t.mac, want[:ackMACLen]) {
		return AckToken{}, ErrBadToken
	}
	return t, nil
}
