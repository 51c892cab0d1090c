package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Consent operations: the ledger, receipts, audiences, unsubscribe and the
// suppression list, for API keys. The cookie banner's public endpoints are
// in public_ops.go.

type recordConsentsInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Body struct {
		Choices   []consent.Choice `json:"choices" minItems:"1" maxItems:"64" doc:"One choice per purpose."`
		Method    string           `json:"method,omitempty" enum:"banner,checkbox,email,phone,paper,api,on_behalf,gpc" doc:"How the person chose; default api. on_behalf: given by someone who confirmed they had the person's consent (or a parent, GDPR Art. 8)."`
		At        time.Time        `json:"at,omitempty" doc:"When the person chose, if earlier than now (a paper form recorded later). The latest choice by this time wins."`
		Source    string           `json:"source,omitempty" maxLength:"128" doc:"Where the choice came from (a form, a campaign); no personal data."`
		BrowserID string           `json:"browser_id,omitempty" maxLength:"64" doc:"The cookie banner's browser id: its anonymous choices and GPC opt-outs are attributed to the subject first."`
		Text      string           `json:"text,omitempty" maxLength:"16384" doc:"The request for consent exactly as shown; only its SHA-256 is kept. Default: the purpose's consent.text."`
		TextHash  string           `json:"text_hash,omitempty" pattern:"^sha256:[0-9a-f]{64}$" doc:"Instead of text: its hash."`
		IP        string           `json:"ip,omitempty" maxLength:"64" doc:"The person's IP address; only a keyed hash is kept."`
		UserAgent string           `json:"user_agent,omitempty" maxLength:"2048" doc:"The person's browser; kept up to 512 bytes."`
		PageURL   string           `json:"page_url,omitempty" maxLength:"2048" doc:"Where the choice was made; query and fragment are dropped."`
	}
}

type recordedOutput struct {
	Status int
	Body   consent.Recorded
}

type consentsInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
}

type consentsOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         consent.SubjectConsents
}

type withdrawInput struct {
	ID      string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Purpose string `path:"purpose" maxLength:"64" doc:"Purpose key, or ccpa.sale_share to opt out of sale and sharing."`
}

type receiptInput struct {
	Receipt string `path:"receipt" pattern:"^[0-9a-f-]{36}$" doc:"Receipt id: the id of any consent event."`
}

type receiptOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         consent.Receipt
}

type audienceInput struct {
	Key string `path:"key" maxLength:"64" doc:"Purpose key."`
}

type unsubscribeInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Body *struct {
		Purpose string `json:"purpose,omitempty" maxLength:"64" doc:"The purpose whose message the person answered, for the record; every direct-marketing purpose stops either way."`
	}
}

type unsubscribedOutput struct{ Body consent.Unsubscribed }

type unsubscribeLinkInput struct {
	ID      string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Purpose string `query:"purpose" maxLength:"64" doc:"Required: the direct-marketing purpose of the message."`
}

// UnsubscribeLink is what a mailer puts in a message's headers.
type UnsubscribeLink struct {
	Token string `json:"token" doc:"The signed token: names the tenant, subject and purpose, holds no address."`
	Path  string `json:"path" doc:"The one-click endpoint's path; prefix this Trustee's public base URL." example:"/v1/public/AQ.../unsubscribe"`
	// ListUnsubscribePost is the header RFC 8058 requires next to
	// List-Unsubscribe.
	ListUnsubscribePost string `json:"list_unsubscribe_post" example:"List-Unsubscribe=One-Click"`
}

type unsubscribeLinkOutput struct{ Body UnsubscribeLink }

type suppressionInput struct {
	Body struct {
		Email   string `json:"email,omitempty" maxLength:"320" doc:"An email address to never send direct marketing to."`
		Phone   string `json:"phone,omitempty" maxLength:"64" doc:"A phone number to never send direct marketing to."`
		Purpose string `json:"purpose,omitempty" maxLength:"64" doc:"Only this direct-marketing purpose; default every one."`
	}
}

