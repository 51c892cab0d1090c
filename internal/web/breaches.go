package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/store"
)

// breachClock is the 72-hour clock of a breach as the pages show it.
type breachClock struct {
	// Told: the authority was notified (Late: after the deadline).
	Told, Late, Closed bool
	// HoursLeft counts whole hours to the deadline (0 when past it);
	// HoursOver whole hours past it while the authority is not told.
	HoursLeft, HoursOver int
	Overdue              bool
}

func clockOf(b breach.Breach, now time.Time) breachClock {
	c := breachClock{Overdue: b.Overdue, Closed: b.Status == store.BreachClosed}
	if a := b.Details.Authority; a != nil {
		c.Told, c.Late = true, a.Late
		return c
	}
	if left := b.Deadline.Sub(now); left > 0 {
		c.HoursLeft = int(left.Hours())
	} else {
		c.HoursOver = int(-left.Hours())
	}
	return c
}

type breachRow struct {
	breach.Breach
	Clock breachClock
}

// breachForm is the create form as submitted.
type breachForm struct {
	Title, Nature, DetectedAt, AwareAt, Categories                 string
	Subjects, APIKeys, ScopeCategories, From, Until, ApproxRecords string
	Consequences, Measures, PersonAdvice                           string
	Encrypted, Children                                            bool
}

type breachesData struct {
	Breaches    []breachRow
	Form        breachForm
	FieldErrors fieldErrs
}

// breachFieldKey maps a field of breach.InputError ("scope.categories[2]")
// onto the form's field ("scope.categories").
func breachFieldKey(field string) string {
	if i := strings.IndexByte(field, '['); i >= 0 {
		return field[:i]
	}
	return field
}

func breachFieldErrors(ie *breach.InputError) fieldErrs {
	fe := fieldErrs{}
	for _, p := range ie.Problems {
		k := breachFieldKey(p.Field)
		msg := upperFirst(p.Message) + "."
		if p.Field != k {
			msg = p.Field + ": " + p.Message + "."
		}
		if fe[k] != "" {
			msg = fe[k] + " " + msg
		}
		fe[k] = msg
	}
	return fe
}

// breachActor is the staff member for the register's audit events.
func breachActor(a *adminInfo) breach.Actor {
	by := a.actor()
	return breach.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID}
}

// breachesPage is the register: status, risk and the 72-hour clock of each
// breach, and a form to record one.
func (s *Server) breachesPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.breachesRender(w, r, a, http.StatusOK, breachesData{}, "")
}

