package fulfil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/inputerr"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Options are what a Service works with. Store, Tenants, Vault, Consent,
// Outbox, Audit and Keys are required; Exporter is required for access and
// portability requests.
type Options struct {
	Store    store.Store
	Tenants  *tenant.Service
	Vault    *vault.Service
	Consent  *consent.Service
	Outbox   *outbox.Outbox
	Audit    *audit.Log
	Keys     *keys.Manager
	Exporter Exporter
	// Jobs runs the scheduled lifting of restrictions; set by RegisterJobs.
	Jobs *jobs.Runner
	// PublicURL is the base URL Trustee is reached at from outside (e.g.
	// https://privacy.example.com), so acknowledgement links sent to
	// recipients are absolute; empty sends the path alone.
	PublicURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives ids and counts, never personal data.
	Logger *slog.Logger
}

// Service carries out approved requests and tracks their propagation to
// recipients. Create it with New; it is safe for concurrent use.
type Service struct {
	o   Options
	log *slog.Logger
}

var _ Fulfiller = (*Service)(nil)

// New returns a Service and registers its observer of propagation
// webhooks on the outbox (register before delivery starts).
func New(o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	s := &Service{o: o, log: log.With("component", "fulfil")}
	if o.Outbox != nil {
		o.Outbox.Observe(topicPrefix, s.observe)
	}
	return s
}

func (s *Service) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now().UTC()
	}
	return time.Now().UTC()
}

// Errors callers branch on. Messages never contain personal data.
var (
	// ErrNotFound: the subject, request or recipient does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNoPolicy: the tenant has no policy yet.
	ErrNoPolicy = errors.New("the tenant has no policy yet")
	// ErrErased: the subject is erased, so the request cannot change it.
	ErrErased = errors.New("the subject has been erased")
	// ErrNoExporter: access and portability need an Exporter.
	ErrNoExporter = errors.New("fulfil: no exporter configured")
	// ErrConflict: the state has moved on (e.g. marking handled a
	// recipient that acknowledged already).
	ErrConflict = errors.New("the recipient's state does not allow this")
)

// Audit actions of this package.
const (
	actFulfil      = "request.fulfil"
	actAck         = "propagation.acknowledge"
	actHandled     = "propagation.handled"
	actEndpointSet = "recipient.endpoint_set"
	actEndpointDel = "recipient.endpoint_delete"
)

// mapErr translates the errors of the services this package calls.
func mapErr(err error) error {
	var vie *vault.InputError
	var cie *consent.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &vie):
		var ie InputError
		for _, p := range vie.Problems {
			ie.Add("fields."+p.Field, "%s", p.Message)
		}
		return &ie
	case errors.As(err, &cie):
		var ie InputError
		for _, p := range cie.Problems {
			ie.Add(p.Field, "%s", p.Message)
		}
		return &ie
	case errors.Is(err, vault.ErrNotFound), errors.Is(err, consent.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, vault.ErrNoPolicy), errors.Is(err, consent.ErrNoPolicy), errors.Is(err, tenant.ErrNoPolicy):
		return ErrNoPolicy
	case errors.Is(err, vault.ErrErased), errors.Is(err, consent.ErrErased):
		return ErrErased
	case errors.Is(err, consent.ErrUnknownPurpose), errors.Is(err, vault.ErrUnknownPurpose):
		return inputErr("purpose", "is not a purpose of the policy that allows this")
	}
	return err
}

// Fulfil carries out the request (see the package documentation and
// docs/propagation.md for what each type does). It is idempotent per
// RequestID: once a request is recorded as fulfilled, Fulfil returns the
// stored Result (without one-time secrets) and does nothing; a run cut
// short before that is finished by running it again, every step being
// safe to repeat.
func (s *Service) Fulfil(ctx context.Context, in Input) (Result, error) {
	if err := s.check(in); err != nil {
		return Result{}, err
	}
	if r, ok, err := s.stored(ctx, in.TenantID, in.RequestID); err != nil || ok {
		return r, err
	}
	a, err := s.o.Tenants.Active(ctx, in.TenantID)
	if err != nil {
		return Result{}, mapErr(err)
	}
	doc := a.Doc
	if err := checkAgainstPolicy(doc, in); err != nil {
		return Result{}, err
	}
	var subj store.Subject
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		subj, err = tx.GetSubject(in.TenantID, in.SubjectID)
		return err
	}); err != nil {
		return Result{}, mapErr(err)
	}
	if subj.State == store.SubjectErased && !erasing(in.Type) && in.Type != policy.ReqCCPAOptOut {
		return Result{}, ErrErased
	}
	w := &work{in: in, doc: doc, res: Result{Recipients: 0}}
	switch in.Type {
	case policy.ReqAccess, policy.ReqCCPAKnow, policy.ReqPortability:
		err = s.export(ctx, w)
	case policy.ReqErasure, policy.ReqCCPADelete:
		err = s.erase(ctx, w)
	case policy.ReqRestriction:
		s.restrict(w)
	case policy.ReqCCPALimit:
		s.limit(w)
	case policy.ReqObjection:
		err = s.object(ctx, w)
	case policy.ReqWithdrawConsent:
		err = s.withdraw(ctx, w)
	case policy.ReqCCPAOptOut:
		err = s.optOut(ctx, w)
	case policy.ReqRectification, policy.ReqCCPACorrect:
		err = s.rectify(ctx, w)
	}
	if err != nil {
		return Result{}, mapErr(err)
	}
	if err := s.finish(ctx, w); err != nil {
		return Result{}, mapErr(err)
	}
	return w.res, nil
}

