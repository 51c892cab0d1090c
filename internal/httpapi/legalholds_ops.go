package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
)

// LegalHoldInfo is a legal hold.
type LegalHoldInfo struct {
	ID          string     `json:"id"`
	SubjectID   string     `json:"subject_id,omitempty" doc:"The subject held; absent when the hold covers every subject of the tenant."`
	Categories  []string   `json:"categories" doc:"Data categories held; with collections, both empty means all data."`
	Collections []string   `json:"collections" doc:"Collections held."`
	Purpose     string     `json:"purpose,omitempty" doc:"The only purpose held data may still be used for; absent: preserve only."`
	Reason      string     `json:"reason" doc:"Why (the case, the law). Shown to DPOs and admins; never written to the audit log."`
	Actor       string     `json:"actor" doc:"Who placed it."`
	CreatedAt   time.Time  `json:"created_at"`
	Until       *time.Time `json:"until,omitempty" doc:"When it ends by itself."`
	ReleasedAt  *time.Time `json:"released_at,omitempty"`
	Active      bool       `json:"active" doc:"Whether it keeps data now."`
}

func legalHoldInfo(h store.LegalHold, now time.Time) LegalHoldInfo {
	out := LegalHoldInfo{ID: h.ID, SubjectID: h.SubjectID, Categories: h.Categories, Collections: h.Collections, Purpose: h.Purpose,
		Reason: h.Reason, Actor: h.Actor, CreatedAt: h.CreatedAt, Until: optTime(h.Until), ReleasedAt: optTime(h.ReleasedAt), Active: h.ActiveAt(now)}
	if out.Categories == nil {
		out.Categories = []string{}
	}
	if out.Collections == nil {
		out.Collections = []string{}
	}
	return out
}

type createHoldInput struct {
	Body struct {
		SubjectID   string    `json:"subject_id,omitempty" pattern:"^[0-9a-f-]{36}$" doc:"The subject to hold; leave out to hold every subject of the tenant (a regulator's investigation)."`
		Categories  []string  `json:"categories,omitempty" maxItems:"64" doc:"Data categories to hold (a category covers its sub-categories)."`
		Collections []string  `json:"collections,omitempty" maxItems:"64" doc:"Collections to hold. Without categories and collections, all data is held."`
		Purpose     string    `json:"purpose,omitempty" maxLength:"64" doc:"The purpose held data may still be used for once past retention or erasure, e.g. a legal-claims purpose. Leave out to preserve only."`
		Reason      string    `json:"reason" minLength:"1" maxLength:"1024" doc:"Why: the case, the law or the authority's request."`
		Until       time.Time `json:"until,omitempty" doc:"When the hold ends by itself; leave out to hold until released."`
	}
}

type holdOutput struct {
	Status int
	Body   LegalHoldInfo
}

type listHoldsInput struct {
	SubjectID string `query:"subject_id" pattern:"^[0-9a-f-]{36}$" doc:"Only this subject's holds and the tenant-wide ones."`
	Active    bool   `query:"active" doc:"Only holds in force now."`
}

type listHoldsOutput struct {
	Body struct {
		Holds []LegalHoldInfo `json:"holds" doc:"Newest first."`
	}
}

type holdIDInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Legal hold id."`
}

func (s *Server) registerLegalHolds() {
	tag := "Legal holds"
	create := op(http.MethodPost, "/v1/legal-holds", "createLegalHold", "Place a legal hold", auth.PermLegalHolds, tag)
	create.Description += " Held data is not deleted by retention, and survives erasure; past its retention (or after an erasure) only the hold's purpose may use it. Audited."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, create, func(ctx context.Context, in *createHoldInput) (*holdOutput, error) {
		b := in.Body
		h, err := s.deps.Retention.CreateHold(ctx, caller(ctx).TenantID, retention.HoldInput{SubjectID: b.SubjectID, Categories: b.Categories,
			Collections: b.Collections, Purpose: b.Purpose, Reason: b.Reason, Until: b.Until}, retentionActor(ctx))
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		return &holdOutput{Status: http.StatusCreated, Body: legalHoldInfo(h, time.Now())}, nil
	})

	list := op(http.MethodGet, "/v1/legal-holds", "listLegalHolds", "List legal holds", auth.PermLegalHolds, tag)
	register(s.api, list, func(ctx context.Context, in *listHoldsInput) (*listHoldsOutput, error) {
		hs, err := s.deps.Retention.ListHolds(ctx, caller(ctx).TenantID, in.SubjectID, in.Active)
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		out := &listHoldsOutput{}
		out.Body.Holds = make([]LegalHoldInfo, 0, len(hs))
		now := time.Now()
		for _, h := range hs {
			out.Body.Holds = append(out.Body.Holds, legalHoldInfo(h, now))
		}
		return out, nil
	})

	get := op(http.MethodGet, "/v1/legal-holds/{id}", "getLegalHold", "Read a legal hold", auth.PermLegalHolds, tag)
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s.api, get, func(ctx context.Context, in *holdIDInput) (*holdOutput, error) {
		h, err := s.deps.Retention.GetHold(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		return &holdOutput{Status: http.StatusOK, Body: legalHoldInfo(h, time.Now())}, nil
	})

	release := op(http.MethodPost, "/v1/legal-holds/{id}/release", "releaseLegalHold", "Release a legal hold", auth.PermLegalHolds, tag)
	release.Description += " The data it kept follows its retention again: what is past it is deleted by the next sweep (at once for a hold of one subject). Releasing twice keeps the first time."
	release.Errors = append(release.Errors, http.StatusNotFound)
	register(s.api, release, func(ctx context.Context, in *holdIDInput) (*holdOutput, error) {
		h, err := s.deps.Retention.ReleaseHold(ctx, caller(ctx).TenantID, in.ID, retentionActor(ctx))
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		return &holdOutput{Status: http.StatusOK, Body: legalHoldInfo(h, time.Now())}, nil
	})
}
