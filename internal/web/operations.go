package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// idRe is a Trustee id (UUIDv7 text); anything else in a path is a 404
// without a store lookup.
var idRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// opsFlash is the confirmation line of the operations pages, from a ?done=
// code (codes, not text, like flash).
func opsFlash(r *http.Request) string {
	if m, ok := map[string]string{
		"retried":         "The message will be tried again now.",
		"handled":         "The message was marked handled; delivery stopped and its content was deleted.",
		"hold-placed":     "The legal hold was placed. What it covers is no longer deleted by retention or erasure.",
		"hold-released":   "The legal hold was released. The data it kept follows its retention again.",
		"breach-created":  "The breach was recorded. The 72-hour clock runs from the time you became aware of it.",
		"breach-updated":  "The breach was updated.",
		"breach-affected": "The affected set was computed.",
		"breach-assessed": "The risk assessment was recorded.",
		"breach-notified": "The notification of the supervisory authority was recorded.",
		"breach-people":   "The notices to the people affected were queued.",
		"breach-closed":   "The breach was closed.",
	}[r.URL.Query().Get("done")]; ok {
		return m
	}
	return flash(r)
}

// opsRoutes are the operations pages: outbox, retention, legal holds and
// the breach register.
func (s *Server) opsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/{tenant}/outbox", s.console(auth.PermOutboxManage, "outbox", s.outboxPage))
	m.HandleFunc("POST /admin/{tenant}/outbox/{id}/retry", s.console(auth.PermOutboxManage, "outbox", s.outboxAction("retry")))
	m.HandleFunc("POST /admin/{tenant}/outbox/{id}/handled", s.console(auth.PermOutboxManage, "outbox", s.outboxAction("handled")))
	m.HandleFunc("GET /admin/{tenant}/retention", s.console(auth.PermRetentionRead, "retention", s.retentionPage))
	m.HandleFunc("POST /admin/{tenant}/retention/run", s.console(auth.PermRetentionRun, "retention", s.retentionRun))
	m.HandleFunc("GET /admin/{tenant}/holds", s.console(auth.PermLegalHolds, "holds", s.holdsPage))
	m.HandleFunc("POST /admin/{tenant}/holds", s.console(auth.PermLegalHolds, "holds", s.holdCreate))
	m.HandleFunc("POST /admin/{tenant}/holds/{id}/release", s.console(auth.PermLegalHolds, "holds", s.holdRelease))
	m.HandleFunc("GET /admin/{tenant}/breaches", s.console(auth.PermBreaches, "breaches", s.breachesPage))
	m.HandleFunc("POST /admin/{tenant}/breaches", s.console(auth.PermBreaches, "breaches", s.breachCreate))
	m.HandleFunc("GET /admin/{tenant}/breaches/{id}", s.console(auth.PermBreaches, "breaches", s.breachPage))
	m.HandleFunc("GET /admin/{tenant}/breaches/{id}/notification.md", s.console(auth.PermBreaches, "breaches", s.breachDocument("md")))
	m.HandleFunc("GET /admin/{tenant}/breaches/{id}/notification.json", s.console(auth.PermBreaches, "breaches", s.breachDocument("json")))
	for _, step := range []string{"affected", "assess", "authority", "notify", "close"} {
		m.HandleFunc("POST /admin/{tenant}/breaches/{id}/"+step, s.console(auth.PermBreaches, "breaches", s.breachStep(step)))
	}
}

// ---- outbox ----

// outboxStatuses are the status filter's choices. "retrying" is a queued
// message that failed at least once.
var outboxStatuses = []string{"queued", "retrying", "delivered", "dead", "handled", "cancelled"}

type outboxData struct {
	Messages []outbox.Status
	Status   string
	Channel  string
	Topic    string
	Statuses []string
	NextURL  string
	// FieldErrors maps "note-<message id>" to what is wrong with a note.
	FieldErrors map[string]string
	Note        map[string]string
}

var outboxTopicRe = regexp.MustCompile(`^[a-z0-9._-]{1,100}$`)

