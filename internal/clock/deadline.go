package clock

import (
	"errors"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// Rule names what set a Deadline, so a due date shown to a DPO or stored
// on a request can say where it comes from.
type Rule string

// Rules of deadlines. The strings are stable: they are stored and shown.
const (
	// RuleGDPR: one month from receipt (GDPR Art. 12(3), counted per
	// Regulation 1182/71); also UK GDPR.
	RuleGDPR Rule = "gdpr_art12_3"
	// RuleGDPRExtended: the one month extended by one or two further
	// months (Art. 12(3), second sentence).
	RuleGDPRExtended Rule = "gdpr_art12_3_extended"
	// RuleCCPAConfirm: confirm receipt within 10 business days (11 CCR
	// § 7021(a)).
	RuleCCPAConfirm Rule = "ccpa_confirm_10_business_days"
	// RuleCCPARespond: respond within 45 calendar days (Civil Code
	// § 1798.130(a)(2), 11 CCR § 7021(b)).
	RuleCCPARespond Rule = "ccpa_respond_45_days"
	// RuleCCPAExtended: the 45 days extended once, up to 90 in total.
	RuleCCPAExtended Rule = "ccpa_respond_extended"
	// RuleCCPAOptOut: act on an opt-out of sale/sharing or a request to
	// limit within 15 business days (11 CCR §§ 7026(f), 7027(g)).
	RuleCCPAOptOut Rule = "ccpa_opt_out_15_business_days"
	// RuleSLA: the tenant's own, stricter answer time
	// (rights.deadlines.respond in the policy).
	RuleSLA Rule = "sla_respond"
	// RuleSLAConfirm: the tenant's own time to confirm receipt
	// (rights.deadlines.confirm).
	RuleSLAConfirm Rule = "sla_confirm"
)

// Deadline is the end of a period: its last day in the calendar's zone and
// the instant that day ends. The zero Deadline means "none".
type Deadline struct {
	// Date is the last day of the period, after moving off a weekend or
	// public holiday where the rule says so.
	Date Date
	// Nominal is the day the period ends by counting alone, before any
	// move; equal to Date when nothing moved.
	Nominal Date
	// At is the last instant of Date in the calendar's zone (23:59:59.999999
	// local time): the request is overdue after it.
	At time.Time
	// Rule says what set it.
	Rule Rule
	// Calendar is the id of the calendar it was counted on (NO, US-CA...).
	Calendar string
}

// IsZero reports whether d is "no deadline".
func (d Deadline) IsZero() bool { return d.At.IsZero() }

// Moved reports whether the period's end was moved off a weekend or a
// public holiday.
func (d Deadline) Moved() bool { return d.Date != d.Nominal }

// Overdue reports whether the deadline has passed at now.
func (d Deadline) Overdue(now time.Time) bool { return Overdue(d.At, now) }

// DueSoon reports whether the deadline has not passed but will within.
func (d Deadline) DueSoon(now time.Time, within time.Duration) bool {
	return DueSoon(d.At, now, within)
}

// DaysLeft counts calendar days from now's date to the deadline's, in the
// deadline's zone: 0 on the last day, negative when overdue.
func (d Deadline) DaysLeft(now time.Time) int { return DaysLeft(d.At, now) }

// Overdue reports whether due (the last instant of a period, as in
// Deadline.At) has passed at now.
func Overdue(due, now time.Time) bool { return now.After(due) }

// DueSoon reports whether due has not passed at now but will within the
// given time: what a reminder or the "due soon" filter of a queue asks.
func DueSoon(due, now time.Time, within time.Duration) bool {
	return !Overdue(due, now) && due.Sub(now) <= within
}

// DaysLeft counts calendar days from now's date to due's date, both taken in
// due's location: 0 when due is today, 1 tomorrow, -1 when it was
// yesterday. A due time read back from the store is in UTC and would count
// UTC dates; use Calendar.DaysLeft (or keep the Deadline) for the
// controller's dates.
func DaysLeft(due, now time.Time) int {
	return DateOf(now.In(due.Location())).DaysUntil(DateOf(due))
}

// Earliest returns the earliest of the non-zero deadlines (the first given
// on a tie), or the zero Deadline if all are zero.
func Earliest(ds ...Deadline) Deadline {
	var out Deadline
	for _, d := range ds {
		if d.IsZero() {
			continue
		}
		if out.IsZero() || d.At.Before(out.At) {
			out = d
		}
	}
	return out
}

// deadline builds the Deadline of a period whose counting ends on nominal,
// moving it to the next working day when roll is set.
func (c *Calendar) deadline(rule Rule, nominal Date, roll bool) Deadline {
	d := nominal
	if roll {
		d = c.NextWorkingDay(nominal)
	}
	return Deadline{Date: d, Nominal: nominal, At: c.EndOfDay(d), Rule: rule, Calendar: c.id}
}

// GDPR returns the deadline to answer a request received at the given
// instant under GDPR Art. 12(3) (and UK GDPR): one month, counted as
// Regulation (EEC, Euratom) No 1182/71 counts it, which the EDPB applies.
//
// The period ends at the end of the day in the following month with the
// same date as the day of receipt (5 March → 5 April); if that month has no
// such date, at the end of its last day (31 January → 28 February, or 29
// in a leap year; 31 August → 30 September). If that day is a Saturday,
// Sunday or public holiday of the calendar, the period ends at the end of
// the next working day (Art. 3(4)). The day of receipt is the controller's
// date when the request arrived, whatever the day of the week.
func (c *Calendar) GDPR(received time.Time) Deadline {
	return c.deadline(RuleGDPR, c.DateOf(received).AddMonths(1), true)
}

// GDPRExtended returns the deadline after extending a GDPR request by
// months (1 or 2) further months. They are counted the same way from the
// original period's end by counting (its nominal date, before any move off
// a weekend), and the result moves to the next working day in turn:
// received 31 January 2025 → 28 February → extended by two months → 28
// April. Counting from the nominal end, not the moved one, never gives
// more time than three months from receipt would.
func (c *Calendar) GDPRExtended(received time.Time, months int) (Deadline, error) {
	if months < 1 || months > 2 {
		return Deadline{}, fmt.Errorf("a GDPR request may be extended by one or two further months, not %d", months)
	}
	original := c.DateOf(received).AddMonths(1)
	return c.deadline(RuleGDPRExtended, original.AddMonths(months), true), nil
}

// CCPAConfirm returns when receipt of a CCPA request to know, delete or
// correct must be confirmed: no later than 10 business days after receipt
// (11 CCR § 7021(a)), business days being weekdays that are not federal or
// California holidays of this calendar. Use CalendarFor(CCPA).
func (c *Calendar) CCPAConfirm(received time.Time) Deadline {
	return c.deadline(RuleCCPAConfirm, c.AddWorkingDays(c.DateOf(received), 10), false)
}

// CCPARespond returns when a CCPA request to know, delete or correct must be
// answered: no later than 45 calendar days after receipt (11 CCR
// § 7021(b)), however long verification takes. The end is not moved off a
// weekend or holiday: the regulation counts calendar days, and not moving
// it is the reading that never gives more time than the law.
func (c *Calendar) CCPARespond(received time.Time) Deadline {
	return c.deadline(RuleCCPARespond, c.DateOf(received).AddDays(45), false)
}

// CCPAExtended returns the deadline after the one CCPA extension of up to
// 45 further days (days, 1 to 45): at most 90 calendar days from receipt.
// The consumer must be told within the first 45 days.
func (c *Calendar) CCPAExtended(received time.Time, days int) (Deadline, error) {
	if days < 1 || days > 45 {
		return Deadline{}, fmt.Errorf("a CCPA request may be extended once by up to 45 days, not %d", days)
	}
	return c.deadline(RuleCCPAExtended, c.DateOf(received).AddDays(45+days), false), nil
}

// CCPAOptOut returns when a request to opt out of sale or sharing, or to
// limit the use of sensitive personal information, must be acted on: as
// soon as feasibly possible and no later than 15 business days after
// receipt.
func (c *Calendar) CCPAOptOut(received time.Time) Deadline {
	return c.deadline(RuleCCPAOptOut, c.AddWorkingDays(c.DateOf(received), 15), false)
}

// ErrNoPeriod is returned for a zero (unset) period.
var ErrNoPeriod = errors.New("no period given")

// After returns the end of a tenant's own period p counted from received,
// labelled with rule: days and weeks are calendar days, months and years
// calendar months clamped to the month's end (as for GDPR), working days
// skip weekends and this calendar's holidays, and the day of receipt never
// counts. The end is not moved off a weekend: a service level is a promise
// stricter than the law, kept as written. A zero-length period (0d) ends
// at the end of the day of receipt.
func (c *Calendar) After(received time.Time, p policy.Period, rule Rule) (Deadline, error) {
	if p.IsZero() {
		return Deadline{}, ErrNoPeriod
	}
	if p.N < 0 {
		return Deadline{}, fmt.Errorf("period %s is negative", p)
	}
	start := c.DateOf(received)
	var end Date
	switch p.Unit {
	case policy.Days:
		end = start.AddDays(p.N)
	case policy.Weeks:
		end = start.AddDays(7 * p.N)
	case policy.Months:
		end = start.AddMonths(p.N)
	case policy.Years:
		end = start.AddMonths(12 * p.N)
	case policy.WorkingDays:
		end = c.AddWorkingDays(start, p.N)
	default:
		return Deadline{}, fmt.Errorf("period %q has an unknown unit", p.String())
	}
	return c.deadline(rule, end, false), nil
}

// Rules are how one tenant's deadlines are counted: the law's, on the
// calendar of the controller's country (and California's for CCPA), and
// the tenant's own stricter service levels from its policy.
type Rules struct {
	// Calendar is the controller's: GDPR, UK GDPR and service levels are
	// counted on it. Nil means weekends only in UTC.
	Calendar *Calendar
	// CCPACalendar counts CCPA periods; nil means CalendarFor(CCPA).
	CCPACalendar *Calendar
	// Respond is the tenant's time to answer (zero: the law's only).
	Respond policy.Period
	// Confirm is the tenant's time to confirm receipt (zero: the law's
	// only, which GDPR does not set).
	Confirm policy.Period
}

// RulesFor returns the rules of a policy: the calendar of
// controller.country and rights.deadlines.
func RulesFor(p *policy.Policy) Rules {
	if p == nil {
		return Rules{}
	}
	return Rules{
		Calendar: CalendarFor(p.Controller.Country),
		Respond:  p.Rights.Deadlines.Respond,
		Confirm:  p.Rights.Deadlines.Confirm,
	}
}

func (r Rules) calendar() *Calendar {
	if r.Calendar == nil {
		return CalendarFor("")
	}
	return r.Calendar
}

func (r Rules) ccpa() *Calendar {
	if r.CCPACalendar == nil {
		return CalendarFor(CCPA)
	}
	return r.CCPACalendar
}

// Schedule is every deadline of a request at intake.
type Schedule struct {
	Jurisdiction policy.Jurisdiction
	Received     time.Time
	// Due is the effective deadline to answer: the earliest of Law and SLA.
	Due Deadline
	// Law is the statutory deadline to answer.
	Law Deadline
	// SLA is the tenant's own deadline to answer; zero without one.
	SLA Deadline
	// ConfirmBy is when receipt must be confirmed: the earliest of the
	// law's (CCPA) and the tenant's; zero when neither sets one.
	ConfirmBy Deadline
	// ExtensionNoticeBy is when the person must be told of an extension
	// and its reasons: within the first period (GDPR Art. 12(3); CCPA
	// within the first 45 days), so the statutory deadline.
	ExtensionNoticeBy Deadline
	// MaxExtended is the latest the law allows with every extension (GDPR
	// two further months, CCPA 90 days in all).
	MaxExtended Deadline
}

// Schedule computes the deadlines of a request to know, access, delete or
// correct (and the other GDPR rights) received at the given instant under
// jurisdiction j.
//
// After an extension (see Extend) the extended statutory deadline replaces
// Due; a service level promises the first answer and does not shorten a
// lawful extension.
func (r Rules) Schedule(j policy.Jurisdiction, received time.Time) (Schedule, error) {
	s := Schedule{Jurisdiction: j, Received: received}
	var confirm Deadline
	switch j {
	case policy.GDPR, policy.UKGDPR:
		c := r.calendar()
		s.Law = c.GDPR(received)
		s.MaxExtended, _ = c.GDPRExtended(received, 2)
	case policy.CCPA:
		c := r.ccpa()
		s.Law = c.CCPARespond(received)
		s.MaxExtended, _ = c.CCPAExtended(received, 45)
		confirm = c.CCPAConfirm(received)
	default:
		return Schedule{}, fmt.Errorf("no deadline rules for jurisdiction %q (known: gdpr, uk_gdpr, ccpa)", j)
	}
	s.ExtensionNoticeBy = s.Law
	if !r.Respond.IsZero() {
		sla, err := r.calendar().After(received, r.Respond, RuleSLA)
		if err != nil {
			return Schedule{}, fmt.Errorf("rights.deadlines.respond: %w", err)
		}
		s.SLA = sla
	}
	if !r.Confirm.IsZero() {
		sla, err := r.calendar().After(received, r.Confirm, RuleSLAConfirm)
		if err != nil {
			return Schedule{}, fmt.Errorf("rights.deadlines.confirm: %w", err)
		}
		confirm = Earliest(confirm, sla)
	}
	s.ConfirmBy = confirm
	s.Due = Earliest(s.Law, s.SLA)
	return s, nil
}

// Extend returns the statutory deadline of a request received at the
// given instant and extended by the given period: under GDPR and UK GDPR
// one or two further months (1mo or 2mo), under CCPA up to 45 further days
// (e.g. 45d), once. A DPO records the reason; the person must be told by
// Schedule.ExtensionNoticeBy.
func (r Rules) Extend(j policy.Jurisdiction, received time.Time, by policy.Period) (Deadline, error) {
	switch j {
	case policy.GDPR, policy.UKGDPR:
		if by.Unit != policy.Months {
			return Deadline{}, fmt.Errorf("a GDPR extension is counted in months (1mo or 2mo), not %q", by.String())
		}
		return r.calendar().GDPRExtended(received, by.N)
	case policy.CCPA:
		if by.Unit != policy.Days {
			return Deadline{}, fmt.Errorf("a CCPA extension is counted in days (up to 45d), not %q", by.String())
		}
		return r.ccpa().CCPAExtended(received, by.N)
	}
	return Deadline{}, fmt.Errorf("no deadline rules for jurisdiction %q (known: gdpr, uk_gdpr, ccpa)", j)
}

// OptOut returns the deadline of a CCPA request to opt out of sale or
// sharing, or to limit the use of sensitive personal information: the
// earlier of 15 business days and the tenant's own answer time.
func (r Rules) OptOut(received time.Time) (Deadline, error) {
	law := r.ccpa().CCPAOptOut(received)
	if r.Respond.IsZero() {
		return law, nil
	}
	sla, err := r.calendar().After(received, r.Respond, RuleSLA)
	if err != nil {
		return Deadline{}, fmt.Errorf("rights.deadlines.respond: %w", err)
	}
	return Earliest(law, sla), nil
}