type suppressionCheckInput struct {
	Email   string `query:"email" maxLength:"320"`
	Phone   string `query:"phone" maxLength:"64"`
	Purpose string `query:"purpose" maxLength:"64" doc:"A direct-marketing purpose; default: is every one suppressed."`
}

type suppressionCheckOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Suppressed bool `json:"suppressed"`
	}
}

func consentActor(ctx context.Context) consent.Actor {
	p := caller(ctx)
	return consent.Actor{ID: p.Actor(), Role: string(p.Role), RequestID: RequestID(ctx)}
}

func (s *Server) registerConsent() {
	tag := "Consent"
	rec := op(http.MethodPost, "/v1/subjects/{id}/consents", "recordConsents", "Record consent choices", auth.PermConsentsWrite, tag)
	rec.Description += " Appends one ledger event per purpose (given or withdrawn) with the policy version, method and proof " +
		"(hash of the text shown, keyed hash of the IP address, user agent, page), effective for the next read. " +
		"Use purpose ccpa.sale_share with given false for the CCPA \"do not sell or share\" opt-out. " +
		"Consent to a direct-marketing purpose lifts an earlier unsubscribe for that purpose only. Returns the receipt."
	rec.DefaultStatus = http.StatusCreated
	rec.Errors = append(rec.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, rec, func(ctx context.Context, in *recordConsentsInput) (*recordedOutput, error) {
		b := in.Body
		r, err := s.deps.Consent.Record(ctx, caller(ctx).TenantID, consent.RecordInput{SubjectID: in.ID, BrowserID: b.BrowserID,
			Choices: b.Choices, Method: b.Method, At: b.At, Source: b.Source,
			Proof: consent.Proof{Text: b.Text, TextHash: b.TextHash, IP: b.IP, UserAgent: b.UserAgent, PageURL: b.PageURL}}, consentActor(ctx))
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &recordedOutput{Status: http.StatusCreated, Body: r}, nil
	})

	get := op(http.MethodGet, "/v1/subjects/{id}/consents", "getConsents", "A subject's consents and their history", auth.PermConsentsRead, tag)
	get.Description += " The state of every consent-based purpose as the decision engine sees it now (given, withdrawn, expired, " +
		"renewal_needed, not_given), the CCPA choice, whether direct marketing is objected to or suppressed, and every ledger event, newest first. Audited."
	get.Errors = append(get.Errors, http.StatusNotFound, http.StatusConflict)
	register(s.api, get, func(ctx context.Context, in *consentsInput) (*consentsOutput, error) {
		st, err := s.deps.Consent.State(ctx, caller(ctx).TenantID, in.ID, consentActor(ctx))
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &consentsOutput{CacheControl: "no-store", Body: st}, nil
	})

	wd := op(http.MethodDelete, "/v1/subjects/{id}/consents/{purpose}", "withdrawConsent", "Withdraw consent for a purpose", auth.PermConsentsWrite, tag)
	wd.Description += " As easy as giving it: one call, effective for the next read (GDPR Art. 7(3)). ccpa.sale_share opts out of sale and sharing."
	wd.Errors = append(wd.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, wd, func(ctx context.Context, in *withdrawInput) (*recordedOutput, error) {
		r, err := s.deps.Consent.Withdraw(ctx, caller(ctx).TenantID, in.ID, in.Purpose, consentActor(ctx))
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &recordedOutput{Status: http.StatusOK, Body: r}, nil
	})

	rc := op(http.MethodGet, "/v1/consents/{receipt}", "getConsentReceipt", "A consent receipt", auth.PermConsentsRead, tag)
	rc.Description += " The choice a receipt id belongs to, in the shape of a Kantara Consent Receipt v1.1 (mapped to ISO/IEC TS 27560 in docs/consent.md): " +
		"controller and contact, policy URL and version, purposes with categories, recipients, termination and withdrawal, and Trustee's proof of each event."
	rc.Errors = append(rc.Errors, http.StatusNotFound, http.StatusConflict)
	register(s.api, rc, func(ctx context.Context, in *receiptInput) (*receiptOutput, error) {
		r, err := s.deps.Consent.Receipt(ctx, caller(ctx).TenantID, in.Receipt)
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &receiptOutput{CacheControl: "no-store", Body: r}, nil
	})

	sts := op(http.MethodGet, "/v1/consent-stats", "getConsentStats", "Consent choices over time", auth.PermConsentsRead, tag)
	sts.Description += " Counts of given, withdrawn and expired consents per consent-based purpose and per day over the last `days` days " +
		"(today included, UTC), the opt-out rate per purpose (withdrawn / (given + withdrawn)), events per method, the share recorded from " +
		"Global Privacy Control signals, and the size of the suppression list. Counts only: no subject is named."
	sts.Errors = append(sts.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, sts, func(ctx context.Context, in *consentStatsInput) (*consentStatsOutput, error) {
		st, err := s.deps.Consent.Stats(ctx, caller(ctx).TenantID, in.Days)
		if err != nil {
			return nil, consentError(ctx, noPolicy(err))
		}
		return &consentStatsOutput{CacheControl: "no-store", Body: st}, nil
	})

	aud := op(http.MethodGet, "/v1/purposes/{key}/audience", "listAudience", "Stream the subjects a purpose may use now", auth.PermAudienceRead, tag)
	aud.Description += " NDJSON (application/x-ndjson), one object per line: {\"subject_id\": ...} (with an unsubscribe_token for direct-marketing purposes), " +
		"then a last line {\"end\": true, \"count\": N}; a listing without that line was cut short and must not be used as complete. " +
		"Excludes withdrawn, expired and renewal-needing consents, objections, restrictions, minors, CCPA opt-outs (sale or share purposes), " +
		"erased people and, for direct marketing, addresses on the suppression list. Every candidate is re-checked by the decision engine. " +
		"Paged underneath, so it streams in constant memory; it is not bound by the 30-second request timeout. Audited."
	aud.Errors = append(aud.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, aud, func(ctx context.Context, in *audienceInput) (*huma.StreamResponse, error) {
		tenantID := caller(ctx).TenantID
		a, err := s.deps.Tenants.Active(ctx, tenantID)
		if err != nil {
			return nil, consentError(ctx, noPolicy(err))
		}
		if a.Doc.PurposeByKey(in.Key) == nil {
			return nil, consentError(ctx, consent.ErrUnknownPurpose)
		}
		by := consentActor(ctx)
		return &huma.StreamResponse{Body: func(hctx huma.Context) { s.streamAudience(hctx, tenantID, in.Key, by) }}, nil
	})
	s.documentAudience()

	uns := op(http.MethodPost, "/v1/subjects/{id}/unsubscribe", "unsubscribeSubject", "Stop direct marketing to a subject", auth.PermConsentsWrite, tag)
	uns.Description += " For an objection to direct marketing (GDPR Art. 21(2)-(3)) or an unsubscribe received by the application: at once, " +
		"an upheld objection stops every purpose flagged direct_marketing, consents to them are withdrawn in the ledger, and the person's " +
		"email addresses and phone numbers go on the suppression list (keyed hashes that survive erasure). Idempotent."
	uns.Errors = append(uns.Errors, http.StatusNotFound, http.StatusConflict)
	register(s.api, uns, func(ctx context.Context, in *unsubscribeInput) (*unsubscribedOutput, error) {
		purpose := ""
		if in.Body != nil {
			purpose = in.Body.Purpose
		}
		u, err := s.deps.Consent.Unsubscribe(ctx, caller(ctx).TenantID, in.ID, purpose, "api", consentActor(ctx))
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &unsubscribedOutput{Body: u}, nil
	})

	link := op(http.MethodGet, "/v1/subjects/{id}/unsubscribe-link", "unsubscribeLink", "A one-click unsubscribe link for a message", auth.PermConsentsWrite, tag)
	link.Description += " For the List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058) of a direct-marketing message: " +
		"List-Unsubscribe: <https://TRUSTEE/v1/public/TOKEN/unsubscribe>. The token is signed, names no address and does not expire."
	link.Errors = append(link.Errors, http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, link, func(ctx context.Context, in *unsubscribeLinkInput) (*unsubscribeLinkOutput, error) {
		tenantID := caller(ctx).TenantID
		a, err := s.deps.Tenants.Active(ctx, tenantID)
		if err != nil {
			return nil, consentError(ctx, noPolicy(err))
		}
		if in.Purpose == "" {
			return nil, errf(ctx, http.StatusBadRequest, "", "Name the direct-marketing purpose of the message: ?purpose=<key>.")
		}
		if p := a.Doc.PurposeByKey(in.Purpose); p == nil || !p.DirectMarketing {
			return nil, errf(ctx, http.StatusUnprocessableEntity, "unknown-purpose", "The purpose is not a direct-marketing purpose of the active policy.")
		}
		tok, err := s.deps.Consent.UnsubscribeToken(ctx, tenantID, in.ID, in.Purpose)
		if err != nil {
			return nil, err
		}
		return &unsubscribeLinkOutput{Body: UnsubscribeLink{Token: tok, Path: "/v1/public/" + tok + "/unsubscribe", ListUnsubscribePost: "List-Unsubscribe=One-Click"}}, nil
	})

	sup := op(http.MethodPost, "/v1/suppressions", "addSuppression", "Put an address on the suppression list", auth.PermConsentsWrite, tag)
	sup.Description += " For an address that must never get direct marketing, whether or not a subject has it (a request by phone, a list from an earlier system). " +
		"Only a keyed hash is kept; audiences skip every subject with the address, now and after any erasure."
	sup.DefaultStatus = http.StatusNoContent
	sup.Errors = append(sup.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, sup, func(ctx context.Context, in *suppressionInput) (*struct{}, error) {
		kind, value, err := oneAddress(ctx, in.Body.Email, in.Body.Phone)
		if err != nil {
			return nil, err
		}
		if err := s.deps.Consent.SuppressAddress(ctx, caller(ctx).TenantID, kind, value, in.Body.Purpose, consentActor(ctx)); err != nil {
			return nil, consentError(ctx, err)
		}
		return nil, nil
	})

	chk := op(http.MethodGet, "/v1/suppressions", "checkSuppression", "Is an address on the suppression list?", auth.PermConsentsRead, tag)
	chk.Description += " Give exactly one of email or phone; the value is normalised and compared by keyed hash."
	chk.Errors = append(chk.Errors, http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, chk, func(ctx context.Context, in *suppressionCheckInput) (*suppressionCheckOutput, error) {
		kind, value, err := oneAddress(ctx, in.Email, in.Phone)
		if err != nil {
			return nil, err
		}
		ok, err := s.deps.Consent.IsSuppressed(ctx, caller(ctx).TenantID, kind, value, in.Purpose)
		if err != nil {
			return nil, consentError(ctx, err)
		}
		out := &suppressionCheckOutput{CacheControl: "no-store"}
		out.Body.Suppressed = ok
		return out, nil
	})
}

