package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/trustee-privacy/trustee/internal/notice"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// centerInfo is the frame of a privacy center page.
type centerInfo struct {
	Slug       string
	Controller string
	Active     string
}

// Base is the URL prefix of the tenant's privacy center.
func (c *centerInfo) Base() string { return "/p/" + c.Slug }

// maxHistory bounds how many versions the history page compares.
const maxHistory = 25

// renderNotice renders the policy's notice as an <article> for embedding.
// The notice package escapes every policy text, so its output is trusted
// HTML here.
func renderNotice(p *policy.Policy, v store.PolicyVersion, centerURL string) (template.HTML, error) {
	o := notice.Options{Version: v.Version, Hash: v.Hash, Fragment: true}
	if v.EffectiveDate == "" {
		o.LastUpdated = v.AppliedAt
	}
	_ = centerURL // absolute URLs only; the center does not know its public host
	b, err := notice.HTML(p, o)
	if err != nil {
		return "", err
	}
	return template.HTML(b), nil //nolint:gosec // produced by html/template in package notice
}

// center resolves the tenant and its active policy for a public page,
// answering 404 (the same for an unknown tenant and one without a notice).
func (s *Server) center(w http.ResponseWriter, r *http.Request) (store.Tenant, *tenant.Active, bool) {
	w.Header().Set("Cache-Control", "no-cache")
	t, err := s.d.Tenants.BySlug(r.Context(), r.PathValue("tenant"))
	if err == nil {
		var act *tenant.Active
		act, err = s.d.Tenants.Active(r.Context(), t.ID)
		if err == nil {
			return t, act, true
		}
	}
	if errors.Is(err, tenant.ErrTenantNotFound) || errors.Is(err, tenant.ErrNoPolicy) {
		s.render(w, r, http.StatusNotFound, "center/missing", &view{Title: messages.text("en", "center.missing.title"),
			Center: &centerInfo{Controller: messages.text("en", "center.nav.label")}})
		return t, nil, false
	}
	s.fail(w, r, err)
	return t, nil, false
}

func (s *Server) centerView(t store.Tenant, act *tenant.Active, active, titleKey string, main any) *view {
	lang := act.Policy().Language
	if lang == "" {
		lang = "en"
	}
	v := &view{Lang: lang, Main: main, Center: &centerInfo{Slug: t.Slug, Controller: act.Policy().Controller.Name, Active: active}}
	v.Title = v.T(titleKey)
	return v
}

type centerNoticeData struct {
	Version store.PolicyVersion
	Current bool
	HTML    template.HTML
	Earlier int
}

func (s *Server) centerNotice(w http.ResponseWriter, r *http.Request) {
	t, act, ok := s.center(w, r)
	if !ok {
		return
	}
	html, err := renderNotice(act.Policy(), act.Version, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := centerNoticeData{Version: act.Version, Current: true, HTML: html, Earlier: act.Version.Version - 1}
	s.render(w, r, http.StatusOK, "center/notice", s.centerView(t, act, "notice", "center.notice.title", d))
}

func (s *Server) centerVersion(w http.ResponseWriter, r *http.Request) {
	t, act, ok := s.center(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		s.render(w, r, http.StatusNotFound, "center/missing", s.centerView(t, act, "", "center.missing.title", nil))
		return
	}
	v, doc, err := s.d.Tenants.Version(r.Context(), t.ID, n)
	if errors.Is(err, tenant.ErrVersionNotFound) {
		s.render(w, r, http.StatusNotFound, "center/missing", s.centerView(t, act, "", "center.missing.title", nil))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	html, err := renderNotice(doc.Policy, v, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := centerNoticeData{Version: v, Current: v.Version == act.Version.Version, HTML: html}
	s.render(w, r, http.StatusOK, "center/notice", s.centerView(t, act, "versions", "center.notice.title", d))
}

// historyEntry is one version with what changed from the one before, in
// plain words.
type historyEntry struct {
	Version   store.PolicyVersion
	Date      string
	Current   bool
	First     bool
	Changes   []plainChange
	Reconsent []string
}

type plainChange struct {
	Text    string
	Details []string
}

type historyData struct {
	Entries   []historyEntry
	Truncated bool
}

func (s *Server) centerVersions(w http.ResponseWriter, r *http.Request) {
	t, act, ok := s.center(w, r)
	if !ok {
		return
	}
	vs, err := s.d.Tenants.Versions(r.Context(), t.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.centerView(t, act, "versions", "center.versions.title", nil)
	d := historyData{}
	if len(vs) > maxHistory {
		vs, d.Truncated = vs[:maxHistory], true
	}
	// Versions come newest first; each is compared with the one before it.
	docs := map[int]*policy.Document{}
	load := func(n int) (*policy.Document, error) {
		if doc, ok := docs[n]; ok {
			return doc, nil
		}
		_, doc, err := s.d.Tenants.Version(r.Context(), t.ID, n)
		if err == nil {
			docs[n] = doc
		}
		return doc, err
	}
	for _, pv := range vs {
		e := historyEntry{Version: pv, Current: pv.Version == act.Version.Version, First: pv.Version == 1, Date: versionDate(pv)}
		if pv.Version > 1 {
			cur, err := load(pv.Version)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			prev, err := load(pv.Version - 1)
			if errors.Is(err, tenant.ErrVersionNotFound) {
				d.Entries = append(d.Entries, e)
				continue
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			diff := policy.Diff(prev.Policy, cur.Policy)
			for _, c := range diff.Changes {
				e.Changes = append(e.Changes, plainChange{Text: changeText(v, c, prev.Policy, cur.Policy), Details: c.Details})
			}
			for _, rc := range diff.Reconsent {
				e.Reconsent = append(e.Reconsent, purposeName(cur.Policy, rc.Purpose))
			}
		}
		d.Entries = append(d.Entries, e)
	}
	v.Main = d
	s.render(w, r, http.StatusOK, "center/versions", v)
}

func versionDate(v store.PolicyVersion) string {
	if v.EffectiveDate != "" {
		if t, err := time.Parse("2006-01-02", v.EffectiveDate); err == nil {
			return t.Format("2 January 2006")
		}
		return v.EffectiveDate
	}
	return v.AppliedAt.UTC().Format("2 January 2006")
}

// changeText is one change as a sentence of the page's language: "New
// purpose: Newsletter", naming purposes and recipients by the names the
// notice uses rather than their keys.
func changeText(v *view, c policy.Change, old, cur *policy.Policy) string {
	name := c.Key
	src := cur
	if c.Kind == policy.Removed {
		src = old
	}
	switch c.Area {
	case "purpose":
		name = purposeName(src, c.Key)
	case "recipient":
		for _, r := range src.Recipients {
			if r.Key == c.Key && r.Name != "" {
				name = r.Name
			}
		}
	}
	if key := "change." + string(c.Kind) + "." + c.Area; v.catalog().has(v.Lang, key) {
		return v.T(key, name)
	}
	return v.T("change."+string(c.Kind), c.Area, name)
}

func purposeName(p *policy.Policy, key string) string {
	for _, pu := range p.Purposes {
		if pu.Key == key && pu.Name != "" {
			return pu.Name
		}
	}
	return key
}
