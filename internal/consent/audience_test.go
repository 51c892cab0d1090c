package consent_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

// TestAudienceMixedStates builds a few hundred people in every state an
// audience must look at, streams the audience of several purposes in small
// pages, and compares each with an independent oracle: the decision engine
// asked about every subject one by one, as a read would (plus the
// suppression list for direct marketing).
func TestAudienceMixedStates(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.svc.PageSize = 7 // many pages, boundaries everywhere
		rng := rand.New(rand.NewPCG(4, 2))
		const n = 300
		ids := make([]string, n)
		suppressed := map[string]bool{}
		for i := range n {
			ids[i] = f.person(mail(i))
		}
		now := f.clock.Now()
		ctl := func(fn func(tx store.Tx) error) {
			t.Helper()
			if err := f.st.Write(f.ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		scenario := map[string]string{}
		for i, id := range ids {
			switch k := rng.IntN(14); k {
			case 0: // nothing recorded
				scenario[id] = "none"
			case 1:
				scenario[id] = "newsletter"
				f.record(id, give("newsletter"))
			case 2:
				scenario[id] = "newsletter withdrawn"
				f.record(id, give("newsletter"))
				f.clock.Add(time.Second)
				f.record(id, withdraw("newsletter"))
			case 3:
				scenario[id] = "all consents"
				f.record(id, give("newsletter"), give("advertising"), give("analytics_cookies"))
			case 4:
				scenario[id] = "minor"
				f.record(id, give("newsletter"), give("analytics_cookies"))
				ctl(func(tx store.Tx) error {
					s, err := tx.GetSubject(f.tn.ID, id)
					if err != nil {
						return err
					}
					s.AgeStatus = decide.AgeMinor
					return tx.UpdateSubject(s)
				})
			case 5:
				scenario[id] = "restricted email"
				f.record(id, give("newsletter"))
				ctl(func(tx store.Tx) error {
					return tx.AddRestriction(store.Restriction{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: id,
						Categories: []string{"user.contact.email"}, Ground: store.GroundAccuracyContested, CreatedAt: now})
				})
			case 6:
				scenario[id] = "restricted payment"
				f.record(id, give("newsletter"))
				ctl(func(tx store.Tx) error {
					return tx.AddRestriction(store.Restriction{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: id,
						Categories: []string{"user.payment"}, Ground: store.GroundAccuracyContested, CreatedAt: now})
				})
			case 7:
				scenario[id] = "unsubscribed"
				f.record(id, give("newsletter"))
				if _, err := f.svc.Unsubscribe(f.ctx, f.tn.ID, id, "newsletter", store.MethodUnsubscribe, consent.Actor{ID: "subject"}); err != nil {
					t.Fatal(err)
				}
			case 8:
				scenario[id] = "legitimate interest objection pending"
				ctl(func(tx store.Tx) error {
					return tx.AddObjection(store.Objection{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: id, Kind: store.ObjectLegitimateInterest, CreatedAt: now})
				})
			case 9:
				scenario[id] = "opted out of sale"
				f.record(id, give("advertising"), withdraw(store.PurposeSaleShare))
			case 10:
				scenario[id] = "erased"
				f.record(id, give("newsletter"))
				f.erase(id)
			case 11:
				scenario[id] = "address suppressed, no objection"
				if err := f.svc.SuppressAddress(f.ctx, f.tn.ID, "email", mail(i), "", api); err != nil {
					t.Fatal(err)
				}
				suppressed[id] = true
				f.record(id, give("analytics_cookies"))
			case 12:
				scenario[id] = "analytics given long ago"
				if _, err := f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: id, Choices: []consent.Choice{give("analytics_cookies")},
					Method: store.MethodPaper, At: now.AddDate(-1, -1, 0)}, api); err != nil {
					t.Fatal(err)
				}
			case 13:
				scenario[id] = "objected to customer marketing only"
				f.record(id, give("newsletter"))
				ctl(func(tx store.Tx) error {
					return tx.AddObjection(store.Objection{TenantID: f.tn.ID, ID: store.NewID(), SubjectID: id, Purpose: "customer_marketing",
						Kind: store.ObjectDirectMarketing, CreatedAt: now})
				})
			}
			if i%50 == 0 {
				f.clock.Add(time.Minute)
			}
		}
		for _, id := range ids {
			if scenario[id] == "unsubscribed" {
				suppressed[id] = true
			}
		}
		a, err := f.tenants.Active(f.ctx, f.tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, purpose := range []string{"newsletter", "customer_marketing", "advertising", "analytics_cookies", "account", "security"} {
			t.Run(purpose, func(t *testing.T) {
				p := a.Doc.PurposeByKey(purpose)
				var want []string
				for _, id := range ids {
					if scenario[id] == "erased" || (p.DirectMarketing && suppressed[id]) {
						continue
					}
					ok := true
					for _, cat := range p.Categories {
						if !f.decideCategory(id, purpose, cat) {
							ok = false
						}
					}
					if ok {
						want = append(want, id)
					}
				}
				var got []string
				var tokens int
				count, err := f.svc.Audience(f.ctx, f.tn.ID, purpose, api, func(m consent.AudienceMember) error {
					got = append(got, m.SubjectID)
					if m.UnsubscribeToken != "" {
						tokens++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if count != len(got) {
					t.Errorf("count %d, emitted %d", count, len(got))
				}
				if p.DirectMarketing != (tokens == len(got)) || (!p.DirectMarketing && tokens != 0) {
					t.Errorf("%d unsubscribe tokens for %d members (direct marketing: %v)", tokens, len(got), p.DirectMarketing)
				}
				sorted := slices.Clone(got)
				slices.Sort(sorted)
				slices.Sort(want)
				if len(slices.Compact(slices.Clone(sorted))) != len(sorted) {
					t.Fatal("a subject was emitted twice")
				}
				if !slices.Equal(sorted, want) {
					t.Errorf("audience differs from the engine's per-subject answers:\n%s", diffIDs(sorted, want, scenario))
				}
				if len(want) == 0 && purpose != "security" {
					t.Error("empty audience: the fixture is too thin")
				}
			})
		}
	})
}

// decideCategory asks the engine about one subject and category the way a
// read does (one subject at a time, SubjectControls).
func (f *fixture) decideCategory(id, purpose, cat string) bool {
	f.t.Helper()
	a, _ := f.tenants.Active(f.ctx, f.tn.ID)
	now := f.clock.Now()
	var snap *decide.Subject
	err := f.st.Read(f.ctx, func(tx store.Tx) error {
		subj, err := tx.GetSubject(f.tn.ID, id)
		if err != nil {
			return err
		}
		c, err := tx.SubjectControls(f.tn.ID, id, now)
		if err != nil {
			return err
		}
		vs, err := tx.ConsentValidSince(f.tn.ID)
		snap = decide.Snapshot(subj, c, vs)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := decide.DecideCategory(a.Doc, purpose, snap, cat, now)
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Allowed
}

func diffIDs(got, want []string, scenario map[string]string) string {
	var out string
	for _, id := range got {
		if !slices.Contains(want, id) {
			out += fmt.Sprintf("  unexpected %s (%s)\n", id, scenario[id])
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			out += fmt.Sprintf("  missing    %s (%s)\n", id, scenario[id])
		}
	}
	return out
}
