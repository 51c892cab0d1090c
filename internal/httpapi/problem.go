package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/inputerr"
)

// ProblemTypePrefix starts every problem type URI. Types are stable: clients
// may branch on them; docs/api.md lists them.
const ProblemTypePrefix = "urn:trustee:problem:"

// Problem is an RFC 9457 problem+json body. It never echoes request values
// back, because those may be personal data.
type Problem struct {
	Type      string          `json:"type" doc:"Stable URI identifying the kind of problem, e.g. urn:trustee:problem:invalid-policy."`
	Title     string          `json:"title" doc:"Short summary of the kind of problem."`
	Status    int             `json:"status" doc:"HTTP status code."`
	Detail    string          `json:"detail,omitempty" doc:"What went wrong in this case."`
	Instance  string          `json:"instance,omitempty" doc:"Identifies this occurrence: urn:trustee:request:<request id>."`
	RequestID string          `json:"request_id,omitempty" doc:"The request id, also in the X-Request-Id header; quote it to support."`
	Errors    []ProblemDetail `json:"errors,omitempty" doc:"Individual errors, e.g. every mistake in a policy with its line and column."`
	SubjectID string          `json:"subject_id,omitempty" doc:"For identity-conflict: the subject that already has the identity."`
}

// ProblemDetail is one error inside a Problem.
type ProblemDetail struct {
	Message  string `json:"message" doc:"What is wrong."`
	Location string `json:"location,omitempty" doc:"Where: a request part such as body.name or query.purpose, or a policy path such as purposes[2].legal_basis."`
	Line     int    `json:"line,omitempty" doc:"Line in the submitted document, for policy errors."`
	Column   int    `json:"column,omitempty" doc:"Column in the submitted document, for policy errors."`
}

// Error makes Problem usable as an error returned by handlers.
func (p *Problem) Error() string { return p.Detail }

// GetStatus tells huma which status to send.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" || ct == "" {
		return "application/problem+json"
	}
	return ct
}

var slugByStatus = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusNotAcceptable:         "not-acceptable",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "payload-too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusUnprocessableEntity:   "validation",
	http.StatusTooManyRequests:       "rate-limited",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "timeout",
}

// problem builds a Problem of a given kind. slug "" picks the default kind
// for the status.
func problem(status int, slug, detail string, details ...ProblemDetail) *Problem {
	if slug == "" {
		slug = slugByStatus[status]
		if slug == "" {
			slug = "error"
		}
	}
	return &Problem{
		Type:   ProblemTypePrefix + slug,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: details,
	}
}

// installProblems makes every error huma produces itself (validation,
// negotiation, body limits) a Problem with a stable type, no echoed values
// and the request id; unexpected errors are logged and answered without
// internals.
func installProblems(logger *slog.Logger) {
	problemLogger.Store(logger)
	installOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return newHumaProblem(context.Background(), status, msg, errs...)
		}
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			ctx := context.Background()
			if hctx != nil {
				ctx = hctx.Context()
			}
			return newHumaProblem(ctx, status, msg, errs...)
		}
	})
}

var (
	installOnce   sync.Once
	problemLogger atomic.Pointer[slog.Logger]
)

func newHumaProblem(ctx context.Context, status int, msg string, errs ...error) *Problem {
	logger := problemLogger.Load()
	if logger == nil {
		logger = slog.Default()
	}
	if status == 0 { // huma asks for an example error model
		return &Problem{}
	}
	if status >= 500 {
		for _, e := range errs {
			if e != nil {
				logger.ErrorContext(ctx, "request failed", "request_id", RequestID(ctx), "error", e.Error())
			}
		}
		p := problem(status, "", "The server could not complete the request. Quote the request id to support.")
		p.RequestID = RequestID(ctx)
		p.Instance = instance(p.RequestID)
		return p
	}
	detail := msg
	if detail == "validation failed" {
		detail = "The request is not valid; see errors."
	}
	if status == http.StatusRequestEntityTooLarge || strings.Contains(msg, "too large") {
		status = http.StatusRequestEntityTooLarge
	}
	p := problem(status, "", upperFirst(detail))
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			ed := d.ErrorDetail()
			p.Errors = append(p.Errors, ProblemDetail{Message: ed.Message, Location: ed.Location})
			continue
		}
		p.Errors = append(p.Errors, ProblemDetail{Message: e.Error()})
	}
	p.RequestID = RequestID(ctx)
	p.Instance = instance(p.RequestID)
	return p
}

func instance(reqID string) string {
	if reqID == "" {
		return ""
	}
	return "urn:trustee:request:" + reqID
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeProblem answers a plain net/http request (outside huma) with a Problem.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.RequestID = RequestID(r.Context())
	p.Instance = instance(p.RequestID)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = jsonEncode(w, p)
}

// withRequestID stamps a handler-built Problem with the request id.
func withRequestID(ctx context.Context, p *Problem) *Problem {
	p.RequestID = RequestID(ctx)
	p.Instance = instance(p.RequestID)
	return p
}

// errf is a shortcut for handlers: a Problem with the request id.
func errf(ctx context.Context, status int, slug, format string, args ...any) *Problem {
	return withRequestID(ctx, problem(status, slug, fmt.Sprintf(format, args...)))
}

func problemLoggerOrDefault() *slog.Logger {
	if l := problemLogger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// inputProblem is the 422 answer to bad input found by a domain package:
// every mistake located under prefix (e.g. "body." or "body.fields."), and
// the promise that nothing was changed.
func inputProblem(ctx context.Context, ie *inputerr.Error, prefix string) error {
	p := problem(http.StatusUnprocessableEntity, "validation", ie.Error()+"; nothing was changed.")
	for _, fp := range ie.Problems {
		p.Errors = append(p.Errors, ProblemDetail{Message: fp.Message, Location: prefix + fp.Field})
	}
	return withRequestID(ctx, p)
}
