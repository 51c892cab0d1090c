package decide

import (
	"errors"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Snapshot builds the engine's view of a subject from what the vault loads
// in its read transaction: the subject row and SubjectControls. validSince
// is the tenant's ConsentValidSince (purposes whose older consents need
// renewal), or nil. The controls are used as they are, not copied; do not
// change them while the snapshot is in use.
func Snapshot(sub store.Subject, c store.Controls, validSince map[string]int) *Subject {
	return &Subject{State: sub.State, AgeStatus: sub.AgeStatus, Controls: c, ConsentValidSince: validSince}
}

// OptedOutOfSaleShare reports whether the ledger's latest CCPA choice is an
// opt-out (store.PurposeSaleShare withdrawn).
func OptedOutOfSaleShare(c *store.Controls) bool {
	st, ok := c.Consent(store.PurposeSaleShare)
	return ok && st.Kind == store.ConsentWithdrawn
}

// Query is one question for POST /v1/decisions: may this purpose use these
// categories (or these fields and collections) of this subject now?
type Query struct {
	Subject    string   `json:"subject" maxLength:"64" doc:"Subject id." example:"01964b8e-8c1a-7cde-9f00-3a5e2b1c4d6f"`
	Purpose    string   `json:"purpose" maxLength:"64" doc:"Purpose key from the policy." example:"newsletter"`
	Categories []string `json:"categories,omitempty" maxItems:"100" doc:"Data categories to decide for. A category-level answer knows no retention dates, and counts legal holds by category only." example:"[\"user.contact.email\"]"`
	Items      []string `json:"items,omitempty" maxItems:"100" doc:"Field or collection names from the policy to decide for; holds naming a collection and legal retention duties count." example:"[\"email\",\"orders\"]"`
}

// Request is the body of POST /v1/decisions: a single query in the top-level
// fields, or a batch in requests (not both).
type Request struct {
	Query
	Requests []Query `json:"requests,omitempty" maxItems:"100" doc:"A batch of queries, instead of the single query fields."`
}

// MaxBatch bounds the queries of one request.
const MaxBatch = 100

// Errors of a malformed query; the HTTP layer answers them with 422.
var (
	ErrEmptyQuery      = errors.New("a query needs a subject, a purpose and at least one category or item")
	ErrAmbiguous       = errors.New("give either the single query fields or requests, not both")
	ErrUnknownCategory = errors.New("unknown data category")
	ErrUnknownItem     = errors.New("not a field or collection of the policy")
)

// Queries returns the request's queries: the batch, or the single query.
func (r *Request) Queries() ([]Query, error) {
	single := r.Subject != "" || r.Purpose != "" || len(r.Categories) > 0 || len(r.Items) > 0
	switch {
	case single && len(r.Requests) > 0:
		return nil, ErrAmbiguous
	case len(r.Requests) > MaxBatch:
		return nil, fmt.Errorf("at most %d requests in a batch", MaxBatch)
	case len(r.Requests) > 0:
		return r.Requests, nil
	case single:
		return []Query{r.Query}, nil
	}
	return nil, ErrEmptyQuery
}

// Answer is the engine's answer to one query.
type Answer struct {
	Subject string     `json:"subject" doc:"Subject id, as asked."`
	Purpose string     `json:"purpose" doc:"Purpose key, as asked."`
	Allowed bool       `json:"allowed" doc:"True when every category and item asked for is allowed."`
	Results []Decision `json:"results" doc:"One decision per category, then per item, in the order asked."`
}

// Response is the body answering POST /v1/decisions.
type Response struct {
	Decisions []Answer `json:"decisions" doc:"One answer per query, in the order asked."`
}

// Check validates a query against the policy without deciding: the purpose,
// every category and every item must exist. The error joins every problem,
// each wrapping ErrUnknownPurpose, ErrUnknownCategory, ErrUnknownItem or
// ErrEmptyQuery.
func Check(doc *policy.Document, q Query) error {
	if doc == nil || doc.Policy == nil {
		return ErrNoPolicy
	}
	if q.Subject == "" || q.Purpose == "" || len(q.Categories)+len(q.Items) == 0 {
		return ErrEmptyQuery
	}
	var errs []error
	if doc.PurposeByKey(q.Purpose) == nil {
		errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownPurpose, q.Purpose))
	}
	for _, c := range q.Categories {
		if !doc.Taxonomy().Has(c) {
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownCategory, c))
		}
	}
	for _, n := range q.Items {
		if doc.FieldByName(n) == nil && doc.CollectionByName(n) == nil {
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownItem, n))
		}
	}
	return errors.Join(errs...)
}

// Evaluate answers a query for a subject snapshot after Check. Items are
// decided as stored values would be, without a retention date: pass
// Items through Decide with their ExpiresAt to account for retention.
func Evaluate(doc *policy.Document, q Query, s *Subject, now time.Time) (Answer, error) {
	if err := Check(doc, q); err != nil {
		return Answer{}, err
	}
	e, err := newEngine(doc, q.Purpose, s, now)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Subject: q.Subject, Purpose: q.Purpose, Allowed: true, Results: make([]Decision, 0, len(q.Categories)+len(q.Items))}
	for _, c := range q.Categories {
		it := Item{Category: c}
		a.Results = append(a.Results, e.decide(&it))
	}
	for _, n := range q.Items {
		it := Item{Name: n}
		if f := doc.FieldByName(n); f != nil {
			it.Category = f.Category
		} else if c := doc.CollectionByName(n); c != nil {
			it.Category, it.Collection = c.Category, n
		}
		a.Results = append(a.Results, e.decide(&it))
	}
	for _, d := range a.Results {
		a.Allowed = a.Allowed && d.Allowed
	}
	return a, nil
}
