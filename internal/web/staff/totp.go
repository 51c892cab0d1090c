package staff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
)

// TOTP per RFC 6238 with the parameters every authenticator app supports:
// HMAC-SHA1, 30-second steps from the Unix epoch, six digits. A code is
// accepted for the current step and one step either side (clock drift and
// typing time, §5.2), and never twice (the store remembers the last
// accepted step).
const (
	TOTPPeriod  = 30 * time.Second
	TOTPDigits  = 6
	totpSkew    = 1
	totpSeedLen = 20 // 160 bits, the HMAC-SHA1 block-friendly size RFC 4226 §4 recommends
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh random seed.
func NewTOTPSecret() []byte {
	s := make([]byte, totpSeedLen)
	rand.Read(s)
	return s
}

// TOTPStep is the time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// HOTP is RFC 4226's one-time password of counter c with the given number of
// digits (6 to 8).
func HOTP(secret []byte, c uint64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], c)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	code := []byte(strings.Repeat("0", digits))
	v := bin % mod
	for i := digits - 1; i >= 0; i-- {
		code[i] = byte('0' + v%10)
		v /= 10
	}
	return string(code)
}

// TOTPCode is the code for time t.
func TOTPCode(secret []byte, t time.Time) string {
	return HOTP(secret, uint64(TOTPStep(t)), TOTPDigits)
}

// CheckTOTP reports whether code is valid at now (±1 step) and the step it
// matched. Every candidate step is compared, in constant time, so timing
// does not tell which one matched.
func CheckTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := cur + d
		if s < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(HOTP(secret, uint64(s), TOTPDigits)), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// EncodeTOTPSecret is the base32 form people type into an app.
func EncodeTOTPSecret(secret []byte) string { return b32.EncodeToString(secret) }

// OTPAuthURI is the otpauth:// URI of Google Authenticator's key URI format,
// which authenticator apps import (a phone opens it when tapped; it is also
// what a QR code would hold). The label names the issuer and the account.
func OTPAuthURI(issuer, account string, secret []byte) string {
	label := url.PathEscape(issuer + ":" + account)
	q := url.Values{}
	q.Set("secret", EncodeTOTPSecret(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	return "otpauth://totp/" + label + "?" + q.Encode()
}
