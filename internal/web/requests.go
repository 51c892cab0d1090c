package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/export"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// The data-subject request queue and detail pages. The console is an
// adapter like the API's /v1/requests operations: every action calls the
// same rights.Service method with the permission the API operation needs
// (verify and withdraw requests:write, the decisions requests:decide), and
// the rights workflow records the history and the audit events.
//
// What the person asked for (the request's details) and the free text of
// the history may be personal data, so the detail page shows them only in a
// case view: a POST with a case reference, audited as console.request_view
// before anything is shown, like the subject lookup's console.subject_view.

// dsrRoutes registers the request pages.
func (s *Server) dsrRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/{tenant}/requests", s.console(auth.PermRequestsRead, "requests", s.dsrQueuePage))
	m.HandleFunc("GET /admin/{tenant}/requests/{id}", s.console(auth.PermRequestsRead, "requests", s.dsrPage))
	m.HandleFunc("POST /admin/{tenant}/requests/{id}/view", s.console(auth.PermRequestsRead, "requests", s.dsrCaseView))
	m.HandleFunc("POST /admin/{tenant}/requests/{id}/verify", s.console(auth.PermRequestsWrite, "requests", s.dsrAction("verify")))
	m.HandleFunc("POST /admin/{tenant}/requests/{id}/withdraw", s.console(auth.PermRequestsWrite, "requests", s.dsrAction("withdraw")))
	for _, act := range []string{"approve", "extend", "refuse", "complete", "instruct"} {
		m.HandleFunc("POST /admin/{tenant}/requests/{id}/"+act, s.console(auth.PermRequestsDecide, "requests", s.dsrAction(act)))
	}
	m.HandleFunc("POST /admin/{tenant}/requests/{id}/recipients/{key}/handled", s.console(auth.PermRequestsDecide, "requests", s.dsrAction("handled")))
	m.HandleFunc("POST /admin/{tenant}/requests/{id}/export/{format}", s.console(auth.PermRequestsDecide, "requests", s.dsrExport))
}

// dsrTypeText says what each request type asks, in plain words.
var dsrTypeText = map[string]string{
	string(policy.ReqAccess):          "Access: a copy of their data",
	string(policy.ReqPortability):     "Portability: their data to take elsewhere",
	string(policy.ReqRectification):   "Correct their data",
	string(policy.ReqErasure):         "Erase their data",
	string(policy.ReqRestriction):     "Restrict processing",
	string(policy.ReqObjection):       "Object to processing",
	string(policy.ReqWithdrawConsent): "Withdraw consent",
	string(policy.ReqCCPAKnow):        "Know what is collected (CCPA)",
	string(policy.ReqCCPADelete):      "Delete their information (CCPA)",
	string(policy.ReqCCPACorrect):     "Correct their information (CCPA)",
	string(policy.ReqCCPAOptOut):      "Opt out of sale or sharing (CCPA)",
	string(policy.ReqCCPALimit):       "Limit use of sensitive information (CCPA)",
}

func dsrTypeWords(t string) string {
	if w, ok := dsrTypeText[t]; ok {
		return w
	}
	return t
}

var dsrStatusText = map[string]string{
	rights.StatusReceived: "received", rights.StatusVerifying: "verifying identity", rights.StatusAwaitingController: "awaiting the controller",
	rights.StatusInProgress: "in progress", rights.StatusExtended: "extended", rights.StatusCompleted: "completed",
	rights.StatusRefused: "refused", rights.StatusWithdrawn: "withdrawn",
}

func dsrStatusWords(s string) string {
	if w, ok := dsrStatusText[s]; ok {
		return w
	}
	return s
}

var dsrRefusalText = map[string]string{
	rights.RefuseManifestlyUnfounded: "Manifestly unfounded (Art. 12(5))",
	rights.RefuseExcessive:           "Excessive, e.g. repeated (Art. 12(5))",
	rights.RefuseIdentityNotVerified: "Identity could not be verified (Art. 12(6))",
	rights.RefuseExemption:           "An exemption applies (e.g. Art. 17(3))",
	rights.RefuseOther:               "Other (explain below)",
}

var dsrChannelText = map[string]string{rights.ChannelAPI: "API", rights.ChannelPrivacyCenter: "privacy center", rights.ChannelStaff: "staff"}

// dsrChoice is an option of a select.
type dsrChoice struct{ Value, Label string }

