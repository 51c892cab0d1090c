package keys

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// benchEngines runs fn as a sub-benchmark per engine.
func benchEngines(b *testing.B, fn func(b *testing.B, open func(testing.TB) store.KeyStore)) {
	for _, e := range storetest.KeyEngines() {
		b.Run(e.Name, func(b *testing.B) { fn(b, e.Open) })
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	ks := storetest.OpenKeyStoreSQLite(b)
	_, root := rootFile(b)
	m := NewManager(root, ks, ManagerOptions{})
	tenant := store.NewID()
	if err := m.EnsureTenant(bg(), tenant); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.BlindIndex(bg(), tenant, "email", "alice.example@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.BlindIndex(bg(), tenant, "email", "alice.example@example.com")
			}
		})
	})
}

// BenchmarkNewSubjectKey: a durable key-store insert per call from 64
// concurrent callers, as the vault's creates do.
func BenchmarkNewSubjectKey(b *testing.B) {
	benchEngines(b, func(b *testing.B, open func(testing.TB) store.KeyStore) {
		ks := open(b)
		_, root := rootFile(b)
		m := NewManager(root, ks, ManagerOptions{})
		tenant := store.NewID()
		if err := m.EnsureTenant(bg(), tenant); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.NewSubjectKey(bg(), tenant, store.NewID()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	})
}

func benchSubjects(b *testing.B, m *Manager, tenant string, n int) []string {
	subjects := make([]string, n)
	for i := range subjects {
		subjects[i] = store.NewID()
		if _, err := m.NewSubjectKey(bg(), tenant, subjects[i]); err != nil {
			b.Fatal(err)
		}
	}
	return subjects
}

// BenchmarkSubjectKeyCold: every call reads the key store and unwraps (no
// cache), from concurrent callers.
func BenchmarkSubjectKeyCold(b *testing.B) {
	benchEngines(b, func(b *testing.B, open func(testing.TB) store.KeyStore) {
		ks := open(b)
		_, root := rootFile(b)
		m := NewManager(root, ks, ManagerOptions{CacheSize: -1})
		tenant := store.NewID()
		subjects := benchSubjects(b, m, tenant, 1000)
		var i atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.SubjectKey(bg(), tenant, subjects[i.Add(1)%int64(len(subjects))]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	})
}

// BenchmarkSubjectKeyWarm: every call is a cache hit.
func BenchmarkSubjectKeyWarm(b *testing.B) {
	ks := storetest.OpenKeyStoreSQLite(b)
	_, root := rootFile(b)
	m := NewManager(root, ks, ManagerOptions{})
	tenant := store.NewID()
	subjects := benchSubjects(b, m, tenant, 10000)
	var i atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.SubjectKey(bg(), tenant, subjects[i.Add(1)%int64(len(subjects))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUnwrapDEK is the crypto of the cold path without the store.
func BenchmarkUnwrapDEK(b *testing.B) {
	raw := make([]byte, 32)
	kek, _ := newAEAD(raw)
	w := wrapDEK(kek, "tenant", "subject", 1, raw)
	b.ReportAllocs()
	for b.Loop() {
		dek, err := unwrapDEK(kek, "tenant", "subject", 1, w)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := newDataKey(dek); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVaultCreate is the key work of one vault create (issue 3's
// benchmark shape): a new subject key (durable key-store write), 3 blind
// indexes and 8 sealed fields of 64 bytes, from 64 concurrent callers.
func BenchmarkVaultCreate(b *testing.B) {
	benchEngines(b, func(b *testing.B, open func(testing.TB) store.KeyStore) {
		ks := open(b)
		_, root := rootFile(b)
		m := NewManager(root, ks, ManagerOptions{})
		tenant := store.NewID()
		if err := m.EnsureTenant(bg(), tenant); err != nil {
			b.Fatal(err)
		}
		fields := []string{"email", "phone", "name", "street", "city", "zip", "birthdate", "customer_no"}
		value := make([]byte, 64)
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s := store.NewID()
				for _, kind := range []string{"email", "phone", "external_id"} {
					if _, err := m.BlindIndex(bg(), tenant, kind, s); err != nil {
						b.Error(err)
						return
					}
				}
				dk, err := m.NewSubjectKey(bg(), tenant, s)
				if err != nil {
					b.Error(err)
					return
				}
				for _, f := range fields {
					if _, err := dk.Seal(FieldAD(tenant, s, f), value); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}

// BenchmarkVaultRead is the key work of one read by email: a blind index, a
// warm subject key and 8 fields opened.
func BenchmarkVaultRead(b *testing.B) {
	ks := storetest.OpenKeyStoreSQLite(b)
	_, root := rootFile(b)
	m := NewManager(root, ks, ManagerOptions{})
	tenant := store.NewID()
	subjects := benchSubjects(b, m, tenant, 1000)
	fields := []string{"email", "phone", "name", "street", "city", "zip", "birthdate", "customer_no"}
	cts := make([][][]byte, len(subjects))
	for i, s := range subjects {
		dk, _ := m.SubjectKey(bg(), tenant, s)
		for _, f := range fields {
			ct, _ := dk.Seal(FieldAD(tenant, s, f), make([]byte, 64))
			cts[i] = append(cts[i], ct)
		}
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1)) % len(subjects)
			s := subjects[i]
			if _, err := m.BlindIndex(bg(), tenant, "email", s); err != nil {
				b.Error(err)
				return
			}
			dk, err := m.SubjectKey(bg(), tenant, s)
			if err != nil {
				b.Error(err)
				return
			}
			for j, f := range fields {
				if _, err := dk.Open(FieldAD(tenant, s, f), cts[i][j]); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}
