package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the calendar unit of a Period. Months and years are calendar units,
// not fixed numbers of days, so that "1 month from 31 January" can be
// computed by the clock package the way the law counts it.
type Unit string

const (
	// Days are calendar days.
	Days Unit = "d"
	// WorkingDays skip weekends and the holidays of the jurisdiction.
	WorkingDays Unit = "wd"
	// Weeks are seven calendar days.
	Weeks Unit = "w"
	// Months are calendar months.
	Months Unit = "mo"
	// Years are calendar years.
	Years Unit = "y"
)

// Period is a length of time in one calendar unit, such as 90 days, 6 months,
// 10 years or 5 working days.
//
// The zero Period (N 0 and no Unit) means "not set". A retention rule's
// duration may also be of zero length, written 0d or immediately: that is
// N 0 with a Unit (always Days once parsed), so IsZero stays false and
// Immediate reports it. Everywhere else the loader refuses a zero length.
type Period struct {
	N    int
	Unit Unit
}

// IsZero reports whether the period is unset.
func (p Period) IsZero() bool { return p.N == 0 && p.Unit == "" }

// Immediate reports whether the period is set and of zero length (0d,
// immediately): the time is up at the moment its event happens.
func (p Period) Immediate() bool { return p.N == 0 && p.Unit != "" }

// String gives the canonical short form, e.g. "90d", "6mo", "5wd"; a zero
// length is "0d" whatever its unit, so that all spellings of it hash alike.
func (p Period) String() string {
	if p.IsZero() {
		return ""
	}
	if p.Immediate() {
		return "0d"
	}
	return strconv.Itoa(p.N) + string(p.Unit)
}

// Human gives the period in words for notices, e.g. "6 months". A zero
// length is "0 days"; notices say "immediately" for it where the sentence
// allows (see Immediate).
func (p Period) Human() string {
	if p.IsZero() {
		return ""
	}
	if p.Immediate() {
		return "0 days"
	}
	var one, many string
	switch p.Unit {
	case Days:
		one, many = "day", "days"
	case WorkingDays:
		one, many = "working day", "working days"
	case Weeks:
		one, many = "week", "weeks"
	case Months:
		one, many = "month", "months"
	case Years:
		one, many = "year", "years"
	}
	if p.N == 1 {
		return "1 " + one
	}
	return strconv.Itoa(p.N) + " " + many
}

// AddTo adds the period to t in calendar terms. Months and years clamp to the
// last day of a shorter month (31 January + 1 month = 28/29 February), the
// rule used for GDPR deadlines. Working days are counted Monday to Friday
// only; holiday calendars live in the clock package, which should be used for
// statutory deadlines. A zero length gives t itself.
func (p Period) AddTo(t time.Time) time.Time {
	switch p.Unit {
	case Days:
		return t.AddDate(0, 0, p.N)
	case Weeks:
		return t.AddDate(0, 0, 7*p.N)
	case Months:
		return addMonthsClamped(t, p.N)
	case Years:
		return addMonthsClamped(t, 12*p.N)
	case WorkingDays:
		d := t
		for n := p.N; n > 0; {
			d = d.AddDate(0, 0, 1)
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				n--
			}
		}
		return d
	}
	return t
}

// ApproxDays is an upper-bound estimate in days, used only to compare
// periods of different units (for example "is this stricter than the law").
func (p Period) ApproxDays() int {
	switch p.Unit {
	case Days:
		return p.N
	case WorkingDays:
		return p.N + (p.N+4)/5*2 // each started week of working days adds a weekend
	case Weeks:
		return 7 * p.N
	case Months:
		return 31 * p.N
	case Years:
		return 366 * p.N
	}
	return 0
}

