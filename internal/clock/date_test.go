package clock

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

func d(s string) Date {
	v, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestAddMonths(t *testing.T) {
	cases := []struct {
		from   string
		months int
		want   string
	}{
		{"2025-03-05", 1, "2025-04-05"},
		{"2025-01-31", 1, "2025-02-28"},
		{"2024-01-31", 1, "2024-02-29"}, // leap year
		{"2028-01-31", 1, "2028-02-29"}, // leap year
		{"2100-01-31", 1, "2100-02-28"}, // a century not divisible by 400
		{"2000-01-31", 1, "2000-02-29"}, // divisible by 400
		{"2025-04-30", 1, "2025-05-30"}, // not the end of May
		{"2025-08-31", 1, "2025-09-30"},
		{"2025-12-31", 1, "2026-01-31"}, // over the year end
		{"2025-12-15", 2, "2026-02-15"},
		{"2025-01-31", 3, "2025-04-30"},
		{"2024-02-29", 12, "2025-02-28"},
		{"2024-02-29", 48, "2028-02-29"},
		{"2025-03-31", -1, "2025-02-28"},
		{"2025-05-15", 0, "2025-05-15"},
	}
	for _, c := range cases {
		if got := d(c.from).AddMonths(c.months); got != d(c.want) {
			t.Errorf("%s + %d months = %s, want %s", c.from, c.months, got, c.want)
		}
	}
}

func TestLeapYears(t *testing.T) {
	for y, want := range map[int]bool{2024: true, 2028: true, 2000: true, 2400: true, 2025: false, 2100: false, 1900: false, 2200: false} {
		if IsLeap(y) != want {
			t.Errorf("IsLeap(%d) = %v", y, !want)
		}
		if got := daysIn(y, time.February); (got == 29) != want {
			t.Errorf("February %d has %d days", y, got)
		}
	}
}

func TestDateBasics(t *testing.T) {
	if got := NewDate(2025, time.April, 31); got != d("2025-05-01") {
		t.Errorf("NewDate normalises to %s", got)
	}
	if d("2025-03-01").AddDays(-1) != d("2025-02-28") || d("2024-03-01").AddDays(-1) != d("2024-02-29") {
		t.Error("AddDays across February")
	}
	if n := d("2025-01-01").DaysUntil(d("2026-01-01")); n != 365 {
		t.Errorf("DaysUntil a year = %d", n)
	}
	if n := d("2025-03-10").DaysUntil(d("2025-03-08")); n != -2 {
		t.Errorf("DaysUntil backwards = %d", n)
	}
	if !d("2025-03-08").IsWeekend() || d("2025-03-10").IsWeekend() {
		t.Error("IsWeekend")
	}
	if !d("2025-01-31").Before(d("2025-02-01")) || !d("2026-01-01").After(d("2025-12-31")) || d("2025-01-01").Compare(d("2025-01-01")) != 0 {
		t.Error("ordering")
	}
	if (Date{}).String() != "" || !(Date{}).IsZero() {
		t.Error("zero date")
	}
	if _, err := ParseDate("31.01.2025"); err == nil {
		t.Error("ParseDate accepted a non-ISO date")
	}
	b, _ := json.Marshal(struct{ D Date }{d("2025-02-28")})
	if string(b) != `{"D":"2025-02-28"}` {
		t.Errorf("JSON = %s", b)
	}
	var back struct{ D Date }
	if err := json.Unmarshal(b, &back); err != nil || back.D != d("2025-02-28") {
		t.Errorf("JSON back = %v, %v", back.D, err)
	}
}

func TestDateEndDST(t *testing.T) {
	oslo := mustZone("Europe/Oslo")
	// The last Sunday of March has 23 hours in Oslo, the last of October 25.
	for _, c := range []struct {
		day  string
		want string
	}{
		{"2025-03-30", "2025-03-30T23:59:59.999999+02:00"},
		{"2025-10-26", "2025-10-26T23:59:59.999999+01:00"},
		{"2025-02-28", "2025-02-28T23:59:59.999999+01:00"},
	} {
		if got := d(c.day).End(oslo).Format(time.RFC3339Nano); got != c.want {
			t.Errorf("End(%s) = %s, want %s", c.day, got, c.want)
		}
	}
	if got := d("2025-03-30").Start(oslo).Format(time.RFC3339); got != "2025-03-30T00:00:00+01:00" {
		t.Errorf("Start = %s", got)
	}
}

func TestFakeClock(t *testing.T) {
	t0 := time.Date(2025, 1, 31, 9, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	var c Clock = f
	if !c.Now().Equal(t0) {
		t.Fatal("Now")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.Advance(time.Minute); _ = f.Now() })
	}
	wg.Wait()
	if got := f.Now(); !got.Equal(t0.Add(8 * time.Minute)) {
		t.Errorf("after 8 advances: %v", got)
	}
	f.Set(t0)
	if !f.Now().Equal(t0) {
		t.Error("Set")
	}
	if OrSystem(nil) != System || OrSystem(f) != Clock(f) {
		t.Error("OrSystem")
	}
	if got := Func(func() time.Time { return t0 }).Now(); !got.Equal(t0) {
		t.Error("Func")
	}
	if time.Since(System.Now()) > time.Minute {
		t.Error("System is not the real time")
	}
}
