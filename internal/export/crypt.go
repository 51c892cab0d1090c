package export

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
)

// Export files are encrypted at rest with a fresh AES-256 key per file,
// sealed under the tenant's KEK (keys.Manager.SealTenant) and kept in the
// data store; the KEK itself lives only in the key store. A copied file,
// even with a copy of the data store, opens only with the key store and the
// root key.
//
// The file is a stream of AES-256-GCM segments, so it is written and read
// in constant memory:
//
//	magic "TEXP1" || nonce prefix (8) || segment*
//	segment = GCM(key, nonce prefix || counter (4), plaintext (<= segSize), ad)
//
// The associated data binds each segment to the file (export id and
// format), its position (the counter is in the nonce) and whether it is the
// last; the last segment is always shorter than segSize (possibly empty),
// so a file truncated at a segment boundary, reordered or spliced with
// another file's segments fails to open.
const (
	fileMagic = "TEXP1"
	segSize   = 64 << 10
	noncePfx  = 8
	gcmTag    = 16
)

// errCorrupt is returned for a file that does not decrypt: altered,
// truncated, or opened with the wrong key or name.
var errCorrupt = errors.New("export: file is corrupt or the key does not match")

func segmentAD(name string, counter uint32, last bool) []byte {
	ad := make([]byte, 0, len(name)+6)
	ad = append(ad, name...)
	ad = binary.BigEndian.AppendUint32(ad, counter)
	if last {
		return append(ad, 1)
	}
	return append(ad, 0)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealWriter encrypts a stream into w and counts and hashes the plaintext.
type sealWriter struct {
	w       io.Writer
	aead    cipher.AEAD
	name    string
	prefix  [noncePfx]byte
	counter uint32
	buf     []byte
	out     []byte
	size    int64
	sum     hash.Hash
	err     error
	closed  bool
}

func newSealWriter(w io.Writer, key []byte, name string) (*sealWriter, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	s := &sealWriter{w: w, aead: aead, name: name, buf: make([]byte, 0, segSize), out: make([]byte, 0, segSize+gcmTag), sum: sha256.New()}
	rand.Read(s.prefix[:])
	if _, err := io.WriteString(w, fileMagic); err != nil {
		return nil, err
	}
	if _, err := w.Write(s.prefix[:]); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sealWriter) nonce() []byte {
	n := make([]byte, 12)
	copy(n, s.prefix[:])
	binary.BigEndian.PutUint32(n[noncePfx:], s.counter)
	return n
}

func (s *sealWriter) flush(last bool) error {
	s.out = s.aead.Seal(s.out[:0], s.nonce(), s.buf, segmentAD(s.name, s.counter, last))
	s.counter++
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

func (s *sealWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("export: write after close")
	}
	n := len(p)
	s.sum.Write(p)
	s.size += int64(n)
	for len(p) > 0 {
		if len(s.buf) == segSize {
			if s.err = s.flush(false); s.err != nil {
				return 0, s.err
			}
		}
		k := copy(s.buf[len(s.buf):segSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
	}
	return n, nil
}

// Close writes the last segment. It does not close the underlying writer.
func (s *sealWriter) Close() error {
	if s.err != nil || s.closed {
		return s.err
	}
	s.closed = true
	if len(s.buf) == segSize {
		if s.err = s.flush(false); s.err != nil {
			return s.err
		}
	}
	s.err = s.flush(true)
	return s.err
}

// openReader decrypts what sealWriter wrote; any failure is errCorrupt.
type openReader struct {
	r       io.Reader
	aead    cipher.AEAD
	name    string
	prefix  [noncePfx]byte
	counter uint32
	in      []byte
	plain   []byte
	pos     int
	done    bool
	err     error
}

func newOpenReader(r io.Reader, key []byte, name string) (*openReader, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, len(fileMagic)+noncePfx)
	if _, err := io.ReadFull(r, hdr); err != nil || string(hdr[:len(fileMagic)]) != fileMagic {
		return nil, errCorrupt
	}
	o := &openReader{r: r, aead: aead, name: name, in: make([]byte, segSize+gcmTag)}
	copy(o.prefix[:], hdr[len(fileMagic):])
	return o, nil
}

func (o *openReader) next() error {
	n, err := io.ReadFull(o.r, o.in)
	last := false
	switch {
	case err == io.ErrUnexpectedEOF || (err == io.EOF && n == 0):
		last = true
	case err != nil:
		return err
	}
	if n < gcmTag {
		return errCorrupt // a file must end with a (possibly empty) last segment
	}
	nonce := make([]byte, 12)
	copy(nonce, o.prefix[:])
	binary.BigEndian.PutUint32(nonce[noncePfx:], o.counter)
	pt, err := o.aead.Open(o.plain[:0], nonce, o.in[:n], segmentAD(o.name, o.counter, last))
	if err != nil {
		return errCorrupt
	}
	o.counter++
	o.plain, o.pos, o.done = pt, 0, last
	return nil
}

func (o *openReader) Read(p []byte) (int, error) {
	for o.pos == len(o.plain) {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			o.err = err
			return 0, err
		}
	}
	n := copy(p, o.plain[o.pos:])
	o.pos += n
	return n, nil
}
