package httpapi

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/time/rate"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/store"
	bannerfiles "github.com/trustee-privacy/trustee/web/consent"
)

// Public endpoints: what a visitor's browser and a mail client call without
// an API key. The cookie banner fetches its configuration and records
// choices (CORS for the site's declared origins only), the one-click
// unsubscribe of RFC 8058, /.well-known/gpc.json, and the banner's own
// files. Every one is rate limited per client address.
//
// The unsubscribe link is /v1/public/{token}/unsubscribe rather than
// /v1/public/unsubscribe/{token}: net/http's ServeMux refuses the latter
// beside /v1/public/{site}/consents (a path such as
// /v1/public/unsubscribe/consents would match both), and every endpoint
// without an API key stays under /v1/public/, so a proxy can expose that
// prefix alone.

// PublicOptions tune the public endpoints: their rate limits per client
// address (IPv4 address, IPv6 /64) and which proxies to believe about the
// client's address. Zero fields take the defaults.
type PublicOptions struct {
	// Read is the sustained rate of configuration fetches and preflights
	// per second (default 10), Burst its bucket (default 60): a visitor
	// browsing a site fetches the configuration on every page.
	Read      float64
	ReadBurst int
	// Write is the sustained rate of recorded choices and unsubscribes
	// per second (default 1), WriteBurst its bucket (default 20).
	Write      float64
	WriteBurst int
	// TrustedProxies are the networks of reverse proxies in front of
	// Trustee. A request from one of them is attributed to the right-most
	// address of X-Forwarded-For that is not itself a trusted proxy, for
	// the rate limit and the hashed address kept as proof. Without it every
	// visitor behind the proxy would share one bucket.
	TrustedProxies []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of networks (CIDR) or
// addresses, such as TRUSTEE_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, errors.New("trusted proxies: " + strconv.Quote(f) + " is not an address or a network such as 10.0.0.0/8")
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (p PublicOptions) withDefaults() PublicOptions {
	if p.Read <= 0 {
		p.Read = 10
	}
	if p.ReadBurst <= 0 {
		p.ReadBurst = 60
	}
	if p.Write <= 0 {
		p.Write = 1
	}
	if p.WriteBurst <= 0 {
		p.WriteBurst = 20
	}
	return p
}

// GPCLastUpdate is the date /.well-known/gpc.json reports: when Trustee's
// handling of Global Privacy Control last changed.
const GPCLastUpdate = "2026-11-01"

// limiter is a token bucket per client network, forgetting networks idle
// for ten minutes.
type limiter struct {
	mu      sync.Mutex
	r       rate.Limit
	burst   int
	trusted []netip.Prefix
	m       map[netip.Prefix]*limited
	swept   time.Time
}

type limited struct {
	l    *rate.Limiter
	seen time.Time
}

// maxLimited bounds the networks remembered; past it idle ones are
// dropped first, then all (a flood of addresses resets the buckets rather
// than exhausting memory).
const maxLimited = 100_000

func newLimiter(perSecond float64, burst int, trusted []netip.Prefix) *limiter {
	return &limiter{r: rate.Limit(perSecond), burst: burst, trusted: trusted, m: map[netip.Prefix]*limited{}}
}

// clientAddr is the address of the client a request comes from: the peer,
// or, when the peer is a trusted proxy, the right-most X-Forwarded-For
// entry that is not a trusted proxy (the left ones are the client's own
// claims and cannot be believed).
func clientAddr(remote, forwarded string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if len(trusted) == 0 || !isTrusted(host) || forwarded == "" {
		return host
	}
	hops := strings.Split(forwarded, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(h); err != nil {
			return host // malformed: believe no one
		}
		if !isTrusted(h) {
			return h
		}
	}
	return host
}

// clientNet is the rate-limit key of a client address: the IPv4 address,
// or the IPv6 /64 (one host usually owns a whole /64).
func clientNet(host string) netip.Prefix {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

func (l *limiter) allow(client string) bool {
	key := clientNet(client)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute || len(l.m) >= maxLimited {
		for k, v := range l.m {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxLimited {
			clear(l.m)
		}
		l.swept = now
	}
	e := l.m[key]
	if e == nil {
		e = &limited{l: rate.NewLimiter(l.r, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	return e.l.AllowN(now, 1)
}

// publicMiddleware rate limits an operation and applies the site's CORS
// rule: a request with an Origin the site does not declare is refused with
// 403 and no CORS headers, so the browser lets the page see nothing; an
// allowed one gets Access-Control-Allow-Origin for exactly that origin.
func (s *Server) publicMiddleware(l *limiter, cors bool) huma.Middlewares {
	return huma.Middlewares{func(ctx huma.Context, next func(huma.Context)) {
		ctx.AppendHeader("Vary", "Origin")
		ctx.SetHeader("Cross-Origin-Resource-Policy", "cross-origin")
		ctx.SetHeader("Cache-Control", "no-store")
		client := clientAddr(ctx.RemoteAddr(), ctx.Header("X-Forwarded-For"), l.trusted)
		if !l.allow(client) {
			ctx.SetHeader("Retry-After", "1")
			writeHumaProblem(ctx, errf(ctx.Context(), http.StatusTooManyRequests, "", "Too many requests from this network; try again in a moment."))
			return
		}
		if cors {
			if origin := ctx.Header("Origin"); origin != "" {
				_, site, err := s.deps.Consent.Site(ctx.Context(), ctx.Param("site"))
				switch {
				case errors.Is(err, consent.ErrUnknownSite):
					// The handler answers 404.
				case err != nil:
					writeHumaProblem(ctx, errf(ctx.Context(), http.StatusServiceUnavailable, "", "The site's configuration is unavailable."))
					return
				case !site.CheckOrigin(origin):
					writeHumaProblem(ctx, consentError(ctx.Context(), consent.ErrOrigin).(*Problem))
					return
				default:
					ctx.SetHeader("Access-Control-Allow-Origin", origin)
				}
			}
		}
		next(huma.WithValue(ctx, remoteKey{}, client))
	}}
}

func writeHumaProblem(ctx huma.Context, p *Problem) {
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	_ = jsonEncode(ctx.BodyWriter(), p)
}

type siteInput struct {
	Site string `path:"site" maxLength:"63" doc:"The site key from the policy (the banner's data-site)."`
	GPC  string `header:"Sec-GPC" doc:"1 when the browser sends a Global Privacy Control signal."`
}

type configOutput struct {
	Body consent.BannerConfig
}

type choiceInput struct {
	Site      string `path:"site" maxLength:"63" doc:"The site key from the policy."`
	Origin    string `header:"Origin" doc:"Required: the page's origin, one of the site's origins."`
	GPC       string `header:"Sec-GPC" doc:"1 when the browser sends a Global Privacy Control signal."`
	UserAgent string `header:"User-Agent"`
	RawBody   []byte `contentType:"application/json"`
}

type choiceOutput struct {
	Status int
	Body   consent.BannerRecorded
}

type gpcOutput struct {
	AllowOrigin string `header:"Access-Control-Allow-Origin"`
	CORP        string `header:"Cross-Origin-Resource-Policy"`
	Cache       string `header:"Cache-Control"`
	Body        struct {
		GPC        bool   `json:"gpc" doc:"Trustee honours Global Privacy Control."`
		LastUpdate string `json:"lastUpdate" doc:"When that was last changed (YYYY-MM-DD)."`
	}
}

type tokenInput struct {
	Token string `path:"token" maxLength:"200" doc:"The signed token from the List-Unsubscribe link."`
}

type unsubscribePostInput struct {
	Token   string `path:"token" maxLength:"200" doc:"The signed token from the List-Unsubscribe link."`
	RawBody []byte `contentType:"application/x-www-form-urlencoded" doc:"List-Unsubscribe=One-Click (RFC 8058), or the confirmation page's form."`
}

type htmlOutput struct {
	Status      int
	ContentType string `header:"Content-Type"`
	CSP         string `header:"Content-Security-Policy"`
	Body        []byte
}

func (s *Server) registerPublic() {
	rl := s.deps.Public.withDefaults()
	read, write := newLimiter(rl.Read, rl.ReadBurst, rl.TrustedProxies), newLimiter(rl.Write, rl.WriteBurst, rl.TrustedProxies)
	tag := "Public"

	cfg := publicOp(http.MethodGet, "/v1/public/{site}/consent-config", "getConsentConfig", "The cookie banner's configuration", tag)
	cfg.Description = "No API key. The banner's texts in every language of the site, its categories (necessary, functional, analytics, advertising) " +
		"with their cookies and providers, the purposes each records consent for, the policy version shown and the privacy notice. " +
		"CORS: only the site's origins (from the policy) get Access-Control-Allow-Origin; another Origin is refused with 403. Rate limited per client address."
	cfg.Errors = []int{http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests}
	cfg.Middlewares = s.publicMiddleware(read, true)
	register(s.api, cfg, func(ctx context.Context, in *siteInput) (*configOutput, error) {
		c, err := s.deps.Consent.Config(ctx, in.Site, in.GPC == "1")
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &configOutput{Body: c}, nil
	})

	rec := publicOp(http.MethodPost, "/v1/public/{site}/consents", "recordBannerChoice", "Record a cookie banner choice", tag)
	rec.Description = "No API key; the Origin must be one of the site's origins (CORS preflight answered for them only). " +
		"Records the choice for the browser's id as ledger events (one per purpose of each category chosen) and returns the receipt id and date. " +
		"A Global Privacy Control signal (Sec-GPC: 1, or gpc: true from navigator.globalPrivacyControl) turns advertising, and any category " +
		"standing for a sale or sharing, off and records the CCPA opt-out. The body (at most 4 KiB) is decoded strictly. Rate limited per client address."
	rec.DefaultStatus = http.StatusCreated
	rec.MaxBodyBytes = consent.MaxBannerBody
	rec.SkipValidateBody = true // decoded strictly by consent.DecodeBannerChoice
	rec.Errors = []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	rec.Middlewares = s.publicMiddleware(write, true)
	register(s.api, rec, func(ctx context.Context, in *choiceInput) (*choiceOutput, error) {
		c, err := consent.DecodeBannerChoice(in.RawBody)
		if err != nil {
			return nil, consentError(ctx, err)
		}
		r, err := s.deps.Consent.RecordBanner(ctx, in.Site, c, consent.BannerMeta{Origin: in.Origin, IP: remoteIP(ctx), UserAgent: in.UserAgent, GPC: in.GPC == "1"})
		if err != nil {
			return nil, consentError(ctx, err)
		}
		return &choiceOutput{Status: http.StatusCreated, Body: r}, nil
	})
	s.documentBannerChoice()
	s.mux.HandleFunc("OPTIONS /v1/public/{site}/consents", s.preflight(read, http.MethodPost))
	s.mux.HandleFunc("OPTIONS /v1/public/{site}/consent-config", s.preflight(read, http.MethodGet))

	gpc := publicOp(http.MethodGet, "/.well-known/gpc.json", "getGPC", "Global Privacy Control support", tag)
	gpc.Description = "The GPC support resource: this service honours Sec-GPC: 1 as an opt-out of sale and sharing and of advertising."
	register(s.api, gpc, func(ctx context.Context, _ *struct{}) (*gpcOutput, error) {
		out := &gpcOutput{AllowOrigin: "*", CORP: "cross-origin", Cache: "public, max-age=86400"}
		out.Body.GPC, out.Body.LastUpdate = true, GPCLastUpdate
		return out, nil
	})

	page := publicOp(http.MethodGet, "/v1/public/{token}/unsubscribe", "unsubscribePage", "Confirm an unsubscribe", tag)
	page.Description = "The page a person sees when following a List-Unsubscribe link: it names the sender and asks to confirm; " +
		"nothing changes until the button (a POST) is pressed, so link scanners cannot unsubscribe anyone."
	page.Errors = []int{http.StatusBadRequest, http.StatusTooManyRequests}
	page.Middlewares = s.publicMiddleware(read, false)
	register(s.api, page, func(ctx context.Context, in *tokenInput) (*htmlOutput, error) {
		t, err := s.deps.Consent.VerifyUnsubscribeToken(ctx, in.Token)
		if err != nil {
			return s.unsubscribeHTML(ctx, err, consent.UnsubscribePage{}, false, "")
		}
		info, err := s.deps.Consent.DescribeToken(ctx, t)
		return s.unsubscribeHTML(ctx, err, info, false, in.Token)
	})

	post := publicOp(http.MethodPost, "/v1/public/{token}/unsubscribe", "unsubscribeOneClick", "One-click unsubscribe (RFC 8058)", tag)
	post.Description = "For List-Unsubscribe-Post: List-Unsubscribe=One-Click, and the confirmation page's button. Stops every direct-marketing purpose " +
		"of the token's subject at once (an upheld objection, consents withdrawn, the addresses on the suppression list). Idempotent. " +
		"A tampered or unknown token is refused with 400."
	post.MaxBodyBytes = 1024
	post.SkipValidateBody = true // the body is a fixed marker (RFC 8058), not read
	post.Errors = []int{http.StatusBadRequest, http.StatusTooManyRequests}
	post.Middlewares = s.publicMiddleware(write, false)
	register(s.api, post, func(ctx context.Context, in *unsubscribePostInput) (*htmlOutput, error) {
		t, err := s.deps.Consent.VerifyUnsubscribeToken(ctx, in.Token)
		if err != nil {
			return s.unsubscribeHTML(ctx, err, consent.UnsubscribePage{}, true, "")
		}
		_, err = s.deps.Consent.Unsubscribe(ctx, t.TenantID, t.SubjectID, t.Purpose, store.MethodUnsubscribe,
			consent.Actor{ID: "subject", RequestID: RequestID(ctx)})
		if errors.Is(err, consent.ErrNotFound) {
			err = consent.ErrBadToken
		}
		if err != nil {
			return s.unsubscribeHTML(ctx, err, consent.UnsubscribePage{}, true, "")
		}
		info, err := s.deps.Consent.DescribeToken(ctx, t)
		return s.unsubscribeHTML(ctx, err, info, true, "")
	})

	for _, a := range bannerfiles.Assets() {
		s.mux.HandleFunc("GET /"+a.Name, serveAsset(a))
	}
}

// remoteKey carries the client address from publicMiddleware to the
// handler (huma handlers do not see the *http.Request).
type remoteKey struct{}

// remoteIP is the client address of the request in ctx, for the keyed
// hash kept as proof (never stored in clear).
func remoteIP(ctx context.Context) string {
	addr, _ := ctx.Value(remoteKey{}).(string)
	return addr
}

// preflight answers CORS preflights of the banner's endpoints: only for the
// site's origins, only the endpoint's method, only Content-Type (and
// Sec-GPC, which some privacy tools add to every request).
func (s *Server) preflight(l *limiter, method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		if !l.allow(clientAddr(r.RemoteAddr, r.Header.Get("X-Forwarded-For"), l.trusted)) {
			h.Set("Retry-After", "1")
			writeProblem(w, r, problem(http.StatusTooManyRequests, "", "Too many requests from this network; try again in a moment."))
			return
		}
		_, site, err := s.deps.Consent.Site(r.Context(), r.PathValue("site"))
		if err != nil {
			writeProblem(w, r, problem(http.StatusNotFound, "unknown-site", "No policy declares this site key."))
			return
		}
		origin := r.Header.Get("Origin")
		ok := origin != "" && site.CheckOrigin(origin) && r.Header.Get("Access-Control-Request-Method") == method
		for _, hd := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
			if hd = strings.ToLower(strings.TrimSpace(hd)); hd != "" && hd != "content-type" && hd != "sec-gpc" {
				ok = false
			}
		}
		if !ok {
			writeProblem(w, r, problem(http.StatusForbidden, "origin-not-allowed", "This origin may not record choices for this site."))
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", method)
		h.Set("Access-Control-Allow-Headers", "Content-Type, Sec-GPC")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	}
}

// documentBannerChoice gives the raw-body operation its real schema: the
// handler decodes the body itself (strictly, see consent.DecodeBannerChoice).
func (s *Server) documentBannerChoice() {
	o := s.api.OpenAPI()
	p := o.Paths["/v1/public/{site}/consents"]
	if p == nil || p.Post == nil || p.Post.RequestBody == nil {
		return
	}
	schema := o.Components.Schemas.Schema(reflect.TypeFor[consent.BannerChoice](), true, "")
	p.Post.RequestBody.Required = true
	p.Post.RequestBody.Content = map[string]*huma.MediaType{"application/json": {Schema: schema}}
}

// serveAsset serves one of the banner's files: cacheable for an hour,
// revalidated by ETag, gzipped when the client accepts it, loadable from
// any site.
func serveAsset(a bannerfiles.Asset) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", a.ContentType)
		h.Set("ETag", a.ETag)
		h.Set("Cache-Control", "public, max-age=3600, stale-while-revalidate=86400")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Add("Vary", "Accept-Encoding")
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.Body
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = a.Gzip
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}
}

var unsubscribeTmpl = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font:17px/1.5 system-ui,sans-serif;color:#111;background:#f6f6f6;margin:0;padding:2rem 1rem}
main{max-width:34rem;margin:auto;background:#fff;padding:2rem;border-radius:.75rem}
button{font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.5rem;padding:.75rem 1.25rem;cursor:pointer}
button:focus-visible,a:focus-visible{outline:3px solid #111;outline-offset:2px}a{color:#1d4ed8}</style></head>
<body><main><h1>{{.Title}}</h1>
{{if .Error}}<p>{{.Error}}</p>
{{else if .Done}}<p>You will no longer receive {{if .Info.PurposeName}}{{.Info.PurposeName}} or any other {{end}}marketing from {{.Info.Controller}}.
We keep only a scrambled form of your address on a list, so that it is never used for marketing again.</p>
{{else}}<p>Stop {{if .Info.PurposeName}}{{.Info.PurposeName}} and all other {{end}}marketing messages from {{.Info.Controller}}?</p>
{{if .Info.Purposes}}<p>This stops: {{range $i, $p := .Info.Purposes}}{{if $i}}, {{end}}{{$p}}{{end}}.</p>{{end}}
<form method="post" action="{{.Action}}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
{{end}}{{if .Info.NoticeURL}}<p><a href="{{.Info.NoticeURL}}">Privacy notice</a></p>{{end}}</main></body></html>
`))

// unsubscribeHTML renders the confirmation page, the result, or why the
// link does not work. It never shows who the link is for.
func (s *Server) unsubscribeHTML(ctx context.Context, err error, info consent.UnsubscribePage, done bool, token string) (*htmlOutput, error) {
	data := struct {
		Title, Error, Action string
		Done                 bool
		Info                 consent.UnsubscribePage
	}{Title: "Unsubscribe", Done: done, Info: info}
	status := http.StatusOK
	switch {
	case errors.Is(err, consent.ErrBadToken), errors.Is(err, consent.ErrNoPolicy):
		status, data.Error = http.StatusBadRequest, "This unsubscribe link is not valid. Use the link in the latest message, or contact the sender."
	case err != nil:
		return nil, err
	case done:
		data.Title = "You are unsubscribed"
	default:
		data.Action = "/v1/public/" + url.PathEscape(token) + "/unsubscribe"
	}
	var b bytes.Buffer
	if err := unsubscribeTmpl.Execute(&b, data); err != nil {
		return nil, err
	}
	return &htmlOutput{Status: status, ContentType: "text/html; charset=utf-8",
		CSP: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'", Body: b.Bytes()}, nil
}
