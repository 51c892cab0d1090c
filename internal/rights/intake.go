package rights

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/clock"
	"github.com/trustee-privacy/trustee/internal/identity"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Input is a new request.
type Input struct {
	Type string `json:"type"`
	// Jurisdiction is the law the request is made under; empty picks ccpa
	// for ccpa_* types and the policy's GDPR (or UK GDPR) otherwise.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// SubjectID names the subject when the caller knows it (an
	// application acting for its signed-in user, staff who looked the
	// person up). Public requests never set it.
	SubjectID string `json:"subject_id,omitempty"`
	// Identity is how the person identified themselves; it is matched by
	// blind index and never stored.
	Identity *IdentityInput `json:"identity,omitempty"`
	// Channel is api, privacy_center or staff.
	Channel string `json:"channel,omitempty"`
	// StaffVia is how the person reached staff: phone, letter, email or
	// in_person (staff channel only).
	StaffVia string `json:"staff_via,omitempty"`
	// SubjectToken is a signed subject token from the application
	// (app_token verification), if the person is signed in there.
	SubjectToken string `json:"subject_token,omitempty"`
	// Site is the privacy center site (public intake).
	Site string `json:"-"`
	Details
}

// IdentityInput is an identifier the person gave.
type IdentityInput struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// StaffVias are the ways a person reaches staff.
var StaffVias = []string{"phone", "letter", "email", "in_person"}

// Limits on request input.
const (
	maxReason     = 2000
	maxListItems  = 64
	maxFields     = 64
	maxFieldValue = 8 << 10
	maxURL        = 2048
	maxInputBytes = 64 << 10
	maxStaffNote  = 1024
)

