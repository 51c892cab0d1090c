// Package consent records and answers for people's choices: the
// append-only consent ledger with a receipt for every event, the cookie
// banner's configuration and choices (with Global Privacy Control), the
// CCPA "do not sell or share" opt-out, direct-marketing objections with a
// suppression list that outlives erasure, one-click unsubscribe tokens,
// renewal of consents after a policy change, and audiences: who may be
// contacted for a purpose now.
//
// The ledger itself is store.ControlsTx (AppendConsent and friends); the
// decision engine (internal/decide) reads its latest event per purpose on
// every purpose-scoped read, so a choice recorded here takes effect with
// the next read. This package decides what to append and with which proof;
// it never overwrites an event.
package consent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/inputerr"
	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Service is the consent service. It is safe for concurrent use.
type Service struct {
	Store   store.Store
	Keys    *keys.Manager
	Audit   *audit.Log
	Tenants *tenant.Service
	// Jobs queues renewal notices in the transaction that applies a policy
	// (OnPolicyApplied); nil queues none.
	Jobs *jobs.Runner
	// Notifier tells people that a consent of theirs must be renewed; nil
	// only logs how many would be told. See RenewalNotifier.
	Notifier RenewalNotifier
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives counts and failures, never personal data.
	Logger *slog.Logger
	// PageSize is how many subjects an audience reads per query (default
	// AudiencePage); tests make it small to cross many pages.
	PageSize int

	sites   siteCache
	configs configCache
	ensured sync.Map // tenant id -> struct{}: tenant keys known to exist
}

// Actor is who performs an operation, for the audit log and the ledger.
type Actor struct {
	ID        string // e.g. "apikey:ab12…", "subject", "visitor"
	Role      string
	RequestID string
}

// Errors callers branch on. Messages never contain personal data.
var (
	ErrNotFound        = errors.New("subject not found")
	ErrErased          = errors.New("the subject has been erased")
	ErrReceiptNotFound = errors.New("no consent event has this receipt id")
	ErrNoPolicy        = errors.New("the tenant has no policy yet")
	ErrUnknownPurpose  = errors.New("unknown purpose")
	ErrUnknownSite     = errors.New("unknown site")
	ErrOrigin          = errors.New("origin not allowed for this site")
	ErrBadToken        = errors.New("the unsubscribe link is not valid")
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// active loads the tenant's policy, translating its absence, and makes
// sure the tenant's keys exist: hashes are then computed inside write
// transactions without creating keys there.
func (s *Service) active(ctx context.Context, tenantID string) (*tenant.Active, error) {
	a, err := s.Tenants.Active(ctx, tenantID)
	if errors.Is(err, tenant.ErrNoPolicy) {
		return nil, ErrNoPolicy
	}
	if err != nil {
		return nil, err
	}
	if _, ok := s.ensured.Load(tenantID); !ok {
		if err := s.Keys.EnsureTenant(ctx, tenantID); err != nil {
			return nil, err
		}
		s.ensured.Store(tenantID, struct{}{})
	}
	return a, nil
}

// Audit actions of this package.
const (
	actRecord      = "consent.record"
	actRead        = "consent.read"
	actUnsubscribe = "consent.unsubscribe"
	actAudience    = "audience.list"
	actSuppress    = "suppression.add"
)

func (a Actor) event(action, subjectID string) audit.Event {
	return audit.Event{Actor: a.ID, Role: a.Role, Action: action, SubjectID: subjectID, RequestID: a.RequestID, Outcome: audit.OutcomeOK}
}

// consentPurpose returns the purpose if a person can give or withdraw
// consent for it: a purpose based on consent, or the CCPA pseudo-purpose.
// sale is true for the latter.
func consentPurpose(doc *policy.Document, key string) (p *policy.Purpose, sale bool, ok bool) {
	if key == store.PurposeSaleShare {
		return nil, true, true
	}
	p = doc.PurposeByKey(key)
	if p == nil || p.LegalBasis != policy.BasisConsent {
		return p, false, false
	}
	return p, false, true
}

// expiry is when a consent given at at for p ends by the purpose's
// lifetime; zero: until withdrawn.
func expiry(p *policy.Purpose, at time.Time) time.Time {
	if p == nil || p.Consent == nil || p.Consent.Lifetime.IsZero() {
		return time.Time{}
	}
	return p.Consent.Lifetime.AddTo(at)
}

// directMarketing lists the keys of the policy's direct-marketing purposes.
func directMarketing(doc *policy.Document) []string {
	var out []string
	for _, p := range doc.Policy.Purposes {
		if p.DirectMarketing {
			out = append(out, p.Key)
		}
	}
	return out
}

// saleOrShare reports whether using data for p is a sale or sharing under
// the CCPA: the purpose is flagged, or it discloses to a recipient flagged
// sale_or_share. The decision engine reads the purpose's flag; where this
// package decides by itself (audiences, the banner's GPC rule, states and
// receipts) a flagged recipient counts too, so a do-not-sell opt-out
// reaches every recipient it should even if the purpose lacks the flag.
func saleOrShare(doc *policy.Document, p *policy.Purpose) bool {
	if p == nil {
		return false
	}
	if p.SaleOrShare {
		return true
	}
	for _, k := range p.Recipients {
		if r := doc.RecipientByKey(k); r != nil && r.SaleOrShare {
			return true
		}
	}
	return false
}

// InputError is bad input with every mistake located; nothing was changed.
type InputError = inputerr.Error

// FieldProblem is one mistake and the input field it concerns.
type FieldProblem = inputerr.FieldProblem