// work is one Fulfil call in progress.
type work struct {
	in  Input
	doc *policy.Document
	res Result
	// action and cats say what to pass on to recipients: "" for nothing.
	action string
	cats   []string
	// inTx runs in the final transaction (controls to add).
	inTx []func(tx store.Tx, now time.Time) error
	// auditCats are the categories the audit event names.
	auditCats []string
	// transmit is a portability export to send to another controller.
	transmit *outbox.Webhook
	// erased says an erasure ran: the application is told.
	erased bool
}

func erasing(t policy.RequestType) bool { return t == policy.ReqErasure || t == policy.ReqCCPADelete }

// check validates the shape of the input: only the fields the type uses.
func (s *Service) check(in Input) error {
	var ie InputError
	if in.TenantID == "" {
		ie.Add("tenant_id", "is required")
	}
	if !requestIDRE.MatchString(in.RequestID) {
		ie.Add("request_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -")
	}
	if in.SubjectID == "" || len(in.SubjectID) > 128 {
		ie.Add("subject_id", "is required")
	}
	if in.Actor == "" || len(in.Actor) > 128 {
		ie.Add("actor", "is required (who approved the request)")
	}
	if !slices.Contains(policy.RequestTypes, in.Type) {
		ie.Add("type", "is not a request type")
		return ie.Err()
	}
	uses := map[string]bool{}
	switch in.Type {
	case policy.ReqRestriction:
		uses = map[string]bool{"categories": true, "ground": true, "allowed_purposes": true, "reason": true}
	case policy.ReqObjection:
		uses = map[string]bool{"purpose": true, "objection_kind": true, "reason": true}
	case policy.ReqWithdrawConsent:
		uses = map[string]bool{"purpose": true}
	case policy.ReqCCPALimit:
		uses = map[string]bool{"categories": true, "reason": true}
	case policy.ReqErasure, policy.ReqCCPADelete:
		uses = map[string]bool{"categories": true}
	case policy.ReqRectification, policy.ReqCCPACorrect:
		uses = map[string]bool{"fields": true}
	case policy.ReqPortability:
		uses = map[string]bool{"transmit_url": true}
	}
	for name, set := range map[string]bool{
		"categories": len(in.Categories) > 0, "purpose": in.Purpose != "", "objection_kind": in.ObjectionKind != "",
		"ground": in.Ground != "", "allowed_purposes": len(in.AllowedPurposes) > 0, "fields": len(in.Fields) > 0,
		"transmit_url": in.TransmitURL != "",
	} {
		if set && !uses[name] {
			ie.Add(name, "is not used by a %s request and must be empty", in.Type)
		}
	}
	// Reason is the person's own words, which intake may collect for any
	// type: it is ignored (never stored or logged) where no control holds
	// it, rather than refused.
	if len(in.Reason) > 1024 {
		ie.Add("reason", "must be at most 1024 characters")
	}
	switch in.Type {
	case policy.ReqRestriction:
		switch in.Ground {
		case store.GroundAccuracyContested, store.GroundUnlawfulProcessing, store.GroundNoLongerNeededButClaims, store.GroundObjectionPending:
		default:
			ie.Add("ground", "must be one of accuracy_contested, unlawful_processing, no_longer_needed_but_claims, objection_pending (GDPR Art. 18(1))")
		}
	case policy.ReqObjection:
		switch in.ObjectionKind {
		case store.ObjectDirectMarketing, store.ObjectLegitimateInterest, store.ObjectPublicTask:
		default:
			ie.Add("objection_kind", "must be direct_marketing, legitimate_interest or public_task")
		}
	case policy.ReqRectification, policy.ReqCCPACorrect:
		if len(in.Fields) == 0 {
			ie.Add("fields", "the corrected values are required")
		}
	case policy.ReqPortability:
		if in.TransmitURL != "" {
			if err := checkWebhookURL(in.TransmitURL); err != nil {
				ie.Add("transmit_url", "%s", err.Error())
			}
		}
	}
	return ie.Err()
}

