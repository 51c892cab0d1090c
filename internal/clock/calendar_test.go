package clock

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEaster(t *testing.T) {
	// Checked against python-dateutil's easter() for every year 1583-4099
	// while writing this; these pin the algorithm down.
	want := map[int]string{
		1818: "1818-03-22", 1943: "1943-04-25", 2000: "2000-04-23", 2008: "2008-03-23",
		2011: "2011-04-24", 2019: "2019-04-21", 2020: "2020-04-12", 2021: "2021-04-04",
		2022: "2022-04-17", 2023: "2023-04-09", 2024: "2024-03-31", 2025: "2025-04-20",
		2026: "2026-04-05", 2027: "2027-03-28", 2028: "2028-04-16", 2038: "2038-04-25",
		2100: "2100-03-28", 2285: "2285-03-22",
	}
	for y, w := range want {
		if got := Easter(y); got != d(w) {
			t.Errorf("Easter(%d) = %s, want %s", y, got, w)
		}
	}
	for y := 1583; y <= 4099; y++ {
		e := Easter(y)
		if e.Weekday() != time.Sunday || e.Before(Date{y, time.March, 22}) || e.After(Date{y, time.April, 25}) {
			t.Fatalf("Easter(%d) = %s (%s) is not a Sunday in 22 March-25 April", y, e, e.Weekday())
		}
	}
}

// holidayDates lists a calendar's holidays of a year as YYYY-MM-DD.
func holidayDates(c *Calendar, year int) []string {
	var out []string
	for _, h := range c.Holidays(year) {
		out = append(out, h.Date.String())
	}
	return out
}

func TestHolidays(t *testing.T) {
	cases := []struct {
		cal  string
		year int
		want string // every holiday of the year, in order
	}{
		{"NO", 2024, "2024-01-01 2024-03-28 2024-03-29 2024-03-31 2024-04-01 2024-05-01 2024-05-09 2024-05-17 2024-05-19 2024-05-20 2024-12-25 2024-12-26"},
		{"NO", 2025, "2025-01-01 2025-04-17 2025-04-18 2025-04-20 2025-04-21 2025-05-01 2025-05-17 2025-05-29 2025-06-08 2025-06-09 2025-12-25 2025-12-26"},
		{"NO", 2026, "2026-01-01 2026-04-02 2026-04-03 2026-04-05 2026-04-06 2026-05-01 2026-05-14 2026-05-17 2026-05-24 2026-05-25 2026-12-25 2026-12-26"},
		{"SE", 2024, "2024-01-01 2024-01-06 2024-03-29 2024-03-31 2024-04-01 2024-05-01 2024-05-09 2024-05-19 2024-06-06 2024-06-21 2024-06-22 2024-11-02 2024-12-24 2024-12-25 2024-12-26 2024-12-31"},
		{"DK", 2023, "2023-01-01 2023-04-06 2023-04-07 2023-04-09 2023-04-10 2023-05-05 2023-05-18 2023-05-28 2023-05-29 2023-12-25 2023-12-26"},
		{"DK", 2024, "2024-01-01 2024-03-28 2024-03-29 2024-03-31 2024-04-01 2024-05-09 2024-05-19 2024-05-20 2024-12-25 2024-12-26"},
		{"DE", 2024, "2024-01-01 2024-03-29 2024-04-01 2024-05-01 2024-05-09 2024-05-20 2024-10-03 2024-12-25 2024-12-26"},
		{"DE", 2017, "2017-01-01 2017-04-14 2017-04-17 2017-05-01 2017-05-25 2017-06-05 2017-10-03 2017-10-31 2017-12-25 2017-12-26"},
		{"FR", 2024, "2024-01-01 2024-04-01 2024-05-01 2024-05-08 2024-05-09 2024-05-20 2024-07-14 2024-08-15 2024-11-01 2024-11-11 2024-12-25"},
		{"GB", 2020, "2020-01-01 2020-04-10 2020-04-13 2020-05-08 2020-05-25 2020-08-31 2020-12-25 2020-12-26 2020-12-28"},
		{"GB", 2021, "2021-01-01 2021-04-02 2021-04-05 2021-05-03 2021-05-31 2021-08-30 2021-12-25 2021-12-26 2021-12-27 2021-12-28"},
		{"GB", 2022, "2022-01-03 2022-04-15 2022-04-18 2022-05-02 2022-06-02 2022-06-03 2022-08-29 2022-09-19 2022-12-25 2022-12-26 2022-12-27"},
		{"GB", 2023, "2023-01-02 2023-04-07 2023-04-10 2023-05-01 2023-05-08 2023-05-29 2023-08-28 2023-12-25 2023-12-26"},
		{"IE", 2024, "2024-01-01 2024-02-05 2024-03-18 2024-04-01 2024-05-06 2024-06-03 2024-08-05 2024-10-28 2024-12-25 2024-12-26"},
		{"IE", 2030, "2030-01-01 2030-02-01 2030-03-18 2030-04-22 2030-05-06 2030-06-03 2030-08-05 2030-10-28 2030-12-25 2030-12-26"},
		{"NL", 2025, "2025-01-01 2025-04-20 2025-04-21 2025-04-26 2025-05-05 2025-05-29 2025-06-08 2025-06-09 2025-12-25 2025-12-26"},
		{"NL", 2013, "2013-01-01 2013-03-31 2013-04-01 2013-04-30 2013-05-05 2013-05-09 2013-05-19 2013-05-20 2013-12-25 2013-12-26"},
		{"US", 2021, "2021-01-01 2021-01-18 2021-02-15 2021-05-31 2021-06-18 2021-07-05 2021-09-06 2021-10-11 2021-11-11 2021-11-25 2021-12-24 2021-12-31"},
		{"US", 2022, "2022-01-17 2022-02-21 2022-05-30 2022-06-20 2022-07-04 2022-09-05 2022-10-10 2022-11-11 2022-11-24 2022-12-26"},
		{"US-CA", 2024, "2024-01-01 2024-01-15 2024-02-19 2024-04-01 2024-05-27 2024-06-19 2024-07-04 2024-09-02 2024-10-14 2024-11-11 2024-11-28 2024-11-29 2024-12-25"},
	}
	for _, c := range cases {
		got := strings.Join(holidayDates(CalendarFor(c.cal), c.year), " ")
		if got != c.want {
			t.Errorf("%s %d holidays:\n got %s\nwant %s", c.cal, c.year, got, c.want)
		}
	}
}

