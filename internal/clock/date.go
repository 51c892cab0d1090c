package clock

import (
	"fmt"
	"strings"
	"time"
)

// Date is a civil date — a day on a calendar, without a time or a zone. The
// law counts periods in days, so deadline arithmetic works on Dates and only
// turns them into instants at the end, in the controller's zone. The zero
// Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date, normalising overflow as time.Date does
// (31 April is 1 May).
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 12, 0, 0, 0, time.UTC))
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q must be written YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// utc is noon of d in UTC: far from any day boundary, so adding days never
// lands on the wrong date.
func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }

// String gives YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.utc().Format(time.DateOnly)
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// IsWeekend reports Saturday or Sunday.
func (d Date) IsWeekend() bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// AddMonths returns the date n calendar months later, counted as Regulation
// (EEC, Euratom) No 1182/71 Art. 3(2)(c) counts a period in months: the same
// day of the month, or the last day of the month when it has no such day
// (31 January + 1 month = 28 or 29 February; 30 April + 1 = 30 May). n may
// be negative.
func (d Date) AddMonths(n int) Date {
	// First of the target month, then clamp the day to its length.
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := daysIn(first.Year(), first.Month())
	return Date{first.Year(), first.Month(), min(d.Day, last)}
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmp(d.Year, o.Year)
	case d.Month != o.Month:
		return cmp(int(d.Month), int(o.Month))
	}
	return cmp(d.Day, o.Day)
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// DaysUntil returns the number of days from d to o: 1 for tomorrow,
// negative when o is before d.
func (d Date) DaysUntil(o Date) int {
	// Both at noon UTC, so the difference is a whole number of days.
	return int(o.utc().Sub(d.utc()).Hours() / 24)
}

// Start returns the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// End returns the last instant of d in loc, to the microsecond: the moment a
// period whose last day is d expires. Microseconds because that is what the
// store keeps, so an end written and read back compares equal.
func (d Date) End(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc).Add(-time.Microsecond)
}

// daysIn returns the length of the month.
func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// IsLeap reports whether year is a leap year of the Gregorian calendar:
// divisible by 4, except centuries not divisible by 400 (2000 and 2400 are,
// 2100 is not).
func IsLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }
