package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"ControlsRestrictions", testRestrictions},
		{"ControlsRestrictionInvalid", testRestrictionInvalid},
		{"ControlsObjections", testObjections},
		{"ControlsObjectionResolve", testObjectionResolve},
		{"ControlsLegalHolds", testLegalHolds},
		{"ControlsConsentLedger", testConsentLedger},
		{"ControlsConsentInvalid", testConsentInvalid},
		{"ControlsConsentLatest", testConsentLatest},
		{"ControlsConsentBrowserLink", testConsentBrowserLink},
		{"ControlsSubjectControls", testSubjectControls},
		{"ControlsTenantScope", testControlsTenantScope},
		{"ControlsExpectedErrorsKeepTx", testControlsExpectedErrorsKeepTx},
		{"ControlsReadOnly", testControlsReadOnly},
		{"ControlsConsentConcurrent", testConsentConcurrent},
	})
}

// ctlSubject inserts a bare active subject (no identities, no fields) and
// returns its id: enough for tests that only reference one.
func ctlSubject(t testing.TB, s store.Store, tenantID string) string {
	t.Helper()
	id := store.NewID()
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(store.Subject{TenantID: tenantID, ID: id, State: store.SubjectActive, CreatedAt: t0}, nil, nil)
	})
	return id
}

// ctlFixture is a tenant with two subjects, for the controls tests.
type ctlFixture struct {
	tn   store.Tenant
	a, b string
}

func newCtlFixture(t *testing.T, s store.Store, slug string) ctlFixture {
	tn := NewTenant(t, s, slug)
	return ctlFixture{tn: tn, a: ctlSubject(t, s, tn.ID), b: ctlSubject(t, s, tn.ID)}
}

func (f ctlFixture) restriction(subject string, at time.Time) store.Restriction {
	return store.Restriction{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: subject,
		Categories: []string{"user.contact", "user.name"}, Ground: store.GroundAccuracyContested,
		Reason: "contests the address", AllowedPurposes: []string{"legal_claims"}, RequestID: "req-1",
		Actor: "apikey:test", CreatedAt: at}
}

func (f ctlFixture) objection(subject, purpose, kind string, at time.Time) store.Objection {
	return store.Objection{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: subject, Purpose: purpose,
		Kind: kind, Reason: "grounds", Actor: "subject", CreatedAt: at}
}

func (f ctlFixture) hold(subject string, at time.Time) store.LegalHold {
	return store.LegalHold{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: subject,
		Categories: []string{"user.financial"}, Collections: []string{"orders"}, Purpose: "bookkeeping",
		Reason: "Bookkeeping Act s. 13", Actor: "dpo", CreatedAt: at}
}

func (f ctlFixture) consent(subject, purpose, kind string, at time.Time) store.ConsentEvent {
	e := store.ConsentEvent{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: subject, Purpose: purpose, Kind: kind,
		PolicyVersion: 3, PolicyHash: "sha256:abc", Method: store.MethodBanner, TextHash: "sha256:text",
		IPHash: "hmac:ip", UserAgent: "Mozilla/5.0", PageURL: "https://example.com/", Source: "site:main",
		Actor: "subject", At: at}
	if kind == store.ConsentGiven {
		e.ExpiresAt = at.Add(365 * 24 * time.Hour)
	}
	return e
}

// normRestriction, normObjection, normHold and normEvent put a value in the
// form it has after a round trip: times in UTC microseconds, empty lists nil.
func ctlNormRestriction(r store.Restriction) store.Restriction {
	r.CreatedAt, r.LiftedAt = ctlUTC(r.CreatedAt), ctlUTC(r.LiftedAt)
	r.Categories, r.AllowedPurposes = ctlNil(r.Categories), ctlNil(r.AllowedPurposes)
	return r
}

func ctlNormObjection(o store.Objection) store.Objection {
	o.CreatedAt, o.ResolvedAt = ctlUTC(o.CreatedAt), ctlUTC(o.ResolvedAt)
	return o
}

func ctlNormHold(h store.LegalHold) store.LegalHold {
	h.CreatedAt, h.Until, h.ReleasedAt = ctlUTC(h.CreatedAt), ctlUTC(h.Until), ctlUTC(h.ReleasedAt)
	h.Categories, h.Collections = ctlNil(h.Categories), ctlNil(h.Collections)
	return h
}

func ctlNormEvent(e store.ConsentEvent) store.ConsentEvent {
	e.At, e.ExpiresAt, e.LinkedAt = ctlUTC(e.At), ctlUTC(e.ExpiresAt), ctlUTC(e.LinkedAt)
	e.RecordedAt = time.Time{}
	return e
}

func ctlUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return us(t)
}

func ctlNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func ctlEqRestriction(a, b store.Restriction) bool {
	a, b = ctlNormRestriction(a), ctlNormRestriction(b)
	return a.TenantID == b.TenantID && a.ID == b.ID && a.SubjectID == b.SubjectID && slices.Equal(a.Categories, b.Categories) &&
		a.Ground == b.Ground && a.Reason == b.Reason && slices.Equal(a.AllowedPurposes, b.AllowedPurposes) &&
		a.RequestID == b.RequestID && a.Actor == b.Actor && a.CreatedAt.Equal(b.CreatedAt) && a.LiftedAt.Equal(b.LiftedAt)
}

func ctlEqHold(a, b store.LegalHold) bool {
	a, b = ctlNormHold(a), ctlNormHold(b)
	return a.TenantID == b.TenantID && a.ID == b.ID && a.SubjectID == b.SubjectID && slices.Equal(a.Categories, b.Categories) &&
		slices.Equal(a.Collections, b.Collections) && a.Purpose == b.Purpose && a.Reason == b.Reason && a.Actor == b.Actor &&
		a.Until.Equal(b.Until) && a.CreatedAt.Equal(b.CreatedAt) && a.ReleasedAt.Equal(b.ReleasedAt)
}

