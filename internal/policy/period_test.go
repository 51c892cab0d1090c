package policy

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestZeroPeriod covers the zero length: ParsePeriod refuses it,
// ParsePeriodOrZero reads every spelling as Period{Unit: Days}, which is
// set (not IsZero), Immediate, and written 0d.
func TestZeroPeriod(t *testing.T) {
	for _, s := range []string{"0d", "0 days", " 0D ", "000d", "0w", "0mo", "0y", "0wd", "0 working days", "P0D", "p0m", "P000Y", "immediately", "Immediately", " IMMEDIATELY "} {
		if _, err := ParsePeriod(s); err == nil {
			t.Errorf("ParsePeriod(%q) accepted a zero period", s)
		}
		p, err := ParsePeriodOrZero(s)
		if err != nil {
			t.Errorf("ParsePeriodOrZero(%q): %v", s, err)
			continue
		}
		if p != (Period{Unit: Days}) || p.IsZero() || !p.Immediate() || p.String() != "0d" {
			t.Errorf("ParsePeriodOrZero(%q) = %#v (IsZero %v, Immediate %v, %q)", s, p, p.IsZero(), p.Immediate(), p.String())
		}
	}
	for _, s := range []string{"0", "0 fortnights", "immediate", "now", "-0d", "P0H", "0 immediately"} {
		if _, err := ParsePeriodOrZero(s); err == nil {
			t.Errorf("ParsePeriodOrZero(%q) accepted", s)
		}
	}
	// Positive periods read the same with both parsers.
	for _, s := range []string{"90d", "6 months", "P10Y", "5wd"} {
		a, err1 := ParsePeriod(s)
		b, err2 := ParsePeriodOrZero(s)
		if err1 != nil || err2 != nil || a != b || a.Immediate() {
			t.Errorf("%q: %v %v / %v %v", s, a, err1, b, err2)
		}
	}
	if _, err := ParsePeriod("0d"); err == nil || !strings.Contains(err.Error(), "must be longer than zero") {
		t.Errorf("ParsePeriod(0d) error = %v", err)
	}

	// Unset and zero length are different values.
	var unset Period
	zero := Period{Unit: Days}
	if !unset.IsZero() || unset.Immediate() || unset.String() != "" || unset.Human() != "" {
		t.Errorf("unset period: %#v", unset)
	}
	if zero.Human() != "0 days" || zero.ApproxDays() != 0 {
		t.Errorf("zero period: Human %q ApproxDays %d", zero.Human(), zero.ApproxDays())
	}
	at := time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)
	if got := zero.AddTo(at); !got.Equal(at) {
		t.Errorf("zero.AddTo = %v, want %v", got, at)
	}
	// A zero length made in Go with another unit is still written 0d, so
	// it hashes like the parsed one.
	if s := (Period{Unit: Months}).String(); s != "0d" {
		t.Errorf("0mo written %q", s)
	}
	// Text round trip, and JSON through encoding/json.
	b, _ := zero.MarshalText()
	var back Period
	if string(b) != "0d" || back.UnmarshalText(b) != nil || back != zero {
		t.Errorf("text round trip: %q -> %#v", b, back)
	}
	type holder struct {
		D Period `json:"d,omitzero"`
	}
	js, err := json.Marshal(holder{D: zero})
	if err != nil || string(js) != `{"d":"0d"}` {
		t.Errorf("json: %s %v", js, err)
	}
	if js, _ := json.Marshal(holder{}); string(js) != `{}` {
		t.Errorf("unset period in JSON: %s", js)
	}
}

