package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
)

const permKey = "trustee.permission"

// op declares an operation that needs perm. It adds the security
// requirement and the 401/403 responses to the OpenAPI document, so the
// document says who may call what.
func op(method, path, id, summary string, perm auth.Permission, tags ...string) huma.Operation {
	o := huma.Operation{
		OperationID: id,
		Method:      method,
		Path:        path,
		Summary:     summary,
		Tags:        tags,
		Metadata:    map[string]any{},
	}
	if perm != "" {
		o.Metadata[permKey] = perm
		o.Security = []map[string][]string{{"apiKey": {}}}
		roles := auth.RolesWith(perm)
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		o.Description = "Roles: " + strings.Join(names, ", ") + "."
		o.Errors = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	return o
}

// publicOp declares an operation anyone may call.
func publicOp(method, path, id, summary string, tags ...string) huma.Operation {
	return op(method, path, id, summary, "", tags...)
}

// authenticate is the huma middleware that enforces each operation's
// permission before its handler runs.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	perm, _ := ctx.Operation().Metadata[permKey].(auth.Permission)
	if perm == "" {
		next(ctx)
		return
	}
	p, prob := s.principal(ctx.Context(), ctx.Header("Authorization"), perm)
	if prob != nil {
		if prob.Status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="trustee"`)
		}
		ctx.SetHeader("Content-Type", "application/problem+json")
		ctx.SetHeader("Cache-Control", "no-store")
		ctx.SetStatus(prob.Status)
		_ = jsonEncode(ctx.BodyWriter(), prob)
		return
	}
	next(huma.WithValue(ctx, reqInfoKey, infoWith(ctx.Context(), p)))
}

// infoWith records the principal in the request's info so the access log sees it.
func infoWith(ctx context.Context, p auth.Principal) *reqInfo {
	ri, ok := ctx.Value(reqInfoKey).(*reqInfo)
	if !ok {
		ri = &reqInfo{}
	}
	ri.principal = &p
	return ri
}

// principal authenticates a header and checks perm, returning a Problem to
// send when the caller may not proceed.
func (s *Server) principal(ctx context.Context, header string, perm auth.Permission) (auth.Principal, *Problem) {
	if s.deps.Auth == nil {
		return auth.Principal{}, errf(ctx, http.StatusServiceUnavailable, "", "Authentication is not configured.")
	}
	p, err := s.deps.Auth.Authenticate(ctx, header)
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return p, errf(ctx, http.StatusUnauthorized, "", "%s.", upperFirst(err.Error()))
	case errors.Is(err, auth.ErrInvalidKey):
		return p, errf(ctx, http.StatusUnauthorized, "", "%s.", upperFirst(err.Error()))
	case err != nil:
		problemLoggerOrDefault().ErrorContext(ctx, "authentication failed", "request_id", RequestID(ctx), "error", err.Error())
		return p, errf(ctx, http.StatusServiceUnavailable, "", "Authentication is temporarily unavailable.")
	}
	if !auth.Allowed(p.Role, perm) {
		roles := auth.RolesWith(perm)
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		return p, errf(ctx, http.StatusForbidden, "", "Role %s may not do this; it needs one of: %s.", p.Role, strings.Join(names, ", "))
	}
	return p, nil
}

// requirePlain guards a plain net/http handler (such as /metrics) with the
// same authentication as API operations.
func (s *Server) requirePlain(perm auth.Permission, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, prob := s.principal(r.Context(), r.Header.Get("Authorization"), perm)
		if prob != nil {
			if prob.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="trustee"`)
			}
			writeProblem(w, r, prob)
			return
		}
		infoWith(r.Context(), p)
		h.ServeHTTP(w, r)
	})
}

// caller returns the authenticated principal of a huma handler's context.
// Operations with a permission always have one.
func caller(ctx context.Context) auth.Principal {
	p, _ := principalFrom(ctx)
	return p
}
