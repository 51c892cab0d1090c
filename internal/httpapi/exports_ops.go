package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/export"
	"github.com/trustee-privacy/trustee/internal/store"
)

// ExportInfo describes an access or portability export without its
// content.
type ExportInfo struct {
	ID        string           `json:"id"`
	SubjectID string           `json:"subject_id"`
	RequestID string           `json:"request_id,omitempty"`
	Kind      string           `json:"kind" enum:"access,portability"`
	Status    string           `json:"status" enum:"ready,deleted" doc:"deleted: the files expired and were removed."`
	CreatedAt time.Time        `json:"created_at"`
	ExpiresAt time.Time        `json:"expires_at"`
	DeletedAt *time.Time       `json:"deleted_at,omitempty"`
	Files     []ExportFileInfo `json:"files"`
}

// ExportFileInfo is one format of an export.
type ExportFileInfo struct {
	Format      string `json:"format" enum:"json,csv,pdf"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size" doc:"Bytes of the download."`
	SHA256      string `json:"sha256" doc:"Hex SHA-256 of the download, so the person can check the file they received."`
}

func exportInfo(e store.Export) ExportInfo {
	kind := "access"
	if e.Portability {
		kind = "portability"
	}
	out := ExportInfo{ID: e.ID, SubjectID: e.SubjectID, RequestID: e.RequestID, Kind: kind, Status: e.Status,
		CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt, DeletedAt: optTime(e.DeletedAt), Files: []ExportFileInfo{}}
	for _, f := range e.Files {
		out.Files = append(out.Files, ExportFileInfo{Format: f.Format, ContentType: export.ContentType(f.Format), Size: f.Size,
			SHA256: hex.EncodeToString(f.SHA256)})
	}
	return out
}

type exportIDInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Export id."`
}

type exportOutput struct {
	Body ExportInfo
}

type exportDownloadInput struct {
	Token string `path:"token" maxLength:"200" doc:"The signed token of the download link."`
}

func exportError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, export.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such export.")
	case errors.Is(err, export.ErrBadToken):
		return errf(ctx, http.StatusNotFound, "", "This download link is not valid.")
	case errors.Is(err, export.ErrGone):
		return errf(ctx, http.StatusGone, "gone", "This download link was already used or has expired; ask for a new one.")
	}
	return err
}

func (s *Server) registerExports() {
	tag := "Exports"
	// There is no requests:read permission yet; reading an export's
	// metadata (no personal data) needs what reading a subject needs.
	get := op(http.MethodGet, "/v1/exports/{id}", "getExport", "Read an export's metadata", auth.PermSubjectsRead, tag)
	get.Description += " Formats, sizes, SHA-256 of each file and when the export expires; never its content."
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s.api, get, func(ctx context.Context, in *exportIDInput) (*exportOutput, error) {
		e, err := s.deps.Exports.Get(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, exportError(ctx, err)
		}
		return &exportOutput{Body: exportInfo(e)}, nil
	})

	rl := s.deps.Public.withDefaults()
	limit := newLimiter(rl.Read, rl.ReadBurst, rl.TrustedProxies)
	dl := publicOp(http.MethodGet, "/v1/exports/download/{token}", "downloadExport", "Download an export file", tag)
	dl.Description = "The link sent to the person (signed, single-use, time-limited). The first successful download uses it up: " +
		"a second one gets 410 Gone, as does an expired link or export. A tampered or unknown token gets 404. The PDF is protected " +
		"by a password sent by another channel."
	dl.Errors = []int{http.StatusNotFound, http.StatusGone, http.StatusTooManyRequests}
	dl.Middlewares = s.publicMiddleware(limit, false)
	dl.Responses = map[string]*huma.Response{"200": {Description: "The file.", Content: map[string]*huma.MediaType{
		"application/json": {}, "application/zip": {}, "application/pdf": {}}}}
	register(s.api, dl, func(ctx context.Context, in *exportDownloadInput) (*huma.StreamResponse, error) {
		d, err := s.deps.Exports.Open(ctx, in.Token)
		if err != nil {
			return nil, exportError(ctx, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			defer d.Body.Close()
			hctx.SetHeader("Content-Type", d.ContentType)
			hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.FileName}))
			hctx.SetHeader("Content-Length", strconv.FormatInt(d.Size, 10))
			hctx.SetHeader("Cache-Control", "no-store")
			hctx.SetHeader("X-Content-Type-Options", "nosniff")
			hctx.SetStatus(http.StatusOK)
			if _, err := io.Copy(hctx.BodyWriter(), d.Body); err != nil {
				s.deps.Logger.Warn("export download cut short", "export", d.ExportID, "format", d.Format, "error", err.Error())
			}
		}}, nil
	})
}
