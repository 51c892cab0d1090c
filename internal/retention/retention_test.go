package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

var bg = context.Background()

// sixYears is when the rule "6y from last activity" ends for activity at t.
func sixYears(t time.Time) time.Time { return t.AddDate(6, 0, 0) }

// TestLastActivityRule: a rule "6 years from last activity" deletes exactly
// the rows it governs of exactly the subjects whose last activity is six
// years old, at that instant and not a microsecond before; activity in
// between postpones it.
func TestLastActivityRule(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a, b, c := f.person(t, 1), f.person(t, 2), f.person(t, 3)
		f.record(t, a, "visits", `{"page":"/"}`, T0)
		f.record(t, c, "visits", `{"page":"/x"}`, T0)
		// B is active three years later: its six years start again.
		f.clk.Set(T0.AddDate(3, 0, 0))
		if err := f.vault.Activity(bg, f.tenant, b, time.Time{}, f.by); err != nil {
			t.Fatal(err)
		}
		all := []string{"email", "name", "nickname", "phone"}

		cases := []struct {
			at          time.Time
			wantA       []string
			wantB       []string
			wantVisitsA int
		}{
			{sixYears(T0).Add(-time.Microsecond), all, all, 1},
			{sixYears(T0), []string{"email", "name"}, all, 0},
			{sixYears(T0.AddDate(3, 0, 0)).Add(-time.Microsecond), []string{"email", "name"}, all, 0},
			{sixYears(T0.AddDate(3, 0, 0)), []string{"email", "name"}, []string{"email", "name"}, 0},
		}
		for i, tc := range cases {
			f.clk.Set(tc.at)
			f.sweep(t)
			if got := f.fields(t, a); !eq(got, tc.wantA) {
				t.Errorf("case %d: A has %v, want %v", i, got, tc.wantA)
			}
			if got := f.fields(t, c); !eq(got, tc.wantA) {
				t.Errorf("case %d: C has %v, want %v", i, got, tc.wantA)
			}
			if got := f.fields(t, b); !eq(got, tc.wantB) {
				t.Errorf("case %d: B has %v, want %v", i, got, tc.wantB)
			}
			if got := len(f.records(t, a, "visits")); got != tc.wantVisitsA {
				t.Errorf("case %d: A has %d visits, want %d", i, got, tc.wantVisitsA)
			}
		}
		// The phone was an identity: it is gone from the index too; the
		// email (kept until the account closes) still finds A.
		if id := f.lookup(t, "phone", "+4790000001"); id != "" {
			t.Errorf("phone lookup found %s after the phone expired", id)
		}
		if id := f.lookup(t, "email", "person1@example.org"); id != a {
			t.Errorf("email lookup = %q, want %s", id, a)
		}
		// Audited: which rule, what, never values.
		evs := f.events(t, "retention.expire", a)
		if len(evs) != 2 {
			t.Fatalf("A has %d retention events, want 2 (fields, records)", len(evs))
		}
		reasons := evs[0].Reason + " / " + evs[1].Reason
		for _, want := range []string{"rule activity_6y: field phone deleted", "rule activity_6y: field nickname deleted", "rule activity_6y: 1 record(s) of visits deleted"} {
			if !strings.Contains(reasons, want) {
				t.Errorf("audit reasons %q lack %q", reasons, want)
			}
		}
		if strings.Contains(reasons, "+47") || strings.Contains(reasons, "p1") {
			t.Errorf("audit reason holds a value: %q", reasons)
		}
		if evs[0].Actor != "system:retention" {
			t.Errorf("actor = %s", evs[0].Actor)
		}
	})
}