func ctlIDs[T any](list []T, id func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = id(x)
	}
	return out
}

func ctlRestrictionID(r store.Restriction) string { return r.ID }
func ctlObjectionID(o store.Objection) string     { return o.ID }
func ctlHoldID(h store.LegalHold) string          { return h.ID }
func ctlEventID(e store.ConsentEvent) string      { return e.ID }
func ctlStateLine(c store.ConsentState) string    { return c.Purpose + "=" + c.Kind + "@" + c.EventID }

func testRestrictions(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "r")
	r1 := f.restriction(f.a, t0)
	r2 := f.restriction(f.a, t0.Add(time.Hour))
	r2.Categories, r2.AllowedPurposes, r2.Ground = nil, nil, store.GroundObjectionPending
	rb := f.restriction(f.b, t0)
	write(t, s, func(tx store.Tx) error {
		for _, r := range []store.Restriction{r1, r2, rb} {
			if err := tx.AddRestriction(r); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRestriction(f.tn.ID, r1.ID)
		if err != nil {
			return err
		}
		if !ctlEqRestriction(got, r1) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("GetRestriction = %+v, want %+v", got, ctlNormRestriction(r1))
		}
		list, err := tx.ListRestrictions(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		if want := []string{r2.ID, r1.ID}; !slices.Equal(ctlIDs(list, ctlRestrictionID), want) {
			t.Errorf("ListRestrictions = %v, want newest first %v", ctlIDs(list, ctlRestrictionID), want)
		}
		if len(list) == 2 && (list[0].Categories != nil || list[0].AllowedPurposes != nil) {
			t.Errorf("empty lists read back as %q and %q, want nil", list[0].Categories, list[0].AllowedPurposes)
		}
		return nil
	})

	lift := t0.Add(2 * time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.LiftRestriction(f.tn.ID, r1.ID, lift) })
	write(t, s, func(tx store.Tx) error { return tx.LiftRestriction(f.tn.ID, r1.ID, lift.Add(time.Hour)) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRestriction(f.tn.ID, r1.ID)
		if err == nil && !got.LiftedAt.Equal(us(lift)) {
			t.Errorf("LiftedAt = %v after lifting twice, want the first time %v", got.LiftedAt, us(lift))
		}
		return err
	})

	cases := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate id", func(tx store.Tx) error { return tx.AddRestriction(r1) }, store.ErrConflict},
		{"unknown subject", func(tx store.Tx) error { return tx.AddRestriction(f.restriction(store.NewID(), t0)) }, store.ErrNotFound},
		{"unknown tenant", func(tx store.Tx) error {
			r := f.restriction(f.a, t0)
			r.TenantID = store.NewID()
			return tx.AddRestriction(r)
		}, store.ErrNotFound},
		{"lift unknown", func(tx store.Tx) error { return tx.LiftRestriction(f.tn.ID, store.NewID(), lift) }, store.ErrNotFound},
		{"lift at zero time", func(tx store.Tx) error { return tx.LiftRestriction(f.tn.ID, r2.ID, time.Time{}) }, store.ErrInvalid},
		{"get unknown", func(tx store.Tx) error { _, err := tx.GetRestriction(f.tn.ID, store.NewID()); return err }, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, s.Write(ctx(t), c.fn), c.want) })
	}
}

func testRestrictionInvalid(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "ri")
	cases := []struct {
		name   string
		modify func(*store.Restriction)
	}{
		{"empty id", func(r *store.Restriction) { r.ID = "" }},
		{"empty subject", func(r *store.Restriction) { r.SubjectID = "" }},
		{"empty tenant", func(r *store.Restriction) { r.TenantID = "" }},
		{"unknown ground", func(r *store.Restriction) { r.Ground = "because" }},
		{"empty ground", func(r *store.Restriction) { r.Ground = "" }},
		{"empty category", func(r *store.Restriction) { r.Categories = []string{"user", ""} }},
		{"category with comma", func(r *store.Restriction) { r.Categories = []string{"user.a,user.b"} }},
		{"category with space", func(r *store.Restriction) { r.Categories = []string{"user a"} }},
		{"purpose with comma", func(r *store.Restriction) { r.AllowedPurposes = []string{"a,b"} }},
		{"too many categories", func(r *store.Restriction) { r.Categories = slices.Repeat([]string{"user"}, 257) }},
		{"already lifted", func(r *store.Restriction) { r.LiftedAt = t0 }},
		{"reason too long", func(r *store.Restriction) { r.Reason = strings.Repeat("x", 5000) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.restriction(f.a, t0)
			c.modify(&r)
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.AddRestriction(r) }), store.ErrInvalid)
		})
	}
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListRestrictions(f.tn.ID, f.a)
		if err == nil && len(list) != 0 {
			t.Errorf("%d restrictions after invalid inserts", len(list))
		}
		return err
	})
}

