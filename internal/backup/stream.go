package backup

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The snapshot file format (docs/operations.md, "Backup file format"):
//
//	file   = header ‖ chunk* ‖ final
//	header = magic "TRSTBK" 0x00 0x01 (8 bytes) ‖ nonce prefix (7 random bytes) ‖ u32 chunk size
//	chunk  = u32 sealed length ‖ AES-256-GCM(key, nonce, plaintext, ad)
//	nonce  = prefix (7) ‖ u32 chunk index (0, 1, 2 ...) ‖ last flag (0x00, or 0x01 for the final chunk)
//	ad     = header ‖ binding
//
// Every chunk but the final one holds exactly chunk size bytes of plaintext;
// the final one holds the rest (possibly nothing) and carries the last
// flag. The key is 32 random bytes used for this file only, wrapped by the
// root key (AD = binding) and stored, wrapped, in the manifest; binding
// names the backup, the kind and the file, so a file cannot be passed off
// as another. Reordered, dropped, duplicated, truncated or appended chunks,
// and any changed byte, fail to open: the index and the last flag are in
// each nonce, and the header in each chunk's associated data.

const (
	magic      = "TRSTBK\x00\x01"
	prefixLen  = 7
	headerLen  = len(magic) + prefixLen + 4
	chunkSize  = 1 << 20
	maxChunk   = 16 << 20 // a reader refuses headers that announce more
	tagOverlap = 16
)

// ErrCorrupt means a snapshot file does not open: it was altered,
// truncated, extended, or sealed with another key.
var ErrCorrupt = errors.New("backup: the snapshot file is corrupt or was altered")

// sealWriter encrypts what is written to it into w, chunk by chunk.
type sealWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	ad     []byte
	buf    []byte
	index  uint32
	closed bool
}

// newSealWriter writes the header to w and returns a writer that seals into
// it with key; Close writes the final chunk.
func newSealWriter(w io.Writer, key, binding []byte) (*sealWriter, error) {
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	header := make([]byte, 0, headerLen)
	header = append(header, magic...)
	prefix := make([]byte, prefixLen)
	if _, err := rand.Read(prefix); err != nil {
		return nil, err
	}
	header = append(header, prefix...)
	header = binary.BigEndian.AppendUint32(header, chunkSize)
	if _, err := w.Write(header); err != nil {
		return nil, err
	}
	return &sealWriter{w: w, aead: a, header: header, ad: append(append([]byte{}, header...), binding...), buf: make([]byte, 0, chunkSize)}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("backup: a snapshot key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func nonce(header []byte, index uint32, last bool) []byte {
	n := make([]byte, 0, 12)
	n = append(n, header[len(magic):len(magic)+prefixLen]...)
	n = binary.BigEndian.AppendUint32(n, index)
	if last {
		return append(n, 1)
	}
	return append(n, 0)
}

func (s *sealWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("backup: write after close")
	}
	n := len(p)
	for len(p) > 0 {
		k := min(chunkSize-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == chunkSize {
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *sealWriter) flush(last bool) error {
	if s.index == ^uint32(0) {
		return errors.New("backup: snapshot too large")
	}
	sealed := s.aead.Seal(nil, nonce(s.header, s.index, last), s.buf, s.ad)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(sealed)))
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(sealed); err != nil {
		return err
	}
	s.index++
	clear(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// Close seals the final chunk. It does not close the underlying writer.
func (s *sealWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush(true)
}

// openReader decrypts a snapshot file as it is read; it returns ErrCorrupt
// for anything that does not authenticate, and io.EOF only after the final
// chunk, with nothing after it.
type openReader struct {
	r      io.Reader
	aead   cipher.AEAD
	header []byte
	ad     []byte
	size   int
	buf    []byte // plaintext not yet returned
	index  uint32
	done   bool
}

func newOpenReader(r io.Reader, key, binding []byte) (*openReader, error) {
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%w: no header", ErrCorrupt)
	}
	if !bytes.Equal(header[:len(magic)], []byte(magic)) {
		return nil, fmt.Errorf("%w: not a Trustee snapshot (or another format version)", ErrCorrupt)
	}
	size := int(binary.BigEndian.Uint32(header[len(magic)+prefixLen:]))
	if size <= 0 || size > maxChunk {
		return nil, fmt.Errorf("%w: bad chunk size", ErrCorrupt)
	}
	return &openReader{r: r, aead: a, header: header, ad: append(append([]byte{}, header...), binding...), size: size}, nil
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}

func (o *openReader) next() error {
	var l [4]byte
	if _, err := io.ReadFull(o.r, l[:]); err != nil {
		return fmt.Errorf("%w: truncated (no final chunk)", ErrCorrupt)
	}
	n := int(binary.BigEndian.Uint32(l[:]))
	if n < tagOverlap || n > o.size+tagOverlap {
		return fmt.Errorf("%w: bad chunk length", ErrCorrupt)
	}
	sealed := make([]byte, n)
	if _, err := io.ReadFull(o.r, sealed); err != nil {
		return fmt.Errorf("%w: truncated chunk", ErrCorrupt)
	}
	// A full chunk is not the last one; a shorter one must be.
	last := n-tagOverlap < o.size
	pt, err := o.aead.Open(nil, nonce(o.header, o.index, last), sealed, o.ad)
	if err != nil && !last {
		// A final chunk of exactly chunk size.
		if pt, err = o.aead.Open(nil, nonce(o.header, o.index, true), sealed, o.ad); err == nil {
			last = true
		}
	}
	if err != nil {
		return ErrCorrupt
	}
	o.index++
	o.buf = pt
	if last {
		var extra [1]byte
		if _, err := io.ReadFull(o.r, extra[:]); err != io.EOF {
			return fmt.Errorf("%w: data after the final chunk", ErrCorrupt)
		}
		o.done = true
	}
	return nil
}
