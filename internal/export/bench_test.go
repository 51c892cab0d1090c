package export_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"
)

// BenchmarkExport10k builds an access export (JSON, CSV zip and encrypted
// PDF) of a subject with 10,000 collection records on SQLite, and reports
// the heap in use after a build, bytes allocated per build and the
// process's peak RSS.
func BenchmarkExport10k(b *testing.B) {
	f := open(b, engines[0].dsn(b))
	f.subject = f.person(b, 10000-4)
	ctx := context.Background()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := f.exp.Build(ctx, f.tenant, "bench", f.subject, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "MiB-heap-inuse")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "MiB-maxrss")
	}
}
