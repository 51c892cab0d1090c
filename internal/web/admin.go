package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/notice"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /static/{name}", s.serveStatic)

	m.HandleFunc("GET /admin/{$}", s.adminHome)
	m.HandleFunc("GET /admin/{tenant}/sign-in", s.signInForm)
	m.HandleFunc("POST /admin/{tenant}/sign-in", s.signIn)
	m.HandleFunc("GET /admin/{tenant}/sign-in/code", s.codeForm)
	m.HandleFunc("POST /admin/{tenant}/sign-in/code", s.code)
	m.HandleFunc("POST /admin/{tenant}/sign-out", s.console("", "signout", s.signOut))

	m.HandleFunc("GET /admin/{tenant}/{$}", s.console("", "dashboard", s.dashboard))
	m.HandleFunc("GET /admin/{tenant}/subjects", s.console(auth.PermSubjectsRead, "subjects", s.subjectForm))
	m.HandleFunc("POST /admin/{tenant}/subjects", s.console(auth.PermSubjectsRead, "subjects", s.subjectView))
	m.HandleFunc("GET /admin/{tenant}/policy", s.console(auth.PermPolicyRead, "policy", s.policyPage))
	m.HandleFunc("POST /admin/{tenant}/policy/check", s.console(auth.PermPolicyWrite, "policy", s.policyCheck))
	m.HandleFunc("POST /admin/{tenant}/policy/apply", s.console(auth.PermPolicyWrite, "policy", s.policyApply))
	m.HandleFunc("GET /admin/{tenant}/policy/versions/{version}", s.console(auth.PermPolicyRead, "policy", s.policyVersion))
	m.HandleFunc("GET /admin/{tenant}/policy/notice", s.console(auth.PermPolicyRead, "policy", s.policyNotice))
	m.HandleFunc("GET /admin/{tenant}/policy/ropa.csv", s.console(auth.PermPolicyRead, "policy", s.policyROPA("csv")))
	m.HandleFunc("GET /admin/{tenant}/policy/ropa.json", s.console(auth.PermPolicyRead, "policy", s.policyROPA("json")))
	m.HandleFunc("GET /admin/{tenant}/consent", s.console(auth.PermConsentsRead, "consent", s.consentPage))
	m.HandleFunc("GET /admin/{tenant}/audit", s.console(auth.PermAuditRead, "audit", s.auditPage))
	m.HandleFunc("POST /admin/{tenant}/audit/verify", s.console(auth.PermAuditRead, "audit", s.auditVerify))
	m.HandleFunc("GET /admin/{tenant}/staff", s.console(auth.PermStaffManage, "staff", s.staffPage))
	m.HandleFunc("POST /admin/{tenant}/staff", s.console(auth.PermStaffManage, "staff", s.staffCreate))
	m.HandleFunc("POST /admin/{tenant}/staff/{id}/{action}", s.console(auth.PermStaffManage, "staff", s.staffAction))
	m.HandleFunc("GET /admin/{tenant}/apikeys", s.console(auth.PermKeysManage, "apikeys", s.keysPage))
	m.HandleFunc("POST /admin/{tenant}/apikeys", s.console(auth.PermKeysManage, "apikeys", s.keysCreate))
	m.HandleFunc("POST /admin/{tenant}/apikeys/{id}/revoke", s.console(auth.PermKeysManage, "apikeys", s.keysRevoke))
	m.HandleFunc("GET /admin/{tenant}/account", s.console("", "account", s.accountPage))
	m.HandleFunc("POST /admin/{tenant}/account/password", s.console("", "account", s.accountPassword))
	m.HandleFunc("POST /admin/{tenant}/account/totp", s.console("", "account", s.accountTOTPBegin))
	m.HandleFunc("POST /admin/{tenant}/account/totp/confirm", s.console("", "account", s.accountTOTPConfirm))
	s.opsRoutes(m)
	s.dsrRoutes(m)

	m.HandleFunc("GET /p/{tenant}/{$}", s.centerNotice)
	m.HandleFunc("GET /p/{tenant}/versions", s.centerVersions)
	m.HandleFunc("GET /p/{tenant}/versions/{version}", s.centerVersion)
	s.centerRoutes(m)

	// Everything else under the web prefixes is a web 404, not the API's
	// problem+json.
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
	}
	m.HandleFunc("/admin/", notFound)
	m.HandleFunc("/p/", notFound)
	m.HandleFunc("/static/", notFound)
}

// ---- dashboard ----

