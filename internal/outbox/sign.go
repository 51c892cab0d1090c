package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is the replay window receivers should allow between a
// webhook's Trustee-Timestamp and their own clock.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Trustee-Signature value of a webhook: "v1=" and the hex
// HMAC-SHA256, under secret, of the timestamp (Unix seconds, as sent in
// Trustee-Timestamp), a dot, and the exact body bytes. Signing the
// timestamp with the body lets a receiver reject replays of an old request.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing Trustee-Timestamp or Trustee-Signature")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the replay window")
)

// Verify checks a received webhook as a receiver should: the timestamp is
// within tolerance of now (DefaultTolerance if zero), and one of the v1
// signatures in the Trustee-Signature header (several, comma-separated,
// while a secret is being rotated) matches the body, compared in constant
// time. It is what Trustee's own tests and Go receivers use; docs/webhooks.md
// describes the same steps for other languages.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sigs == "" {
		return ErrNoSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(Sign(secret, ts, body))
	for _, s := range strings.Split(sigs, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}