// TestActivityPostponesStoredDueTime: activity moves the stored due time in
// the same transaction, so the plan (which reads only stored due times)
// follows at once; and a sweep whose stored due time is stale corrects it
// instead of deleting.
func TestActivityPostponesStoredDueTime(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		f.record(t, a, "visits", `{}`, T0)
		plan := func() int64 {
			p, err := f.ret.PlanFor(bg, f.tenant, 6*366)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rules {
				if r.Rule == "activity_6y" {
					return r.Total
				}
			}
			return -1
		}
		f.sweep(t) // the first sweep records which rules the due times follow
		if n := plan(); n != 3 {
			t.Fatalf("plan before activity: %d rows under activity_6y, want 3 (phone, nickname, visits)", n)
		}
		f.clk.Set(T0.AddDate(1, 0, 0))
		if err := f.vault.Activity(bg, f.tenant, a, time.Time{}, f.by); err != nil {
			t.Fatal(err)
		}
		// Six years from T0 plus a day: the rows now run to T0+7y.
		f.clk.Set(T0.AddDate(0, 0, 1))
		if n := plan(); n != 0 {
			t.Fatalf("plan after activity: %d rows, want 0", n)
		}
		// A record appended later counts as activity too.
		f.clk.Set(T0.AddDate(2, 0, 0))
		f.record(t, a, "visits", `{}`, time.Time{})
		f.clk.Set(sixYears(T0.AddDate(1, 0, 0)))
		if r := f.sweep(t); r.FieldsDeleted+r.RecordsDeleted != 0 {
			t.Fatalf("sweep deleted %+v before the postponed time", r)
		}
		f.clk.Set(sixYears(T0.AddDate(2, 0, 0)))
		if r := f.sweep(t); r.FieldsDeleted != 2 || r.RecordsDeleted != 2 {
			t.Fatalf("sweep at the postponed time: %+v", r)
		}
	})
}

// TestLegalHoldBlocksSweep: a hold keeps exactly what it covers, by
// category, by collection, of one subject or of all; releasing it lets the
// sweep go on.
func TestLegalHoldBlocksSweep(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a, b := f.person(t, 1), f.person(t, 2)
		f.record(t, a, "visits", `{}`, T0)
		f.record(t, b, "visits", `{}`, T0)
		byPhone, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{SubjectID: a, Categories: []string{"user.contact.phone_number"}, Reason: "Case 12/2031"}, f.rby)
		if err != nil {
			t.Fatal(err)
		}
		visits, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{Collections: []string{"visits"}, Purpose: "service", Reason: "Tax audit 2031"}, f.rby)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Set(sixYears(T0))
		r := f.sweep(t)
		if r.Held != 3 || r.FieldsDeleted != 3 {
			t.Fatalf("sweep with holds: %+v, want 3 held (A's phone, two visits) and 3 deleted", r)
		}
		if got := f.fields(t, a); !eq(got, []string{"email", "name", "phone"}) {
			t.Errorf("A has %v: the held phone must stay, the nickname go", got)
		}
		if got := f.fields(t, b); !eq(got, []string{"email", "name"}) {
			t.Errorf("B has %v", got)
		}
		// Held past retention: only the hold's purpose may read it.
		v, err := f.vault.Get(bg, f.tenant, a, "service", f.by)
		if err != nil {
			t.Fatal(err)
		}
		// Past retention and held by a hold without a purpose: preserved,
		// usable for nothing.
		if _, ok := v.Fields["phone"]; ok {
			t.Error("held phone released past its retention")
		}
		found := false
		for _, w := range v.Withheld {
			if w.Field == "phone" {
				found = w.Reason == decide.LegalHoldOnly
			}
		}
		if !found {
			t.Errorf("phone not withheld as legal_hold_only: %+v", v.Withheld)
		}
		// Releasing A's hold sweeps A at once.
		if _, err := f.ret.ReleaseHold(bg, f.tenant, byPhone.ID, f.rby); err != nil {
			t.Fatal(err)
		}
		if got := f.fields(t, a); !eq(got, []string{"email", "name"}) {
			t.Errorf("after release A has %v", got)
		}
		if n := len(f.records(t, a, "visits")); n != 1 {
			t.Errorf("A's visits held by the tenant-wide hold: %d left, want 1", n)
		}
		// A hold of everything of every subject stops the sweep entirely.
		all, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{Reason: "Regulator investigation"}, f.rby)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ret.ReleaseHold(bg, f.tenant, visits.ID, f.rby); err != nil {
			t.Fatal(err)
		}
		if r := f.sweep(t); !r.TenantHold || r.RecordsDeleted != 0 {
			t.Fatalf("sweep under a hold of all data: %+v", r)
		}
		if _, err := f.ret.ReleaseHold(bg, f.tenant, all.ID, f.rby); err != nil {
			t.Fatal(err)
		}
		if r := f.sweep(t); r.RecordsDeleted != 2 {
			t.Fatalf("sweep after every hold ended: %+v", r)
		}
		// Every hold operation is audited, without the reason's text.
		for _, ev := range append(f.events(t, "legal_hold.create", ""), f.events(t, "legal_hold.release", "")...) {
			if strings.Contains(ev.Reason, "Case") || strings.Contains(ev.Reason, "Tax") {
				t.Errorf("hold reason text in the audit log: %q", ev.Reason)
			}
		}
		if n := len(f.events(t, "legal_hold.create", "")); n != 3 {
			t.Errorf("%d hold creations audited, want 3", n)
		}
	})
}

