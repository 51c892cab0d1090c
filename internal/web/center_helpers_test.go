package web_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/synth"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// newCenterEnv is newEnv with outgoing email to an in-process SMTP server
// and the background jobs running, so verification codes arrive: acme
// (learning-saas, GDPR and CCPA, two people) and beta (door-entry, GDPR).
func newCenterEnv(t testing.TB, dsn string) (*env, *outboxtest.SMTPServer) {
	t.Helper()
	ctx := context.Background()
	mail := outboxtest.StartSMTP(t)
	raw, err := keys.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseRootKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	fast := outboxtest.Fast()
	a, err := app.Open(ctx, app.Options{DB: dsn, Root: root, Version: "test", SMTP: mail.Config(), OutboxMaxAttempts: fast.MaxAttempts,
		ExportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	jctx, cancel := context.WithCancel(ctx)
	if err := a.Jobs.Start(jctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = a.Jobs.Stop(context.Background()) })
	srv := httptest.NewServer(a.API.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, app: a, srv: srv}
	if e.acme, _, err = a.EnsureTenant(ctx, "acme", "Acme Learning"); err != nil {
		t.Fatal(err)
	}
	src, _ := examples.File("learning-saas")
	if _, err := a.Tenants.Apply(ctx, e.acme.ID, "learning-saas.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	if e.beta, _, err = a.EnsureTenant(ctx, "beta", "Beta Doors"); err != nil {
		t.Fatal(err)
	}
	src, _ = examples.File("door-entry")
	if _, err := a.Tenants.Apply(ctx, e.beta.ID, "door-entry.yaml", src, "test"); err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{ID: "test", Role: "service"}
	for n := 1; n <= 2; n++ {
		c, err := a.Vault.Create(ctx, e.acme.ID, vault.CreateInput{Fields: synth.Nth(n).LearningSaaSFields()}, by)
		if err != nil {
			t.Fatal(err)
		}
		e.people = append(e.people, c.ID)
	}
	c, err := a.Vault.Create(ctx, e.beta.ID, doorEntryPerson(t, e), by)
	if err != nil {
		t.Fatal(err)
	}
	e.betaSubj = c.ID
	return e, mail
}

// forCenterEngines runs fn against a fresh center environment on each
// engine.
func forCenterEngines(t *testing.T, fn func(t *testing.T, e *env, mail *outboxtest.SMTPServer)) {
	for _, ec := range engineDSNs() {
		t.Run(ec.name, func(t *testing.T) {
			e, mail := newCenterEnv(t, ec.dsn(t))
			fn(t, e, mail)
		})
	}
}

var codeRe = regexp.MustCompile(`\b(\d{8})\b`)

// waitCode waits for the n-th mail (1-based) to addr and returns the
// verification code in it.
func waitCode(t testing.TB, mail *outboxtest.SMTPServer, addr string, n int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		seen := 0
		for _, m := range mail.Messages() {
			if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) && strings.Contains(m.Subject, "verification code") {
				seen++
				if seen == n {
					if c := codeRe.FindStringSubmatch(m.Text); c != nil {
						return c[1]
					}
					t.Fatalf("no code in mail: %s", m.Text)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no verification mail %d to %s", n, addr)
	return ""
}

// subjectToken mints the application's token for a subject, valid from at
// for ttl.
func subjectToken(t testing.TB, e *env, tenantID, subjectID string, ttl time.Duration, at time.Time) string {
	t.Helper()
	tok, _, err := rights.MintToken(context.Background(), e.app.Keys, tenantID, subjectID, ttl, at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signInMe exchanges a fresh subject token for the self-service cookie.
func (c *client) signInMe(slug, tenantID, subjectID string) {
	c.t.Helper()
	p := c.get("/p/" + slug + "/me?token=" + subjectToken(c.t, c.e, tenantID, subjectID, 0, time.Now()))
	if p.status != 303 || p.header.Get("Location") != "/p/"+slug+"/me" {
		c.t.Fatalf("sign in to /me: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
}

// requests lists a subject's requests, newest first.
func subjectRequests(t testing.TB, e *env, tenantID, subjectID string) []*rights.Request {
	t.Helper()
	rs, err := e.app.Rights.List(context.Background(), tenantID, rights.Filter{SubjectID: subjectID})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
