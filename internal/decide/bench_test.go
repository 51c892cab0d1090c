package decide_test

import (
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

// benchSubject is a typical subject on the read path: active, a few consent
// states (one of them the CCPA choice), a tenant-wide hold, and a policy
// change that asked for renewal of one purpose.
func benchSubject() *decide.Subject {
	return &decide.Subject{
		State: store.SubjectActive,
		Controls: store.Controls{
			Holds: []store.LegalHold{{ID: "h", Purpose: "bookkeeping", Collections: []string{"orders"}, Reason: "audit"}},
			Consents: []store.ConsentState{
				{Purpose: "advertising", Kind: store.ConsentWithdrawn, EventID: "e1", At: now.AddDate(0, -2, 0), PolicyVersion: 4},
				{Purpose: store.PurposeSaleShare, Kind: store.ConsentGiven, EventID: "e2", At: now.AddDate(0, -2, 0)},
				{Purpose: "newsletter", Kind: store.ConsentGiven, EventID: "e3", At: now.AddDate(0, -3, 0), ExpiresAt: now.AddDate(1, 0, 0), PolicyVersion: 4},
			},
		},
		ConsentValidSince: map[string]int{"newsletter": 3},
	}
}

// benchItems are eight stored values of one subject, as a vault read sees
// them: most allowed for "service", some not in the purpose, one expired.
var benchItems = []decide.Item{
	itEmail, itName, itAddress,
	{Name: "phone", Category: "user.contact.phone_number"},
	itHealth, itCookie,
	record(itOrders, "0190a"),
	{Name: "old_email", Category: "user.contact.email", ExpiresAt: now.Add(-time.Hour)},
}

// The allocation budget of the hot path is zero, on allowed and denied
// paths alike.
func TestZeroAllocs(t *testing.T) {
	s := benchSubject()
	restricted := benchSubject()
	restricted.Controls.Restrictions = []store.Restriction{{ID: "r", Categories: []string{"user.contact"}}}
	erasedHeld := benchSubject()
	erasedHeld.State = store.SubjectErased
	objected := benchSubject()
	objected.Controls.Objections = []store.Objection{{ID: "o", Kind: store.ObjectDirectMarketing, Status: store.ObjectionUpheld}}
	cases := []struct {
		name, purpose, category string
		s                       *decide.Subject
	}{
		{"consent allowed", "newsletter", "user.contact.email", s},
		{"contract allowed", "service", "user.contact.email", s},
		{"not in purpose", "service", "user.health", s},
		{"consent withdrawn", "advertising", "user.device.cookie_id", s},
		{"consent missing", "recommendations", "user.behavior", s},
		{"restricted", "service", "user.contact.email", restricted},
		{"erased", "service", "user.contact.email", erasedHeld},
		{"objected", "newsletter", "user.contact.email", objected},
	}
	for _, c := range cases {
		n := testing.AllocsPerRun(1000, func() {
			if _, err := decide.DecideCategory(doc, c.purpose, c.s, c.category, now); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("DecideCategory (%s): %v allocations per run, want 0", c.name, n)
		}
	}
	out := make([]decide.Decision, 0, len(benchItems))
	for _, purpose := range []string{"service", "newsletter", "bookkeeping"} {
		n := testing.AllocsPerRun(1000, func() {
			var err error
			if out, err = decide.Decide(doc, purpose, erasedHeld, benchItems, now, out[:0]); err != nil {
				t.Fatal(err)
			}
			if out, err = decide.Decide(doc, purpose, s, benchItems, now, out[:0]); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("Decide (%s, 8 items): %v allocations per run, want 0", purpose, n)
		}
	}
}

func reportRate(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkDecideCategory(b *testing.B) {
	s := benchSubject()
	for _, c := range []struct{ name, purpose, category string }{
		{"contract", "service", "user.contact.email"},
		{"consent", "newsletter", "user.contact.email"},
		{"denied", "advertising", "user.device.cookie_id"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, _ := decide.DecideCategory(doc, c.purpose, s, c.category, now)
				_ = d
			}
			reportRate(b, 1)
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d, _ := decide.DecideCategory(doc, c.purpose, s, c.category, now)
					_ = d
				}
			})
			reportRate(b, 1)
		})
	}
}

func BenchmarkDecide8(b *testing.B) {
	s := benchSubject()
	for _, purpose := range []string{"service", "newsletter"} {
		b.Run(purpose, func(b *testing.B) {
			out := make([]decide.Decision, 0, len(benchItems))
			b.ReportAllocs()
			for b.Loop() {
				out, _ = decide.Decide(doc, purpose, s, benchItems, now, out[:0])
			}
			reportRate(b, len(benchItems))
		})
		b.Run(purpose+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				out := make([]decide.Decision, 0, len(benchItems))
				for pb.Next() {
					out, _ = decide.Decide(doc, purpose, s, benchItems, now, out[:0])
				}
			})
			reportRate(b, len(benchItems))
		})
	}
}
