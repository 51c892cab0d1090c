// Package httpapi is Trustee's REST API: it translates HTTP into calls on the
// domain packages and authorises them, and holds no privacy rules of its own.
// Operations are declared with huma so the OpenAPI 3.1 document is generated
// from the same Go types that decode requests; errors are RFC 9457
// problem+json with stable types.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/export"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Deps are the domain services the API translates to. Nil Store and services
// are allowed only for generating the OpenAPI document.
type Deps struct {
	Store   store.Store
	Tenants *tenant.Service
	Auth    *auth.Authenticator
	Keys    *auth.Keys
	Vault   *vault.Service
	Audit   *audit.Log
	Outbox  *outbox.Outbox
	Logger  *slog.Logger
	// Version is the build version reported in the OpenAPI document and /healthz.
	Version string
	// RequestTimeout bounds each request's handler; zero means 30 seconds.
	RequestTimeout time.Duration
	// MaxBodyBytes caps request bodies; zero means 2 MiB.
	MaxBodyBytes int64
	// Consent is the consent service: ledger, receipts, audiences, the
	// cookie banner's public endpoints, unsubscribe.
	Consent *consent.Service
	// Public tunes the public (no API key) endpoints: rate limits per
	// client address and trusted proxies; zero fields take the defaults.
	Public PublicOptions
	// Web, when set, serves the privacy center and the admin console
	// (/admin/, /p/, /static/) behind the same middleware; its sessions
	// never authenticate API operations.
	Web http.Handler

	// Retention runs retention and legal holds (retention_ops.go,
	// legalholds_ops.go).
	Retention *retention.Service

	// Breach is the breach register (breaches_ops.go).
	Breach *breach.Service

	// Exports builds and serves access and portability exports
	// (exports_ops.go).
	Exports *export.Service

	// Fulfil carries out requests and tracks their propagation to
	// recipients (recipients_ops.go).
	Fulfil *fulfil.Service

	// Rights runs data-subject requests (requests_ops.go); its public
	// endpoints use Consent to find a site's tenant.
	Rights *rights.Service
}

// Server is the assembled HTTP API.
type Server struct {
	deps    Deps
	api     huma.API
	mux     *http.ServeMux
	handler http.Handler
	reg     *prometheus.Registry
}

// APIVersion is the version of the HTTP API contract, independent of the
// build, shown in the OpenAPI document.
const APIVersion = "1.0.0"

// New assembles the API over deps.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.RequestTimeout == 0 {
		d.RequestTimeout = 30 * time.Second
	}
	if d.MaxBodyBytes == 0 {
		d.MaxBodyBytes = 2 << 20
	}
	installProblems(d.Logger)

	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Trustee API", APIVersion)
	cfg.Info.Description = "Trustee makes a privacy policy executable: policy as code, " +
		"purpose-bound access to personal data, consent, data-subject rights, retention and audit. " +
		"Authenticate with an API key: `Authorization: Bearer trustee_…`. Errors are RFC 9457 problem+json; " +
		"their `type` values are stable (see docs/api.md)."
	cfg.Info.License = &huma.License{Name: "Proprietary"}
	cfg.DocsPath = "" // no CDN-loaded docs page; the document is served at /openapi.json
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links injected into bodies
	cfg.RejectUnknownQueryParameters = true
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey": {
			Type:         "http",
			Scheme:       "bearer",
			BearerFormat: "trustee API key",
			Description:  "An API key of one tenant and one role (admin, dpo, agent, service, auditor).",
		},
	}
	api := humago.New(mux, cfg)
	s := &Server{deps: d, api: api, mux: mux, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newHTTPMetrics(s.reg)

	api.UseMiddleware(s.authenticate)
	s.registerHealth()
	s.registerPolicy()
	s.registerKeys()
	s.registerSubjects()
	s.registerAudit()
	s.registerConsent()
	s.registerPublic()
	s.registerOutbox()
	s.registerRetention()
	s.registerLegalHolds()
	s.registerRequests()
	s.registerExports()
	s.registerBreaches()
	s.registerRecipients()
	s.registerRestrictions()
	mux.Handle("GET /metrics", s.requirePlain(auth.PermMetricsRead, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	if d.Web != nil {
		for _, prefix := range []string{"/admin/", "/p/", "/static/"} {
			mux.Handle(prefix, d.Web)
		}
	}
	mux.HandleFunc("/", s.fallback)

	var h http.Handler = mux
	h = accessLog(d.Logger, m, h)
	h = timeouts(d.RequestTimeout, h)
	h = requireUTF8JSON(h)
	h = limitBodies(d.MaxBodyBytes, h)
	h = securityHeaders(h)
	h = recoverer(d.Logger, h)
	h = requestIDs(h)
	s.handler = h
	return s
}

// Handler is the root http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI is the generated OpenAPI 3.1 document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Registry exposes the metrics registry so other components (store, jobs)
// can add their collectors to /metrics.
func (s *Server) Registry() prometheus.Registerer { return s.reg }

// fallback answers requests no route matched: 405 with Allow when the path
// exists under another method, else 404, both as problems.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeProblem(w, r, problem(http.StatusMethodNotAllowed, "", "Method "+r.Method+" is not allowed here."))
		return
	}
	writeProblem(w, r, problem(http.StatusNotFound, "", "There is nothing at this path. The API is described at /openapi.json."))
}

// Document returns the OpenAPI document as indented JSON, the same bytes
// as docs/openapi.json. It needs no store.
func Document() ([]byte, error) {
	s := New(Deps{})
	b, err := json.MarshalIndent(s.OpenAPI(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
