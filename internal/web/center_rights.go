package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// centerRoutes registers the privacy center's request, self-service and
// preference pages. They answer 404 (the center's own page) on a server
// built without the rights service.
func (s *Server) centerRoutes(m *http.ServeMux) {
	s.centerLimit = newCenterLimiter(centerPostRate, centerPostBurst, s.d.TrustedProxies)
	m.HandleFunc("GET /p/{tenant}/requests", s.centerRights(s.requestsPage))
	m.HandleFunc("POST /p/{tenant}/requests", s.centerRights(s.requestsFile))
	m.HandleFunc("GET /p/{tenant}/requests/{id}", s.centerRights(s.requestStatus))
	m.HandleFunc("POST /p/{tenant}/requests/{id}/verify", s.centerRights(s.requestVerify))
	m.HandleFunc("POST /p/{tenant}/requests/{id}/download", s.centerRights(s.requestDownload))
	m.HandleFunc("GET /p/{tenant}/me", s.centerRights(s.mePage))
	m.HandleFunc("POST /p/{tenant}/me/{action}", s.centerRights(s.meAction))
	m.HandleFunc("GET /p/{tenant}/preferences", s.centerRights(s.prefsPage))
	m.HandleFunc("POST /p/{tenant}/preferences", s.centerRights(s.prefsSave))
}

// centerPage is a privacy center handler with its tenant and policy.
type centerPage func(w http.ResponseWriter, r *http.Request, c *centerCtx)

// centerCtx is what a center page handler knows about its request.
type centerCtx struct {
	Tenant store.Tenant
	Active *tenant.Active
	// CSRF is the form token of the page's forms.
	CSRF string
}

// Doc is the active policy.
func (c *centerCtx) Doc() *policy.Document { return c.Active.Doc }

// maxCenterForm bounds the center's form bodies.
const maxCenterForm = 64 << 10

// centerRights resolves the tenant, and for posts applies the rate limit
// and the form token, before h runs.
func (s *Server) centerRights(h centerPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if s.d.Rights == nil || s.d.Keys == nil {
			s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
			return
		}
		t, act, ok := s.center(w, r)
		if !ok {
			return
		}
		w.Header().Set("Cache-Control", "no-store") // center() sets no-cache; these pages are personal
		c := &centerCtx{Tenant: t, Active: act}
		if r.Method == http.MethodPost {
			if !s.centerLimit.allow(r) {
				w.Header().Set("Retry-After", "1")
				s.centerMessage(w, r, c, http.StatusTooManyRequests, "center.limit.title", "center.limit.body", "", "")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxCenterForm)
			if err := r.ParseForm(); err != nil {
				s.centerMessage(w, r, c, http.StatusRequestEntityTooLarge, "center.form.bad.title", "center.form.bad.body", "", "")
				return
			}
			if err := s.checkForm(r, t.ID); err != nil {
				if !errors.Is(err, errBadForm) {
					s.fail(w, r, err)
					return
				}
				s.centerMessage(w, r, c, http.StatusForbidden, "center.form.expired.title", "center.form.expired.body", "", "")
				return
			}
		}
		tok, err := s.formToken(w, r, t.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c.CSRF = tok
		h(w, r, c)
	}
}

// messageData is a page that only says something.
type messageData struct {
	Heading, Body  string
	Link, LinkText string
}

func (s *Server) centerMessage(w http.ResponseWriter, r *http.Request, c *centerCtx, status int, titleKey, bodyKey, link, linkKey string) {
	v := s.centerView(c.Tenant, c.Active, "", titleKey, nil)
	d := messageData{Heading: v.Title, Body: v.T(bodyKey), Link: link}
	if linkKey != "" {
		d.LinkText = v.T(linkKey)
	}
	v.Main = d
	s.render(w, r, status, "center/message", v)
}

// centerTypes are the request types the policy's jurisdictions allow, in
// the order the intake page lists them.
func centerTypes(doc *policy.Document) []policy.RequestType {
	var out []policy.RequestType
	if doc.Applies(policy.GDPR) || doc.Applies(policy.UKGDPR) {
		out = append(out, policy.ReqAccess, policy.ReqPortability, policy.ReqRectification, policy.ReqErasure,
			policy.ReqRestriction, policy.ReqObjection, policy.ReqWithdrawConsent)
	}
	if doc.Applies(policy.CCPA) {
		out = append(out, policy.ReqCCPAKnow, policy.ReqCCPADelete, policy.ReqCCPACorrect, policy.ReqCCPAOptOut, policy.ReqCCPALimit)
	}
	return out
}