// TestHoldInput: holds name only what the policy declares.
func TestHoldInput(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		cases := []struct {
			name string
			in   retention.HoldInput
			want string
		}{
			{"no reason", retention.HoldInput{SubjectID: a}, "reason"},
			{"unknown category", retention.HoldInput{Reason: "x", Categories: []string{"user.nope"}}, "categories"},
			{"unknown collection", retention.HoldInput{Reason: "x", Collections: []string{"nope"}}, "collections"},
			{"unknown purpose", retention.HoldInput{Reason: "x", Purpose: "nope"}, "purpose"},
			{"past end", retention.HoldInput{Reason: "x", Until: T0.Add(-time.Hour)}, "until"},
		}
		for _, c := range cases {
			_, err := f.ret.CreateHold(bg, f.tenant, c.in, f.rby)
			var ie *retention.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, c.want) {
				t.Errorf("%s: err = %v, want an input error about %s", c.name, err, c.want)
			}
		}
		_, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{Reason: "x", SubjectID: store.NewID()}, f.rby)
		if !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("unknown subject: %v", err)
		}
		h, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{Reason: "x", SubjectID: a, Until: T0.Add(time.Hour)}, f.rby)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Add(2 * time.Hour)
		act, err := f.ret.ListHolds(bg, f.tenant, a, true)
		if err != nil || len(act) != 0 {
			t.Errorf("a hold past its end is not active: %v %v", act, err)
		}
		all, err := f.ret.ListHolds(bg, f.tenant, "", false)
		if err != nil || len(all) != 1 || all[0].ID != h.ID {
			t.Errorf("list all: %v %v", all, err)
		}
	})
}

