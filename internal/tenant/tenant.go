// Package tenant owns tenants and their policy versions: creating a tenant,
// applying a new policy version (validated, content-hashed, immutable,
// recorded with who applied it and when) and serving the active policy to
// every other package from a cache, so the policy text is parsed once per
// version rather than once per request.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Errors callers branch on.
var (
	// ErrInvalidSlug rejects a tenant slug that would not be safe in URLs.
	ErrInvalidSlug = errors.New("tenant slug must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
	// ErrNoPolicy means the tenant has not applied any policy yet.
	ErrNoPolicy = errors.New("no policy has been applied for this tenant yet")
	// ErrTenantNotFound means there is no such tenant.
	ErrTenantNotFound = errors.New("tenant not found")
	// ErrVersionNotFound means the tenant has no policy version with that number.
	ErrVersionNotFound = errors.New("policy version not found")
)

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s can name a tenant.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }

// Service is the tenant registry and policy history. It is safe for
// concurrent use.
type Service struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnApply, if set, runs inside the transaction that stores a new policy
	// version (never for an unchanged one), so what it writes commits or
	// rolls back with the version: the consent package records which
	// purposes need renewed consent and registers the banner sites there.
	// An error aborts the apply; a policy.Errors is reported like a
	// validation error.
	OnApply func(tx store.Tx, a Applied) error
	// RefreshEvery bounds how stale the cached active policy may be when
	// another instance applied a newer version (this instance's own applies
	// are seen at once). Zero means one second.
	RefreshEvery time.Duration

	mu    sync.Mutex
	cache map[string]*cached
	// gen counts forget calls: a refresh that an apply overtook while it
	// read the store must not cache what it read.
	gen uint64
}

type cached struct {
	active  *Active
	checked time.Time
}

// Active is a tenant with its current policy, parsed and ready.
type Active struct {
	Tenant  store.Tenant
	Version store.PolicyVersion
	Doc     *policy.Document
}

// Policy is a shortcut for the active parsed policy.
func (a *Active) Policy() *policy.Policy { return a.Doc.Policy }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Create registers a new tenant. The mode follows the first policy applied.
func (s *Service) Create(ctx context.Context, slug, name string) (store.Tenant, error) {
	if !ValidSlug(slug) {
		return store.Tenant{}, ErrInvalidSlug
	}
	if name == "" {
		name = slug
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Tenant{}, err
	}
	t := store.Tenant{ID: id.String(), Slug: slug, Name: name, Mode: string(policy.ModeController), CreatedAt: s.now()}
	err = s.Store.Write(ctx, func(tx store.Tx) error { return tx.CreateTenant(t) })
	if errors.Is(err, store.ErrConflict) {
		return store.Tenant{}, fmt.Errorf("tenant %q already exists: %w", slug, store.ErrConflict)
	}
	return t, err
}

// Get returns a tenant by id.
func (s *Service) Get(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		t, err = tx.GetTenant(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return t, ErrTenantNotFound
	}
	return t, err
}

// BySlug returns a tenant by slug.
func (s *Service) BySlug(ctx context.Context, slug string) (store.Tenant, error) {
	var t store.Tenant
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		t, err = tx.GetTenantBySlug(slug)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return t, ErrTenantNotFound
	}
	return t, err
}

// List returns every tenant.
func (s *Service) List(ctx context.Context) ([]store.Tenant, error) {
	var ts []store.Tenant
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		ts, err = tx.ListTenants()
		return err
	})
	return ts, err
}

// Applied is what OnApply learns about a new version.
type Applied struct {
	TenantID string
	Version  store.PolicyVersion // as stored, with its number
	Doc      *policy.Document
	// Diff compares the previous version with this one; nil for the
	// tenant's first policy.
	Diff *policy.DiffResult
}

// ApplyResult says what applying a policy did.
type ApplyResult struct {
	// Version is the stored version (the existing one when Unchanged).
	Version store.PolicyVersion
	// Unchanged is true when the policy is identical in content to the
	// active version, so no new version was created.
	Unchanged bool
	// Diff compares the previous active version with the new one; nil for
	// a tenant's first policy.
	Diff *policy.DiffResult
	// Warnings are things a DPO should look at in an otherwise valid policy.
	Warnings policy.Errors
	// Doc is the parsed policy.
	Doc *policy.Document
}

// Check validates src as the next policy of the tenant without applying it,
// and compares it with the active version. A validation failure is returned
// as policy.Errors.
func (s *Service) Check(ctx context.Context, tenantID, name string, src []byte) (ApplyResult, error) {
	doc, err := policy.Load(name, src)
	if err != nil {
		return ApplyResult{}, err
	}
	res := ApplyResult{Doc: doc, Warnings: doc.Warnings}
	cur, err := s.Active(ctx, tenantID)
	switch {
	case errors.Is(err, ErrNoPolicy):
	case err != nil:
		return ApplyResult{}, err
	default:
		d := policy.Diff(cur.Policy(), doc.Policy)
		res.Diff = &d
		res.Unchanged = cur.Version.Hash == doc.Policy.Hash()
		res.Version = cur.Version
	}
	return res, nil
}

// Apply validates src and, if it differs from the active version, stores it
// as the tenant's newest immutable version, recording actor and time. On any
// validation error nothing is stored and the error is policy.Errors.
func (s *Service) Apply(ctx context.Context, tenantID, name string, src []byte, actor string) (ApplyResult, error) {
	doc, err := policy.Load(name, src)
	if err != nil {
		return ApplyResult{}, err
	}
	hash := doc.Policy.Hash()
	res := ApplyResult{Doc: doc, Warnings: doc.Warnings}
	var prev *store.PolicyVersion
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		prev = nil
		res.Unchanged = false
		// Setting the mode first takes the tenant's row lock, so concurrent
		// applies to one tenant run one after the other on every engine: on
		// PostgreSQL the active version read next is then the one the
		// previous apply committed, not an older snapshot, so the hash
		// comparison, the diff and the mode all follow the true predecessor.
		// When the content is unchanged the mode is the active one already.
		err := tx.UpdateTenantMode(tenantID, string(doc.Policy.Mode))
		if errors.Is(err, store.ErrNotFound) {
			return ErrTenantNotFound
		}
		if err != nil {
			return err
		}
		cur, err := tx.ActivePolicy(tenantID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			prev = &cur
			if cur.Hash == hash {
				res.Unchanged = true
				res.Version = cur
				return nil
			}
		}
		v := store.PolicyVersion{
			TenantID:      tenantID,
			Hash:          hash,
			Format:        doc.Format,
			Source:        append([]byte(nil), src...),
			Revision:      doc.Policy.Revision,
			EffectiveDate: doc.Policy.EffectiveDate.String(),
			AppliedAt:     s.now(),
			AppliedBy:     actor,
		}
		if err := tx.InsertPolicyVersion(&v); err != nil {
			return err
		}
		res.Version = v
		res.Diff = nil
		if s.OnApply != nil {
			if prev != nil {
				old, err := s.docOf(tenantID, *prev)
				if err != nil {
					return err
				}
				d := policy.Diff(old.Policy, doc.Policy)
				res.Diff = &d
			}
			if err := s.OnApply(tx, Applied{TenantID: tenantID, Version: v, Doc: doc, Diff: res.Diff}); err != nil {
				return err
			}
		}
		tx.OnCommit(func() { s.forget(tenantID) })
		return nil
	})
	if err != nil {
		return ApplyResult{}, err
	}
	if prev != nil && !res.Unchanged && res.Diff == nil {
		old, err := policy.Load(fmt.Sprintf("version %d", prev.Version), prev.Source)
		if err == nil {
			d := policy.Diff(old.Policy, doc.Policy)
			res.Diff = &d
		}
	}
	return res, nil
}

// docOf returns the parsed policy of a stored version, from the cache when
// it holds that version, so OnApply's diff does not parse the previous
// policy inside the write transaction in the common case.
func (s *Service) docOf(tenantID string, v store.PolicyVersion) (*policy.Document, error) {
	s.mu.Lock()
	c := s.cache[tenantID]
	s.mu.Unlock()
	if c != nil && c.active.Version.Version == v.Version && c.active.Version.Hash == v.Hash {
		return c.active.Doc, nil
	}
	doc, err := policy.Load(fmt.Sprintf("version %d", v.Version), v.Source)
	if err != nil {
		return nil, fmt.Errorf("stored policy version %d no longer loads: %w", v.Version, err)
	}
	return doc, nil
}

func (s *Service) forget(tenantID string) {
	s.mu.Lock()
	delete(s.cache, tenantID)
	s.gen++
	s.mu.Unlock()
}

// Active returns the tenant's current policy, parsed. It is served from a
// cache that follows this instance's applies at once and other instances'
// within RefreshEvery.
func (s *Service) Active(ctx context.Context, tenantID string) (*Active, error) {
	now := s.now()
	every := s.RefreshEvery
	if every <= 0 {
		every = time.Second
	}
	s.mu.Lock()
	c := s.cache[tenantID]
	if c != nil && now.Sub(c.checked) < every {
		s.mu.Unlock()
		return c.active, nil
	}
	gen := s.gen
	s.mu.Unlock()

	var (
		t store.Tenant
		v store.PolicyVersion
	)
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if t, err = tx.GetTenant(tenantID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrTenantNotFound
			}
			return err
		}
		v, err = tx.ActivePolicy(tenantID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoPolicy
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var a *Active
	if c != nil && c.active.Version.Version == v.Version && c.active.Version.Hash == v.Hash {
		a = &Active{Tenant: t, Version: c.active.Version, Doc: c.active.Doc}
	} else {
		doc, err := policy.Load(fmt.Sprintf("policy version %d", v.Version), v.Source)
		if err != nil {
			// A stored version was valid when applied; if this build no
			// longer accepts it, say so rather than serve nothing silently.
			return nil, fmt.Errorf("stored policy version %d no longer loads: %w", v.Version, err)
		}
		a = &Active{Tenant: t, Version: v, Doc: doc}
	}
	s.mu.Lock()
	if s.gen == gen {
		if s.cache == nil {
			s.cache = make(map[string]*cached)
		}
		s.cache[tenantID] = &cached{active: a, checked: now}
	}
	s.mu.Unlock()
	return a, nil
}

// Versions lists the tenant's policy versions, newest first, without text.
func (s *Service) Versions(ctx context.Context, tenantID string) ([]store.PolicyVersion, error) {
	var vs []store.PolicyVersion
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		vs, err = tx.ListPolicyVersions(tenantID)
		return err
	})
	return vs, err
}

// Version returns one stored version, parsed.
func (s *Service) Version(ctx context.Context, tenantID string, n int) (store.PolicyVersion, *policy.Document, error) {
	var v store.PolicyVersion
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		v, err = tx.GetPolicyVersion(tenantID, n)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return v, nil, ErrVersionNotFound
	}
	if err != nil {
		return v, nil, err
	}
	doc, err := policy.Load(fmt.Sprintf("policy version %d", v.Version), v.Source)
	if err != nil {
		return v, nil, fmt.Errorf("stored policy version %d no longer loads: %w", v.Version, err)
	}
	return v, doc, nil
}
