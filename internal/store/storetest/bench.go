package storetest

import (
	"context"
	"runtime"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
)

// BenchWriteParallel measures small committed writes (one job enqueued per
// Write) from about goroutines concurrent callers, and reports writes/s.
// On SQLite this is what group commit is for.
func BenchWriteParallel(b *testing.B, open func(testing.TB) store.Store, goroutines int) {
	s := open(b)
	tn := NewTenant(b, s, "bench")
	b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.Write(context.Background(), func(tx store.Tx) error {
				_, err := tx.EnqueueJob(store.Job{Kind: "bench", TenantID: tn.ID, Payload: []byte(`{"n":1}`)})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchWriteSerial measures the same write from one caller at a time: the
// latency of one durable commit.
func BenchWriteSerial(b *testing.B, open func(testing.TB) store.Store) {
	s := open(b)
	tn := NewTenant(b, s, "bench")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		err := s.Write(context.Background(), func(tx store.Tx) error {
			_, err := tx.EnqueueJob(store.Job{Kind: "bench", TenantID: tn.ID, Payload: []byte(`{"n":1}`)})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchReadParallel measures point reads (GetTenant) from concurrent
// callers, and reports reads/s.
func BenchReadParallel(b *testing.B, open func(testing.TB) store.Store) {
	s := open(b)
	tn := NewTenant(b, s, "bench")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.Read(context.Background(), func(tx store.Tx) error {
				_, err := tx.GetTenant(tn.ID)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}