// dsrDue is a request's due date as the pages show it.
type dsrDue struct {
	At      time.Time
	Closed  bool
	Overdue bool
	Soon    bool
	// DaysLeft counts whole days to the due time; DaysOver days past it.
	DaysLeft, DaysOver int
}

func dsrDueOf(r *rights.Request, now time.Time) dsrDue {
	d := dsrDue{At: r.DueAt, Closed: !r.ClosedAt.IsZero()}
	if d.Closed {
		return d
	}
	if r.Overdue(now) {
		d.Overdue = true
		d.DaysOver = int(now.Sub(r.DueAt).Hours()/24) + 1
		return d
	}
	d.DaysLeft = int(r.DueAt.Sub(now).Hours() / 24)
	d.Soon = r.DueSoon(now)
	return d
}

// dsrRow is one line of the queue.
type dsrRow struct {
	ID, Short, Type, TypeWords, Status, StatusWords, Channel string
	Received                                                 time.Time
	Due                                                      dsrDue
	Verified                                                 bool
}

func dsrRowOf(r *rights.Request, now time.Time) dsrRow {
	ch := dsrChannelText[r.Channel]
	if ch == "" {
		ch = r.Channel
	}
	if v := r.State.StaffVia; v != "" {
		ch += " (" + strings.ReplaceAll(v, "_", " ") + ")"
	}
	return dsrRow{ID: r.ID, Short: dsrShortID(r.ID), Type: r.Type, TypeWords: dsrTypeWords(r.Type), Status: r.Status, StatusWords: dsrStatusWords(r.Status),
		Channel: ch, Received: r.ReceivedAt, Due: dsrDueOf(r, now), Verified: r.Verified()}
}

// dsrShortID is the last 8 characters of an id: a UUIDv7 starts with its
// time, so ids made the same minute share their beginning, not their end.
func dsrShortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[len(id)-8:]
}

// dsrPageSize is the queue's page length.
const dsrPageSize = 50

// dsrMaxPage bounds the page number (offsets beyond are pointless).
const dsrMaxPage = 1000

type dsrQueueData struct {
	Rows              []dsrRow
	Type, Status, Due string
	Types             []dsrChoice
	Statuses          []dsrChoice
	Page              int
	PrevURL, NextURL  string
}

// dsrQueuePage is the queue: soonest due first, filtered by type, status
// and due soon or overdue, 50 a page. It shows no personal data (ids,
// types, dates), so it is not audited as a view.
func (s *Server) dsrQueuePage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Rights == nil {
		s.errorPage(w, r, http.StatusNotFound, "Data-subject requests are not available on this server.")
		return
	}
	q := r.URL.Query()
	d := dsrQueueData{Type: q.Get("type"), Status: q.Get("status"), Due: q.Get("due"), Page: 1}
	for _, t := range policy.RequestTypes {
		d.Types = append(d.Types, dsrChoice{string(t), dsrTypeWords(string(t))})
	}
	for _, st := range rights.Statuses {
		d.Statuses = append(d.Statuses, dsrChoice{st, dsrStatusWords(st)})
	}
	f := rights.Filter{Type: d.Type, Limit: dsrPageSize + 1}
	if d.Status != "" {
		f.Statuses = []string{d.Status}
	}
	bad := false
	switch d.Due {
	case "":
	case "soon":
		f.DueSoon = true
	case "overdue":
		f.Overdue = true
	default:
		bad = true
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > dsrMaxPage {
			bad = true
		}
		d.Page = n
	}
	if bad || (d.Type != "" && dsrTypeText[d.Type] == "") || (d.Status != "" && !slices.Contains(rights.Statuses, d.Status)) {
		s.errorPage(w, r, http.StatusBadRequest, "That filter is not valid; start again from the Requests page.")
		return
	}
	f.Offset = (d.Page - 1) * dsrPageSize
	rs, err := s.d.Rights.List(r.Context(), a.Tenant.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(rs) > dsrPageSize {
		rs = rs[:dsrPageSize]
		nq := dsrCloneQuery(q)
		nq.Set("page", strconv.Itoa(d.Page+1))
		d.NextURL = a.Base() + "/requests?" + nq.Encode()
	}
	if d.Page > 1 {
		pq := dsrCloneQuery(q)
		pq.Set("page", strconv.Itoa(d.Page-1))
		d.PrevURL = a.Base() + "/requests?" + pq.Encode()
	}
	now := s.now()
	for _, req := range rs {
		d.Rows = append(d.Rows, dsrRowOf(req, now))
	}
	s.render(w, r, http.StatusOK, "admin/requests", &view{Title: "Requests", Admin: a, Main: d, Flash: opsFlash(r)})
}

func dsrCloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// ---- one request ----

// dsrRecipient is the propagation status of one recipient, with how it is
// reached.
type dsrRecipient struct {
	fulfil.RecipientStatus
	Done     bool
	Endpoint bool
	Host     string
}

// dsrField is one corrected value asked for.
type dsrField struct{ Name, Value string }

// dsrHistory is one entry of the timeline.
type dsrHistory struct {
	At                 time.Time
	From, To, Actor    string
	FromWords, ToWords string
	Note               string
}

// dsrExportLink is a single-use download link made for the approval page.
type dsrExportLink struct {
	Format, URL string
	Expires     time.Time
}

// dsrApprovedInfo is what approving returned, shown on that response only.
type dsrApprovedInfo struct {
	PDFPassword, TransmitSecret string
	Links                       []dsrExportLink
}

// dsrActions says which forms the page offers: what the role may do
// and the request's state allows.
type dsrActions struct {
	Verify, Approve, Extend, Refuse, Complete, Instruct, Handle, Withdraw, Export bool
}

type dsrData struct {
	R           *rights.Request
	TypeWords   string
	StatusWords string
	Channel     string
	Due         dsrDue
	Recipients  []dsrRecipient
	Can         dsrActions
	Periods     []string
	Reasons     []dsrChoice
	FeesAllowed bool
	// Reveal is the audited case view: details and free text are shown.
	Reveal   bool
	CaseRef  string
	Fields   []dsrField
	Approved *dsrApprovedInfo
	History  []dsrHistory
	// Form holds submitted values after a mistake, keyed "action.field";
	// FieldErrors what is wrong with them, keyed the same way.
	Form        map[string]string
	FieldErrors fieldErrs
}

