package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// Cookie names. With Secure the __Host- prefix makes the browser refuse the
// cookie unless it is Secure, has Path=/ and no Domain, so a sibling
// subdomain or a plain-HTTP response cannot plant or overwrite it.
const (
	cookieSecure = "__Host-trustee-staff"
	cookiePlain  = "trustee-staff"
)

// secure reports whether the session cookie gets the Secure attribute.
func (s *Server) secure(r *http.Request) bool { return s.d.SecureCookies || r.TLS != nil }

func (s *Server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return cookieSecure
	}
	return cookiePlain
}

// sessionToken is the token the browser sent, if any.
func (s *Server) sessionToken(r *http.Request) string {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSession sends the session cookie: HttpOnly (no script reads it),
// SameSite=Strict (no other site's link or form carries it), Secure over
// TLS, no Max-Age (it ends with the browser; the server ends it sooner).
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// adminInfo is the signed-in context of a console page.
type adminInfo struct {
	Tenant    store.Tenant
	Session   staff.Session
	Role      auth.Role
	RequestID string
	Nav       []navItem
	Active    string
}

// CSRF is the form token every state-changing form carries.
func (a *adminInfo) CSRF() string { return a.Session.CSRF() }

// Base is the URL prefix of the tenant's console.
func (a *adminInfo) Base() string { return "/admin/" + a.Tenant.Slug }

// Can reports whether the signed-in role has perm (for showing actions).
func (a *adminInfo) Can(perm string) bool { return auth.Allowed(a.Role, auth.Permission(perm)) }

// actor is the staff member for audit events and vault reads.
func (a *adminInfo) actor() staff.Actor {
	return staff.Actor{ID: staff.ActorID(a.Session.Account.ID), Role: string(a.Role), RequestID: a.RequestID}
}

type navItem struct {
	Key, Label, Href string
}

type ctxKey int

const adminKey ctxKey = iota

func adminFrom(ctx context.Context) (*adminInfo, bool) {
	a, ok := ctx.Value(adminKey).(*adminInfo)
	return a, ok
}

// page is a console handler with its signed-in context.
type page func(w http.ResponseWriter, r *http.Request, a *adminInfo)

// console guards a console page: the tenant of the URL must exist, the
// browser must hold a live, fully signed-in session of a staff member of
// that tenant, whose role has perm; state-changing requests must carry the
// session's CSRF token (http.CrossOriginProtection, around every route,
// has already refused cross-origin ones). A session of another tenant is
// treated as no session: the page asks to sign in to this tenant.
func (s *Server) console(perm auth.Permission, active string, h page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := s.d.Tenants.BySlug(r.Context(), r.PathValue("tenant"))
		if err != nil {
			if errors.Is(err, tenant.ErrTenantNotFound) {
				s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
				return
			}
			s.fail(w, r, err)
			return
		}
		sess, err := s.staff.Session(r.Context(), s.sessionToken(r))
		if err != nil && !errors.Is(err, staff.ErrNoSession) {
			s.fail(w, r, err)
			return
		}
		if err != nil || sess.Account.TenantID != t.ID {
			s.toSignIn(w, r, t.Slug)
			return
		}
		a := &adminInfo{Tenant: t, Session: sess, Role: auth.Role(sess.Account.Role), RequestID: requestID(r.Context()), Active: active}
		a.Nav = navFor(a)
		ctx := context.WithValue(r.Context(), adminKey, a)
		r = r.WithContext(ctx)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := r.ParseMultipartForm(maxForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				s.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form could not be read (it may be too large).")
				return
			}
			if !sess.CheckCSRF(r.PostFormValue("csrf")) {
				s.errorPage(w, r, http.StatusForbidden, "The form had expired or did not come from this console. Go back, reload the page and try again.")
				return
			}
		}
		if sess.Account.MustChangePassword && active != "account" && active != "signout" {
			http.Redirect(w, r, a.Base()+"/account", http.StatusSeeOther)
			return
		}
		if perm != "" && !auth.Allowed(a.Role, perm) {
			s.errorPage(w, r, http.StatusForbidden, "Your role ("+string(a.Role)+") may not open this page.")
			return
		}
		h(w, r, a)
	}
}

// maxForm bounds form bodies (a policy is at most 1 MiB; the API's
// middleware caps bodies at 2 MiB as well).
const maxForm = 2 << 20

// toSignIn sends the browser to the tenant's sign-in page, remembering a
// page to come back to (GET pages only, and only paths of this console).
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request, slug string) {
	target := "/admin/" + slug + "/sign-in"
	if r.Method == http.MethodGet && r.URL.Path != "/admin/"+slug+"/" {
		target += "?next=" + url.QueryEscape(r.URL.Path)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext accepts only a path inside the tenant's console, so the sign-in
// page cannot be made to redirect elsewhere.
func safeNext(next, slug string) string {
	base := "/admin/" + slug + "/"
	if strings.HasPrefix(next, base) && !strings.Contains(next, "//") && !strings.ContainsAny(next, "\\?#") {
		return next
	}
	return base
}

// fail logs an unexpected error with the request id and shows a page
// without details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := requestID(r.Context())
	if a, ok := adminFrom(r.Context()); ok {
		id = a.RequestID
	}
	s.log.ErrorContext(r.Context(), "web: request failed", "request_id", id, "route", r.Pattern, "error", err.Error())
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. Quote request id "+id+" to your administrator.")
}

func navFor(a *adminInfo) []navItem {
	b := a.Base()
	items := []navItem{{"dashboard", "Dashboard", b + "/"}}
	add := func(perm auth.Permission, key, label, href string) {
		if auth.Allowed(a.Role, perm) {
			items = append(items, navItem{key, label, href})
		}
	}
	add(auth.PermRequestsRead, "requests", "Requests", b+"/requests")
	add(auth.PermSubjectsRead, "subjects", "Subject lookup", b+"/subjects")
	add(auth.PermPolicyRead, "policy", "Policy", b+"/policy")
	add(auth.PermConsentsRead, "consent", "Consent", b+"/consent")
	add(auth.PermAuditRead, "audit", "Audit log", b+"/audit")
	add(auth.PermBreaches, "breaches", "Breaches", b+"/breaches")
	add(auth.PermRetentionRead, "retention", "Retention", b+"/retention")
	add(auth.PermLegalHolds, "holds", "Legal holds", b+"/holds")
	add(auth.PermOutboxManage, "outbox", "Outbox", b+"/outbox")
	add(auth.PermStaffManage, "staff", "Staff", b+"/staff")
	add(auth.PermKeysManage, "apikeys", "API keys", b+"/apikeys")
	items = append(items, navItem{"account", "My account", b + "/account"})
	return items
}
