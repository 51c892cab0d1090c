package store

import "time"

// This file is the storage contract of fulfilment (internal/fulfil): the
// record that a data-subject request was fulfilled (so fulfilling it again
// returns the first outcome instead of acting twice), the per-recipient
// propagation status of rectifications, erasures and restrictions (GDPR
// Art. 19), and the webhook endpoints a tenant configured for its
// recipients. Endpoints are not in the policy because they hold secrets:
// their URL and signing secret are sealed under a tenant key by package
// fulfil, and only the host and the acknowledgement mode are stored in the
// clear.

// Fulfilment records that one request was fulfilled and what it did.
type Fulfilment struct {
	TenantID  string
	RequestID string // the data-subject request (internal/rights)
	SubjectID string
	Type      string // policy.RequestType
	// Result is the outcome as JSON (fulfil.Result without one-time
	// secrets); it never holds personal data values.
	Result    []byte
	Actor     string
	CreatedAt time.Time
}

// Propagation states; the values match fulfil.Recipient*.
const (
	PropagationPending      = "pending"
	PropagationDelivered    = "delivered"
	PropagationAcknowledged = "acknowledged"
	PropagationFailed       = "failed"
	PropagationManual       = "manual"
	PropagationHandled      = "handled"
)

// Acknowledgement modes of a recipient endpoint.
const (
	// AckCallback: the recipient confirms by calling the ack URL it was
	// sent.
	AckCallback = "callback"
	// AckOnDelivery: a 2xx answer to the webhook counts as the
	// acknowledgement.
	AckOnDelivery = "on_delivery"
)

// Propagation is where telling one recipient about one request stands.
type Propagation struct {
	TenantID  string
	RequestID string
	Recipient string // recipient key of the policy
	SubjectID string
	// Action is what the recipient is asked to do: erasure,
	// rectification or restriction.
	Action string
	// Categories are the categories concerned that the recipient received.
	Categories []string
	State      string // one of the Propagation* states
	// MessageID is the outbox webhook telling the recipient; "" when the
	// recipient has no endpoint (state manual).
	MessageID string
	// Ack is the endpoint's acknowledgement mode when the webhook was
	// queued (AckCallback or AckOnDelivery); "" without a webhook.
	Ack string
	// Note says how a person handled it, or why delivery failed. No
	// personal data.
	Note      string
	Actor     string // who last changed it by hand, if anyone
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RecipientEndpoint is where a tenant's recipient receives propagation
// webhooks. Recipient "_application" is the tenant's own application,
// which receives subject.erased.
type RecipientEndpoint struct {
	TenantID  string
	Recipient string
	// Host is the webhook's host, for listings; the full URL is sealed.
	Host string
	// Sealed holds the URL and the signing secret, sealed under a tenant
	// key by package fulfil.
	Sealed    []byte
	Ack       string // AckCallback | AckOnDelivery
	Actor     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PropagationTx stores fulfilments, propagation rows and recipient
// endpoints. Every method is scoped by tenant.
type PropagationTx interface {
	// InsertFulfilment records f; ErrConflict if the request already has
	// one, ErrNotFound if the tenant does not exist, ErrInvalid for a bad
	// shape.
	InsertFulfilment(f Fulfilment) error
	// GetFulfilment returns the request's fulfilment, or ErrNotFound.
	GetFulfilment(tenantID, requestID string) (Fulfilment, error)

	// InsertPropagation inserts p; ErrConflict if the request already has
	// a row for the recipient, ErrInvalid for a bad shape.
	InsertPropagation(p Propagation) error
	// GetPropagation returns one row, or ErrNotFound.
	GetPropagation(tenantID, requestID, recipient string) (Propagation, error)
	// PropagationByMessage returns the row whose webhook is the outbox
	// message, or ErrNotFound.
	PropagationByMessage(tenantID, messageID string) (Propagation, error)
	// ListPropagations returns the request's rows ordered by recipient.
	ListPropagations(tenantID, requestID string) ([]Propagation, error)
	// MovePropagation sets the row's state to `to` (with note, actor and
	// updated_at) only if its current state is one of from: a single
	// compare-and-set, so two concurrent moves cannot both win.
	// ErrNotFound if there is no such row, ErrConflict if its state is
	// not in from.
	MovePropagation(tenantID, requestID, recipient string, from []string, to, note, actor string, at time.Time) error

	// PutRecipientEndpoint inserts or replaces the recipient's endpoint
	// (keeping CreatedAt of a replaced one). ErrNotFound if the tenant
	// does not exist, ErrInvalid for a bad shape.
	PutRecipientEndpoint(e RecipientEndpoint) error
	// GetRecipientEndpoint returns one endpoint, or ErrNotFound.
	GetRecipientEndpoint(tenantID, recipient string) (RecipientEndpoint, error)
	// ListRecipientEndpoints returns the tenant's endpoints ordered by
	// recipient.
	ListRecipientEndpoints(tenantID string) ([]RecipientEndpoint, error)
	// DeleteRecipientEndpoint removes one endpoint; ErrNotFound if absent.
	DeleteRecipientEndpoint(tenantID, recipient string) error
}
