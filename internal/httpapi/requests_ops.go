package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/rights"
)

// Data-subject requests (internal/rights): the queue for the privacy team,
// intake for applications and staff, the actions on a request, subject
// tokens for the privacy center, and the public endpoints a person uses to
// file, verify and follow a request without an API key.

// RequestInfo is a data-subject request as the queue shows it.
type RequestInfo struct {
	ID           string     `json:"id"`
	Type         string     `json:"type" doc:"access, portability, rectification, erasure, restriction, objection, withdraw_consent, ccpa_know, ccpa_delete, ccpa_correct, ccpa_opt_out, ccpa_limit."`
	Status       string     `json:"status" enum:"received,verifying,awaiting_controller,in_progress,extended,completed,refused,withdrawn"`
	SubjectID    string     `json:"subject_id,omitempty" doc:"The subject the identity matched; absent when it matched nobody."`
	Jurisdiction string     `json:"jurisdiction" enum:"gdpr,uk_gdpr,ccpa"`
	Channel      string     `json:"channel" enum:"api,privacy_center,staff"`
	StaffVia     string     `json:"staff_via,omitempty" doc:"How the person reached staff: phone, letter, email, in_person."`
	ReceivedAt   time.Time  `json:"received_at"`
	DueAt        time.Time  `json:"due_at" doc:"The deadline to answer now (after any extension)."`
	ConfirmBy    *time.Time `json:"confirm_by,omitempty" doc:"When receipt must be confirmed (CCPA, or the tenant's own rule)."`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	Overdue      bool       `json:"overdue"`
	DueSoon      bool       `json:"due_soon" doc:"Open and due within 7 days."`
	Repeated     int        `json:"repeated" doc:"Requests of the same type by the same subject in the 30 days before this one, for deciding whether it is excessive."`
	Verified     bool       `json:"verified"`
}

// RequestDetail is a request with everything the privacy team needs to
// decide it.
type RequestDetail struct {
	RequestInfo
	Verification VerificationInfo         `json:"verification"`
	Schedule     rights.ScheduleInfo      `json:"schedule"`
	Details      RequestDetails           `json:"details"`
	Extension    *rights.Extension        `json:"extension,omitempty"`
	Instruction  *rights.Instruction      `json:"instruction,omitempty"`
	Outcome      *rights.Outcome          `json:"outcome,omitempty"`
	Refusal      *rights.Refusal          `json:"refusal,omitempty"`
	Fee          *rights.Fee              `json:"fee,omitempty"`
	History      []HistoryEntry           `json:"history"`
	Recipients   []fulfil.RecipientStatus `json:"recipients" doc:"Per-recipient propagation (GDPR Art. 19)."`
}

// VerificationInfo is where the identity check stands. It never shows a
// code.
type VerificationInfo struct {
	Level      string     `json:"level" enum:"none,email_code,app_token,manual" doc:"What the policy requires for the type."`
	Method     string     `json:"method,omitempty"`
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	VerifiedBy string     `json:"verified_by,omitempty"`
	Checked    string     `json:"checked,omitempty" doc:"What staff checked, for a manual verification."`
	CodeSentAt *time.Time `json:"code_sent_at,omitempty"`
	CodeValid  bool       `json:"code_outstanding" doc:"A code was sent and can still be used."`
	Attempts   int        `json:"attempts" doc:"Wrong codes tried against the current code (5 void it)."`
	NoContact  bool       `json:"no_contact" doc:"No email address on file to send a code to: verify by hand or refuse (identity_not_verified)."`
}

// RequestDetails is what the person asked for. Corrected values are not
// shown here, only the field names.
type RequestDetails struct {
	Categories      []string `json:"categories,omitempty"`
	Purpose         string   `json:"purpose,omitempty"`
	ObjectionKind   string   `json:"objection_kind,omitempty"`
	Ground          string   `json:"ground,omitempty"`
	AllowedPurposes []string `json:"allowed_purposes,omitempty"`
	Fields          []string `json:"fields,omitempty" doc:"Names of the fields to correct."`
	TransmitURL     string   `json:"transmit_url,omitempty"`
	Reason          string   `json:"reason,omitempty" doc:"The person's own words."`
}

