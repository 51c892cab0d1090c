package decide_test

import (
	"context"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// These tests run the engine on snapshots read from real stores of each
// engine, the way the vault does: one read transaction loads the subject
// and its controls, then the engine decides. A change to the ledger or the
// controls must show in the very next read.

type liveSubject struct {
	t        *testing.T
	s        store.Store
	tenant   string
	id       string
	validFor map[string]int
}

func newLiveSubject(t *testing.T, s store.Store) *liveSubject {
	tn := store.Tenant{ID: store.NewID(), Slug: "decide", Name: "Decide", Mode: "controller"}
	l := &liveSubject{t: t, s: s, tenant: tn.ID, id: store.NewID()}
	l.write(func(tx store.Tx) error {
		if err := tx.CreateTenant(tn); err != nil {
			return err
		}
		return tx.CreateSubject(store.Subject{TenantID: tn.ID, ID: l.id, State: store.SubjectActive}, nil, nil)
	})
	return l
}

func (l *liveSubject) write(fn func(tx store.Tx) error) {
	l.t.Helper()
	if err := l.s.Write(context.Background(), fn); err != nil {
		l.t.Fatal(err)
	}
}

// decide reads the subject as the vault does and decides for one item.
func (l *liveSubject) decide(purpose string, it decide.Item, at time.Time) decide.Decision {
	l.t.Helper()
	var snap *decide.Subject
	err := l.s.Read(context.Background(), func(tx store.Tx) error {
		sub, err := tx.GetSubject(l.tenant, l.id)
		if err != nil {
			return err
		}
		c, err := tx.SubjectControls(l.tenant, l.id, at)
		snap = decide.Snapshot(sub, c, l.validFor)
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	d, err := decide.DecideItem(doc, purpose, snap, it, at)
	if err != nil {
		l.t.Fatal(err)
	}
	return d
}

func (l *liveSubject) want(step, purpose string, it decide.Item, at time.Time, want decide.Reason) decide.Decision {
	l.t.Helper()
	d := l.decide(purpose, it, at)
	if d.Reason != want || d.Allowed != (want == "") {
		l.t.Fatalf("%s: %s on %s = %q (%s), want %q", step, purpose, it.Category, d.Reason, d.Detail, want)
	}
	return d
}

func (l *liveSubject) consent(purpose, kind string, at time.Time, version int) string {
	l.t.Helper()
	e := store.ConsentEvent{TenantID: l.tenant, ID: store.NewID(), SubjectID: l.id, Purpose: purpose, Kind: kind,
		PolicyVersion: version, Method: store.MethodAPI, At: at}
	l.write(func(tx store.Tx) error { return tx.AppendConsent(e) })
	return e.ID
}

func TestWithStore(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			l := newLiveSubject(t, e.Open(t))
			at := now
			tick := func() time.Time { at = at.Add(time.Minute); return at }

			// Consent flips deny -> allow -> deny -> allow within one read
			// of each change.
			l.want("no consent yet", "newsletter", itEmail, tick(), decide.ConsentMissing)
			l.consent("newsletter", store.ConsentGiven, tick(), 4)
			l.want("given", "newsletter", itEmail, tick(), "")
			w := l.consent("newsletter", store.ConsentWithdrawn, tick(), 4)
			if d := l.want("withdrawn", "newsletter", itEmail, tick(), decide.ConsentWithdrawn); d.Ref != w {
				t.Errorf("withdrawal ref %q, want the receipt %q", d.Ref, w)
			}
			l.consent("newsletter", store.ConsentGiven, tick(), 4)
			l.want("given again", "newsletter", itEmail, tick(), "")
			// A widening policy change (version 5) needs renewal.
			l.validFor = map[string]int{"newsletter": 5}
			l.want("renewal needed", "newsletter", itEmail, tick(), decide.ConsentMissing)
			l.consent("newsletter", store.ConsentGiven, tick(), 5)
			l.want("renewed", "newsletter", itEmail, tick(), "")

			// Direct-marketing objection: at once; withdrawn by the person.
			o := store.Objection{TenantID: l.tenant, ID: store.NewID(), SubjectID: l.id, Kind: store.ObjectDirectMarketing, CreatedAt: tick()}
			l.write(func(tx store.Tx) error { return tx.AddObjection(o) })
			l.want("objected", "newsletter", itEmail, tick(), decide.Objected)
			l.want("objection leaves the service alone", "service", itEmail, tick(), "")
			l.write(func(tx store.Tx) error {
				return tx.ResolveObjection(l.tenant, o.ID, store.ObjectionWithdrawn, "subscribed again", tick())
			})
			l.want("objection withdrawn", "newsletter", itEmail, tick(), "")

			// Legitimate-interest objection: restricted while pending,
			// allowed once overridden.
			li := store.Objection{TenantID: l.tenant, ID: store.NewID(), SubjectID: l.id, Purpose: "fraud", Kind: store.ObjectLegitimateInterest, CreatedAt: tick()}
			l.write(func(tx store.Tx) error { return tx.AddObjection(li) })
			if d := l.want("pending", "fraud", itOrders, tick(), decide.Objected); d.Detail != decide.DetailObjectedPending {
				t.Errorf("pending detail %q", d.Detail)
			}
			l.write(func(tx store.Tx) error {
				return tx.ResolveObjection(l.tenant, li.ID, store.ObjectionOverridden, "compelling grounds: fraud ring", tick())
			})
			l.want("overridden", "fraud", itOrders, tick(), "")

			// Restriction of contact data with an Art. 18(2) exception.
			r := store.Restriction{TenantID: l.tenant, ID: store.NewID(), SubjectID: l.id, Categories: []string{"user.contact"},
				Ground: store.GroundAccuracyContested, AllowedPurposes: []string{"safety"}, CreatedAt: tick()}
			l.write(func(tx store.Tx) error { return tx.AddRestriction(r) })
			l.want("restricted", "service", itEmail, tick(), decide.Restricted)
			l.want("exception", "safety", itEmail, tick(), "")
			l.want("other category", "service", itOrders, tick(), "")
			l.write(func(tx store.Tx) error { return tx.LiftRestriction(l.tenant, r.ID, tick()) })
			l.want("lifted", "service", itEmail, tick(), "")

			// CCPA opt-out recorded from a GPC signal.
			l.consent("advertising", store.ConsentGiven, tick(), 5)
			l.want("advertising consented", "advertising", itCookie, tick(), "")
			l.consent(store.PurposeSaleShare, store.ConsentWithdrawn, tick(), 5)
			l.want("opted out", "advertising", itCookie, tick(), decide.OptedOut)

			// An anonymous browser's choice counts once linked.
			ev := store.ConsentEvent{TenantID: l.tenant, ID: store.NewID(), BrowserID: "b-123", Purpose: "recommendations",
				Kind: store.ConsentGiven, PolicyVersion: 5, Method: store.MethodBanner, At: tick()}
			l.write(func(tx store.Tx) error { return tx.AppendConsent(ev) })
			l.want("browser not linked", "recommendations", itViews, tick(), decide.ConsentMissing)
			l.write(func(tx store.Tx) error {
				_, err := tx.LinkBrowserConsents(l.tenant, "b-123", l.id, tick())
				return err
			})
			l.want("browser linked", "recommendations", itViews, tick(), "")

			// Erasure: orders are kept by law for bookkeeping; a hold
			// keeps them for a legal claim too.
			h := store.LegalHold{TenantID: l.tenant, ID: store.NewID(), SubjectID: l.id, Collections: []string{"orders"},
				Purpose: "fraud", Reason: "claim against a fraud ring", CreatedAt: tick()}
			l.write(func(tx store.Tx) error { return tx.AddLegalHold(h) })
			l.write(func(tx store.Tx) error { return tx.EraseSubject(l.tenant, l.id, tick(), nil, []string{"orders"}) })
			l.want("erased", "service", itEmail, tick(), decide.SubjectErased)
			l.want("kept by law", "bookkeeping", record(itOrders, "r1"), tick(), "")
			l.want("held for the claim", "fraud", record(itOrders, "r1"), tick(), "")
			if d := l.want("held, other purpose", "recommendations", record(itOrders, "r1"), tick(), decide.LegalHoldOnly); d.Ref != h.ID {
				t.Errorf("hold ref %q, want %q", d.Ref, h.ID)
			}
			l.write(func(tx store.Tx) error { return tx.ReleaseLegalHold(l.tenant, h.ID, tick()) })
			l.want("hold released", "fraud", record(itOrders, "r1"), tick(), decide.LegalHoldOnly)
		})
	}
}

