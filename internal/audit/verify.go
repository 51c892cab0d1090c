package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// BreakKind is what is wrong at a broken link.
type BreakKind string

// Kinds of broken links, in the words a report prints.
const (
	// BreakHash: a row's hash is not the hash of its columns (the row was
	// edited, or moved to another position or tenant).
	BreakHash BreakKind = "hash_mismatch"
	// BreakPrevHash: a row does not chain to the row before it (a row was
	// replaced by one computed for another place in the chain).
	BreakPrevHash BreakKind = "prev_hash_mismatch"
	// BreakGap: seqs are not consecutive (rows were deleted).
	BreakGap BreakKind = "gap"
	// BreakHead: the shard's head names a seq or hash the rows do not end
	// with (the newest rows were deleted, or the head was edited).
	BreakHead BreakKind = "head_mismatch"
	// BreakBeyondHead: rows exist past the head (rows were inserted, or
	// the head was moved back).
	BreakBeyondHead BreakKind = "rows_beyond_head"
	// BreakStray: a row is numbered before its chain's first seq (the
	// schema forbids it, so someone changed the schema too).
	BreakStray BreakKind = "stray_row"
	// BreakMissingHead: a shard has events or a checkpoint but no head,
	// or shard numbers have a hole (a head row was deleted).
	BreakMissingHead BreakKind = "head_missing"
	// BreakSignature: a checkpoint's signature does not verify with the
	// tenant's audit key, or it was signed by another key.
	BreakSignature BreakKind = "bad_checkpoint_signature"
	// BreakCheckpointChain: checkpoints are not numbered consecutively or
	// one does not chain to the one before (a checkpoint was deleted or
	// replaced).
	BreakCheckpointChain BreakKind = "checkpoint_chain"
	// BreakCheckpoint: a checkpoint's head for a shard does not match the
	// row at that seq, or moves backwards.
	BreakCheckpoint BreakKind = "checkpoint_mismatch"
	// BreakTruncated: a checkpoint names rows past the shard's end (the
	// newest rows were deleted and the head moved back to hide it).
	BreakTruncated BreakKind = "rows_missing_after_checkpoint"
)

// Break is the first broken link verification found.
type Break struct {
	Kind BreakKind
	// Shard is the chain concerned, -1 when the break is in the
	// checkpoints alone.
	Shard int
	// Seq is the position in the shard where the chain breaks (the first
	// row that is wrong or missing), 0 when not about a row.
	Seq int64
	// Checkpoint is the checkpoint concerned, 0 if none.
	Checkpoint int64
	// Detail says what was found, in words (no event contents).
	Detail string
}

// String is one line for people: where and what.
func (b *Break) String() string {
	s := string(b.Kind)
	if b.Shard >= 0 {
		s += fmt.Sprintf(" at shard %d", b.Shard)
		if b.Seq > 0 {
			s += fmt.Sprintf(", seq %d", b.Seq)
		}
	}
	if b.Checkpoint > 0 {
		s += fmt.Sprintf(" (checkpoint %d)", b.Checkpoint)
	}
	if b.Detail != "" {
		s += ": " + b.Detail
	}
	return s
}

// CheckpointInfo describes the newest checkpoint verified.
type CheckpointInfo struct {
	Seq   int64
	At    time.Time
	KeyID string
}

// Report is the outcome of Verify.
type Report struct {
	TenantID string
	// Intact is true when no broken link was found.
	Intact bool
	// Shards and Events count what was verified: every event up to the
	// heads read at the start (events appended during verification are
	// left to the next run).
	Shards int
	Events int64
	// Checkpoints counts the checkpoints verified; SignaturesChecked says
	// whether their signatures were (Verify was given a public key).
	Checkpoints       int64
	SignaturesChecked bool
	// LastCheckpoint is the newest checkpoint, nil if there is none.
	// Events after it rest on their chain and head alone.
	LastCheckpoint *CheckpointInfo
	// Break is the first broken link, nil when Intact.
	Break *Break
}

// DefaultPageSize is how many rows verification reads per query and
// transaction: memory stays bounded and no transaction is long.
const DefaultPageSize = 2000

