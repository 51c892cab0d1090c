package clock

import (
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// FuzzAddMonths: adding months never panics, lands in the right month, and
// keeps the day unless the month is too short, in which case it is the
// month's last day.
func FuzzAddMonths(f *testing.F) {
	f.Add(2025, 1, 31, 1)
	f.Add(2024, 2, 29, 12)
	f.Add(2100, 1, 31, 1)
	f.Add(1, 1, 1, -13)
	f.Add(9999, 12, 31, 1)
	f.Fuzz(func(t *testing.T, y, m, day, n int) {
		y, m, day, n = 1+abs(y)%9999, 1+abs(m)%12, 1+abs(day)%31, n%100000
		from := NewDate(y, time.Month(m), day) // normalised, e.g. 31 April → 1 May
		got := from.AddMonths(n)
		total := from.Year*12 + int(from.Month) - 1 + n
		if got.Year*12+int(got.Month)-1 != total {
			t.Fatalf("%s + %d months = %s: wrong month", from, n, got)
		}
		last := daysIn(got.Year, got.Month)
		if got.Day != min(from.Day, last) {
			t.Fatalf("%s + %d months = %s: day should be %d", from, n, got, min(from.Day, last))
		}
		if n > 0 && !got.After(from) {
			t.Fatalf("%s + %d months = %s is not later", from, n, got)
		}
	})
}

// FuzzDeadlines: on every calendar, from any instant, every deadline ends
// after receipt, on the right kind of day, and within its bounds.
func FuzzDeadlines(f *testing.F) {
	f.Add(int64(1738281600), uint8(0), uint8(5), uint8(1))
	f.Add(int64(4105036800), uint8(3), uint8(1), uint8(2))  // 2100
	f.Add(int64(1703462400), uint8(6), uint8(10), uint8(0)) // Christmas 2023
	f.Add(int64(-1), uint8(9), uint8(0), uint8(3))
	ids := append(Calendars(), "ES", "XX")
	f.Fuzz(func(t *testing.T, secs int64, cal, wd, unit uint8) {
		// Instants from 1970 to about 2400.
		r := time.Unix(abs64(secs)%(430*365*86400), 0).UTC()
		c := CalendarFor(ids[int(cal)%len(ids)])
		recv := c.DateOf(r)

		g := c.GDPR(r)
		if !g.At.After(r) {
			t.Fatalf("%s: GDPR deadline %v not after receipt %v", c.ID(), g.At, r)
		}
		if g.Nominal != recv.AddMonths(1) || g.Date.Before(g.Nominal) || g.Nominal.DaysUntil(g.Date) > maxNonWorkingRun {
			t.Fatalf("%s: GDPR from %s: nominal %s, due %s", c.ID(), recv, g.Nominal, g.Date)
		}
		if !c.IsWorkingDay(g.Date) {
			t.Fatalf("%s: GDPR due on a non-working day %s", c.ID(), g.Date)
		}
		if !g.At.Equal(g.Date.End(c.Location())) || c.DateOf(g.At) != g.Date {
			t.Fatalf("%s: At %v is not the end of %s", c.ID(), g.At, g.Date)
		}
		for _, m := range []int{1, 2} {
			e, err := c.GDPRExtended(r, m)
			if err != nil || e.At.Before(g.At) || !c.IsWorkingDay(e.Date) {
				t.Fatalf("%s: extension %d from %s = %s, %v (base %s)", c.ID(), m, recv, e.Date, err, g.Date)
			}
			if limit := c.NextWorkingDay(recv.AddMonths(1 + m)); e.Date.After(limit) {
				t.Fatalf("%s: extension %d from %s = %s, after %s", c.ID(), m, recv, e.Date, limit)
			}
		}

		conf := c.CCPAConfirm(r)
		if c.WorkingDaysBetween(recv, conf.Date) != 10 || !c.IsWorkingDay(conf.Date) {
			t.Fatalf("%s: CCPA confirm from %s = %s", c.ID(), recv, conf.Date)
		}
		if resp := c.CCPARespond(r); recv.DaysUntil(resp.Date) != 45 {
			t.Fatalf("%s: CCPA respond from %s = %s", c.ID(), recv, resp.Date)
		}

		units := []policy.Unit{policy.Days, policy.WorkingDays, policy.Weeks, policy.Months, policy.Years}
		p := policy.Period{N: int(wd)%60 + 1, Unit: units[int(unit)%len(units)]}
		sla, err := c.After(r, p, RuleSLA)
		if err != nil || !sla.Date.After(recv) || !sla.At.After(r) {
			t.Fatalf("%s: %s after %s = %s, %v", c.ID(), p, recv, sla.Date, err)
		}
		if p.Unit == policy.WorkingDays && (c.WorkingDaysBetween(recv, sla.Date) != p.N || !c.IsWorkingDay(sla.Date)) {
			t.Fatalf("%s: %s after %s = %s", c.ID(), p, recv, sla.Date)
		}
		s, err := Rules{Calendar: c, Respond: p}.Schedule(policy.GDPR, r)
		if err != nil || s.Due.At.After(s.Law.At) || s.Due.At.After(s.SLA.At) || (s.Due != s.Law && s.Due != s.SLA) {
			t.Fatalf("%s: schedule %+v, %v", c.ID(), s, err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}

func abs64(n int64) int64 {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}
