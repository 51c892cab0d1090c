package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/httpapi"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// app is a running Trustee: store, services and HTTP server.
type app struct {
	store   store.Store
	tenants *tenant.Service
	auth    *auth.Authenticator
	keys    *auth.Keys
	api     *httpapi.Server
	log     *slog.Logger
}

// openStore opens the store named by dsn, creating the directory of a SQLite
// file when needed.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if path, ok := sqlitePath(dsn); ok && path != "" && !strings.HasPrefix(path, ":memory:") {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
	}
	return engines.Open(ctx, dsn, engines.Options{})
}

// sqlitePath extracts the file path of a sqlite DSN.
func sqlitePath(dsn string) (string, bool) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", false
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p, true
	case strings.HasPrefix(dsn, "file:"):
		p := strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p, true
	}
	return dsn, true
}

func newApp(st store.Store, logger *slog.Logger) *app {
	a := &app{store: st, log: logger}
	a.tenants = &tenant.Service{Store: st}
	a.auth = &auth.Authenticator{Store: st, CacheTTL: 5 * time.Second}
	a.keys = &auth.Keys{Store: st, Auth: a.auth}
	a.api = httpapi.New(httpapi.Deps{
		Store: st, Tenants: a.tenants, Auth: a.auth, Keys: a.keys, Logger: logger, Version: version,
	})
	return a
}

// serveHTTP serves the API on ln until ctx ends, then shuts down gracefully:
// no new connections, in-flight requests drained for up to grace.
func (a *app) serveHTTP(ctx context.Context, ln net.Listener, tlsCert, tlsKey string, grace time.Duration) error {
	srv := &http.Server{
		Handler:           a.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if tlsCert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if tlsCert != "" {
			err = srv.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining in-flight requests", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Warn("shutdown did not finish in time; closing connections", "error", err.Error())
		_ = srv.Close()
	}
	<-errc
	return nil
}

// listen binds addr with a message that says what to do when it is taken.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use (choose another with --addr)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// ensureTenant returns the tenant with slug, creating it if needed.
func ensureTenant(ctx context.Context, ts *tenant.Service, slug, name string) (store.Tenant, bool, error) {
	t, err := ts.BySlug(ctx, slug)
	if err == nil {
		return t, false, nil
	}
	if !errors.Is(err, tenant.ErrTenantNotFound) {
		return t, false, err
	}
	t, err = ts.Create(ctx, slug, name)
	if errors.Is(err, store.ErrConflict) { // created concurrently by another instance
		t, err = ts.BySlug(ctx, slug)
		return t, false, err
	}
	return t, err == nil, err
}