// TestAnonymise: anonymised records leave counters per month and kept
// attribute, with nothing that points to a person, and the counts add up.
func TestAnonymise(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a, b := f.person(t, 1), f.person(t, 2)
		jan := T0
		feb := T0.AddDate(0, 1, 0)
		f.clk.Set(feb.Add(time.Hour))
		f.record(t, a, "entry_log", `{"entrance":"north","door":3,"name":"Person 1"}`, jan)
		f.record(t, a, "entry_log", `{"entrance":"north","door":4}`, jan.Add(time.Hour))
		f.record(t, b, "entry_log", `{"entrance":"south","visitor":{"name":"X"}}`, jan.Add(2*time.Hour))
		f.record(t, b, "entry_log", `{"door":1}`, feb)
		keep := f.record(t, b, "entry_log", `{"entrance":"north"}`, feb.Add(time.Hour))
		// 30 days after the February ones but not after the last.
		f.clk.Set(feb.AddDate(0, 0, 30).Add(30 * time.Minute))
		r := f.sweep(t)
		if r.RecordsAnonymised != 4 || r.RecordsDeleted != 0 || r.ByRule["log_30d"].Anonymised != 4 {
			t.Fatalf("sweep: %+v", r)
		}
		if got := f.records(t, b, "entry_log"); len(got) != 1 || got[0] != keep {
			t.Fatalf("B's entry log left: %v, want only the newest", got)
		}
		var counts []store.AnonymisedCount
		if err := f.st.Read(bg, func(tx store.Tx) (err error) { counts, err = tx.ListAnonymisedCounts(f.tenant, ""); return err }); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		var total int64
		for _, c := range counts {
			got[c.Period+" "+c.Attributes] = c.Total
			total += c.Total
			if c.Category != "user.entry_event" || c.Collection != "entry_log" {
				t.Errorf("counter %+v", c)
			}
			for _, bad := range []string{"Person", "door", "visitor", a, b} {
				if strings.Contains(c.Attributes, bad) {
					t.Errorf("counter keeps %q: %+v", bad, c)
				}
			}
		}
		want := map[string]int64{`2026-01 {"entrance":"north"}`: 2, `2026-01 {"entrance":"south"}`: 1, `2026-02 {}`: 1}
		if len(got) != len(want) || total != 4 {
			t.Fatalf("counters = %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("counter %s = %d, want %d", k, got[k], n)
			}
		}
		// The anonymise event says how many of which collection, no values.
		evs := f.events(t, "retention.expire", a)
		if len(evs) != 1 || !strings.Contains(evs[0].Reason, "rule log_30d: 2 record(s) of entry_log anonymised") {
			t.Errorf("audit: %+v", evs)
		}
	})
}

// TestImmediateRules: 0d rules act the moment their trigger happens, and an
// account that closes with nothing left to keep ends with its key destroyed.
func TestImmediateRules(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a, b := f.person(t, 1), f.person(t, 2)
		f.record(t, a, "visits", `{}`, T0)
		f.clk.Add(time.Hour)
		res, err := f.ret.SetTrigger(bg, f.tenant, a, policy.TriggerAccountClosed, f.clk.Now(), f.rby)
		if err != nil {
			t.Fatal(err)
		}
		// name and email follow "0d from account closure": gone before
		// SetTrigger returned, and with them the email identity.
		if res.Swept.FieldsDeleted != 2 {
			t.Fatalf("immediate sweep: %+v", res.Swept)
		}
		if got := f.fields(t, a); !eq(got, []string{"nickname", "phone"}) {
			t.Fatalf("A has %v after closing the account", got)
		}
		if id := f.lookup(t, "email", "person1@example.org"); id != "" {
			t.Errorf("closed account still found by email")
		}
		if s := f.subject(t, a); s.State != store.SubjectActive {
			t.Errorf("A is %s while data is still kept", s.State)
		}
		// A trigger in the future acts when it comes.
		if _, err := f.ret.SetTrigger(bg, f.tenant, b, policy.TriggerAccountClosed, f.clk.Now().Add(24*time.Hour), f.rby); err != nil {
			t.Fatal(err)
		}
		if got := f.fields(t, b); len(got) != 4 {
			t.Fatalf("B lost fields before its closure: %v", got)
		}
		f.clk.Add(24 * time.Hour)
		if r := f.sweep(t); r.FieldsDeleted != 2 {
			t.Fatalf("sweep at B's closure: %+v", r)
		}
		// Six years on, A's last data expires: A is erased and its key destroyed.
		f.clk.Set(sixYears(T0))
		r := f.sweep(t)
		if r.SubjectsErased != 2 {
			t.Fatalf("final sweep: %+v, want both subjects erased", r)
		}
		for _, id := range []string{a, b} {
			if s := f.subject(t, id); s.State != store.SubjectErased {
				t.Errorf("%s is %s", id, s.State)
			}
			if _, ok, err := f.keys.ShreddedAt(bg, f.tenant, id); err != nil || !ok {
				t.Errorf("key of %s not destroyed (%v)", id, err)
			}
			if _, err := f.keys.SubjectKey(bg, f.tenant, id); !errors.Is(err, keys.ErrShredded) {
				t.Errorf("key of %s: %v", id, err)
			}
			if evs := f.events(t, "retention.subject_erase", id); len(evs) != 1 {
				t.Errorf("%s: %d subject_erase events", id, len(evs))
			}
		}
		// Clearing or setting a trigger of an erased subject is refused.
		if _, err := f.ret.SetTrigger(bg, f.tenant, a, policy.TriggerContractEnd, f.clk.Now(), f.rby); !errors.Is(err, retention.ErrErased) {
			t.Errorf("trigger on an erased subject: %v", err)
		}
	})
}

