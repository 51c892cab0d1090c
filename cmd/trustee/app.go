package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// adminApp is what the administrative commands need: the data store and the
// services over it, without the key store or the HTTP server.
type adminApp struct {
	store   store.Store
	tenants *tenant.Service
	keys    *auth.Keys
	log     *slog.Logger
}

// openStore opens the data store named by dsn, creating the directory of a
// SQLite file when needed.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if kind, target, err := engines.Parse(dsn); err == nil && kind == engines.SQLite && target != "" && !strings.HasPrefix(target, ":memory:") {
		if dir := filepath.Dir(target); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
	}
	return engines.Open(ctx, dsn, engines.Options{})
}

func newAdminApp(st store.Store, logger *slog.Logger) *adminApp {
	return &adminApp{store: st, tenants: &tenant.Service{Store: st}, keys: &auth.Keys{Store: st}, log: logger}
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

// serveApp serves a until ctx ends.
func serveApp(ctx context.Context, a *app.App, ln net.Listener, tlsCert, tlsKey string, grace time.Duration) error {
	return a.Serve(ctx, ln, tlsCert, tlsKey, grace)
}