func oneAddress(ctx context.Context, email, phone string) (string, string, error) {
	switch {
	case email != "" && phone == "":
		return "email", email, nil
	case phone != "" && email == "":
		return "phone", phone, nil
	}
	return "", "", errf(ctx, http.StatusBadRequest, "", "Give exactly one of email or phone.")
}

// noPolicy translates the tenant service's "no policy" for consentError.
func noPolicy(err error) error {
	if errors.Is(err, tenant.ErrNoPolicy) {
		return consent.ErrNoPolicy
	}
	return err
}

// audienceLine is the last line of an audience stream.
type audienceLine struct {
	End   bool   `json:"end"`
	Count int    `json:"count"`
	Error string `json:"error,omitempty"`
}

// streamAudience writes the audience as NDJSON. The request's 30-second
// timeout does not apply (a send list of a large tenant takes longer); the
// stream stops when the client goes away (a write fails) or after an hour.
func (s *Server) streamAudience(hctx huma.Context, tenantID, purpose string, by consent.Actor) {
	reqCtx := hctx.Context()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), time.Hour)
	defer cancel()
	// A client that disconnects cancels the request context; the timeout
	// middleware's deadline does not stop the stream.
	stop := context.AfterFunc(reqCtx, func() {
		if !errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	defer stop()
	w := hctx.BodyWriter()
	rw, _ := w.(http.ResponseWriter)
	var rc *http.ResponseController
	if rw != nil {
		rc = http.NewResponseController(rw)
	}
	started := false
	start := func() {
		if started {
			return
		}
		started = true
		hctx.SetHeader("Content-Type", "application/x-ndjson")
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetHeader("X-Content-Type-Options", "nosniff")
		hctx.SetStatus(http.StatusOK)
	}
	enc := json.NewEncoder(w)
	n := 0
	count, err := s.deps.Consent.Audience(ctx, tenantID, purpose, by, func(m consent.AudienceMember) error {
		start()
		if err := enc.Encode(m); err != nil {
			return err
		}
		if n++; n%consent.AudiencePage == 0 && rc != nil {
			_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
			return rc.Flush()
		}
		return nil
	})
	if err != nil && !started {
		p := consentError(reqCtx, err)
		var prob *Problem
		if !errors.As(p, &prob) {
			problemLoggerOrDefault().ErrorContext(reqCtx, "audience failed", "request_id", RequestID(reqCtx), "error", err.Error())
			prob = errf(reqCtx, http.StatusInternalServerError, "", "The server could not complete the request. Quote the request id to support.")
		}
		hctx.SetHeader("Content-Type", "application/problem+json")
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetStatus(prob.Status)
		_ = jsonEncode(w, prob)
		return
	}
	start()
	if err != nil {
		problemLoggerOrDefault().WarnContext(reqCtx, "audience stream cut short", "request_id", RequestID(reqCtx), "listed", count, "error", err.Error())
		_ = enc.Encode(audienceLine{End: false, Count: count, Error: "the listing stopped early; it is incomplete"})
		return
	}
	_ = enc.Encode(audienceLine{End: true, Count: count})
}

// documentAudience describes the NDJSON answer in the OpenAPI document,
// which huma cannot infer from a stream.
func (s *Server) documentAudience() {
	o := s.api.OpenAPI()
	p := o.Paths["/v1/purposes/{key}/audience"]
	if p == nil || p.Get == nil {
		return
	}
	schema := o.Components.Schemas.Schema(reflect.TypeFor[consent.AudienceMember](), true, "")
	resp := p.Get.Responses["200"]
	if resp == nil {
		resp = &huma.Response{}
		p.Get.Responses["200"] = resp
	}
	resp.Description = "One JSON object per line: a member, and a last line {\"end\": true, \"count\": N}."
	resp.Content = map[string]*huma.MediaType{"application/x-ndjson": {Schema: schema}}
	resp.Content["application/x-ndjson"].Schema = &huma.Schema{OneOf: []*huma.Schema{schema,
		o.Components.Schemas.Schema(reflect.TypeFor[audienceLine](), true, "AudienceEnd")}}
}

// consentError maps consent errors to problems.
func consentError(ctx context.Context, err error) error {
	var ie *consent.InputError
	switch {
	case errors.As(err, &ie):
		return inputProblem(ctx, ie, "body.")
	case errors.Is(err, consent.ErrNotFound), errors.Is(err, consent.ErrErased):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject.")
	case errors.Is(err, consent.ErrReceiptNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no consent event with this receipt id.")
	case errors.Is(err, consent.ErrUnknownPurpose):
		return errf(ctx, http.StatusUnprocessableEntity, "unknown-purpose", "The purpose is not declared in the active policy (see GET /v1/policy).")
	case errors.Is(err, consent.ErrNoPolicy):
		return errf(ctx, http.StatusConflict, "no-policy", "No policy has been applied yet; apply one with PUT /v1/policy first.")
	case errors.Is(err, consent.ErrUnknownSite):
		return errf(ctx, http.StatusNotFound, "unknown-site", "No policy declares this site key.")
	case errors.Is(err, consent.ErrOrigin):
		return errf(ctx, http.StatusForbidden, "origin-not-allowed", "This origin is not among the site's allowed origins in the policy.")
	}
	return err
}

type consentStatsInput struct {
	Days int `query:"days" default:"30" minimum:"1" maximum:"366" doc:"Length of the window in days, today included."`
}

type consentStatsOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         consent.Stats
}
