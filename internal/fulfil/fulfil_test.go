package fulfil_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

const wait = 15 * time.Second

// fakeExporter stands in for internal/export.
type fakeExporter struct {
	mu     sync.Mutex
	builds []bool // portability flag of each Build
}

func (f *fakeExporter) Build(ctx context.Context, tenantID, requestID, subjectID string, portability bool) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = append(f.builds, portability)
	return "export-" + requestID, "pdf-password", nil
}

func (f *fakeExporter) Link(ctx context.Context, tenantID, exportID, format string) (string, time.Time, error) {
	return "/v1/exports/download/tok-" + format, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

func (f *fakeExporter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.builds)
}

// fx is the fulfilment service over a real store of one engine, with a
// working outbox and the learning-saas example applied to one tenant.
type fx struct {
	t         *testing.T
	ctx       context.Context
	st        store.Store
	rig       *outboxtest.Rig
	tenants   *tenant.Service
	vault     *vault.Service
	consent   *consent.Service
	retention *retention.Service
	svc       *fulfil.Service
	exp       *fakeExporter
	tn        store.Tenant
}

func eachEngine(t *testing.T, fn func(t *testing.T, f *fx)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, newFx(t, e.Open(t))) })
	}
}

func newFx(t *testing.T, st store.Store) *fx {
	t.Helper()
	ctx := context.Background()
	rig := outboxtest.NewRig(t, st, outboxtest.Stopped())
	f := &fx{t: t, ctx: ctx, st: st, rig: rig, exp: &fakeExporter{}}
	f.tenants = &tenant.Service{Store: st}
	al := audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine())})
	f.vault = &vault.Service{Store: st, Keys: rig.Keys, Audit: al, Tenants: f.tenants}
	f.consent = &consent.Service{Store: st, Keys: rig.Keys, Audit: al, Tenants: f.tenants}
	f.retention = &retention.Service{Store: st, Tenants: f.tenants, Keys: rig.Keys, Audit: al}
	f.svc = fulfil.New(fulfil.Options{Store: st, Tenants: f.tenants, Vault: f.vault, Consent: f.consent, Outbox: rig.Outbox,
		Audit: al, Keys: rig.Keys, Exporter: f.exp, PublicURL: "https://privacy.example.com/"})
	f.svc.RegisterJobs(rig.Runner)
	rig.Start(t)
	f.tn = f.newTenant("brightfjord")
	return f
}

func (f *fx) newTenant(slug string) store.Tenant {
	f.t.Helper()
	tn, err := f.tenants.Create(f.ctx, slug, slug)
	if err != nil {
		f.t.Fatal(err)
	}
	src, ok := examples.File("learning-saas.yaml")
	if !ok {
		f.t.Fatal("example missing")
	}
	if _, err := f.tenants.Apply(f.ctx, tn.ID, "learning-saas.yaml", src, "test"); err != nil {
		f.t.Fatal(err)
	}
	return tn
}