// Verify checks the tenant's whole log: the checkpoints (chained, and signed
// by pub unless pub is nil), the heads, and every event of every shard in
// seq order, and reports the first broken link. It holds one page of rows
// at a time, each read in a short transaction, so it can run on a live
// store; events appended while it runs are not covered. An error means the
// log could not be read, not that it is broken.
func Verify(ctx context.Context, st store.Store, tenantID string, pub ed25519.PublicKey) (Report, error) {
	return verify(ctx, st, tenantID, pub, DefaultPageSize)
}

// VerifyTenant is Verify with the tenant's public key from Options.Keys,
// or the chain alone when the Log has no Keys.
func (l *Log) VerifyTenant(ctx context.Context, st store.Store, tenantID string) (Report, error) {
	var pub ed25519.PublicKey
	if l != nil && l.opts.Keys != nil {
		var err error
		if pub, err = l.opts.Keys.AuditPublicKey(ctx, tenantID); err != nil {
			return Report{}, fmt.Errorf("audit: verify: audit public key: %w", err)
		}
		if pub == nil {
			return Report{}, errors.New("audit: verify: the key store returned no audit public key")
		}
	}
	return verify(ctx, st, tenantID, pub, DefaultPageSize)
}

// expect is one (seq, hash) a checkpoint says a shard passed through.
type expect struct {
	seq        int64
	hash       []byte
	checkpoint int64
}

type verifier struct {
	ctx    context.Context
	st     store.Store
	tenant string
	pub    ed25519.PublicKey
	page   int
	r      Report

	// The newest checkpoint announced in the chain, and where.
	announced         int64
	annShard          int
	annSeq            int64
	lastCheckpointSeq int64
}

func (v *verifier) read(fn func(store.Tx) error) error {
	if err := v.st.Read(v.ctx, fn); err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	return nil
}

func (v *verifier) broken(b Break) (Report, error) {
	v.r.Intact = false
	v.r.Break = &b
	return v.r, nil
}

