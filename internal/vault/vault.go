// Package vault keeps the personal data a policy covers: subjects, their
// identities (as blind indexes), encrypted field values and collection
// records. Every read names a purpose and releases only what the decision
// engine allows for it; every read and write is audited in the same
// transaction as the change it records, or with its own durable write before
// the data is returned, so there are no unaudited accesses.
package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/inputerr"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Service is the vault. It is safe for concurrent use.
type Service struct {
	Store   store.Store
	Keys    *keys.Manager
	Audit   *audit.Log
	Tenants *tenant.Service
	// Ledger, if set, records every erasure outside the data and key
	// stores (see internal/backup), so restoring an older backup cannot
	// bring an erased person back.
	Ledger retention.ErasureLedger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnCreate, if set, runs in the transaction that creates a subject,
	// with its identities: the consent package re-applies the marketing
	// suppression list to a person who comes back after an erasure with
	// the same address. An error rolls the creation back.
	OnCreate func(ctx context.Context, tx store.Tx, tenantID, subjectID string, ids []store.Identity, now time.Time) error

	ensured sync.Map // tenant id -> struct{}: tenant keys known to exist
}

// tenantKeys makes sure the tenant's keys exist before the first subject is
// stored or looked up, so tenants created by any path (CLI, API, demo) need
// no separate key step.
func (s *Service) tenantKeys(ctx context.Context, tenantID string) error {
	if _, ok := s.ensured.Load(tenantID); ok {
		return nil
	}
	if err := s.Keys.EnsureTenant(ctx, tenantID); err != nil {
		return err
	}
	s.ensured.Store(tenantID, struct{}{})
	return nil
}

// Actor is who performs an operation, for the audit log.
type Actor struct {
	ID        string // e.g. "apikey:ab12..."
	Role      string
	RequestID string
}

// Errors callers branch on. Handlers map them to problems; messages never
// contain personal data.
var (
	ErrNotFound       = errors.New("subject not found")
	ErrUnknownPurpose = errors.New("unknown purpose")
	ErrNoPolicy       = errors.New("the tenant has no policy yet")
	ErrIdempotency    = errors.New("the Idempotency-Key was used with a different request")
	ErrErased         = errors.New("the subject has been erased")
)

// ConflictError says an identity already belongs to another subject.
type ConflictError struct {
	Kind      string
	Field     string
	SubjectID string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("a subject with this %s already exists", e.Kind)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// active loads the tenant's policy, translating its absence.
func (s *Service) active(ctx context.Context, tenantID string) (*tenant.Active, error) {
	a, err := s.Tenants.Active(ctx, tenantID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		return nil, ErrNoPolicy
	}
	if err != nil {
		return nil, err
	}
	if err := s.tenantKeys(ctx, tenantID); err != nil {
		return nil, err
	}
	return a, nil
}

// Audit actions of the vault.
const (
	actCreate      = "subject.create"
	actRead        = "subject.read"
	actUpdate      = "subject.update"
	actFieldDelete = "subject.field_delete"
	actErase       = "subject.erase"
	actActivity    = "subject.activity"
	actAppend      = "record.append"
	actList        = "record.list"
	actDecide      = "decision"
)

// auditEvent builds the common part of an audit event.
func (a Actor) event(action, subjectID string) audit.Event {
	return audit.Event{Actor: a.ID, Role: a.Role, Action: action, SubjectID: subjectID, RequestID: a.RequestID, Outcome: "ok"}
}

// InputError is bad input with every mistake located; nothing was changed.
type InputError = inputerr.Error

// FieldProblem is one mistake and the input field it concerns.
type FieldProblem = inputerr.FieldProblem