func addMonthsClamped(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

var unitWords = map[string]Unit{
	"d": Days, "day": Days, "days": Days,
	"wd": WorkingDays, "working day": WorkingDays, "working days": WorkingDays,
	"business day": WorkingDays, "business days": WorkingDays, "bd": WorkingDays,
	"w": Weeks, "week": Weeks, "weeks": Weeks,
	"mo": Months, "month": Months, "months": Months, "m": Months,
	"y": Years, "year": Years, "years": Years,
}

// immediatelyWord is the word for a zero-length period.
const immediatelyWord = "immediately"

// maxPeriodN is the largest number a period (or a cookie's hours or
// minutes) may have; maxPeriodLen the most characters one may take,
// without the white space around it.
const (
	maxPeriodN   = 10000
	maxPeriodLen = 64
)

// ParsePeriod reads a positive period such as "90d", "90 days", "6mo",
// "6 months", "10y", "5wd", "5 working days", "2w" or an ISO 8601 duration
// with a single date component ("P90D", "P6M", "P10Y", "P2W"). A zero
// length is refused; ParsePeriodOrZero accepts it.
func ParsePeriod(s string) (Period, error) { return parsePeriod(s, false) }

// ParsePeriodOrZero reads what ParsePeriod reads and also a zero length:
// 0 with any unit (0d, 0 days, P0D) or the word immediately, all returned
// as Period{N: 0, Unit: Days}. In a policy only a retention rule's duration
// may be zero; the loader refuses it elsewhere.
func ParsePeriodOrZero(s string) (Period, error) { return parsePeriod(s, true) }

// splitPeriod separates the number and the unit of a period written as
// "90d" or "90 days": raw is the unit as written, word the same lower-cased
// with single spaces, for looking it up.
func splitPeriod(in string) (n int, word, raw string, err error) {
	i := 0
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "", "", fmt.Errorf("period %q must start with a number, e.g. 90d, 6mo, 10y or 5wd", in)
	}
	n, err = strconv.Atoi(in[:i])
	if err != nil || n > maxPeriodN {
		return 0, "", "", fmt.Errorf("period %q: number out of range (max %d)", in, maxPeriodN)
	}
	raw = strings.TrimSpace(in[i:])
	return n, strings.ToLower(strings.Join(strings.Fields(raw), " ")), raw, nil
}

func parsePeriod(s string, zeroOK bool) (Period, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Period{}, fmt.Errorf("empty period: use a number and a unit, e.g. 90d, 6mo, 10y or 5wd")
	}
	if len(in) > maxPeriodLen {
		return Period{}, fmt.Errorf("period %.20q… is too long", in)
	}
	if strings.EqualFold(in, immediatelyWord) {
		if !zeroOK {
			return Period{}, fmt.Errorf("period %q has no length; a period here must be longer than zero", in)
		}
		return Period{Unit: Days}, nil
	}
	if in[0] == 'P' || in[0] == 'p' {
		return parseISOPeriod(in, zeroOK)
	}
	n, word, raw, err := splitPeriod(in)
	if err != nil {
		return Period{}, err
	}
	if n == 0 && !zeroOK {
		return Period{}, fmt.Errorf("period %q must be longer than zero", in)
	}
	if word == "" {
		return Period{}, fmt.Errorf("period %q needs a unit: write %dd (days), %dwd (working days), %dw (weeks), %dmo (months) or %dy (years)", in, n, n, n, n, n)
	}
	u, ok := unitWords[word]
	if !ok {
		return Period{}, fmt.Errorf("period %q has an unknown unit %q: use d (days), wd (working days), w (weeks), mo (months) or y (years)", in, raw)
	}
	if n == 0 {
		return Period{Unit: Days}, nil
	}
	return Period{N: n, Unit: u}, nil
}

func parseISOPeriod(in string, zeroOK bool) (Period, error) {
	body := strings.ToUpper(in[1:])
	if len(body) < 2 {
		return Period{}, fmt.Errorf("ISO 8601 period %q needs a number and a unit, e.g. P90D", in)
	}
	digits := body[:len(body)-1]
	n, err := strconv.Atoi(digits)
	if err != nil || strings.TrimLeft(digits, "0123456789") != "" || n < 0 || (n == 0 && !zeroOK) || n > maxPeriodN {
		return Period{}, fmt.Errorf("ISO 8601 period %q: only a single positive component such as P90D, P2W, P6M or P10Y is supported", in)
	}
	var u Unit
	switch body[len(body)-1] {
	case 'D':
		u = Days
	case 'W':
		u = Weeks
	case 'M':
		u = Months
	case 'Y':
		u = Years
	default:
		return Period{}, fmt.Errorf("ISO 8601 period %q: unit must be D, W, M or Y", in)
	}
	if n == 0 {
		return Period{Unit: Days}, nil
	}
	return Period{N: n, Unit: u}, nil
}

// UnmarshalText lets YAML and JSON carry periods as strings. It accepts
// every value a Period can hold, including the zero length (0d,
// immediately), so that MarshalText round-trips; the loader refuses a zero
// length where it is not allowed, naming the key.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriodOrZero(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText writes the canonical short form.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// CookieDuration is how long a cookie lives: a session cookie, a calendar
// period (13mo, 2y) or a clock time shorter or more exact than days can
// say (30min, 1h, 24h). Exactly one of the three is set.
//
// Clock times are kept apart from Period on purpose: a Period is a
// calendar quantity that retention, backups, consent and statutory
// deadlines count in, and none of those may be hours or minutes. Only a
// browser's lifetime for a cookie is measured on the clock.
type CookieDuration struct {
	Session bool
	Period  Period
	// Minutes is a clock lifetime in minutes (30min is 30, 1h is 60, 24h
	// is 1440); 0 when Session or Period is used.
	Minutes int
}

