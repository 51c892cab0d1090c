package httpapi

import (
	"context"
	"net/http"
)

type healthBody struct {
	Status  string `json:"status" enum:"ok" doc:"ok when the process is up."`
	Version string `json:"version,omitempty" doc:"Build version."`
}

type healthOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         healthBody
}

type readyBody struct {
	Status        string `json:"status" enum:"ready" doc:"ready when the store answers and its schema is current."`
	Engine        string `json:"engine" doc:"Store engine: sqlite or postgres."`
	SchemaVersion int64  `json:"schema_version" doc:"Applied schema migration version."`
}

type readyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         readyBody
}

func (s *Server) registerHealth() {
	h := publicOp(http.MethodGet, "/healthz", "healthz", "Liveness: the process is up", "Operations")
	h.Description = "Answers 200 as long as the process serves HTTP. Does not touch the store."
	register(s.api, h, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		return &healthOutput{CacheControl: "no-store", Body: healthBody{Status: "ok", Version: s.deps.Version}}, nil
	})

	r := publicOp(http.MethodGet, "/readyz", "readyz", "Readiness: the store is reachable and migrated", "Operations")
	r.Description = "Answers 200 when the store answers and every embedded migration is applied, else 503. " +
		"Load balancers should route only to ready instances."
	r.Errors = []int{http.StatusServiceUnavailable}
	register(s.api, r, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		if s.deps.Store == nil {
			return nil, errf(ctx, http.StatusServiceUnavailable, "", "No store is configured.")
		}
		if err := s.deps.Store.Ping(ctx); err != nil {
			problemLoggerOrDefault().WarnContext(ctx, "readiness: store unreachable", "error", err.Error())
			return nil, errf(ctx, http.StatusServiceUnavailable, "", "The store does not answer.")
		}
		ms, err := s.deps.Store.Migrations(ctx)
		if err != nil {
			problemLoggerOrDefault().WarnContext(ctx, "readiness: migrations unknown", "error", err.Error())
			return nil, errf(ctx, http.StatusServiceUnavailable, "", "The store's schema version cannot be read.")
		}
		if !ms.UpToDate() {
			return nil, errf(ctx, http.StatusServiceUnavailable, "", "The store's schema is at version %d; this build needs %d.", ms.Current, ms.Latest)
		}
		return &readyOutput{CacheControl: "no-store", Body: readyBody{Status: "ready", Engine: s.deps.Store.Engine(), SchemaVersion: ms.Current}}, nil
	})
}
