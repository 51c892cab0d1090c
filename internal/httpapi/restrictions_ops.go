package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/fulfil"
)

// Restrictions (GDPR Art. 18) are placed by approving a restriction
// request (/v1/requests); these operations list them and lift them, which
// the law allows only after the person has been told (Art. 18(3)).

// RestrictionOut is one restriction of a subject's data, without the
// person's own words (Reason may hold personal data).
type RestrictionOut struct {
	ID              string     `json:"id"`
	Categories      []string   `json:"categories" doc:"Categories restricted; empty means all the subject's data."`
	Ground          string     `json:"ground" enum:"accuracy_contested,unlawful_processing,no_longer_needed_but_claims,objection_pending"`
	AllowedPurposes []string   `json:"allowed_purposes" doc:"Purposes still allowed besides storage (Art. 18(2))."`
	RequestID       string     `json:"request_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	LiftedAt        *time.Time `json:"lifted_at,omitempty"`
}

type restrictionsInput struct {
	ID string `path:"id" maxLength:"64" doc:"Subject id."`
}

type restrictionsOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Restrictions []RestrictionOut `json:"restrictions" doc:"Newest first, lifted ones too."`
	}
}

type liftInput struct {
	ID            string `path:"id" maxLength:"64" doc:"Subject id."`
	RestrictionID string `path:"restriction" maxLength:"64" doc:"Restriction id."`
	Body          struct {
		At     *time.Time `json:"at,omitempty" doc:"When the restriction ends; in the future. Default: 7 days from now."`
		Reason string     `json:"reason" minLength:"1" maxLength:"1000" doc:"Why it ends, in words the person is sent." example:"We verified that your address is correct."`
		ToldBy string     `json:"told_by,omitempty" maxLength:"500" doc:"How the person was told, when they have no email on file (e.g. a letter); required then." example:"Letter of 20 November 2026"`
	}
}

type liftOutput struct {
	Status int
	Body   fulfil.LiftScheduled
}

func (s *Server) registerRestrictions() {
	tag := "Rights"
	list := op(http.MethodGet, "/v1/subjects/{id}/restrictions", "listRestrictions", "A subject's restrictions of processing", auth.PermRequestsRead, tag)
	list.Description += " Every restriction (GDPR Art. 18) of the subject, in force or lifted, newest first, with its ground and the purposes it still allows."
	list.Errors = append(list.Errors, http.StatusNotFound)
	register(s.api, list, func(ctx context.Context, in *restrictionsInput) (*restrictionsOutput, error) {
		rs, err := s.deps.Fulfil.Restrictions(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, restrictionError(ctx, err)
		}
		out := &restrictionsOutput{CacheControl: "no-store"}
		out.Body.Restrictions = make([]RestrictionOut, 0, len(rs))
		for _, r := range rs {
			o := RestrictionOut{ID: r.ID, Categories: nonNil(r.Categories), Ground: r.Ground, AllowedPurposes: nonNil(r.AllowedPurposes),
				RequestID: r.RequestID, CreatedAt: r.CreatedAt}
			if !r.LiftedAt.IsZero() {
				at := r.LiftedAt
				o.LiftedAt = &at
			}
			out.Body.Restrictions = append(out.Body.Restrictions, o)
		}
		return out, nil
	})

	lift := op(http.MethodPost, "/v1/subjects/{id}/restrictions/{restriction}/lift", "liftRestriction", "Lift a restriction after telling the person", auth.PermRequestsDecide, tag)
	lift.Description += " Tells the person by email when and why the restriction ends (or records how they were told, `told_by`, when no " +
		"email is on file), then lifts it at `at` (default in 7 days) by a background job (GDPR Art. 18(3)). Until then the decision engine keeps " +
		"refusing. Audited as restriction.lift_scheduled and restriction.lifted."
	lift.DefaultStatus = http.StatusAccepted
	lift.Errors = append(lift.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, lift, func(ctx context.Context, in *liftInput) (*liftOutput, error) {
		p := caller(ctx)
		li := fulfil.LiftInput{SubjectID: in.ID, RestrictionID: in.RestrictionID, Reason: in.Body.Reason, ToldBy: in.Body.ToldBy, Actor: p.Actor()}
		if in.Body.At != nil {
			li.At = *in.Body.At
		}
		out, err := s.deps.Fulfil.ScheduleLift(ctx, p.TenantID, li)
		if err != nil {
			return nil, restrictionError(ctx, err)
		}
		return &liftOutput{Status: http.StatusAccepted, Body: out}, nil
	})
}

func restrictionError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, fulfil.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject or restriction.")
	case errors.Is(err, fulfil.ErrAlreadyLifted):
		return errf(ctx, http.StatusConflict, "", "The restriction has been lifted already.")
	}
	return fulfilError(ctx, err)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