func verify(ctx context.Context, st store.Store, tenantID string, pub ed25519.PublicKey, page int) (Report, error) {
	if pub != nil && len(pub) != ed25519.PublicKeySize {
		return Report{}, errors.New("audit: verify: the public key is not an Ed25519 key")
	}
	v := &verifier{ctx: ctx, st: st, tenant: tenantID, pub: pub, page: page,
		r: Report{TenantID: tenantID, SignaturesChecked: pub != nil}}

	// Checkpoints first, heads second: heads only move forward, so every
	// checkpoint read here is covered by the heads read after it, even on
	// a live store.
	exp, b, err := v.checkpoints()
	if err != nil || b != nil {
		if err != nil {
			return Report{}, err
		}
		return v.broken(*b)
	}

	var heads []store.AuditHead
	orphan, hasOrphan := 0, false
	if err := v.read(func(tx store.Tx) error {
		var err error
		if heads, err = tx.AuditHeads(tenantID); err != nil {
			return err
		}
		lo, hi, err := tx.AuditShardRange(tenantID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case lo < 0:
			orphan, hasOrphan = lo, true
		case hi >= len(heads):
			orphan, hasOrphan = hi, true
		}
		return nil
	}); err != nil {
		return Report{}, err
	}
	v.r.Shards = len(heads)
	for i, h := range heads {
		if h.Shard != i {
			return v.broken(Break{Kind: BreakMissingHead, Shard: i, Detail: fmt.Sprintf("shards run to %d but shard %d has no head row", heads[len(heads)-1].Shard, i)})
		}
	}
	if hasOrphan {
		return v.broken(Break{Kind: BreakMissingHead, Shard: orphan, Detail: fmt.Sprintf("shard %d has events but no head row", orphan)})
	}
	for _, shard := range slices.Sorted(maps.Keys(exp)) {
		if es := exp[shard]; shard >= len(heads) {
			return v.broken(Break{Kind: BreakMissingHead, Shard: shard, Checkpoint: es[0].checkpoint,
				Detail: fmt.Sprintf("checkpoint %d covers shard %d, which has no head row", es[0].checkpoint, shard)})
		}
	}

	for _, h := range heads {
		if b, err := v.shard(h, exp[h.Shard]); err != nil || b != nil {
			if err != nil {
				return Report{}, err
			}
			return v.broken(*b)
		}
	}
	if v.announced > v.lastCheckpointSeq {
		// Announced after the checkpoints were read (made while we ran),
		// or deleted: only the second leaves it missing now.
		var newest int64
		if err := v.read(func(tx store.Tx) error {
			c, err := tx.LastAuditCheckpoint(tenantID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			newest = c.Seq
			return err
		}); err != nil {
			return Report{}, err
		}
		if newest < v.announced {
			return v.broken(Break{Kind: BreakCheckpointChain, Shard: v.annShard, Seq: v.annSeq, Checkpoint: v.announced,
				Detail: fmt.Sprintf("the log announces checkpoint %d but the newest checkpoint is %d", v.announced, newest)})
		}
	}
	v.r.Intact = true
	return v.r, nil
}

// checkpoints verifies the checkpoint chain and signatures and returns, per
// shard, the (seq, hash) pairs the checkpoints name, in seq order; pairs
// repeated by checkpoints of an idle shard are kept once.
func (v *verifier) checkpoints() (map[int][]expect, *Break, error) {
	exp := map[int][]expect{}
	prevDigest := genesis
	var prevSeq int64
	var keyID string
	if v.pub != nil {
		keyID = KeyID(v.pub)
	}
	for {
		var cs []store.AuditCheckpoint
		if err := v.read(func(tx store.Tx) error {
			var err error
			cs, err = tx.ListAuditCheckpoints(v.tenant, prevSeq, v.page)
			return err
		}); err != nil {
			return nil, nil, err
		}
		for i := range cs {
			c := &cs[i]
			if c.Seq != prevSeq+1 {
				return nil, &Break{Kind: BreakCheckpointChain, Shard: -1, Checkpoint: c.Seq,
					Detail: fmt.Sprintf("checkpoint %d is missing", prevSeq+1)}, nil
			}
			if !bytes.Equal(c.PrevHash, prevDigest) {
				return nil, &Break{Kind: BreakCheckpointChain, Shard: -1, Checkpoint: c.Seq,
					Detail: fmt.Sprintf("checkpoint %d does not chain to checkpoint %d", c.Seq, prevSeq)}, nil
			}
			if v.pub != nil {
				if c.KeyID != keyID {
					return nil, &Break{Kind: BreakSignature, Shard: -1, Checkpoint: c.Seq,
						Detail: fmt.Sprintf("signed by key %s, but the audit key given is %s", c.KeyID, keyID)}, nil
				}
				if !ed25519.Verify(v.pub, checkpointMessage(c), c.Signature) {
					return nil, &Break{Kind: BreakSignature, Shard: -1, Checkpoint: c.Seq,
						Detail: "the signature does not match the checkpoint's contents"}, nil
				}
			}
			if len(c.Heads) == 0 {
				return nil, &Break{Kind: BreakCheckpoint, Shard: -1, Checkpoint: c.Seq, Detail: "the checkpoint's heads cannot be read"}, nil
			}
			for j, h := range c.Heads {
				if j > 0 && h.Shard <= c.Heads[j-1].Shard || h.Shard < 0 || h.Seq < 0 {
					return nil, &Break{Kind: BreakCheckpoint, Shard: -1, Checkpoint: c.Seq, Detail: "the checkpoint's heads are malformed"}, nil
				}
				es := exp[h.Shard]
				var last expect
				if len(es) > 0 {
					last = es[len(es)-1]
				}
				switch {
				case h.Seq == 0:
					if len(es) > 0 || !bytes.Equal(h.Hash, genesis) {
						return nil, &Break{Kind: BreakCheckpoint, Shard: h.Shard, Checkpoint: c.Seq,
							Detail: "the checkpoint names an empty shard that was not empty before"}, nil
					}
				case h.Seq < last.seq:
					return nil, &Break{Kind: BreakCheckpoint, Shard: h.Shard, Seq: h.Seq, Checkpoint: c.Seq,
						Detail: fmt.Sprintf("the shard goes back from seq %d (checkpoint %d) to seq %d", last.seq, last.checkpoint, h.Seq)}, nil
				case h.Seq == last.seq:
					if !bytes.Equal(h.Hash, last.hash) {
						return nil, &Break{Kind: BreakCheckpoint, Shard: h.Shard, Seq: h.Seq, Checkpoint: c.Seq,
							Detail: fmt.Sprintf("checkpoints %d and %d disagree about this row's hash", last.checkpoint, c.Seq)}, nil
					}
				default:
					exp[h.Shard] = append(es, expect{seq: h.Seq, hash: h.Hash, checkpoint: c.Seq})
				}
			}
			prevDigest = checkpointDigest(c)
			prevSeq = c.Seq
			v.lastCheckpointSeq = c.Seq
			v.r.Checkpoints++
			v.r.LastCheckpoint = &CheckpointInfo{Seq: c.Seq, At: c.At, KeyID: c.KeyID}
		}
		if len(cs) < v.page {
			return exp, nil, nil
		}
	}
}

// shard walks one chain up to its head h, in pages.
func (v *verifier) shard(h store.AuditHead, exp []expect) (*Break, error) {
	prev := genesis
	var last int64
	ei := 0
	for last < h.Seq {
		var rows []store.AuditEvent
		if err := v.read(func(tx store.Tx) error {
			var err error
			rows, err = tx.ScanAuditEvents(v.tenant, h.Shard, last, h.Seq, v.page)
			return err
		}); err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			break
		}
		for i := range rows {
			e := &rows[i]
			if e.Seq != last+1 {
				return &Break{Kind: BreakGap, Shard: h.Shard, Seq: last + 1,
					Detail: fmt.Sprintf("seq %d follows seq %d; %d row(s) missing", e.Seq, last, e.Seq-last-1)}, nil
			}
			if !bytes.Equal(e.PrevHash, prev) {
				return &Break{Kind: BreakPrevHash, Shard: h.Shard, Seq: e.Seq,
					Detail: "the row's previous hash is not the hash of the row before it"}, nil
			}
			if !bytes.Equal(EventHash(e), e.Hash) {
				return &Break{Kind: BreakHash, Shard: h.Shard, Seq: e.Seq,
					Detail: "the row's contents do not match its hash"}, nil
			}
			for ; ei < len(exp) && exp[ei].seq == e.Seq; ei++ {
				if !bytes.Equal(exp[ei].hash, e.Hash) {
					return &Break{Kind: BreakCheckpoint, Shard: h.Shard, Seq: e.Seq, Checkpoint: exp[ei].checkpoint,
						Detail: fmt.Sprintf("checkpoint %d signed another hash for this row", exp[ei].checkpoint)}, nil
				}
			}
			if n := announced(e); n > v.announced {
				v.announced, v.annShard, v.annSeq = n, e.Shard, e.Seq
			}
			prev, last = e.Hash, e.Seq
			v.r.Events++
		}
		if err := v.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if last < h.Seq {
		return &Break{Kind: BreakHead, Shard: h.Shard, Seq: last + 1,
			Detail: fmt.Sprintf("the head is at seq %d but the rows end at seq %d", h.Seq, last)}, nil
	}
	if !bytes.Equal(prev, h.Hash) {
		return &Break{Kind: BreakHead, Shard: h.Shard, Seq: h.Seq, Detail: "the head's hash is not the newest row's hash"}, nil
	}
	if ei < len(exp) {
		x := exp[ei]
		return &Break{Kind: BreakTruncated, Shard: h.Shard, Seq: h.Seq + 1, Checkpoint: x.checkpoint,
			Detail: fmt.Sprintf("checkpoint %d says the shard reached seq %d; it ends at seq %d", x.checkpoint, x.seq, h.Seq)}, nil
	}
	// Rows outside the walked range. Past the head, on a live store, they
	// may be appends committed since the head was read: such rows are
	// always covered by the head as read after them, so only rows past
	// that head are foreign.
	var first, maxSeq int64
	if err := v.read(func(tx store.Tx) error {
		var err error
		first, maxSeq, err = tx.AuditSeqRange(v.tenant, h.Shard)
		return err
	}); err != nil {
		return nil, err
	}
	if first < 1 && maxSeq > 0 {
		return &Break{Kind: BreakStray, Shard: h.Shard, Seq: first,
			Detail: fmt.Sprintf("a row is numbered %d, before the chain's first", first)}, nil
	}
	if maxSeq > h.Seq {
		var now int64
		if err := v.read(func(tx store.Tx) error {
			hs, err := tx.AuditHeads(v.tenant)
			if err == nil && h.Shard < len(hs) {
				now = hs[h.Shard].Seq
			}
			return err
		}); err != nil {
			return nil, err
		}
		if maxSeq > now {
			return &Break{Kind: BreakBeyondHead, Shard: h.Shard, Seq: max(now, h.Seq) + 1,
				Detail: fmt.Sprintf("rows run to seq %d but the head is at seq %d", maxSeq, max(now, h.Seq))}, nil
		}
	}
	return nil, nil
}
