package consent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/identity"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// clock is an injectable clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) AddDate(y, m, d int) {
	c.mu.Lock()
	c.t = c.t.AddDate(y, m, d)
	c.mu.Unlock()
}

// fixture is the consent service over a real store of one engine, with the
// learning-saas example applied to one tenant.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	st      store.Store
	keys    *keys.Manager
	tenants *tenant.Service
	svc     *consent.Service
	runner  *jobs.Runner
	clock   *clock
	tn      store.Tenant
	notices *recordingNotifier
}

type keyOpener func(t testing.TB) store.KeyStore

var keyStores = map[string]keyOpener{"sqlite": storetest.OpenKeyStoreSQLite, "postgres": storetest.OpenKeyStorePostgres}

// eachEngine runs fn on a fresh fixture of every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, newFixture(t, e.Open(t), keyStores[e.Name](t)))
		})
	}
}

func newFixture(t *testing.T, st store.Store, ks store.KeyStore) *fixture {
	t.Helper()
	ctx := context.Background()
	raw, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseRootKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2027, 1, 15, 9, 30, 0, 0, time.UTC)}
	f := &fixture{t: t, ctx: ctx, st: st, clock: clk, notices: &recordingNotifier{}}
	f.keys = keys.NewManager(root, ks, keys.ManagerOptions{})
	f.tenants = &tenant.Service{Store: st, Now: clk.Now}
	f.runner = jobs.New(st, jobs.Options{Now: clk.Now})
	f.svc = &consent.Service{Store: st, Keys: f.keys, Audit: audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Now: clk.Now}),
		Tenants: f.tenants, Jobs: f.runner, Now: clk.Now, Notifier: f.notices}
	f.tenants.OnApply = f.svc.OnPolicyApplied
	if f.tn, err = f.tenants.Create(ctx, "brightfjord", "Brightfjord"); err != nil {
		t.Fatal(err)
	}
	f.apply(f.tn.ID, example(t))
	return f
}

func example(t testing.TB) []byte {
	b, ok := examples.File("learning-saas.yaml")
	if !ok {
		t.Fatal("example learning-saas.yaml missing")
	}
	return b
}

// widened is the example with analytics_cookies given one more recipient:
// a change that needs fresh consent.
func widened(t testing.TB) []byte {
	src := string(example(t))
	if strings.Count(src, "    recipients: [google_analytics]\n") != 1 {
		t.Fatal("example changed: analytics_cookies recipients not found once")
	}
	return []byte(strings.Replace(src, "    recipients: [google_analytics]\n", "    recipients: [google_analytics, amplitude]\n", 1))
}

func (f *fixture) apply(tenantID string, src []byte) tenant.ApplyResult {
	f.t.Helper()
	res, err := f.tenants.Apply(f.ctx, tenantID, "learning-saas.yaml", src, "test")
	if err != nil {
		f.t.Fatalf("apply: %v", err)
	}
	return res
}

// person creates a subject with an email identity, as the vault would.
func (f *fixture) person(email string) string {
	f.t.Helper()
	norm, err := identity.Normalize("email", email, "NO")
	if err != nil {
		f.t.Fatal(err)
	}
	blind, err := f.keys.BlindIndex(f.ctx, f.tn.ID, "email", norm)
	if err != nil {
		f.t.Fatal(err)
	}
	id := store.NewID()
	err = f.st.Write(f.ctx, func(tx store.Tx) error {
		ids := []store.Identity{{TenantID: f.tn.ID, Kind: "email", Blind: blind, SubjectID: id, Field: "email", CreatedAt: f.clock.Now()}}
		if err := tx.CreateSubject(store.Subject{TenantID: f.tn.ID, ID: id, State: store.SubjectActive, CreatedAt: f.clock.Now()}, ids, nil); err != nil {
			return err
		}
		// The vault's OnCreate hook, as app.Open wires it.
		return f.svc.OnSubjectCreated(f.ctx, tx, f.tn.ID, id, ids, f.clock.Now())
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) erase(subjectID string) {
	f.t.Helper()
	err := f.st.Write(f.ctx, func(tx store.Tx) error { return tx.EraseSubject(f.tn.ID, subjectID, f.clock.Now(), nil, nil) })
	if err != nil {
		f.t.Fatal(err)
	}
}

var api = consent.Actor{ID: "apikey:test", Role: "service", RequestID: "req-test-1"}

func (f *fixture) record(subjectID string, choices ...consent.Choice) consent.Recorded {
	f.t.Helper()
	r, err := f.svc.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: subjectID, Choices: choices, Method: store.MethodCheckbox}, api)
	if err != nil {
		f.t.Fatalf("record %v: %v", choices, err)
	}
	return r
}

func give(p string) consent.Choice     { return consent.Choice{Purpose: p, Given: true} }
func withdraw(p string) consent.Choice { return consent.Choice{Purpose: p} }

// decision asks the engine what a purpose-scoped read would decide for the
// first category of purpose, reading the subject as the vault does.
func (f *fixture) decision(subjectID, purpose string) decide.Decision {
	f.t.Helper()
	a, err := f.tenants.Active(f.ctx, f.tn.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	var snap *decide.Subject
	err = f.st.Read(f.ctx, func(tx store.Tx) error {
		subj, err := tx.GetSubject(f.tn.ID, subjectID)
		if err != nil {
			return err
		}
		c, err := tx.SubjectControls(f.tn.ID, subjectID, now)
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
	p := a.Doc.PurposeByKey(purpose)
	d, err := decide.DecideCategory(a.Doc, purpose, snap, p.Categories[0], now)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) state(subjectID string) consent.SubjectConsents {
	f.t.Helper()
	s, err := f.svc.State(f.ctx, f.tn.ID, subjectID, api)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func purposeState(s consent.SubjectConsents, purpose string) consent.PurposeState {
	for _, p := range s.Purposes {
		if p.Purpose == purpose {
			return p
		}
	}
	return consent.PurposeState{}
}

func (f *fixture) audience(purpose string) []string {
	f.t.Helper()
	var out []string
	_, err := f.svc.Audience(f.ctx, f.tn.ID, purpose, api, func(m consent.AudienceMember) error {
		out = append(out, m.SubjectID)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

type recordingNotifier struct {
	mu  sync.Mutex
	got []consent.RenewalNotice
}

func (r *recordingNotifier) NotifyRenewal(_ context.Context, n consent.RenewalNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return nil
}

func wantInput(t *testing.T, err error, field string) {
	t.Helper()
	var ie *consent.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error = %v, want an input error about %s", err, field)
	}
	for _, p := range ie.Problems {
		if strings.HasPrefix(p.Field, field) {
			return
		}
	}
	t.Fatalf("input error %v does not name %s", ie.Problems, field)
}

func mail(i int) string { return fmt.Sprintf("person%03d@example.org", i) }