// typeChoice is one request type as the intake page offers it.
type typeChoice struct {
	Type, Name, Desc string
	// SignInOnly: the policy verifies this type only with the
	// application's token, so it is made from the self-service page.
	SignInOnly bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type requestFormData struct {
	Types  []typeChoice
	Chosen *typeChoice
	CSRF   string
	Email  string
	Reason string
	// Details of some types.
	ObjectionKinds []option
	Grounds        []option
	Fields         []option
	Purposes       []option
	Value          string
	FieldErrors    map[string]string
	Level          string
	CCPA           bool
}

func (s *Server) typeChoices(v *view, doc *policy.Document) []typeChoice {
	var out []typeChoice
	for _, t := range centerTypes(doc) {
		out = append(out, typeChoice{Type: string(t), Name: v.T("center.type." + string(t)), Desc: v.T("center.type." + string(t) + ".desc"),
			SignInOnly: rights.Level(doc.Policy, t) == policy.VerifyAppToken})
	}
	return out
}

func (s *Server) requestForm(v *view, c *centerCtx, typ string) requestFormData {
	doc := c.Doc()
	d := requestFormData{Types: s.typeChoices(v, doc), CSRF: c.CSRF, FieldErrors: map[string]string{}}
	for i := range d.Types {
		if d.Types[i].Type == typ && !d.Types[i].SignInOnly {
			d.Chosen = &d.Types[i]
		}
	}
	if d.Chosen == nil {
		return d
	}
	d.Level = string(rights.Level(doc.Policy, policy.RequestType(typ)))
	d.CCPA = strings.HasPrefix(typ, "ccpa_")
	switch policy.RequestType(typ) {
	case policy.ReqObjection:
		for _, k := range []string{store.ObjectDirectMarketing, store.ObjectLegitimateInterest} {
			d.ObjectionKinds = append(d.ObjectionKinds, option{Value: k, Label: v.T("center.objection." + k)})
		}
	case policy.ReqRestriction:
		for _, g := range []string{store.GroundAccuracyContested, store.GroundUnlawfulProcessing, store.GroundNoLongerNeededButClaims, store.GroundObjectionPending} {
			d.Grounds = append(d.Grounds, option{Value: g, Label: v.T("center.ground." + g)})
		}
	case policy.ReqRectification, policy.ReqCCPACorrect:
		d.Fields = fieldOptions(doc)
	case policy.ReqWithdrawConsent:
		d.Purposes = append(d.Purposes, option{Value: "", Label: v.T("center.withdraw.all")})
		for _, p := range doc.Policy.Purposes {
			if p.LegalBasis == policy.BasisConsent {
				d.Purposes = append(d.Purposes, option{Value: p.Key, Label: p.Name})
			}
		}
	}
	return d
}

// fieldOptions are the policy's fields a person may ask to correct, by the
// notice's descriptions.
func fieldOptions(doc *policy.Document) []option {
	var out []option
	for _, f := range doc.Policy.Fields {
		out = append(out, option{Value: f.Name, Label: fieldLabel(doc, f.Name)})
	}
	return out
}

// fieldLabel names a field in plain words: "job_title" is "Job title".
// The policy has no display names for fields; their descriptions are
// sentences, shown beside the value instead.
func fieldLabel(_ *policy.Document, name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	v := s.centerView(c.Tenant, c.Active, "requests", "center.requests.title", nil)
	d := s.requestForm(v, c, r.URL.Query().Get("type"))
	v.Main = d
	s.render(w, r, http.StatusOK, "center/requests", v)
}

// requestsFile takes in a request from the form. The answer is the same
// page whether or not the email address belongs to anyone.
func (s *Server) requestsFile(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	v := s.centerView(c.Tenant, c.Active, "requests", "center.requests.title", nil)
	typ := r.PostFormValue("type")
	d := s.requestForm(v, c, typ)
	if d.Chosen == nil {
		d.FieldErrors["type"] = v.T("center.requests.err.type")
		v.Main, v.Error = d, v.T("center.form.errors")
		s.render(w, r, http.StatusUnprocessableEntity, "center/requests", v)
		return
	}
	d.Email, d.Reason, d.Value = strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("reason"), r.PostFormValue("value")
	in := rights.Input{Type: typ, Identity: &rights.IdentityInput{Kind: "email", Value: d.Email}, Channel: rights.ChannelPrivacyCenter,
		Details: rights.Details{Reason: d.Reason}}
	markSelected := func(opts []option, val string) {
		for i := range opts {
			opts[i].Selected = opts[i].Value == val
		}
	}
	switch policy.RequestType(typ) {
	case policy.ReqObjection:
		in.ObjectionKind = r.PostFormValue("objection_kind")
		markSelected(d.ObjectionKinds, in.ObjectionKind)
	case policy.ReqRestriction:
		in.Ground = r.PostFormValue("ground")
		markSelected(d.Grounds, in.Ground)
	case policy.ReqWithdrawConsent:
		in.Purpose = r.PostFormValue("purpose")
		markSelected(d.Purposes, in.Purpose)
	case policy.ReqRectification, policy.ReqCCPACorrect:
		field := r.PostFormValue("field")
		markSelected(d.Fields, field)
		if field != "" {
			val, _ := json.Marshal(d.Value)
			in.Fields = map[string]json.RawMessage{field: val}
		}
	}
	if d.Email == "" {
		d.FieldErrors["email"] = v.T("center.requests.err.email")
	}
	var created *rights.Created
	var err error
	if len(d.FieldErrors) == 0 {
		created, err = s.d.Rights.Create(r.Context(), c.Tenant.ID, in, rights.Actor{ID: "subject", Role: "subject", RequestID: requestID(r.Context())})
	}
	var ie *rights.InputError
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			d.FieldErrors[formField(p.Field)] = upper(p.Message)
		}
		err = nil
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(d.FieldErrors) > 0 {
		v.Main, v.Error = d, v.T("center.form.errors")
		s.render(w, r, http.StatusUnprocessableEntity, "center/requests", v)
		return
	}
	req := created.Request
	status := statusURL(c.Tenant.Slug, req.ID, created.StatusToken)
	if req.Verified() || req.State.Verification.Level != rights.MethodEmailCode {
		// Nothing to confirm by email (no check needed, or staff check by
		// hand): the same for every address, so it reveals nothing.
		http.Redirect(w, r, status, http.StatusSeeOther)
		return
	}
	s.renderCode(w, r, c, http.StatusOK, req.ID, created.StatusToken, "")
}

