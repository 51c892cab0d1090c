package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// CheckpointResult says what Checkpoint did.
type CheckpointResult struct {
	// Created is false when the heads had not moved since the last
	// checkpoint (or the tenant has no events), so nothing was signed.
	Created bool
	Seq     int64
	At      time.Time
	// Digest is the SHA-256 of the signed message, hex: log it or keep it
	// elsewhere, and a later rewrite of the database cannot match it.
	Digest string
}

// Checkpoint signs the tenant's current heads with signer and stores the
// checkpoint, chained to the previous one. It does nothing if no shard has
// moved since the last checkpoint, so running it often on idle tenants adds
// no rows.
func Checkpoint(ctx context.Context, st store.Store, tenantID string, signer ed25519.PrivateKey) error {
	_, err := checkpoint(ctx, st, tenantID, signer, time.Now)
	return err
}

// CheckpointNow is Checkpoint reporting what it did, with the Log's clock.
func (l *Log) CheckpointNow(ctx context.Context, st store.Store, tenantID string, signer ed25519.PrivateKey) (CheckpointResult, error) {
	if l == nil {
		return CheckpointResult{}, ErrNotConfigured
	}
	return checkpoint(ctx, st, tenantID, signer, l.now)
}

// ActionCheckpoint is the action of the event a checkpoint appends to the
// log before signing, with Reason "checkpoint N": the chain then vouches
// for its checkpoints, so deleting the newest checkpoint (which nothing
// else would miss) breaks verification.
const ActionCheckpoint = "audit.checkpoint"

// errRaced rolls back a checkpoint another instance made first.
var errRaced = errors.New("audit: checkpoint made concurrently")

func checkpoint(ctx context.Context, st store.Store, tenantID string, signer ed25519.PrivateKey, now func() time.Time) (CheckpointResult, error) {
	if len(signer) != ed25519.PrivateKeySize {
		return CheckpointResult{}, errors.New("audit: checkpoint: the signer is not an Ed25519 private key")
	}
	pub, _ := signer.Public().(ed25519.PublicKey)
	keyID := KeyID(pub)
	announcer := &Log{opts: Options{Now: now}}
	var res CheckpointResult
	err := st.Write(ctx, func(tx store.Tx) error {
		res = CheckpointResult{}
		heads, err := tx.AuditHeads(tenantID)
		if err != nil || len(heads) == 0 {
			return err
		}
		c := store.AuditCheckpoint{TenantID: tenantID, Seq: 1, At: now().Truncate(time.Microsecond).UTC(), PrevHash: genesis, KeyID: keyID}
		last, err := tx.LastAuditCheckpoint(tenantID)
		switch {
		case err == nil:
			if sameHeads(last.Heads, heads) {
				return nil // nothing new, not even another checkpoint's announcement
			}
			c.Seq = last.Seq + 1
			c.PrevHash = checkpointDigest(&last)
			if !c.At.After(last.At) {
				c.At = last.At.Add(time.Microsecond) // keep checkpoint times increasing
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		ev := Event{Actor: "system", Action: ActionCheckpoint, Outcome: OutcomeOK, Reason: announcement(c.Seq), At: c.At}
		if err := announcer.Append(tx, tenantID, ev); err != nil {
			return err
		}
		if c.Heads, err = tx.AuditHeads(tenantID); err != nil {
			return err
		}
		c.Signature = ed25519.Sign(signer, checkpointMessage(&c))
		if err := tx.InsertAuditCheckpoint(c); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errRaced // drop our announcement with it
			}
			return err
		}
		res = CheckpointResult{Created: true, Seq: c.Seq, At: c.At, Digest: hex.EncodeToString(checkpointDigest(&c))}
		return nil
	})
	if errors.Is(err, errRaced) {
		return CheckpointResult{}, nil
	}
	if err != nil {
		return CheckpointResult{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	return res, nil
}

// announcement is the Reason of the event announcing checkpoint seq.
func announcement(seq int64) string { return "checkpoint " + strconv.FormatInt(seq, 10) }

// announced returns the checkpoint an event announces, or 0.
func announced(e *store.AuditEvent) int64 {
	if e.Action != ActionCheckpoint || e.Actor != "system" {
		return 0
	}
	s, ok := strings.CutPrefix(e.Reason, "checkpoint ")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

func sameHeads(a, b []store.AuditHead) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Shard != b[i].Shard || a[i].Seq != b[i].Seq || !bytes.Equal(a[i].Hash, b[i].Hash) {
			return false
		}
	}
	return true
}

// CheckpointAll checkpoints every tenant whose log moved since its last
// checkpoint, with the keys of Options.Keys. It goes on after a tenant
// fails and returns the failures joined.
func (l *Log) CheckpointAll(ctx context.Context, st store.Store) error {
	if l == nil {
		return ErrNotConfigured
	}
	if l.opts.Keys == nil {
		return errors.New("audit: checkpoints need Options.Keys")
	}
	var tenants []store.Tenant
	if err := st.Read(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			return err
		}
		var moved bool
		if err := st.Read(ctx, func(tx store.Tx) error {
			hs, err := tx.AuditHeads(t.ID)
			if err != nil || len(hs) == 0 {
				return err // never audited: no key needed yet
			}
			last, err := tx.LastAuditCheckpoint(t.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				moved = true
			case err == nil:
				moved = !sameHeads(last.Heads, hs)
			}
			return err
		}); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		if !moved {
			continue // idle since its last checkpoint: leave its key alone
		}
		signer, err := l.opts.Keys.AuditSigner(ctx, t.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: audit key: %w", t.Slug, err))
			continue
		}
		res, err := checkpoint(ctx, st, t.ID, signer, l.now)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		if res.Created {
			// The digest in the operator's logs is an anchor outside the
			// database: a rewrite of the log cannot reproduce it.
			l.opts.Logger.Info("audit checkpoint", "tenant", t.ID, "seq", res.Seq, "digest", res.Digest)
		}
	}
	if len(errs) > 0 {
		l.opts.Logger.Error("audit checkpoints failed", "failures", len(errs), "err", errors.Join(errs...).Error())
	}
	return errors.Join(errs...)
}

// Scheduler runs a function once per period across instances;
// (*jobs.Runner).Periodic is one.
type Scheduler interface {
	Periodic(name string, every time.Duration, fn func(ctx context.Context) error)
}

// PeriodicName is the periodic task SchedulePeriodic registers.
const PeriodicName = "audit.checkpoint"

// DefaultCheckpointEvery is a suggested checkpoint period: events newer
// than the last checkpoint are protected by their chain and head only, so
// the period bounds what an attacker with database access (but not the
// key) could remove unnoticed.
const DefaultCheckpointEvery = 5 * time.Minute

// SchedulePeriodic registers CheckpointAll with s to run every period (one
// instance per period). It panics, like Periodic, if Options.Keys is nil.
func (l *Log) SchedulePeriodic(s Scheduler, st store.Store, every time.Duration) {
	if l == nil || l.opts.Keys == nil {
		panic("audit: SchedulePeriodic needs a Log with Options.Keys")
	}
	s.Periodic(PeriodicName, every, func(ctx context.Context) error { return l.CheckpointAll(ctx, st) })
}
