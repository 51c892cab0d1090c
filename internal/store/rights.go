package store

import "time"

// Data-subject requests (internal/rights). The store keeps the columns the
// queue is filtered and sorted by (type, subject, status, receipt and due
// times) and treats the rest of a request's state as opaque JSON owned by
// the rights package, so the workflow can grow without a migration per
// field. Personal data a request carries (the person's own words, corrected
// values) is sealed under the tenant's key by the rights package before it
// reaches the store (Request.Details).

// Request is one data-subject request.
type Request struct {
	TenantID string
	ID       string // UUIDv7
	// Type is a policy.RequestType (access, erasure, ccpa_delete...).
	Type string
	// SubjectID is the subject the request was matched to; "" when the
	// identity given matched nobody.
	SubjectID    string
	Jurisdiction string // gdpr | uk_gdpr | ccpa
	Channel      string // api | privacy_center | staff
	Status       string
	ReceivedAt   time.Time
	// DueAt is the current deadline to answer (after any extension).
	DueAt time.Time
	// ConfirmBy is when receipt must be confirmed; zero when no rule sets
	// one.
	ConfirmBy time.Time
	UpdatedAt time.Time
	// ClosedAt is when the request reached a final status; zero while open.
	ClosedAt time.Time
	// Version counts updates, for optimistic concurrency (UpdateRequest).
	Version int
	// State is the rights package's JSON: verification, schedule,
	// extension, outcome, refusal, instruction. Never personal values.
	State []byte
	// Details is sealed (keys.SealTenant) JSON of what the person asked
	// for; nil when there is nothing to seal.
	Details []byte
}

// RequestEvent is one row of a request's history: a status change or a
// recorded action.
type RequestEvent struct {
	TenantID  string
	RequestID string
	Seq       int // 1, 2, 3... per request, assigned by AppendRequestEvent
	From      string
	To        string
	At        time.Time
	Actor     string
	// Note is free text for staff (an extension's reason, what a manual
	// verification checked); never a code or a token.
	Note string
}

// RequestFilter selects requests of one tenant for the queue.
type RequestFilter struct {
	TenantID string
	// Statuses, if any, keeps requests in one of them.
	Statuses []string
	Type     string
	// SubjectID keeps one subject's requests.
	SubjectID string
	// DueBefore keeps requests due at or before this time.
	DueBefore time.Time
	// Open keeps requests without ClosedAt.
	Open bool
	// ReceivedSince keeps requests received at or after this time.
	ReceivedSince time.Time
	// Limit bounds the result (default 100, at most 1000).
	Limit int
	// Offset skips this many, for paging.
	Offset int
}

// RequestsTx stores data-subject requests and their history.
type RequestsTx interface {
	// CreateRequest inserts r with Version 1; ErrConflict if the id is
	// taken, ErrNotFound if the tenant does not exist, ErrInvalid for an
	// empty id, type, status, channel or jurisdiction.
	CreateRequest(r Request) error
	// GetRequest returns one request of the tenant, or ErrNotFound.
	GetRequest(tenantID, id string) (Request, error)
	// UpdateRequest stores r's status, subject, due times, closed time,
	// state and details if the stored version is still r.Version, and
	// increments it; ErrConflict if someone else updated it first,
	// ErrNotFound if there is no such request.
	UpdateRequest(r Request) error
	// ListRequests returns requests matching f, oldest due first (then
	// received, id).
	ListRequests(f RequestFilter) ([]Request, error)
	// AppendRequestEvent adds e to the request's history with the next
	// Seq and returns it; ErrNotFound if there is no such request.
	AppendRequestEvent(e RequestEvent) (int, error)
	// ListRequestEvents returns the request's history in order.
	ListRequestEvents(tenantID, requestID string) ([]RequestEvent, error)
}