// checkAgainstPolicy checks the keys the input names against the policy.
func checkAgainstPolicy(doc *policy.Document, in Input) error {
	var ie InputError
	for i, c := range in.Categories {
		if !doc.Taxonomy().Has(c) {
			ie.Add(fmt.Sprintf("categories[%d]", i), "%q is not a data category of the policy", c)
		}
	}
	for i, p := range in.AllowedPurposes {
		if doc.PurposeByKey(p) == nil {
			ie.Add(fmt.Sprintf("allowed_purposes[%d]", i), "%q is not a purpose of the policy", p)
		}
	}
	if in.Purpose != "" {
		p := doc.PurposeByKey(in.Purpose)
		switch {
		case p == nil:
			ie.Add("purpose", "%q is not a purpose of the policy", in.Purpose)
		case in.Type == policy.ReqWithdrawConsent && p.LegalBasis != policy.BasisConsent:
			ie.Add("purpose", "%q is not based on consent, so there is no consent to withdraw", in.Purpose)
		case in.Type == policy.ReqObjection && in.ObjectionKind == store.ObjectDirectMarketing && !p.DirectMarketing:
			ie.Add("purpose", "%q is not a direct-marketing purpose", in.Purpose)
		}
	}
	return ie.Err()
}

// stored returns the recorded result of a fulfilled request.
func (s *Service) stored(ctx context.Context, tenantID, requestID string) (Result, bool, error) {
	var f store.Fulfilment
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		f, err = tx.GetFulfilment(tenantID, requestID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	var r Result
	if err := json.Unmarshal(f.Result, &r); err != nil {
		return Result{}, false, fmt.Errorf("fulfil: stored result of request: %w", err)
	}
	return r, true, nil
}

func (s *Service) vaultActor(in Input) vault.Actor {
	return vault.Actor{ID: in.Actor, RequestID: in.RequestID}
}

func (s *Service) consentActor(in Input) consent.Actor {
	return consent.Actor{ID: in.Actor, RequestID: in.RequestID}
}

// finish writes, in one transaction, the controls a request creates, the
// propagation rows and webhooks, the application's subject.erased
// webhook, a portability transmission, the fulfilment record and the
// audit event. If another run recorded the request meanwhile, its result
// wins and nothing of this run is written.
func (s *Service) finish(ctx context.Context, w *work) error {
	in := w.in
	targets, err := s.targets(ctx, w)
	if err != nil {
		return err
	}
	app, err := s.endpoint(ctx, in.TenantID, ApplicationKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	tokens := map[string]string{}
	for _, t := range targets {
		if t.ep == nil {
			continue
		}
		tok, err := s.ackToken(ctx, in.TenantID, in.RequestID, t.recipient.Key)
		if err != nil {
			return err
		}
		tokens[t.recipient.Key] = tok
	}
	now := s.now()
	var lost bool
	var stored Result
	err = s.o.Store.Write(ctx, func(tx store.Tx) error {
		lost = false
		res := w.res
		res.Controls = append([]string(nil), w.res.Controls...)
		if f, err := tx.GetFulfilment(in.TenantID, in.RequestID); err == nil {
			lost = true
			return json.Unmarshal(f.Result, &stored)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		for _, fn := range w.inTx {
			if err := fn(tx, now); err != nil {
				return err
			}
		}
		for _, t := range targets {
			p := store.Propagation{TenantID: in.TenantID, RequestID: in.RequestID, Recipient: t.recipient.Key, SubjectID: in.SubjectID,
				Action: w.action, Categories: t.cats, State: store.PropagationManual, CreatedAt: now, UpdatedAt: now}
			if t.ep != nil {
				body, err := json.Marshal(propagationBody{Event: "rights." + w.action, RequestID: in.RequestID, SubjectID: in.SubjectID,
					Action: w.action, Recipient: t.recipient.Key, Categories: t.cats, AckURL: s.ackURL(tokens[t.recipient.Key]),
					AckMode: t.ep.Ack, At: now})
				if err != nil {
					return err
				}
				id, err := s.o.Outbox.Enqueue(tx, outbox.Message{TenantID: in.TenantID, SubjectID: in.SubjectID, Topic: topicPrefix + w.action,
					DedupeKey: "propagation:" + in.RequestID + ":" + t.recipient.Key,
					Webhook:   &outbox.Webhook{URL: t.ep.URL, Secret: t.ep.Secret, Event: "rights." + w.action, Body: body}})
				if err != nil {
					return err
				}
				p.State, p.MessageID, p.Ack = store.PropagationPending, id, t.ep.Ack
			}
			if err := tx.InsertPropagation(p); err != nil {
				return err
			}
		}
		res.Recipients = len(targets)
		if w.erased && app != nil {
			body, err := json.Marshal(erasedBody{Event: EventSubjectErased, SubjectID: in.SubjectID, RequestID: in.RequestID, At: now})
			if err != nil {
				return err
			}
			if _, err := s.o.Outbox.Enqueue(tx, outbox.Message{TenantID: in.TenantID, Topic: "rights.subject_erased",
				DedupeKey: "subject_erased:" + in.RequestID,
				Webhook:   &outbox.Webhook{URL: app.URL, Secret: app.Secret, Event: EventSubjectErased, Body: body}}); err != nil {
				return err
			}
		}
		if w.transmit != nil {
			if _, err := s.o.Outbox.Enqueue(tx, outbox.Message{TenantID: in.TenantID, SubjectID: in.SubjectID, Topic: "rights.portability_transmit",
				DedupeKey: "transmit:" + in.RequestID, Webhook: w.transmit}); err != nil {
				if errors.Is(err, outbox.ErrInvalid) {
					return inputErr("transmit_url", "cannot be sent to: %v", err)
				}
				return err
			}
		}
		if res.Summary == "" {
			res.Summary = summary(in.Type, res)
		}
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		if err := tx.InsertFulfilment(store.Fulfilment{TenantID: in.TenantID, RequestID: in.RequestID, SubjectID: in.SubjectID,
			Type: string(in.Type), Result: b, Actor: in.Actor, CreatedAt: now}); err != nil {
			return err
		}
		ev := audit.Event{Actor: in.Actor, Action: actFulfil, SubjectID: in.SubjectID, RequestID: in.RequestID, Outcome: audit.OutcomeOK,
			Categories: w.auditCats, At: now}
		ev.Reason = fmt.Sprintf("%s fulfilled; %d recipient(s) to tell", in.Type, len(targets))
		if len(targets) > 0 {
			keys := make([]string, len(targets))
			for i, t := range targets {
				keys[i] = t.recipient.Key
			}
			ev.Fields = keys
		}
		if err := s.o.Audit.Append(tx, in.TenantID, ev); err != nil {
			return err
		}
		stored = res
		return nil
	})
	if err != nil {
		return err
	}
	pw, ts := w.res.PDFPassword, w.res.TransmitSecret
	w.res = stored
	if !lost {
		w.res.PDFPassword, w.res.TransmitSecret = pw, ts
	}
	return nil
}

// summary is the outcome in plain words.
func summary(t policy.RequestType, r Result) string {
	var s string
	switch t {
	case policy.ReqAccess, policy.ReqCCPAKnow:
		s = "A copy of your data has been prepared."
	case policy.ReqPortability:
		s = "Your data has been exported in a machine-readable format."
	case policy.ReqErasure, policy.ReqCCPADelete:
		if len(r.Kept) > 0 {
			s = "Your data has been erased, except what the law or a legal hold requires us to keep."
		} else {
			s = "Your data has been erased."
		}
	case policy.ReqRestriction:
		s = "The processing of your data has been restricted."
	case policy.ReqCCPALimit:
		s = "The use of your sensitive personal information has been limited."
	case policy.ReqObjection:
		s = "Your objection has been recorded."
	case policy.ReqWithdrawConsent:
		s = "Your consent has been withdrawn."
	case policy.ReqCCPAOptOut:
		s = "You have opted out of the sale and sharing of your personal information."
	case policy.ReqRectification, policy.ReqCCPACorrect:
		s = "Your data has been corrected."
	}
	if r.Recipients > 0 {
		s += fmt.Sprintf(" %d recipient(s) of your data are being told.", r.Recipients)
	}
	return s
}

func inputErr(field, format string, args ...any) error { return inputerr.New(field, format, args...) }

// InputError is bad input with every mistake located; nothing was changed.
type InputError = inputerr.Error

// FieldProblem is one mistake and the input field it concerns.
type FieldProblem = inputerr.FieldProblem