type dashboardData struct {
	Active      *tenant.Active
	Versions    int
	Purposes    int
	Fields      int
	Collections int
	Recipients  int
	Cookies     int
	Staff       int
	APIKeys     int
	Checkpoint  *store.AuditCheckpoint
	NoPolicy    bool
	NoTwoFactor bool
	CenterURL   string
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	ctx := r.Context()
	d := dashboardData{CenterURL: "/p/" + a.Tenant.Slug + "/", NoTwoFactor: a.Session.Account.TOTPSecret == nil}
	act, err := s.d.Tenants.Active(ctx, a.Tenant.ID)
	switch {
	case errors.Is(err, tenant.ErrNoPolicy):
		d.NoPolicy = true
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		p := act.Policy()
		d.Active, d.Versions = act, act.Version.Version
		d.Purposes, d.Fields, d.Collections, d.Recipients, d.Cookies = len(p.Purposes), len(p.Fields), len(p.Collections), len(p.Recipients), len(p.Cookies)
	}
	err = s.d.Store.Read(ctx, func(tx store.Tx) error {
		n, err := tx.CountStaff(a.Tenant.ID)
		if err != nil {
			return err
		}
		d.Staff = n
		ks, err := tx.ListAPIKeys(a.Tenant.ID)
		if err != nil {
			return err
		}
		now := s.now()
		for _, k := range ks {
			if k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || k.ExpiresAt.After(now)) {
				d.APIKeys++
			}
		}
		cp, err := tx.LastAuditCheckpoint(a.Tenant.ID)
		if err == nil {
			d.Checkpoint = &cp
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/dashboard", &view{Title: "Dashboard", Admin: a, Main: d, Flash: flash(r)})
}

// flash turns a ?done= code into a confirmation line. Codes, not text, so
// a crafted link cannot make the console say something else.
func flash(r *http.Request) string {
	return map[string]string{
		"disabled": "The staff member was disabled and signed out everywhere.",
		"enabled":  "The staff member can sign in again.",
		"totp":     "Two-factor sign-in was removed from the account; ask the person to set it up again.",
		"revoked":  "The API key was revoked.",
		"password": "Your password was changed. Other sessions were signed out.",
		"enrolled": "Two-factor sign-in is on.",
		"applied":  "The policy was applied.",
	}[r.URL.Query().Get("done")]
}

// ---- subject lookup ----

// caseRefPattern is what a case reference may be: a ticket or case number,
// never free text. The audit log is kept for years and shown to auditors;
// a free-text "why" typed by staff often names the person ("call from Jane
// about her address"), so it is refused, and only this code is recorded.
var caseRefPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,40}$`)

type lookupKind struct{ Key, Label string }

var lookupKinds = []lookupKind{
	{"email", "Email address"}, {"phone", "Phone number"}, {"external_id", "External id"}, {"login", "Login"}, {"id", "Subject id"},
}

type subjectFormData struct {
	Kinds    []lookupKind
	Purposes []policy.Purpose
	Kind     string
	Purpose  string
	CaseRef  string
	NoPolicy bool
	// FieldErrors maps a form field to what is wrong with it.
	FieldErrors map[string]string
}

type fieldRow struct {
	Name, Category, Source, Value string
	Collected, Updated            time.Time
}

type withheldRow struct {
	Field, Category, Reason, Words, Detail string
}

type subjectViewData struct {
	subjectFormData
	ID           string
	State        string
	PurposeName  string
	Fields       []fieldRow
	Withheld     []withheldRow
	Created      time.Time
	LastActivity time.Time
}

func (s *Server) subjectFormBase(r *http.Request, a *adminInfo) (subjectFormData, error) {
	d := subjectFormData{Kinds: lookupKinds, Kind: "email"}
	act, err := s.d.Tenants.Active(r.Context(), a.Tenant.ID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		d.NoPolicy = true
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Purposes = act.Policy().Purposes
	return d, nil
}

func (s *Server) subjectForm(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	d, err := s.subjectFormBase(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/subjects", &view{Title: "Subject lookup", Admin: a, Main: d})
}

// subjectView finds a subject and shows what the chosen purpose may see.
// The lookup is a POST so identifiers never appear in URLs, history or
// proxy logs. The vault records the read (subject.read, with the purpose);
// this page adds console.subject_view with the case reference, before
// anything is shown.
func (s *Server) subjectView(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	ctx := r.Context()
	d, err := s.subjectFormBase(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Kind, d.Purpose, d.CaseRef = r.PostFormValue("kind"), r.PostFormValue("purpose"), strings.TrimSpace(r.PostFormValue("case"))
	value := strings.TrimSpace(r.PostFormValue("value"))
	d.FieldErrors = map[string]string{}
	if !slices.ContainsFunc(lookupKinds, func(k lookupKind) bool { return k.Key == d.Kind }) {
		d.FieldErrors["kind"] = "Choose what to look up by."
	}
	if value == "" {
		d.FieldErrors["value"] = "Enter the identifier to look up."
	}
	if !slices.ContainsFunc(d.Purposes, func(p policy.Purpose) bool { return p.Key == d.Purpose }) {
		d.FieldErrors["purpose"] = "Choose the purpose of this look-up from the policy."
	}
	if !caseRefPattern.MatchString(d.CaseRef) {
		d.FieldErrors["case"] = "Enter a case or ticket number: 1 to 40 letters, digits and dashes, no spaces."
	}
	if len(d.FieldErrors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "admin/subjects", &view{Title: "Subject lookup", Admin: a, Main: d, Error: "Please correct the marked fields."})
		return
	}
	by := vault.Actor{ID: staff.ActorID(a.Session.Account.ID), Role: string(a.Role), RequestID: a.RequestID}
	var v vault.View
	if d.Kind == "id" {
		if _, perr := uuid.Parse(value); perr != nil {
			err = vault.ErrNotFound
		} else {
			v, err = s.d.Vault.Get(ctx, a.Tenant.ID, value, d.Purpose, by)
		}
	} else {
		v, err = s.d.Vault.Lookup(ctx, a.Tenant.ID, d.Kind, value, d.Purpose, by)
	}
	ev := audit.Event{Actor: by.ID, Role: by.Role, Action: "console.subject_view", Purpose: d.Purpose, Outcome: audit.OutcomeOK,
		Reason: "case " + d.CaseRef, RequestID: a.RequestID}
	var inputErr *vault.InputError
	switch {
	case errors.Is(err, vault.ErrNotFound):
		ev.Reason += "; no subject found by " + d.Kind
		if err := s.d.Audit.Record(ctx, s.d.Store, a.Tenant.ID, ev); err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusNotFound, "admin/subjects", &view{Title: "Subject lookup", Admin: a, Main: d, Error: "Nobody was found with that " + kindLabel(d.Kind) + "."})
		return
	case errors.As(err, &inputErr):
		d.FieldErrors["value"] = "That is not a valid " + kindLabel(d.Kind) + "."
		s.render(w, r, http.StatusUnprocessableEntity, "admin/subjects", &view{Title: "Subject lookup", Admin: a, Main: d, Error: "Please correct the marked fields."})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	ev.SubjectID = v.ID
	for name := range v.Fields {
		ev.Fields = append(ev.Fields, name)
	}
	slices.Sort(ev.Fields)
	if err := s.d.Audit.Record(ctx, s.d.Store, a.Tenant.ID, ev); err != nil {
		s.fail(w, r, err) // no unaudited views
		return
	}
	out := subjectViewData{subjectFormData: d, ID: v.ID, State: v.State, Created: v.CreatedAt, LastActivity: v.LastActivityAt}
	for _, p := range d.Purposes {
		if p.Key == d.Purpose {
			out.PurposeName = p.Name
		}
	}
	for name, f := range v.Fields {
		out.Fields = append(out.Fields, fieldRow{Name: name, Category: f.Category, Source: f.Source, Value: displayValue(f.Value),
			Collected: f.CollectedAt, Updated: f.UpdatedAt})
	}
	slices.SortFunc(out.Fields, func(x, y fieldRow) int { return strings.Compare(x.Name, y.Name) })
	for _, wh := range v.Withheld {
		out.Withheld = append(out.Withheld, withheldRow{Field: wh.Field, Category: wh.Category, Reason: string(wh.Reason),
			Words: reasonWords(string(wh.Reason)), Detail: wh.Detail})
	}
	s.render(w, r, http.StatusOK, "admin/subject", &view{Title: "Subject", Admin: a, Main: out})
}

func kindLabel(kind string) string {
	for _, k := range lookupKinds {
		if k.Key == kind {
			return strings.ToLower(k.Label[:1]) + k.Label[1:]
		}
	}
	return "identifier"
}

// displayValue shows a JSON value as text: strings without quotes, other
// values as compact JSON.
func displayValue(raw json.RawMessage) string {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// reasonWords says in plain words why a field was withheld; the wording
// follows docs/decisions.md.
func reasonWords(reason string) string {
	if w, ok := withheldWords[reason]; ok {
		return w
	}
	return "Withheld by the decision engine."
}

var withheldWords = map[string]string{
	"not_in_purpose":                "This purpose does not use this kind of data (purpose limitation).",
	"no_special_category_condition": "Special-category data (GDPR Art. 9): the purpose names no condition that allows using it.",
	"subject_erased":                "The person's data has been erased.",
	"legal_hold_only":               "Kept only under a legal hold or a legal duty to keep it, and usable only for that purpose.",
	"retention_expired":             "Its retention period has ended; it is waiting to be deleted or anonymised.",
	"under_minimum_age":             "The person is below the minimum age and no parental consent is recorded; only legal obligations and vital interests may use it.",
	"restricted":                    "The person restricted the processing of this data (GDPR Art. 18) and this purpose is not one of the exceptions.",
	"objected":                      "The person objected to this use (GDPR Art. 21).",
	"opted_out":                     "The person opted out of the sale or sharing of their personal information (CCPA).",
	"consent_withdrawn":             "The person withdrew their consent for this purpose.",
	"consent_missing":               "There is no valid consent for this purpose: never given, expired, or given under an earlier policy version.",
}

// ---- policy ----

type policyPageData struct {
	Active   *tenant.Active
	Versions []store.PolicyVersion
	Source   string
	Check    *checkResult
	NoPolicy bool
}

// checkResult is the outcome of validating an uploaded policy.
type checkResult struct {
	Valid     bool
	Unchanged bool
	Hash      string
	Errors    []errorExcerpt
	Warnings  []errorExcerpt
	Diff      *diffView
	First     bool
	Source    string
	Next      int
}

// errorExcerpt is one problem with the source lines around it.
type errorExcerpt struct {
	Pos   string // "policy.yaml:12:5"
	Line  int
	Col   int
	Path  string
	Msg   string
	Lines []sourceLine
}

type sourceLine struct {
	N      int
	Text   string
	Mark   bool
	Caret  string // spaces then ^ under the column, on the marked line
	Indent string
}

type diffView struct {
	Changes   []policy.Change
	Reconsent []policy.ReconsentReason
}

func (s *Server) policyBase(r *http.Request, a *adminInfo) (policyPageData, error) {
	var d policyPageData
	act, err := s.d.Tenants.Active(r.Context(), a.Tenant.ID)
	switch {
	case errors.Is(err, tenant.ErrNoPolicy):
		d.NoPolicy = true
	case err != nil:
		return d, err
	default:
		d.Active = act
	}
	d.Versions, err = s.d.Tenants.Versions(r.Context(), a.Tenant.ID)
	return d, err
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	d, err := s.policyBase(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/policy", &view{Title: "Policy", Admin: a, Main: d, Flash: flash(r)})
}

// submittedPolicy reads the policy from the upload field or the text area.
func submittedPolicy(r *http.Request) ([]byte, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > policy.MaxSize {
				return nil, fmt.Errorf("the file is larger than %d bytes", policy.MaxSize)
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return io.ReadAll(io.LimitReader(f, policy.MaxSize+1))
		}
	}
	src := strings.ReplaceAll(r.PostFormValue("source"), "\r\n", "\n")
	if len(src) > policy.MaxSize {
		return nil, fmt.Errorf("the policy is larger than %d bytes", policy.MaxSize)
	}
	return []byte(src), nil
}

func (s *Server) policyCheck(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	d, err := s.policyBase(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	src, err := submittedPolicy(r)
	if err != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "admin/policy", &view{Title: "Policy", Admin: a, Main: d, Error: "The policy could not be read: " + err.Error() + "."})
		return
	}
	if len(bytes.TrimSpace(src)) == 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "admin/policy", &view{Title: "Policy", Admin: a, Main: d, Error: "Paste a policy or choose a file first."})
		return
	}
	d.Source = string(src)
	res, err := s.d.Tenants.Check(r.Context(), a.Tenant.ID, "policy.yaml", src)
	c := &checkResult{Source: string(src), First: d.Active == nil}
	if d.Active != nil {
		c.Next = d.Active.Version.Version + 1
	} else {
		c.Next = 1
	}
	var perrs policy.Errors
	status := http.StatusOK
	switch {
	case errors.As(err, &perrs):
		errs, warns := perrs.Split()
		c.Errors, c.Warnings = excerpts(src, errs), excerpts(src, warns)
		status = http.StatusUnprocessableEntity
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		c.Valid, c.Unchanged, c.Hash = true, res.Unchanged, res.Doc.Hash
		c.Warnings = excerpts(src, res.Warnings)
		if res.Diff != nil {
			c.Diff = &diffView{Changes: res.Diff.Changes, Reconsent: res.Diff.Reconsent}
		}
	}
	d.Check = c
	s.render(w, r, status, "admin/policy", &view{Title: "Policy", Admin: a, Main: d})
}

func (s *Server) policyApply(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	src, err := submittedPolicy(r)
	if err != nil {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "The policy could not be read.")
		return
	}
	by := a.actor()
	res, err := s.d.Tenants.Apply(r.Context(), a.Tenant.ID, "policy.yaml", src, by.ID)
	var perrs policy.Errors
	if errors.As(err, &perrs) {
		// Changed between check and apply, or a crafted request: show
		// the check page with the errors.
		s.policyCheck(w, r, a)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ev := audit.Event{Actor: by.ID, Role: by.Role, Action: "policy.apply", Outcome: audit.OutcomeOK, RequestID: by.RequestID,
		Reason: fmt.Sprintf("version %d %s", res.Version.Version, res.Version.Hash)}
	if res.Unchanged {
		ev.Reason = "unchanged: same content as version " + strconv.Itoa(res.Version.Version)
	}
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, ev); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.Base()+"/policy?done=applied", http.StatusSeeOther)
}

// excerpts pairs each problem with the two source lines before and after
// it, marking the line and column, so a DPO sees the mistake in place.
func excerpts(src []byte, es policy.Errors) []errorExcerpt {
	lines := strings.Split(string(src), "\n")
	out := make([]errorExcerpt, 0, len(es))
	for _, e := range es {
		x := errorExcerpt{Line: e.Line, Col: e.Col, Path: e.Path, Msg: e.Msg, Pos: fmt.Sprintf("line %d, column %d", e.Line, e.Col)}
		if e.Line > 0 {
			x.Pos = fmt.Sprintf("%d:%d", e.Line, e.Col)
			for n := max(1, e.Line-2); n <= min(len(lines), e.Line+2); n++ {
				sl := sourceLine{N: n, Text: lines[n-1], Mark: n == e.Line}
				if sl.Mark && e.Col > 0 {
					// Keep tabs so the caret lines up with the text above.
					var b strings.Builder
					for i, c := range []rune(sl.Text) {
						if i >= e.Col-1 {
							break
						}
						if c == '\t' {
							b.WriteRune('\t')
						} else {
							b.WriteByte(' ')
						}
					}
					sl.Caret = b.String() + "^"
				}
				x.Lines = append(x.Lines, sl)
			}
		}
		out = append(out, x)
	}
	return out
}

type versionData struct {
	Version store.PolicyVersion
	Source  string
}

func (s *Server) policyVersion(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		s.errorPage(w, r, http.StatusNotFound, "There is no such policy version.")
		return
	}
	v, _, err := s.d.Tenants.Version(r.Context(), a.Tenant.ID, n)
	if errors.Is(err, tenant.ErrVersionNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such policy version.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/version", &view{Title: fmt.Sprintf("Policy version %d", n), Admin: a, Main: versionData{Version: v, Source: string(v.Source)}})
}

type noticeData struct {
	Version store.PolicyVersion
	HTML    any
}

func (s *Server) policyNotice(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	v, doc, err := s.versionOrActive(r, a.Tenant.ID, r.URL.Query().Get("version"))
	if err != nil {
		s.policyFetchError(w, r, err)
		return
	}
	html, err := renderNotice(doc.Policy, v, "/p/"+a.Tenant.Slug+"/")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin/notice", &view{Title: "Privacy notice", Admin: a, Main: noticeData{Version: v, HTML: html}})
}

func (s *Server) policyFetchError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, tenant.ErrNoPolicy):
		s.errorPage(w, r, http.StatusNotFound, "No policy has been applied yet.")
	case errors.Is(err, tenant.ErrVersionNotFound):
		s.errorPage(w, r, http.StatusNotFound, "There is no such policy version.")
	default:
		s.fail(w, r, err)
	}
}

// versionOrActive returns the numbered version, or the active one for "".
func (s *Server) versionOrActive(r *http.Request, tenantID, version string) (store.PolicyVersion, *policy.Document, error) {
	if version == "" {
		act, err := s.d.Tenants.Active(r.Context(), tenantID)
		if err != nil {
			return store.PolicyVersion{}, nil, err
		}
		return act.Version, act.Doc, nil
	}
	n, err := strconv.Atoi(version)
	if err != nil || n < 1 {
		return store.PolicyVersion{}, nil, tenant.ErrVersionNotFound
	}
	return s.d.Tenants.Version(r.Context(), tenantID, n)
}

func (s *Server) policyROPA(format string) page {
	return func(w http.ResponseWriter, r *http.Request, a *adminInfo) { s.ropa(w, r, a, format) }
}

func (s *Server) ropa(w http.ResponseWriter, r *http.Request, a *adminInfo, format string) {
	act, err := s.d.Tenants.Active(r.Context(), a.Tenant.ID)
	if err != nil {
		s.policyFetchError(w, r, err)
		return
	}
	name := fmt.Sprintf("ropa-%s-v%d", a.Tenant.Slug, act.Version.Version)
	switch format {
	case "csv":
		var buf bytes.Buffer
		if err := notice.ROPACSV(act.Policy(), &buf); err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		_, _ = w.Write(buf.Bytes())
	case "json":
		b, err := notice.ROPAJSON(act.Policy())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		_, _ = w.Write(b)
	default:
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
	}
}

// ---- audit ----

type auditData struct {
	Subject, Action, Actor, Since, Until string
	Events                               []audit.StoredEvent
	Next                                 string
	NextURL                              string
	Report                               *audit.Report
	FieldErrors                          map[string]string
	// Staff maps "staff:<id>" actors to logins, so the log reads as names.
	Staff map[string]string
}

var (
	auditSubjectRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	auditActionRe  = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	auditActorRe   = regexp.MustCompile(`^[!-~]{1,128}$`)
)

// parseDay reads a date (YYYY-MM-DD) or a datetime-local value as UTC.
func parseDay(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.auditRender(w, r, a, nil)
}

func (s *Server) auditRender(w http.ResponseWriter, r *http.Request, a *adminInfo, rep *audit.Report) {
	q := r.URL.Query()
	d := auditData{Subject: strings.TrimSpace(q.Get("subject")), Action: strings.TrimSpace(q.Get("action")),
		Actor: strings.TrimSpace(q.Get("actor")), Since: q.Get("since"), Until: q.Get("until"), Report: rep, FieldErrors: map[string]string{}}
	f := audit.Filter{Limit: 50, Cursor: q.Get("cursor")}
	if d.Subject != "" {
		if !auditSubjectRe.MatchString(d.Subject) {
			d.FieldErrors["subject"] = "A subject id is letters, digits and . _ : -."
		}
		f.SubjectID = d.Subject
	}
	if d.Action != "" {
		if !auditActionRe.MatchString(d.Action) {
			d.FieldErrors["action"] = "An action is dotted lower-case words, e.g. subject.read."
		}
		f.Action = d.Action
	}
	if d.Actor != "" {
		if !auditActorRe.MatchString(d.Actor) {
			d.FieldErrors["actor"] = "An actor has no spaces, e.g. staff:<id> or apikey:<id>."
		}
		f.Actor = d.Actor
	}
	if d.Since != "" {
		t, ok := parseDay(d.Since)
		if !ok {
			d.FieldErrors["since"] = "Use a date like 2026-03-01."
		}
		f.Since = t
	}
	if d.Until != "" {
		t, ok := parseDay(d.Until)
		if !ok {
			d.FieldErrors["until"] = "Use a date like 2026-03-31."
		} else if len(d.Until) == len("2006-01-02") {
			t = t.AddDate(0, 0, 1) // a day filter includes that whole day
		}
		f.Until = t
	}
	if len(d.FieldErrors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "admin/audit", &view{Title: "Audit log", Admin: a, Main: d, Error: "Please correct the marked filters."})
		return
	}
	page, err := audit.List(r.Context(), s.d.Store, a.Tenant.ID, f)
	if errors.Is(err, audit.ErrBadCursor) {
		s.errorPage(w, r, http.StatusBadRequest, "That page link is not valid; start again from the first page.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Reading the log reveals who accessed whose data, so it is audited
	// like the API's GET /v1/audit.
	by := a.actor()
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: "audit.list",
		SubjectID: f.SubjectID, Outcome: audit.OutcomeOK, RequestID: by.RequestID, Reason: fmt.Sprintf("%d event(s) listed", len(page.Events))}); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Events, d.Next = page.Events, page.NextCursor
	if accounts, err := s.staff.List(r.Context(), a.Tenant.ID); err == nil {
		d.Staff = make(map[string]string, len(accounts))
		for _, acc := range accounts {
			d.Staff[staff.ActorID(acc.ID)] = acc.Login
		}
	}
	if d.Next != "" {
		nq := q
		nq.Set("cursor", d.Next)
		d.NextURL = a.Base() + "/audit?" + nq.Encode()
	}
	s.render(w, r, http.StatusOK, "admin/audit", &view{Title: "Audit log", Admin: a, Main: d})
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	rep, err := s.d.Audit.VerifyTenant(r.Context(), s.d.Store, a.Tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	by := a.actor()
	outcome, reason := audit.OutcomeOK, fmt.Sprintf("intact: %d event(s) in %d chain(s), %d checkpoint(s)", rep.Events, rep.Shards, rep.Checkpoints)
	if !rep.Intact && rep.Break != nil {
		outcome, reason = audit.OutcomeError, "broken: "+rep.Break.String()
	}
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: "audit.verify",
		Outcome: outcome, RequestID: by.RequestID, Reason: reason}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditRender(w, r, a, &rep)
}

// ---- staff ----

type staffData struct {
	Accounts []store.StaffAccount
	Roles    []auth.Role
	Self     string
	Created  *createdStaff
	Login    string
	Role     string
}

type createdStaff struct {
	Login, Password, Role string
	Reset                 bool
}

func (s *Server) staffRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d staffData, msg string) {
	list, err := s.staff.List(r.Context(), a.Tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Accounts, d.Roles, d.Self = list, auth.Roles, a.Session.Account.ID
	v := &view{Title: "Staff", Admin: a, Main: d, Flash: flash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/staff", v)
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.staffRender(w, r, a, http.StatusOK, staffData{Role: string(auth.RoleAgent)}, "")
}

// staffCreate adds an account and shows its generated initial password
// once, on this response only (never in a URL, log or later page).
func (s *Server) staffCreate(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	login, role := r.PostFormValue("login"), r.PostFormValue("role")
	acc, pw, err := s.staff.Create(r.Context(), staff.CreateInput{TenantID: a.Tenant.ID, Login: login, Role: auth.Role(role)}, a.actor())
	if err != nil {
		if errors.Is(err, staff.ErrLoginTaken) || errors.Is(err, staff.ErrInvalidLogin) || strings.Contains(err.Error(), "role") {
			s.staffRender(w, r, a, http.StatusUnprocessableEntity, staffData{Login: login, Role: role}, upperFirst(err.Error())+".")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.staffRender(w, r, a, http.StatusOK, staffData{Role: string(auth.RoleAgent), Created: &createdStaff{Login: acc.Login, Password: pw, Role: acc.Role}}, "")
}

func (s *Server) staffAction(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	id := r.PathValue("id")
	ctx := r.Context()
	by := a.actor()
	if id == a.Session.Account.ID && r.PathValue("action") != "reset-totp" {
		s.errorPage(w, r, http.StatusConflict, "You cannot disable or reset your own account here; ask another administrator.")
		return
	}
	var err error
	done := ""
	switch r.PathValue("action") {
	case "disable":
		err, done = s.staff.SetDisabled(ctx, a.Tenant.ID, id, true, by), "disabled"
	case "enable":
		err, done = s.staff.SetDisabled(ctx, a.Tenant.ID, id, false, by), "enabled"
	case "reset-totp":
		err, done = s.staff.ResetTOTP(ctx, a.Tenant.ID, id, by), "totp"
	case "reset-password":
		acc, gerr := s.staff.Get(ctx, a.Tenant.ID, id)
		if gerr != nil {
			err = gerr
			break
		}
		pw, perr := s.staff.ResetPassword(ctx, a.Tenant.ID, id, by)
		if perr != nil {
			err = perr
			break
		}
		s.staffRender(w, r, a, http.StatusOK, staffData{Role: string(auth.RoleAgent), Created: &createdStaff{Login: acc.Login, Password: pw, Role: acc.Role, Reset: true}}, "")
		return
	default:
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	if errors.Is(err, staff.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such staff member.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.Base()+"/staff?done="+done, http.StatusSeeOther)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ---- API keys ----

type keysData struct {
	Keys    []store.APIKey
	Roles   []auth.Role
	Token   string
	Created *store.APIKey
	Now     time.Time
}

func (s *Server) keysRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d keysData, msg string) {
	ks, err := s.d.APIKeys.List(r.Context(), a.Tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Keys, d.Roles, d.Now = ks, auth.Roles, s.now()
	v := &view{Title: "API keys", Admin: a, Main: d, Flash: flash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/apikeys", v)
}

func (s *Server) keysPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.keysRender(w, r, a, http.StatusOK, keysData{}, "")
}

var keyTTLs = map[string]time.Duration{"": 0, "0": 0, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour}

// keysCreate makes an API key and shows its token once, on this response.
func (s *Server) keysCreate(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	role, err := auth.ParseRole(r.PostFormValue("role"))
	if err != nil {
		s.keysRender(w, r, a, http.StatusUnprocessableEntity, keysData{}, "Choose a role for the key.")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if len(name) > 100 {
		s.keysRender(w, r, a, http.StatusUnprocessableEntity, keysData{}, "The name is too long (100 characters at most).")
		return
	}
	ttl, ok := keyTTLs[r.PostFormValue("ttl")]
	if !ok {
		s.keysRender(w, r, a, http.StatusUnprocessableEntity, keysData{}, "Choose a lifetime from the list.")
		return
	}
	by := a.actor()
	tok, k, err := s.d.APIKeys.Create(r.Context(), a.Tenant.ID, role, name, by.ID, ttl)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: "apikey.create",
		Outcome: audit.OutcomeOK, RequestID: by.RequestID, Reason: "key " + k.ID + " role " + k.Role}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.keysRender(w, r, a, http.StatusOK, keysData{Token: tok, Created: &k}, "")
}

func (s *Server) keysRevoke(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	id := r.PathValue("id")
	err := s.d.APIKeys.Revoke(r.Context(), a.Tenant.ID, id)
	if errors.Is(err, auth.ErrKeyNotFound) || errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such API key.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	by := a.actor()
	if err := s.d.Audit.Record(r.Context(), s.d.Store, a.Tenant.ID, audit.Event{Actor: by.ID, Role: by.Role, Action: "apikey.revoke",
		Outcome: audit.OutcomeOK, RequestID: by.RequestID, Reason: "key " + id}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.Base()+"/apikeys?done=revoked", http.StatusSeeOther)
}

// ---- own account ----

type accountData struct {
	Account    store.StaffAccount
	MustChange bool
	Enrolment  *staff.Enrolment
	// EnrolURI is the otpauth:// link, which html/template would otherwise
	// neutralise as an unknown scheme; it is built by staff.OTPAuthURI.
	EnrolURI template.URL
	CanEnrol bool
	MinLen   int
}

func (s *Server) accountRender(w http.ResponseWriter, r *http.Request, a *adminInfo, status int, d accountData, msg string) {
	acc, err := s.staff.Get(r.Context(), a.Tenant.ID, a.Session.Account.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Account, d.MustChange, d.CanEnrol, d.MinLen = acc, acc.MustChangePassword, s.staff.Sealer != nil, staff.MinPasswordLen
	v := &view{Title: "My account", Admin: a, Main: d, Flash: flash(r)}
	if status >= 400 {
		v.Error = msg
	}
	s.render(w, r, status, "admin/account", v)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	s.accountRender(w, r, a, http.StatusOK, accountData{}, "")
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	cur, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("again")
	if next != again {
		s.accountRender(w, r, a, http.StatusUnprocessableEntity, accountData{}, "The two new passwords differ.")
		return
	}
	err := s.staff.ChangePassword(r.Context(), a.Tenant.ID, a.Session.Account.ID, cur, next, a.actor())
	if err != nil {
		if errors.Is(err, staff.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
		s.accountRender(w, r, a, http.StatusUnprocessableEntity, accountData{}, upperFirst(err.Error())+".")
		return
	}
	// Every session of the account ended; this browser gets a new one.
	sess, err := s.staff.Rotate(r.Context(), a.Session)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setSession(w, r, sess.Token)
	http.Redirect(w, r, a.Base()+"/account?done=password", http.StatusSeeOther)
}

func (s *Server) accountTOTPBegin(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	en, err := s.staff.BeginTOTP(r.Context(), a.Tenant.ID, a.Session.Account.ID, a.Tenant.Slug)
	if errors.Is(err, staff.ErrNoSealer) {
		s.accountRender(w, r, a, http.StatusConflict, accountData{}, "Two-factor sign-in needs the key store, which this server does not have.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := accountData{Enrolment: &en}
	if strings.HasPrefix(en.URI, "otpauth://totp/") {
		d.EnrolURI = template.URL(en.URI) //nolint:gosec // built by staff.OTPAuthURI from escaped parts
	}
	s.accountRender(w, r, a, http.StatusOK, d, "")
}

func (s *Server) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	err := s.staff.ConfirmTOTP(r.Context(), a.Tenant.ID, a.Session.Account.ID, r.PostFormValue("code"), a.actor())
	if err != nil {
		if errors.Is(err, staff.ErrBadCode) || strings.Contains(err.Error(), "no two-factor enrolment") {
			s.accountRender(w, r, a, http.StatusUnprocessableEntity, accountData{}, "That code did not match. Start the set-up again and enter the newest code your app shows.")
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.Base()+"/account?done=enrolled", http.StatusSeeOther)
}