func (f *fx) person(tenantID, email string) string {
	f.t.Helper()
	c, err := f.vault.Create(f.ctx, tenantID, vault.CreateInput{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"` + email + `"`), "name": json.RawMessage(`"Kari Nordmann"`),
		"billing_address": json.RawMessage(`"Storgata 1, 0155 Oslo"`), "payment_details": json.RawMessage(`"VISA 4242 12/29"`),
	}}, vault.Actor{ID: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

func (f *fx) fulfil(in fulfil.Input) fulfil.Result {
	f.t.Helper()
	if in.TenantID == "" {
		in.TenantID = f.tn.ID
	}
	if in.RequestID == "" {
		in.RequestID = store.NewID()
	}
	if in.Actor == "" {
		in.Actor = "staff:dpo"
	}
	r, err := f.svc.Fulfil(f.ctx, in)
	if err != nil {
		f.t.Fatalf("fulfil %s: %v", in.Type, err)
	}
	return r
}

func (f *fx) decide(subjectID, purpose string, cats ...string) []decide.Decision {
	f.t.Helper()
	ds, err := f.vault.Decide(f.ctx, f.tn.ID, subjectID, purpose, cats)
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// endpoint gives a recipient its own webhook receiver, which verifies
// signatures with the secret Trustee generated.
func (f *fx) endpoint(key, ack string) *outboxtest.WebhookReceiver {
	f.t.Helper()
	rec := outboxtest.StartWebhook(f.t, nil)
	set, err := f.svc.SetEndpoint(f.ctx, f.tn.ID, key, rec.URL+"/hooks/"+key, ack, "apikey:admin")
	if err != nil {
		f.t.Fatal(err)
	}
	if len(set.Secret) != 64 || !set.Endpoint || set.Host != "127.0.0.1" {
		f.t.Fatalf("endpoint set = %+v", set)
	}
	rec.Secret = []byte(set.Secret)
	return rec
}

func (f *fx) statuses(requestID string) map[string]fulfil.RecipientStatus {
	f.t.Helper()
	rs, err := f.svc.Recipients(f.ctx, f.tn.ID, requestID)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]fulfil.RecipientStatus{}
	for _, r := range rs {
		out[r.Recipient] = r
	}
	return out
}

func (f *fx) waitState(requestID, recipient, state string) fulfil.RecipientStatus {
	f.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		st := f.statuses(requestID)[recipient]
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s is %q after %s, want %q", recipient, st.State, wait, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type hookBody struct {
	Event      string   `json:"event"`
	RequestID  string   `json:"request_id"`
	SubjectID  string   `json:"subject_id"`
	Action     string   `json:"action"`
	Recipient  string   `json:"recipient"`
	Categories []string `json:"categories"`
	AckURL     string   `json:"ack_url"`
	AckMode    string   `json:"ack_mode"`
}

func delivered(t *testing.T, rec *outboxtest.WebhookReceiver) (outboxtest.Delivery, hookBody) {
	t.Helper()
	d := rec.WaitFor(t, 1, wait)[0]
	if d.Verified != nil {
		t.Fatalf("signature did not verify: %v", d.Verified)
	}
	if err := outbox.Verify(rec.Secret, d.Header, d.Body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var b hookBody
	if err := json.Unmarshal(d.Body, &b); err != nil {
		t.Fatal(err)
	}
	return d, b
}

func token(t *testing.T, ackURL string) string {
	t.Helper()
	const prefix = "https://privacy.example.com/v1/public/propagation/"
	if !strings.HasPrefix(ackURL, prefix) || !strings.HasSuffix(ackURL, "/ack") {
		t.Fatalf("ack url = %q", ackURL)
	}
	return strings.TrimSuffix(strings.TrimPrefix(ackURL, prefix), "/ack")
}

// A restriction is enforced by the decision engine at once, passed on to
// every recipient of the categories concerned, and acknowledged per
// recipient; fulfilling it again does nothing twice.
func TestRestrictionPropagatesAndAcknowledges(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "kari@example.com")
		stripe := f.endpoint("stripe", "callback")
		req := store.NewID()
		in := fulfil.Input{RequestID: req, SubjectID: subj, Type: policy.ReqRestriction, Categories: []string{"user.contact"},
			Ground: store.GroundAccuracyContested, AllowedPurposes: []string{"payments"}, Reason: "says the address is wrong"}
		res := f.fulfil(in)
		if len(res.Controls) != 1 || res.Recipients == 0 {
			t.Fatalf("result = %+v", res)
		}
		// The decision engine refuses every purpose but the allowed one.
		if d := f.decide(subj, "account", "user.contact.email")[0]; d.Allowed || d.Reason != decide.Restricted || d.Ref != res.Controls[0] {
			t.Fatalf("account after restriction: %+v", d)
		}
		if d := f.decide(subj, "payments", "user.contact.email")[0]; !d.Allowed {
			t.Fatalf("payments is allowed by the restriction: %+v", d)
		}
		if d := f.decide(subj, "account", "user.name")[0]; !d.Allowed {
			t.Fatalf("user.name is not restricted: %+v", d)
		}

		st := f.statuses(req)
		// azure received all of user; stripe user.contact.email and
		// user.contact.address; cloudflare only IP addresses.
		if got := st["azure"]; got.State != fulfil.RecipientManual || !slices.Equal(got.Categories, []string{"user.contact"}) {
			t.Fatalf("azure = %+v", got)
		}
		if got := st["stripe"]; !slices.Equal(got.Categories, []string{"user.contact.address", "user.contact.email"}) {
			t.Fatalf("stripe = %+v", got)
		}
		if _, ok := st["cloudflare"]; ok {
			t.Fatal("cloudflare never received contact data")
		}
		if res.Recipients != len(st) {
			t.Fatalf("result counts %d recipients, %d rows", res.Recipients, len(st))
		}

		d, body := delivered(t, stripe)
		if d.Event != "rights.restriction" || body.RequestID != req || body.SubjectID != subj || body.Action != "restriction" ||
			body.Recipient != "stripe" || body.AckMode != "callback" {
			t.Fatalf("webhook = %s %s", d.Event, d.Body)
		}
		if strings.Contains(string(d.Body), "kari") || strings.Contains(string(d.Body), "Storgata") {
			t.Fatalf("webhook carries personal data: %s", d.Body)
		}
		f.waitState(req, "stripe", fulfil.RecipientDelivered)

		// The recipient acknowledges through its link; once only.
		got, err := f.svc.Acknowledge(f.ctx, token(t, body.AckURL))
		if err != nil || got.State != fulfil.RecipientAcknowledged {
			t.Fatalf("ack = %+v, %v", got, err)
		}
		if got, err := f.svc.Acknowledge(f.ctx, token(t, body.AckURL)); err != nil || got.State != fulfil.RecipientAcknowledged {
			t.Fatalf("second ack = %+v, %v", got, err)
		}
		if !f.statuses(req)["stripe"].Done() {
			t.Fatal("stripe is not done")
		}

		// A person tells azure by hand; a note is required.
		var ie *fulfil.InputError
		if err := f.svc.MarkHandled(f.ctx, f.tn.ID, req, "azure", " ", "staff:dpo"); !errors.As(err, &ie) {
			t.Fatalf("handled without a note: %v", err)
		}
		if err := f.svc.MarkHandled(f.ctx, f.tn.ID, req, "azure", "emailed their privacy team", "staff:dpo"); err != nil {
			t.Fatal(err)
		}
		if got := f.statuses(req)["azure"]; got.State != fulfil.RecipientHandled || got.Note != "emailed their privacy team" {
			t.Fatalf("azure = %+v", got)
		}
		if err := f.svc.MarkHandled(f.ctx, f.tn.ID, req, "stripe", "again", "staff:dpo"); !errors.Is(err, fulfil.ErrConflict) {
			t.Fatalf("handling an acknowledged recipient: %v", err)
		}
		if err := f.svc.MarkHandled(f.ctx, f.tn.ID, req, "nobody", "x", "staff:dpo"); !errors.Is(err, fulfil.ErrNotFound) {
			t.Fatalf("handling an unknown recipient: %v", err)
		}

		// Idempotent: the same request again returns the stored result,
		// adds no restriction and sends nothing.
		again := f.fulfil(in)
		if again.Summary != res.Summary || !slices.Equal(again.Controls, res.Controls) || again.Recipients != res.Recipients {
			t.Fatalf("second fulfil = %+v, first %+v", again, res)
		}
		var n int
		if err := f.st.Read(f.ctx, func(tx store.Tx) error {
			rs, err := tx.ListRestrictions(f.tn.ID, subj)
			n = len(rs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d restrictions after fulfilling twice", n)
		}
		time.Sleep(100 * time.Millisecond)
		if got := len(stripe.Deliveries()); got != 1 {
			t.Fatalf("stripe got %d webhooks", got)
		}
	})
}

// A direct-marketing objection stops every direct-marketing purpose at
// once; one on legitimate interests is pending, and the decision engine
// already refuses the purposes it reaches meanwhile.
func TestObjections(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "ola@example.com")
		if d := f.decide(subj, "customer_marketing", "user.contact.email")[0]; !d.Allowed {
			t.Fatalf("before: %+v", d)
		}
		res := f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqObjection, ObjectionKind: store.ObjectDirectMarketing})
		if d := f.decide(subj, "customer_marketing", "user.contact.email")[0]; d.Allowed || d.Reason != decide.Objected || d.Ref != res.Controls[0] {
			t.Fatalf("direct marketing after objection: %+v", d)
		}
		res = f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqObjection, ObjectionKind: store.ObjectLegitimateInterest,
			Purpose: "security", Reason: "my particular situation"})
		var o store.Objection
		if err := f.st.Read(f.ctx, func(tx store.Tx) error {
			var err error
			o, err = tx.GetObjection(f.tn.ID, res.Controls[0])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if o.Status != store.ObjectionPending {
			t.Fatalf("legitimate-interest objection is %s, want pending", o.Status)
		}
		if d := f.decide(subj, "security", "user.contact.email")[0]; d.Allowed || d.Reason != decide.Objected {
			t.Fatalf("security while the objection is pending: %+v", d)
		}
		if d := f.decide(subj, "account", "user.contact.email")[0]; !d.Allowed {
			t.Fatalf("account (contract) is not reached: %+v", d)
		}
		// Bad input changes nothing.
		var ie *fulfil.InputError
		_, err := f.svc.Fulfil(f.ctx, fulfil.Input{TenantID: f.tn.ID, RequestID: store.NewID(), SubjectID: subj, Actor: "x",
			Type: policy.ReqObjection, ObjectionKind: store.ObjectDirectMarketing, Purpose: "account"})
		if !errors.As(err, &ie) || !strings.Contains(ie.Error(), "purpose") {
			t.Fatalf("objection to direct marketing of a contract purpose: %v", err)
		}
	})
}

// Erasure with a legal hold keeps exactly the held categories, keeps a
// marketing suppression, tells the application and passes on only what
// was erased.
func TestErasureWithLegalHold(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "per@example.com")
		app := f.endpoint(fulfil.ApplicationKey, "on_delivery")
		stripe := f.endpoint("stripe", "on_delivery")
		if _, err := f.retention.CreateHold(f.ctx, f.tn.ID, retention.HoldInput{SubjectID: subj, Categories: []string{"user.payment"},
			Reason: "chargeback dispute"}, retention.Actor{ID: "staff:dpo"}); err != nil {
			t.Fatal(err)
		}
		req := store.NewID()
		res := f.fulfil(fulfil.Input{RequestID: req, SubjectID: subj, Type: policy.ReqErasure})
		if len(res.Kept) != 1 || res.Kept[0].Name != "payment_details" || !strings.Contains(res.Kept[0].Basis, "chargeback dispute") {
			t.Fatalf("kept = %+v, want exactly payment_details", res.Kept)
		}
		var fields []store.FieldValue
		var supp int
		if err := f.st.Read(f.ctx, func(tx store.Tx) error {
			var err error
			if fields, err = tx.GetFields(f.tn.ID, subj); err != nil {
				return err
			}
			supp, err = tx.CountSuppressions(f.tn.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(fields) != 1 || fields[0].Field != "payment_details" {
			t.Fatalf("fields left: %+v", fields)
		}
		if supp == 0 {
			t.Fatal("no marketing suppression survives the erasure")
		}
		// The suppression still stops a new account with the address.
		if ok, err := f.consent.IsSuppressed(f.ctx, f.tn.ID, "email", "per@example.com", ""); err != nil || !ok {
			t.Fatalf("suppressed after erasure = %v, %v", ok, err)
		}

		d, _ := delivered(t, app)
		var ab struct {
			Event, SubjectID, RequestID string
		}
		_ = json.Unmarshal(d.Body, &ab)
		if d.Event != fulfil.EventSubjectErased || !strings.Contains(string(d.Body), subj) {
			t.Fatalf("application webhook = %s %s", d.Event, d.Body)
		}

		_, body := delivered(t, stripe)
		if slices.Contains(body.Categories, "user.payment") {
			t.Fatalf("stripe asked to erase held payment data: %v", body.Categories)
		}
		if !slices.Equal(body.Categories, []string{"user.contact.address", "user.contact.email", "user.name"}) {
			t.Fatalf("stripe categories = %v", body.Categories)
		}
		f.waitState(req, "stripe", fulfil.RecipientAcknowledged)
		if _, ok := f.statuses(req)["tax_authority"]; !ok {
			t.Fatal("tax authority received name and address and is not told")
		}
	})
}

// A dead-lettered webhook marks the recipient failed; a person then
// handles it by hand.
func TestDeadLetterFails(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "lise@example.com")
		rec := f.endpoint("hubspot", "callback")
		rec.Always(500)
		req := store.NewID()
		f.fulfil(fulfil.Input{RequestID: req, SubjectID: subj, Type: policy.ReqRectification,
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"Lise Hansen"`)}})
		got := f.waitState(req, "hubspot", fulfil.RecipientFailed)
		if !strings.Contains(got.Note, "delivery failed") {
			t.Fatalf("note = %q", got.Note)
		}
		if err := f.svc.MarkHandled(f.ctx, f.tn.ID, req, "hubspot", "phoned their support", "staff:dpo"); err != nil {
			t.Fatal(err)
		}
		if got := f.statuses(req)["hubspot"]; got.State != fulfil.RecipientHandled {
			t.Fatalf("hubspot = %+v", got)
		}
	})
}