// HistoryEntry is one status change or action.
type HistoryEntry struct {
	From  string    `json:"from,omitempty"`
	To    string    `json:"to"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
}

func requestInfo(r *rights.Request, now time.Time) RequestInfo {
	return RequestInfo{ID: r.ID, Type: r.Type, Status: r.Status, SubjectID: r.SubjectID, Jurisdiction: r.Jurisdiction, Channel: r.Channel,
		StaffVia: r.State.StaffVia, ReceivedAt: r.ReceivedAt, DueAt: r.DueAt, ConfirmBy: optTime(r.ConfirmBy), ClosedAt: optTime(r.ClosedAt),
		Overdue: r.Overdue(now), DueSoon: r.DueSoon(now) && !r.Overdue(now), Repeated: r.State.Repeated, Verified: r.Verified()}
}

func requestDetail(r *rights.Request, recips []fulfil.RecipientStatus, now time.Time) RequestDetail {
	v := r.State.Verification
	d := RequestDetail{RequestInfo: requestInfo(r, now), Schedule: r.State.Schedule, Extension: r.State.Extension,
		Instruction: r.State.Instruction, Outcome: r.State.Outcome, Refusal: r.State.Refusal, Fee: r.State.Fee,
		Verification: VerificationInfo{Level: v.Level, Method: v.Method, Verified: v.Verified(), VerifiedAt: optTime(v.VerifiedAt),
			VerifiedBy: v.VerifiedBy, Checked: v.Checked, CodeSentAt: optTime(v.CodeSentAt),
			CodeValid: len(v.CodeMAC) > 0 && now.Before(v.CodeExpires), Attempts: v.Attempts, NoContact: v.NoContact},
		Details: RequestDetails{Categories: r.Details.Categories, Purpose: r.Details.Purpose, ObjectionKind: r.Details.ObjectionKind,
			Ground: r.Details.Ground, AllowedPurposes: r.Details.AllowedPurposes, TransmitURL: r.Details.TransmitURL, Reason: r.Details.Reason},
		History: make([]HistoryEntry, 0, len(r.History)), Recipients: recips}
	for name := range r.Details.Fields {
		d.Details.Fields = append(d.Details.Fields, name)
	}
	sort.Strings(d.Details.Fields)
	for _, h := range r.History {
		d.History = append(d.History, HistoryEntry{From: h.From, To: h.To, At: h.At, Actor: h.Actor, Note: h.Note})
	}
	if d.Recipients == nil {
		d.Recipients = []fulfil.RecipientStatus{}
	}
	return d
}

func rightsActor(ctx context.Context) rights.Actor {
	p := caller(ctx)
	return rights.Actor{ID: p.Actor(), Role: string(p.Role), RequestID: RequestID(ctx)}
}

// rightsError maps rights errors to problems.
func rightsError(ctx context.Context, err error) error {
	var ie *rights.InputError
	var se *rights.StateError
	switch {
	case errors.As(err, &ie):
		return inputProblem(ctx, ie, "body.")
	case errors.As(err, &se):
		return errf(ctx, http.StatusConflict, "request-state", "%s.", upperFirst(se.Msg))
	case errors.Is(err, rights.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such request.")
	case errors.Is(err, rights.ErrNoSubject):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject.")
	case errors.Is(err, rights.ErrNoPolicy):
		return errf(ctx, http.StatusConflict, "no-policy", "No policy has been applied yet; apply one with PUT /v1/policy first.")
	case errors.Is(err, rights.ErrBadCode), errors.Is(err, rights.ErrBadToken):
		return errf(ctx, http.StatusUnprocessableEntity, "verification-failed", "The code or token is wrong or has expired; after 5 wrong codes a new one must be sent.")
	case errors.Is(err, rights.ErrNotVerified):
		return errf(ctx, http.StatusConflict, "not-verified", "The requester's identity has not been verified; unverified requests are never fulfilled.")
	case errors.Is(err, rights.ErrNoFulfiller):
		return errf(ctx, http.StatusServiceUnavailable, "not-configured", "Fulfilment is not configured on this server.")
	case errors.Is(err, rights.ErrNoExport):
		return errf(ctx, http.StatusNotFound, "no-export", "The request has no export (only approved access and portability requests have one).")
	}
	return err
}

// requestBody is a new request.
type requestBody struct {
	Type            string                     `json:"type" enum:"access,portability,rectification,erasure,restriction,objection,withdraw_consent,ccpa_know,ccpa_delete,ccpa_correct,ccpa_opt_out,ccpa_limit"`
	Jurisdiction    string                     `json:"jurisdiction,omitempty" enum:"gdpr,uk_gdpr,ccpa" doc:"Defaults to ccpa for ccpa_* types, else the policy's GDPR or UK GDPR."`
	SubjectID       string                     `json:"subject_id,omitempty" maxLength:"36" doc:"The subject, when the caller knows it."`
	Identity        *rights.IdentityInput      `json:"identity,omitempty" doc:"How the person identified themselves (email, phone, external_id, login); matched by blind index, never stored."`
	Channel         string                     `json:"channel,omitempty" enum:"api,privacy_center,staff" doc:"Defaults to api."`
	StaffVia        string                     `json:"staff_via,omitempty" enum:"phone,letter,email,in_person" doc:"Required for the staff channel."`
	SubjectToken    string                     `json:"subject_token,omitempty" maxLength:"128" doc:"A subject token from POST /v1/subjects/{id}/token: verifies the requester at once (app_token)."`
	Categories      []string                   `json:"categories,omitempty" maxItems:"64" doc:"Erasure, restriction, objection, ccpa_delete, ccpa_limit: only these data categories."`
	Purpose         string                     `json:"purpose,omitempty" maxLength:"64" doc:"Objection or withdraw_consent: the purpose concerned."`
	ObjectionKind   string                     `json:"objection_kind,omitempty" enum:"direct_marketing,legitimate_interest,public_task" doc:"Required for an objection."`
	Ground          string                     `json:"ground,omitempty" enum:"accuracy_contested,unlawful_processing,no_longer_needed_but_claims,objection_pending" doc:"Required for a restriction (GDPR Art. 18(1))."`
	AllowedPurposes []string                   `json:"allowed_purposes,omitempty" maxItems:"64" doc:"Restriction: purposes still allowed (Art. 18(2))."`
	Fields          map[string]json.RawMessage `json:"fields,omitempty" doc:"Rectification, ccpa_correct: corrected values by field name; null deletes."`
	TransmitURL     string                     `json:"transmit_url,omitempty" maxLength:"2048" doc:"Portability: send the export directly to this https URL of another controller."`
	Reason          string                     `json:"reason,omitempty" maxLength:"2000" doc:"The person's own words."`
}

func (b *requestBody) input() rights.Input {
	return rights.Input{Type: b.Type, Jurisdiction: b.Jurisdiction, SubjectID: b.SubjectID, Identity: b.Identity, Channel: b.Channel,
		StaffVia: b.StaffVia, SubjectToken: b.SubjectToken, Details: rights.Details{Categories: b.Categories, Purpose: b.Purpose,
			ObjectionKind: b.ObjectionKind, Ground: b.Ground, AllowedPurposes: b.AllowedPurposes, Fields: b.Fields, TransmitURL: b.TransmitURL,
			Reason: b.Reason}}
}

type createRequestInput struct {
	Body requestBody
}

type requestOutput struct {
	Status int
	Body   RequestDetail
}

type createdRequestOutput struct {
	Status int
	Body   struct {
		RequestDetail
		StatusToken string `json:"status_token" doc:"Lets the person follow the request on GET /v1/public/{site}/requests/{id}."`
	}
}

type listRequestsInput struct {
	Status    []string  `query:"status" doc:"Only these statuses."`
	Type      string    `query:"type" doc:"Only this type."`
	SubjectID string    `query:"subject_id" maxLength:"36"`
	DueBefore time.Time `query:"due_before" doc:"Only requests due at or before this time."`
	Overdue   bool      `query:"overdue" doc:"Only open requests past their due time."`
	DueSoon   bool      `query:"due_soon" doc:"Only open requests due within 7 days."`
	Limit     int       `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many (default 100)."`
	Offset    int       `query:"offset" minimum:"0"`
}