func TestCookieDuration(t *testing.T) {
	tests := []struct {
		in, str, human string
		minutes        int
	}{
		{"30min", "30min", "30 minutes", 30},
		{"1 minute", "1min", "1 minute", 1},
		{"90 Minutes", "90min", "90 minutes", 90},
		{"60min", "1h", "1 hour", 60},
		{"1h", "1h", "1 hour", 60},
		{" 24 hours ", "24h", "24 hours", 1440},
		{"2hrs", "2h", "2 hours", 120},
		{"10000h", "10000h", "10000 hours", 600000},
	}
	for _, tc := range tests {
		c, err := ParseCookieDuration(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if c.Minutes != tc.minutes || c.String() != tc.str || c.Human() != tc.human || c.Session || !c.Period.IsZero() || c.IsZero() {
			t.Errorf("%q: %#v %q %q", tc.in, c, c.String(), c.Human())
		}
		again, err := ParseCookieDuration(c.String())
		if err != nil || again != c {
			t.Errorf("%q: round trip %#v %v", tc.in, again, err)
		}
	}
	for in, want := range map[string]CookieDuration{
		"session": {Session: true},
		"13mo":    {Period: Period{N: 13, Unit: Months}},
		"P1M":     {Period: Period{N: 1, Unit: Months}},
		"2 years": {Period: Period{N: 2, Unit: Years}},
		"24d":     {Period: Period{N: 24, Unit: Days}},
	} {
		if got, err := ParseCookieDuration(in); err != nil || got != want {
			t.Errorf("%q: %#v %v", in, got, err)
		}
	}
	for in, frag := range map[string]string{
		"1m":          `cookie duration "1m" is ambiguous: write 1min for minutes or 1mo for months`,
		"13 M":        `is ambiguous`,
		"0min":        `cookie duration "0min" is zero: a cookie must live for some time; use session`,
		"0h":          `is zero`,
		"0d":          `is zero`,
		"P0D":         `only a single positive component`,
		"immediately": `has no length`,
		"30 secs":     `cookie duration "30 secs" has an unknown unit "secs": use min (minutes), h (hours)`,
		"30":          `cookie duration "30" needs a unit: write 30min (minutes), 30h (hours)`,
		"10001min":    `number out of range`,
		"forever":     `cookie duration: period "forever" must start with a number`,
		"":            `empty period`,
	} {
		_, err := ParseCookieDuration(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("%q: error %v, want %q", in, err, frag)
		}
	}

	at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		c    CookieDuration
		want time.Time
		ok   bool
	}{
		{CookieDuration{Minutes: 30}, at.Add(30 * time.Minute), true},
		{CookieDuration{Minutes: 1440}, at.Add(24 * time.Hour), true},
		{CookieDuration{Period: Period{N: 1, Unit: Months}}, time.Date(2026, 4, 29, 0, 30, 0, 0, time.UTC), true},
		{CookieDuration{Session: true}, time.Time{}, false},
		{CookieDuration{}, time.Time{}, false},
	} {
		if got, ok := tc.c.Expires(at); ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%v.Expires = %v %v, want %v %v", tc.c, got, ok, tc.want, tc.ok)
		}
	}
}

// TestDurationPatternsAgreeWithParsers keeps the schema's patterns for
// zero-or-positive periods and cookie durations in step with the parsers
// (TestPeriodPatternAgreesWithParser does so for positive periods).
func TestDurationPatternsAgreeWithParsers(t *testing.T) {
	zeroRE := regexp.MustCompile(anchored(periodOrZeroPattern()))
	cookieRE := regexp.MustCompile(anchored(cookieDurationPattern()))
	inputs := []string{"90d", "0d", "0 days", "000d", "P0D", "p0y", "immediately", "IMMEDIATELY", " immediately ", "immediate", "0", "0h", "0min",
		"30min", "30 mins", "1 minute", "1h", "24 Hours", "2hrs", "1 hr", "1m", "13M", "13mo", "1 month", "P1M", "PT1M", "session", "Session",
		"10000min", "10001min", "10000h", "10001h", "0010h", "30 secs", "30s", "1.5h", "-1h", "h", "min", "1 h r", "5wd", "1 business day"}
	for _, s := range inputs {
		_, err := ParsePeriodOrZero(s)
		if got, want := zeroRE.MatchString(s), err == nil; got != want {
			t.Errorf("zero-or-positive %q: pattern match %v, parser ok %v (%v)", s, got, want, err)
		}
		_, err = ParseCookieDuration(s)
		if got, want := cookieRE.MatchString(s), err == nil; got != want {
			t.Errorf("cookie duration %q: pattern match %v, parser ok %v (%v)", s, got, want, err)
		}
	}
}

// TestZeroPeriodOnlyInRetention decodes 0d into every period key of the
// format: only a retention rule's duration takes it.
func TestZeroPeriodOnlyInRetention(t *testing.T) {
	allowed := 0
	for _, s := range sections() {
		for _, f := range infoOf(s.typ).fields {
			if f.typ != periodType {
				continue
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(f.name+": 0d\n"), &doc); err != nil {
				t.Fatal(err)
			}
			d := &decoder{file: "p.yaml", pos: map[string]position{}}
			d.mapping(doc.Content[0], reflect.New(s.typ).Elem(), "", infoOf(s.typ))
			var zeroErr bool
			for _, e := range d.errs {
				if strings.Contains(e.Msg, "a zero period") {
					zeroErr = true
				}
			}
			want := !(s.typ == reflect.TypeFor[RetentionRule]() && f.name == "duration")
			if zeroErr != want || f.zeroOK == want {
				t.Errorf("%s.%s: zero refused %v, want %v (errors:%s)", s.typ.Name(), f.name, zeroErr, want, dump(d.errs))
			}
			if !want {
				allowed++
			}
		}
	}
	if allowed != 1 {
		t.Errorf("%d period keys take zero, want 1 (retention[].duration)", allowed)
	}
}
