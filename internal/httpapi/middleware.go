package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trustee-privacy/trustee/internal/auth"
)

type ctxKey int

const reqInfoKey ctxKey = iota

// reqInfo travels in the request context from the outermost middleware, so
// that what the inner layers learn (who the caller is) reaches the access log.
type reqInfo struct {
	id        string
	principal *auth.Principal
}

// RequestID returns the id of the request being served, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(reqInfoKey).(*reqInfo); ok {
		return ri.id
	}
	return ""
}

// PrincipalFrom returns the authenticated caller of the request, if any.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	return principalFrom(ctx)
}

func principalFrom(ctx context.Context) (auth.Principal, bool) {
	if ri, ok := ctx.Value(reqInfoKey).(*reqInfo); ok && ri.principal != nil {
		return *ri.principal, true
	}
	return auth.Principal{}, false
}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestIDs gives every request an id (keeping a well-formed one sent by a
// proxy), exposes it in X-Request-Id and puts it in the context for logs and
// problems.
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRe.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqInfoKey, &reqInfo{id: id})))
	})
}

// recoverer turns a panic into a logged 500 problem instead of a dropped
// connection; the stack goes to the log, never to the client.
func recoverer(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic while serving request",
					"request_id", RequestID(r.Context()), "panic", slog.AnyValue(v).String(), "stack", string(debug.Stack()))
				writeProblem(w, r, problem(http.StatusInternalServerError, "", "The server could not complete the request. Quote the request id to support."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets headers that cost nothing and close whole classes of
// browser attacks on API responses.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// timeouts bounds the time a handler may spend, so a slow store cannot pile
// up requests forever.
func timeouts(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBodies caps every request body, including those of handlers that are
// not huma operations.
func limitBodies(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, "", "The request body is larger than "+strconv.FormatInt(max, 10)+" bytes."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// requireUTF8JSON refuses JSON bodies that are not valid UTF-8. Go's JSON
// decoder would silently turn bad bytes into U+FFFD, storing something the
// client never sent; personal data must round-trip exactly or be refused.
func requireUTF8JSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if r.Body == nil || r.Body == http.NoBody || !(strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")) {
			next.ServeHTTP(w, r)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, "", "The request body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes."))
				return
			}
			writeProblem(w, r, problem(http.StatusBadRequest, "", "The request body could not be read."))
			return
		}
		if !utf8.Valid(b) {
			writeProblem(w, r, problem(http.StatusBadRequest, "", "The request body is not valid UTF-8."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (deadlines, flush).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes streaming flushes through.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trustee_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trustee_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

// accessLog writes one structured line per request and records metrics. It
// logs the route pattern, never the raw path or query (lookups carry emails
// and phone numbers there), and a truncated client address.
func accessLog(logger *slog.Logger, m *httpMetrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		if m != nil {
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
			m.duration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
		}
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("ms", float64(elapsed.Microseconds())/1000),
			slog.String("client", TruncateIP(r.RemoteAddr)),
		}
		if p, ok := principalFrom(r.Context()); ok {
			attrs = append(attrs, slog.String("tenant", p.TenantID), slog.String("key", p.KeyID))
		}
		logger.LogAttrs(r.Context(), level, "http", attrs...)
	})
}

// TruncateIP keeps the network part of an address (IPv4 /24, IPv6 /48), so
// logs can show where load comes from without identifying a person.
func TruncateIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return net.IPv4(v4[0], v4[1], v4[2], 0).String() + "/24"
	}
	return ip.Mask(net.CIDRMask(48, 128)).String() + "/48"
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}
