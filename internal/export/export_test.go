package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/export"
	"github.com/trustee-privacy/trustee/internal/export/exporttest"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/vault"
)

type fixture struct {
	app     *app.App
	exp     *export.Service
	tenant  string
	other   string
	subject string
	dir     string
	now     time.Time
}

var engines = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") }},
	{"postgres", func(t testing.TB) string { return storetest.PostgresSchemaDSN(t) }},
}

// policyText is the learning-saas example with customer_segment declared
// as provided: a provided field used only on legitimate interests, which
// portability must leave out.
func policyText(t testing.TB, site string) []byte {
	src, ok := examples.File("learning-saas.yaml")
	if !ok {
		t.Fatal("no learning-saas example")
	}
	s := strings.Replace(string(src), "category: user.demographic.profile\n    source: inferred", "category: user.demographic.profile\n    source: provided", 1)
	if s == string(src) {
		t.Fatal("example policy changed: customer_segment not found")
	}
	return []byte(strings.ReplaceAll(s, "brightfjord-www", site))
}

func open(t testing.TB, dsn string) *fixture {
	ctx := context.Background()
	raw, _ := keys.GenerateRootKey()
	root, _ := keys.ParseRootKey(raw)
	a, err := app.Open(ctx, app.Options{DB: dsn, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	f := &fixture{app: a, dir: t.TempDir(), now: time.Now().UTC()}
	for i, slug := range []string{"exp-a", "exp-b"} {
		tn, _, err := a.EnsureTenant(ctx, slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Tenants.Apply(ctx, tn.ID, "learning-saas.yaml", policyText(t, slug+"-www"), "test"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.tenant = tn.ID
		} else {
			f.other = tn.ID
		}
	}
	f.exp = &export.Service{Store: a.Store, Keys: a.Keys, Vault: a.Vault, Consent: a.Consent, Tenants: a.Tenants, Audit: a.Audit,
		Opts: export.Options{Dir: f.dir, Now: func() time.Time { return f.now }}}
	return f
}

var by = vault.Actor{ID: "apikey:test", Role: "service", RequestID: "req-1"}

func forEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := open(t, e.dsn(t))
			f.subject = f.person(t, 0)
			fn(t, f)
		})
	}
}