func (s *Server) breachesRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d breachesData, msg string) {
	if s.d.Breach == nil {
		s.errorPage(w, r, http.StatusNotFound, "The breach register is not available on this server.")
		return
	}
	bs, err := s.d.Breach.List(r.Context(), a.Tenant.ID, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	for _, b := range bs {
		d.Breaches = append(d.Breaches, breachRow{Breach: b, Clock: clockOf(b, now)})
	}
	if d.FieldErrors == nil {
		d.FieldErrors = fieldErrs{}
	}
	v := &view{Title: "Breaches", Admin: a, Main: d, Flash: opsFlash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/breaches", v)
}

// breachCreate records a breach from the form and shows it.
func (s *Server) breachCreate(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Breach == nil {
		s.errorPage(w, r, http.StatusNotFound, "The breach register is not available on this server.")
		return
	}
	v := r.PostFormValue
	f := breachForm{Title: v("title"), Nature: v("nature"), DetectedAt: strings.TrimSpace(v("detected_at")), AwareAt: strings.TrimSpace(v("aware_at")),
		Categories: v("categories"), Subjects: v("subject_ids"), APIKeys: v("api_key_ids"), ScopeCategories: v("scope_categories"),
		From: strings.TrimSpace(v("from")), Until: strings.TrimSpace(v("until")), ApproxRecords: strings.TrimSpace(v("approx_records")),
		Consequences: v("consequences"), Measures: v("measures"), PersonAdvice: v("person_advice"),
		Encrypted: v("encrypted") != "", Children: v("children") != ""}
	fe := fieldErrs{}
	when := func(field, val string) time.Time {
		if val == "" {
			return time.Time{}
		}
		t, ok := parseDay(val)
		if !ok {
			fe[field] = "Use a date and time like 2026-03-01T09:30 (UTC)."
		}
		return t
	}
	in := breach.Input{Title: f.Title, Nature: f.Nature, DetectedAt: when("detected_at", f.DetectedAt), AwareAt: when("aware_at", f.AwareAt),
		Categories: splitList(f.Categories), Consequences: f.Consequences, Measures: f.Measures, PersonAdvice: f.PersonAdvice,
		Encrypted: f.Encrypted, Children: f.Children,
		Scope: breach.Scope{SubjectIDs: splitList(f.Subjects), APIKeyIDs: splitList(f.APIKeys), Categories: splitList(f.ScopeCategories),
			From: when("scope.from", f.From), Until: when("scope.until", f.Until)}}
	if f.ApproxRecords != "" {
		n, err := strconv.ParseInt(f.ApproxRecords, 10, 64)
		if err != nil || n < 0 {
			fe["approx_records"] = "Give a number, or leave it empty if unknown."
		}
		in.ApproxRecords = n
	}
	if len(fe) == 0 {
		b, err := s.d.Breach.Create(r.Context(), a.Tenant.ID, in, breachActor(a))
		var ie *breach.InputError
		switch {
		case err == nil:
			http.Redirect(w, r, a.Base()+"/breaches/"+b.ID+"?done=breach-created", http.StatusSeeOther)
			return
		case errors.As(err, &ie):
			fe = breachFieldErrors(ie)
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.breachesRender(w, r, a, http.StatusUnprocessableEntity, breachesData{Form: f, FieldErrors: fe}, "Please correct the marked fields; nothing was recorded.")
}

type breachData struct {
	B       breach.Breach
	Clock   breachClock
	Risks   []string
	States  []string
	Pending int64
	// Forms as submitted after a mistake, and what is wrong with each field.
	Risk, Reason, At, Reference, DelayReason, Note string
	FieldErrors                                    fieldErrs
	// Computed is the outcome of "compute affected set", shown once.
	Computed *breach.AffectedResult
	// Notified is the outcome of "notify people", shown once.
	Notified *breach.NotifyResult
}

// noticeStates are the notice states in workflow order.
var noticeStates = []string{store.NoticePending, store.NoticeQueued, store.NoticeDelivered, store.NoticeFailed, store.NoticeUnreachable}

// breachPage is one breach: description, clock, affected set with notice
// counts, the risk suggestion and the steps of the workflow as forms.
func (s *Server) breachPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.breachRender(w, r, a, http.StatusOK, breachData{}, "")
}

func (s *Server) breachRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d breachData, msg string) {
	id, ok := s.breachID(w, r)
	if !ok {
		return
	}
	b, err := s.d.Breach.Get(r.Context(), a.Tenant.ID, id)
	if errors.Is(err, breach.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such breach.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.B, d.Clock, d.Risks, d.States, d.Pending = b, clockOf(b, s.now()), []string{breach.RiskNone, breach.RiskLow, breach.RiskRisk, breach.RiskHigh}, noticeStates, b.Notices[store.NoticePending]
	if d.Risk == "" {
		d.Risk = b.Risk
		if d.Risk == "" {
			d.Risk = b.Suggested
		}
	}
	if d.FieldErrors == nil {
		d.FieldErrors = fieldErrs{}
	}
	v := &view{Title: "Breach: " + b.Title, Admin: a, Main: d, Flash: opsFlash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/breach", v)
}

// breachStep runs one step of the workflow from the breach page and maps
// the register's errors onto the page: bad input at its fields (422), a
// step that does not fit the breach's state (409), an unknown or other
// tenant's breach (404).
func (s *Server) breachStep(step string) page {
	return func(w http.ResponseWriter, r *http.Request, a *adminInfo) {
		id, ok := s.breachID(w, r)
		if !ok {
			return
		}
		ctx, tid, by := r.Context(), a.Tenant.ID, breachActor(a)
		v := r.PostFormValue
		d := breachData{Risk: v("risk"), Reason: v("reason"), At: strings.TrimSpace(v("at")), Reference: v("reference"), DelayReason: v("delay_reason"), Note: v("note")}
		var err error
		var done string
		switch step {
		case "affected":
			var res breach.AffectedResult
			res, err = s.d.Breach.ComputeAffected(ctx, tid, id, by)
			if err == nil {
				d.Computed = &res
			}
		case "assess":
			_, err = s.d.Breach.Assess(ctx, tid, id, d.Risk, d.Reason, by)
			done = "breach-assessed"
		case "authority":
			var at time.Time
			if d.At != "" {
				t, ok := parseDay(d.At)
				if !ok {
					d.FieldErrors = fieldErrs{"at": "Use a date and time like 2026-03-01T09:30 (UTC), or leave it empty for now."}
					s.breachRender(w, r, a, http.StatusUnprocessableEntity, d, "Please correct the marked fields; nothing was changed.")
					return
				}
				at = t
			}
			_, err = s.d.Breach.RecordAuthority(ctx, tid, id, at, d.Reference, d.DelayReason, by)
			done = "breach-notified"
		case "notify":
			var res breach.NotifyResult
			res, err = s.d.Breach.NotifyPeople(ctx, tid, id, by)
			if err == nil {
				d.Notified = &res
			}
		case "close":
			_, err = s.d.Breach.Close(ctx, tid, id, d.Note, by)
			done = "breach-closed"
		}
		var ie *breach.InputError
		var se *breach.StateError
		switch {
		case errors.Is(err, breach.ErrNotFound):
			s.errorPage(w, r, http.StatusNotFound, "There is no such breach.")
		case errors.As(err, &ie):
			d.FieldErrors = breachFieldErrors(ie)
			s.breachRender(w, r, a, http.StatusUnprocessableEntity, d, "Please correct the marked fields; nothing was changed.")
		case errors.As(err, &se):
			s.breachRender(w, r, a, http.StatusConflict, d, upperFirst(se.Msg)+".")
		case errors.Is(err, breach.ErrNoOutbox):
			s.breachRender(w, r, a, http.StatusServiceUnavailable, d, "No outbox is configured on this server to send notices.")
		case err != nil:
			s.fail(w, r, err)
		case done != "":
			http.Redirect(w, r, a.Base()+"/breaches/"+id+"?done="+done, http.StatusSeeOther)
		default:
			// Compute and notify show their counts on the page at once.
			s.breachRender(w, r, a, http.StatusOK, d, "")
		}
	}
}

// breachDocument serves the notification document for the authority, as
// Markdown or JSON, for download.
func (s *Server) breachDocument(format string) page {
	return func(w http.ResponseWriter, r *http.Request, a *adminInfo) {
		id, ok := s.breachID(w, r)
		if !ok {
			return
		}
		doc, err := s.d.Breach.Notification(r.Context(), a.Tenant.ID, id)
		if errors.Is(err, breach.ErrNotFound) {
			s.errorPage(w, r, http.StatusNotFound, "There is no such breach.")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var body []byte
		ct := "text/markdown; charset=utf-8"
		if format == "json" {
			if body, err = json.MarshalIndent(doc, "", "  "); err != nil {
				s.fail(w, r, err)
				return
			}
			ct = "application/json"
		} else {
			body = []byte(doc.Markdown())
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="breach-%s-notification.%s"`, id, format))
		w.Write(body)
	}
}

// fieldErrs maps a form field to what is wrong with it, and marks the
// field's input for the templates: aria-invalid and the message tied to it
// by aria-describedby.
type fieldErrs map[string]string

// Attr is the attributes of the input with id for field: none when the
// field is fine.
func (f fieldErrs) Attr(id, field string) template.HTMLAttr {
	if f[field] == "" {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(id) + `-error"`)
}

// Msg is the message shown under the input with id for field.
func (f fieldErrs) Msg(id, field string) template.HTML {
	if f[field] == "" {
		return ""
	}
	return template.HTML(`<p class="field-error" id="` + template.HTMLEscapeString(id) + `-error">` + template.HTMLEscapeString(f[field]) + `</p>`)
}

// breachID is the breach id of the route, answering 404 itself when the
// register is not configured or the id cannot be one.
func (s *Server) breachID(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.d.Breach == nil {
		s.errorPage(w, r, http.StatusNotFound, "The breach register is not available on this server.")
		return "", false
	}
	id := r.PathValue("id")
	if !idRe.MatchString(id) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such breach.")
		return "", false
	}
	return id, true
}