func testObjections(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "o")
	dm := f.objection(f.a, "", store.ObjectDirectMarketing, t0)
	li := f.objection(f.a, "fraud_prevention", store.ObjectLegitimateInterest, t0.Add(time.Minute))
	pt := f.objection(f.a, "statistics", store.ObjectPublicTask, t0.Add(2*time.Minute))
	pt.Status = store.ObjectionUpheld // accepted at once
	write(t, s, func(tx store.Tx) error {
		for _, o := range []store.Objection{dm, li, pt} {
			if err := tx.AddObjection(o); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListObjections(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		if want := []string{pt.ID, li.ID, dm.ID}; !slices.Equal(ctlIDs(list, ctlObjectionID), want) {
			t.Fatalf("ListObjections = %v, want %v", ctlIDs(list, ctlObjectionID), want)
		}
		want := []struct {
			status   string
			resolved time.Time
		}{{store.ObjectionUpheld, us(pt.CreatedAt)}, {store.ObjectionPending, time.Time{}}, {store.ObjectionUpheld, us(dm.CreatedAt)}}
		for i, o := range list {
			if o.Status != want[i].status || !o.ResolvedAt.Equal(want[i].resolved) {
				t.Errorf("objection %d (%s): status %q resolved %v, want %q %v", i, o.Kind, o.Status, o.ResolvedAt, want[i].status, want[i].resolved)
			}
		}
		got, err := tx.GetObjection(f.tn.ID, li.ID)
		if err != nil {
			return err
		}
		li.Status = store.ObjectionPending
		if ctlNormObjection(got) != ctlNormObjection(li) {
			t.Errorf("GetObjection = %+v, want %+v", got, ctlNormObjection(li))
		}
		return nil
	})

	bad := []struct {
		name   string
		modify func(*store.Objection)
		want   error
	}{
		{"direct marketing pending", func(o *store.Objection) { o.Kind, o.Status = store.ObjectDirectMarketing, store.ObjectionPending }, store.ErrInvalid},
		{"insert overridden", func(o *store.Objection) { o.Status = store.ObjectionOverridden }, store.ErrInvalid},
		{"insert withdrawn", func(o *store.Objection) { o.Status = store.ObjectionWithdrawn }, store.ErrInvalid},
		{"unknown status", func(o *store.Objection) { o.Status = "maybe" }, store.ErrInvalid},
		{"unknown kind", func(o *store.Objection) { o.Kind = "profiling" }, store.ErrInvalid},
		{"purpose with space", func(o *store.Objection) { o.Purpose = "a b" }, store.ErrInvalid},
		{"empty id", func(o *store.Objection) { o.ID = "" }, store.ErrInvalid},
		{"unknown subject", func(o *store.Objection) { o.SubjectID = store.NewID() }, store.ErrNotFound},
		{"duplicate id", func(o *store.Objection) { o.ID = dm.ID }, store.ErrConflict},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			o := f.objection(f.b, "x", store.ObjectLegitimateInterest, t0)
			c.modify(&o)
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.AddObjection(o) }), c.want)
		})
	}
}

func testObjectionResolve(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "or")
	at := t0.Add(24 * time.Hour)
	cases := []struct {
		name    string
		kind    string
		initial string // status on insert
		steps   []string
		want    []error // per step
	}{
		{"pending to upheld", store.ObjectLegitimateInterest, store.ObjectionPending, []string{store.ObjectionUpheld}, []error{nil}},
		{"pending to overridden", store.ObjectLegitimateInterest, store.ObjectionPending, []string{store.ObjectionOverridden}, []error{nil}},
		{"pending to withdrawn", store.ObjectPublicTask, store.ObjectionPending, []string{store.ObjectionWithdrawn}, []error{nil}},
		{"upheld to withdrawn", store.ObjectLegitimateInterest, store.ObjectionUpheld, []string{store.ObjectionWithdrawn}, []error{nil}},
		{"upheld to overridden", store.ObjectLegitimateInterest, store.ObjectionUpheld, []string{store.ObjectionOverridden}, []error{store.ErrConflict}},
		{"overridden is final", store.ObjectLegitimateInterest, store.ObjectionPending, []string{store.ObjectionOverridden, store.ObjectionUpheld}, []error{nil, store.ErrConflict}},
		{"withdrawn is final", store.ObjectLegitimateInterest, store.ObjectionPending, []string{store.ObjectionWithdrawn, store.ObjectionWithdrawn}, []error{nil, store.ErrConflict}},
		{"direct marketing withdrawn", store.ObjectDirectMarketing, "", []string{store.ObjectionWithdrawn}, []error{nil}},
		{"direct marketing never overridden", store.ObjectDirectMarketing, "", []string{store.ObjectionOverridden}, []error{store.ErrInvalid}},
		{"to pending", store.ObjectLegitimateInterest, store.ObjectionPending, []string{store.ObjectionPending}, []error{store.ErrInvalid}},
		{"to unknown", store.ObjectLegitimateInterest, store.ObjectionPending, []string{"dismissed"}, []error{store.ErrInvalid}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := f.objection(f.a, "", c.kind, t0)
			o.Status = c.initial
			write(t, s, func(tx store.Tx) error { return tx.AddObjection(o) })
			want := c.initial
			if want == "" {
				want = store.ObjectionUpheld
			}
			for i, st := range c.steps {
				err := s.Write(ctx(t), func(tx store.Tx) error {
					return tx.ResolveObjection(f.tn.ID, o.ID, st, "assessed", at.Add(time.Duration(i)*time.Hour))
				})
				if c.want[i] == nil {
					if err != nil {
						t.Fatalf("step %d (%s): %v", i, st, err)
					}
					want = st
				} else {
					wantErr(t, err, c.want[i])
				}
			}
			read(t, s, func(tx store.Tx) error {
				got, err := tx.GetObjection(f.tn.ID, o.ID)
				if err == nil && got.Status != want {
					t.Errorf("status %q, want %q", got.Status, want)
				}
				if err == nil && want != c.initial && want != store.ObjectionUpheld && (got.Resolution != "assessed" || got.ResolvedAt.IsZero()) {
					t.Errorf("resolution %q at %v not recorded", got.Resolution, got.ResolvedAt)
				}
				return err
			})
		})
	}
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error {
		return tx.ResolveObjection(f.tn.ID, store.NewID(), store.ObjectionUpheld, "", at)
	}), store.ErrNotFound)
}

