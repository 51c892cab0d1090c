package clock

import (
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// at returns 10:00 local time on the given day in the calendar's zone.
func at(c *Calendar, day string) time.Time {
	v := d(day)
	return time.Date(v.Year, v.Month, v.Day, 10, 0, 0, 0, c.Location())
}

func TestGDPR(t *testing.T) {
	cases := []struct {
		name     string
		cal      string
		received string
		nominal  string
		want     string
	}{
		{"same date next month", "NO", "2025-05-05", "2025-06-05", "2025-06-05"},
		{"same date, moved off a Saturday", "NO", "2025-03-05", "2025-04-05", "2025-04-07"},
		{"31 January, common year", "NO", "2025-01-31", "2025-02-28", "2025-02-28"},
		{"31 January, leap year 2024", "NO", "2024-01-31", "2024-02-29", "2024-02-29"},
		{"31 January, leap year 2028", "NO", "2028-01-31", "2028-02-29", "2028-02-29"},
		{"31 January 2100, not a leap year, Sunday", "NO", "2100-01-31", "2100-02-28", "2100-03-01"},
		{"30 April is 30 May", "NO", "2025-04-30", "2025-05-30", "2025-05-30"},
		{"31 August is 30 September", "NO", "2025-08-31", "2025-09-30", "2025-09-30"},
		{"ends on a Saturday", "NO", "2025-02-15", "2025-03-15", "2025-03-17"},
		{"31 December to a Saturday 31 January", "NO", "2025-12-31", "2026-01-31", "2026-02-02"},
		{"ends on Maundy Thursday in Norway", "NO", "2025-03-17", "2025-04-17", "2025-04-22"},
		{"Maundy Thursday is a working day in England", "GB", "2025-03-17", "2025-04-17", "2025-04-17"},
		{"Maundy Thursday is a working day in Germany", "DE", "2025-03-17", "2025-04-17", "2025-04-17"},
		{"Good Friday in England", "GB", "2025-03-18", "2025-04-18", "2025-04-22"},
		{"Christmas in Norway", "NO", "2025-11-25", "2025-12-25", "2025-12-29"},
		{"Christmas substitutes in England 2021", "GB", "2021-11-24", "2021-12-24", "2021-12-24"},
		{"Boxing Day substitute in England 2021", "GB", "2021-11-25", "2021-12-25", "2021-12-29"},
		{"17 May on a Sunday", "NO", "2026-04-17", "2026-05-17", "2026-05-18"},
		{"Whit Monday in Norway", "NO", "2024-04-20", "2024-05-20", "2024-05-21"},
		{"Whit Monday is a working day in England", "GB", "2024-04-20", "2024-05-20", "2024-05-20"},
		{"received on a Sunday counts from that day", "NO", "2025-03-02", "2025-04-02", "2025-04-02"},
		{"unknown country: weekends only", "ES", "2025-11-25", "2025-12-25", "2025-12-25"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cal := CalendarFor(c.cal)
			got := cal.GDPR(at(cal, c.received))
			if got.Nominal != d(c.nominal) || got.Date != d(c.want) {
				t.Fatalf("received %s: nominal %s, due %s; want %s, %s", c.received, got.Nominal, got.Date, c.nominal, c.want)
			}
			if got.Rule != RuleGDPR || got.Calendar != cal.ID() || got.Moved() != (c.nominal != c.want) {
				t.Errorf("deadline %+v", got)
			}
			if want := d(c.want).End(cal.Location()); !got.At.Equal(want) || got.At.Location() != cal.Location() {
				t.Errorf("At = %v, want %v", got.At, want)
			}
		})
	}
}

func TestGDPRTimeZone(t *testing.T) {
	no, gb := CalendarFor("NO"), CalendarFor("GB")
	// 23:30 UTC on 31 January is already 1 February in Oslo, still 31
	// January in London.
	r := time.Date(2025, 1, 31, 23, 30, 0, 0, time.UTC)
	if got := no.GDPR(r); got.Nominal != d("2025-03-01") || got.Date != d("2025-03-03") {
		t.Errorf("Oslo: %s → %s", got.Nominal, got.Date)
	}
	if got := gb.GDPR(r); got.Date != d("2025-02-28") {
		t.Errorf("London: %s", got.Date)
	}
	got := no.GDPR(r)
	if s := got.At.Format(time.RFC3339Nano); s != "2025-03-03T23:59:59.999999+01:00" {
		t.Errorf("At = %s", s)
	}
	// The instant is the same wherever the server runs.
	if !got.At.UTC().Equal(time.Date(2025, 3, 3, 22, 59, 59, 999999000, time.UTC)) {
		t.Errorf("At in UTC = %v", got.At.UTC())
	}
}

