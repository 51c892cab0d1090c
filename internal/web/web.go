// Package web serves Trustee's two web surfaces from the same binary as the
// API: the privacy center for people (/p/{tenant}/…) and the admin console
// for the privacy team (/admin/…). Pages are html/template with embedded
// assets; every form works without JavaScript, and htmx (embedded, no build
// step) only makes some of them update in place.
//
// The package is an adapter like the API: it authenticates staff (package
// staff), authorises with the API's permission matrix (auth.Allowed) and
// calls the domain services; the rules about personal data stay in the
// vault, the decision engine and the audit log. Staff sessions authenticate
// only these pages, never the JSON API, and API keys never sign in here.
//
// Routes built now are listed in Routes; routes reserved for surfaces whose
// back ends are still being built are listed in Reserved and answer 404
// until they exist.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/httpapi"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
	"github.com/trustee-privacy/trustee/internal/web/staff"
)

// Deps are the services the pages use.
type Deps struct {
	Store   store.Store
	Tenants *tenant.Service
	Vault   *vault.Service
	Audit   *audit.Log
	// Consent feeds the consent dashboard; nil hides it.
	Consent *consent.Service
	// Outbox, Retention and Breach feed the operations pages (outbox,
	// retention plan and legal holds, breach register); nil answers 404.
	Outbox    *outbox.Outbox
	Retention *retention.Service
	Breach    *breach.Service
	// Rights runs data-subject requests: the privacy center files,
	// verifies and follows them, the console's queue decides them; nil
	// answers 404 on those pages.
	Rights *rights.Service
	// Fulfil reports per-recipient propagation of approved requests.
	Fulfil *fulfil.Service
	// TrustedProxies are the reverse proxies in front of Trustee, as for
	// the API's public endpoints: the privacy center's rate limit counts a
	// request from one of them against the client it forwards for.
	TrustedProxies []netip.Prefix
	APIKeys        *auth.Keys
	// Keys seals TOTP seeds; nil disables two-factor enrolment.
	Keys *keys.Manager
	// Scheduler, when set, gets a periodic task that deletes ended sessions.
	Scheduler audit.Scheduler
	Logger    *slog.Logger
	// SecureCookies forces the Secure attribute and the __Host- prefix on
	// the session cookie even when requests arrive over plain HTTP (TLS
	// ends at a proxy in front of Trustee). Over TLS they are always set.
	SecureCookies bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StaffParams are the argon2id costs (zero: staff.DefaultParams); tests
	// lower them.
	StaffParams staff.Params
}

// Server is the web surfaces' handler.
type Server struct {
	d       Deps
	staff   *staff.Service
	mux     *http.ServeMux
	handler http.Handler
	pages   *templates
	log     *slog.Logger
	// centerLimit rate-limits the privacy center's form posts.
	centerLimit *centerLimiter
}

// Routes are the route patterns this package serves. They are mounted
// under the API server's mux, whose own routes start with /v1, /healthz,
// /readyz, /metrics and /openapi.json, so they cannot collide.
var Routes = []string{"/admin/", "/p/", "/static/"}

// Reserved are the routes kept for pages whose back ends other work is
// building. They answer 404 today; the navigation does not show them.
// Every surface of issue 7 is built now, so none is reserved.
var Reserved = []string{}

// New assembles the web surfaces.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{d: d, log: d.Logger, mux: http.NewServeMux(), pages: mustTemplates()}
	s.staff = &staff.Service{Store: d.Store, Audit: d.Audit, Now: d.Now, Params: d.StaffParams}
	if d.Keys != nil {
		s.staff.Sealer = d.Keys
	}
	if d.Scheduler != nil {
		d.Scheduler.Periodic("staff.sessions.prune", time.Hour, s.staff.PruneSessions)
	}
	s.routes()

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "The request came from another site and was refused, so that no other site can act in your name. Reload the page and try again.")
	}))
	var h http.Handler = s.mux
	h = cop.Handler(h)
	h = headers(h)
	s.handler = h
	return s
}

// Handler serves every route in Routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Staff is the staff account service (for the CLI and tests).
func (s *Server) Staff() *staff.Service { return s.staff }

func (s *Server) now() time.Time {
	if s.d.Now != nil {
		return s.d.Now()
	}
	return time.Now()
}

// contentSecurityPolicy allows only this origin's scripts, styles and
// images: no inline script or style (htmx is configured not to inject its
// indicator style), no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// headers sets the security headers of every web response. The API's
// middleware around it already sets nosniff, Referrer-Policy no-referrer and
// X-Frame-Options; they are set here too so the handler is safe on its own.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if strings.HasPrefix(r.URL.Path, "/admin") {
			// Console pages may show personal data, tokens or passwords:
			// never cached, by the browser or anyone in between.
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// requestID is the API middleware's id when mounted there, or a fresh one.
func requestID(ctx context.Context) string {
	if id := httpapi.RequestID(ctx); id != "" {
		return id
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientNetwork is the client's address truncated to its network, the only
// form in which it is stored or logged.
func clientNetwork(r *http.Request) string { return httpapi.TruncateIP(r.RemoteAddr) }