func testLegalHolds(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "h")
	ha := f.hold(f.a, t0)
	ha.Until = t0.Add(48 * time.Hour)
	wide := f.hold("", t0.Add(time.Minute))
	wide.Categories, wide.Collections, wide.Purpose = nil, nil, ""
	hb := f.hold(f.b, t0.Add(2*time.Minute))
	write(t, s, func(tx store.Tx) error {
		for _, h := range []store.LegalHold{ha, wide, hb} {
			if err := tx.AddLegalHold(h); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetLegalHold(f.tn.ID, ha.ID)
		if err != nil {
			return err
		}
		if !ctlEqHold(got, ha) {
			t.Errorf("GetLegalHold = %+v, want %+v", got, ctlNormHold(ha))
		}
		list, err := tx.ListLegalHolds(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		if want := []string{wide.ID, ha.ID}; !slices.Equal(ctlIDs(list, ctlHoldID), want) {
			t.Errorf("ListLegalHolds(a) = %v, want the tenant-wide and a's %v", ctlIDs(list, ctlHoldID), want)
		}
		all, err := tx.ListLegalHolds(f.tn.ID, "")
		if err == nil && !slices.Equal(ctlIDs(all, ctlHoldID), []string{hb.ID, wide.ID, ha.ID}) {
			t.Errorf("ListLegalHolds(all) = %v", ctlIDs(all, ctlHoldID))
		}
		return err
	})
	rel := t0.Add(time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.ReleaseLegalHold(f.tn.ID, wide.ID, rel) })
	write(t, s, func(tx store.Tx) error { return tx.ReleaseLegalHold(f.tn.ID, wide.ID, rel.Add(time.Hour)) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetLegalHold(f.tn.ID, wide.ID)
		if err == nil && !got.ReleasedAt.Equal(us(rel)) {
			t.Errorf("ReleasedAt = %v, want the first release %v", got.ReleasedAt, us(rel))
		}
		return err
	})

	cases := []struct {
		name   string
		modify func(*store.LegalHold)
		want   error
	}{
		{"no reason", func(h *store.LegalHold) { h.Reason = " " }, store.ErrInvalid},
		{"until before creation", func(h *store.LegalHold) { h.Until = h.CreatedAt.Add(-time.Second) }, store.ErrInvalid},
		{"until at creation", func(h *store.LegalHold) { h.Until = h.CreatedAt }, store.ErrInvalid},
		{"already released", func(h *store.LegalHold) { h.ReleasedAt = t0 }, store.ErrInvalid},
		{"collection with comma", func(h *store.LegalHold) { h.Collections = []string{"a,b"} }, store.ErrInvalid},
		{"purpose with space", func(h *store.LegalHold) { h.Purpose = "a b" }, store.ErrInvalid},
		{"empty id", func(h *store.LegalHold) { h.ID = "" }, store.ErrInvalid},
		{"unknown subject", func(h *store.LegalHold) { h.SubjectID = store.NewID() }, store.ErrNotFound},
		{"unknown tenant, tenant-wide", func(h *store.LegalHold) { h.TenantID, h.SubjectID = store.NewID(), "" }, store.ErrNotFound},
		{"duplicate id", func(h *store.LegalHold) { h.ID = ha.ID }, store.ErrConflict},
		{"duplicate id, tenant-wide", func(h *store.LegalHold) { h.ID, h.SubjectID = wide.ID, "" }, store.ErrConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := f.hold(f.a, t0)
			c.modify(&h)
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.AddLegalHold(h) }), c.want)
		})
	}
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.ReleaseLegalHold(f.tn.ID, store.NewID(), rel) }), store.ErrNotFound)
}

