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
// 10 years or 5 working days. The zero Period means "not set".
type Period struct {
	N    int
	Unit Unit
}

// IsZero reports whether the period is unset.
func (p Period) IsZero() bool { return p.N == 0 && p.Unit == "" }

// String gives the canonical short form, e.g. "90d", "6mo", "5wd".
func (p Period) String() string {
	if p.IsZero() {
		return ""
	}
	return strconv.Itoa(p.N) + string(p.Unit)
}

// Human gives the period in words for notices, e.g. "6 months".
func (p Period) Human() string {
	if p.IsZero() {
		return ""
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
// statutory deadlines.
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

// ParsePeriod reads a period such as "90d", "90 days", "6mo", "6 months",
// "10y", "5wd", "5 working days", "2w" or an ISO 8601 duration with a single
// date component ("P90D", "P6M", "P10Y", "P2W").
func ParsePeriod(s string) (Period, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Period{}, fmt.Errorf("empty period: use a number and a unit, e.g. 90d, 6mo, 10y or 5wd")
	}
	if len(in) > 64 {
		return Period{}, fmt.Errorf("period %.20q… is too long", in)
	}
	if in[0] == 'P' || in[0] == 'p' {
		return parseISOPeriod(in)
	}
	i := 0
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	if i == 0 {
		return Period{}, fmt.Errorf("period %q must start with a number, e.g. 90d, 6mo, 10y or 5wd", in)
	}
	n, err := strconv.Atoi(in[:i])
	if err != nil || n > 10000 {
		return Period{}, fmt.Errorf("period %q: number out of range (max 10000)", in)
	}
	if n == 0 {
		return Period{}, fmt.Errorf("period %q must be longer than zero", in)
	}
	word := strings.ToLower(strings.Join(strings.Fields(in[i:]), " "))
	if word == "" {
		return Period{}, fmt.Errorf("period %q needs a unit: write %dd (days), %dwd (working days), %dw (weeks), %dmo (months) or %dy (years)", in, n, n, n, n, n)
	}
	u, ok := unitWords[word]
	if !ok {
		return Period{}, fmt.Errorf("period %q has an unknown unit %q: use d (days), wd (working days), w (weeks), mo (months) or y (years)", in, strings.TrimSpace(in[i:]))
	}
	return Period{N: n, Unit: u}, nil
}

func parseISOPeriod(in string) (Period, error) {
	body := strings.ToUpper(in[1:])
	if len(body) < 2 {
		return Period{}, fmt.Errorf("ISO 8601 period %q needs a number and a unit, e.g. P90D", in)
	}
	digits := body[:len(body)-1]
	n, err := strconv.Atoi(digits)
	if err != nil || strings.TrimLeft(digits, "0123456789") != "" || n <= 0 || n > 10000 {
		return Period{}, fmt.Errorf("ISO 8601 period %q: only a single positive component such as P90D, P2W, P6M or P10Y is supported", in)
	}
	switch body[len(body)-1] {
	case 'D':
		return Period{N: n, Unit: Days}, nil
	case 'W':
		return Period{N: n, Unit: Weeks}, nil
	case 'M':
		return Period{N: n, Unit: Months}, nil
	case 'Y':
		return Period{N: n, Unit: Years}, nil
	}
	return Period{}, fmt.Errorf("ISO 8601 period %q: unit must be D, W, M or Y", in)
}

// UnmarshalText lets YAML and JSON carry periods as strings.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText writes the canonical short form.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// CookieDuration is either a session cookie or a fixed lifetime.
type CookieDuration struct {
	Session bool
	Period  Period
}

// String gives "session" or the period's short form.
func (c CookieDuration) String() string {
	if c.Session {
		return "session"
	}
	return c.Period.String()
}

// Human gives the duration in words for the cookie table.
func (c CookieDuration) Human() string {
	if c.Session {
		return "until the browser is closed"
	}
	return c.Period.Human()
}

// IsZero reports whether the duration is unset.
func (c CookieDuration) IsZero() bool { return !c.Session && c.Period.IsZero() }

// UnmarshalText accepts "session" or a period.
func (c *CookieDuration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.EqualFold(s, "session") {
		*c = CookieDuration{Session: true}
		return nil
	}
	p, err := ParsePeriod(s)
	if err != nil {
		return fmt.Errorf("cookie duration: %w (or use session)", err)
	}
	*c = CookieDuration{Period: p}
	return nil
}

// MarshalText writes "session" or the period.
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
