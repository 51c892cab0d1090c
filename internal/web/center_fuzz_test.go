package web

import (
	"encoding/base64"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzCenterTokens feeds arbitrary strings to the privacy center's two
// token parsers (the self-service cookie and the form token): they never
// panic, accept only values of the exact shape, and read back what a
// well-formed value holds.
func FuzzCenterTokens(f *testing.F) {
	tu, su := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	good := []byte{1}
	good = append(good, tu[:]...)
	good = append(good, su[:]...)
	good = binary.BigEndian.AppendUint64(good, uint64(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Unix()))
	good = append(good, make([]byte, 32)...)
	f.Add(base64.RawURLEncoding.EncodeToString(good))
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, centerFormLen)))
	f.Add("")
	f.Add("not-a-token")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		if m, ok := parseMeToken(s); ok {
			if len(m.payload) != 41 || len(m.mac) != 32 || m.payload[0] != 1 {
				t.Fatalf("accepted a malformed cookie: %q", s)
			}
			if _, err := uuid.Parse(m.tenant); err != nil {
				t.Fatalf("tenant %q", m.tenant)
			}
			if _, err := uuid.Parse(m.subject); err != nil {
				t.Fatalf("subject %q", m.subject)
			}
		}
		if _, mac, ok := parseFormToken(s); ok && len(mac) != 16 {
			t.Fatalf("form token MAC of %d bytes", len(mac))
		}
	})
}

func TestParseMeTokenReadsBack(t *testing.T) {
	tu, su := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	raw := []byte{1}
	raw = append(raw, tu[:]...)
	raw = append(raw, su[:]...)
	raw = binary.BigEndian.AppendUint64(raw, uint64(exp.Unix()))
	raw = append(raw, make([]byte, 32)...)
	m, ok := parseMeToken(base64.RawURLEncoding.EncodeToString(raw))
	if !ok || m.tenant != tu.String() || m.subject != su.String() || !m.exp.Equal(exp) {
		t.Fatalf("%+v %v", m, ok)
	}
	raw[0] = 2
	if _, ok := parseMeToken(base64.RawURLEncoding.EncodeToString(raw)); ok {
		t.Error("accepted version 2")
	}
	if _, ok := parseMeToken(base64.RawURLEncoding.EncodeToString(raw[:40])); ok {
		t.Error("accepted a short value")
	}
}