func testConsentLedger(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "c")
	e1 := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
	e2 := f.consent(f.a, "newsletter", store.ConsentWithdrawn, t0.Add(time.Hour))
	e2.Method = store.MethodUnsubscribe
	e3 := f.consent(f.a, "analytics", store.ConsentGiven, t0.Add(2*time.Hour))
	e3.ExpiresAt = time.Time{}
	before := time.Now()
	write(t, s, func(tx store.Tx) error {
		for _, e := range []store.ConsentEvent{e1, e2, e3} {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetConsentEvent(f.tn.ID, e1.ID)
		if err != nil {
			return err
		}
		if got.RecordedAt.Before(before.Add(-time.Second)) || got.RecordedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("RecordedAt = %v, want about now", got.RecordedAt)
		}
		if ctlNormEvent(got) != ctlNormEvent(e1) {
			t.Errorf("GetConsentEvent = %+v\nwant %+v", ctlNormEvent(got), ctlNormEvent(e1))
		}
		hist, err := tx.ConsentHistory(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		if want := []string{e3.ID, e2.ID, e1.ID}; !slices.Equal(ctlIDs(hist, ctlEventID), want) {
			t.Errorf("ConsentHistory = %v, want newest first %v", ctlIDs(hist, ctlEventID), want)
		}
		cur, err := tx.CurrentConsents(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		want := []string{"analytics=given@" + e3.ID, "newsletter=withdrawn@" + e2.ID}
		if got := ctlIDs(cur, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("CurrentConsents = %v, want %v", got, want)
		}
		if len(cur) == 2 && (cur[0].PolicyVersion != 3 || cur[0].PolicyHash != "sha256:abc" || !cur[0].At.Equal(us(e3.At)) ||
			!cur[0].ExpiresAt.IsZero() || cur[1].Method != store.MethodUnsubscribe) {
			t.Errorf("consent states carry %+v", cur)
		}
		none, err := tx.CurrentConsents(f.tn.ID, f.b)
		if err == nil && len(none) != 0 {
			t.Errorf("subject without events has states %+v", none)
		}
		return err
	})
	// A zero At is the time of recording.
	e4 := f.consent(f.b, "newsletter", store.ConsentWithdrawn, time.Time{})
	write(t, s, func(tx store.Tx) error { return tx.AppendConsent(e4) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetConsentEvent(f.tn.ID, e4.ID)
		if err == nil && !got.At.Equal(got.RecordedAt) {
			t.Errorf("At = %v, RecordedAt = %v; want equal for a zero At", got.At, got.RecordedAt)
		}
		return err
	})
}

func testConsentInvalid(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "ci")
	cases := []struct {
		name   string
		modify func(*store.ConsentEvent)
		want   error
	}{
		{"no subject nor browser", func(e *store.ConsentEvent) { e.SubjectID = "" }, store.ErrInvalid},
		{"empty id", func(e *store.ConsentEvent) { e.ID = "" }, store.ErrInvalid},
		{"empty purpose", func(e *store.ConsentEvent) { e.Purpose = "" }, store.ErrInvalid},
		{"unknown kind", func(e *store.ConsentEvent) { e.Kind = "maybe" }, store.ErrInvalid},
		{"unknown method", func(e *store.ConsentEvent) { e.Method = "telepathy" }, store.ErrInvalid},
		{"empty method", func(e *store.ConsentEvent) { e.Method = "" }, store.ErrInvalid},
		{"negative version", func(e *store.ConsentEvent) { e.PolicyVersion = -1 }, store.ErrInvalid},
		{"raw IPv4", func(e *store.ConsentEvent) { e.IPHash = "192.0.2.10" }, store.ErrInvalid},
		{"raw IPv6", func(e *store.ConsentEvent) { e.IPHash = "2001:db8::1" }, store.ErrInvalid},
		{"raw IPv6 in brackets", func(e *store.ConsentEvent) { e.IPHash = "[2001:db8::1]" }, store.ErrInvalid},
		{"raw IP with port", func(e *store.ConsentEvent) { e.IPHash = "192.0.2.10:443" }, store.ErrInvalid},
		{"withdrawal that expires", func(e *store.ConsentEvent) { e.Kind = store.ConsentWithdrawn }, store.ErrInvalid},
		{"expiry before the event", func(e *store.ConsentEvent) { e.ExpiresAt = e.At.Add(-time.Hour) }, store.ErrInvalid},
		{"recorded time given", func(e *store.ConsentEvent) { e.RecordedAt = t0 }, store.ErrInvalid},
		{"linked time given", func(e *store.ConsentEvent) { e.LinkedAt = t0 }, store.ErrInvalid},
		{"user agent too long", func(e *store.ConsentEvent) { e.UserAgent = strings.Repeat("x", 5000) }, store.ErrInvalid},
		{"browser id too long", func(e *store.ConsentEvent) { e.BrowserID = strings.Repeat("b", 200) }, store.ErrInvalid},
		{"unknown subject", func(e *store.ConsentEvent) { e.SubjectID = store.NewID() }, store.ErrNotFound},
		{"unknown tenant, browser only", func(e *store.ConsentEvent) { e.TenantID, e.SubjectID, e.BrowserID = store.NewID(), "", "b1" }, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
			c.modify(&e)
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.AppendConsent(e) }), c.want)
		})
	}
	e := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
	write(t, s, func(tx store.Tx) error { return tx.AppendConsent(e) })
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.AppendConsent(e) }), store.ErrConflict)
	wantErr(t, s.Read(ctx(t), func(tx store.Tx) error { _, err := tx.CurrentConsents(f.tn.ID, ""); return err }), store.ErrInvalid)
	wantErr(t, s.Read(ctx(t), func(tx store.Tx) error { _, err := tx.ConsentHistory(f.tn.ID, ""); return err }), store.ErrInvalid)
	wantErr(t, s.Read(ctx(t), func(tx store.Tx) error { _, err := tx.GetConsentEvent(f.tn.ID, store.NewID()); return err }), store.ErrNotFound)
}

// testConsentLatest pins down "latest": the greatest (At, id), whatever the
// order of recording.
func testConsentLatest(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "cl")
	at := t0.Add(10 * time.Hour)
	// Recorded first: an online withdrawal.
	w := f.consent(f.a, "newsletter", store.ConsentWithdrawn, at)
	// Recorded later: a paper consent signed the day before. The
	// withdrawal is the person's latest choice and stays current.
	paper := f.consent(f.a, "newsletter", store.ConsentGiven, at.Add(-24*time.Hour))
	paper.Method = store.MethodPaper
	// Two events at the same instant: the later id (recorded later) wins.
	g1 := f.consent(f.a, "analytics", store.ConsentGiven, at)
	g2 := f.consent(f.a, "analytics", store.ConsentWithdrawn, at)
	// Many events of one purpose: the newest wins.
	var many []store.ConsentEvent
	for i := range 20 {
		kind := store.ConsentGiven
		if i%2 == 1 {
			kind = store.ConsentWithdrawn
		}
		many = append(many, f.consent(f.a, "recommendations", kind, at.Add(time.Duration(i)*time.Minute)))
	}
	slices.Reverse(many) // record newest first
	write(t, s, func(tx store.Tx) error {
		for _, e := range append([]store.ConsentEvent{w, paper, g1, g2}, many...) {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		cur, err := tx.CurrentConsents(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		want := []string{"analytics=withdrawn@" + g2.ID, "newsletter=withdrawn@" + w.ID, "recommendations=withdrawn@" + many[0].ID}
		if got := ctlIDs(cur, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("CurrentConsents = %v\nwant %v", got, want)
		}
		c, err := tx.SubjectControls(f.tn.ID, f.a, at)
		if err == nil && !slices.Equal(ctlIDs(c.Consents, ctlStateLine), want) {
			t.Errorf("SubjectControls consents = %v\nwant %v", ctlIDs(c.Consents, ctlStateLine), want)
		}
		return err
	})
}

func testConsentBrowserLink(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "cb")
	anon := func(browser, purpose, kind string, at time.Time) store.ConsentEvent {
		e := f.consent("", purpose, kind, at)
		e.BrowserID = browser
		return e
	}
	b1 := anon("browser-1", "analytics", store.ConsentGiven, t0)
	b2 := anon("browser-1", "advertising", store.ConsentWithdrawn, t0.Add(time.Minute))
	other := anon("browser-2", "analytics", store.ConsentWithdrawn, t0)
	// Subject a chose on another device later: that stays the latest.
	own := f.consent(f.a, "analytics", store.ConsentWithdrawn, t0.Add(time.Hour))
	// An event from browser-1 already attributed to subject b (shared
	// computer) is not moved.
	ofB := f.consent(f.b, "advertising", store.ConsentGiven, t0)
	ofB.BrowserID = "browser-1"
	write(t, s, func(tx store.Tx) error {
		for _, e := range []store.ConsentEvent{b1, b2, other, own, ofB} {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		cur, err := tx.CurrentBrowserConsents(f.tn.ID, "browser-1")
		if err != nil {
			return err
		}
		// ofB (given, t0) is older than b2 (withdrawn, t0+1m) for advertising.
		want := []string{"advertising=withdrawn@" + b2.ID, "analytics=given@" + b1.ID}
		if got := ctlIDs(cur, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("CurrentBrowserConsents = %v, want %v", got, want)
		}
		hist, err := tx.BrowserConsentHistory(f.tn.ID, "browser-1")
		if err == nil && len(hist) != 3 {
			t.Errorf("BrowserConsentHistory has %d events, want 3", len(hist))
		}
		return err
	})
	linkAt := t0.Add(2 * time.Hour)
	var n int
	write(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.LinkBrowserConsents(f.tn.ID, "browser-1", f.a, linkAt)
		return err
	})
	if n != 2 {
		t.Errorf("linked %d events, want 2", n)
	}
	read(t, s, func(tx store.Tx) error {
		cur, err := tx.CurrentConsents(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		want := []string{"advertising=withdrawn@" + b2.ID, "analytics=withdrawn@" + own.ID}
		if got := ctlIDs(cur, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("after linking, CurrentConsents = %v, want %v", got, want)
		}
		ev, err := tx.GetConsentEvent(f.tn.ID, b1.ID)
		if err == nil && (ev.SubjectID != f.a || !ev.LinkedAt.Equal(us(linkAt)) || ev.BrowserID != "browser-1") {
			t.Errorf("linked event = %+v", ev)
		}
		evB, err := tx.GetConsentEvent(f.tn.ID, ofB.ID)
		if err == nil && (evB.SubjectID != f.b || !evB.LinkedAt.IsZero()) {
			t.Errorf("event of another subject was moved: %+v", evB)
		}
		return err
	})
	// Linking again finds nothing new.
	write(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.LinkBrowserConsents(f.tn.ID, "browser-1", f.b, linkAt)
		return err
	})
	if n != 0 {
		t.Errorf("second link moved %d events", n)
	}
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error {
		_, err := tx.LinkBrowserConsents(f.tn.ID, "browser-2", store.NewID(), linkAt)
		return err
	}), store.ErrNotFound)
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error {
		_, err := tx.LinkBrowserConsents(f.tn.ID, "", f.a, linkAt)
		return err
	}), store.ErrInvalid)
}