func TestEasterHolidaysAcrossYears(t *testing.T) {
	// Good Friday, Easter Monday and Ascension move with Easter; check them
	// on several calendars over a run of years.
	for y := 2019; y <= 2035; y++ {
		e := Easter(y)
		for _, id := range []string{"NO", "SE", "DK", "DE", "GB"} {
			c := CalendarFor(id)
			if _, ok := c.Holiday(e.AddDays(-2)); !ok {
				t.Errorf("%s %d: Good Friday %s is not a holiday", id, y, e.AddDays(-2))
			}
		}
		for _, id := range []string{"NO", "SE", "DK", "DE", "FR", "NL"} {
			if _, ok := CalendarFor(id).Holiday(e.AddDays(39)); !ok {
				t.Errorf("%s %d: Ascension %s is not a holiday", id, y, e.AddDays(39))
			}
		}
		for _, id := range []string{"NO", "DK", "DE", "FR", "NL"} {
			if CalendarFor(id).IsWorkingDay(e.AddDays(50)) {
				t.Errorf("%s %d: Whit Monday %s is a working day", id, y, e.AddDays(50))
			}
		}
		if CalendarFor("NO").IsWorkingDay(e.AddDays(-3)) {
			t.Errorf("NO %d: Maundy Thursday is a working day", y)
		}
		if !CalendarFor("IE").IsWorkingDay(e.AddDays(-2)) {
			t.Errorf("IE %d: Good Friday is not a public holiday in Ireland", y)
		}
		if !CalendarFor("US").IsWorkingDay(e.AddDays(-2)) {
			t.Errorf("US %d: Good Friday is not a federal holiday", y)
		}
	}
}

