package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// signInData is the sign-in and code forms.
type signInData struct {
	Slug  string
	Login string
	Next  string
}

// adminHome is /admin/: the signed-in console, or a form that asks which
// organisation to sign in to. Tenants are never listed to strangers.
func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	if org := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("org"))); org != "" {
		if !tenant.ValidSlug(org) {
			s.render(w, r, http.StatusOK, "admin/choose", &view{Title: "Sign in", Error: "That is not an organisation name: use lower-case letters, digits and dashes."})
			return
		}
		http.Redirect(w, r, "/admin/"+org+"/sign-in", http.StatusSeeOther)
		return
	}
	if sess, err := s.staff.Session(r.Context(), s.sessionToken(r)); err == nil {
		if t, err := s.d.Tenants.Get(r.Context(), sess.Account.TenantID); err == nil {
			http.Redirect(w, r, "/admin/"+t.Slug+"/", http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, "admin/choose", &view{Title: "Sign in"})
}

// signInForm shows the password form. It looks the same whether or not the
// organisation exists, so it cannot be used to find tenants.
func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("tenant")
	if !tenant.ValidSlug(slug) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	s.render(w, r, http.StatusOK, "admin/signin", &view{Title: "Sign in", Main: signInData{Slug: slug, Next: r.URL.Query().Get("next")}})
}

// signIn checks the password. Whatever session cookie the browser brought is
// revoked and never reused: the session is always a new random token, so a
// token planted before sign-in (session fixation) is worthless.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("tenant")
	if !tenant.ValidSlug(slug) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ctx := r.Context()
	if old := s.sessionToken(r); old != "" {
		if err := s.staff.Revoke(ctx, old, nil, ""); err != nil {
			s.fail(w, r, err)
			return
		}
		s.clearSession(w, r)
	}
	data := signInData{Slug: slug, Login: r.PostFormValue("login"), Next: r.PostFormValue("next")}
	in := staff.SignInInput{TenantKey: slug, Login: data.Login, Password: r.PostFormValue("password"),
		Network: clientNetwork(r), RequestID: requestID(ctx)}
	t, err := s.d.Tenants.BySlug(ctx, slug)
	switch {
	case err == nil:
		in.TenantID = t.ID
	case !errors.Is(err, tenant.ErrTenantNotFound):
		s.fail(w, r, err)
		return
	}
	sess, err := s.staff.SignIn(ctx, in)
	if err != nil {
		s.signInFailed(w, r, "admin/signin", data, err)
		return
	}
	s.setSession(w, r, sess.Token)
	if sess.Stage != "active" {
		target := "/admin/" + slug + "/sign-in/code"
		if data.Next != "" {
			target += "?next=" + url.QueryEscape(data.Next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, safeNext(data.Next, slug), http.StatusSeeOther)
}

// signInFailed shows the form again with the one generic message (or the
// lockout), with the status a script or test can tell apart.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, tmpl string, data signInData, err error) {
	var te *staff.ThrottledError
	switch {
	case errors.As(err, &te):
		s.render(w, r, http.StatusTooManyRequests, tmpl, &view{Title: "Sign in", Main: data, Error: te.Error() + "."})
	case errors.Is(err, staff.ErrBadCredentials):
		s.render(w, r, http.StatusUnauthorized, tmpl, &view{Title: "Sign in", Main: data, Error: "Wrong login or password."})
	case errors.Is(err, staff.ErrBadCode):
		s.render(w, r, http.StatusUnauthorized, tmpl, &view{Title: "Sign in", Main: data, Error: "Wrong or expired code. Use the newest code your app shows."})
	case errors.Is(err, staff.ErrNoSession):
		http.Redirect(w, r, "/admin/"+data.Slug+"/sign-in", http.StatusSeeOther)
	default:
		s.fail(w, r, err)
	}
}

// codeForm asks for the TOTP code of a pending session.
func (s *Server) codeForm(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("tenant")
	if _, err := s.staff.Pending(r.Context(), s.sessionToken(r)); err != nil {
		http.Redirect(w, r, "/admin/"+slug+"/sign-in", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "admin/code", &view{Title: "Two-factor code", Main: signInData{Slug: slug, Next: r.URL.Query().Get("next")}})
}

// code completes sign-in with a TOTP code; the pending session's token is
// replaced by a new one.
func (s *Server) code(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("tenant")
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	data := signInData{Slug: slug, Next: r.PostFormValue("next")}
	sess, err := s.staff.VerifyTOTP(r.Context(), s.sessionToken(r), r.PostFormValue("code"), clientNetwork(r), requestID(r.Context()))
	if err != nil {
		s.signInFailed(w, r, "admin/code", data, err)
		return
	}
	t, err := s.d.Tenants.Get(r.Context(), sess.Account.TenantID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setSession(w, r, sess.Token)
	http.Redirect(w, r, safeNext(data.Next, t.Slug), http.StatusSeeOther)
}

// signOut revokes the session on the server (a copied cookie is useless
// afterwards) and clears the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	by := a.actor()
	if err := s.staff.Revoke(r.Context(), a.Session.Token, &by, a.Tenant.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearSession(w, r)
	http.Redirect(w, r, a.Base()+"/sign-in", http.StatusSeeOther)
}