func testSubjectControls(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "sc")
	now := t0.Add(100 * time.Hour)
	r1 := f.restriction(f.a, t0)
	r2 := f.restriction(f.a, t0.Add(time.Hour)) // lifted below
	r3 := f.restriction(f.a, t0.Add(2*time.Hour))
	r3.Categories, r3.AllowedPurposes = nil, nil
	rb := f.restriction(f.b, t0)
	oUp := f.objection(f.a, "", store.ObjectDirectMarketing, t0)
	oPend := f.objection(f.a, "fraud_prevention", store.ObjectLegitimateInterest, t0.Add(time.Minute))
	oOver := f.objection(f.a, "analytics_li", store.ObjectLegitimateInterest, t0.Add(2*time.Minute)) // overridden below
	oWith := f.objection(f.a, "", store.ObjectDirectMarketing, t0.Add(3*time.Minute))                // withdrawn below
	hA := f.hold(f.a, t0)
	hWide := f.hold("", t0.Add(time.Minute))
	hWide.Categories = nil
	hExpired := f.hold(f.a, t0.Add(2*time.Minute))
	hExpired.Until = now // until <= now: no longer in force
	hLater := f.hold(f.a, t0.Add(3*time.Minute))
	hLater.Until = now.Add(time.Second)
	hReleased := f.hold(f.a, t0.Add(4*time.Minute)) // released below
	hB := f.hold(f.b, t0)
	cGiven := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
	cW := f.consent(f.a, "analytics", store.ConsentGiven, t0)
	cW2 := f.consent(f.a, "analytics", store.ConsentWithdrawn, t0.Add(time.Hour))
	cSale := f.consent(f.a, store.PurposeSaleShare, store.ConsentWithdrawn, t0)
	cSale.Method = store.MethodGPC
	cB := f.consent(f.b, "newsletter", store.ConsentGiven, t0)

	write(t, s, func(tx store.Tx) error {
		for _, r := range []store.Restriction{r1, r2, r3, rb} {
			if err := tx.AddRestriction(r); err != nil {
				return err
			}
		}
		for _, o := range []store.Objection{oUp, oPend, oOver, oWith} {
			if err := tx.AddObjection(o); err != nil {
				return err
			}
		}
		for _, h := range []store.LegalHold{hA, hWide, hExpired, hLater, hReleased, hB} {
			if err := tx.AddLegalHold(h); err != nil {
				return err
			}
		}
		for _, e := range []store.ConsentEvent{cGiven, cW, cW2, cSale, cB} {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		if err := tx.LiftRestriction(f.tn.ID, r2.ID, t0.Add(3*time.Hour)); err != nil {
			return err
		}
		if err := tx.ResolveObjection(f.tn.ID, oOver.ID, store.ObjectionOverridden, "compelling grounds", t0.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.ResolveObjection(f.tn.ID, oWith.ID, store.ObjectionWithdrawn, "subscribed again", t0.Add(time.Hour)); err != nil {
			return err
		}
		return tx.ReleaseLegalHold(f.tn.ID, hReleased.ID, t0.Add(time.Hour))
	})

	read(t, s, func(tx store.Tx) error {
		c, err := tx.SubjectControls(f.tn.ID, f.a, now)
		if err != nil {
			return err
		}
		if got, want := ctlIDs(c.Restrictions, ctlRestrictionID), []string{r1.ID, r3.ID}; !slices.Equal(got, want) {
			t.Errorf("restrictions = %v, want the unlifted %v", got, want)
		}
		if got, want := ctlIDs(c.Objections, ctlObjectionID), []string{oUp.ID, oPend.ID}; !slices.Equal(got, want) {
			t.Errorf("objections = %v, want upheld and pending %v", got, want)
		}
		if got, want := ctlIDs(c.Holds, ctlHoldID), []string{hA.ID, hWide.ID, hLater.ID}; !slices.Equal(got, want) {
			t.Errorf("holds = %v, want a's active ones and the tenant-wide %v", got, want)
		}
		want := []string{"analytics=withdrawn@" + cW2.ID, store.PurposeSaleShare + "=withdrawn@" + cSale.ID, "newsletter=given@" + cGiven.ID}
		if got := ctlIDs(c.Consents, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("consents = %v, want %v", got, want)
		}
		// Full records, as the single-row getters return them.
		if len(c.Restrictions) > 0 && !ctlEqRestriction(c.Restrictions[0], r1) {
			t.Errorf("restriction = %+v, want %+v", c.Restrictions[0], ctlNormRestriction(r1))
		}
		if len(c.Holds) > 2 {
			if !ctlEqHold(c.Holds[0], hA) || !ctlEqHold(c.Holds[1], hWide) || !ctlEqHold(c.Holds[2], hLater) {
				t.Errorf("holds = %+v", c.Holds)
			}
		}
		if len(c.Objections) > 1 {
			got, err := tx.GetObjection(f.tn.ID, oPend.ID)
			if err != nil {
				return err
			}
			if ctlNormObjection(c.Objections[1]) != ctlNormObjection(got) {
				t.Errorf("objection = %+v, want %+v", c.Objections[1], got)
			}
		}
		if len(c.Consents) > 2 {
			n := c.Consents[2]
			if n.Method != store.MethodBanner || n.PolicyVersion != 3 || n.PolicyHash != "sha256:abc" ||
				!n.At.Equal(us(cGiven.At)) || !n.ExpiresAt.Equal(us(cGiven.ExpiresAt)) {
				t.Errorf("consent state = %+v", n)
			}
		}
		if st, ok := c.Consent("newsletter"); !ok || st.EventID != cGiven.ID {
			t.Errorf("Consent(newsletter) = %+v, %v", st, ok)
		}
		if _, ok := c.Consent("nothing"); ok {
			t.Error("Consent(nothing) found a state")
		}

		// Before the hold with an end date expired, it was in force.
		early, err := tx.SubjectControls(f.tn.ID, f.a, now.Add(-time.Second))
		if err == nil && !slices.Contains(ctlIDs(early.Holds, ctlHoldID), hExpired.ID) {
			t.Errorf("hold until %v not in force a second before", hExpired.Until)
		}
		// A subject with nothing of its own sees only tenant-wide holds.
		empty, err := tx.SubjectControls(f.tn.ID, store.NewID(), now)
		if err != nil {
			return err
		}
		if len(empty.Restrictions)+len(empty.Objections)+len(empty.Consents) != 0 || !slices.Equal(ctlIDs(empty.Holds, ctlHoldID), []string{hWide.ID}) {
			t.Errorf("unknown subject's controls = %+v, want only the tenant-wide hold", empty)
		}
		return nil
	})
}

func testControlsTenantScope(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "ta")
	g := newCtlFixture(t, s, "tb")
	r := f.restriction(f.a, t0)
	o := f.objection(f.a, "", store.ObjectDirectMarketing, t0)
	h := f.hold("", t0)
	e := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
	e.BrowserID = "shared-browser-id"
	write(t, s, func(tx store.Tx) error {
		return errors.Join(tx.AddRestriction(r), tx.AddObjection(o), tx.AddLegalHold(h), tx.AppendConsent(e))
	})
	// Tenant g must not see, change or reference f's rows, even by id.
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"get restriction", func(tx store.Tx) error { _, err := tx.GetRestriction(g.tn.ID, r.ID); return err }},
		{"lift restriction", func(tx store.Tx) error { return tx.LiftRestriction(g.tn.ID, r.ID, t0) }},
		{"get objection", func(tx store.Tx) error { _, err := tx.GetObjection(g.tn.ID, o.ID); return err }},
		{"resolve objection", func(tx store.Tx) error {
			return tx.ResolveObjection(g.tn.ID, o.ID, store.ObjectionWithdrawn, "", t0)
		}},
		{"get hold", func(tx store.Tx) error { _, err := tx.GetLegalHold(g.tn.ID, h.ID); return err }},
		{"release hold", func(tx store.Tx) error { return tx.ReleaseLegalHold(g.tn.ID, h.ID, t0) }},
		{"get consent", func(tx store.Tx) error { _, err := tx.GetConsentEvent(g.tn.ID, e.ID); return err }},
		{"restriction on f's subject", func(tx store.Tx) error {
			x := g.restriction(f.a, t0)
			return tx.AddRestriction(x)
		}},
		{"consent for f's subject", func(tx store.Tx) error { return tx.AppendConsent(g.consent(f.a, "x", store.ConsentGiven, t0)) }},
		{"link f's subject", func(tx store.Tx) error {
			_, err := tx.LinkBrowserConsents(g.tn.ID, "shared-browser-id", f.a, t0)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, s.Write(ctx(t), c.fn), store.ErrNotFound) })
	}
	read(t, s, func(tx store.Tx) error {
		c, err := tx.SubjectControls(g.tn.ID, f.a, t0.Add(time.Hour))
		if err != nil {
			return err
		}
		if len(c.Restrictions)+len(c.Objections)+len(c.Holds)+len(c.Consents) != 0 {
			t.Errorf("tenant g sees f's controls: %+v", c)
		}
		for _, fn := range []func() (int, error){
			func() (int, error) { l, err := tx.ListRestrictions(g.tn.ID, f.a); return len(l), err },
			func() (int, error) { l, err := tx.ListObjections(g.tn.ID, f.a); return len(l), err },
			func() (int, error) { l, err := tx.ListLegalHolds(g.tn.ID, ""); return len(l), err },
			func() (int, error) { l, err := tx.ConsentHistory(g.tn.ID, f.a); return len(l), err },
			func() (int, error) {
				l, err := tx.BrowserConsentHistory(g.tn.ID, "shared-browser-id")
				return len(l), err
			},
			func() (int, error) {
				l, err := tx.CurrentBrowserConsents(g.tn.ID, "shared-browser-id")
				return len(l), err
			},
		} {
			if n, err := fn(); err != nil || n != 0 {
				t.Errorf("tenant g lists %d of f's rows (err %v)", n, err)
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRestriction(f.tn.ID, r.ID)
		if err == nil && !got.LiftedAt.IsZero() {
			t.Error("tenant g lifted f's restriction")
		}
		return err
	})
}

// testControlsExpectedErrorsKeepTx checks that every expected error of this
// area leaves the transaction usable (PostgreSQL aborts a transaction on
// any SQL error, so these must be detected without one).
func testControlsExpectedErrorsKeepTx(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "kt")
	r := f.restriction(f.a, t0)
	o := f.objection(f.a, "", store.ObjectDirectMarketing, t0)
	h := f.hold(f.a, t0)
	e := f.consent(f.a, "newsletter", store.ConsentGiven, t0)
	write(t, s, func(tx store.Tx) error {
		return errors.Join(tx.AddRestriction(r), tx.AddObjection(o), tx.AddLegalHold(h), tx.AppendConsent(e))
	})
	final := f.consent(f.a, "analytics", store.ConsentGiven, t0)
	write(t, s, func(tx store.Tx) error {
		checks := []struct {
			name string
			err  error
			want error
		}{
			{"restriction conflict", tx.AddRestriction(r), store.ErrConflict},
			{"restriction subject", tx.AddRestriction(f.restriction(store.NewID(), t0)), store.ErrNotFound},
			{"objection conflict", tx.AddObjection(o), store.ErrConflict},
			{"objection invalid", tx.ResolveObjection(f.tn.ID, o.ID, store.ObjectionOverridden, "", t0), store.ErrInvalid},
			{"objection state", tx.ResolveObjection(f.tn.ID, o.ID, store.ObjectionUpheld, "", t0), store.ErrConflict},
			{"hold conflict", tx.AddLegalHold(h), store.ErrConflict},
			{"consent conflict", tx.AppendConsent(e), store.ErrConflict},
			{"consent subject", tx.AppendConsent(f.consent(store.NewID(), "x", store.ConsentGiven, t0)), store.ErrNotFound},
			{"lift unknown", tx.LiftRestriction(f.tn.ID, store.NewID(), t0), store.ErrNotFound},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
			}
		}
		return tx.AppendConsent(final)
	})
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetConsentEvent(f.tn.ID, final.ID)
		return err
	})
}

