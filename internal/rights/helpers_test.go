package rights_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/clock"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// fakeFulfiller records what it was asked and reports the recipients a
// test sets.
type fakeFulfiller struct {
	mu      sync.Mutex
	inputs  []fulfil.Input
	result  fulfil.Result
	recips  map[string][]fulfil.RecipientStatus // by request id
	pending []string                            // recipients every fulfilled request gets, pending
}

func (f *fakeFulfiller) Fulfil(_ context.Context, in fulfil.Input) (fulfil.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if f.recips == nil {
		f.recips = map[string][]fulfil.RecipientStatus{}
	}
	if _, ok := f.recips[in.RequestID]; !ok {
		for _, p := range f.pending {
			f.recips[in.RequestID] = append(f.recips[in.RequestID], fulfil.RecipientStatus{Recipient: p, Name: p, State: fulfil.RecipientDelivered})
		}
	}
	return f.result, nil
}

func (f *fakeFulfiller) Recipients(_ context.Context, _, requestID string) ([]fulfil.RecipientStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fulfil.RecipientStatus(nil), f.recips[requestID]...), nil
}

func (f *fakeFulfiller) MarkHandled(_ context.Context, _, requestID, recipient, note, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.recips[requestID] {
		if r.Recipient == recipient {
			f.recips[requestID][i].State, f.recips[requestID][i].Note = fulfil.RecipientHandled, note
			return nil
		}
	}
	return errors.New("no such recipient")
}

func (f *fakeFulfiller) calls() []fulfil.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fulfil.Input(nil), f.inputs...)
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	rig   *outboxtest.Rig
	clock *clock.Fake
	ten   *tenant.Service
	vault *vault.Service
	ful   *fakeFulfiller
	svc   *rights.Service
	tn    string
}

var staff = rights.Actor{ID: "apikey:test", Role: "dpo"}

// eachEngine runs fn on a fresh fixture (learning-saas example applied,
// real SMTP) of every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, newFixture(t, e.Open(t), nil))
		})
	}
}

func newFixture(t *testing.T, st store.Store, edit func(string) string) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2027, 1, 11, 9, 30, 0, 0, time.UTC)) // a Monday
	rig := outboxtest.NewRig(t, st)
	f := &fixture{t: t, ctx: ctx, rig: rig, clock: clk, ful: &fakeFulfiller{result: fulfil.Result{Summary: "We sent you a copy of your data."}}}
	f.ten = &tenant.Service{Store: st, Now: clk.Now}
	log := audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Now: clk.Now})
	f.vault = &vault.Service{Store: st, Keys: rig.Keys, Audit: log, Tenants: f.ten, Now: clk.Now}
	f.svc = &rights.Service{Store: st, Tenants: f.ten, Keys: rig.Keys, Vault: f.vault, Audit: log, Outbox: rig.Outbox, Fulfiller: f.ful, Clock: clk}
	tn, err := f.ten.Create(ctx, "brightfjord", "Brightfjord")
	if err != nil {
		t.Fatal(err)
	}
	f.tn = tn.ID
	src, ok := examples.File("learning-saas.yaml")
	if !ok {
		t.Fatal("example missing")
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	if _, err := f.ten.Apply(ctx, f.tn, "learning-saas.yaml", []byte(text), "test"); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return f
}

// person creates a subject with an email address through the vault.
func (f *fixture) person(email string) string {
	f.t.Helper()
	c, err := f.vault.Create(f.ctx, f.tn, vault.CreateInput{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"` + email + `"`), "name": json.RawMessage(`"Kari Nordmann"`)}}, vault.Actor{ID: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

func (f *fixture) create(in rights.Input) *rights.Created {
	f.t.Helper()
	c, err := f.svc.Create(f.ctx, f.tn, in, rights.Actor{ID: "apikey:app", Role: "service"})
	if err != nil {
		f.t.Fatalf("create: %v", err)
	}
	return c
}

func byEmail(typ, email string) rights.Input {
	return rights.Input{Type: typ, Identity: &rights.IdentityInput{Kind: "email", Value: email}}
}

// mailTo waits for the n-th email (1-based) to addr and returns it.
func (f *fixture) mailTo(addr string, n int) outboxtest.Mail {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var got []outboxtest.Mail
		for _, m := range f.rig.SMTP.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) {
					got = append(got, m)
				}
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("no email #%d to %s; got %d emails", n, addr, len(f.rig.SMTP.Messages()))
	return outboxtest.Mail{}
}

// mailAbout waits for an email to addr whose subject contains about.
func (f *fixture) mailAbout(addr, about string) outboxtest.Mail {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range f.rig.SMTP.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) && strings.Contains(m.Subject, about) {
					return m
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("no email about %q to %s", about, addr)
	return outboxtest.Mail{}
}

func (f *fixture) mailsTo(addr string) int {
	n := 0
	for _, m := range f.rig.SMTP.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// codeIn finds the verification code in an email.
func codeIn(t testing.TB, m outboxtest.Mail) string {
	t.Helper()
	_, after, ok := strings.Cut(m.Text, "enter this code: ")
	if !ok || len(after) < rights.CodeDigits {
		t.Fatalf("no code in %q", m.Text)
	}
	return after[:rights.CodeDigits]
}

func statuses(r *rights.Request) string {
	var s []string
	for _, h := range r.History {
		if len(s) == 0 || s[len(s)-1] != h.To {
			s = append(s, h.To)
		}
	}
	return strings.Join(s, ">")
}

func wantState(t testing.TB, err error) {
	t.Helper()
	var se *rights.StateError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a StateError", err)
	}
}

func wantInput(t testing.TB, err error, field string) {
	t.Helper()
	var ie *rights.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an InputError on %s", err, field)
	}
	for _, p := range ie.Problems {
		if p.Field == field {
			return
		}
	}
	t.Fatalf("err = %v, want a problem on %s", err, field)
}