// person creates a subject with fields, orders, activity and a consent.
func (f *fixture) person(t testing.TB, records int) string {
	ctx := context.Background()
	c, err := f.app.Vault.Create(ctx, f.tenant, vault.CreateInput{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"ada.lovelace@example.com"`), "name": json.RawMessage(`"Ada Łovelace"`),
		"ip_address": json.RawMessage(`"192.0.2.7"`), "customer_segment": json.RawMessage(`"enterprise-prospect"`),
	}}, by)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := f.app.Vault.AppendRecord(ctx, f.tenant, c.ID, "orders", json.RawMessage(`{"sku":"PLAN-PRO","amount":"=SUM(A1)"}`), "", time.Time{}, by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.app.Vault.AppendRecord(ctx, f.tenant, c.ID, "activity_log", json.RawMessage(`{"event":"login"}`), "", time.Time{}, by); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < records; i++ {
		if _, err := f.app.Vault.AppendRecord(ctx, f.tenant, c.ID, "activity_log", json.RawMessage(`{"event":"page_view","path":"/courses/42"}`), "", time.Time{}, by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.app.Consent.Record(ctx, f.tenant, consent.RecordInput{SubjectID: c.ID, Choices: []consent.Choice{{Purpose: "newsletter", Given: true}}},
		consent.Actor{ID: "apikey:test"}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (f *fixture) download(t *testing.T, exportID, format string) []byte {
	t.Helper()
	ctx := context.Background()
	url, exp, err := f.exp.Link(ctx, f.tenant, exportID, format)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, export.DownloadPathPrefix) || !exp.After(f.now) {
		t.Fatalf("link %q expires %v", url, exp)
	}
	d, err := f.exp.Open(ctx, strings.TrimPrefix(url, export.DownloadPathPrefix))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	b, err := io.ReadAll(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("%s: %d bytes, metadata says %d", format, len(b), d.Size)
	}
	return b
}

func TestAccessExport(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id, pw, err := f.exp.Build(ctx, f.tenant, "req-1", f.subject, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) < 16 {
			t.Fatalf("PDF password %q too short", pw)
		}
		meta, err := f.exp.Get(ctx, f.tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(meta.Files) != 3 || !meta.ExpiresAt.Equal(f.now.Add(export.DefaultTTL).Truncate(time.Microsecond)) {
			t.Fatalf("metadata %+v", meta)
		}

		// JSON: the data and the processing information.
		var rep struct {
			Kind   string `json:"kind"`
			Fields []struct {
				Name  string          `json:"name"`
				Value json.RawMessage `json:"value"`
			} `json:"fields"`
			Collections map[string][]json.RawMessage `json:"collections"`
			Consents    struct {
				History []struct{ Purpose, Kind string } `json:"history"`
			} `json:"consents"`
			Processing struct {
				Purposes   []struct{ Key, Name, LegalBasis string } `json:"purposes"`
				Recipients []struct {
					Key, Country string
					Received     []string `json:"received"`
				} `json:"recipients"`
				Retention            []struct{ Data, Rule string } `json:"retention"`
				SupervisoryAuthority *struct{ Name string }        `json:"supervisory_authority"`
				Rights               []string                      `json:"rights"`
			} `json:"processing"`
		}
		js := f.download(t, id, "json")
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatalf("report.json does not parse: %v\n%s", err, js)
		}
		if rep.Kind != "access" || len(rep.Fields) != 4 || len(rep.Collections["orders"]) != 3 || len(rep.Collections["activity_log"]) != 1 {
			t.Fatalf("report data: %s", js)
		}
		if !bytes.Contains(js, []byte("ada.lovelace@example.com")) || !bytes.Contains(js, []byte("Ada Łovelace")) {
			t.Fatal("report misses field values")
		}
		if len(rep.Consents.History) != 1 || rep.Consents.History[0].Purpose != "newsletter" {
			t.Fatalf("consents: %+v", rep.Consents)
		}
		if len(rep.Processing.Purposes) < 5 || rep.Processing.SupervisoryAuthority == nil || len(rep.Processing.Rights) == 0 || len(rep.Processing.Retention) == 0 {
			t.Fatalf("processing: %+v", rep.Processing)
		}
		received := 0
		for _, r := range rep.Processing.Recipients {
			received += len(r.Received)
		}
		if received == 0 {
			t.Fatal("no recipient is said to receive any category held")
		}

		// CSV zip: every entry parses; values are there, formulas defused.
		zb := f.download(t, id, "csv")
		zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
		if err != nil {
			t.Fatal(err)
		}
		entries := map[string][][]string{}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(rc).ReadAll()
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %v", zf.Name, err)
			}
			entries[zf.Name] = rows
		}
		for name, rows := range map[string]int{"fields.csv": 5, "collection-orders.csv": 4, "collection-activity_log.csv": 2, "consents.csv": 2} {
			if len(entries[name]) != rows {
				t.Errorf("%s: %d rows, want %d", name, len(entries[name]), rows)
			}
		}
		for _, name := range []string{"processing.csv", "recipients.csv", "retention.csv", "about.csv", "export.csv"} {
			if len(entries[name]) < 2 {
				t.Errorf("%s missing or empty", name)
			}
		}
		found := false
		for _, row := range entries["fields.csv"] {
			found = found || (row[0] == "email" && row[2] == "ada.lovelace@example.com")
		}
		if !found {
			t.Errorf("fields.csv lacks the email: %v", entries["fields.csv"])
		}

		// PDF: opens only with the password; text has a value and a purpose name.
		pdf := f.download(t, id, "pdf")
		text := exporttest.PDFText(t, pdf, pw)
		for _, want := range []string{"ada.lovelace@example.com", "Ada Łovelace", "Providing the app to our customers"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q", want)
			}
		}
		conf := model.NewAESConfiguration("wrong-password", "wrong-password", 256)
		if err := api.Decrypt(bytes.NewReader(pdf), io.Discard, conf); err == nil {
			t.Error("PDF opens with a wrong password")
		}
		if err := api.Validate(bytes.NewReader(pdf), model.NewDefaultConfiguration()); err == nil {
			t.Error("PDF validates without a password")
		}
	})
}

func TestPortabilityExport(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id, pw, err := f.exp.Build(ctx, f.tenant, "req-2", f.subject, true)
		if err != nil {
			t.Fatal(err)
		}
		if pw != "" {
			t.Fatal("portability export has a PDF password")
		}
		js := string(f.download(t, id, "json"))
		for _, want := range []string{"ada.lovelace@example.com", `"orders"`, `"portability"`} {
			if !strings.Contains(js, want) {
				t.Errorf("portability JSON lacks %s", want)
			}
		}
		// Observed (ip_address, activity_log) and provided-but-legitimate-interest (customer_segment) data stay out,
		// as do consents and the processing information.
		for _, not := range []string{"192.0.2.7", "enterprise-prospect", "activity_log", `"processing"`, `"consents"`} {
			if strings.Contains(js, not) {
				t.Errorf("portability JSON has %s", not)
			}
		}
		if _, _, err := f.exp.Link(ctx, f.tenant, id, "pdf"); !errors.Is(err, export.ErrFormat) {
			t.Fatalf("PDF link of a portability export: %v", err)
		}
		zb := f.download(t, id, "csv")
		if bytes.Contains(zb, []byte("192.0.2.7")) {
			t.Error("CSV has observed data")
		}
	})
}

func TestLinks(t *testing.T) {
	forEngine(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id, _, err := f.exp.Build(ctx, f.tenant, "req-3", f.subject, false)
		if err != nil {
			t.Fatal(err)
		}
		url, _, err := f.exp.Link(ctx, f.tenant, id, "json")
		if err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimPrefix(url, export.DownloadPathPrefix)
		// Tampered: every position changed is refused as invalid, and does not use the link.
		for i := 0; i < len(tok); i += 7 {
			c := byte('A')
			if tok[i] == 'A' {
				c = 'B'
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if _, err := f.exp.Open(ctx, bad); !errors.Is(err, export.ErrBadToken) {
				t.Fatalf("tampered token at %d: %v", i, err)
			}
		}
		d, err := f.exp.Open(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		d.Body.Close()
		if _, err := f.exp.Open(ctx, tok); !errors.Is(err, export.ErrGone) {
			t.Fatalf("second download: %v, want gone", err)
		}
		// Tenant isolation: the other tenant sees no export, cannot link it.
		if _, err := f.exp.Get(ctx, f.other, id); !errors.Is(err, export.ErrNotFound) {
			t.Fatalf("other tenant Get: %v", err)
		}
		if _, _, err := f.exp.Link(ctx, f.other, id, "json"); !errors.Is(err, export.ErrNotFound) {
			t.Fatalf("other tenant Link: %v", err)
		}
		// Expiry: a link past its time is gone; after the export's TTL the sweep removes the files.
		url2, exp, err := f.exp.Link(ctx, f.tenant, id, "csv")
		if err != nil {
			t.Fatal(err)
		}
		f.now = exp.Add(time.Second)
		if _, err := f.exp.Open(ctx, strings.TrimPrefix(url2, export.DownloadPathPrefix)); !errors.Is(err, export.ErrGone) {
			t.Fatalf("expired link: %v", err)
		}
		f.now = f.now.Add(export.DefaultTTL)
		n, err := f.exp.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(f.dir, f.tenant, id)); !os.IsNotExist(err) {
			t.Fatalf("files still there: %v", err)
		}
		meta, _ := f.exp.Get(ctx, f.tenant, id)
		if meta.Status != "deleted" {
			t.Fatalf("status %s", meta.Status)
		}
		if _, _, err := f.exp.Link(ctx, f.tenant, id, "json"); !errors.Is(err, export.ErrGone) {
			t.Fatalf("link of a swept export: %v", err)
		}
		if n, _ := f.exp.Sweep(ctx); n != 0 {
			t.Fatalf("second sweep removed %d", n)
		}
	})
}

// TestCopiedFileUnreadable: the files hold no plaintext, and their keys are
// sealed under a tenant KEK that only the key store (under the root key)
// holds: another installation with its own root key cannot open them.
func TestCopiedFileUnreadable(t *testing.T) {
	f := open(t, engines[0].dsn(t))
	f.subject = f.person(t, 0)
	ctx := context.Background()
	id, _, err := f.exp.Build(ctx, f.tenant, "req-4", f.subject, false)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := f.exp.Get(ctx, f.tenant, id)
	for _, fm := range meta.Files {
		raw, err := os.ReadFile(filepath.Join(f.dir, fm.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, leak := range []string{"ada.lovelace", "PLAN-PRO", "%PDF", "fields.csv", "newsletter"} {
			if bytes.Contains(raw, []byte(leak)) {
				t.Fatalf("%s holds %q in clear", fm.Name, leak)
			}
		}
	}
	// The same data store, another root key and key store: nothing opens.
	g := open(t, engines[0].dsn(t))
	thief := &export.Service{Store: f.app.Store, Keys: g.app.Keys, Vault: f.app.Vault, Tenants: f.app.Tenants, Audit: f.app.Audit,
		Opts: export.Options{Dir: f.dir}}
	url, _, err := f.exp.Link(ctx, f.tenant, id, "json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Open(ctx, strings.TrimPrefix(url, export.DownloadPathPrefix)); err == nil {
		t.Fatal("a service without the tenant's keys opened the export")
	}
}