// dsrRender shows one request. A missing request, or another
// tenant's, is a 404.
func (s *Server) dsrRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d dsrData, msg string) {
	if s.d.Rights == nil {
		s.errorPage(w, r, http.StatusNotFound, "Data-subject requests are not available on this server.")
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	if !idRe.MatchString(id) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such request.")
		return
	}
	req, err := s.d.Rights.Get(ctx, a.Tenant.ID, id)
	if errors.Is(err, rights.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such request.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Reveal {
		// No unaudited views: the case view is recorded before anything
		// of it is shown.
		by := a.actor()
		ev := audit.Event{Actor: by.ID, Role: by.Role, Action: "console.request_view", SubjectID: req.SubjectID, Outcome: audit.OutcomeOK,
			Reason: "case " + d.CaseRef + "; request " + req.ID + " " + req.Type, RequestID: by.RequestID}
		for name := range req.Details.Fields {
			ev.Fields = append(ev.Fields, name)
		}
		slices.Sort(ev.Fields)
		if err := s.d.Audit.Record(ctx, s.d.Store, a.Tenant.ID, ev); err != nil {
			s.fail(w, r, err)
			return
		}
		for name, v := range req.Details.Fields {
			d.Fields = append(d.Fields, dsrField{Name: name, Value: displayValue(v)})
		}
		sort.Slice(d.Fields, func(i, j int) bool { return d.Fields[i].Name < d.Fields[j].Name })
	}
	recips, err := s.d.Rights.Recipients(ctx, a.Tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	endpoints := map[string]fulfil.RecipientInfo{}
	if s.d.Fulfil != nil && len(recips) > 0 {
		infos, err := s.d.Fulfil.ListRecipients(ctx, a.Tenant.ID)
		if err != nil && !errors.Is(err, tenant.ErrNoPolicy) && !errors.Is(err, fulfil.ErrNoPolicy) {
			s.fail(w, r, err)
			return
		}
		for _, in := range infos {
			endpoints[in.Key] = in
		}
	}
	for _, rc := range recips {
		ep := endpoints[rc.Recipient]
		d.Recipients = append(d.Recipients, dsrRecipient{RecipientStatus: rc, Done: rc.Done(), Endpoint: ep.Endpoint, Host: ep.Host})
	}
	act, err := s.d.Tenants.Active(ctx, a.Tenant.ID)
	if err != nil && !errors.Is(err, tenant.ErrNoPolicy) {
		s.fail(w, r, err)
		return
	}
	processor := false
	if act != nil {
		p := act.Doc.Policy
		processor = p.Mode == policy.ModeProcessor
		d.FeesAllowed = p.Rights.Fees == policy.FeesExcessiveOnly
	}
	d.R, d.TypeWords, d.StatusWords, d.Due = req, dsrTypeWords(req.Type), dsrStatusWords(req.Status), dsrDueOf(req, s.now())
	d.Channel = dsrRowOf(req, s.now()).Channel
	logins := map[string]string{}
	if accounts, err := s.staff.List(ctx, a.Tenant.ID); err == nil {
		for _, acc := range accounts {
			logins[staff.ActorID(acc.ID)] = acc.Login
		}
	}
	for _, h := range req.History {
		actor := h.Actor
		if l, ok := logins[actor]; ok {
			actor = l + " (staff)"
		}
		d.History = append(d.History, dsrHistory{At: h.At, From: h.From, To: h.To, Actor: actor,
			FromWords: dsrStatusWords(h.From), ToWords: dsrStatusWords(h.To), Note: h.Note})
	}
	d.Can = dsrActionsFor(a, req, d.Recipients, processor)
	d.Periods = []string{"1mo", "2mo"}
	if req.Jurisdiction == string(policy.CCPA) {
		d.Periods = []string{"15d", "30d", "45d"}
	}
	for _, rr := range rights.RefusalReasons {
		d.Reasons = append(d.Reasons, dsrChoice{rr, dsrRefusalText[rr]})
	}
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	if d.FieldErrors == nil {
		d.FieldErrors = fieldErrs{}
	}
	v := &view{Title: "Request " + dsrShortID(req.ID), Admin: a, Main: d, Flash: dsrFlash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/request", v)
}

// dsrActionsFor decides which actions the page offers. The rights service
// checks the same rules again; this only keeps impossible buttons away.
func dsrActionsFor(a *adminInfo, r *rights.Request, recips []dsrRecipient, processor bool) dsrActions {
	open := r.ClosedAt.IsZero() && r.Status != rights.StatusCompleted && r.Status != rights.StatusRefused && r.Status != rights.StatusWithdrawn
	write, decide := a.Can(string(auth.PermRequestsWrite)), a.Can(string(auth.PermRequestsDecide))
	outcome := r.State.Outcome != nil
	awaiting := r.Status == rights.StatusAwaitingController
	refusedByController := r.State.Instruction != nil && r.State.Instruction.Decision == "refuse"
	pending := slices.ContainsFunc(recips, func(x dsrRecipient) bool { return !x.Done })
	typ := policy.RequestType(r.Type)
	return dsrActions{
		Verify:   write && open && !r.Verified(),
		Withdraw: write && open && !outcome,
		Approve:  decide && open && r.Verified() && r.SubjectID != "" && !awaiting && !refusedByController && !outcome,
		Extend: decide && open && r.State.Extension == nil && !outcome &&
			typ != policy.ReqCCPAOptOut && typ != policy.ReqCCPALimit,
		Refuse:   decide && open && !outcome,
		Complete: decide && open && ((outcome && !pending) || r.SubjectID == ""),
		Instruct: decide && processor && awaiting,
		Handle:   decide && outcome,
		Export:   decide && outcome && r.State.Outcome.ExportID != "",
	}
}

// dsrFlash is the confirmation line after an action (codes, not text).
func dsrFlash(r *http.Request) string {
	return map[string]string{
		"verified":   "The requester's identity is recorded as verified.",
		"extended":   "The deadline was extended; the person was told why.",
		"refused":    "The request was refused; the person was told why and of their right to complain.",
		"fee":        "The fee was recorded and the person told; the request stays open.",
		"completed":  "The request was completed and the person told.",
		"instructed": "The controller's instruction was recorded.",
		"handled":    "The recipient was marked as told by hand.",
		"withdrawn":  "The request was withdrawn.",
	}[r.URL.Query().Get("done")]
}

func (s *Server) dsrPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.dsrRender(w, r, a, http.StatusOK, dsrData{}, "")
}

// dsrCaseView is the case view: what the person asked for and the notes of
// the history, after recording console.request_view with the case
// reference. A POST, so the view is a deliberate act and never a link.
func (s *Server) dsrCaseView(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	ref := strings.TrimSpace(r.PostFormValue("case"))
	if !caseRefPattern.MatchString(ref) {
		d := dsrData{Form: map[string]string{"view.case": ref},
			FieldErrors: fieldErrs{"view.case": "Enter a case or ticket number: 1 to 40 letters, digits and dashes, no spaces."}}
		s.dsrRender(w, r, a, http.StatusUnprocessableEntity, d, "Please give a case reference; nothing was shown.")
		return
	}
	s.dsrRender(w, r, a, http.StatusOK, dsrData{Reveal: true, CaseRef: ref}, "")
}

// dsrAction runs one action of the workflow from the detail page and
// maps the rights errors onto it: bad input at its fields (422), an action
// the request's state does not allow as a banner (409), an unknown or
// other tenant's request (404).
func (s *Server) dsrAction(action string) page {
	return func(w http.ResponseWriter, r *http.Request, a *adminInfo) {
		if s.d.Rights == nil {
			s.errorPage(w, r, http.StatusNotFound, "Data-subject requests are not available on this server.")
			return
		}
		id := r.PathValue("id")
		if !idRe.MatchString(id) {
			s.errorPage(w, r, http.StatusNotFound, "There is no such request.")
			return
		}
		ctx, tid := r.Context(), a.Tenant.ID
		by := a.actor()
		actor := rights.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID}
		v := func(k string) string { return r.PostFormValue(k) }
		form := map[string]string{}
		keep := func(fields ...string) {
			for _, f := range fields {
				form[action+"."+f] = v(f)
			}
		}
		fe := fieldErrs{}
		var err error
		done := ""
		prefix := action
		switch action {
		case "verify":
			keep("checked")
			_, err = s.d.Rights.Verify(ctx, tid, id, rights.VerifyInput{Method: rights.MethodManual, Checked: v("checked")}, actor)
			done = "verified"
		case "withdraw":
			_, err = s.d.Rights.Withdraw(ctx, tid, id, actor)
			done = "withdrawn"
		case "approve":
			var res *rights.Approved
			res, err = s.d.Rights.Approve(ctx, tid, id, actor)
			if err == nil {
				s.dsrApproved(w, r, a, res)
				return
			}
		case "extend":
			keep("by", "reason")
			_, err = s.d.Rights.Extend(ctx, tid, id, v("by"), v("reason"), actor)
			done = "extended"
		case "refuse":
			keep("reason", "text", "fee_amount", "fee_currency")
			in := rights.RefuseInput{Reason: v("reason"), Text: v("text")}
			if amt := strings.TrimSpace(v("fee_amount")); amt != "" || strings.TrimSpace(v("fee_currency")) != "" {
				minor, ok := parseMoney(amt)
				if !ok {
					fe["refuse.fee.amount"] = "Give the amount like 25 or 25.50."
				}
				in.FeeAmount, in.FeeCurrency = minor, strings.ToUpper(strings.TrimSpace(v("fee_currency")))
				done = "fee"
			} else {
				done = "refused"
			}
			if len(fe) == 0 {
				_, err = s.d.Rights.Refuse(ctx, tid, id, in, actor)
			}
		case "complete":
			keep("note")
			_, err = s.d.Rights.Complete(ctx, tid, id, v("note"), actor)
			done = "completed"
		case "instruct":
			keep("decision", "note")
			_, err = s.d.Rights.Instruct(ctx, tid, id, v("decision"), v("note"), actor)
			done = "instructed"
		case "handled":
			key := r.PathValue("key")
			prefix = "handled-" + key
			form[prefix+".note"] = v("note")
			_, err = s.d.Rights.MarkRecipientHandled(ctx, tid, id, key, v("note"), actor)
			done = "handled"
		}
		var ie *rights.InputError
		var se *rights.StateError
		switch {
		case len(fe) > 0:
			s.dsrRender(w, r, a, http.StatusUnprocessableEntity, dsrData{Form: form, FieldErrors: fe}, "Please correct the marked fields; nothing was changed.")
		case errors.Is(err, rights.ErrNotFound):
			s.errorPage(w, r, http.StatusNotFound, "There is no such request.")
		case errors.As(err, &ie):
			for _, p := range ie.Problems {
				k := prefix + "." + p.Field
				msg := upperFirst(p.Message) + "."
				if fe[k] != "" {
					msg = fe[k] + " " + msg
				}
				fe[k] = msg
			}
			s.dsrRender(w, r, a, http.StatusUnprocessableEntity, dsrData{Form: form, FieldErrors: fe}, "Please correct the marked fields; nothing was changed.")
		case errors.As(err, &se):
			s.dsrRender(w, r, a, http.StatusConflict, dsrData{Form: form}, upperFirst(se.Msg)+".")
		case errors.Is(err, rights.ErrNotVerified):
			s.dsrRender(w, r, a, http.StatusConflict, dsrData{Form: form}, "The requester's identity has not been verified; unverified requests are never fulfilled.")
		case errors.Is(err, rights.ErrNoPolicy):
			s.dsrRender(w, r, a, http.StatusConflict, dsrData{Form: form}, "This organisation has no policy yet: apply one on the Policy page first.")
		case errors.Is(err, rights.ErrNoFulfiller):
			s.dsrRender(w, r, a, http.StatusServiceUnavailable, dsrData{Form: form}, "Fulfilment is not configured on this server.")
		case err != nil:
			s.fail(w, r, err)
		default:
			http.Redirect(w, r, a.Base()+"/requests/"+id+"?done="+done, http.StatusSeeOther)
		}
	}
}

// dsrExportFormats are the formats of an access or portability export.
var dsrExportFormats = []string{"json", "csv", "pdf"}

// dsrApproved shows the outcome of approving, once: the export's PDF
// password and the portability transmit secret are in this response only
// (never in a URL, a log or a later page), with fresh single-use download
// links of each format.
func (s *Server) dsrApproved(w http.ResponseWriter, r *http.Request, a *adminInfo, res *rights.Approved) {
	info := &dsrApprovedInfo{PDFPassword: res.PDFPassword, TransmitSecret: res.TransmitSecret}
	if o := res.Request.State.Outcome; o != nil && o.ExportID != "" {
		for _, f := range dsrExportFormats {
			u, exp, err := s.d.Rights.ExportLink(r.Context(), a.Tenant.ID, res.Request.ID, f)
			if errors.Is(err, export.ErrFormat) {
				continue
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			info.Links = append(info.Links, dsrExportLink{Format: f, URL: u, Expires: exp})
		}
	}
	s.dsrRender(w, r, a, http.StatusOK, dsrData{Approved: info}, "")
}

// dsrExport makes a single-use download link of one format of the
// request's export and sends the browser to it. A POST, because each link
// is recorded and audited (export.link).
func (s *Server) dsrExport(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Rights == nil {
		s.errorPage(w, r, http.StatusNotFound, "Data-subject requests are not available on this server.")
		return
	}
	id, format := r.PathValue("id"), r.PathValue("format")
	if !idRe.MatchString(id) || !slices.Contains(dsrExportFormats, format) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such request or format.")
		return
	}
	u, _, err := s.d.Rights.ExportLink(r.Context(), a.Tenant.ID, id, format)
	switch {
	case errors.Is(err, rights.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "There is no such request.")
	case errors.Is(err, rights.ErrNoExport), errors.Is(err, export.ErrFormat), errors.Is(err, export.ErrNotFound):
		s.dsrRender(w, r, a, http.StatusNotFound, dsrData{}, "The request has no export in that format.")
	case errors.Is(err, export.ErrGone):
		s.dsrRender(w, r, a, http.StatusGone, dsrData{}, "The export has expired and was deleted; approve a new access request to build another.")
	case errors.Is(err, rights.ErrNoFulfiller):
		s.dsrRender(w, r, a, http.StatusServiceUnavailable, dsrData{}, "Exports are not configured on this server.")
	case err != nil:
		s.fail(w, r, err)
	default:
		http.Redirect(w, r, u, http.StatusSeeOther)
	}
}

// parseMoney reads an amount of money typed by staff ("25", "25.5",
// "25.50") into minor units (cents). At most two decimals, no sign, no
// thousands separators; up to 1 000 000.00.
func parseMoney(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 7 || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	total := w*100 + f
	if total > 1_000_000_00 {
		return 0, false
	}
	return total, true
}

// FeeText is the fee asked, as an amount with two decimals and its
// currency, or "" when none was asked.
func (d dsrData) FeeText() string {
	if d.R == nil || d.R.State.Fee == nil {
		return ""
	}
	f := d.R.State.Fee
	return formatMoney(f.Amount) + " " + f.Currency
}

// formatMoney shows minor units with two decimals, as parseMoney reads them.
func formatMoney(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }
