package fulfil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Propagation (GDPR Art. 19).
//
// A rectification, erasure or restriction is passed on to every recipient
// of the active policy whose categories overlap the categories concerned:
// a recipient's category covers a concerned one (it received user, we
// erased user.contact.email) or the other way round (it received
// user.contact.email, we restricted all of user). Each gets a row; with an
// endpoint configured it also gets a signed webhook through the outbox
// (topic propagation.<action>, event rights.<action>), and its row follows
// the delivery: delivered (or acknowledged, for endpoints acknowledged on
// delivery), failed when dead-lettered. Without an endpoint the row is
// manual: a person tells the recipient and marks it handled with a note.

const (
	// topicPrefix is the outbox topic prefix of propagation webhooks.
	topicPrefix = "propagation."
	// ApplicationKey is the reserved recipient key of the tenant's own
	// application, which receives subject.erased.
	ApplicationKey = "_application"
	// EventSubjectErased tells the application that an account was
	// erased and can no longer be used.
	EventSubjectErased = "subject.erased"
	// EventExportTransmit carries a portability export's download links
	// to another controller (GDPR Art. 20(2)).
	EventExportTransmit = "export.transmit"
	// sealPurpose is the keys.SealTenant purpose of endpoint secrets.
	sealPurpose = "recipient-endpoint"
	// AckPath is the public acknowledgement path; {token} is replaced.
	AckPath = "/v1/public/propagation/{token}/ack"
)

// propagationBody is the JSON body of a propagation webhook. It names the
// subject by its id, never by any value.
type propagationBody struct {
	Event      string    `json:"event"`
	RequestID  string    `json:"request_id"`
	SubjectID  string    `json:"subject_id"`
	Action     string    `json:"action"`
	Recipient  string    `json:"recipient"`
	Categories []string  `json:"categories"`
	AckURL     string    `json:"ack_url"`
	AckMode    string    `json:"ack_mode"`
	At         time.Time `json:"at"`
}

type erasedBody struct {
	Event     string    `json:"event"`
	SubjectID string    `json:"subject_id"`
	RequestID string    `json:"request_id"`
	At        time.Time `json:"at"`
}

type transmitLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

type transmitBody struct {
	Event     string                  `json:"event"`
	RequestID string                  `json:"request_id"`
	ExportID  string                  `json:"export_id"`
	Links     map[string]transmitLink `json:"links"`
}

func (s *Service) absolute(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return s.o.PublicURL + path
}

func (s *Service) ackURL(token string) string {
	return s.absolute(strings.Replace(AckPath, "{token}", token, 1))
}

// openEndpoint is a recipient endpoint with its URL and secret unsealed.
type openEndpoint struct {
	URL    string
	Secret []byte
	Ack    string
}

type sealedEndpoint struct {
	URL    string `json:"url"`
	Secret []byte `json:"secret"`
}

// endpoint loads and unseals one endpoint; store.ErrNotFound if none.
func (s *Service) endpoint(ctx context.Context, tenantID, key string) (*openEndpoint, error) {
	var e store.RecipientEndpoint
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.GetRecipientEndpoint(tenantID, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.open(ctx, e)
}

func (s *Service) open(ctx context.Context, e store.RecipientEndpoint) (*openEndpoint, error) {
	plain, err := s.o.Keys.OpenTenant(ctx, e.TenantID, sealPurpose, []byte(e.Recipient), e.Sealed)
	if err != nil {
		return nil, fmt.Errorf("fulfil: opening the endpoint of %s: %w", e.Recipient, err)
	}
	defer clear(plain)
	var se sealedEndpoint
	if err := json.Unmarshal(plain, &se); err != nil {
		return nil, fmt.Errorf("fulfil: endpoint of %s: %w", e.Recipient, err)
	}
	return &openEndpoint{URL: se.URL, Secret: se.Secret, Ack: e.Ack}, nil
}

// target is one recipient to tell.
type target struct {
	recipient *policy.Recipient
	cats      []string
	ep        *openEndpoint
}

// overlap returns the categories concerned that a recipient received: for
// each pair where one covers the other, the narrower one.
func overlap(tax *policy.Taxonomy, received, concerned []string) []string {
	set := map[string]bool{}
	for _, c := range concerned {
		for _, r := range received {
			switch {
			case tax.Covers(r, c):
				set[c] = true
			case tax.Covers(c, r):
				set[r] = true
			}
		}
	}
	return sortedKeys(set)
}

// targets works out the recipients to tell and opens their endpoints.
func (s *Service) targets(ctx context.Context, w *work) ([]target, error) {
	if w.action == "" {
		return nil, nil
	}
	in := w.in
	cats := w.cats
	if len(cats) == 0 && w.action == "restriction" {
		// A restriction of all the subject's data concerns what it holds.
		if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			cats, err = subjectCategories(tx, w.doc, in.TenantID, in.SubjectID)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if len(cats) == 0 {
		return nil, nil
	}
	var eps []store.RecipientEndpoint
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		eps, err = tx.ListRecipientEndpoints(in.TenantID)
		return err
	}); err != nil {
		return nil, err
	}
	byKey := map[string]store.RecipientEndpoint{}
	for _, e := range eps {
		byKey[e.Recipient] = e
	}
	var out []target
	for i := range w.doc.Policy.Recipients {
		r := &w.doc.Policy.Recipients[i]
		got := overlap(w.doc.Taxonomy(), r.Categories, cats)
		if len(got) == 0 {
			continue
		}
		t := target{recipient: r, cats: got}
		if e, ok := byKey[r.Key]; ok {
			ep, err := s.open(ctx, e)
			if err != nil {
				return nil, err
			}
			t.ep = ep
		}
		out = append(out, t)
	}
	return out, nil
}

// observe follows the delivery of propagation webhooks, in the
// transaction that records the outcome.
func (s *Service) observe(tx store.Tx, o outbox.Outcome) error {
	p, err := tx.PropagationByMessage(o.TenantID, o.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var to, note, actor string
	var from []string
	switch o.State {
	case outbox.Delivered:
		to, from = store.PropagationDelivered, []string{store.PropagationPending, store.PropagationFailed}
		if p.Ack == store.AckOnDelivery {
			to, note = store.PropagationAcknowledged, "acknowledged by delivery"
		}
	case outbox.Dead:
		to, from = store.PropagationFailed, []string{store.PropagationPending}
		note = "delivery failed: " + o.Error
	case outbox.Handled:
		to, from = store.PropagationHandled, []string{store.PropagationPending, store.PropagationFailed, store.PropagationDelivered}
		note, actor = o.Note, o.Actor
	case outbox.Cancelled:
		to, from = store.PropagationFailed, []string{store.PropagationPending}
		note = "the webhook was cancelled: " + o.Note
	default:
		return nil
	}
	if len(note) > 1000 {
		note = note[:1000]
	}
	err = tx.MovePropagation(o.TenantID, p.RequestID, p.Recipient, from, to, note, actor, o.At)
	if errors.Is(err, store.ErrConflict) {
		// Acknowledged or handled already: the outcome changes nothing.
		return nil
	}
	return err
}

// Recipients lists the propagation status of the request.
func (s *Service) Recipients(ctx context.Context, tenantID, requestID string) ([]RecipientStatus, error) {
	var rows []store.Propagation
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListPropagations(tenantID, requestID)
		return err
	}); err != nil {
		return nil, err
	}
	names := map[string]string{}
	if a, err := s.o.Tenants.Active(ctx, tenantID); err == nil {
		for _, r := range a.Doc.Policy.Recipients {
			names[r.Key] = r.Name
		}
	}
	out := make([]RecipientStatus, 0, len(rows))
	for _, p := range rows {
		out = append(out, statusOf(p, names[p.Recipient]))
	}
	return out, nil
}

func statusOf(p store.Propagation, name string) RecipientStatus {
	if name == "" {
		name = p.Recipient
	}
	cats := p.Categories
	if cats == nil {
		cats = []string{}
	}
	return RecipientStatus{Recipient: p.Recipient, Name: name, Categories: cats, State: p.State, Note: p.Note, UpdatedAt: p.UpdatedAt}
}

// maxNote bounds a handled note.
const maxNote = 1000

// MarkHandled records that a person told the recipient by hand: from
// manual, failed, pending or delivered to handled, with the note. A queued
// or dead webhook of the recipient is closed as handled too, so it stops
// retrying. ErrConflict if it is acknowledged or handled already.
func (s *Service) MarkHandled(ctx context.Context, tenantID, requestID, recipient, note, actor string) error {
	note, actor = strings.TrimSpace(note), strings.TrimSpace(actor)
	if note == "" || len(note) > maxNote {
		return inputErr("note", "a note of 1 to %d characters saying how the recipient was told is required", maxNote)
	}
	if actor == "" || len(actor) > 128 {
		return inputErr("actor", "is required")
	}
	now := s.now()
	err := s.o.Store.Write(ctx, func(tx store.Tx) error {
		p, err := tx.GetPropagation(tenantID, requestID, recipient)
		if err != nil {
			return err
		}
		if err := tx.MovePropagation(tenantID, requestID, recipient,
			[]string{store.PropagationManual, store.PropagationFailed, store.PropagationPending, store.PropagationDelivered},
			store.PropagationHandled, note, actor, now); err != nil {
			return err
		}
		if p.MessageID != "" {
			st, err := s.o.Outbox.GetTx(tx, tenantID, p.MessageID)
			if err != nil && !errors.Is(err, outbox.ErrNotFound) {
				return err
			}
			if err == nil && !st.State.Final() {
				if err := s.o.Outbox.Cancel(tx, tenantID, p.MessageID, "the recipient was told by hand"); err != nil && !errors.Is(err, outbox.ErrFinal) {
					return err
				}
			}
		}
		return s.o.Audit.Append(tx, tenantID, audit.Event{Actor: actor, Action: actHandled, SubjectID: p.SubjectID, RequestID: requestID,
			Outcome: audit.OutcomeOK, Fields: []string{recipient}, Categories: p.Categories, Reason: "recipient told by hand", At: now})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return ErrConflict
	}
	return err
}

// Acknowledge records a recipient's acknowledgement from a verified
// token: pending, delivered, failed or manual becomes acknowledged, once.
// Acknowledging again (or after a person handled it) changes nothing and
// returns the current status, so a receiver may retry safely.
func (s *Service) Acknowledge(ctx context.Context, token string) (RecipientStatus, error) {
	t, err := s.VerifyAckToken(ctx, token)
	if err != nil {
		return RecipientStatus{}, err
	}
	now := s.now()
	var p store.Propagation
	err = s.o.Store.Write(ctx, func(tx store.Tx) error {
		var err error
		err = tx.MovePropagation(t.TenantID, t.RequestID, t.Recipient,
			[]string{store.PropagationPending, store.PropagationDelivered, store.PropagationFailed, store.PropagationManual},
			store.PropagationAcknowledged, "acknowledged by the recipient", "recipient:"+t.Recipient, now)
		moved := err == nil
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		if p, err = tx.GetPropagation(t.TenantID, t.RequestID, t.Recipient); err != nil {
			return err
		}
		if !moved {
			return nil
		}
		return s.o.Audit.Append(tx, t.TenantID, audit.Event{Actor: "recipient:" + t.Recipient, Action: actAck, SubjectID: p.SubjectID,
			RequestID: t.RequestID, Outcome: audit.OutcomeOK, Fields: []string{t.Recipient}, Categories: p.Categories, At: now})
	})
	if errors.Is(err, store.ErrNotFound) {
		return RecipientStatus{}, ErrBadToken
	}
	if err != nil {
		return RecipientStatus{}, err
	}
	return statusOf(p, ""), nil
}

// ---- recipient endpoints ----

// RecipientInfo is one recipient of the policy (or the application) and
// whether it has an endpoint; never the URL's path or the secret.
type RecipientInfo struct {
	Key        string     `json:"key" doc:"Recipient key from the policy, or _application for the tenant's own application."`
	Name       string     `json:"name"`
	Categories []string   `json:"categories" doc:"Data categories the recipient receives."`
	Endpoint   bool       `json:"endpoint" doc:"Whether a webhook endpoint is configured."`
	Host       string     `json:"host,omitempty" doc:"The endpoint's host."`
	Ack        string     `json:"ack,omitempty" enum:"callback,on_delivery" doc:"How the recipient acknowledges."`
	UpdatedAt  *time.Time `json:"updated_at,omitempty" doc:"When the endpoint was last set."`
}

// ListRecipients returns the policy's recipients and the application,
// with their endpoint configuration.
func (s *Service) ListRecipients(ctx context.Context, tenantID string) ([]RecipientInfo, error) {
	a, err := s.o.Tenants.Active(ctx, tenantID)
	if err != nil {
		return nil, mapErr(err)
	}
	var eps []store.RecipientEndpoint
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		eps, err = tx.ListRecipientEndpoints(tenantID)
		return err
	}); err != nil {
		return nil, err
	}
	byKey := map[string]store.RecipientEndpoint{}
	for _, e := range eps {
		byKey[e.Recipient] = e
	}
	out := []RecipientInfo{{Key: ApplicationKey, Name: "Your application (receives subject.erased)", Categories: []string{}}}
	for _, r := range a.Doc.Policy.Recipients {
		cats := r.Categories
		if cats == nil {
			cats = []string{}
		}
		out = append(out, RecipientInfo{Key: r.Key, Name: r.Name, Categories: cats})
	}
	for i := range out {
		if e, ok := byKey[out[i].Key]; ok {
			u := e.UpdatedAt
			out[i].Endpoint, out[i].Host, out[i].Ack, out[i].UpdatedAt = true, e.Host, e.Ack, &u
		}
	}
	return out, nil
}

