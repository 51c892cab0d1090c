package audit

import (
	"context"
	"runtime"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// BenchmarkAppendParallel measures audited actions per second: each op is
// one Record (a durable write transaction holding one audit event) from 64
// concurrent callers, as the vault does for every read.
func BenchmarkAppendParallel(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st := e.Open(b)
			a := storetest.NewTenant(b, st, "bench")
			l := New(Options{Shards: ShardsFor(st.Engine())})
			ctx := context.Background()
			event := ev(1)
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Record(ctx, st, a.ID, event); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkVerify100k measures verifying a log of 100,000 events.
func BenchmarkVerify100k(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st := e.Open(b)
			a := storetest.NewTenant(b, st, "bench")
			l := New(Options{Shards: ShardsFor(st.Engine())})
			ctx := context.Background()
			const total, batch = 100_000, 1000
			for i := 0; i < total; i += batch {
				err := st.Write(ctx, func(tx store.Tx) error {
					for j := range batch {
						if err := l.Append(tx, a.ID, ev(i+j)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := Verify(ctx, st, a.ID, nil)
				if err != nil || !rep.Intact || rep.Events != total {
					b.Fatalf("verify: %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkEventHash(b *testing.B) {
	e := store.AuditEvent{TenantID: store.NewID(), Shard: 3, Seq: 12345, PrevHash: genesis}
	x := ev(1)
	e.Actor, e.Role, e.Action, e.SubjectID, e.Purpose, e.Outcome = x.Actor, x.Role, x.Action, store.NewID(), x.Purpose, x.Outcome
	e.Reason, e.RequestID, e.Fields, e.Categories = x.Reason, x.RequestID, x.Fields, x.Categories
	b.ReportAllocs()
	for b.Loop() {
		EventHash(&e)
	}
}
