package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// DefaultBatch is how many due rows one sweep transaction handles: small
// enough that a transaction holds SQLite's single writer for milliseconds and
// a crash loses at most one uncommitted batch, large enough that the per
// transaction costs (locks, audit head, fsync) are shared by many rows.
const DefaultBatch = 500

// DefaultEvery is how often the server sweeps every tenant. Rules of 0d
// (immediately) do not wait for it: moving a trigger sweeps that subject at
// once (see SetTrigger), and an erasure deletes at once.
const DefaultEvery = 10 * time.Minute

// JobShred is the job kind that destroys the data key of a subject the sweep
// has emptied. The key store is a separate database, so the destruction
// cannot share the sweep's transaction; the job is written in that
// transaction instead, so the destruction is never forgotten after a crash.
const JobShred = "retention.shred"

// Service runs retention for the tenants of a store: the sweep, the
// recompute after policy changes, the plan, legal holds and moving triggers.
// It is safe for concurrent use; runs on one instance or several are safe
// because every batch re-reads and locks what it acts on.
type Service struct {
	Store   store.Store
	Tenants *tenant.Service
	// Keys opens records whose anonymisation keeps attributes, and destroys
	// the data keys of subjects the sweep empties. Nil: attributes are not
	// kept and shred jobs wait for a service that has keys.
	Keys  *keys.Manager
	Audit *audit.Log
	// EraseSubject erases a subject as a data-subject erasure would (the
	// vault's Erase: keeps what law or a hold requires, destroys the key
	// otherwise, records the erasure in the erasure ledger). The children
	// rule uses it; nil leaves children flagged only.
	EraseSubject func(ctx context.Context, tenantID, subjectID string) error
	// Ledger records the subjects the sweep erases, before their keys are
	// destroyed; nil records nothing (tests, tools without one).
	Ledger ErasureLedger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Batch is the number of rows per sweep transaction (default
	// DefaultBatch).
	Batch int
	// Logger receives counts and rule names, never values or subject data.
	Logger *slog.Logger

	// afterBatch, when set (tests), is called with "tx" inside every batch
	// transaction just before it returns, and with "committed" after it
	// committed, so a test can kill the process at either point.
	afterBatch func(stage string, n int)
}

// Actor is who asks for a retention operation, for the audit log.
type Actor struct {
	ID        string
	Role      string
	RequestID string
}

// systemActor is the sweep's own identity in the audit log.
var systemActor = Actor{ID: "system:retention", Role: "system"}

func (a Actor) event(action, subjectID string) audit.Event {
	return audit.Event{Actor: a.ID, Role: a.Role, RequestID: a.RequestID, Action: action, SubjectID: subjectID, Outcome: audit.OutcomeOK}
}

// Errors callers branch on.
var (
	// ErrNoPolicy means the tenant has not applied a policy yet.
	ErrNoPolicy = errors.New("the tenant has no policy yet")
	// ErrNotFound means there is no such subject or hold.
	ErrNotFound = errors.New("not found")
	// ErrErased means the subject has been erased.
	ErrErased = errors.New("the subject has been erased")
)

// InputError is bad input; nothing was changed.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return DefaultBatch
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// active returns the tenant's policy.
func (s *Service) active(ctx context.Context, tenantID string) (*tenant.Active, error) {
	a, err := s.Tenants.Active(ctx, tenantID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		return nil, ErrNoPolicy
	}
	return a, err
}

// ruleFor returns the rule and category of a field or collection by kind,
// nil when the policy no longer declares it.
func ruleFor(doc *policy.Document, kind, name string) (rule *policy.RetentionRule, category string, coll *policy.Collection) {
	key := ""
	switch kind {
	case store.ItemField:
		f := doc.FieldByName(name)
		if f == nil {
			return nil, "", nil
		}
		key, category = f.Retention, f.Category
	default:
		c := doc.CollectionByName(name)
		if c == nil {
			return nil, "", nil
		}
		key, category, coll = c.Retention, c.Category, c
	}
	if key == "" {
		key = doc.Policy.DefaultRetention
	}
	return doc.RetentionByKey(key), category, coll
}