// TestContractEnd: a rule counted from the contract end has no due time until
// the contract ends; setting the end gives one, clearing it takes it away.
func TestContractEnd(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		f.record(t, a, "content", `{"title":"x"}`, T0)
		dueIn := func(days int) int64 {
			p, err := f.ret.PlanFor(bg, f.tenant, days)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rules {
				if r.Rule == "contract_90d" {
					return r.Total
				}
			}
			return -1
		}
		if n := dueIn(3650); n != 0 {
			t.Fatalf("content due before any contract end: %d", n)
		}
		end := T0.AddDate(0, 1, 0)
		if _, err := f.ret.SetTrigger(bg, f.tenant, a, policy.TriggerContractEnd, end, f.rby); err != nil {
			t.Fatal(err)
		}
		days := int(end.AddDate(0, 0, 90).Sub(T0) / (24 * time.Hour))
		if n, m := dueIn(days-1), dueIn(days); n != 0 || m != 1 {
			t.Fatalf("due within %d days: %d, within %d: %d; want 0 then 1", days-1, n, days, m)
		}
		if _, err := f.ret.SetTrigger(bg, f.tenant, a, policy.TriggerContractEnd, time.Time{}, f.rby); err != nil {
			t.Fatal(err)
		}
		if n := dueIn(3650); n != 0 {
			t.Fatalf("content still due after the contract end was cleared: %d", n)
		}
		if s := f.subject(t, a); !s.ContractEndAt.IsZero() {
			t.Errorf("contract end not cleared: %v", s.ContractEndAt)
		}
		if evs := f.events(t, "subject.contract_end", a); len(evs) != 2 || evs[1].Reason != "cleared" {
			t.Errorf("audit: %+v", evs)
		}
	})
}

// TestErasureKeepsByLawThenSweeps: an erasure keeps what the law requires and
// what a hold keeps; the sweep deletes each when its reason ends, and
// destroys the key when the last of it goes.
func TestErasureKeepsByLawThenSweeps(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		inv := f.record(t, a, "invoices", `{"amount":100}`, T0)
		f.record(t, a, "visits", `{}`, T0)
		f.record(t, a, "entry_log", `{"entrance":"north"}`, T0)
		hold, err := f.ret.CreateHold(bg, f.tenant, retention.HoldInput{SubjectID: a, Collections: []string{"visits"}, Reason: "Claim"}, f.rby)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Add(time.Hour)
		e, err := f.vault.Erase(bg, f.tenant, a, f.by)
		if err != nil {
			t.Fatal(err)
		}
		if e.KeyDestroyed || len(e.Kept) != 2 {
			t.Fatalf("erase: %+v, want invoices and visits kept", e)
		}
		// The hold still holds the visits; they are due now and held.
		if r := f.sweep(t); r.Held != 1 || r.RecordsDeleted+r.RecordsAnonymised != 0 {
			t.Fatalf("sweep under the hold: %+v", r)
		}
		// Released: the visits go (deleted as the erasure would, even
		// though the visit rule is not over), the invoice stays for the law.
		if _, err := f.ret.ReleaseHold(bg, f.tenant, hold.ID, f.rby); err != nil {
			t.Fatal(err)
		}
		if n := len(f.records(t, a, "visits")); n != 0 {
			t.Fatalf("visits left after the hold ended: %d", n)
		}
		if got := f.records(t, a, "invoices"); len(got) != 1 || got[0] != inv {
			t.Fatalf("invoice gone early: %v", got)
		}
		if _, ok, _ := f.keys.ShreddedAt(bg, f.tenant, a); ok {
			t.Fatal("key destroyed while the invoice is kept")
		}
		// Ten years after collection the law's period ends.
		f.clk.Set(T0.AddDate(10, 0, 0))
		r := f.sweep(t)
		if r.RecordsDeleted != 1 || r.ByRule["tax_10y"].Deleted != 1 || r.SubjectsErased != 1 {
			t.Fatalf("sweep at the end of the legal period: %+v", r)
		}
		if _, ok, _ := f.keys.ShreddedAt(bg, f.tenant, a); !ok {
			t.Fatal("key not destroyed after the last kept data went")
		}
	})
}