// checkWebhookURL applies the outbox's rules for webhook URLs up front, so
// a bad one is refused when it is set rather than dead-lettered later.
func checkWebhookURL(raw string) error {
	if len(raw) > 2048 {
		return errors.New("must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials (user:password@)")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment")
	}
	return nil
}

// EndpointSet is the answer to setting an endpoint: the signing secret,
// shown this once.
type EndpointSet struct {
	RecipientInfo
	Secret string `json:"secret" doc:"The HMAC-SHA256 signing secret of the webhooks (hex). Shown only now: store it with the receiver."`
}

// SetEndpoint configures (or replaces) the webhook endpoint of a recipient
// of the active policy, or of the application (ApplicationKey), with a new
// signing secret, returned once. The URL and secret are sealed under the
// tenant's key; the audit records the recipient and host.
func (s *Service) SetEndpoint(ctx context.Context, tenantID, key, rawURL, ack, actor string) (EndpointSet, error) {
	var ie InputError
	if err := checkWebhookURL(rawURL); err != nil {
		ie.Add("url", "%s", err.Error())
	}
	if ack == "" {
		ack = store.AckCallback
	}
	if ack != store.AckCallback && ack != store.AckOnDelivery {
		ie.Add("ack", "must be callback or on_delivery")
	}
	a, err := s.o.Tenants.Active(ctx, tenantID)
	if err != nil {
		return EndpointSet{}, mapErr(err)
	}
	var rec *policy.Recipient
	if key != ApplicationKey {
		if rec = a.Doc.RecipientByKey(key); rec == nil {
			ie.Add("key", "%q is not a recipient of the active policy (or %s)", key, ApplicationKey)
		}
	}
	if err := ie.Err(); err != nil {
		return EndpointSet{}, err
	}
	if err := s.o.Keys.EnsureTenant(ctx, tenantID); err != nil {
		return EndpointSet{}, err
	}
	u, _ := url.Parse(rawURL)
	secret := make([]byte, 32)
	rand.Read(secret)
	hexSecret := hex.EncodeToString(secret)
	plain, err := json.Marshal(sealedEndpoint{URL: rawURL, Secret: []byte(hexSecret)})
	if err != nil {
		return EndpointSet{}, err
	}
	sealed, err := s.o.Keys.SealTenant(ctx, tenantID, sealPurpose, []byte(key), plain)
	clear(plain)
	if err != nil {
		return EndpointSet{}, err
	}
	now := s.now()
	e := store.RecipientEndpoint{TenantID: tenantID, Recipient: key, Host: u.Hostname(), Sealed: sealed, Ack: ack, Actor: actor, CreatedAt: now, UpdatedAt: now}
	err = s.o.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.PutRecipientEndpoint(e); err != nil {
			return err
		}
		return s.o.Audit.Append(tx, tenantID, audit.Event{Actor: actor, Action: actEndpointSet, Outcome: audit.OutcomeOK,
			Fields: []string{key}, Reason: "webhook endpoint at " + e.Host + ", ack " + ack, At: now})
	})
	if err != nil {
		return EndpointSet{}, err
	}
	info := RecipientInfo{Key: key, Name: "Your application (receives subject.erased)", Categories: []string{}, Endpoint: true, Host: e.Host, Ack: ack, UpdatedAt: &now}
	if rec != nil {
		info.Name, info.Categories = rec.Name, rec.Categories
	}
	return EndpointSet{RecipientInfo: info, Secret: hexSecret}, nil
}

// DeleteEndpoint removes a recipient's endpoint: later propagations to it
// are manual. Webhooks already queued keep their URL. ErrNotFound if none.
func (s *Service) DeleteEndpoint(ctx context.Context, tenantID, key, actor string) error {
	if !recipientKeyRE.MatchString(key) {
		return ErrNotFound
	}
	now := s.now()
	err := s.o.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.DeleteRecipientEndpoint(tenantID, key); err != nil {
			return err
		}
		return s.o.Audit.Append(tx, tenantID, audit.Event{Actor: actor, Action: actEndpointDel, Outcome: audit.OutcomeOK,
			Fields: []string{key}, At: now})
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// tenantMissing reports whether err says the tenant does not exist.
func tenantMissing(err error) bool { return errors.Is(err, tenant.ErrTenantNotFound) }
