// Package fulfil carries out approved, verified data-subject requests: it
// erases, restricts, records objections and withdrawals, rectifies, builds
// access and portability exports, and passes rectification, erasure and
// restriction on to every recipient that received the data concerned (GDPR
// Art. 19), tracking each recipient's acknowledgement.
//
// The rights workflow (internal/rights) decides when a request may be
// fulfilled; this package decides what fulfilling it means. The two meet in
// the types of this file, so either side can be tested with a fake of the
// other.
package fulfil

import (
	"context"
	"encoding/json"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Input is one approved request to carry out. Only the fields its Type
// uses are read; the rest must be empty.
type Input struct {
	TenantID  string
	RequestID string
	SubjectID string
	Type      policy.RequestType
	// Categories narrows a restriction, an objection, a CCPA limit or an
	// erasure to some data categories; empty means all the subject's data.
	Categories []string
	// Purpose is the purpose key of an objection or a consent withdrawal;
	// empty means every purpose of the kind (every consent purpose, every
	// direct-marketing purpose).
	Purpose string
	// ObjectionKind is one of store.Object* for an objection.
	ObjectionKind string
	// Ground is one of store.Ground* for a restriction.
	Ground string
	// AllowedPurposes are the purposes a restriction still allows (GDPR
	// Art. 18(2)); empty means storage only.
	AllowedPurposes []string
	// Fields are the corrected values of a rectification (GDPR Art. 16,
	// CCPA correct), by field name; JSON null deletes a field.
	Fields map[string]json.RawMessage
	// Reason is the person's own words; it may hold personal data, so it
	// is stored only with the control it creates and never logged.
	Reason string
	// Actor is who approved the request, e.g. "staff:1234" or
	// "apikey:ab12cd"; it goes to the audit log.
	Actor string
	// TransmitURL is where a portability export is to be sent directly
	// (another controller), if the person asked for it.
	TransmitURL string
}

// Result says what fulfilling a request did, in terms the person can be
// told: it never carries personal data values.
type Result struct {
	// Summary is the outcome in plain words, for the person and the
	// console.
	Summary string `json:"summary"`
	// ExportID is the access or portability export, if one was built.
	ExportID string `json:"export_id,omitempty"`
	// PDFPassword opens the export's PDF; it is returned once and must be
	// sent to the person by a channel other than the download link.
	PDFPassword string `json:"-"`
	// TransmitSecret is the HMAC secret that signs the webhook carrying a
	// portability export to Input.TransmitURL; like PDFPassword it is
	// returned once, for the receiving controller to verify the webhook.
	TransmitSecret string `json:"-"`
	// Kept is what an erasure had to keep, and why.
	Kept []vault.KeptItem `json:"kept,omitempty"`
	// Recipients counts the recipients told about the change (Art. 19).
	Recipients int `json:"recipients"`
	// Controls are the ids of restrictions and objections created.
	Controls []string `json:"controls,omitempty"`
}

// Recipient propagation states.
const (
	// RecipientPending: the notice is queued or being retried.
	RecipientPending = "pending"
	// RecipientDelivered: the webhook was accepted, acknowledgement awaited.
	RecipientDelivered = "delivered"
	// RecipientAcknowledged: the recipient confirmed it applied the change.
	RecipientAcknowledged = "acknowledged"
	// RecipientFailed: delivery was dead-lettered; a person must act.
	RecipientFailed = "failed"
	// RecipientManual: the recipient has no endpoint; a person must tell it.
	RecipientManual = "manual"
	// RecipientHandled: a person marked it handled by hand, with a note.
	RecipientHandled = "handled"
)

// RecipientStatus is where telling one recipient about a request stands.
type RecipientStatus struct {
	Recipient  string    `json:"recipient" doc:"Recipient key from the policy."`
	Name       string    `json:"name"`
	Categories []string  `json:"categories" doc:"Categories concerned that the recipient received."`
	State      string    `json:"state" enum:"pending,delivered,acknowledged,failed,manual,handled"`
	Note       string    `json:"note,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Done reports whether nothing more is awaited from this recipient.
func (r RecipientStatus) Done() bool {
	return r.State == RecipientAcknowledged || r.State == RecipientHandled
}

// Fulfiller is what the rights workflow needs from this package.
type Fulfiller interface {
	// Fulfil carries out the request. It is idempotent per RequestID:
	// running it again after a crash finishes the work without doing
	// anything twice.
	Fulfil(ctx context.Context, in Input) (Result, error)
	// Recipients lists the propagation status of the request, one entry
	// per recipient concerned; empty when nothing had to be passed on.
	Recipients(ctx context.Context, tenantID, requestID string) ([]RecipientStatus, error)
	// MarkHandled records that a person told the recipient by hand.
	MarkHandled(ctx context.Context, tenantID, requestID, recipient, note, actor string) error
}

// Exporter builds access and portability exports and hands out their
// download links; internal/export implements it.
type Exporter interface {
	// Build writes the export of the subject for the request (everything
	// held and the processing information for access; only provided data
	// processed on consent or contract for portability) and returns its
	// id and the password of its PDF.
	Build(ctx context.Context, tenantID, requestID, subjectID string, portability bool) (exportID, pdfPassword string, err error)
	// Link returns a signed, single-use download URL path (e.g.
	// /v1/exports/download/TOKEN) of one format (json, csv, pdf) of the
	// export, and when it expires.
	Link(ctx context.Context, tenantID, exportID, format string) (url string, expires time.Time, err error)
}
