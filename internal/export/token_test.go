package export

import (
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func TestTokenRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tenant, link := store.NewID(), store.NewID()
	exp := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok, err := encodeToken(tenant, link, exp, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != tenant || got.LinkID != link || !got.Expires.Equal(exp) || !got.Verify(key) {
		t.Fatalf("round trip: %+v", got)
	}
	if got.Verify([]byte("another key of the same length!!")) {
		t.Fatal("verifies under another key")
	}
	// Flip every character in turn: each change is refused or fails the signature.
	for i := range tok {
		for _, c := range []byte{'A', 'z', '-', '_', '0'} {
			if tok[i] == c {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if p, err := ParseToken(bad); err == nil && p.Verify(key) {
				t.Fatalf("tampered token %q accepted", bad)
			}
		}
	}
	for _, bad := range []string{"", "x", tok + "A", tok[:len(tok)-1], strings.Repeat("A", len(tok)), tok + "="} {
		if p, err := ParseToken(bad); err == nil && p.Verify(key) {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// FuzzParseToken: any string parses or is refused without panicking, and a
// token that parses re-encodes to itself (one canonical form per token).
func FuzzParseToken(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tok, _ := encodeToken(store.NewID(), store.NewID(), time.Unix(1900000000, 0), key)
	f.Add(tok)
	f.Add("")
	f.Add(strings.Repeat("A", len(tok)))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseToken(s)
		if err != nil {
			return
		}
		p.Verify(key)
		again, err := encodeToken(p.TenantID, p.LinkID, p.Expires, key)
		if err != nil {
			t.Fatalf("parsed token does not re-encode: %v", err)
		}
		q, err := ParseToken(again)
		if err != nil || string(q.body) != string(p.body) {
			t.Fatalf("body re-encodes differently: %q vs %q", again, s)
		}
	})
}