func TestGDPRExtended(t *testing.T) {
	no := CalendarFor("NO")
	cases := []struct {
		received string
		months   int
		want     string
	}{
		{"2025-01-31", 1, "2025-03-28"},
		{"2025-01-31", 2, "2025-04-28"}, // from the original 28 February, not 30 April
		{"2024-11-30", 2, "2025-02-28"},
		{"2025-01-15", 2, "2025-04-15"}, // from the nominal 15 February (a Saturday), not the moved 17th
		{"2025-02-17", 2, "2025-05-19"}, // 17 May is a Saturday (and Constitution Day)
	}
	for _, c := range cases {
		got, err := no.GDPRExtended(at(no, c.received), c.months)
		if err != nil {
			t.Fatal(err)
		}
		if got.Date != d(c.want) {
			t.Errorf("%s + 1 + %d months = %s, want %s", c.received, c.months, got.Date, c.want)
		}
		// Never later than three months from receipt would give.
		if limit := no.NextWorkingDay(d(c.received).AddMonths(1 + c.months)); got.Date.After(limit) {
			t.Errorf("%s extended to %s, after %s", c.received, got.Date, limit)
		}
		if got.Rule != RuleGDPRExtended {
			t.Errorf("rule %s", got.Rule)
		}
		base := no.GDPR(at(no, c.received))
		if got.At.Before(base.At) {
			t.Errorf("extension %s ends before the original %s", got.Date, base.Date)
		}
	}
	for _, m := range []int{0, 3, -1} {
		if _, err := no.GDPRExtended(at(no, "2025-01-31"), m); err == nil {
			t.Errorf("extension by %d months accepted", m)
		}
	}
}

func TestCCPA(t *testing.T) {
	ca := CalendarFor(CCPA)
	cases := []struct {
		received string
		confirm  string
		respond  string
		extended string
		optOut   string
	}{
		// New Year's Day and Martin Luther King Jr. Day.
		{"2024-01-01", "2024-01-16", "2024-02-15", "2024-03-31", "2024-01-23"},
		// Thanksgiving and the day after; 45 days end on a Saturday and
		// stay there.
		{"2024-11-20", "2024-12-06", "2025-01-04", "2025-02-18", "2024-12-13"},
	}
	for _, c := range cases {
		r := at(ca, c.received)
		if got := ca.CCPAConfirm(r); got.Date != d(c.confirm) || got.Rule != RuleCCPAConfirm {
			t.Errorf("%s confirm = %s", c.received, got.Date)
		}
		if got := ca.CCPARespond(r); got.Date != d(c.respond) || got.Moved() {
			t.Errorf("%s respond = %s (moved %v)", c.received, got.Date, got.Moved())
		}
		if got, err := ca.CCPAExtended(r, 45); err != nil || got.Date != d(c.extended) {
			t.Errorf("%s extended = %s, %v", c.received, got.Date, err)
		}
		if got := ca.CCPAOptOut(r); got.Date != d(c.optOut) {
			t.Errorf("%s opt-out = %s", c.received, got.Date)
		}
	}
	// Los Angeles time: 05:00 UTC on 1 February is still 31 January there.
	got := ca.CCPARespond(time.Date(2025, 2, 1, 5, 0, 0, 0, time.UTC))
	if got.Date != d("2025-03-17") || got.At.Location().String() != "America/Los_Angeles" {
		t.Errorf("respond from 31 January (LA) = %s in %s", got.Date, got.At.Location())
	}
	for _, days := range []int{0, 46} {
		if _, err := ca.CCPAExtended(at(ca, "2025-01-01"), days); err == nil {
			t.Errorf("extension by %d days accepted", days)
		}
	}
}

