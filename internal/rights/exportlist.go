package rights

import (
	"context"

	"github.com/trustee-privacy/trustee/internal/export"
)

// maxListedRequests bounds the requests an access report lists; a person
// with more has their newest ones listed.
const maxListedRequests = 1000

// SubjectRequests implements export.RequestLister: an access report lists
// the person's own requests (GDPR Art. 15 covers the data of the requests
// too), by type, status and dates, never their contents.
func (s *Service) SubjectRequests(ctx context.Context, tenantID, subjectID string) ([]export.RequestSummary, error) {
	if subjectID == "" {
		return nil, nil
	}
	rs, err := s.List(ctx, tenantID, Filter{SubjectID: subjectID, Limit: maxListedRequests})
	if err != nil {
		return nil, err
	}
	out := make([]export.RequestSummary, 0, len(rs))
	for _, r := range rs {
		out = append(out, export.RequestSummary{ID: r.ID, Type: r.Type, Status: r.Status, ReceivedAt: r.ReceivedAt, CompletedAt: r.ClosedAt})
	}
	return out, nil
}

var _ export.RequestLister = (*Service)(nil)
