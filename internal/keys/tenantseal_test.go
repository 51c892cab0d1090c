package keys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

func TestSealTenant(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		m := NewManager(root, ks, ManagerOptions{})
		a, b := store.NewID(), store.NewID()
		msg := []byte(`{"to":"kari@example.no","subject":"Your code"}`)

		// A tenant without keys gets them: SealTenant needs no EnsureTenant.
		ct, err := m.SealTenant(bg(), a, PurposeOutbox, []byte("row-1"), msg)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, msg[:16]) || len(ct) != envOverhead+len(msg) {
			t.Fatalf("ciphertext of %d bytes leaks or has the wrong size", len(ct))
		}
		got, err := m.OpenTenant(bg(), a, PurposeOutbox, []byte("row-1"), ct)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("OpenTenant = %q, %v", got, err)
		}
		// Two seals of the same plaintext differ (fresh key and nonce).
		ct2 := must[[]byte](t)(m.SealTenant(bg(), a, PurposeOutbox, []byte("row-1"), msg))
		if bytes.Equal(ct, ct2) || bytes.Equal(ct[5:envHeaderLen], ct2[5:envHeaderLen]) {
			t.Error("two seals share a ciphertext or a wrapped key")
		}
		// Another instance over the same key store opens it.
		other := NewManager(root, ks, ManagerOptions{})
		if got, err := other.OpenTenant(bg(), a, PurposeOutbox, []byte("row-1"), ct); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("second instance: %q, %v", got, err)
		}
		// Empty plaintext and empty ad are fine.
		e := must[[]byte](t)(m.SealTenant(bg(), a, PurposeOutbox, nil, nil))
		if got, err := m.OpenTenant(bg(), a, PurposeOutbox, nil, e); err != nil || len(got) != 0 {
			t.Fatalf("empty: %q, %v", got, err)
		}

		must[[]byte](t)(m.SealTenant(bg(), b, PurposeOutbox, nil, []byte("x"))) // b has keys now
		flip := func(i int) []byte {
			c := bytes.Clone(ct)
			c[i] ^= 1
			return c
		}
		version := func(v uint32) []byte {
			c := bytes.Clone(ct)
			binary.BigEndian.PutUint32(c[1:5], v)
			return c
		}
		cases := []struct {
			name    string
			tenant  string
			purpose string
			ad      string
			ct      []byte
			want    error
		}{
			{"other row", a, PurposeOutbox, "row-2", ct, ErrDecrypt},
			{"other tenant", b, PurposeOutbox, "row-1", ct, ErrDecrypt},
			{"other purpose", a, "export", "row-1", ct, ErrDecrypt},
			{"tenant without keys", store.NewID(), PurposeOutbox, "row-1", ct, ErrNoKey},
			{"format byte", a, PurposeOutbox, "row-1", flip(0), ErrDecrypt},
			{"unknown KEK version", a, PurposeOutbox, "row-1", version(7), ErrDecrypt},
			{"KEK version zero", a, PurposeOutbox, "row-1", version(0), ErrDecrypt},
			{"wrapped key", a, PurposeOutbox, "row-1", flip(20), ErrDecrypt},
			{"payload", a, PurposeOutbox, "row-1", flip(len(ct) - 20), ErrDecrypt},
			{"tag", a, PurposeOutbox, "row-1", flip(len(ct) - 1), ErrDecrypt},
			{"truncated", a, PurposeOutbox, "row-1", ct[:envOverhead-1], ErrDecrypt},
			{"empty", a, PurposeOutbox, "row-1", nil, ErrDecrypt},
			{"a subject ciphertext", a, PurposeOutbox, "row-1", append([]byte{formatGCM}, ct[1:]...), ErrDecrypt},
		}
		for _, c := range cases {
			if _, err := m.OpenTenant(bg(), c.tenant, c.purpose, []byte(c.ad), c.ct); !errors.Is(err, c.want) {
				t.Errorf("%s: error %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := m.SealTenant(bg(), a, "", nil, msg); err == nil {
			t.Error("empty purpose accepted")
		}
		if _, err := m.SealTenant(bg(), "", PurposeOutbox, nil, msg); !errors.Is(err, ErrNoKey) {
			t.Errorf("empty tenant: %v", err)
		}
	})
}

// TestSealTenantKEKRotation: envelopes sealed before a KEK rotation still
// open after it, including on an instance that cached the old keys, and new
// envelopes use the new version.
func TestSealTenantKEKRotation(t *testing.T) {
	forEngines(t, func(t *testing.T, open func(testing.TB) store.KeyStore) {
		ks := open(t)
		_, root := rootFile(t)
		server := NewManager(root, ks, ManagerOptions{})
		tenant := store.NewID()
		old := must[[]byte](t)(server.SealTenant(bg(), tenant, PurposeOutbox, []byte("m"), []byte("before")))

		rot := NewManager(root, ks, ManagerOptions{})
		if v, err := rot.RotateKEK(bg(), tenant); err != nil || v != 2 {
			t.Fatalf("RotateKEK = %d, %v", v, err)
		}
		fresh := must[[]byte](t)(rot.SealTenant(bg(), tenant, PurposeOutbox, []byte("m"), []byte("after")))
		if v := binary.BigEndian.Uint32(fresh[1:5]); v != 2 {
			t.Errorf("new envelope under KEK v%d, want 2", v)
		}
		for _, m := range []*Manager{server, rot} {
			if got, err := m.OpenTenant(bg(), tenant, PurposeOutbox, []byte("m"), old); err != nil || string(got) != "before" {
				t.Errorf("old envelope: %q, %v", got, err)
			}
			// server has v1 cached and must load v2 to open this.
			if got, err := m.OpenTenant(bg(), tenant, PurposeOutbox, []byte("m"), fresh); err != nil || string(got) != "after" {
				t.Errorf("new envelope: %q, %v", got, err)
			}
		}
	})
}

func BenchmarkSealTenant(b *testing.B) {
	ks := storetest.OpenKeyStoreSQLite(b)
	_, root := rootFile(b)
	m := NewManager(root, ks, ManagerOptions{})
	tenant := store.NewID()
	msg := bytes.Repeat([]byte("x"), 1024)
	ad := []byte("row")
	if _, err := m.SealTenant(bg(), tenant, PurposeOutbox, ad, msg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ct, err := m.SealTenant(bg(), tenant, PurposeOutbox, ad, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.OpenTenant(bg(), tenant, PurposeOutbox, ad, ct); err != nil {
			b.Fatal(err)
		}
	}
}