// DecodeInput reads a request body strictly: unknown fields, trailing data
// and bodies over 64 KiB are refused, so a typo never silently drops what
// the person asked for. It does not check the policy; see Validate.
func DecodeInput(data []byte) (Input, error) {
	var in Input
	if len(data) > maxInputBytes {
		return in, inputErr("body", "is larger than %d bytes", maxInputBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Input{}, inputErr("body", "%s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Input{}, inputErr("body", "has data after the JSON object")
	}
	return in, nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s has the wrong type (want %s)", te.Field, te.Type)
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return strings.TrimPrefix(msg, "json: ")
}

// defaultJurisdiction picks the law of a type under a policy.
func defaultJurisdiction(doc *policy.Document, typ policy.RequestType) policy.Jurisdiction {
	if strings.HasPrefix(string(typ), "ccpa_") {
		return policy.CCPA
	}
	for _, j := range []policy.Jurisdiction{policy.GDPR, policy.UKGDPR} {
		if doc.Applies(j) {
			return j
		}
	}
	return policy.GDPR
}

// Validate checks in against the policy and returns every problem at once,
// naming the fields. It normalises in (jurisdiction, channel, trimmed
// text) and never panics, whatever in holds.
func Validate(doc *policy.Document, in *Input) error {
	e := &InputError{}
	typ := policy.RequestType(in.Type)
	if !slices.Contains(policy.RequestTypes, typ) {
		e.Add("type", "%q is not a request type (one of %s)", in.Type, joinTypes())
		return e
	}
	if in.Jurisdiction == "" {
		in.Jurisdiction = string(defaultJurisdiction(doc, typ))
	}
	j := policy.Jurisdiction(in.Jurisdiction)
	ccpaType := strings.HasPrefix(in.Type, "ccpa_")
	switch {
	case j != policy.GDPR && j != policy.UKGDPR && j != policy.CCPA:
		e.Add("jurisdiction", "%q is not gdpr, uk_gdpr or ccpa", in.Jurisdiction)
	case !doc.Applies(j):
		e.Add("jurisdiction", "the policy does not list %s among its jurisdictions", j)
	case ccpaType && j != policy.CCPA:
		e.Add("jurisdiction", "%s is a CCPA request type; its jurisdiction must be ccpa", in.Type)
	case !ccpaType && j == policy.CCPA:
		e.Add("type", "%s is a GDPR right; under the CCPA use ccpa_know, ccpa_delete, ccpa_correct, ccpa_opt_out or ccpa_limit", in.Type)
	}
	if in.Channel == "" {
		in.Channel = ChannelAPI
	}
	switch in.Channel {
	case ChannelAPI, ChannelPrivacyCenter:
		if in.StaffVia != "" {
			e.Add("staff_via", "only requests taken by staff say how the person reached them")
		}
	case ChannelStaff:
		if !slices.Contains(StaffVias, in.StaffVia) {
			e.Add("staff_via", "must be one of %s for a request taken by staff", strings.Join(StaffVias, ", "))
		}
	default:
		e.Add("channel", "%q is not api, privacy_center or staff", in.Channel)
	}
	if in.SubjectID == "" && in.Identity == nil {
		e.Add("identity", "give the person's identity (kind and value) or subject_id")
	}
	if in.SubjectID != "" && !validID(in.SubjectID) {
		e.Add("subject_id", "must be a subject id (UUID)")
	}
	if in.Identity != nil {
		if !slices.Contains(identity.Kinds, in.Identity.Kind) {
			e.Add("identity.kind", "%q is not one of %s", in.Identity.Kind, strings.Join(identity.Kinds, ", "))
		} else if _, err := identity.Normalize(in.Identity.Kind, in.Identity.Value, doc.Policy.Controller.Country); err != nil {
			e.Add("identity.value", "is not a valid %s", in.Identity.Kind)
		}
	}
	if len(in.SubjectToken) > maxTokenLen {
		e.Add("subject_token", "is too long")
	}
	validateDetails(doc, typ, &in.Details, e)
	return e.Err()
}

func joinTypes() string {
	s := make([]string, len(policy.RequestTypes))
	for i, t := range policy.RequestTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// uses says which details each type reads.
var uses = map[policy.RequestType][]string{
	policy.ReqPortability:     {"transmit_url"},
	policy.ReqRectification:   {"fields"},
	policy.ReqCCPACorrect:     {"fields"},
	policy.ReqErasure:         {"categories"},
	policy.ReqCCPADelete:      {"categories"},
	policy.ReqRestriction:     {"categories", "ground", "allowed_purposes"},
	policy.ReqObjection:       {"categories", "purpose", "objection_kind"},
	policy.ReqWithdrawConsent: {"purpose"},
	policy.ReqCCPALimit:       {"categories"},
}

var grounds = []string{store.GroundAccuracyContested, store.GroundUnlawfulProcessing, store.GroundNoLongerNeededButClaims, store.GroundObjectionPending}
var objectionKinds = []string{store.ObjectDirectMarketing, store.ObjectLegitimateInterest, store.ObjectPublicTask}

func validateDetails(doc *policy.Document, typ policy.RequestType, d *Details, e *InputError) {
	allowed := uses[typ]
	present := map[string]bool{
		"categories": len(d.Categories) > 0, "purpose": d.Purpose != "", "objection_kind": d.ObjectionKind != "", "ground": d.Ground != "",
		"allowed_purposes": len(d.AllowedPurposes) > 0, "fields": len(d.Fields) > 0, "transmit_url": d.TransmitURL != "",
	}
	for _, name := range []string{"categories", "purpose", "objection_kind", "ground", "allowed_purposes", "fields", "transmit_url"} {
		if present[name] && !slices.Contains(allowed, name) {
			e.Add(name, "is not used by a %s request", typ)
		}
	}
	d.Reason = strings.TrimSpace(d.Reason)
	if len(d.Reason) > maxReason || !utf8.ValidString(d.Reason) {
		e.Add("reason", "must be at most %d bytes of text", maxReason)
	}
	if len(d.Categories) > maxListItems {
		e.Add("categories", "at most %d", maxListItems)
	} else {
		for _, c := range d.Categories {
			if !doc.Taxonomy().Has(c) {
				e.Add("categories", "%q is not a data category of the policy", trunc(c))
			}
		}
	}
	switch typ {
	case policy.ReqRectification, policy.ReqCCPACorrect:
		if len(d.Fields) == 0 {
			e.Add("fields", "give the corrected values, by field name")
		}
		if len(d.Fields) > maxFields {
			e.Add("fields", "at most %d", maxFields)
			break
		}
		for name, v := range d.Fields {
			if doc.FieldByName(name) == nil {
				e.Add("fields", "%q is not a field declared in the policy", trunc(name))
			} else if len(v) > maxFieldValue || !json.Valid(v) {
				e.Add("fields."+name, "must be a JSON value of at most %d bytes", maxFieldValue)
			}
		}
	case policy.ReqRestriction:
		if !slices.Contains(grounds, d.Ground) {
			e.Add("ground", "must be one of %s (GDPR Art. 18(1))", strings.Join(grounds, ", "))
		}
		if len(d.AllowedPurposes) > maxListItems {
			e.Add("allowed_purposes", "at most %d", maxListItems)
		} else {
			for _, p := range d.AllowedPurposes {
				if doc.PurposeByKey(p) == nil {
					e.Add("allowed_purposes", "%q is not a purpose of the policy", trunc(p))
				}
			}
		}
	case policy.ReqObjection:
		if !slices.Contains(objectionKinds, d.ObjectionKind) {
			e.Add("objection_kind", "must be one of %s", strings.Join(objectionKinds, ", "))
		}
		if d.Purpose != "" {
			p := doc.PurposeByKey(d.Purpose)
			switch {
			case p == nil:
				e.Add("purpose", "%q is not a purpose of the policy", trunc(d.Purpose))
			case d.ObjectionKind == store.ObjectDirectMarketing && !p.DirectMarketing:
				e.Add("purpose", "%s is not a direct-marketing purpose", d.Purpose)
			case d.ObjectionKind == store.ObjectLegitimateInterest && p.LegalBasis != policy.BasisLegitimateInterests:
				e.Add("purpose", "%s is not based on legitimate interests", d.Purpose)
			}
		}
	case policy.ReqWithdrawConsent:
		if d.Purpose != "" {
			p := doc.PurposeByKey(d.Purpose)
			if p == nil {
				e.Add("purpose", "%q is not a purpose of the policy", trunc(d.Purpose))
			} else if p.LegalBasis != policy.BasisConsent {
				e.Add("purpose", "%s is not based on consent", d.Purpose)
			}
		}
	case policy.ReqPortability:
		if d.TransmitURL != "" {
			u, err := url.Parse(d.TransmitURL)
			if len(d.TransmitURL) > maxURL || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
				e.Add("transmit_url", "must be an https URL of at most %d bytes, without credentials", maxURL)
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	if !utf8.ValidString(s) {
		return "(invalid UTF-8)"
	}
	return s
}

func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return true
}

// Level returns the verification level the policy sets for a type:
// rights.verification, defaulting to email_code, and none for objection
// and opt-out (which need no identity check, GDPR Art. 21(3), 11 CCR
// § 7026(d)).
func Level(p *policy.Policy, typ policy.RequestType) policy.VerificationLevel {
	if l, ok := p.Rights.Verification[typ]; ok && l != "" {
		return l
	}
	if typ == policy.ReqObjection || typ == policy.ReqCCPAOptOut {
		return policy.VerifyNone
	}
	return policy.VerifyEmailCode
}

// schedule computes the deadlines of a request.
func schedule(p *policy.Policy, typ policy.RequestType, j policy.Jurisdiction, received time.Time) (ScheduleInfo, time.Time, error) {
	rules := clock.RulesFor(p)
	if typ == policy.ReqCCPAOptOut || typ == policy.ReqCCPALimit {
		d, err := rules.OptOut(received)
		if err != nil {
			return ScheduleInfo{}, time.Time{}, err
		}
		return ScheduleInfo{Rule: string(d.Rule), Calendar: d.Calendar, LawDue: d.At}, d.At, nil
	}
	sc, err := rules.Schedule(j, received)
	if err != nil {
		return ScheduleInfo{}, time.Time{}, err
	}
	return ScheduleInfo{Rule: string(sc.Due.Rule), Calendar: sc.Due.Calendar, LawDue: sc.Law.At, SLADue: sc.SLA.At,
		ConfirmBy: sc.ConfirmBy.At, ExtensionNoticeBy: sc.ExtensionNoticeBy.At, MaxExtended: sc.MaxExtended.At}, sc.Due.At, nil
}

// Created is the answer to an intake.
type Created struct {
	Request *Request
	// StatusToken lets the person follow the request on the public
	// endpoints; it is derived from the request id under the tenant's key
	// and never stored.
	StatusToken string
}

// Create takes in a request. A public or API requester is never told
// whether the identity matched anyone: the request is accepted either way
// and, with no address on file, simply no code is sent.
func (s *Service) Create(ctx context.Context, tenantID string, in Input, by Actor) (*Created, error) {
	if in.Channel == ChannelPrivacyCenter {
		defer s.padPublic(ctx, time.Now())
	}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	doc := a.Doc
	if err := Validate(doc, &in); err != nil {
		return nil, err
	}
	now := s.now()
	typ := policy.RequestType(in.Type)
	j := policy.Jurisdiction(in.Jurisdiction)
	sched, due, err := schedule(doc.Policy, typ, j, now)
	if err != nil {
		return nil, err
	}
	subjectID, err := s.resolve(ctx, a, in)
	if err != nil {
		return nil, err
	}
	r := &Request{Request: store.Request{TenantID: tenantID, ID: store.NewID(), Type: in.Type, SubjectID: subjectID,
		Jurisdiction: in.Jurisdiction, Channel: in.Channel, ReceivedAt: now, DueAt: due, ConfirmBy: sched.ConfirmBy, UpdatedAt: now},
		Details: in.Details}
	r.State = State{CreatedBy: by.ID, StaffVia: in.StaffVia, Site: in.Site, Schedule: sched}
	if in.Identity != nil {
		r.State.IdentityKind = in.Identity.Kind
	}
	level := Level(doc.Policy, typ)
	r.State.Verification.Level = string(level)
	switch {
	case level == policy.VerifyNone:
		r.State.Verification.Method, r.State.Verification.VerifiedAt, r.State.Verification.VerifiedBy = MethodNone, now, by.ID
	case in.SubjectToken != "":
		sub, err := VerifyToken(ctx, s.Keys, tenantID, in.SubjectToken, now)
		if err != nil || subjectID == "" || sub != subjectID {
			return nil, inputErr("subject_token", "is not a valid token of this subject")
		}
		r.State.Verification.Method, r.State.Verification.VerifiedAt, r.State.Verification.VerifiedBy = MethodAppToken, now, by.ID
	}
	if !r.Details.empty() {
		plain, err := json.Marshal(r.Details)
		if err != nil {
			return nil, err
		}
		if r.Request.Details, err = s.Keys.SealTenant(ctx, tenantID, sealPurpose, []byte(r.ID), plain); err != nil {
			return nil, err
		}
	}
	// What the person must be told, and where.
	var contact string
	needCode := level == policy.VerifyEmailCode && !r.Verified()
	if subjectID != "" && (needCode || j == policy.CCPA) {
		contact, err = s.Vault.ContactEmail(ctx, tenantID, subjectID, "request "+r.ID, vault.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID})
		if err != nil && !errors.Is(err, vault.ErrNoContact) && !errors.Is(err, vault.ErrNotFound) {
			return nil, err
		}
	}
	var code string
	if needCode {
		if contact == "" {
			r.State.Verification.NoContact = true
		} else if code, err = s.newCode(ctx, r, now); err != nil {
			return nil, err
		}
	}
	processor := doc.Policy.Mode == policy.ModeProcessor
	status := StatusInProgress
	switch {
	case processor:
		status = StatusAwaitingController
	case !r.Verified():
		status = StatusVerifying
	}
	token, err := s.StatusToken(ctx, tenantID, r.ID)
	if err != nil {
		return nil, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		w := *r
		w.State = cloneState(r.State)
		if w.SubjectID != "" {
			prev, err := tx.ListRequests(store.RequestFilter{TenantID: tenantID, SubjectID: w.SubjectID, Type: w.Type,
				ReceivedSince: now.Add(-RepeatWindow), Limit: 1000})
			if err != nil {
				return err
			}
			w.State.Repeated = len(prev)
		}
		w.Status = StatusReceived
		if err := w.encodeState(); err != nil {
			return err
		}
		if err := tx.CreateRequest(w.Request); err != nil {
			return err
		}
		w.Version = 1
		if _, err := tx.AppendRequestEvent(store.RequestEvent{TenantID: tenantID, RequestID: w.ID, To: StatusReceived, At: now,
			Actor: by.ID, Note: channelNote(in)}); err != nil {
			return err
		}
		if err := s.auditEvent(tx, &w, by, "request.create", "channel "+w.Channel+" level "+string(level), now); err != nil {
			return err
		}
		if code != "" {
			if err := s.sendCode(tx, a, &w, contact, code); err != nil {
				return err
			}
		}
		if j == policy.CCPA && contact != "" {
			w.State.Acknowledged = now
			if err := s.mail(tx, &w, contact, "rights.acknowledgement", "ack:"+w.ID, ackMail(a, &w)); err != nil {
				return err
			}
		}
		if processor {
			if err := s.mail(tx, &w, doc.Policy.Controller.Email, "rights.controller_decision", "controller:"+w.ID, controllerMail(a, &w)); err != nil {
				return err
			}
		}
		if err := s.transition(tx, &w, status, by, "", "request.status", "", now); err != nil {
			return err
		}
		*r = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log().Info("rights: request received", "tenant", tenantID, "request", r.ID, "type", r.Type, "status", r.Status)
	if got, err := s.Get(ctx, tenantID, r.ID); err == nil {
		r = got // as committed, with its history
	}
	return &Created{Request: r, StatusToken: token}, nil
}

func channelNote(in Input) string {
	switch {
	case in.Channel == ChannelStaff:
		return "taken by staff (" + in.StaffVia + ")"
	case in.Channel == ChannelPrivacyCenter:
		return "received through the privacy center"
	}
	return "received through the API"
}

// resolve finds the subject of a request: the given subject id if it
// exists, else the one holding the identity's blind index; "" when none.
func (s *Service) resolve(ctx context.Context, a *tenant.Active, in Input) (string, error) {
	tenantID := a.Tenant.ID
	if in.SubjectID != "" {
		err := s.Store.Read(ctx, func(tx store.Tx) error {
			_, err := tx.GetSubject(tenantID, in.SubjectID)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return "", inputErr("subject_id", "no such subject")
		}
		return in.SubjectID, err
	}
	norm, err := identity.Normalize(in.Identity.Kind, in.Identity.Value, a.Doc.Policy.Controller.Country)
	if err != nil {
		return "", inputErr("identity.value", "is not a valid %s", in.Identity.Kind)
	}
	blind, err := s.Keys.BlindIndex(ctx, tenantID, in.Identity.Kind, norm)
	if err != nil {
		return "", err
	}
	var id string
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		id, err = tx.FindIdentity(tenantID, in.Identity.Kind, blind)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// randomDigits returns n random decimal digits, uniformly.
func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		var x [1]byte
		for {
			rand.Read(x[:])
			if x[0] < 250 {
				break
			}
		}
		b[i] = '0' + x[0]%10
	}
	return string(b)
}