// BenchmarkReadPath measures what a purpose-scoped read adds on the store:
// one read transaction with GetSubject and SubjectControls, then Decide for
// eight items, from concurrent callers. The tenant has a thousand other
// subjects with controls, so the queries must use their indexes.
func BenchmarkReadPath(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			s := e.Open(b)
			tenant := store.Tenant{ID: store.NewID(), Slug: "bench", Name: "Bench", Mode: "controller"}
			var subjects []string
			err := s.Write(context.Background(), func(tx store.Tx) error {
				if err := tx.CreateTenant(tenant); err != nil {
					return err
				}
				if err := tx.AddLegalHold(store.LegalHold{TenantID: tenant.ID, ID: store.NewID(), Collections: []string{"orders"},
					Purpose: "bookkeeping", Reason: "audit", CreatedAt: now}); err != nil {
					return err
				}
				for i := range 1000 {
					id := store.NewID()
					subjects = append(subjects, id)
					if err := tx.CreateSubject(store.Subject{TenantID: tenant.ID, ID: id, State: store.SubjectActive}, nil, nil); err != nil {
						return err
					}
					for j, p := range []string{"newsletter", "advertising", store.PurposeSaleShare} {
						kind := store.ConsentGiven
						if (i+j)%3 == 0 {
							kind = store.ConsentWithdrawn
						}
						for k := range 2 { // some history per purpose
							if err := tx.AppendConsent(store.ConsentEvent{TenantID: tenant.ID, ID: store.NewID(), SubjectID: id, Purpose: p,
								Kind: kind, Method: store.MethodBanner, PolicyVersion: 1, At: now.Add(time.Duration(k-10) * time.Hour)}); err != nil {
								return err
							}
						}
					}
					if i%10 == 0 {
						if err := tx.AddRestriction(store.Restriction{TenantID: tenant.ID, ID: store.NewID(), SubjectID: id,
							Ground: store.GroundAccuracyContested, Categories: []string{"user.contact.address"}, CreatedAt: now}); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				out := make([]decide.Decision, 0, len(benchItems))
				i := 0
				for pb.Next() {
					id := subjects[i%len(subjects)]
					i += 7
					var snap *decide.Subject
					err := s.Read(context.Background(), func(tx store.Tx) error {
						sub, err := tx.GetSubject(tenant.ID, id)
						if err != nil {
							return err
						}
						c, err := tx.SubjectControls(tenant.ID, id, now)
						snap = decide.Snapshot(sub, c, nil)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
					out, err = decide.Decide(doc, "newsletter", snap, benchItems, now, out[:0])
					if err != nil || len(out) != len(benchItems) {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
