package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/postgres"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// eachEngine runs fn on a fresh store of every engine (PostgreSQL when
// configured).
func eachEngine(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testKeys is an in-memory audit key per tenant, standing in for
// keys.Manager.
type testKeys struct {
	mu   sync.Mutex
	keys map[string]ed25519.PrivateKey
}

func newTestKeys() *testKeys { return &testKeys{keys: map[string]ed25519.PrivateKey{}} }

func (k *testKeys) key(tenantID string) ed25519.PrivateKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	if priv, ok := k.keys[tenantID]; ok {
		return priv
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	k.keys[tenantID] = priv
	return priv
}

func (k *testKeys) AuditSigner(_ context.Context, tenantID string) (ed25519.PrivateKey, error) {
	return k.key(tenantID), nil
}

func (k *testKeys) AuditPublicKey(_ context.Context, tenantID string) (ed25519.PublicKey, error) {
	return k.key(tenantID).Public().(ed25519.PublicKey), nil
}

func ev(i int) Event {
	return Event{
		Actor: fmt.Sprintf("apikey:k%d", i%3), Role: "agent", Action: []string{"subject.read", "subject.update", "record.list"}[i%3],
		SubjectID: fmt.Sprintf("subj-%d", i%4), Purpose: "support", Outcome: OutcomeOK,
		Reason: "withheld email:consent_missing", RequestID: fmt.Sprintf("req-%d", i),
		Fields: []string{"name", "email"}, Categories: []string{"user.name", "user.contact.email"},
	}
}

// raw is a second, plain SQL handle on a store's database: what an
// attacker with database access would use.
type raw struct {
	db *sql.DB
	pg bool
}

func openRaw(t testing.TB, st store.Store) *raw {
	t.Helper()
	switch d := sqlstore.Unwrap(st).(type) {
	case interface{ SQL() *sql.DB }:
		return &raw{db: d.SQL(), pg: true}
	case interface{ Path() string }:
		db, err := sql.Open("sqlite", d.Path()+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1) // one connection, so per-connection pragmas hold
		t.Cleanup(func() { db.Close() })
		return &raw{db: db}
	}
	t.Fatalf("no raw SQL access to %s", st.Engine())
	return nil
}

func (r *raw) q(s string) string {
	if r.pg {
		return postgres.Dialect().Rebind(s)
	}
	return s
}

func (r *raw) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	for _, q := range strings.Split(query, ";") {
		if strings.TrimSpace(q) == "" {
			continue
		}
		n := strings.Count(q, "?")
		if _, err := r.db.Exec(r.q(q), args[:n]...); err != nil {
			t.Fatalf("raw %q: %v", q, err)
		}
		args = args[n:]
	}
}

// auditTables are every audit table, in insertion order.
var auditTables = []string{"audit_heads", "audit_events", "audit_checkpoints"}

// snapshot is the whole content of the audit tables.
type snapshot map[string]tableRows

type tableRows struct {
	cols []string
	rows [][]any
}

func (r *raw) snapshot(t testing.TB) snapshot {
	t.Helper()
	s := snapshot{}
	for _, table := range auditTables {
		rows, err := r.db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		tr := tableRows{cols: cols}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			tr.rows = append(tr.rows, vals)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		s[table] = tr
	}
	return s
}

// restore puts the audit tables back as they were in s.
func (r *raw) restore(t testing.TB, s snapshot) {
	t.Helper()
	tx, err := r.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, table := range auditTables {
		if _, err := tx.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
		tr := s[table]
		q := r.q("INSERT INTO " + table + " (" + strings.Join(tr.cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(tr.cols)), ", ") + ")")
		for _, row := range tr.rows {
			if _, err := tx.Exec(q, row...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