type listRequestsOutput struct {
	Body struct {
		Requests []RequestInfo `json:"requests" doc:"Soonest due first."`
	}
}

type requestIDInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Request id."`
}

type verifyRequestInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		Method       string `json:"method" enum:"email_code,app_token,manual"`
		Code         string `json:"code,omitempty" maxLength:"32" doc:"email_code: the code from the email."`
		SubjectToken string `json:"token,omitempty" maxLength:"128" doc:"app_token: a subject token from the application."`
		Checked      string `json:"checked,omitempty" maxLength:"1024" doc:"manual: what was checked, e.g. two trusted IDs."`
	}
}

type approveRequestOutput struct {
	Body struct {
		RequestDetail
		PDFPassword    string `json:"pdf_password,omitempty" doc:"Opens the export's PDF. Shown once, never stored or emailed: give it to the person by another channel (phone, SMS, letter) than the email with the download link."`
		TransmitSecret string `json:"transmit_secret,omitempty" doc:"Portability with transmit_url: the HMAC secret of the webhook that carried the export, shown once, for the receiving controller to verify it."`
	}
}

type extendRequestInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		By     string `json:"by" maxLength:"8" doc:"GDPR: 1mo or 2mo (within the first month); CCPA: up to 45d (within the first 45 days). Once." example:"2mo"`
		Reason string `json:"reason" minLength:"1" maxLength:"1024" doc:"Why; the person is told."`
	}
}

type refuseRequestInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		Reason string `json:"reason" enum:"manifestly_unfounded,excessive,identity_not_verified,exemption,other"`
		Text   string `json:"text,omitempty" maxLength:"1024" doc:"More words for the person; required for other."`
		Fee    *struct {
			Amount   int64  `json:"amount" minimum:"1" doc:"In minor units (cents)."`
			Currency string `json:"currency" pattern:"^[A-Z]{3}$"`
		} `json:"fee,omitempty" doc:"For an excessive request under a policy with fees: excessive_only, ask for this fee instead of refusing."`
	}
}

type requestNoteInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body *struct {
		Note string `json:"note,omitempty" maxLength:"1024"`
	}
}

type instructRequestInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		Decision string `json:"decision" enum:"proceed,refuse"`
		Note     string `json:"note,omitempty" maxLength:"1024"`
	}
}

type recipientHandledInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Key  string `path:"key" maxLength:"64" doc:"Recipient key from the policy."`
	Body struct {
		Note string `json:"note" minLength:"1" maxLength:"1024" doc:"How the recipient was told."`
	}
}

type requestExportInput struct {
	ID     string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Format string `query:"format" enum:"json,csv,pdf" default:"json"`
}

type requestExportOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		URL       string    `json:"url" doc:"Signed, single-use download path."`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

type subjectTokenInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Body *struct {
		TTLSeconds int `json:"ttl_seconds,omitempty" minimum:"0" maximum:"3600" doc:"Lifetime; default 600."`
	}
}

type subjectTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Token     string    `json:"token" doc:"A bearer credential: hand it to the privacy center only; never log it."`
		Audience  string    `json:"audience"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

func (s *Server) detail(ctx context.Context, r *rights.Request) (RequestDetail, error) {
	recips, err := s.deps.Rights.Recipients(ctx, r.TenantID, r.ID)
	if err != nil {
		return RequestDetail{}, err
	}
	return requestDetail(r, recips, time.Now()), nil
}

func (s *Server) registerRequests() {
	tag := "Requests"
	create := op(http.MethodPost, "/v1/requests", "createRequest", "Take in a data-subject request", auth.PermRequestsWrite, tag)
	create.Description += " From the application (channel api) or staff on a person's behalf (channel staff, with staff_via). The identity is matched " +
		"by blind index; a request that matches nobody is publicAcceptedMessage all the same. Verification follows the policy (rights.verification): " +
		"an emailed code, a subject token, manual, or none. Due dates come from the statutory clock and the tenant's own deadlines. Audited."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, create, func(ctx context.Context, in *createRequestInput) (*createdRequestOutput, error) {
		c, err := s.deps.Rights.Create(ctx, caller(ctx).TenantID, in.Body.input(), rightsActor(ctx))
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		d, err := s.detail(ctx, c.Request)
		if err != nil {
			return nil, err
		}
		out := &createdRequestOutput{Status: http.StatusCreated}
		out.Body.RequestDetail, out.Body.StatusToken = d, c.StatusToken
		return out, nil
	})

	list := op(http.MethodGet, "/v1/requests", "listRequests", "List data-subject requests", auth.PermRequestsRead, tag)
	list.Errors = append(list.Errors, http.StatusUnprocessableEntity)
	register(s.api, list, func(ctx context.Context, in *listRequestsInput) (*listRequestsOutput, error) {
		rs, err := s.deps.Rights.List(ctx, caller(ctx).TenantID, rights.Filter{Statuses: in.Status, Type: in.Type, SubjectID: in.SubjectID,
			DueBefore: in.DueBefore, Overdue: in.Overdue, DueSoon: in.DueSoon, Limit: in.Limit, Offset: in.Offset})
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		out := &listRequestsOutput{}
		out.Body.Requests = make([]RequestInfo, 0, len(rs))
		now := time.Now()
		for _, r := range rs {
			out.Body.Requests = append(out.Body.Requests, requestInfo(r, now))
		}
		return out, nil
	})

	get := op(http.MethodGet, "/v1/requests/{id}", "getRequest", "Read a data-subject request", auth.PermRequestsRead, tag)
	get.Description += " With its history, verification state, due dates and per-recipient propagation."
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s.api, get, func(ctx context.Context, in *requestIDInput) (*requestOutput, error) {
		r, err := s.deps.Rights.Get(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		d, err := s.detail(ctx, r)
		if err != nil {
			return nil, err
		}
		return &requestOutput{Status: http.StatusOK, Body: d}, nil
	})

	// action registers POST /v1/requests/{id}/<name>.
	action := func(name, id, summary, desc string, perm auth.Permission) huma.Operation {
		o := op(http.MethodPost, "/v1/requests/{id}/"+name, id, summary, perm, tag)
		o.Description += " " + desc
		o.Errors = append(o.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
		return o
	}
	respond := func(ctx context.Context, r *rights.Request, err error) (*requestOutput, error) {
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		d, err := s.detail(ctx, r)
		if err != nil {
			return nil, err
		}
		return &requestOutput{Status: http.StatusOK, Body: d}, nil
	}

	register(s.api, action("verify", "verifyRequest", "Verify the requester's identity",
		"email_code: the code emailed to the address on file (5 tries, 15 minutes, single use); app_token: a subject token; "+
			"manual: staff record what they checked. Audited; codes are never logged.", auth.PermRequestsWrite),
		func(ctx context.Context, in *verifyRequestInput) (*requestOutput, error) {
			r, err := s.deps.Rights.Verify(ctx, caller(ctx).TenantID, in.ID, rights.VerifyInput{Method: in.Body.Method, Code: in.Body.Code,
				SubjectToken: in.Body.SubjectToken, Checked: in.Body.Checked}, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	approve := action("approve", "approveRequest", "Approve and fulfil a request",
		"Only verified requests (and, for a processor, after the customer's instruction to proceed). Fulfilment erases, restricts, records "+
			"objections and withdrawals, rectifies or builds the export, and tells recipients. With no recipient to wait for the request is "+
			"completed and the person told. The PDF password of an export is returned here once and never emailed.", auth.PermRequestsDecide)
	approve.Errors = append(approve.Errors, http.StatusServiceUnavailable)
	register(s.api, approve, func(ctx context.Context, in *requestIDInput) (*approveRequestOutput, error) {
		a, err := s.deps.Rights.Approve(ctx, caller(ctx).TenantID, in.ID, rightsActor(ctx))
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		out := &approveRequestOutput{}
		out.Body.RequestDetail = requestDetail(a.Request, a.Recipients, time.Now())
		out.Body.PDFPassword, out.Body.TransmitSecret = a.PDFPassword, a.TransmitSecret
		return out, nil
	})

	register(s.api, action("extend", "extendRequest", "Extend the deadline",
		"Once, with a reason the person is told: GDPR one or two further months, within the first month; CCPA up to 45 days, within the first 45.",
		auth.PermRequestsDecide),
		func(ctx context.Context, in *extendRequestInput) (*requestOutput, error) {
			r, err := s.deps.Rights.Extend(ctx, caller(ctx).TenantID, in.ID, in.Body.By, in.Body.Reason, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	register(s.api, action("refuse", "refuseRequest", "Refuse a request (or ask a fee)",
		"The person is told why, and of their right to complain to the supervisory authority named in the policy and to a judicial remedy. "+
			"For an excessive request under fees: excessive_only, a fee may be recorded instead; the request stays open.", auth.PermRequestsDecide),
		func(ctx context.Context, in *refuseRequestInput) (*requestOutput, error) {
			ri := rights.RefuseInput{Reason: in.Body.Reason, Text: in.Body.Text}
			if in.Body.Fee != nil {
				ri.FeeAmount, ri.FeeCurrency = in.Body.Fee.Amount, in.Body.Fee.Currency
			}
			r, err := s.deps.Rights.Refuse(ctx, caller(ctx).TenantID, in.ID, ri, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	register(s.api, action("withdraw", "withdrawRequest", "Withdraw a request", "For the person, who no longer wants it answered.", auth.PermRequestsWrite),
		func(ctx context.Context, in *requestIDInput) (*requestOutput, error) {
			r, err := s.deps.Rights.Withdraw(ctx, caller(ctx).TenantID, in.ID, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	register(s.api, action("complete", "completeRequest", "Complete a fulfilled request",
		"409 while any recipient has neither acknowledged nor been marked handled. A request that matched no subject is completed with a note.",
		auth.PermRequestsDecide),
		func(ctx context.Context, in *requestNoteInput) (*requestOutput, error) {
			note := ""
			if in.Body != nil {
				note = in.Body.Note
			}
			r, err := s.deps.Rights.Complete(ctx, caller(ctx).TenantID, in.ID, note, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	register(s.api, action("instruct", "instructRequest", "Record the controller's instruction",
		"Processor mode: the customer (the controller) decides; proceed sends the request on, refuse leaves it to be refused. Audited.",
		auth.PermRequestsDecide),
		func(ctx context.Context, in *instructRequestInput) (*requestOutput, error) {
			r, err := s.deps.Rights.Instruct(ctx, caller(ctx).TenantID, in.ID, in.Body.Decision, in.Body.Note, rightsActor(ctx))
			return respond(ctx, r, err)
		})

	handled := op(http.MethodPost, "/v1/requests/{id}/recipients/{key}/handled", "markRecipientHandled", "Mark a recipient told by hand",
		auth.PermRequestsDecide, tag)
	handled.Description += " For a recipient without a webhook, or whose delivery failed: a person told it; the note says how."
	handled.Errors = append(handled.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	register(s.api, handled, func(ctx context.Context, in *recipientHandledInput) (*requestOutput, error) {
		r, err := s.deps.Rights.MarkRecipientHandled(ctx, caller(ctx).TenantID, in.ID, in.Key, in.Body.Note, rightsActor(ctx))
		return respond(ctx, r, err)
	})

	export := op(http.MethodGet, "/v1/requests/{id}/export", "getRequestExport", "Download link of a request's export", auth.PermRequestsDecide, tag)
	export.Description += " A signed, single-use link to the access or portability export in one format."
	export.Errors = append(export.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	register(s.api, export, func(ctx context.Context, in *requestExportInput) (*requestExportOutput, error) {
		u, exp, err := s.deps.Rights.ExportLink(ctx, caller(ctx).TenantID, in.ID, in.Format)
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		out := &requestExportOutput{CacheControl: "no-store"}
		out.Body.URL, out.Body.ExpiresAt = u, exp
		return out, nil
	})

	tok := op(http.MethodPost, "/v1/subjects/{id}/token", "mintSubjectToken", "Mint a subject token for the privacy center", auth.PermSubjectsWrite, "Subjects")
	tok.Description += " For an application that has signed its user in: the token proves to the privacy center that the requester is this " +
		"subject (app_token verification). HMAC under the tenant's key, audience privacy-center, valid minutes. Audited; never logged."
	tok.Errors = append(tok.Errors, http.StatusNotFound)
	register(s.api, tok, func(ctx context.Context, in *subjectTokenInput) (*subjectTokenOutput, error) {
		ttl := 0
		if in.Body != nil {
			ttl = in.Body.TTLSeconds
		}
		t, exp, err := s.deps.Rights.SubjectToken(ctx, caller(ctx).TenantID, in.ID, time.Duration(ttl)*time.Second, rightsActor(ctx))
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		out := &subjectTokenOutput{CacheControl: "no-store"}
		out.Body.Token, out.Body.Audience, out.Body.ExpiresAt = t, rights.Audience, exp
		return out, nil
	})

	s.registerPublicRequests()
}

// Public endpoints of requests.

type publicRequestInput struct {
	Site string `path:"site" maxLength:"63" doc:"The site key from the policy."`
	Body struct {
		Type          string                     `json:"type" enum:"access,portability,rectification,erasure,restriction,objection,withdraw_consent,ccpa_know,ccpa_delete,ccpa_correct,ccpa_opt_out,ccpa_limit"`
		Jurisdiction  string                     `json:"jurisdiction,omitempty" enum:"gdpr,uk_gdpr,ccpa"`
		Identity      rights.IdentityInput       `json:"identity" doc:"The person's email, phone, external_id or login."`
		SubjectToken  string                     `json:"subject_token,omitempty" maxLength:"128" doc:"A subject token from the application, if the person is signed in there."`
		Categories    []string                   `json:"categories,omitempty" maxItems:"64"`
		Purpose       string                     `json:"purpose,omitempty" maxLength:"64"`
		ObjectionKind string                     `json:"objection_kind,omitempty" enum:"direct_marketing,legitimate_interest,public_task"`
		Ground        string                     `json:"ground,omitempty" enum:"accuracy_contested,unlawful_processing,no_longer_needed_but_claims,objection_pending"`
		Fields        map[string]json.RawMessage `json:"fields,omitempty"`
		TransmitURL   string                     `json:"transmit_url,omitempty" maxLength:"2048"`
		Reason        string                     `json:"reason,omitempty" maxLength:"2000"`
	}
}

type publicAcceptedOutput struct {
	Status int
	Body   struct {
		ID          string `json:"id" doc:"The request's reference."`
		StatusToken string `json:"status_token" doc:"Keep it to follow the request and to verify it."`
		Message     string `json:"message"`
	}
}

type publicVerifyInput struct {
	Site string `path:"site" maxLength:"63"`
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		Token        string `json:"token" maxLength:"64" doc:"The status token from the intake answer."`
		Code         string `json:"code,omitempty" maxLength:"32" doc:"The code from the email."`
		SubjectToken string `json:"subject_token,omitempty" maxLength:"128" doc:"Instead of a code: a subject token from the application."`
		Resend       bool   `json:"resend,omitempty" doc:"Send a new code instead (at most one a minute)."`
	}
}

type publicStatusInput struct {
	Site  string `path:"site" maxLength:"63"`
	ID    string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Token string `query:"token" maxLength:"64" doc:"The status token from the intake answer."`
}

// PublicRequestStatus is what the person sees of their request: no
// internals (no notes, actors, subject, verification details).
type PublicRequestStatus struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	ReceivedAt time.Time       `json:"received_at"`
	DueAt      time.Time       `json:"due_at"`
	Verified   bool            `json:"verified"`
	History    []PublicHistory `json:"history"`
}

// PublicHistory is one status change, without who or why.
type PublicHistory struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

type publicStatusOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         PublicRequestStatus
}

// publicAcceptedMessage is the one answer every public intake gets, known person or not.
const publicAcceptedMessage = "We received your request. If we hold data about you, we will email you a code to confirm it is you; then we will answer by the due date."

func (s *Server) registerPublicRequests() {
	rl := s.deps.Public.withDefaults()
	read, write := newLimiter(rl.Read, rl.ReadBurst, rl.TrustedProxies), newLimiter(rl.Write, rl.WriteBurst, rl.TrustedProxies)
	tag := "Public"
	site := func(ctx context.Context, key string) (string, error) {
		a, _, err := s.deps.Consent.Site(ctx, key)
		if errors.Is(err, consent.ErrUnknownSite) {
			return "", errf(ctx, http.StatusNotFound, "", "There is no such site.")
		}
		if err != nil {
			return "", err
		}
		return a.Tenant.ID, nil
	}

	intake := publicOp(http.MethodPost, "/v1/public/{site}/requests", "filePublicRequest", "File a data-subject request (privacy center)", tag)
	intake.Description = "No API key. Always the same 202 answer whether or not the identity is known, so nobody learns who is a customer; " +
		"a code goes to the address on file if there is one. Keep the status token to verify and follow the request. Rate limited per client address."
	intake.DefaultStatus = http.StatusAccepted
	intake.Errors = []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	intake.Middlewares = s.publicMiddleware(write, false)
	register(s.api, intake, func(ctx context.Context, in *publicRequestInput) (*publicAcceptedOutput, error) {
		tenantID, err := site(ctx, in.Site)
		if err != nil {
			return nil, err
		}
		b := in.Body
		id := b.Identity
		ri := rights.Input{Type: b.Type, Jurisdiction: b.Jurisdiction, Identity: &id, Channel: rights.ChannelPrivacyCenter, Site: in.Site,
			SubjectToken: b.SubjectToken, Details: rights.Details{Categories: b.Categories, Purpose: b.Purpose, ObjectionKind: b.ObjectionKind,
				Ground: b.Ground, Fields: b.Fields, TransmitURL: b.TransmitURL, Reason: b.Reason}}
		c, err := s.deps.Rights.Create(ctx, tenantID, ri, rights.Actor{ID: "subject", RequestID: RequestID(ctx)})
		var ie *rights.InputError
		if errors.As(err, &ie) && slices.ContainsFunc(ie.Problems, func(p rights.FieldProblem) bool { return p.Field == "subject_token" }) {
			// A token that does not match says nothing about who is known.
			err = errf(ctx, http.StatusUnprocessableEntity, "verification-failed", "The subject token is not valid.")
		}
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		out := &publicAcceptedOutput{Status: http.StatusAccepted}
		out.Body.ID, out.Body.StatusToken, out.Body.Message = c.Request.ID, c.StatusToken, publicAcceptedMessage
		return out, nil
	})

	verify := publicOp(http.MethodPost, "/v1/public/{site}/requests/{id}/verify", "verifyPublicRequest", "Verify a request with the emailed code", tag)
	verify.Description = "No API key; the status token proves the caller filed the request. code: the emailed code (5 tries, 15 minutes); " +
		"subject_token: instead, a token from the application; resend: a new code. Rate limited per client address."
	verify.Errors = []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	verify.Middlewares = s.publicMiddleware(write, false)
	register(s.api, verify, func(ctx context.Context, in *publicVerifyInput) (*publicStatusOutput, error) {
		tenantID, err := site(ctx, in.Site)
		if err != nil {
			return nil, err
		}
		if err := s.deps.Rights.CheckStatusToken(ctx, tenantID, in.ID, in.Body.Token); err != nil {
			return nil, rightsError(ctx, err)
		}
		by := rights.Actor{ID: "subject", RequestID: RequestID(ctx)}
		switch {
		case in.Body.Resend:
			err = s.deps.Rights.ResendCode(ctx, tenantID, in.ID, by)
		case in.Body.SubjectToken != "":
			_, err = s.deps.Rights.Verify(ctx, tenantID, in.ID, rights.VerifyInput{Method: rights.MethodAppToken, SubjectToken: in.Body.SubjectToken}, by)
		default:
			_, err = s.deps.Rights.Verify(ctx, tenantID, in.ID, rights.VerifyInput{Method: rights.MethodEmailCode, Code: in.Body.Code}, by)
		}
		if err != nil {
			return nil, rightsError(ctx, err)
		}
		return s.publicStatus(ctx, tenantID, in.ID)
	})

	status := publicOp(http.MethodGet, "/v1/public/{site}/requests/{id}", "getPublicRequest", "Follow a request", tag)
	status.Description = "No API key; the status token from the intake answer. Status, due date and the dates of each status change, without internals."
	status.Errors = []int{http.StatusNotFound, http.StatusTooManyRequests}
	status.Middlewares = s.publicMiddleware(read, false)
	register(s.api, status, func(ctx context.Context, in *publicStatusInput) (*publicStatusOutput, error) {
		tenantID, err := site(ctx, in.Site)
		if err != nil {
			return nil, err
		}
		if err := s.deps.Rights.CheckStatusToken(ctx, tenantID, in.ID, in.Token); err != nil {
			return nil, rightsError(ctx, err)
		}
		return s.publicStatus(ctx, tenantID, in.ID)
	})
}

func (s *Server) publicStatus(ctx context.Context, tenantID, id string) (*publicStatusOutput, error) {
	r, err := s.deps.Rights.Get(ctx, tenantID, id)
	if err != nil {
		return nil, rightsError(ctx, err)
	}
	out := &publicStatusOutput{CacheControl: "no-store", Body: PublicRequestStatus{ID: r.ID, Type: r.Type, Status: r.Status,
		ReceivedAt: r.ReceivedAt, DueAt: r.DueAt, Verified: r.Verified(), History: []PublicHistory{}}}
	for _, h := range r.History {
		if h.From != h.To {
			out.Body.History = append(out.Body.History, PublicHistory{Status: h.To, At: h.At})
		}
	}
	return out, nil
}
