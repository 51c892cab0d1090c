package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"

	"github.com/trustee-privacy/trustee/internal/store"
)

// The canonical encodings below are the whole of what the hashes and
// signatures cover. They are documented in docs/security.md so that an
// auditor can re-implement verification from a database dump without
// Trustee's code; change them only with a new domain tag.

// HashSize is the size of every hash in the log (SHA-256).
const HashSize = sha256.Size

// Domain tags, so an event encoding can never be read as a checkpoint
// message or as anything else signed by the same key.
const (
	eventTag      = "trustee.audit.event.v1\x00"
	checkpointTag = "trustee.audit.checkpoint.v1\x00"
)

// genesis is the previous hash of every shard's first event: 32 zero bytes.
// The tenant and shard are inside every event's hash, so equal genesis
// values cannot make two chains interchangeable.
var genesis = make([]byte, HashSize)

// enc appends the length-prefixed canonical form of values: strings and
// byte strings as a 4-byte big-endian length and the bytes, integers as 8
// bytes big-endian, lists as a 4-byte count followed by their elements.
type enc []byte

func (b enc) str(s string) enc {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func (b enc) bytes(p []byte) enc {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

func (b enc) u64(v uint64) enc { return binary.BigEndian.AppendUint64(b, v) }

func (b enc) list(ss []string) enc {
	b = binary.BigEndian.AppendUint32(b, uint32(len(ss)))
	for _, s := range ss {
		b = b.str(s)
	}
	return b
}

var bufPool = sync.Pool{New: func() any { b := make(enc, 0, 512); return &b }}

// encodeEvent appends the canonical form of every column of e except Hash
// (PrevHash first, so the hash chains).
func encodeEvent(b enc, e *store.AuditEvent) enc {
	b = append(b, eventTag...)
	b = b.bytes(e.PrevHash)
	b = b.str(e.TenantID)
	b = b.u64(uint64(e.Shard))
	b = b.u64(uint64(e.Seq))
	b = b.u64(uint64(e.At.UnixMicro()))
	b = b.str(e.Actor).str(e.Role).str(e.Action).str(e.SubjectID).str(e.Purpose)
	b = b.str(e.Outcome).str(e.Reason).str(e.RequestID)
	b = b.list(e.Fields).list(e.Categories)
	return b
}

// EventHash returns SHA-256 of the canonical encoding of e: its previous
// hash and every other column, tenant, shard and seq included, so a row
// edited, moved to another position or copied to another tenant no longer
// matches its hash.
func EventHash(e *store.AuditEvent) []byte {
	bp := bufPool.Get().(*enc)
	b := encodeEvent((*bp)[:0], e)
	sum := sha256.Sum256(b)
	*bp = b
	bufPool.Put(bp)
	return sum[:]
}

// checkpointMessage is what a checkpoint's signature covers.
func checkpointMessage(c *store.AuditCheckpoint) []byte {
	b := make(enc, 0, 128+len(c.Heads)*(20+HashSize))
	b = append(b, checkpointTag...)
	b = b.str(c.TenantID)
	b = b.u64(uint64(c.Seq))
	b = b.u64(uint64(c.At.UnixMicro()))
	b = b.bytes(c.PrevHash)
	b = b.str(c.KeyID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Heads)))
	for _, h := range c.Heads {
		b = b.u64(uint64(h.Shard)).u64(uint64(h.Seq)).bytes(h.Hash)
	}
	return b
}

// checkpointDigest is the hash the next checkpoint chains to.
func checkpointDigest(c *store.AuditCheckpoint) []byte {
	sum := sha256.Sum256(checkpointMessage(c))
	return sum[:]
}

// KeyID names an audit public key: the first 8 bytes of its SHA-256, in
// hex. Checkpoints record it, so a verifier holding the wrong key is told
// so rather than seeing bad signatures.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