// shortUnits are the clock units a cookie duration may use, in minutes.
var shortUnits = map[string]int{
	"min": 1, "mins": 1, "minute": 1, "minutes": 1,
	"h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
}

// String gives "session", the period's short form, or the clock time as
// whole hours ("24h") or minutes ("90min").
func (c CookieDuration) String() string {
	switch {
	case c.Session:
		return "session"
	case c.Minutes > 0 && c.Minutes%60 == 0:
		return strconv.Itoa(c.Minutes/60) + "h"
	case c.Minutes > 0:
		return strconv.Itoa(c.Minutes) + "min"
	}
	return c.Period.String()
}

// Human gives the duration in words for the cookie table.
func (c CookieDuration) Human() string {
	switch {
	case c.Session:
		return "until the browser is closed"
	case c.Minutes > 0:
		n, one, many := c.Minutes, "minute", "minutes"
		if n%60 == 0 {
			n, one, many = n/60, "hour", "hours"
		}
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	return c.Period.Human()
}

// IsZero reports whether the duration is unset.
func (c CookieDuration) IsZero() bool { return !c.Session && c.Period.IsZero() && c.Minutes == 0 }

// Expires gives when a cookie set at t expires, or false for a session
// cookie (it lives until the browser is closed) and an unset duration.
func (c CookieDuration) Expires(t time.Time) (time.Time, bool) {
	switch {
	case c.Session || c.IsZero():
		return time.Time{}, false
	case c.Minutes > 0:
		return t.Add(time.Duration(c.Minutes) * time.Minute), true
	}
	return c.Period.AddTo(t), true
}

// ParseCookieDuration reads "session", a positive period (13mo, 2y, 90
// days, P1Y) or a clock time in hours or minutes (30min, 1h, 24 hours). A
// bare m is refused as ambiguous (minutes or months); zero is refused.
func ParseCookieDuration(s string) (CookieDuration, error) {
	in := strings.TrimSpace(s)
	if strings.EqualFold(in, "session") {
		return CookieDuration{Session: true}, nil
	}
	if len(in) > maxPeriodLen {
		return CookieDuration{}, fmt.Errorf("cookie duration %.20q… is too long", in)
	}
	if in != "" && in[0] >= '0' && in[0] <= '9' {
		n, word, raw, err := splitPeriod(in)
		if err != nil {
			return CookieDuration{}, fmt.Errorf("cookie duration: %w (or use session)", err)
		}
		if m, ok := shortUnits[word]; ok {
			if n == 0 {
				return CookieDuration{}, fmt.Errorf("cookie duration %q is zero: a cookie must live for some time; use session for one deleted when the browser closes", in)
			}
			return CookieDuration{Minutes: n * m}, nil
		}
		switch {
		case word == "m":
			return CookieDuration{}, fmt.Errorf("cookie duration %q is ambiguous: write %dmin for minutes or %dmo for months", in, n, n)
		case word == "":
			return CookieDuration{}, fmt.Errorf("cookie duration %q needs a unit: write %dmin (minutes), %dh (hours), %dd (days), %dmo (months) or %dy (years), or use session", in, n, n, n, n, n)
		case unitWords[word] == "":
			return CookieDuration{}, fmt.Errorf("cookie duration %q has an unknown unit %q: use min (minutes), h (hours), d (days), w (weeks), mo (months) or y (years), or use session", in, raw)
		case n == 0:
			return CookieDuration{}, fmt.Errorf("cookie duration %q is zero: a cookie must live for some time; use session for one deleted when the browser closes", in)
		}
	}
	if strings.EqualFold(in, immediatelyWord) {
		return CookieDuration{}, fmt.Errorf("cookie duration %q has no length: a cookie must live for some time; use session for one deleted when the browser closes", in)
	}
	p, err := ParsePeriod(in)
	if err != nil {
		return CookieDuration{}, fmt.Errorf("cookie duration: %w (or use session)", err)
	}
	return CookieDuration{Period: p}, nil
}

// UnmarshalText accepts what ParseCookieDuration accepts.
func (c *CookieDuration) UnmarshalText(b []byte) error {
	v, err := ParseCookieDuration(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText writes "session", the period or the clock time.
func (c CookieDuration) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Date is a calendar date without time, written YYYY-MM-DD.
type Date struct {
	time.Time
}

// ParseDate reads a YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q must be written YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// String gives YYYY-MM-DD, or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes "YYYY-MM-DD". Without it the embedded time.Time's
// method would write a full RFC 3339 timestamp.
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD", shadowing time.Time's RFC 3339 parser.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("date %s must be a string written YYYY-MM-DD", b)
	}
	return d.UnmarshalText([]byte(s))
}
