package clock

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Holiday is a public holiday: a day that is not a working day although it
// is not a weekend (or is one, such as Easter Sunday; those are listed too so
// a DPO sees the whole calendar).
type Holiday struct {
	Date Date
	Name string
}

// Calendar is the working-day calendar and time zone of one jurisdiction:
// which days are weekends or public holidays there, and where its days
// begin and end. Deadlines that "move to the next working day" and periods
// counted in working or business days use it.
//
// Calendars are built in (see CalendarFor) rather than configured, so every
// tenant of a country counts the same way and the rules are tested. A
// Calendar is immutable and safe for concurrent use; it computes each
// year's holidays once.
type Calendar struct {
	id    string
	name  string
	loc   *time.Location
	known bool // holidays implemented, not weekends only
	rules func(year int) []Holiday

	mu    sync.Mutex
	years map[int][]Holiday
}

// calendarDef describes a built-in calendar.
type calendarDef struct {
	name  string
	zone  string
	rules func(year int) []Holiday // nil: weekends only
}

// calendars are the countries with public holidays implemented. The id is
// the ISO 3166-1 alpha-2 code, or alpha-2 plus subdivision (US-CA).
var calendars = map[string]calendarDef{
	"NO":    {"Norway", "Europe/Oslo", norway},
	"SE":    {"Sweden", "Europe/Stockholm", sweden},
	"DK":    {"Denmark", "Europe/Copenhagen", denmark},
	"DE":    {"Germany (federal holidays)", "Europe/Berlin", germany},
	"FR":    {"France", "Europe/Paris", france},
	"GB":    {"United Kingdom (England and Wales)", "Europe/London", englandWales},
	"IE":    {"Ireland", "Europe/Dublin", ireland},
	"NL":    {"Netherlands", "Europe/Amsterdam", netherlands},
	"US":    {"United States (federal holidays)", "America/New_York", usFederal},
	"US-CA": {"United States, California (federal and state holidays)", "America/Los_Angeles", california},
}

// zonesOnly are countries whose holidays are not implemented yet: their
// deadlines count weekends only, but days begin and end in the country's
// own (capital's) time zone.
var zonesOnly = map[string]string{
	"AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "CH": "Europe/Zurich",
	"CY": "Asia/Nicosia", "CZ": "Europe/Prague", "EE": "Europe/Tallinn", "ES": "Europe/Madrid",
	"FI": "Europe/Helsinki", "GR": "Europe/Athens", "HR": "Europe/Zagreb", "HU": "Europe/Budapest",
	"IS": "Atlantic/Reykjavik", "IT": "Europe/Rome", "LI": "Europe/Vaduz", "LT": "Europe/Vilnius",
	"LU": "Europe/Luxembourg", "LV": "Europe/Riga", "MT": "Europe/Malta", "PL": "Europe/Warsaw",
	"PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SI": "Europe/Ljubljana", "SK": "Europe/Bratislava",
	"CA": "America/Toronto", "AU": "Australia/Sydney", "NZ": "Pacific/Auckland", "JP": "Asia/Tokyo",
}

// aliases map other spellings to calendar ids.
var aliases = map[string]string{"UK": "GB", "EL": "GR", "CALIFORNIA": "US-CA", "US_CA": "US-CA"}

// CCPA is the id of the calendar CCPA periods are counted on: California's
// clock and its federal and state holidays, since those are the business
// days of the law being applied.
const CCPA = "US-CA"

var (
	calMu    sync.Mutex
	calCache = map[string]*Calendar{}
)

// CalendarFor returns the calendar of a country: an ISO 3166-1 alpha-2 code
// (NO, GB, ...; case-insensitive; UK is GB) or US-CA for California. A
// country whose holidays are not implemented gets a weekends-only calendar
// in its own time zone when Trustee knows it, else in UTC; Known reports
// which. Never nil.
func CalendarFor(country string) *Calendar {
	id := strings.ToUpper(strings.TrimSpace(country))
	if a, ok := aliases[id]; ok {
		id = a
	}
	calMu.Lock()
	defer calMu.Unlock()
	if c, ok := calCache[id]; ok {
		return c
	}
	c := &Calendar{id: id, loc: time.UTC, years: map[int][]Holiday{}}
	if def, ok := calendars[id]; ok {
		c.name, c.rules, c.known = def.name, def.rules, true
		c.loc = mustZone(def.zone)
	} else if zone, ok := zonesOnly[id]; ok {
		c.name = id + " (weekends only; public holidays not implemented)"
		c.loc = mustZone(zone)
	} else {
		c.name = "weekends only (UTC)"
		if id == "" {
			c.id = "default"
		}
	}
	if len(calCache) < 512 { // ids come from policies; keep the cache bounded
		calCache[id] = c
	}
	return c
}

