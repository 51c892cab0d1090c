package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func seal(t *testing.T, key, bind, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newSealWriter(&buf, key, bind)
	if err != nil {
		t.Fatal(err)
	}
	// Write in odd pieces, to cross chunk boundaries anywhere.
	for p := plain; len(p) > 0; {
		n := min(len(p), 77777)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(key, bind, sealed []byte) ([]byte, error) {
	r, err := newOpenReader(bytes.NewReader(sealed), key, bind)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestStreamRoundTrip(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	bind := []byte("b")
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 5} {
		plain := make([]byte, n)
		rand.Read(plain)
		got, err := open(key, bind, seal(t, key, bind, plain))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: err %v, equal %v", n, err, bytes.Equal(got, plain))
		}
	}
}

// TestStreamTamper: every way of altering a sealed file fails to open.
func TestStreamTamper(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	bind := []byte("backup-1\x00data\x00data.tbk")
	plain := make([]byte, 2*chunkSize+100)
	rand.Read(plain)
	sealed := seal(t, key, bind, plain)
	full := 4 + chunkSize + 16 // one full sealed chunk with its length
	other := make([]byte, 32)
	rand.Read(other)
	cases := []struct {
		name string
		data []byte
		key  []byte
		bind []byte
	}{
		{"flipped byte", func() []byte { b := bytes.Clone(sealed); b[headerLen+100] ^= 1; return b }(), key, bind},
		{"flipped header", func() []byte { b := bytes.Clone(sealed); b[9] ^= 1; return b }(), key, bind},
		{"truncated: no final chunk", sealed[:headerLen+2*full], key, bind},
		{"truncated mid-chunk", sealed[:len(sealed)-10], key, bind},
		{"appended", append(bytes.Clone(sealed), 0), key, bind},
		{"chunks swapped", func() []byte {
			b := bytes.Clone(sealed[:headerLen])
			b = append(b, sealed[headerLen+full:headerLen+2*full]...)
			b = append(b, sealed[headerLen:headerLen+full]...)
			return append(b, sealed[headerLen+2*full:]...)
		}(), key, bind},
		{"chunk dropped", append(bytes.Clone(sealed[:headerLen+full]), sealed[headerLen+2*full:]...), key, bind},
		{"other key", sealed, other, bind},
		{"other binding (another backup or file)", sealed, key, []byte("backup-2\x00data\x00data.tbk")},
		{"empty", nil, key, bind},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := open(c.key, c.bind, c.data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}
