package consent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Proof is what the ledger keeps to show that a choice was made, by whom
// and after reading what, without keeping identifiers in clear (GDPR Art.
// 7(1): the controller must be able to demonstrate consent; Art. 5(1)(c):
// no more than needed).
type Proof struct {
	// Text is the request for consent exactly as shown; only its hash is
	// kept. TextHash may be given instead ("sha256:" and 64 hex digits).
	Text     string
	TextHash string
	// IP is the person's address as the application saw it; only a keyed
	// hash (under the tenant's index key, kind "consent:ip") is kept, so
	// it can be matched against a known address but not read.
	IP string
	// UserAgent is the person's browser, kept up to 512 bytes.
	UserAgent string
	// PageURL is where the choice was made; the query and fragment are
	// dropped (they carry tokens and tracking ids).
	PageURL string
}

// Limits on proof values.
const (
	maxUserAgent = 512
	maxPageURL   = 2048
	maxText      = 16 << 10
	maxSource    = 128
)

var textHashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// TextHash returns the hash kept for a text shown to the person:
// "sha256:" and the hex SHA-256 of its UTF-8 bytes, exactly as shown.
func TextHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ipKind is the blind-index kind of consent IP hashes, distinct from every
// identity kind so the hashes cannot be matched against other indexes.
const ipKind = "consent:ip"

// ipHash returns the keyed hash of an IP address, or "" for none.
func (s *Service) ipHash(ctx context.Context, tenantID, ip string) (string, error) {
	if ip == "" {
		return "", nil
	}
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		return "", err
	}
	h, err := s.Keys.BlindIndex(ctx, tenantID, ipKind, addr.Unmap().String())
	if err != nil {
		return "", err
	}
	return "hmac-sha256:" + hex.EncodeToString(h), nil
}

// cleanPageURL keeps scheme, host and path of an absolute http(s) URL.
func cleanPageURL(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	if len(raw) > maxPageURL || !utf8.ValidString(raw) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	return u.String(), true
}

// cleanUserAgent truncates a user agent on a rune boundary and drops
// control characters.
func cleanUserAgent(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, ua)
	for len(ua) > maxUserAgent {
		_, size := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-size]
	}
	return ua
}

// proof validates p, adding input mistakes to ie, and returns the values
// to store; err is a failure of the key store, not of the input.
func (s *Service) proof(ctx context.Context, tenantID string, p Proof, ie *InputError) (textHash, ipHash, ua, page string, err error) {
	switch {
	case p.TextHash != "" && p.Text != "":
		ie.Add("text_hash", "give the text shown or its hash, not both")
	case p.TextHash != "":
		if !textHashRE.MatchString(p.TextHash) {
			ie.Add("text_hash", `must be "sha256:" and 64 lower-case hex digits`)
		}
		textHash = p.TextHash
	case p.Text != "":
		if len(p.Text) > maxText || !utf8.ValidString(p.Text) {
			ie.Add("text", "must be UTF-8 text of at most %d bytes", maxText)
		}
		textHash = TextHash(p.Text)
	}
	if p.IP != "" {
		if _, perr := netip.ParseAddr(strings.Trim(p.IP, "[]")); perr != nil {
			ie.Add("ip", "is not an IP address")
		} else if ipHash, err = s.ipHash(ctx, tenantID, p.IP); err != nil {
			return "", "", "", "", err
		}
	}
	page, ok := cleanPageURL(p.PageURL)
	if !ok {
		ie.Add("page_url", "must be an absolute http(s) URL of at most %d bytes", maxPageURL)
	}
	return textHash, ipHash, cleanUserAgent(p.UserAgent), page, nil
}
