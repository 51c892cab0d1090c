package retention_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/sqlstore"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// BenchmarkSweep measures a sweep of 100,000 due rows in tables of two
// sizes: 200,000 and 1,000,000 subjects, each with one field under the rule
// "6y from last activity", 100,000 of them six years inactive. The sweep
// reads only the due rows through the (tenant, expires_at) index, so both
// sizes should take about the same time: the cost follows the due rows,
// not the table. Seeding uses multi-row inserts through the store's
// connection (not the vault or HTTP), and is not timed.
//
//	go test ./internal/retention -run '^$' -bench Sweep -benchtime 1x -timeout 30m
//
// Set TRUSTEE_BENCH_PG=1 (with TRUSTEE_TEST_PG_DSN) to run it on PostgreSQL
// too. -short skips it.
func BenchmarkSweep(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds a million subjects")
	}
	const due = 100_000
	engs := []string{"sqlite"}
	if os.Getenv("TRUSTEE_BENCH_PG") == "1" {
		engs = append(engs, "postgres")
	}
	for _, eng := range engs {
		for _, total := range []int{200_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/subjects=%d/due=%d", eng, total, due), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					f := benchFixture(b, eng, total, due)
					b.StartTimer()
					start := time.Now()
					r, err := f.ret.Sweep(context.Background(), f.tenant)
					elapsed := time.Since(start)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if r.FieldsDeleted != due || !r.Complete || r.Recomputed != 0 {
						b.Fatalf("sweep: %+v", r)
					}
					b.ReportMetric(float64(due)/elapsed.Seconds(), "due-rows/s")
					b.ReportMetric(elapsed.Seconds(), "sweep-s")
					b.Logf("%s: %d subjects, %d due: swept in %v (%d batches)", eng, total, due, elapsed.Round(time.Millisecond), r.Batches)
				}
			})
		}
	}
}

// benchFixture seeds total subjects with one field each, due of them due.
func benchFixture(b *testing.B, eng string, total, due int) *fixture {
	return benchFixtureTB(b, eng, total, due)
}

func benchFixtureTB(b testing.TB, eng string, total, due int) *fixture {
	b.Helper()
	raw, err := keys.GenerateRootKey()
	if err != nil {
		b.Fatal(err)
	}
	var dsn stores
	if eng == "postgres" {
		d := storetest.PostgresSchemaDSN(b)
		dsn = stores{Data: d, Keys: d}
	} else {
		dir := b.TempDir()
		dsn = stores{Data: "sqlite:" + dir + "/trustee.db", Keys: "sqlite:" + dir + "/keys.db"}
	}
	now := T0.AddDate(7, 0, 0)
	f := openFixture(b, dsn, raw, now)
	f.ret.Batch = retention.DefaultBatch
	ctx := context.Background()
	tn, err := f.tenants.Create(ctx, "bench", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	f.tenant = tn.ID
	f.apply(b, "testdata/policy.yaml")
	a, err := f.tenants.Active(ctx, tn.ID)
	if err != nil {
		b.Fatal(err)
	}
	// The stored due times below already follow the policy.
	if err := f.st.Write(ctx, func(tx store.Tx) error {
		return tx.PutRetentionState(store.RetentionState{TenantID: tn.ID, Applied: retention.Signature(a.Doc), UpdatedAt: now})
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seed(b, f.st, tn.ID, total, due, now)
	if eng == "postgres" {
		// Statistics as autovacuum leaves them after a bulk load; without
		// them the planner takes the fresh tables for empty and reads
		// every due row per batch instead of walking the index.
		if err := sqlstore.Unwrap(f.st).WriteConn(ctx, func(c *sqlstore.Conn) error {
			_, err := c.Exec("analyze", "ANALYZE")
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d subjects in %v", total, time.Since(start).Round(time.Millisecond))
	return f
}

// seed inserts subjects and their nickname fields with multi-row INSERTs,
// 500 rows per statement, 20 statements per transaction. Every tenth
// subject (due of them in all) was last active seven years before now, the
// others now.
func seed(b testing.TB, st store.Store, tenantID string, total, due int, now time.Time) {
	b.Helper()
	db := sqlstore.Unwrap(st)
	ctx := context.Background()
	const rowsPer, stmtsPer = 500, 20
	every := total / due
	ct := make([]byte, 45)
	rand.Read(ct)
	old := now.AddDate(-7, 0, 0)
	for off := 0; off < total; off += rowsPer * stmtsPer {
		err := db.WriteConn(ctx, func(c *sqlstore.Conn) error {
			for s := 0; s < stmtsPer; s++ {
				lo := off + s*rowsPer
				hi := min(lo+rowsPer, total)
				if lo >= hi {
					break
				}
				var sb, fb strings.Builder
				sb.WriteString(`INSERT INTO subjects (tenant_id, id, state, anonymous, age_status, created_at, updated_at, last_activity_at) VALUES `)
				fb.WriteString(`INSERT INTO field_values (tenant_id, subject_id, field, ciphertext, source, collected_at, updated_at, expires_at) VALUES `)
				var sa, fa []any
				for i := lo; i < hi; i++ {
					id := store.NewID()
					last := now
					if i%every == 0 {
						last = old
					}
					if i > lo {
						sb.WriteString(", ")
						fb.WriteString(", ")
					}
					sb.WriteString("(?, ?, 'active', 0, '', ?, ?, ?)")
					sa = append(sa, tenantID, id, last.UnixMicro(), last.UnixMicro(), last.UnixMicro())
					fb.WriteString("(?, ?, 'nickname', ?, 'provided', ?, ?, ?)")
					fa = append(fa, tenantID, id, ct, last.UnixMicro(), last.UnixMicro(), last.AddDate(6, 0, 0).UnixMicro())
				}
				if _, err := c.Exec("seed subjects", sb.String(), sa...); err != nil {
					return err
				}
				if _, err := c.Exec("seed fields", fb.String(), fa...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