func testControlsReadOnly(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "ro")
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"add restriction", func(tx store.Tx) error { return tx.AddRestriction(f.restriction(f.a, t0)) }},
		{"lift restriction", func(tx store.Tx) error { return tx.LiftRestriction(f.tn.ID, store.NewID(), t0) }},
		{"add objection", func(tx store.Tx) error { return tx.AddObjection(f.objection(f.a, "", store.ObjectDirectMarketing, t0)) }},
		{"resolve objection", func(tx store.Tx) error {
			return tx.ResolveObjection(f.tn.ID, store.NewID(), store.ObjectionUpheld, "", t0)
		}},
		{"add hold", func(tx store.Tx) error { return tx.AddLegalHold(f.hold(f.a, t0)) }},
		{"release hold", func(tx store.Tx) error { return tx.ReleaseLegalHold(f.tn.ID, store.NewID(), t0) }},
		{"append consent", func(tx store.Tx) error { return tx.AppendConsent(f.consent(f.a, "x", store.ConsentGiven, t0)) }},
		{"link", func(tx store.Tx) error { _, err := tx.LinkBrowserConsents(f.tn.ID, "b", f.a, t0); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, s.Read(ctx(t), c.fn), store.ErrReadOnly) })
	}
}

// testConsentConcurrent appends choices from many goroutines at once (each
// its own Write, as concurrent HTTP requests would) and checks that the
// derived state is the latest of each purpose.
func testConsentConcurrent(t *testing.T, s store.Store) {
	f := newCtlFixture(t, s, "cc")
	const purposes, perPurpose = 8, 8
	var wg sync.WaitGroup
	errs := make(chan error, purposes*perPurpose)
	latest := make([]store.ConsentEvent, purposes)
	for p := range purposes {
		for i := range perPurpose {
			kind := store.ConsentGiven
			if (p+i)%2 == 1 {
				kind = store.ConsentWithdrawn
			}
			e := f.consent(f.a, fmt.Sprintf("purpose_%d", p), kind, t0.Add(time.Duration(i)*time.Second))
			if i == perPurpose-1 {
				latest[p] = e
			}
			wg.Go(func() { errs <- s.Write(ctx(t), func(tx store.Tx) error { return tx.AppendConsent(e) }) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	read(t, s, func(tx store.Tx) error {
		cur, err := tx.CurrentConsents(f.tn.ID, f.a)
		if err != nil {
			return err
		}
		var want []string
		for _, e := range latest {
			want = append(want, e.Purpose+"="+e.Kind+"@"+e.ID)
		}
		if got := ctlIDs(cur, ctlStateLine); !slices.Equal(got, want) {
			t.Errorf("CurrentConsents = %v\nwant %v", got, want)
		}
		hist, err := tx.ConsentHistory(f.tn.ID, f.a)
		if err == nil && len(hist) != purposes*perPurpose {
			t.Errorf("history has %d events, want %d", len(hist), purposes*perPurpose)
		}
		return err
	})
}
