package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// fixture is a tenant whose log spans three shards, two signed checkpoints
// and a few events after the last one, plus a second tenant with events of
// its own.
type fixture struct {
	st     store.Store
	log    *Log
	a, b   store.Tenant
	pub    ed25519.PublicKey
	heads  []store.AuditHead
	cps    []store.AuditCheckpoint
	events int64
	r      *raw
}

// tamperPage is small so verification crosses page boundaries.
const tamperPage = 4

func newFixture(t *testing.T, st store.Store) *fixture {
	ctx := testCtx(t)
	keys := newTestKeys()
	f := &fixture{st: st, log: New(Options{Shards: 3, Keys: keys}), r: openRaw(t, st)}
	f.a = storetest.NewTenant(t, st, "tamper-a")
	f.b = storetest.NewTenant(t, st, "tamper-b")
	rec := func(n int) {
		for i := range n {
			if err := f.log.Record(ctx, st, f.a.ID, ev(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec(9)
	if res, err := f.log.CheckpointNow(ctx, st, f.a.ID, keys.key(f.a.ID)); err != nil || !res.Created || res.Seq != 1 {
		t.Fatalf("checkpoint 1: %+v, %v", res, err)
	}
	rec(4)
	if res, err := f.log.CheckpointNow(ctx, st, f.a.ID, keys.key(f.a.ID)); err != nil || !res.Created || res.Seq != 2 {
		t.Fatalf("checkpoint 2: %+v, %v", res, err)
	}
	rec(3)
	for i := range 2 {
		if err := f.log.Record(ctx, st, f.b.ID, ev(i)); err != nil {
			t.Fatal(err)
		}
	}
	f.pub, _ = keys.AuditPublicKey(ctx, f.a.ID)
	err := st.Read(ctx, func(tx store.Tx) error {
		var err error
		if f.heads, err = tx.AuditHeads(f.a.ID); err != nil {
			return err
		}
		f.cps, err = tx.ListAuditCheckpoints(f.a.ID, 0, 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.heads {
		f.events += h.Seq
		if h.Seq < 3 {
			t.Fatalf("shard %d has %d events; the cases below need three", h.Shard, h.Seq)
		}
	}
	if f.events != 9+4+3+2 || len(f.heads) != 3 || len(f.cps) != 2 {
		t.Fatalf("fixture: %d events, %d heads, %d checkpoints", f.events, len(f.heads), len(f.cps))
	}
	f.intact(t, "fixture")
	return f
}

func (f *fixture) verify(t *testing.T, tenantID string, pub ed25519.PublicKey) Report {
	t.Helper()
	rep, err := verify(testCtx(t), f.st, tenantID, pub, tamperPage)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func (f *fixture) intact(t *testing.T, when string) {
	t.Helper()
	rep := f.verify(t, f.a.ID, f.pub)
	if !rep.Intact || rep.Break != nil {
		t.Fatalf("%s: log not intact: %v", when, rep.Break)
	}
	if rep.Events != f.events || rep.Shards != 3 || rep.Checkpoints != 2 || !rep.SignaturesChecked ||
		rep.LastCheckpoint == nil || rep.LastCheckpoint.Seq != 2 || rep.LastCheckpoint.KeyID != KeyID(f.pub) {
		t.Fatalf("%s: report %+v", when, rep)
	}
	if rb := f.verify(t, f.b.ID, nil); !rb.Intact || rb.Events != 2 || rb.SignaturesChecked {
		t.Fatalf("%s: tenant b: %+v", when, rb)
	}
}

// want describes the expected first break; Shard -2 and Seq -1 mean any.
type want struct {
	kind  BreakKind
	shard int
	seq   int64
}

func (w want) matches(b *Break) bool {
	return b != nil && b.Kind == w.kind && (w.shard == -2 || b.Shard == w.shard) && (w.seq == -1 || b.Seq == w.seq)
}

type tamperCase struct {
	name  string
	sql   string // statements separated by ';'
	args  []any
	want  want
	noKey bool // verify the chain alone
}

func (f *fixture) head(shard int) store.AuditHead { return f.heads[shard] }

// cases lists single-row tampering: every event, head and checkpoint
// row deleted and edited, every event column edited, rows reordered,
// moved and inserted.
func (f *fixture) cases() []tamperCase {
	a := f.a.ID
	ff := bytes.Repeat([]byte{0xff}, HashSize)
	var cs []tamperCase
	const evWhere = ` WHERE tenant_id = ? AND shard = ? AND seq = ?`
	for _, h := range f.heads {
		s, top := h.Shard, h.Seq
		for k := int64(1); k <= top; k++ {
			cs = append(cs, tamperCase{
				name: fmt.Sprintf("edit event %d/%d", s, k),
				sql:  `UPDATE audit_events SET reason = 'edited'` + evWhere, args: []any{a, s, k},
				want: want{BreakHash, s, k},
			})
			del := want{BreakGap, s, k}
			if k == top {
				del.kind = BreakHead // the head still names the deleted newest row
			}
			cs = append(cs, tamperCase{
				name: fmt.Sprintf("delete event %d/%d", s, k),
				sql:  `DELETE FROM audit_events` + evWhere, args: []any{a, s, k},
				want: del,
			})
		}
		cs = append(cs,
			tamperCase{name: fmt.Sprintf("delete head %d", s), sql: `DELETE FROM audit_heads WHERE tenant_id = ? AND shard = ?`,
				args: []any{a, s}, want: want{BreakMissingHead, s, -1}},
			tamperCase{name: fmt.Sprintf("edit head hash %d", s), sql: `UPDATE audit_heads SET hash = ? WHERE tenant_id = ? AND shard = ?`,
				args: []any{ff, a, s}, want: want{BreakHead, s, top}},
			tamperCase{name: fmt.Sprintf("move head back %d", s), sql: `UPDATE audit_heads SET seq = seq - 1 WHERE tenant_id = ? AND shard = ?`,
				args: []any{a, s}, want: want{BreakHead, s, -1}},
			tamperCase{name: fmt.Sprintf("move head ahead %d", s), sql: `UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = ? AND shard = ?`,
				args: []any{a, s}, want: want{BreakHead, s, top + 1}},
			tamperCase{name: fmt.Sprintf("insert event after head %d", s),
				sql: `INSERT INTO audit_events (` + auditEventColsForTest + `) SELECT tenant_id, shard, seq + 1, at, actor, role, action,
					subject_id, purpose, outcome, reason, request_id, fields, categories, prev_hash, hash FROM audit_events` + evWhere,
				args: []any{a, s, top}, want: want{BreakBeyondHead, s, top + 1}},
		)
	}
	// Every column of one event.
	for _, c := range []struct{ col, set string }{
		{"at", "at = at + 1"}, {"actor", "actor = 'apikey:other'"}, {"role", "role = 'admin'"},
		{"action", "action = 'subject.update'"}, {"subject_id", "subject_id = 'subj-9'"}, {"purpose", "purpose = 'marketing'"},
		{"outcome", "outcome = 'denied'"}, {"request_id", "request_id = 'req-x'"}, {"fields", "fields = 'name'"},
		{"categories", "categories = ''"},
	} {
		cs = append(cs, tamperCase{name: "edit column " + c.col, sql: `UPDATE audit_events SET ` + c.set + evWhere,
			args: []any{a, 0, 2}, want: want{BreakHash, 0, 2}})
	}
	cs = append(cs,
		tamperCase{name: "edit column prev_hash", sql: `UPDATE audit_events SET prev_hash = ?` + evWhere,
			args: []any{ff, a, 0, 2}, want: want{BreakPrevHash, 0, 2}},
		tamperCase{name: "edit column hash", sql: `UPDATE audit_events SET hash = ?` + evWhere,
			args: []any{ff, a, 0, 2}, want: want{BreakHash, 0, 2}},
		tamperCase{name: "move event to another tenant", sql: `UPDATE audit_events SET tenant_id = ?` + evWhere,
			args: []any{f.b.ID, a, 0, 2}, want: want{BreakGap, 0, 2}},
		tamperCase{name: "move event to another shard", sql: `UPDATE audit_events SET shard = 2, seq = 1000` + evWhere,
			args: []any{a, 0, 2}, want: want{BreakGap, 0, 2}},
		tamperCase{name: "move event to another seq", sql: `UPDATE audit_events SET seq = 1000` + evWhere,
			args: []any{a, 0, 2}, want: want{BreakGap, 0, 2}},
		tamperCase{name: "swap two events",
			sql:  `UPDATE audit_events SET seq = 999999` + evWhere + `; UPDATE audit_events SET seq = 1` + evWhere + `; UPDATE audit_events SET seq = 2` + evWhere,
			args: []any{a, 0, 1, a, 0, 2, a, 0, 999999}, want: want{BreakPrevHash, 0, 1}},
	)
	// Checkpoints.
	const cpWhere = ` WHERE tenant_id = ? AND seq = ?`
	for _, c := range f.cps {
		n := c.Seq
		cs = append(cs,
			tamperCase{name: fmt.Sprintf("delete checkpoint %d", n), sql: `DELETE FROM audit_checkpoints` + cpWhere,
				args: []any{a, n}, want: want{BreakCheckpointChain, -2, -1}},
			tamperCase{name: fmt.Sprintf("edit checkpoint %d signature", n), sql: `UPDATE audit_checkpoints SET signature = ?` + cpWhere,
				args: []any{bytes.Repeat([]byte{1}, ed25519.SignatureSize), a, n}, want: want{BreakSignature, -1, -1}},
			tamperCase{name: fmt.Sprintf("edit checkpoint %d time", n), sql: `UPDATE audit_checkpoints SET at = at + 1` + cpWhere,
				args: []any{a, n}, want: want{BreakSignature, -1, -1}},
			tamperCase{name: fmt.Sprintf("edit checkpoint %d heads", n), sql: `UPDATE audit_checkpoints SET heads = ?` + cpWhere,
				args: []any{f.headsJSON(c, 0, ff), a, n}, want: want{BreakSignature, -1, -1}},
			tamperCase{name: fmt.Sprintf("edit checkpoint %d key id", n), sql: `UPDATE audit_checkpoints SET key_id = 'ffffffffffffffff'` + cpWhere,
				args: []any{a, n}, want: want{BreakSignature, -1, -1}},
			tamperCase{name: fmt.Sprintf("edit checkpoint %d prev hash", n), sql: `UPDATE audit_checkpoints SET prev_hash = ?` + cpWhere,
				args: []any{ff, a, n}, want: want{BreakCheckpointChain, -1, -1}},
			tamperCase{name: fmt.Sprintf("renumber checkpoint %d", n), sql: `UPDATE audit_checkpoints SET seq = 7` + cpWhere,
				args: []any{a, n}, want: want{BreakCheckpointChain, -2, -1}},
		)
	}
	last := f.cps[len(f.cps)-1]
	cs = append(cs,
		tamperCase{name: "insert a forged checkpoint", sql: `INSERT INTO audit_checkpoints (tenant_id, seq, at, heads, prev_hash, key_id, signature)
			SELECT tenant_id, seq + 1, at + 1, heads, ?, key_id, signature FROM audit_checkpoints` + cpWhere,
			args: []any{checkpointDigest(&last), a, last.Seq}, want: want{BreakSignature, -1, -1}},
		// Without the key the signature cannot be checked, but a head
		// the rows contradict still is.
		tamperCase{name: "edit last checkpoint heads, chain only", sql: `UPDATE audit_checkpoints SET heads = ?` + cpWhere,
			args: []any{f.headsJSON(last, 0, ff), a, last.Seq}, want: want{BreakCheckpoint, 0, -1}, noKey: true},
	)
	return cs
}

// auditEventColsForTest lists audit_events' columns (as the migration
// names them).
const auditEventColsForTest = `tenant_id, shard, seq, at, actor, role, action, subject_id, purpose, outcome, reason,
	request_id, fields, categories, prev_hash, hash`

// headsJSON is c's heads column with shard's hash replaced.
func (f *fixture) headsJSON(c store.AuditCheckpoint, shard int, hash []byte) string {
	type h struct {
		Shard int    `json:"shard"`
		Seq   int64  `json:"seq"`
		Hash  string `json:"hash"`
	}
	var out []h
	for _, x := range c.Heads {
		v := h{Shard: x.Shard, Seq: x.Seq, Hash: hex.EncodeToString(x.Hash)}
		if x.Shard == shard {
			v.Hash = hex.EncodeToString(hash)
		}
		out = append(out, v)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestTamperSingleRow edits, deletes, moves and inserts single rows with
// plain SQL on each engine and checks that verification reports the first
// broken link exactly, and that the log verifies again once restored.
func TestTamperSingleRow(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		snap := f.r.snapshot(t)
		cases := f.cases()
		if len(cases) < 60 {
			t.Fatalf("only %d cases", len(cases))
		}
		for _, c := range cases {
			f.r.exec(t, c.sql, c.args...)
			pub := f.pub
			if c.noKey {
				pub = nil
			}
			rep := f.verify(t, f.a.ID, pub)
			if rep.Intact || !c.want.matches(rep.Break) {
				t.Errorf("%s: got %v, want %s at shard %d seq %d", c.name, rep.Break, c.want.kind, c.want.shard, c.want.seq)
			}
			f.r.restore(t, snap)
		}
		f.intact(t, "after restoring")
	})
}

// TestTamperRewrites covers attackers who change several rows to hide a
// change: the signed checkpoints catch what the chain alone cannot.
func TestTamperRewrites(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		snap := f.r.snapshot(t)
		a := f.a.ID
		last := f.cps[len(f.cps)-1]

		// Delete the newest rows of a shard back into the last
		// checkpoint's coverage and move its head back to match: the chain
		// and head agree, the checkpoint does not.
		s := 1
		covered := last.Heads[s].Seq
		prev := f.row(t, s, covered-1)
		f.r.exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND shard = ? AND seq >= ?;
			UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ? AND shard = ?`,
			a, s, covered, covered-1, prev.Hash, a, s)
		rep := f.verify(t, a, f.pub)
		if !(want{BreakTruncated, s, covered}).matches(rep.Break) {
			t.Errorf("truncation into a checkpoint: %v", rep.Break)
		}
		f.r.restore(t, snap)

		// Rewrite an event and recompute every later hash and the head,
		// as someone with database access but without the key can: the
		// chain is consistent again, the checkpoints are not.
		f.rechain(t, 0, func(e *store.AuditEvent) { e.Reason = "rewritten" })
		if rep := f.verify(t, a, nil); !(want{BreakCheckpoint, 0, -1}).matches(rep.Break) {
			t.Errorf("rewritten chain, no key: %v", rep.Break)
		}
		if rep := f.verify(t, a, f.pub); !(want{BreakCheckpoint, 0, -1}).matches(rep.Break) {
			t.Errorf("rewritten chain: %v", rep.Break)
		}
		f.r.restore(t, snap)

		// The documented limit: events after the last checkpoint rest on
		// their chain and head alone; deleting the newest ones and moving
		// the head back to match is not detected until... never, unless
		// a checkpoint digest was kept elsewhere. Checkpoint often.
		s = 2
		top := f.head(s).Seq
		if last.Heads[s].Seq >= top {
			t.Fatalf("shard %d has no events after the last checkpoint", s)
		}
		prev = f.row(t, s, top-1)
		f.r.exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND shard = ? AND seq = ?;
			UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ? AND shard = ?`,
			a, s, top, top-1, prev.Hash, a, s)
		if rep := f.verify(t, a, f.pub); !rep.Intact {
			t.Errorf("truncation after the last checkpoint was detected (%v): update the documented limit in docs/security.md", rep.Break)
		}
		f.r.restore(t, snap)
		f.intact(t, "after restoring")
	})
}

// row reads one event through the store.
func (f *fixture) row(t *testing.T, shard int, seq int64) store.AuditEvent {
	t.Helper()
	var rows []store.AuditEvent
	err := f.st.Read(testCtx(t), func(tx store.Tx) error {
		var err error
		rows, err = tx.ScanAuditEvents(f.a.ID, shard, seq-1, seq, 1)
		return err
	})
	if err != nil || len(rows) != 1 {
		t.Fatalf("row %d/%d: %v", shard, seq, err)
	}
	return rows[0]
}

// rechain applies edit to the first event of shard and recomputes the
// hashes of that shard's chain and its head with raw SQL.
func (f *fixture) rechain(t *testing.T, shard int, edit func(e *store.AuditEvent)) {
	t.Helper()
	var rows []store.AuditEvent
	err := f.st.Read(testCtx(t), func(tx store.Tx) error {
		var err error
		rows, err = tx.ScanAuditEvents(f.a.ID, shard, 0, 1<<40, store.MaxAuditScan)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	edit(&rows[0])
	prev := genesis
	for i := range rows {
		rows[i].PrevHash = prev
		rows[i].Hash = EventHash(&rows[i])
		prev = rows[i].Hash
		f.r.exec(t, `UPDATE audit_events SET reason = ?, prev_hash = ?, hash = ? WHERE tenant_id = ? AND shard = ? AND seq = ?`,
			rows[i].Reason, rows[i].PrevHash, rows[i].Hash, f.a.ID, shard, rows[i].Seq)
	}
	f.r.exec(t, `UPDATE audit_heads SET hash = ? WHERE tenant_id = ? AND shard = ?`, prev, f.a.ID, shard)
}

// TestTamperPastTheSchema: rows the schema's checks forbid (seq below 1, a
// negative shard), inserted by someone who can also lift the checks.
func TestTamperPastTheSchema(t *testing.T) {
	eachEngine(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		if f.r.pg {
			f.r.exec(t, `ALTER TABLE audit_events DROP CONSTRAINT audit_events_seq_check; ALTER TABLE audit_events DROP CONSTRAINT audit_events_shard_check`)
		} else {
			f.r.exec(t, `PRAGMA ignore_check_constraints = ON`)
		}
		snap := f.r.snapshot(t)
		copyRow := `INSERT INTO audit_events (` + auditEventColsForTest + `) SELECT tenant_id, ?, ?, at, actor, role, action,
			subject_id, purpose, outcome, reason, request_id, fields, categories, prev_hash, hash FROM audit_events
			WHERE tenant_id = ? AND shard = 1 AND seq = 1`
		for _, c := range []struct {
			name       string
			shard, seq int64
			want       want
		}{
			{"seq 0", 1, 0, want{BreakStray, 1, 0}},
			{"negative seq", 1, -3, want{BreakStray, 1, -3}},
			{"negative shard", -1, 1, want{BreakMissingHead, -1, -1}},
		} {
			f.r.exec(t, copyRow, c.shard, c.seq, f.a.ID)
			if rep := f.verify(t, f.a.ID, f.pub); !c.want.matches(rep.Break) {
				t.Errorf("%s: got %v", c.name, rep.Break)
			}
			f.r.restore(t, snap)
		}
		f.intact(t, "after restoring")
	})
}
