package decide_test

import (
	"os"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// now is the fixed "current time" of every test.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// doc is testdata/policy.yaml: one purpose per basis and flag combination.
var doc = loadPolicy("testdata/policy.yaml")

func loadPolicy(path string) *policy.Document {
	src, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	d, err := policy.Load(path, src)
	if err != nil {
		panic(err)
	}
	return d
}

// Items of the test policy.
var (
	itEmail   = decide.Item{Name: "email", Category: "user.contact.email"}
	itName    = decide.Item{Name: "name", Category: "user.name"}
	itAddress = decide.Item{Name: "address", Category: "user.contact.address"}
	itHealth  = decide.Item{Name: "health_notes", Category: "user.health"}
	itCookie  = decide.Item{Name: "cookie_id", Category: "user.device.cookie_id"}
	itOrders  = decide.Item{Name: "orders", Collection: "orders", Category: "user.behavior.purchase_history"}         // kept by law
	itViews   = decide.Item{Name: "page_views", Collection: "page_views", Category: "user.behavior.browsing_history"} // not kept by law
)

// record is a record of a collection, named by its id as the vault does.
func record(coll decide.Item, id string) decide.Item {
	coll.Name = id
	return coll
}

func expired(it decide.Item) decide.Item { it.ExpiresAt = now; return it }

// subject builds a snapshot from options.
func subject(opts ...func(*decide.Subject)) *decide.Subject {
	s := &decide.Subject{State: store.SubjectActive}
	for _, o := range opts {
		o(s)
	}
	return s
}

func erased(s *decide.Subject)          { s.State = store.SubjectErased }
func restrictedState(s *decide.Subject) { s.State = decide.SubjectRestricted }
func minor(s *decide.Subject)           { s.AgeStatus = decide.AgeMinor }
func minorConsented(s *decide.Subject)  { s.AgeStatus = decide.AgeMinorConsented }
func optedOut(s *decide.Subject)        { s.OptedOutSaleShare = true }

func withRestriction(r store.Restriction) func(*decide.Subject) {
	return func(s *decide.Subject) { s.Controls.Restrictions = append(s.Controls.Restrictions, r) }
}

func restriction(id string, cats []string, allowed ...string) store.Restriction {
	return store.Restriction{ID: id, Categories: cats, AllowedPurposes: allowed, Ground: store.GroundAccuracyContested, CreatedAt: now.Add(-time.Hour)}
}

func withObjection(id, purpose, kind, status string) func(*decide.Subject) {
	return func(s *decide.Subject) {
		s.Controls.Objections = append(s.Controls.Objections, store.Objection{ID: id, Purpose: purpose, Kind: kind, Status: status})
	}
}

func withHold(h store.LegalHold) func(*decide.Subject) {
	return func(s *decide.Subject) { s.Controls.Holds = append(s.Controls.Holds, h) }
}

func hold(id, purpose string, cats, colls []string) store.LegalHold {
	return store.LegalHold{ID: id, Purpose: purpose, Categories: cats, Collections: colls, Reason: "case 1", CreatedAt: now.Add(-time.Hour)}
}

func withConsent(purpose, kind string, at time.Time, version int) func(*decide.Subject) {
	return withConsentState(store.ConsentState{Purpose: purpose, Kind: kind, EventID: "ev-" + purpose + "-" + kind, At: at, PolicyVersion: version})
}

func withConsentState(c store.ConsentState) func(*decide.Subject) {
	return func(s *decide.Subject) { s.Controls.Consents = append(s.Controls.Consents, c) }
}

func given(purpose string) func(*decide.Subject) {
	return withConsent(purpose, store.ConsentGiven, now.AddDate(0, -1, 0), 5)
}

func validSince(purpose string, v int) func(*decide.Subject) {
	return func(s *decide.Subject) {
		if s.ConsentValidSince == nil {
			s.ConsentValidSince = map[string]int{}
		}
		s.ConsentValidSince[purpose] = v
	}
}

func mustDecideItem(t testing.TB, d *policy.Document, purpose string, s *decide.Subject, it decide.Item) decide.Decision {
	t.Helper()
	got, err := decide.DecideItem(d, purpose, s, it, now)
	if err != nil {
		t.Fatalf("DecideItem: %v", err)
	}
	return got
}
