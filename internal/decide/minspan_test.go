package decide

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// minSpan must never exceed the real length of a period from any start, or
// the engine would skip a lifetime that has run out.
func TestMinSpanIsALowerBound(t *testing.T) {
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Oslo", "America/Los_Angeles", "Australia/Lord_Howe", "Pacific/Chatham"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	units := []policy.Unit{policy.Days, policy.WorkingDays, policy.Weeks, policy.Months, policy.Years}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		p := policy.Period{N: r.IntN(40) + 1, Unit: units[r.IntN(len(units))]}
		start := time.Unix(r.Int64N(4102444800), 0).In(zones[r.IntN(len(zones))])
		if got, lb := p.AddTo(start).Sub(start), minSpan(p); got < lb {
			t.Fatalf("%v from %v lasts %v, minSpan says at least %v", p, start, got, lb)
		}
	}
}