// formField maps a rights input field to the form's field name.
func formField(f string) string {
	switch {
	case strings.HasPrefix(f, "identity"):
		return "email"
	case strings.HasPrefix(f, "fields"):
		return "value"
	case f == "objection_kind", f == "ground", f == "purpose", f == "reason", f == "type":
		return f
	}
	return "type"
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func statusURL(slug, id, token string) string {
	return "/p/" + slug + "/requests/" + id + "?token=" + url.QueryEscape(token)
}

type codeData struct {
	ID, Token, CSRF string
	StatusURL       string
}

// renderCode is the "we sent a code" page: the same text whether or not a
// code went out.
func (s *Server) renderCode(w http.ResponseWriter, r *http.Request, c *centerCtx, status int, id, token, errKey string) {
	v := s.centerView(c.Tenant, c.Active, "requests", "center.code.title", codeData{ID: id, Token: token, CSRF: c.CSRF,
		StatusURL: statusURL(c.Tenant.Slug, id, token)})
	if errKey != "" {
		v.Error = v.T(errKey)
	}
	s.render(w, r, status, "center/code", v)
}

// requestVerify checks the emailed code, or sends a new one.
func (s *Server) requestVerify(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	id, token := r.PathValue("id"), r.PostFormValue("token")
	ctx := r.Context()
	if err := s.d.Rights.CheckStatusToken(ctx, c.Tenant.ID, id, token); err != nil {
		s.requestMissing(w, r, c, err)
		return
	}
	by := rights.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)}
	if r.PostFormValue("resend") != "" {
		if err := s.d.Rights.ResendCode(ctx, c.Tenant.ID, id, by); err != nil {
			s.fail(w, r, err)
			return
		}
		v := s.centerView(c.Tenant, c.Active, "requests", "center.code.title", codeData{ID: id, Token: token, CSRF: c.CSRF,
			StatusURL: statusURL(c.Tenant.Slug, id, token)})
		v.Flash = v.T("center.code.resent")
		s.render(w, r, http.StatusOK, "center/code", v)
		return
	}
	_, err := s.d.Rights.Verify(ctx, c.Tenant.ID, id, rights.VerifyInput{Method: rights.MethodEmailCode, Code: r.PostFormValue("code")}, by)
	var ie *rights.InputError
	var se *rights.StateError
	switch {
	case err == nil:
		http.Redirect(w, r, statusURL(c.Tenant.Slug, id, token), http.StatusSeeOther)
	case errors.Is(err, rights.ErrBadCode), errors.As(err, &ie):
		s.renderCode(w, r, c, http.StatusUnprocessableEntity, id, token, "center.code.wrong")
	case errors.As(err, &se):
		http.Redirect(w, r, statusURL(c.Tenant.Slug, id, token), http.StatusSeeOther)
	default:
		s.requestMissing(w, r, c, err)
	}
}

