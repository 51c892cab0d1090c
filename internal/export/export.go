// Package export builds access (GDPR Art. 15, CCPA know) and portability
// (Art. 20) exports of one subject — a JSON report, a zip of CSV files and a
// password-protected PDF — streamed into encrypted files, and hands them out
// through signed, single-use, expiring download links. Expired exports are
// deleted by a leased periodic sweep.
package export

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"archive/zip"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/fulfil"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

var _ fulfil.Exporter = (*Service)(nil)

// Defaults of Options.
const (
	DefaultTTL         = 7 * 24 * time.Hour
	DefaultLinkTTL     = 72 * time.Hour
	DefaultPDFRecords  = 1000
	DefaultSweepEvery  = 10 * time.Minute
	sealPurpose        = "export"
	linkKeyKind        = "trustee/export-link"
	formatJSON         = "json"
	formatCSV          = "csv"
	formatPDF          = "pdf"
	DownloadPathPrefix = "/v1/exports/download/"
)

// Options tune a Service; zero fields take the defaults above.
type Options struct {
	// Dir holds the encrypted export files, one directory per tenant and
	// export. Required.
	Dir string
	// TTL is how long an export is kept (default 7 days).
	TTL time.Duration
	// LinkTTL is how long a download link is valid, capped by the
	// export's own expiry (default 72 hours).
	LinkTTL time.Duration
	// PDFRecords caps the records listed per collection in the PDF (the
	// JSON and CSV files list all).
	PDFRecords int
	// Requests, if set, lists the person's requests for the report.
	Requests RequestLister
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service builds and serves exports. It is safe for concurrent use.
type Service struct {
	Store   store.Store
	Keys    *keys.Manager
	Vault   *vault.Service
	Consent *consent.Service // optional: consent history in the report
	Tenants *tenant.Service
	Audit   *audit.Log
	Opts    Options

	linkKeys sync.Map // tenant id -> []byte
}

// Errors callers branch on.
var (
	// ErrNotFound: no such export (or subject) in the tenant.
	ErrNotFound = errors.New("export not found")
	// ErrGone: the link was used, or the link or export expired.
	ErrGone = errors.New("the download link was used or has expired")
	// ErrFormat: the export has no file of that format (e.g. a PDF of a
	// portability export).
	ErrFormat = errors.New("the export has no file of this format")
)

func (s *Service) now() time.Time {
	if s.Opts.Now != nil {
		return s.Opts.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) ttl() time.Duration {
	if s.Opts.TTL > 0 {
		return s.Opts.TTL
	}
	return DefaultTTL
}

func (s *Service) log() *slog.Logger {
	if s.Opts.Logger != nil {
		return s.Opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ContentType is the media type of a format's download.
func ContentType(format string) string {
	switch format {
	case formatJSON:
		return "application/json"
	case formatCSV:
		return "application/zip"
	case formatPDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// FileName is the name a download is saved as.
func FileName(exportID, format string) string {
	ext := map[string]string{formatJSON: "json", formatCSV: "zip", formatPDF: "pdf"}[format]
	short := exportID
	if len(short) > 8 {
		short = short[len(short)-8:]
	}
	return "personal-data-" + short + "." + ext
}

func fileAD(exportID, format string) string { return exportID + "/" + format }

// passwordAlphabet has no look-alikes (no 0/O, 1/I/L, 5/S, 8/B), so a
// password read aloud or copied from a letter comes through.
const passwordAlphabet = "ACDEFGHJKMNPQRTUVWXYZ2345679"

// newPassword returns the PDF's password: five groups of four symbols,
// about 96 bits, e.g. "K7QD-MW3X-ACR9-TPZE-4HVN". The PDF may travel by
// email and be attacked offline, so it must not be guessable; it is given
// to the person by another channel than the link.
func newPassword() string {
	var b strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := 0; i < 20; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, _ := rand.Int(rand.Reader, max) // crypto/rand's reader does not fail (Go 1.24+)
		b.WriteByte(passwordAlphabet[n.Int64()])
	}
	return b.String()
}

// outFile is one encrypted file being written.
type outFile struct {
	format string
	name   string // relative to Dir
	key    []byte
	f      *os.File
	sw     *sealWriter
}

func (s *Service) create(tenantID, exportID, format string) (*outFile, error) {
	rel := filepath.Join(tenantID, exportID, format+".enc")
	f, err := os.OpenFile(filepath.Join(s.Opts.Dir, rel), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	sw, err := newSealWriter(f, key, fileAD(exportID, format))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &outFile{format: format, name: rel, key: key, f: f, sw: sw}, nil
}

func (o *outFile) close() error {
	if err := o.sw.Close(); err != nil {
		o.f.Close()
		return err
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return err
	}
	return o.f.Close()
}

// Build writes the export of the subject and records it; see
// fulfil.Exporter. The PDF password is returned once and stored nowhere.
func (s *Service) Build(ctx context.Context, tenantID, requestID, subjectID string, portability bool) (exportID, pdfPassword string, err error) {
	if s.Opts.Dir == "" {
		return "", "", errors.New("export: no export directory configured")
	}
	a, err := s.Tenants.Active(ctx, tenantID)
	if err != nil {
		if errors.Is(err, tenant.ErrNoPolicy) {
			return "", "", vault.ErrNoPolicy
		}
		return "", "", err
	}
	doc := a.Doc
	now := s.now()
	exportID = store.NewID()
	dir := filepath.Join(s.Opts.Dir, tenantID, exportID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("export: create directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(dir)
		}
	}()

	kind := "access"
	if portability {
		kind = "portability"
	}
	h := header{Format: "trustee.export/v1", Kind: kind, ExportID: exportID, SubjectID: subjectID, RequestID: requestID,
		GeneratedAt: now, Controller: doc.Policy.Controller.Name}

	jf, err := s.create(tenantID, exportID, formatJSON)
	if err != nil {
		return "", "", err
	}
	defer jf.f.Close()
	cf, err := s.create(tenantID, exportID, formatCSV)
	if err != nil {
		return "", "", err
	}
	defer cf.f.Close()
	sinks := []sink{&jsonSink{w: jf.sw}, &csvSink{z: zip.NewWriter(cf.sw)}}
	var ps *pdfSink
	if !portability {
		limit := s.Opts.PDFRecords
		if limit <= 0 {
			limit = DefaultPDFRecords
		}
		ps = newPDFSink(limit)
		sinks = append(sinks, ps)
	}
	for _, k := range sinks {
		if err := k.begin(h); err != nil {
			return "", "", err
		}
	}
	held := map[string]bool{}
	var names []string
	by := vault.Actor{ID: "system:export", RequestID: requestID}
	err = s.Vault.Export(ctx, tenantID, subjectID, by, func(it vault.Item) error {
		if portability && !portable(doc, it.Category, it.Source) {
			return nil
		}
		if it.Category != "" {
			held[it.Category] = true
		}
		if len(names) == 0 || names[len(names)-1] != it.Name {
			names = append(names, it.Name)
		}
		for _, k := range sinks {
			if err := k.item(it); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, vault.ErrNotFound) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", err
	}
	var t tail
	if !portability {
		if s.Consent != nil {
			c, err := s.Consent.State(ctx, tenantID, subjectID, consent.Actor{ID: by.ID, RequestID: requestID})
			if err != nil && !errors.Is(err, consent.ErrNotFound) {
				return "", "", fmt.Errorf("export: consent history: %w", err)
			}
			if err == nil {
				t.Consents = &c
			}
		}
		if s.Opts.Requests != nil {
			rs, err := s.Opts.Requests.SubjectRequests(ctx, tenantID, subjectID)
			if err != nil {
				return "", "", fmt.Errorf("export: requests: %w", err)
			}
			t.Requests = append([]RequestSummary{}, rs...)
		}
		p := processing(doc, a.Version.Version, held, names)
		t.Processing = &p
	}
	for _, k := range sinks {
		if err := k.end(t); err != nil {
			return "", "", err
		}
	}
	outs := []*outFile{jf, cf}
	if ps != nil {
		raw, err := ps.bytes()
		if err != nil {
			return "", "", fmt.Errorf("export: render PDF: %w", err)
		}
		pdfPassword = newPassword()
		owner := newPassword() + newPassword()
		conf := model.NewAESConfiguration(pdfPassword, owner, 256)
		pf, err := s.create(tenantID, exportID, formatPDF)
		if err != nil {
			return "", "", err
		}
		defer pf.f.Close()
		if err := api.Encrypt(bytes.NewReader(raw), pf.sw, conf); err != nil {
			return "", "", fmt.Errorf("export: encrypt PDF: %w", err)
		}
		outs = append(outs, pf)
	}
	e := store.Export{TenantID: tenantID, ID: exportID, RequestID: requestID, SubjectID: subjectID, Portability: portability,
		Status: store.ExportReady, CreatedAt: now, ExpiresAt: now.Add(s.ttl())}
	for _, o := range outs {
		if err := o.close(); err != nil {
			return "", "", fmt.Errorf("export: write %s: %w", o.format, err)
		}
		sealed, err := s.Keys.SealTenant(ctx, tenantID, sealPurpose, []byte(fileAD(exportID, o.format)), o.key)
		clear(o.key)
		if err != nil {
			return "", "", err
		}
		e.Files = append(e.Files, store.ExportFile{Format: o.format, Name: o.name, Size: o.sw.size, SHA256: o.sw.sum.Sum(nil), SealedKey: sealed})
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateExport(e); err != nil {
			return err
		}
		return s.Audit.Append(tx, tenantID, audit.Event{Actor: by.ID, Action: "export.create", SubjectID: subjectID, RequestID: requestID,
			Outcome: audit.OutcomeOK, Fields: names, Categories: sortedKeys(held), Reason: kind, At: now})
	})
	if err != nil {
		return "", "", err
	}
	done = true
	return exportID, pdfPassword, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Get returns an export's metadata (formats, sizes, hashes, expiry).
func (s *Service) Get(ctx context.Context, tenantID, exportID string) (store.Export, error) {
	var e store.Export
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.GetExport(tenantID, exportID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Export{}, ErrNotFound
	}
	return e, err
}

// linkKey is the tenant's HMAC key for download tokens, derived from the
// tenant's blind-index key (an HMAC under it, with its own kind, so no
// blind index can ever equal it): it lives only in the key store, needs no
// schema of its own, and is per tenant.
func (s *Service) linkKey(ctx context.Context, tenantID string) ([]byte, error) {
	if k, ok := s.linkKeys.Load(tenantID); ok {
		return k.([]byte), nil
	}
	k, err := s.Keys.BlindIndex(ctx, tenantID, linkKeyKind, "v1")
	if err != nil {
		return nil, err
	}
	s.linkKeys.Store(tenantID, k)
	return k, nil
}

// Link issues a signed single-use download link of one format; see
// fulfil.Exporter.
func (s *Service) Link(ctx context.Context, tenantID, exportID, format string) (string, time.Time, error) {
	e, err := s.Get(ctx, tenantID, exportID)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	if e.Status != store.ExportReady || !now.Before(e.ExpiresAt) {
		return "", time.Time{}, ErrGone
	}
	if fileOf(e, format) == nil {
		return "", time.Time{}, ErrFormat
	}
	ttl := s.Opts.LinkTTL
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	expires := now.Add(ttl).Truncate(time.Second)
	if e.ExpiresAt.Before(expires) {
		expires = e.ExpiresAt.Truncate(time.Second)
	}
	key, err := s.linkKey(ctx, tenantID)
	if err != nil {
		return "", time.Time{}, err
	}
	l := store.ExportLink{TenantID: tenantID, ID: store.NewID(), ExportID: exportID, Format: format, CreatedAt: now, ExpiresAt: expires}
	tok, err := encodeToken(tenantID, l.ID, expires, key)
	if err != nil {
		return "", time.Time{}, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateExportLink(l); err != nil {
			return err
		}
		return s.Audit.Append(tx, tenantID, audit.Event{Actor: "system:export", Action: "export.link", SubjectID: e.SubjectID,
			Outcome: audit.OutcomeOK, Reason: format, At: now})
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return DownloadPathPrefix + tok, expires, nil
}

func fileOf(e store.Export, format string) *store.ExportFile {
	for i := range e.Files {
		if e.Files[i].Format == format {
			return &e.Files[i]
		}
	}
	return nil
}

// Download is an opened export file: read Body (the decrypted bytes) and
// close it.
type Download struct {
	ExportID    string
	Format      string
	FileName    string
	ContentType string
	Size        int64
	Body        io.ReadCloser
}

type fileBody struct {
	*openReader
	f *os.File
}

func (b fileBody) Close() error { return b.f.Close() }

// Open redeems a download token: ErrBadToken (tampered, unknown, another
// tenant's) or ErrGone (used, expired, swept). The first successful Open
// marks the link used, before any byte is sent.
func (s *Service) Open(ctx context.Context, token string) (*Download, error) {
	t, err := ParseToken(token)
	if err != nil {
		return nil, ErrBadToken
	}
	key, err := s.linkKeyIfExists(ctx, t.TenantID)
	if err != nil {
		return nil, ErrBadToken
	}
	if !t.Verify(key) {
		return nil, ErrBadToken
	}
	now := s.now()
	if !now.Before(t.Expires) {
		return nil, ErrGone
	}
	var (
		l store.ExportLink
		e store.Export
	)
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		var err error
		if l, err = tx.GetExportLink(t.TenantID, t.LinkID); err != nil {
			return err
		}
		if e, err = tx.GetExport(t.TenantID, l.ExportID); err != nil {
			return err
		}
		if e.Status != store.ExportReady || !now.Before(e.ExpiresAt) || !now.Before(l.ExpiresAt) {
			return ErrGone
		}
		if err := tx.UseExportLink(t.TenantID, t.LinkID, now); err != nil {
			return err
		}
		return s.Audit.Append(tx, t.TenantID, audit.Event{Actor: "subject", Action: "export.download", SubjectID: e.SubjectID,
			Outcome: audit.OutcomeOK, Reason: l.Format, At: now})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrBadToken
	case errors.Is(err, store.ErrConflict), errors.Is(err, ErrGone):
		return nil, ErrGone
	case err != nil:
		return nil, err
	}
	fm := fileOf(e, l.Format)
	if fm == nil {
		return nil, ErrGone
	}
	fileKey, err := s.Keys.OpenTenant(ctx, t.TenantID, sealPurpose, []byte(fileAD(e.ID, fm.Format)), fm.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("export: open file key: %w", err)
	}
	f, err := os.Open(filepath.Join(s.Opts.Dir, fm.Name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, err
	}
	r, err := newOpenReader(f, fileKey, fileAD(e.ID, fm.Format))
	clear(fileKey)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Download{ExportID: e.ID, Format: fm.Format, FileName: FileName(e.ID, fm.Format), ContentType: ContentType(fm.Format),
		Size: fm.Size, Body: fileBody{openReader: r, f: f}}, nil
}

// linkKeyIfExists is linkKey for an unauthenticated caller: it never
// creates keys for a tenant named by a forged token.
func (s *Service) linkKeyIfExists(ctx context.Context, tenantID string) ([]byte, error) {
	if k, ok := s.linkKeys.Load(tenantID); ok {
		return k.([]byte), nil
	}
	if _, err := s.Keys.AuditPublicKey(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.linkKey(ctx, tenantID)
}

// Sweep deletes the files of every expired export and marks it deleted;
// it returns how many exports it removed. Idempotent: a crash between the
// file removal and the mark is finished by the next run.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n := 0
	for {
		var due []store.Export
		now := s.now()
		err := s.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			due, err = tx.ExpiredExports(now, 100)
			return err
		})
		if err != nil || len(due) == 0 {
			return n, err
		}
		for _, e := range due {
			if err := os.RemoveAll(filepath.Join(s.Opts.Dir, e.TenantID, e.ID)); err != nil {
				return n, fmt.Errorf("export: remove files of %s: %w", e.ID, err)
			}
			err := s.Store.Write(ctx, func(tx store.Tx) error {
				if err := tx.MarkExportDeleted(e.TenantID, e.ID, now); err != nil {
					return err
				}
				return s.Audit.Append(tx, e.TenantID, audit.Event{Actor: "system", Action: "export.delete", SubjectID: e.SubjectID,
					Outcome: audit.OutcomeOK, Reason: "expired", At: now})
			})
			if err != nil {
				return n, err
			}
			n++
		}
	}
}

// Schedule registers the sweep as a leased periodic task, so one instance
// runs it per period.
func (s *Service) Schedule(r *jobs.Runner, every time.Duration) {
	if every <= 0 {
		every = DefaultSweepEvery
	}
	r.Periodic("export.sweep", every, func(ctx context.Context) error {
		n, err := s.Sweep(ctx)
		if n > 0 {
			s.log().Info("expired exports deleted", "count", n)
		}
		return err
	})
}