// TestChildren: accounts below the minimum age without parental consent are
// erased by the sweep (children.action erase), audited; the others stay.
func TestChildren(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		minor := f.person(t, 1, func(in *vault.CreateInput) { in.Minor = true })
		consented := f.person(t, 2, func(in *vault.CreateInput) { in.Minor, in.ParentalConsent = true, true })
		adult := f.person(t, 3)
		p, err := f.ret.PlanFor(bg, f.tenant, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Children == nil || p.Children.Count != 1 || p.Children.Subjects[0] != minor || p.Children.Action != "erase" {
			t.Fatalf("plan children: %+v", p.Children)
		}
		r := f.sweep(t)
		if r.MinorsErased != 1 {
			t.Fatalf("sweep: %+v", r)
		}
		if s := f.subject(t, minor); s.State != store.SubjectErased {
			t.Errorf("minor is %s", s.State)
		}
		if _, err := f.keys.SubjectKey(bg, f.tenant, minor); !errors.Is(err, keys.ErrShredded) {
			t.Errorf("minor's key: %v", err)
		}
		for _, id := range []string{consented, adult} {
			if s := f.subject(t, id); s.State != store.SubjectActive || len(f.fields(t, id)) != 4 {
				t.Errorf("%s touched: %+v", id, s)
			}
		}
		evs := f.events(t, "retention.minor_erase", minor)
		if len(evs) != 1 || !strings.Contains(evs[0].Reason, "minimum age (16)") {
			t.Errorf("audit: %+v", evs)
		}
		if r := f.sweep(t); r.MinorsErased != 0 {
			t.Errorf("second sweep erased again: %+v", r)
		}
	})
}