func TestCalendarLookup(t *testing.T) {
	if CalendarFor("no") != CalendarFor("NO") || CalendarFor(" uk ") != CalendarFor("GB") {
		t.Error("ids are case-insensitive, UK is GB")
	}
	for _, id := range Calendars() {
		c := CalendarFor(id)
		if !c.Known() || c.ID() != id || c.Name() == "" || c.Location() == time.UTC {
			t.Errorf("calendar %s: known %v, id %s, name %q, zone %s", id, c.Known(), c.ID(), c.Name(), c.Location())
		}
		for y := 1990; y <= 2060; y++ {
			for _, h := range c.Holidays(y) {
				if h.Date.Year != y || h.Name == "" {
					t.Fatalf("%s %d lists %s %q", id, y, h.Date, h.Name)
				}
			}
		}
	}
	want := map[string]string{"NO": "Europe/Oslo", "GB": "Europe/London", "US-CA": "America/Los_Angeles", "ES": "Europe/Madrid", "XX": "UTC", "": "UTC"}
	for id, zone := range want {
		if got := CalendarFor(id).Location().String(); got != zone {
			t.Errorf("zone of %q = %s, want %s", id, got, zone)
		}
	}
	// Unknown countries: weekends only, documented as such.
	for _, id := range []string{"ES", "XX", ""} {
		c := CalendarFor(id)
		if c.Known() || len(c.Holidays(2025)) != 0 || !c.IsWorkingDay(d("2025-12-25")) || c.IsWorkingDay(d("2025-12-27")) {
			t.Errorf("%q should count weekends only", id)
		}
	}
	if CalendarFor("").ID() != "default" {
		t.Error("empty id")
	}
	if !slices.Contains(Calendars(), CCPA) {
		t.Error("the CCPA calendar is not built in")
	}
}

func TestWorkingDays(t *testing.T) {
	no, us := CalendarFor("NO"), CalendarFor("US-CA")
	cases := []struct {
		cal  *Calendar
		from string
		n    int
		want string
	}{
		{no, "2025-04-14", 5, "2025-04-24"}, // across Easter: 17, 18 and 21 April are holidays
		{no, "2025-04-16", 1, "2025-04-22"},
		{no, "2025-12-23", 2, "2025-12-29"}, // across Christmas and a weekend
		{no, "2025-03-07", 1, "2025-03-10"}, // Friday to Monday
		{no, "2025-03-08", 1, "2025-03-10"}, // from a Saturday
		{no, "2025-03-10", 0, "2025-03-10"},
		{no, "2025-04-24", -5, "2025-04-14"},
		{us, "2024-01-01", 10, "2024-01-16"}, // New Year's Day and MLK Day
		{us, "2024-11-20", 10, "2024-12-06"}, // Thanksgiving and the day after
		{us, "2024-03-28", 1, "2024-03-29"},  // Good Friday is a working day
		{us, "2024-03-29", 1, "2024-04-02"},  // Cesar Chavez Day observed on 1 April
	}
	for _, c := range cases {
		got := c.cal.AddWorkingDays(d(c.from), c.n)
		if got != d(c.want) {
			t.Errorf("%s: %s + %d working days = %s, want %s", c.cal.ID(), c.from, c.n, got, c.want)
		}
		if c.n > 0 {
			if n := c.cal.WorkingDaysBetween(d(c.from), got); n != c.n {
				t.Errorf("%s: WorkingDaysBetween(%s, %s) = %d, want %d", c.cal.ID(), c.from, got, n, c.n)
			}
		}
	}
	if n := no.WorkingDaysBetween(d("2025-01-01"), d("2025-12-31")); n != 252 {
		// 260 weekdays after 1 January 2025, minus the 8 holidays on
		// weekdays after it (17 May falls on a Saturday, Easter and Whit
		// Sunday on Sundays).
		t.Errorf("working days in Norway 2025 after New Year's Day = %d, want 252", n)
	}
	if n := no.WorkingDaysBetween(d("2025-03-10"), d("2025-03-01")); n != 0 {
		t.Errorf("backwards range = %d", n)
	}
	if got := no.NextWorkingDay(d("2025-04-17")); got != d("2025-04-22") {
		t.Errorf("NextWorkingDay(Maundy Thursday) = %s", got)
	}
	if name, ok := no.Holiday(d("2025-05-17")); !ok || !strings.Contains(name, "Constitution") {
		t.Errorf("17 May: %q, %v", name, ok)
	}
}

func TestCalendarConcurrent(t *testing.T) {
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			c := CalendarFor(Calendars()[i%len(Calendars())])
			for y := 2000; y < 2100; y++ {
				c.IsWorkingDay(Date{y, time.May, 17})
			}
		}()
	}
	for range 8 {
		<-done
	}
}
