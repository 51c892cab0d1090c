package keys

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
)

// noEnv unsets TRUSTEE_ROOT_KEY for the test (restored after).
func noEnv(t *testing.T) {
	t.Helper()
	t.Setenv(RootKeyEnv, "")
	os.Unsetenv(RootKeyEnv)
}

func generate(t *testing.T) []byte {
	t.Helper()
	b, err := GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeKey writes data to a new file with the given mode (chmod, so the
// umask does not interfere).
func writeKey(t *testing.T, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.key")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// roundTrip checks that a encrypts what b decrypts, with associated data
// binding each ciphertext to its context.
func roundTrip(t *testing.T, a, b *RootKey) {
	t.Helper()
	plain := []byte("tenant key material")
	ad := []byte("tenant:acme")
	ct, err := a.AEAD().Encrypt(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, plain) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := b.AEAD().Decrypt(ct, ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if _, err := b.AEAD().Decrypt(ct, []byte("tenant:other")); err == nil {
		t.Fatal("ciphertext decrypted under other associated data")
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	if _, err := b.AEAD().Decrypt(tampered, ad); err == nil {
		t.Fatal("tampered ciphertext decrypted")
	}
	// Nonces are random: the same input encrypts differently.
	ct2, err := a.AEAD().Encrypt(plain, ad)
	if err != nil || bytes.Equal(ct, ct2) {
		t.Fatalf("two encryptions are equal (%v)", err)
	}
}

func TestGenerateParseRoundTrip(t *testing.T) {
	k1, err := ParseRootKey(generate(t))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, k1, k1)
	if k1.Handle() == nil || len(k1.Handle().KeysetInfo().GetKeyInfo()) != 1 {
		t.Fatal("handle does not hold exactly one key")
	}
	if url := k1.Handle().KeysetInfo().GetKeyInfo()[0].GetTypeUrl(); !strings.Contains(url, "AesGcmKey") {
		t.Errorf("key type %s, want AES-GCM", url)
	}

	// Two generated keys are different keys.
	k2, err := ParseRootKey(generate(t))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := k1.AEAD().Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.AEAD().Decrypt(ct, nil); err == nil {
		t.Error("a second generated key decrypts the first key's ciphertext")
	}
}

func TestParseRootKeyErrors(t *testing.T) {
	var macKeyset bytes.Buffer
	h, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&macKeyset)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a valid Tink JSON keyset"},
		{"garbage", []byte("hello"), "not a valid Tink JSON keyset"},
		{"json, not a keyset", []byte(`{"hello": "world"}`), "root key"},
		{"truncated", generate(t)[:40], "not a valid Tink JSON keyset"},
		{"mac keyset", macKeyset.Bytes(), "not an AEAD keyset"},
	}
	for _, c := range cases {
		k, err := ParseRootKey(c.data)
		if err == nil || k != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ParseRootKey = %v, %v; want an error containing %q", c.name, k, err, c.want)
		}
	}
}

func TestWriteRootKeyFile(t *testing.T) {
	noEnv(t)
	path := filepath.Join(t.TempDir(), "root.key")
	if err := WriteRootKeyFile(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k, err := LoadRootKey(path)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, k, k)

	// A second init must not replace the key: data encrypted under it
	// would be lost for good.
	before, _ := os.ReadFile(path)
	err = WriteRootKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second WriteRootKeyFile = %v, want a refusal", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the existing root key file was modified")
	}
	k2, err := LoadRootKey(path)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, k, k2)
}

func TestWriteRootKeyFileRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		prepare func() string
	}{
		{"any file", func() string {
			p := filepath.Join(dir, "precious.txt")
			if err := os.WriteFile(p, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"empty file", func() string {
			p := filepath.Join(dir, "empty.key")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"symlink to a file", func() string {
			target := filepath.Join(dir, "target.key")
			if err := os.WriteFile(target, []byte("target"), 0o600); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "link.key")
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"dangling symlink", func() string {
			p := filepath.Join(dir, "dangling.key")
			if err := os.Symlink(filepath.Join(dir, "nowhere"), p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, c := range cases {
		path := c.prepare()
		before, _ := os.ReadFile(path)
		beforeSt, _ := os.Lstat(path)
		if err := WriteRootKeyFile(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
			t.Errorf("%s: WriteRootKeyFile = %v, want a refusal", c.name, err)
		}
		after, _ := os.ReadFile(path)
		afterSt, _ := os.Lstat(path)
		if !bytes.Equal(before, after) || beforeSt.Mode() != afterSt.Mode() || beforeSt.Size() != afterSt.Size() {
			t.Errorf("%s: the existing file was modified", c.name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
		t.Error("a dangling symlink's target was created")
	}
	if err := WriteRootKeyFile(filepath.Join(dir, "no", "such", "dir", "root.key")); err == nil {
		t.Error("WriteRootKeyFile into a missing directory succeeded")
	}
}

func TestLoadRootKeyFileModes(t *testing.T) {
	noEnv(t)
	data := generate(t)
	cases := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o644, false},
		{0o640, false},
		{0o604, false},
		{0o660, false},
		{0o666, false},
		{0o620, false},
		{0o602, false},
	}
	for _, c := range cases {
		path := writeKey(t, data, c.mode)
		k, err := LoadRootKey(path)
		if c.ok {
			if err != nil {
				t.Errorf("mode %v: %v", c.mode, err)
			} else {
				roundTrip(t, k, k)
			}
			continue
		}
		if err == nil || k != nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %v: LoadRootKey = %v, want a refusal naming the file and chmod 600", c.mode, err)
		}
	}
}

func TestLoadRootKeyFileErrors(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "missing.key"), "root key"},
		{"garbage", writeKey(t, []byte("not a key\n"), 0o600), "not a valid Tink JSON keyset"},
		{"empty", writeKey(t, nil, 0o600), "not a valid Tink JSON keyset"},
		{"base64 in a file", writeKey(t, []byte(base64.StdEncoding.EncodeToString(generate(t))), 0o600), "not a valid Tink JSON keyset"},
	}
	for _, c := range cases {
		if k, err := LoadRootKey(c.path); err == nil || k != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: LoadRootKey = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestLoadRootKeyEnv(t *testing.T) {
	data := generate(t)
	fromFile, err := LoadRootKey(writeKey(t, data, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(data)
	var wrapped strings.Builder // as `base64` prints it: 76 columns
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	cases := []struct {
		name, value string
	}{
		{"json", string(data)},
		{"json with whitespace", "\n  " + string(data) + "\n"},
		{"base64", b64},
		{"base64 with newline", b64 + "\n"},
		{"base64 wrapped at 76 columns", wrapped.String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(RootKeyEnv, c.value)
			k, err := LoadRootKey("")
			if err != nil {
				t.Fatal(err)
			}
			// The same key as the file holds.
			roundTrip(t, k, fromFile)
			roundTrip(t, fromFile, k)
		})
	}
}

func TestLoadRootKeyEnvErrors(t *testing.T) {
	cases := []struct {
		name, value, want string
	}{
		{"garbage", "not a key", "TRUSTEE_ROOT_KEY is neither a JSON keyset nor base64 of one"},
		{"whitespace", "   ", "root key"},
		{"broken json", `{"primaryKeyId": `, "not a valid Tink JSON keyset"},
		{"base64 of garbage", base64.StdEncoding.EncodeToString([]byte("garbage")), "not a valid Tink JSON keyset"},
		{"url-safe base64 of garbage", "_-_-", "neither a JSON keyset nor base64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(RootKeyEnv, c.value)
			k, err := LoadRootKey("")
			if err == nil || k != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LoadRootKey = %v, want an error containing %q", err, c.want)
			}
			if len(c.value) > 8 && strings.Contains(err.Error(), c.value) {
				t.Errorf("error %q repeats the variable's value", err)
			}
		})
	}
}

// TestLoadRootKeyFileWins: an explicit key file is used even when the
// environment variable is also set.
func TestLoadRootKeyFileWins(t *testing.T) {
	t.Setenv(RootKeyEnv, "garbage")
	data := generate(t)
	k, err := LoadRootKey(writeKey(t, data, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ParseRootKey(data)
	roundTrip(t, k, want)
}

func TestLoadRootKeyNone(t *testing.T) {
	noEnv(t)
	k, err := LoadRootKey("")
	if err == nil || k != nil {
		t.Fatalf("LoadRootKey with nothing = %v, %v", k, err)
	}
	for _, want := range []string{"trustee init", RootKeyEnv, "--key-file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