// mustZone loads an IANA zone from the embedded database.
func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("clock: time zone " + name + " missing from the embedded database: " + err.Error())
	}
	return loc
}

// Calendars lists the ids of the calendars with public holidays, sorted.
func Calendars() []string {
	out := make([]string, 0, len(calendars))
	for id := range calendars {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// ID returns the calendar's id (NO, US-CA, ...; "default" for none given).
func (c *Calendar) ID() string { return c.id }

// Name describes the calendar in words.
func (c *Calendar) Name() string { return c.name }

// Location returns the time zone the calendar's days begin and end in.
func (c *Calendar) Location() *time.Location { return c.loc }

// Known reports whether the calendar's public holidays are implemented;
// false means weekends only.
func (c *Calendar) Known() bool { return c.known }

// Holidays returns the public holidays of year, in date order.
func (c *Calendar) Holidays(year int) []Holiday {
	if c.rules == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.years[year]; ok {
		return h
	}
	h := c.rules(year)
	slices.SortStableFunc(h, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	if len(c.years) > 400 { // fuzzing across millennia must not grow it forever
		clear(c.years)
	}
	c.years[year] = h
	return h
}

// Holiday returns the name of the public holiday on d, if it is one.
func (c *Calendar) Holiday(d Date) (string, bool) {
	for _, h := range c.Holidays(d.Year) {
		if h.Date == d {
			return h.Name, true
		}
	}
	return "", false
}

// IsWorkingDay reports whether d is neither a weekend nor a public holiday.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if d.IsWeekend() {
		return false
	}
	_, hol := c.Holiday(d)
	return !hol
}

// maxNonWorkingRun bounds how many non-working days in a row any calendar
// has (a long Easter or Christmas plus a weekend is five); loops stop there
// so that a broken rule cannot hang a request.
const maxNonWorkingRun = 14

// NextWorkingDay returns d if it is a working day, else the first working
// day after it: where a period ending on a weekend or holiday ends instead.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for range maxNonWorkingRun {
		if c.IsWorkingDay(d) {
			return d
		}
		d = d.AddDays(1)
	}
	return d
}

// AddWorkingDays returns the n-th working day after d; d itself does not
// count, as the day of the event never counts (Regulation 1182/71 Art.
// 3(1)). n = 0 returns d. Negative n counts backwards.
func (c *Calendar) AddWorkingDays(d Date, n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days after from up to and including
// to (0 when to is not after from).
func (c *Calendar) WorkingDaysBetween(from, to Date) int {
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// DateOf returns the date of t in the calendar's zone.
func (c *Calendar) DateOf(t time.Time) Date { return DateOf(t.In(c.loc)) }

// EndOfDay returns the last instant (to the microsecond) of d in the
// calendar's zone.
func (c *Calendar) EndOfDay(d Date) time.Time { return d.End(c.loc) }

// DaysLeft is the package DaysLeft counted on this calendar's dates, for a
// due time that has lost its zone (read back from the store in UTC).
func (c *Calendar) DaysLeft(due, now time.Time) int {
	return c.DateOf(now).DaysUntil(c.DateOf(due))
}

// ---- holiday rules ----

// Easter returns Easter Sunday of the Gregorian calendar, by the anonymous
// Gregorian algorithm (Meeus/Jones/Butcher), valid for every year from 1583.
func Easter(year int) Date {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

func day(y int, m time.Month, d int, name string) Holiday {
	return Holiday{Date{y, m, d}, name}
}

func easterOffset(y, offset int, name string) Holiday {
	return Holiday{Easter(y).AddDays(offset), name}
}

// nthWeekday returns the n-th given weekday of the month (n = 1 first, -1
// last).
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) Date {
	if n > 0 {
		d := Date{y, m, 1}
		d = d.AddDays((int(wd) - int(d.Weekday()) + 7) % 7)
		return d.AddDays(7 * (n - 1))
	}
	d := Date{y, m, daysIn(y, m)}
	d = d.AddDays(-((int(d.Weekday()) - int(wd) + 7) % 7))
	return d.AddDays(7 * (n + 1))
}

// weekdayBetween returns the given weekday in [from, from+6].
func weekdayBetween(from Date, wd time.Weekday) Date {
	return from.AddDays((int(wd) - int(from.Weekday()) + 7) % 7)
}

// nextMonday moves a Saturday or Sunday to the following Monday.
func nextMonday(d Date) Date {
	switch d.Weekday() {
	case time.Saturday:
		return d.AddDays(2)
	case time.Sunday:
		return d.AddDays(1)
	}
	return d
}

// christmasSubstitutes gives Christmas and the day after with the British
// and Irish substitute rule: a holiday on a weekend moves to the next
// weekday that is not already a holiday (Christmas on Saturday: Monday 27
// and Tuesday 28; on Sunday: Monday 26 and Tuesday 27).
func christmasSubstitutes(y int, christmas, boxing string) []Holiday {
	c, b := Date{y, time.December, 25}, Date{y, time.December, 26}
	out := []Holiday{{c, christmas}, {b, boxing}}
	switch c.Weekday() {
	case time.Friday: // Boxing Day on Saturday
		out = append(out, Holiday{Date{y, time.December, 28}, boxing + " (substitute day)"})
	case time.Saturday:
		out = append(out, Holiday{Date{y, time.December, 27}, christmas + " (substitute day)"},
			Holiday{Date{y, time.December, 28}, boxing + " (substitute day)"})
	case time.Sunday:
		out = append(out, Holiday{Date{y, time.December, 27}, christmas + " (substitute day)"})
	}
	return out
}

// norway: Lov om helligdager og helligdagsfred and Lov om 1. og 17. mai
// som høgtidsdager.
func norway(y int) []Holiday {
	return []Holiday{
		day(y, time.January, 1, "New Year's Day (Første nyttårsdag)"),
		easterOffset(y, -3, "Maundy Thursday (Skjærtorsdag)"),
		easterOffset(y, -2, "Good Friday (Langfredag)"),
		easterOffset(y, 0, "Easter Sunday (Første påskedag)"),
		easterOffset(y, 1, "Easter Monday (Andre påskedag)"),
		day(y, time.May, 1, "Labour Day (Offentlig høytidsdag)"),
		day(y, time.May, 17, "Constitution Day (Grunnlovsdag)"),
		easterOffset(y, 39, "Ascension Day (Kristi himmelfartsdag)"),
		easterOffset(y, 49, "Whit Sunday (Første pinsedag)"),
		easterOffset(y, 50, "Whit Monday (Andre pinsedag)"),
		day(y, time.December, 25, "Christmas Day (Første juledag)"),
		day(y, time.December, 26, "Boxing Day (Andre juledag)"),
	}
}

// sweden: Lag (1989:253) om allmänna helgdagar, plus the days Lag
// (1930:173) om beräkning av lagstadgad tid treats like holidays when a
// period ends: Midsummer Eve, Christmas Eve and New Year's Eve.
func sweden(y int) []Holiday {
	h := []Holiday{
		day(y, time.January, 1, "New Year's Day (Nyårsdagen)"),
		day(y, time.January, 6, "Epiphany (Trettondedag jul)"),
		easterOffset(y, -2, "Good Friday (Långfredagen)"),
		easterOffset(y, 0, "Easter Sunday (Påskdagen)"),
		easterOffset(y, 1, "Easter Monday (Annandag påsk)"),
		day(y, time.May, 1, "May Day (Första maj)"),
		easterOffset(y, 39, "Ascension Day (Kristi himmelsfärdsdag)"),
		easterOffset(y, 49, "Whit Sunday (Pingstdagen)"),
		{weekdayBetween(Date{y, time.June, 19}, time.Friday), "Midsummer Eve (Midsommarafton)"},
		{weekdayBetween(Date{y, time.June, 20}, time.Saturday), "Midsummer Day (Midsommardagen)"},
		{weekdayBetween(Date{y, time.October, 31}, time.Saturday), "All Saints' Day (Alla helgons dag)"},
		day(y, time.December, 24, "Christmas Eve (Julafton)"),
		day(y, time.December, 25, "Christmas Day (Juldagen)"),
		day(y, time.December, 26, "Boxing Day (Annandag jul)"),
		day(y, time.December, 31, "New Year's Eve (Nyårsafton)"),
	}
	if y >= 2005 {
		h = append(h, day(y, time.June, 6, "National Day (Sveriges nationaldag)"))
	} else {
		h = append(h, easterOffset(y, 50, "Whit Monday (Annandag pingst)"))
	}
	return h
}

// denmark: the public holidays (helligdage) of Lov om helligdagsfred. Great
// Prayer Day was abolished from 2024. Constitution Day, Christmas Eve and
// New Year's Eve are customary days off, not public holidays, and are left
// out: a deadline is never moved past a day the law does not name.
func denmark(y int) []Holiday {
	h := []Holiday{
		day(y, time.January, 1, "New Year's Day (Nytårsdag)"),
		easterOffset(y, -3, "Maundy Thursday (Skærtorsdag)"),
		easterOffset(y, -2, "Good Friday (Langfredag)"),
		easterOffset(y, 0, "Easter Sunday (Påskedag)"),
		easterOffset(y, 1, "Easter Monday (2. påskedag)"),
		easterOffset(y, 39, "Ascension Day (Kristi himmelfartsdag)"),
		easterOffset(y, 49, "Whit Sunday (Pinsedag)"),
		easterOffset(y, 50, "Whit Monday (2. pinsedag)"),
		day(y, time.December, 25, "Christmas Day (Juledag)"),
		day(y, time.December, 26, "Boxing Day (2. juledag)"),
	}
	if y <= 2023 {
		h = append(h, easterOffset(y, 26, "Great Prayer Day (Store bededag)"))
	}
	return h
}

// germany: the holidays observed in every German state. State holidays
// (Epiphany, Corpus Christi, Reformation Day, All Saints' ...) differ by
// Land and are not included.
func germany(y int) []Holiday {
	h := []Holiday{
		day(y, time.January, 1, "New Year's Day (Neujahr)"),
		easterOffset(y, -2, "Good Friday (Karfreitag)"),
		easterOffset(y, 1, "Easter Monday (Ostermontag)"),
		day(y, time.May, 1, "Labour Day (Tag der Arbeit)"),
		easterOffset(y, 39, "Ascension Day (Christi Himmelfahrt)"),
		easterOffset(y, 50, "Whit Monday (Pfingstmontag)"),
		day(y, time.December, 25, "Christmas Day (1. Weihnachtstag)"),
		day(y, time.December, 26, "Second Day of Christmas (2. Weihnachtstag)"),
	}
	if y >= 1990 {
		h = append(h, day(y, time.October, 3, "German Unity Day (Tag der Deutschen Einheit)"))
	}
	if y == 2017 {
		h = append(h, day(y, time.October, 31, "Reformation Day, 500th anniversary (Reformationstag)"))
	}
	return h
}

// france: the jours fériés of Code du travail Art. L3133-1 (Alsace-Moselle's
// extra days are not included).
func france(y int) []Holiday {
	return []Holiday{
		day(y, time.January, 1, "New Year's Day (Jour de l'an)"),
		easterOffset(y, 1, "Easter Monday (Lundi de Pâques)"),
		day(y, time.May, 1, "Labour Day (Fête du Travail)"),
		day(y, time.May, 8, "Victory in Europe Day (Victoire 1945)"),
		easterOffset(y, 39, "Ascension Day (Ascension)"),
		easterOffset(y, 50, "Whit Monday (Lundi de Pentecôte)"),
		day(y, time.July, 14, "Bastille Day (Fête nationale)"),
		day(y, time.August, 15, "Assumption (Assomption)"),
		day(y, time.November, 1, "All Saints' Day (Toussaint)"),
		day(y, time.November, 11, "Armistice Day (Armistice 1918)"),
		day(y, time.December, 25, "Christmas Day (Noël)"),
	}
}

// englandWales: the bank holidays of England and Wales (Banking and
// Financial Dealings Act 1971 and royal proclamations), with substitute
// days and the one-off changes since 1995.
func englandWales(y int) []Holiday {
	h := []Holiday{
		{nextMonday(Date{y, time.January, 1}), "New Year's Day"},
		easterOffset(y, -2, "Good Friday"),
		easterOffset(y, 1, "Easter Monday"),
		{nthWeekday(y, time.August, time.Monday, -1), "Summer bank holiday"},
	}
	if (Date{y, time.January, 1}).IsWeekend() {
		h[0].Name += " (substitute day)"
	}
	switch y {
	case 1995:
		h = append(h, day(y, time.May, 8, "Early May bank holiday (VE Day)"))
	case 2020:
		h = append(h, day(y, time.May, 8, "Early May bank holiday (VE Day)"))
	default:
		h = append(h, Holiday{nthWeekday(y, time.May, time.Monday, 1), "Early May bank holiday"})
	}
	switch y {
	case 2002:
		h = append(h, day(y, time.June, 4, "Spring bank holiday"), day(y, time.June, 3, "Golden Jubilee"))
	case 2012:
		h = append(h, day(y, time.June, 4, "Spring bank holiday"), day(y, time.June, 5, "Diamond Jubilee"))
	case 2022:
		h = append(h, day(y, time.June, 2, "Spring bank holiday"), day(y, time.June, 3, "Platinum Jubilee"))
	default:
		h = append(h, Holiday{nthWeekday(y, time.May, time.Monday, -1), "Spring bank holiday"})
	}
	switch y {
	case 1999:
		h = append(h, day(y, time.December, 31, "Millennium Celebrations"))
	case 2011:
		h = append(h, day(y, time.April, 29, "Royal Wedding"))
	case 2022:
		h = append(h, day(y, time.September, 19, "State Funeral of Queen Elizabeth II"))
	case 2023:
		h = append(h, day(y, time.May, 8, "Coronation of King Charles III"))
	}
	return append(h, christmasSubstitutes(y, "Christmas Day", "Boxing Day")...)
}

// ireland: the public holidays of the Organisation of Working Time Act 1997
// (Schedule 2) as amended, with the usual Monday substitutes. Good Friday
// is not a public holiday in Ireland.
func ireland(y int) []Holiday {
	h := []Holiday{
		{nextMonday(Date{y, time.January, 1}), "New Year's Day"},
		{nextMonday(Date{y, time.March, 17}), "Saint Patrick's Day"},
		easterOffset(y, 1, "Easter Monday"),
		{nthWeekday(y, time.May, time.Monday, 1), "May bank holiday"},
		{nthWeekday(y, time.June, time.Monday, 1), "June bank holiday"},
		{nthWeekday(y, time.August, time.Monday, 1), "August bank holiday"},
		{nthWeekday(y, time.October, time.Monday, -1), "October bank holiday"},
	}
	if y >= 2023 {
		// The first Monday in February, or 1 February when that is a Friday.
		d := Date{y, time.February, 1}
		if d.Weekday() != time.Friday {
			d = nthWeekday(y, time.February, time.Monday, 1)
		}
		h = append(h, Holiday{d, "Saint Brigid's Day"})
	}
	if y == 2022 {
		h = append(h, day(y, time.March, 18, "Public holiday (COVID-19 remembrance)"))
	}
	return append(h, christmasSubstitutes(y, "Christmas Day", "Saint Stephen's Day")...)
}

// netherlands: the generally recognised holidays of the Algemene
// termijnenwet Art. 3, which also moves periods that end on them: New
// Year's Day, Easter and Whit Monday, Ascension Day, the King's (before
// 2014 the Queen's) birthday as celebrated, 5 May, and both days of
// Christmas. Good Friday is not among them.
func netherlands(y int) []Holiday {
	h := []Holiday{
		day(y, time.January, 1, "New Year's Day (Nieuwjaarsdag)"),
		easterOffset(y, 0, "Easter Sunday (Eerste Paasdag)"),
		easterOffset(y, 1, "Easter Monday (Tweede Paasdag)"),
		day(y, time.May, 5, "Liberation Day (Bevrijdingsdag)"),
		easterOffset(y, 39, "Ascension Day (Hemelvaartsdag)"),
		easterOffset(y, 49, "Whit Sunday (Eerste Pinksterdag)"),
		easterOffset(y, 50, "Whit Monday (Tweede Pinksterdag)"),
		day(y, time.December, 25, "Christmas Day (Eerste Kerstdag)"),
		day(y, time.December, 26, "Boxing Day (Tweede Kerstdag)"),
	}
	if y >= 2014 {
		d := Date{y, time.April, 27}
		if d.Weekday() == time.Sunday {
			d = d.AddDays(-1)
		}
		h = append(h, Holiday{d, "King's Day (Koningsdag)"})
	} else {
		d := Date{y, time.April, 30}
		if d.Weekday() == time.Sunday {
			d = d.AddDays(-1)
		}
		h = append(h, Holiday{d, "Queen's Day (Koninginnedag)"})
	}
	return h
}

// usObserved applies the federal rule (5 U.S.C. 6103(b), Executive Order
// 11582): a holiday on Saturday is observed the Friday before, on Sunday the
// Monday after.
func usObserved(d Date) Date {
	switch d.Weekday() {
	case time.Saturday:
		return d.AddDays(-1)
	case time.Sunday:
		return d.AddDays(1)
	}
	return d
}

// usFederal: the legal public holidays of 5 U.S.C. 6103(a), as observed.
// When 1 January falls on a Saturday it is observed on 31 December of the
// year before, which is therefore listed in that year.
func usFederal(y int) []Holiday {
	fixed := func(m time.Month, d int, name string) Holiday {
		actual := Date{y, m, d}
		o := usObserved(actual)
		if o != actual {
			name += " (observed)"
		}
		return Holiday{o, name}
	}
	var h []Holiday
	if ny := fixed(time.January, 1, "New Year's Day"); ny.Date.Year == y {
		h = append(h, ny)
	}
	if next := (Date{y + 1, time.January, 1}); next.Weekday() == time.Saturday {
		h = append(h, Holiday{Date{y, time.December, 31}, "New Year's Day (observed)"})
	}
	if y >= 1986 {
		h = append(h, Holiday{nthWeekday(y, time.January, time.Monday, 3), "Birthday of Martin Luther King, Jr."})
	}
	h = append(h,
		Holiday{nthWeekday(y, time.February, time.Monday, 3), "Washington's Birthday"},
		Holiday{nthWeekday(y, time.May, time.Monday, -1), "Memorial Day"},
		fixed(time.July, 4, "Independence Day"),
		Holiday{nthWeekday(y, time.September, time.Monday, 1), "Labor Day"},
		Holiday{nthWeekday(y, time.October, time.Monday, 2), "Columbus Day"},
		fixed(time.November, 11, "Veterans Day"),
		Holiday{nthWeekday(y, time.November, time.Thursday, 4), "Thanksgiving Day"},
		fixed(time.December, 25, "Christmas Day"),
	)
	if y >= 2021 {
		h = append(h, fixed(time.June, 19, "Juneteenth National Independence Day"))
	}
	return h
}

// california: the federal holidays plus the California state holidays on
// which state offices close (Gov. Code §§ 6700, 19853): Cesar Chavez Day
// (31 March, Monday if on a Sunday) and the day after Thanksgiving. Lincoln
// Day and Native American Day are left out: offices stay open on them, and
// a business day is never skipped unless the law clearly skips it.
func california(y int) []Holiday {
	h := usFederal(y)
	if y >= 2001 {
		d := Date{y, time.March, 31}
		name := "Cesar Chavez Day"
		if d.Weekday() == time.Sunday {
			d, name = d.AddDays(1), name+" (observed)"
		}
		h = append(h, Holiday{d, name})
	}
	return append(h, Holiday{nthWeekday(y, time.November, time.Thursday, 4).AddDays(1), "Day after Thanksgiving"})
}