// requestMissing answers a wrong token and a missing request alike.
func (s *Server) requestMissing(w http.ResponseWriter, r *http.Request, c *centerCtx, err error) {
	if errors.Is(err, rights.ErrNotFound) {
		s.centerMessage(w, r, c, http.StatusNotFound, "center.status.missing.title", "center.status.missing.body", "/p/"+c.Tenant.Slug+"/requests", "center.requests.new")
		return
	}
	s.fail(w, r, err)
}

type historyLine struct {
	Text string
	At   time.Time
}

type statusData struct {
	ID, Token, CSRF string
	TypeName        string
	Status          string
	StatusText      string
	Received, Due   time.Time
	Overdue         bool
	Verifying       bool
	EmailCode       bool
	History         []historyLine
	Downloads       []string
	HasPDF          bool
	Final           bool
}

func (s *Server) requestStatus(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	id, token := r.PathValue("id"), r.URL.Query().Get("token")
	ctx := r.Context()
	if err := s.d.Rights.CheckStatusToken(ctx, c.Tenant.ID, id, token); err != nil {
		s.requestMissing(w, r, c, err)
		return
	}
	req, err := s.d.Rights.Get(ctx, c.Tenant.ID, id)
	if err != nil {
		s.requestMissing(w, r, c, err)
		return
	}
	v := s.centerView(c.Tenant, c.Active, "requests", "center.status.title", nil)
	now := s.now()
	d := statusData{ID: req.ID, Token: token, CSRF: c.CSRF, TypeName: v.T("center.type." + req.Type), Status: req.Status,
		StatusText: v.T("center.status." + req.Status), Received: req.ReceivedAt, Due: req.DueAt, Overdue: req.Overdue(now),
		Verifying: !req.Verified() && req.Status == rights.StatusVerifying,
		EmailCode: req.State.Verification.Level == rights.MethodEmailCode,
		Final:     req.Status == rights.StatusCompleted || req.Status == rights.StatusRefused || req.Status == rights.StatusWithdrawn}
	for _, h := range req.History {
		if h.From != h.To {
			d.History = append(d.History, historyLine{Text: v.T("center.history." + h.To), At: h.At})
		}
	}
	if o := req.State.Outcome; o != nil && o.ExportID != "" && req.Status == rights.StatusCompleted {
		d.Downloads = []string{"json", "csv", "pdf"}
		d.HasPDF = true
	}
	v.Main = d
	s.render(w, r, http.StatusOK, "center/status", v)
}

// requestDownload issues a single-use link to the request's export and
// sends the browser to it; links are made on demand, not on every view.
func (s *Server) requestDownload(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	id, token, format := r.PathValue("id"), r.PostFormValue("token"), r.PostFormValue("format")
	ctx := r.Context()
	if err := s.d.Rights.CheckStatusToken(ctx, c.Tenant.ID, id, token); err != nil {
		s.requestMissing(w, r, c, err)
		return
	}
	if !slices.Contains([]string{"json", "csv", "pdf"}, format) {
		s.centerMessage(w, r, c, http.StatusUnprocessableEntity, "center.download.bad.title", "center.download.bad.body", statusURL(c.Tenant.Slug, id, token), "center.status.back")
		return
	}
	u, _, err := s.d.Rights.ExportLink(ctx, c.Tenant.ID, id, format)
	if err != nil {
		if errors.Is(err, rights.ErrNotFound) {
			s.requestMissing(w, r, c, err)
			return
		}
		s.log.InfoContext(ctx, "web: export link refused", "request", id, "error", err.Error())
		s.centerMessage(w, r, c, http.StatusGone, "center.download.gone.title", "center.download.gone.body", statusURL(c.Tenant.Slug, id, token), "center.status.back")
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}