// Rectification, withdrawal, opt-out and the CCPA limit.
func TestOtherTypes(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "nils@example.com")
		// Rectification: the value changes, recipients of the name learn it.
		req := store.NewID()
		res := f.fulfil(fulfil.Input{RequestID: req, SubjectID: subj, Type: policy.ReqCCPACorrect,
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"Nils Berg"`)}})
		st := f.statuses(req)
		if res.Recipients == 0 || st["stripe"].State != fulfil.RecipientManual || !slices.Equal(st["stripe"].Categories, []string{"user.name"}) {
			t.Fatalf("rectification: %+v %+v", res, st)
		}
		if _, ok := st["cloudflare"]; ok {
			t.Fatal("cloudflare never received the name")
		}
		v, err := f.vault.Get(f.ctx, f.tn.ID, subj, "account", vault.Actor{ID: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(v); !strings.Contains(string(b), "Nils Berg") {
			t.Fatalf("name not rectified: %s", b)
		}
		// Unknown fields are refused with their names.
		var ie *fulfil.InputError
		_, err = f.svc.Fulfil(f.ctx, fulfil.Input{TenantID: f.tn.ID, RequestID: store.NewID(), SubjectID: subj, Actor: "x",
			Type: policy.ReqRectification, Fields: map[string]json.RawMessage{"shoe_size": json.RawMessage(`44`)}})
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "shoe_size") {
			t.Fatalf("unknown field: %v", err)
		}

		// Withdrawal of consent.
		if _, err := f.consent.Record(f.ctx, f.tn.ID, consent.RecordInput{SubjectID: subj,
			Choices: []consent.Choice{{Purpose: "newsletter", Given: true}}}, consent.Actor{ID: "test"}); err != nil {
			t.Fatal(err)
		}
		if d := f.decide(subj, "newsletter", "user.contact.email")[0]; !d.Allowed {
			t.Fatalf("newsletter before: %+v", d)
		}
		f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqWithdrawConsent})
		if d := f.decide(subj, "newsletter", "user.contact.email")[0]; d.Allowed || d.Reason != decide.ConsentWithdrawn {
			t.Fatalf("newsletter after withdrawal: %+v", d)
		}

		// CCPA opt-out of sale and sharing, once in the ledger.
		for range 2 {
			f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqCCPAOptOut})
		}
		var current []store.ConsentState
		var history []store.ConsentEvent
		if err := f.st.Read(f.ctx, func(tx store.Tx) error {
			var err error
			if current, err = tx.CurrentConsents(f.tn.ID, subj); err != nil {
				return err
			}
			history, err = tx.ConsentHistory(f.tn.ID, subj)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range history {
			if e.Purpose == store.PurposeSaleShare {
				n++
			}
		}
		i := slices.IndexFunc(current, func(c store.ConsentState) bool { return c.Purpose == store.PurposeSaleShare })
		if i < 0 || current[i].Kind != store.ConsentWithdrawn || n != 1 {
			t.Fatalf("sale/share state %+v, %d events", current, n)
		}

		// CCPA limit: the named sensitive data is usable only for the
		// CPRA purposes (contract, legal obligation).
		res = f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqCCPALimit, Categories: []string{"user.payment"}})
		var r store.Restriction
		if err := f.st.Read(f.ctx, func(tx store.Tx) error {
			var err error
			r, err = tx.GetRestriction(f.tn.ID, res.Controls[0])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(r.AllowedPurposes, "payments") || !slices.Contains(r.AllowedPurposes, "bookkeeping") ||
			slices.Contains(r.AllowedPurposes, "security") || !slices.Equal(r.Categories, []string{"user.payment"}) {
			t.Fatalf("limit restriction = %+v", r)
		}
		if d := f.decide(subj, "payments", "user.payment")[0]; !d.Allowed {
			t.Fatalf("payments after the limit: %+v", d)
		}
	})
}

// Access and portability: the exporter builds once; a transmission to
// another controller is a signed webhook with the download links.
func TestExports(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		subj := f.person(f.tn.ID, "eva@example.com")
		rec := outboxtest.StartWebhook(t, nil)
		in := fulfil.Input{RequestID: store.NewID(), SubjectID: subj, Type: policy.ReqPortability, TransmitURL: rec.URL + "/import"}
		res := f.fulfil(in)
		if res.ExportID == "" || res.PDFPassword != "pdf-password" || len(res.TransmitSecret) != 64 {
			t.Fatalf("result = %+v", res)
		}
		rec.Secret = []byte(res.TransmitSecret)
		d := rec.WaitFor(t, 1, wait)[0]
		if d.Verified != nil || d.Event != fulfil.EventExportTransmit || !strings.Contains(string(d.Body), "https://privacy.example.com/v1/exports/download/tok-json") {
			t.Fatalf("transmission = %v %s %s", d.Verified, d.Event, d.Body)
		}
		again := f.fulfil(in)
		if f.exp.count() != 1 || again.ExportID != res.ExportID || again.PDFPassword != "" {
			t.Fatalf("export rebuilt (%d builds) or password stored: %+v", f.exp.count(), again)
		}
		f.fulfil(fulfil.Input{SubjectID: subj, Type: policy.ReqCCPAKnow})
		if f.exp.count() != 2 || f.exp.builds[1] {
			t.Fatalf("know request: builds %v", f.exp.builds)
		}
	})
}

// Tenants never see or touch each other's propagation, and endpoints are
// only for the policy's recipients.
func TestTenantIsolationAndEndpoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fx) {
		other := f.newTenant("other")
		subj := f.person(f.tn.ID, "a@example.com")
		stripe := f.endpoint("stripe", "callback")
		req := store.NewID()
		f.fulfil(fulfil.Input{RequestID: req, SubjectID: subj, Type: policy.ReqRestriction, Ground: store.GroundUnlawfulProcessing})
		_, body := delivered(t, stripe)
		if rs, err := f.svc.Recipients(f.ctx, other.ID, req); err != nil || len(rs) != 0 {
			t.Fatalf("other tenant sees %d rows, %v", len(rs), err)
		}
		if err := f.svc.MarkHandled(f.ctx, other.ID, req, "azure", "x", "staff"); !errors.Is(err, fulfil.ErrNotFound) {
			t.Fatalf("other tenant handles: %v", err)
		}
		// The subject of one tenant is not found in another.
		if _, err := f.svc.Fulfil(f.ctx, fulfil.Input{TenantID: other.ID, RequestID: store.NewID(), SubjectID: subj, Actor: "x",
			Type: policy.ReqRestriction, Ground: store.GroundUnlawfulProcessing}); !errors.Is(err, fulfil.ErrNotFound) {
			t.Fatalf("other tenant fulfils: %v", err)
		}
		// A token edited to name the other tenant does not verify.
		tok := token(t, body.AckURL)
		parsed, err := fulfil.ParseAckToken(tok)
		if err != nil || parsed.TenantID != f.tn.ID || parsed.RequestID != req || parsed.Recipient != "stripe" {
			t.Fatalf("parsed = %+v, %v", parsed, err)
		}
		if _, err := f.svc.Acknowledge(f.ctx, tok[:len(tok)-2]+"AA"); !errors.Is(err, fulfil.ErrBadToken) {
			t.Fatalf("forged token: %v", err)
		}
		// Endpoints: unknown recipient keys and bad URLs are refused.
		var ie *fulfil.InputError
		if _, err := f.svc.SetEndpoint(f.ctx, f.tn.ID, "acme", "https://x.example/h", "callback", "a"); !errors.As(err, &ie) || !strings.Contains(err.Error(), "key") {
			t.Fatalf("unknown recipient: %v", err)
		}
		if _, err := f.svc.SetEndpoint(f.ctx, f.tn.ID, "stripe", "ftp://user:pw@x.example/h", "sometimes", "a"); !errors.As(err, &ie) || len(ie.Problems) != 2 {
			t.Fatalf("bad url and ack: %v", err)
		}
		list, err := f.svc.ListRecipients(f.ctx, f.tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if (r.Key == "stripe") != r.Endpoint {
				t.Fatalf("recipient %s endpoint=%v", r.Key, r.Endpoint)
			}
		}
		if list2, _ := f.svc.ListRecipients(f.ctx, other.ID); slices.ContainsFunc(list2, func(r fulfil.RecipientInfo) bool { return r.Endpoint }) {
			t.Fatal("other tenant sees an endpoint")
		}
		if err := f.svc.DeleteEndpoint(f.ctx, other.ID, "stripe", "a"); !errors.Is(err, fulfil.ErrNotFound) {
			t.Fatalf("other tenant deletes: %v", err)
		}
		if err := f.svc.DeleteEndpoint(f.ctx, f.tn.ID, "stripe", "a"); err != nil {
			t.Fatal(err)
		}
		req2 := store.NewID()
		f.fulfil(fulfil.Input{RequestID: req2, SubjectID: subj, Type: policy.ReqRestriction, Ground: store.GroundUnlawfulProcessing})
		if got := f.statuses(req2)["stripe"]; got.State != fulfil.RecipientManual {
			t.Fatalf("stripe without endpoint = %+v", got)
		}
	})
}

func TestInputShape(t *testing.T) {
	f := newFx(t, storetest.OpenSQLite(t))
	subj := f.person(f.tn.ID, "b@example.com")
	cases := []struct {
		name string
		in   fulfil.Input
		want string
	}{
		{"unused field", fulfil.Input{Type: policy.ReqAccess, Fields: map[string]json.RawMessage{"name": nil}}, "fields"},
		{"bad ground", fulfil.Input{Type: policy.ReqRestriction, Ground: "because"}, "ground"},
		{"unknown category", fulfil.Input{Type: policy.ReqRestriction, Ground: store.GroundUnlawfulProcessing, Categories: []string{"user.shoes"}}, "categories[0]"},
		{"unknown allowed purpose", fulfil.Input{Type: policy.ReqRestriction, Ground: store.GroundUnlawfulProcessing, AllowedPurposes: []string{"fun"}}, "allowed_purposes[0]"},
		{"withdraw non-consent purpose", fulfil.Input{Type: policy.ReqWithdrawConsent, Purpose: "account"}, "purpose"},
		{"bad objection kind", fulfil.Input{Type: policy.ReqObjection, ObjectionKind: "loud"}, "objection_kind"},
		{"bad transmit url", fulfil.Input{Type: policy.ReqPortability, TransmitURL: "javascript:alert(1)"}, "transmit_url"},
		{"unknown type", fulfil.Input{Type: "teleport"}, "type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.TenantID, in.RequestID, in.SubjectID, in.Actor = f.tn.ID, store.NewID(), subj, "staff:x"
			_, err := f.svc.Fulfil(f.ctx, in)
			var ie *fulfil.InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want an input error naming %s", err, tc.want)
			}
		})
	}
	var n int
	if err := f.st.Read(f.ctx, func(tx store.Tx) error {
		rs, err := tx.ListRestrictions(f.tn.ID, subj)
		n = len(rs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("bad input wrote a restriction")
	}
}

func FuzzParseAckToken(f *testing.F) {
	f.Add("AQAAAAAAAAAAAAAAAAAAAAAAAnIxc3RyaXBlAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := fulfil.ParseAckToken(s)
		if err != nil {
			if !errors.Is(err, fulfil.ErrBadToken) {
				t.Fatalf("error %v is not ErrBadToken", err)
			}
			return
		}
		if tok.RequestID == "" || tok.Recipient == "" || tok.TenantID == "" {
			t.Fatalf("accepted token with empty parts: %+v", tok)
		}
	})
}