func TestAfterPeriods(t *testing.T) {
	no := CalendarFor("NO")
	r := at(no, "2025-04-14") // the Monday before Easter
	cases := []struct {
		p    string
		want string
	}{
		{"5wd", "2025-04-24"},
		{"1wd", "2025-04-15"},
		{"3wd", "2025-04-22"},
		{"10d", "2025-04-24"},
		{"2w", "2025-04-28"},
		{"1mo", "2025-05-14"},
		{"1y", "2026-04-14"},
		{"0d", "2025-04-14"},
	}
	for _, c := range cases {
		p, err := policy.ParsePeriodOrZero(c.p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := no.After(r, p, RuleSLA)
		if err != nil || got.Date != d(c.want) || got.Moved() {
			t.Errorf("%s after 14 April 2025 = %s, %v; want %s", c.p, got.Date, err, c.want)
		}
	}
	if _, err := no.After(r, policy.Period{}, RuleSLA); err != ErrNoPeriod {
		t.Errorf("zero period: %v", err)
	}
	if _, err := no.After(r, policy.Period{N: 1, Unit: "fortnight"}, RuleSLA); err == nil {
		t.Error("unknown unit accepted")
	}
	// A year from 29 February is 28 February.
	if got, _ := no.After(at(no, "2024-02-29"), policy.Period{N: 1, Unit: policy.Years}, RuleSLA); got.Date != d("2025-02-28") {
		t.Errorf("1y from 29 February = %s", got.Date)
	}
}

func rules(t *testing.T, country, respond, confirm string) Rules {
	t.Helper()
	r := Rules{Calendar: CalendarFor(country)}
	var err error
	if respond != "" {
		if r.Respond, err = policy.ParsePeriod(respond); err != nil {
			t.Fatal(err)
		}
	}
	if confirm != "" {
		if r.Confirm, err = policy.ParsePeriod(confirm); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestScheduleSLA(t *testing.T) {
	no := CalendarFor("NO")
	cases := []struct {
		name    string
		j       policy.Jurisdiction
		respond string
		confirm string
		recv    string
		due     string
		rule    Rule
		confBy  string
	}{
		{"GDPR alone", policy.GDPR, "", "", "2025-04-14", "2025-05-14", RuleGDPR, ""},
		{"5 working days is stricter", policy.GDPR, "5wd", "", "2025-04-14", "2025-04-24", RuleSLA, ""},
		{"60 days is looser: the law wins", policy.GDPR, "60d", "", "2025-04-14", "2025-05-14", RuleGDPR, ""},
		{"1mo is not moved off a weekend, the law is", policy.GDPR, "1mo", "", "2025-02-15", "2025-03-15", RuleSLA, ""},
		{"GDPR with a confirm SLA", policy.UKGDPR, "", "2wd", "2025-04-14", "2025-05-14", RuleGDPR, "2025-04-16"},
		{"CCPA", policy.CCPA, "", "", "2024-11-20", "2025-01-04", RuleCCPARespond, "2024-12-06"},
		{"CCPA with stricter SLAs", policy.CCPA, "30d", "2wd", "2024-11-20", "2024-12-20", RuleSLA, "2024-11-22"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rules(t, "NO", c.respond, c.confirm)
			s, err := r.Schedule(c.j, at(no, c.recv))
			if err != nil {
				t.Fatal(err)
			}
			if s.Due.Date != d(c.due) || s.Due.Rule != c.rule {
				t.Errorf("due %s by %s, want %s by %s", s.Due.Date, s.Due.Rule, c.due, c.rule)
			}
			if (c.confBy == "") != s.ConfirmBy.IsZero() || (c.confBy != "" && s.ConfirmBy.Date != d(c.confBy)) {
				t.Errorf("confirm by %s, want %q", s.ConfirmBy.Date, c.confBy)
			}
			if s.ExtensionNoticeBy != s.Law || s.MaxExtended.At.Before(s.Law.At) || s.Due.At.After(s.Law.At) {
				t.Errorf("schedule %+v", s)
			}
			if (c.respond == "") != s.SLA.IsZero() {
				t.Errorf("SLA = %+v", s.SLA)
			}
		})
	}
	if _, err := (Rules{}).Schedule("lgpd", time.Now()); err == nil || !strings.Contains(err.Error(), "lgpd") {
		t.Errorf("unknown jurisdiction: %v", err)
	}
	if _, err := (Rules{Respond: policy.Period{N: 1, Unit: "x"}}).Schedule(policy.GDPR, time.Now()); err == nil {
		t.Error("bad SLA accepted")
	}
	// Zero Rules: weekends only, in UTC, California for CCPA.
	s, err := (Rules{}).Schedule(policy.CCPA, time.Date(2024, 11, 20, 10, 0, 0, 0, time.UTC))
	if err != nil || s.ConfirmBy.Date != d("2024-12-06") {
		t.Errorf("zero rules CCPA: %+v, %v", s.ConfirmBy, err)
	}
}

func TestExtendAndOptOut(t *testing.T) {
	r := rules(t, "NO", "", "")
	no := r.Calendar
	recv := at(no, "2025-01-31")
	got, err := r.Extend(policy.GDPR, recv, policy.Period{N: 2, Unit: policy.Months})
	if err != nil || got.Date != d("2025-04-28") {
		t.Errorf("GDPR extend 2mo = %s, %v", got.Date, err)
	}
	s, _ := r.Schedule(policy.GDPR, recv)
	if got != s.MaxExtended {
		t.Errorf("MaxExtended %s differs from a 2mo extension %s", s.MaxExtended.Date, got.Date)
	}
	if _, err := r.Extend(policy.GDPR, recv, policy.Period{N: 60, Unit: policy.Days}); err == nil {
		t.Error("GDPR extension in days accepted")
	}
	if _, err := r.Extend(policy.GDPR, recv, policy.Period{N: 3, Unit: policy.Months}); err == nil {
		t.Error("GDPR extension by 3 months accepted")
	}
	ca := CalendarFor(CCPA)
	got, err = r.Extend(policy.CCPA, at(ca, "2024-11-20"), policy.Period{N: 45, Unit: policy.Days})
	if err != nil || got.Date != d("2025-02-18") {
		t.Errorf("CCPA extend = %s, %v", got.Date, err)
	}
	if _, err := r.Extend(policy.CCPA, recv, policy.Period{N: 1, Unit: policy.Months}); err == nil {
		t.Error("CCPA extension in months accepted")
	}
	if _, err := r.Extend("pipeda", recv, policy.Period{N: 1, Unit: policy.Months}); err == nil {
		t.Error("unknown jurisdiction accepted")
	}
	opt, err := r.OptOut(at(ca, "2024-11-20"))
	if err != nil || opt.Date != d("2024-12-13") {
		t.Errorf("opt-out = %s, %v", opt.Date, err)
	}
	strict := rules(t, "NO", "2wd", "")
	if opt, _ := strict.OptOut(at(ca, "2024-11-20")); opt.Rule != RuleSLA {
		t.Errorf("opt-out with a 2wd SLA = %+v", opt)
	}
}

func TestRulesFor(t *testing.T) {
	p := &policy.Policy{}
	p.Controller.Country = "gb"
	p.Rights.Deadlines.Respond = policy.Period{N: 5, Unit: policy.WorkingDays}
	r := RulesFor(p)
	if r.Calendar.ID() != "GB" || r.Respond.String() != "5wd" || !r.Confirm.IsZero() {
		t.Errorf("RulesFor = %+v", r)
	}
	if (RulesFor(nil) != Rules{}) {
		t.Error("RulesFor(nil)")
	}
}

func TestQueries(t *testing.T) {
	no := CalendarFor("NO")
	due := no.GDPR(at(no, "2025-01-31")) // end of 28 February 2025, Oslo
	oslo := no.Location()
	cases := []struct {
		now     time.Time
		left    int
		overdue bool
		soon48  bool
	}{
		{time.Date(2025, 2, 26, 10, 0, 0, 0, oslo), 2, false, false},
		{time.Date(2025, 2, 27, 10, 0, 0, 0, oslo), 1, false, true},
		{time.Date(2025, 2, 28, 0, 0, 0, 0, oslo), 0, false, true},
		{time.Date(2025, 2, 28, 23, 59, 59, 999999000, oslo), 0, false, true},
		{time.Date(2025, 3, 1, 0, 0, 0, 0, oslo), -1, true, false},
		{time.Date(2025, 3, 3, 12, 0, 0, 0, oslo), -3, true, false},
		// 23:30 UTC on 28 February is already 1 March in Oslo.
		{time.Date(2025, 2, 28, 23, 30, 0, 0, time.UTC), -1, true, false},
	}
	for _, c := range cases {
		if got := DaysLeft(due.At, c.now); got != c.left {
			t.Errorf("DaysLeft at %v = %d, want %d", c.now, got, c.left)
		}
		if got := due.DaysLeft(c.now); got != c.left {
			t.Errorf("Deadline.DaysLeft at %v = %d", c.now, got)
		}
		// A due time read back from the store is UTC; the calendar
		// restores the controller's dates.
		if got := no.DaysLeft(due.At.UTC(), c.now); got != c.left {
			t.Errorf("Calendar.DaysLeft at %v = %d", c.now, got)
		}
		if Overdue(due.At, c.now) != c.overdue || due.Overdue(c.now) != c.overdue {
			t.Errorf("Overdue at %v = %v", c.now, !c.overdue)
		}
		if DueSoon(due.At, c.now, 48*time.Hour) != c.soon48 || due.DueSoon(c.now, 48*time.Hour) != c.soon48 {
			t.Errorf("DueSoon(48h) at %v = %v", c.now, !c.soon48)
		}
	}
	// Across the October DST change: 25-hour days still count as one.
	d2 := no.EndOfDay(d("2025-10-27"))
	if got := DaysLeft(d2, time.Date(2025, 10, 26, 0, 30, 0, 0, oslo)); got != 1 {
		t.Errorf("DaysLeft across DST = %d", got)
	}
	if e := Earliest(); !e.IsZero() {
		t.Error("Earliest of nothing")
	}
	a, b := no.GDPR(at(no, "2025-01-06")), no.GDPR(at(no, "2025-01-07"))
	if Earliest(Deadline{}, b, a) != a || Earliest(a, a) != a {
		t.Error("Earliest")
	}
}
