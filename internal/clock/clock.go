// Package clock is where Trustee counts time the way the law counts it: the
// injectable clock every time-dependent package reads, civil dates, holiday
// calendars per country, and the statutory deadlines of data-subject
// requests (GDPR Art. 12(3), CCPA/CPRA) together with a tenant's stricter
// service levels.
//
// All deadline arithmetic lives here, and nowhere else, so that one set of
// table-driven tests on fixed calendars (month ends, leap years, weekends,
// Easter-dependent holidays) pins down every due date Trustee shows, and a
// DPO can check the rules in one document (docs/deadlines.md).
//
// Deadlines are computed on civil dates in the controller's time zone and
// reported both as the last day of the period and as the instant that day
// ends, because a period "ends with the expiry of the last hour of its last
// day" (Regulation 1182/71, Art. 3), wherever the server happens to run.
package clock

import (
	"sync"
	"time"
	// The IANA time zone database, embedded so that calendars work on
	// minimal machines and containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Clock tells the time. Code that computes deadlines, expiries or retries
// takes a Clock instead of calling time.Now, so tests can fix or move time.
type Clock interface {
	Now() time.Time
}

// System is the real clock.
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Func adapts a function such as time.Now to a Clock.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// OrSystem returns c, or System when c is nil, so options structs can leave
// their clock unset.
func OrSystem(c Clock) Clock {
	if c == nil {
		return System
	}
	return c
}

// Fake is a clock for tests: it stands still until Set or Advance moves it.
// It is safe for concurrent use.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a Fake showing t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set moves the clock to t (backwards too).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	return f.t
}
