package keys

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func testDataKey(t testing.TB) *DataKey {
	t.Helper()
	raw := make([]byte, dataKeySize)
	rand.Read(raw)
	dk, err := newDataKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestDataKeyRoundTrip(t *testing.T) {
	dk := testDataKey(t)
	ad := FieldAD("tenant", "subject", "email")
	for _, n := range []int{0, 1, 15, 16, 17, 64, 4096, 1 << 20} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct, err := dk.Seal(ad, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != n+gcmOverhead || ct[0] != formatGCM {
			t.Fatalf("len %d: ciphertext length %d, first byte %#x", n, len(ct), ct[0])
		}
		if n >= 8 && bytes.Contains(ct, plain) {
			t.Fatalf("len %d: ciphertext contains the plaintext", n)
		}
		got, err := dk.Open(ad, ct)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("len %d: Open = %v", n, err)
		}
	}
}

// TestDataKeyTamper: every single-bit change, every truncation, another key
// and any other associated data fail with ErrDecrypt.
func TestDataKeyTamper(t *testing.T) {
	dk := testDataKey(t)
	ad := FieldAD("t1", "s1", "email")
	ct, _ := dk.Seal(ad, []byte("alice@example.com"))
	for i := range ct {
		for bit := range 8 {
			bad := bytes.Clone(ct)
			bad[i] ^= 1 << bit
			if _, err := dk.Open(ad, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipping bit %d of byte %d: %v", bit, i, err)
			}
		}
	}
	for n := range len(ct) {
		if _, err := dk.Open(ad, ct[:n]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := dk.Open(ad, append(bytes.Clone(ct), 0)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("extended: %v", err)
	}
	if _, err := testDataKey(t).Open(ad, ct); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("another key: %v", err)
	}
	others := map[string][]byte{
		"other tenant":        FieldAD("t2", "s1", "email"),
		"other subject":       FieldAD("t1", "s2", "email"),
		"other field":         FieldAD("t1", "s1", "phone"),
		"shifted boundary":    FieldAD("t1s", "1", "email"),
		"record of same ids":  RecordAD("t1", "s1", "email", ""),
		"nil":                 nil,
		"wrapped key context": dekAD("t1", "s1", 1),
	}
	for name, other := range others {
		if _, err := dk.Open(other, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAssociatedDataUnambiguous: distinct inputs never encode alike.
func TestAssociatedDataUnambiguous(t *testing.T) {
	seen := map[string]string{}
	add := func(name string, b []byte) {
		t.Helper()
		if prev, ok := seen[string(b)]; ok {
			t.Errorf("%s encodes like %s", name, prev)
		}
		seen[string(b)] = name
	}
	add("field ab/c/d", FieldAD("ab", "c", "d"))
	add("field a/bc/d", FieldAD("a", "bc", "d"))
	add("field a/b/cd", FieldAD("a", "b", "cd"))
	add("field empty", FieldAD("", "", ""))
	add("field with NUL", FieldAD("a\x00", "b", "c"))
	add("field NUL shifted", FieldAD("a", "\x00b", "c"))
	add("record ab/c/d/e", RecordAD("ab", "c", "d", "e"))
	add("record a/bc/d/e", RecordAD("a", "bc", "d", "e"))
	add("record a/b/c/de", RecordAD("a", "b", "c", "de"))
	add("record empty", RecordAD("", "", "", ""))
	add("tenant key", tenantKeyAD("a", "kek", 1))
	add("tenant key v2", tenantKeyAD("a", "kek", 2))
	add("tenant key index", tenantKeyAD("a", "index", 1))
	add("dek", dekAD("a", "b", 1))
	add("dek v2", dekAD("a", "b", 2))
}

// TestNoncesFresh: sealing the same value many times never repeats a nonce
// or a ciphertext.
func TestNoncesFresh(t *testing.T) {
	dk := testDataKey(t)
	ad := FieldAD("t", "s", "f")
	nonces := map[[12]byte]bool{}
	for range 20000 {
		ct, _ := dk.Seal(ad, []byte("same value"))
		var n [12]byte
		copy(n[:], ct[1:13])
		if nonces[n] {
			t.Fatal("a nonce repeated")
		}
		nonces[n] = true
	}
}

func TestSealOpenAppend(t *testing.T) {
	dk := testDataKey(t)
	ad := RecordAD("t", "s", "orders", "r1")
	buf := []byte("prefix")
	ct := dk.SealAppend(buf, ad, []byte("order 42"))
	if !bytes.HasPrefix(ct, []byte("prefix")) {
		t.Fatal("SealAppend lost dst")
	}
	got, err := dk.OpenAppend([]byte("x:"), ad, ct[len("prefix"):])
	if err != nil || string(got) != "x:order 42" {
		t.Fatalf("OpenAppend = %q, %v", got, err)
	}
	if _, err := dk.OpenAppend(nil, ad, []byte{0x02}); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unknown format: %v", err)
	}
	ct2 := dk.SealAppend(nil, ad, nil)
	ct2[0] = 0x02
	if _, err := dk.OpenAppend(nil, ad, ct2); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unknown format byte: %v", err)
	}
}

// TestSealOpenAllocs: the hot path allocates its result and nothing else.
func TestSealOpenAllocs(t *testing.T) {
	dk := testDataKey(t)
	ad := FieldAD("tenant", "subject", "field")
	plain := make([]byte, 64)
	ct, _ := dk.Seal(ad, plain)
	if n := testing.AllocsPerRun(200, func() { dk.Seal(ad, plain) }); n > 1 {
		t.Errorf("Seal allocates %v times, want 1", n)
	}
	if n := testing.AllocsPerRun(200, func() { dk.Open(ad, ct) }); n > 1 {
		t.Errorf("Open allocates %v times, want 1", n)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(200, func() { dk.SealAppend(buf[:0], ad, plain) }); n > 0 {
		t.Errorf("SealAppend allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { dk.OpenAppend(buf[:0], ad, ct) }); n > 0 {
		t.Errorf("OpenAppend allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { FieldAD("tenant", "subject", "field") }); n > 1 {
		t.Errorf("FieldAD allocates %v times, want 1", n)
	}
}

// TestWrapDEKBinding: a wrapped data key opens only for its tenant, subject
// and KEK version.
func TestWrapDEKBinding(t *testing.T) {
	kekRaw := make([]byte, 32)
	rand.Read(kekRaw)
	kek, _ := newAEAD(kekRaw)
	dek := make([]byte, 32)
	rand.Read(dek)
	w := wrapDEK(kek, "t1", "s1", 1, dek)
	if bytes.Contains(w, dek) {
		t.Fatal("wrapped key contains the key")
	}
	got, err := unwrapDEK(kek, "t1", "s1", 1, w)
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("unwrap = %v", err)
	}
	for name, f := range map[string]func() ([]byte, error){
		"other tenant":  func() ([]byte, error) { return unwrapDEK(kek, "t2", "s1", 1, w) },
		"other subject": func() ([]byte, error) { return unwrapDEK(kek, "t1", "s2", 1, w) },
		"other version": func() ([]byte, error) { return unwrapDEK(kek, "t1", "s1", 2, w) },
		"truncated":     func() ([]byte, error) { return unwrapDEK(kek, "t1", "s1", 1, w[:len(w)-1]) },
	} {
		if _, err := f(); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func BenchmarkSeal64(b *testing.B) {
	dk := testDataKey(b)
	ad := FieldAD("0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f5", "0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f6", "email")
	plain := make([]byte, 64)
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dk.Seal(ad, plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen64(b *testing.B) {
	dk := testDataKey(b)
	ad := FieldAD("0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f5", "0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f6", "email")
	ct, _ := dk.Seal(ad, make([]byte, 64))
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dk.Open(ad, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldAD(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		FieldAD("0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f5", "0190c1e2-7a3b-7c4d-8e5f-a0b1c2d3e4f6", "email")
	}
}
