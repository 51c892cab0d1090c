package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/export"
)

// TestExportDownload: metadata for API keys that may read subjects (tenant
// scoped); the public download streams the file with its type and name
// once, then answers 410; a tampered token is 404.
func TestExportDownload(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		r := e.do("POST", "/v1/subjects", e.keys[auth.RoleService], "application/json", personBody(t, 1, nil))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		subject := r.json(t)["id"].(string)
		ctx := context.Background()
		id, _, err := e.app.Exports.Build(ctx, e.tenantA.ID, "", subject, false)
		if err != nil {
			t.Fatal(err)
		}

		meta := e.do("GET", "/v1/exports/"+id, e.keys[auth.RoleDPO], "", nil)
		if meta.status != 200 || !strings.Contains(string(meta.body), `"sha256"`) || !strings.Contains(string(meta.body), `"pdf"`) {
			t.Fatalf("metadata: %d %s", meta.status, meta.body)
		}
		if r := e.do("GET", "/v1/exports/"+id, e.other, "", nil); r.status != 404 {
			t.Fatalf("other tenant reads metadata: %d", r.status)
		}

		url, _, err := e.app.Exports.Link(ctx, e.tenantA.ID, id, "pdf")
		if err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimPrefix(url, export.DownloadPathPrefix)
		bad := tok[:10] + map[bool]string{true: "B", false: "A"}[tok[10] == 'A'] + tok[11:]
		if r := e.do("GET", export.DownloadPathPrefix+bad, "", "", nil); r.status != 404 {
			t.Fatalf("tampered token: %d %s", r.status, r.body)
		}
		d := e.do("GET", url, "", "", nil)
		if d.status != 200 || d.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment; filename=personal-data-") ||
			!strings.HasPrefix(string(d.body), "%PDF-2.0") || d.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("download: %d %v %.20q", d.status, d.header, d.body)
		}
		if r := e.do("GET", url, "", "", nil); r.status != 410 || !strings.Contains(string(r.body), "urn:trustee:problem:gone") {
			t.Fatalf("second download: %d %s", r.status, r.body)
		}
	})
}