// outboxPage lists the tenant's emails and webhooks: status, attempts and
// the last error, never an address, subject line, body or URL (only what
// outbox.Status holds: the email domain or webhook host).
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.outboxRender(w, r, a, http.StatusOK, outboxData{}, "")
}

func (s *Server) outboxRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d outboxData, msg string) {
	if s.d.Outbox == nil {
		s.errorPage(w, r, http.StatusNotFound, "The outbox is not available on this server.")
		return
	}
	q := r.URL.Query()
	d.Status, d.Channel, d.Topic, d.Statuses = q.Get("status"), q.Get("channel"), strings.TrimSpace(q.Get("topic")), outboxStatuses
	if d.FieldErrors == nil {
		d.FieldErrors = map[string]string{}
	}
	f := outbox.Filter{State: outbox.State(d.Status), Channel: d.Channel, Topic: d.Topic, Limit: 100, Before: q.Get("cursor")}
	if d.Status == "retrying" {
		f.State = outbox.Queued
	}
	switch {
	case d.Status != "" && !slices.Contains(outboxStatuses, d.Status),
		d.Channel != "" && d.Channel != "email" && d.Channel != "webhook",
		d.Topic != "" && !outboxTopicRe.MatchString(d.Topic),
		f.Before != "" && !idRe.MatchString(f.Before):
		s.errorPage(w, r, http.StatusBadRequest, "That filter is not valid; start again from the Outbox page.")
		return
	}
	msgs, err := s.d.Outbox.List(r.Context(), a.Tenant.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(msgs) == f.Limit {
		nq := q
		nq.Set("cursor", msgs[len(msgs)-1].ID)
		d.NextURL = a.Base() + "/outbox?" + nq.Encode()
	}
	if d.Status == "retrying" {
		msgs = slices.DeleteFunc(msgs, func(m outbox.Status) bool { return m.Attempts == 0 })
	}
	d.Messages = msgs
	v := &view{Title: "Outbox", Admin: a, Main: d, Flash: opsFlash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/outbox", v)
}

// outboxAction is "retry now" and "mark handled", audited like the API's
// (outbox.retry, outbox.handled; the note is free text and is not).
func (s *Server) outboxAction(action string) page {
	return func(w http.ResponseWriter, r *http.Request, a *adminInfo) {
		if s.d.Outbox == nil {
			s.errorPage(w, r, http.StatusNotFound, "The outbox is not available on this server.")
			return
		}
		id := r.PathValue("id")
		if !idRe.MatchString(id) {
			s.errorPage(w, r, http.StatusNotFound, "There is no such message.")
			return
		}
		ctx := r.Context()
		by := a.actor()
		var err error
		auditAction, what, done := "outbox.retry", "retry requested", "retried"
		note := strings.TrimSpace(r.PostFormValue("note"))
		if action == "handled" {
			auditAction, what, done = "outbox.handled", "marked handled by hand", "handled"
			if note == "" || len(note) > 1000 {
				d := outboxData{FieldErrors: map[string]string{"note-" + id: "Say what was done instead (1 to 1000 characters)."}, Note: map[string]string{id: note}}
				s.outboxRender(w, r, a, http.StatusUnprocessableEntity, d, "A note saying what was done is required; nothing was changed.")
				return
			}
			err = s.d.Outbox.MarkHandled(ctx, a.Tenant.ID, id, note, by.ID)
		} else {
			err = s.d.Outbox.RetryNow(ctx, a.Tenant.ID, id)
		}
		switch {
		case errors.Is(err, outbox.ErrNotFound):
			s.errorPage(w, r, http.StatusNotFound, "There is no such message.")
			return
		case errors.Is(err, outbox.ErrFinal):
			s.outboxRender(w, r, a, http.StatusConflict, outboxData{}, "That message is already delivered, handled or cancelled.")
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		st, err := s.d.Outbox.Get(ctx, a.Tenant.ID, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.d.Audit.Record(ctx, s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: auditAction, SubjectID: st.SubjectID,
			Outcome: audit.OutcomeOK, RequestID: by.RequestID, Reason: fmt.Sprintf("outbox message %s (%s, %s) %s", st.ID, st.Topic, st.Channel, what)}); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, a.Base()+"/outbox?done="+done, http.StatusSeeOther)
	}
}

// ---- retention ----

// retentionWindows are the plan's choices of windows, in days.
var retentionWindows = []int{0, 7, 30, 90, 365}

type retentionData struct {
	Plan    retention.Plan
	Days    int
	Windows []int
	// Result is the outcome of "run now", shown once.
	Result *retention.Result
}

// retentionPage shows what retention will delete or anonymise within the
// window (default 30 days), per rule: counts only.
func (s *Server) retentionPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.retentionRender(w, r, a, nil)
}

func (s *Server) retentionRender(w http.ResponseWriter, r *http.Request, a *adminInfo, res *retention.Result) {
	if s.d.Retention == nil {
		s.errorPage(w, r, http.StatusNotFound, "Retention is not available on this server.")
		return
	}
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > retention.MaxPlanDays {
			s.errorPage(w, r, http.StatusBadRequest, "The window must be a number of days from 0 to 3650.")
			return
		}
		days = n
	}
	p, err := s.d.Retention.PlanFor(r.Context(), a.Tenant.ID, days)
	if errors.Is(err, retention.ErrNoPolicy) {
		s.errorPage(w, r, http.StatusConflict, "This organisation has no policy yet: apply one on the Policy page first.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/retention", &view{Title: "Retention", Admin: a, Main: retentionData{Plan: p, Days: days, Windows: retentionWindows, Result: res}})
}

// retentionRunBudget bounds a sweep started from the console, like the
// API's; the periodic sweep goes on where it stopped.
const retentionRunBudget = 20 * time.Second

// retentionRun sweeps the tenant now. The sweep audits what it deletes;
// who started it is audited here (retention.run).
func (s *Server) retentionRun(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Retention == nil {
		s.errorPage(w, r, http.StatusNotFound, "Retention is not available on this server.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), retentionRunBudget)
	defer cancel()
	res, err := s.d.Retention.Sweep(ctx, a.Tenant.ID)
	if errors.Is(err, retention.ErrNoPolicy) {
		s.errorPage(w, r, http.StatusConflict, "This organisation has no policy yet: apply one on the Policy page first.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	by := a.actor()
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: "retention.run",
		Outcome: audit.OutcomeOK, RequestID: by.RequestID, Reason: fmt.Sprintf("sweep from the console: %d field(s) and %d record(s) deleted, %d anonymised, %d held, complete=%t",
			res.FieldsDeleted, res.RecordsDeleted, res.RecordsAnonymised, res.Held, res.Complete)}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.retentionRender(w, r, a, &res)
}

// ---- legal holds ----

type holdRow struct {
	store.LegalHold
	Active bool
}

type holdsData struct {
	Holds       []holdRow
	Purposes    []policy.Purpose
	Collections []policy.Collection
	Categories  []string
	// The form as submitted, and what is wrong with each field.
	Form        holdForm
	FieldErrors map[string]string
}

type holdForm struct {
	Scope, Subject, Categories, Purpose, Reason, Until string
	Collections                                        []string
}

// holdsPage lists the legal holds and offers to place and release them.
func (s *Server) holdsPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.holdsRender(w, r, a, http.StatusOK, holdsData{Form: holdForm{Scope: "subject"}}, "")
}

func (s *Server) holdsRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d holdsData, msg string) {
	if s.d.Retention == nil {
		s.errorPage(w, r, http.StatusNotFound, "Legal holds are not available on this server.")
		return
	}
	ctx := r.Context()
	hs, err := s.d.Retention.ListHolds(ctx, a.Tenant.ID, "", false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	for _, h := range hs {
		d.Holds = append(d.Holds, holdRow{LegalHold: h, Active: h.ActiveAt(now)})
	}
	act, err := s.d.Tenants.Active(ctx, a.Tenant.ID)
	switch {
	case errors.Is(err, tenant.ErrNoPolicy):
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		p := act.Policy()
		d.Purposes, d.Collections = p.Purposes, p.Collections
		seen := map[string]bool{}
		for _, f := range p.Fields {
			if !seen[f.Category] {
				seen[f.Category] = true
				d.Categories = append(d.Categories, f.Category)
			}
		}
		for _, c := range p.Collections {
			if !seen[c.Category] {
				seen[c.Category] = true
				d.Categories = append(d.Categories, c.Category)
			}
		}
		slices.Sort(d.Categories)
	}
	if d.FieldErrors == nil {
		d.FieldErrors = map[string]string{}
	}
	v := &view{Title: "Legal holds", Admin: a, Main: d, Flash: opsFlash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/holds", v)
}

// splitList reads a comma- or space-separated list of names.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// holdCreate places a legal hold. Mistakes are shown at their fields and
// nothing is stored.
func (s *Server) holdCreate(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Retention == nil {
		s.errorPage(w, r, http.StatusNotFound, "Legal holds are not available on this server.")
		return
	}
	f := holdForm{Scope: r.PostFormValue("scope"), Subject: strings.TrimSpace(r.PostFormValue("subject")), Categories: r.PostFormValue("categories"),
		Purpose: r.PostFormValue("purpose"), Reason: r.PostFormValue("reason"), Until: strings.TrimSpace(r.PostFormValue("until")), Collections: r.PostForm["collections"]}
	fe := map[string]string{}
	in := retention.HoldInput{Categories: splitList(f.Categories), Collections: f.Collections, Purpose: f.Purpose, Reason: f.Reason}
	switch f.Scope {
	case "all":
	case "subject":
		if !idRe.MatchString(f.Subject) {
			fe["subject"] = "Give the subject id (as shown by Subject lookup), or choose every subject."
		}
		in.SubjectID = f.Subject
	default:
		fe["scope"] = "Choose one subject or every subject."
	}
	if f.Until != "" {
		t, ok := parseDay(f.Until)
		if !ok {
			fe["until"] = "Use a date like 2027-12-31."
		} else if len(f.Until) == len("2006-01-02") {
			t = t.AddDate(0, 0, 1) // held through that whole day
		}
		in.Until = t
	}
	if len(fe) == 0 {
		_, err := s.d.Retention.CreateHold(r.Context(), a.Tenant.ID, in, retention.Actor{ID: a.actor().ID, Role: string(a.Role), RequestID: a.RequestID})
		var ie *retention.InputError
		switch {
		case err == nil:
			http.Redirect(w, r, a.Base()+"/holds?done=hold-placed", http.StatusSeeOther)
			return
		case errors.As(err, &ie):
			for _, p := range strings.Split(ie.Msg, "; ") {
				field, text, ok := strings.Cut(p, ": ")
				if !ok {
					field, text = "reason", p
				}
				if fe[field] != "" {
					text = fe[field] + " " + text
				} else {
					text = upperFirst(text)
				}
				fe[field] = strings.TrimSuffix(text, ".") + "."
			}
		case errors.Is(err, retention.ErrNotFound), errors.Is(err, retention.ErrErased):
			fe["subject"] = "There is no such subject in this organisation."
		case errors.Is(err, retention.ErrNoPolicy):
			s.errorPage(w, r, http.StatusConflict, "This organisation has no policy yet: apply one on the Policy page first.")
			return
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.holdsRender(w, r, a, http.StatusUnprocessableEntity, holdsData{Form: f, FieldErrors: fe}, "Please correct the marked fields; nothing was changed.")
}

// holdRelease releases a hold.
func (s *Server) holdRelease(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Retention == nil {
		s.errorPage(w, r, http.StatusNotFound, "Legal holds are not available on this server.")
		return
	}
	id := r.PathValue("id")
	if !idRe.MatchString(id) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such legal hold.")
		return
	}
	_, err := s.d.Retention.ReleaseHold(r.Context(), a.Tenant.ID, id, retention.Actor{ID: a.actor().ID, Role: string(a.Role), RequestID: a.RequestID})
	if errors.Is(err, retention.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such legal hold.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.Base()+"/holds?done=hold-released", http.StatusSeeOther)
}