// TestChildrenFlag: with children.action flag nobody is erased; the plan
// lists them for review and the sweep counts them.
func TestChildrenFlag(t *testing.T) {
	forEnginesWith(t, flagPolicy(t), func(t *testing.T, f *fixture) {
		minor := f.person(t, 1, func(in *vault.CreateInput) { in.Minor = true })
		r := f.sweep(t)
		if r.MinorsErased != 0 || r.MinorsFlagged != 1 {
			t.Fatalf("sweep: %+v", r)
		}
		if s := f.subject(t, minor); s.State != store.SubjectActive {
			t.Fatalf("flagged minor is %s", s.State)
		}
		p, err := f.ret.PlanFor(bg, f.tenant, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Children == nil || p.Children.Action != "flag" || p.Children.Count != 1 {
			t.Fatalf("plan: %+v", p.Children)
		}
	})
}

// flagPolicy writes the test policy with children.action flag.
func flagPolicy(t *testing.T) string {
	return variant(t, "flag.yaml", "  action: erase\n", "  action: flag\n")
}

// variant writes a copy of the test policy with one replacement.
func variant(t *testing.T, name, old, new string) string {
	t.Helper()
	src := readFile(t, "testdata/policy.yaml")
	if !strings.Contains(src, old) {
		t.Fatalf("test policy lacks %q", old)
	}
	path := t.TempDir() + "/" + name
	writeFile(t, path, strings.Replace(src, old, new, 1))
	return path
}

// TestPolicyChangeRecomputes: a new policy version that shortens a rule
// moves the stored due times in the next sweep, before it acts; the plan
// says a recompute is pending until then.
func TestPolicyChangeRecomputes(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		f.record(t, a, "visits", `{}`, T0)
		f.sweep(t)
		f.clk.Set(T0.AddDate(2, 0, 0))
		f.apply(t, variant(t, "short.yaml", "    duration: 6y\n", "    duration: 2y\n"))
		p, err := f.ret.PlanFor(bg, f.tenant, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !p.RecomputePending {
			t.Fatal("plan does not say a recompute is pending")
		}
		r := f.sweep(t)
		if r.Recomputed != 3 || r.FieldsDeleted != 2 || r.RecordsDeleted != 1 {
			t.Fatalf("sweep after the change: %+v, want 3 rows recomputed and deleted", r)
		}
		// A change that does not touch retention needs no recompute.
		f.apply(t, variant(t, "same.yaml", "We encrypt your data", "We encrypt all your data"))
		if r := f.sweep(t); r.Recomputed != 0 {
			t.Fatalf("recomputed %d rows for a change without retention", r.Recomputed)
		}
	})
}

// TestBackfill: rows written before due times existed (NULL) get them from
// the first sweep's recompute and are then swept.
func TestBackfill(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		f.record(t, a, "visits", `{}`, T0)
		// As the migration leaves them: no due times, no state.
		err := f.st.Write(bg, func(tx store.Tx) error {
			return tx.SetSubjectExpiry(f.tenant, a, []string{"name", "email", "phone", "nickname"}, []string{"visits"}, time.Time{})
		})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Set(sixYears(T0))
		r := f.sweep(t)
		if r.Recomputed != 3 || r.FieldsDeleted != 2 || r.RecordsDeleted != 1 {
			t.Fatalf("first sweep: %+v", r)
		}
	})
}

// TestPlan groups what is due by rule and reads stored due times only.
func TestPlan(t *testing.T) {
	forEngines(t, func(t *testing.T, f *fixture) {
		a := f.person(t, 1)
		f.person(t, 2)
		f.record(t, a, "entry_log", `{}`, T0)
		f.record(t, a, "invoices", `{}`, T0)
		p, err := f.ret.PlanFor(bg, f.tenant, 31)
		if err != nil {
			t.Fatal(err)
		}
		byRule := map[string]retention.PlanRule{}
		for _, r := range p.Rules {
			byRule[r.Rule] = r
		}
		if r := byRule["log_30d"]; r.Total != 1 || r.Action != "anonymise" || len(r.Collections) != 1 || r.Collections[0].Name != "entry_log" {
			t.Errorf("log_30d: %+v", r)
		}
		if r := byRule["activity_6y"]; r.Total != 0 {
			t.Errorf("activity_6y within 31 days: %+v", r)
		}
		if r := byRule["tax_10y"]; r.KeptByLaw == "" || r.Total != 0 {
			t.Errorf("tax_10y: %+v", r)
		}
		p, err = f.ret.PlanFor(bg, f.tenant, 6*366)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rules {
			if r.Rule == "activity_6y" && (r.Total != 4 || len(r.Fields) != 2) {
				t.Errorf("activity_6y within six years: %+v", r)
			}
		}
		if _, err := f.ret.PlanFor(bg, f.tenant, -1); err == nil {
			t.Error("negative days accepted")
		}
		out, _ := json.Marshal(p)
		if strings.Contains(string(out), "example.org") {
			t.Errorf("plan holds personal data: %s", out)
		}
	})
}
