package store

import "time"

// Export is an access or portability export of one subject: the files
// written for it (encrypted, outside the database) and when they expire.
// The row holds no personal data: the files' keys are sealed under the
// tenant's key (keys.Manager.SealTenant), so a copy of the data store and of
// the export directory without the key store opens nothing.
type Export struct {
	TenantID    string
	ID          string // UUIDv7
	RequestID   string // the data-subject request it answers; may be empty
	SubjectID   string
	Portability bool   // GDPR Art. 20: only provided data on consent or contract
	Status      string // ExportReady | ExportDeleted
	CreatedAt   time.Time
	ExpiresAt   time.Time
	DeletedAt   time.Time // zero until the sweep removed the files
	Files       []ExportFile
}

// Export statuses.
const (
	ExportReady   = "ready"
	ExportDeleted = "deleted"
)

// ExportFile is one format of an export.
type ExportFile struct {
	Format string // json | csv | pdf
	// Name is the file's path relative to the export directory.
	Name string
	// Size and SHA256 describe the plaintext the download delivers.
	Size   int64
	SHA256 []byte
	// SealedKey is the file's AES-256 key sealed under the tenant's KEK.
	SealedKey []byte
}

// ExportLink is one signed, single-use download link of one format.
type ExportLink struct {
	TenantID  string
	ID        string // UUIDv7, carried in the signed token
	ExportID  string
	Format    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until the first download
}

// ExportsTx stores exports and their download links. Every method is
// scoped by tenant except ExpiredExports, which serves the sweep of all
// tenants.
type ExportsTx interface {
	// CreateExport inserts e with its files; ErrConflict if the id is
	// taken, ErrNotFound if the tenant does not exist, ErrInvalid for a
	// malformed row.
	CreateExport(e Export) error
	// GetExport returns the export with its files, or ErrNotFound.
	GetExport(tenantID, id string) (Export, error)
	// ListSubjectExports returns the subject's exports, newest first.
	ListSubjectExports(tenantID, subjectID string) ([]Export, error)
	// ExpiredExports returns up to limit ready exports of any tenant that
	// expired at or before now, oldest first, with their files.
	ExpiredExports(now time.Time, limit int) ([]Export, error)
	// MarkExportDeleted records that the export's files are gone;
	// ErrNotFound if there is no such export. Marking twice keeps the
	// first time.
	MarkExportDeleted(tenantID, id string, at time.Time) error
	// CreateExportLink inserts a download link; ErrNotFound if the export
	// does not exist in the tenant.
	CreateExportLink(l ExportLink) error
	// GetExportLink returns a link, or ErrNotFound.
	GetExportLink(tenantID, id string) (ExportLink, error)
	// UseExportLink marks the link used at the given time. It returns
	// ErrConflict if it was used already (by this or a concurrent
	// download) and ErrNotFound if there is no such link.
	UseExportLink(tenantID, id string, at time.Time) error
	// SubjectCollections names the collections the subject has records in,
	// sorted, so an export finds records of collections the policy no
	// longer declares too.
	SubjectCollections(tenantID, subjectID string) ([]string, error)
}
