package staff

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. They are stored in every hash, so
// raising them later affects new hashes only; accounts are re-hashed with
// the current parameters when their owner next signs in.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen, KeyLen uint32
}

// DefaultParams follow RFC 9106 §4's second recommended option (64 MiB,
// three passes, four lanes; 128-bit salt, 256-bit tag): about 100-200 ms on
// one server core, which a person signing in does not notice and which
// makes guessing a stolen hash expensive. At most maxConcurrentHashes run
// at once, so a burst of sign-ins costs at most 256 MiB.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash, so a corrupted or planted
// row cannot make one verification take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	maxKeyLen  = 64
	maxSaltLen = 64
)

// maxConcurrentHashes bounds argon2id runs in this process (see
// DefaultParams).
const maxConcurrentHashes = 4

var hashSlots = make(chan struct{}, maxConcurrentHashes)

// Password length limits: at least 12 characters (long passphrases beat
// composition rules, NIST SP 800-63B §3.1.1.2), at most 256 bytes so one
// request cannot make hashing slow.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// ErrWeakPassword says a new password breaks the length rules.
var ErrWeakPassword = fmt.Errorf("a password needs at least %d characters (and at most %d bytes)", MinPasswordLen, MaxPasswordLen)

// ErrBadHash means a stored hash is not one HashPassword makes.
var ErrBadHash = errors.New("staff: malformed password hash")

var b64 = base64.RawStdEncoding

// CheckPassword enforces the rules for a new password.
func CheckPassword(pw, login string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > MaxPasswordLen || !utf8.ValidString(pw) {
		return ErrWeakPassword
	}
	if strings.EqualFold(strings.TrimSpace(pw), login) {
		return errors.New("the password must not be the login name")
	}
	return nil
}

// HashPassword returns the PHC string of argon2id over pw with a fresh
// random salt: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash> (unpadded
// standard base64), the format other tools read.
func HashPassword(pw string, p Params) (string, error) {
	if p.Memory == 0 {
		p = DefaultParams
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := derive(pw, salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func derive(pw string, salt []byte, p Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// VerifyPassword reports whether pw matches the encoded hash, comparing in
// constant time, and whether the hash should be replaced because it was made
// with other parameters than want.
func VerifyPassword(pw, encoded string, want Params) (ok, rehash bool, err error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := derive(pw, salt, p)
	if want.Memory == 0 {
		want = DefaultParams
	}
	rehash = p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads || p.KeyLen != want.KeyLen
	return subtle.ConstantTimeCompare(got, key) == 1, rehash, nil
}

func parseHash(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, ErrBadHash
	}
	var p Params
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 {
		return Params{}, nil, nil, ErrBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime ||
		threads == 0 || threads > 255 || len(salt) < 8 || len(salt) > maxSaltLen || len(key) < 16 || len(key) > maxKeyLen {
		return Params{}, nil, nil, ErrBadHash
	}
	p.Threads = uint8(threads)
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// passwordAlphabet has no letters that read alike (0/o, 1/l/i).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// GeneratePassword returns a random initial password of five groups of
// four characters from a 31-letter alphabet (about 99 bits), easy to read
// out and type once before the person chooses their own.
func GeneratePassword() string {
	var b strings.Builder
	for g := range 5 {
		if g > 0 {
			b.WriteByte('-')
		}
		for range 4 {
			b.WriteByte(passwordAlphabet[randIntn(len(passwordAlphabet))])
		}
	}
	return b.String()
}

// randIntn returns a uniform random number in [0, n) from crypto/rand,
// without modulo bias.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
