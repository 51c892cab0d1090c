package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/vault"
)

const subjectIDPattern = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`

type createSubjectInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"128" doc:"Makes a retried create return the first answer instead of creating twice or failing."`
	Body           struct {
		Fields          map[string]json.RawMessage `json:"fields" doc:"Declared field names and their values. Identity fields (e.g. email, phone) are indexed for lookup by a keyed hash."`
		Anonymous       bool                       `json:"anonymous,omitempty" doc:"A subject without identity (e.g. a browser id for cookie consent); required fields are not enforced."`
		Source          string                     `json:"source,omitempty" enum:"provided,observed,inferred,third_party" doc:"Where the values come from; defaults to each field's declared source."`
		Minor           bool                       `json:"minor,omitempty" doc:"The person is below the policy's minimum age."`
		ParentalConsent bool                       `json:"parental_consent,omitempty" doc:"A parent consented for the minor."`
	}
}

type createSubjectOutput struct {
	Status int
	Body   vault.Created
}

type subjectInput struct {
	ID      string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Purpose string `query:"purpose" maxLength:"64" doc:"Required: the purpose the data is read for; only what it may use is released."`
}

type viewOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         vault.View
}

type lookupInput struct {
	Email      string `query:"email" maxLength:"320" doc:"Look up by email."`
	Phone      string `query:"phone" maxLength:"64" doc:"Look up by phone number (E.164, or national format in the controller's country)."`
	ExternalID string `query:"external_id" maxLength:"256" doc:"Look up by the application's own user id."`
	Login      string `query:"login" maxLength:"256" doc:"Look up by login name."`
	Purpose    string `query:"purpose" maxLength:"64" doc:"Required: the purpose the data is read for."`
}

type patchInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body struct {
		Fields map[string]json.RawMessage `json:"fields" doc:"Fields to set; null removes a field."`
	}
}

type updatedOutput struct{ Body vault.Updated }

type fieldInput struct {
	ID    string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Field string `path:"field" maxLength:"63"`
}

type idInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$"`
}

type erasedOutput struct{ Body vault.Erased }

type activityInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Body *struct {
		At time.Time `json:"at,omitempty" doc:"When the activity happened; defaults to now."`
	}
}

type appendInput struct {
	ID         string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Collection string `path:"name" maxLength:"63"`
	Body       struct {
		Data       json.RawMessage `json:"data" doc:"The record: any JSON value except null, up to 64 KiB."`
		Source     string          `json:"source,omitempty" enum:"provided,observed,inferred,third_party"`
		OccurredAt time.Time       `json:"occurred_at,omitempty" doc:"When the event happened; defaults to now."`
	}
}

type recordOutput struct {
	Status int
	Body   vault.RecordOut
}

type listRecordsInput struct {
	ID         string `path:"id" pattern:"^[0-9a-f-]{36}$"`
	Collection string `path:"name" maxLength:"63"`
	Purpose    string `query:"purpose" maxLength:"64" doc:"Required: the purpose the records are read for."`
	Cursor     string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page."`
	Limit      int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

type recordPageOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         vault.RecordPage
}

// DecisionRequest asks about one subject and purpose.
type DecisionRequest struct {
	Subject    string   `json:"subject,omitempty" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Purpose    string   `json:"purpose,omitempty" maxLength:"64" doc:"Purpose key."`
	Categories []string `json:"categories,omitempty" maxItems:"100" doc:"Data categories to decide for."`
}

// DecisionAnswer is the engine's answer for one request.
type DecisionAnswer struct {
	Subject string            `json:"subject"`
	Purpose string            `json:"purpose"`
	Results []decide.Decision `json:"results"`
}

type decisionsInput struct {
	Body struct {
		DecisionRequest
		Requests []DecisionRequest `json:"requests,omitempty" maxItems:"100" doc:"A batch instead of the single request fields."`
	}
}

type decisionsOutput struct {
	Body struct {
		Decisions []DecisionAnswer `json:"decisions"`
	}
}

func (s *Server) registerSubjects() {
	tag := "Subjects"
	create := op(http.MethodPost, "/v1/subjects", "createSubject", "Create a subject", auth.PermSubjectsWrite, tag)
	create.Description += " Stores the fields encrypted under a new per-subject key and indexes identity fields by keyed hash. " +
		"Undeclared fields are refused (422) and nothing is stored; an identity that already exists answers 409 with the existing subject id."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, create, func(ctx context.Context, in *createSubjectInput) (*createSubjectOutput, error) {
		p := caller(ctx)
		c, err := s.deps.Vault.Create(ctx, p.TenantID, vault.CreateInput{
			Fields: in.Body.Fields, Anonymous: in.Body.Anonymous, Source: in.Body.Source,
			Minor: in.Body.Minor, ParentalConsent: in.Body.ParentalConsent, IdempotencyKey: in.IdempotencyKey,
		}, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		status := http.StatusCreated
		if c.Replayed {
			status = http.StatusOK
		}
		return &createSubjectOutput{Status: status, Body: c}, nil
	})

	get := op(http.MethodGet, "/v1/subjects/{id}", "getSubject", "Read a subject for a purpose", auth.PermSubjectsRead, tag)
	get.Description += " Releases only the fields the purpose may use now (policy, legal basis, consent, restrictions, objections, holds, retention); " +
		"the others are listed in `withheld` with a machine-readable reason. Every read is audited. Missing purpose: 400; unknown purpose: 422."
	get.Errors = append(get.Errors, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, get, func(ctx context.Context, in *subjectInput) (*viewOutput, error) {
		if err := requirePurpose(ctx, in.Purpose); err != nil {
			return nil, err
		}
		v, err := s.deps.Vault.Get(ctx, caller(ctx).TenantID, in.ID, in.Purpose, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &viewOutput{CacheControl: "no-store", Body: v}, nil
	})

	lookup := op(http.MethodGet, "/v1/subjects", "lookupSubject", "Find a subject by an identity, for a purpose", auth.PermSubjectsRead, tag)
	lookup.Description += " Give exactly one of email, phone, external_id or login. The value is normalised as when it was stored and matched by keyed hash. " +
		"Answers like GET /v1/subjects/{id}."
	lookup.Errors = append(lookup.Errors, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, lookup, func(ctx context.Context, in *lookupInput) (*viewOutput, error) {
		kind, value, n := "", "", 0
		for _, c := range []struct{ k, v string }{{"email", in.Email}, {"phone", in.Phone}, {"external_id", in.ExternalID}, {"login", in.Login}} {
			if c.v != "" {
				kind, value = c.k, c.v
				n++
			}
		}
		if n != 1 {
			return nil, errf(ctx, http.StatusBadRequest, "", "Give exactly one of the query parameters email, phone, external_id or login.")
		}
		if err := requirePurpose(ctx, in.Purpose); err != nil {
			return nil, err
		}
		v, err := s.deps.Vault.Lookup(ctx, caller(ctx).TenantID, kind, value, in.Purpose, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &viewOutput{CacheControl: "no-store", Body: v}, nil
	})

	patch := op(http.MethodPatch, "/v1/subjects/{id}", "updateSubject", "Rectify a subject's fields", auth.PermSubjectsWrite, tag)
	patch.Description += " Sets the given fields (null removes one). The audit log records which fields changed and when their previous values were set, never the values."
	patch.Errors = append(patch.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	register(s.api, patch, func(ctx context.Context, in *patchInput) (*updatedOutput, error) {
		u, err := s.deps.Vault.Update(ctx, caller(ctx).TenantID, in.ID, vault.UpdateInput{Fields: in.Body.Fields}, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &updatedOutput{Body: u}, nil
	})

	delField := op(http.MethodDelete, "/v1/subjects/{id}/fields/{field}", "deleteSubjectField", "Delete one field of a subject", auth.PermSubjectsWrite, tag)
	delField.DefaultStatus = http.StatusNoContent
	delField.Errors = append(delField.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, delField, func(ctx context.Context, in *fieldInput) (*struct{}, error) {
		err := s.deps.Vault.DeleteField(ctx, caller(ctx).TenantID, in.ID, in.Field, actor(ctx))
		if errors.Is(err, vault.ErrFieldNotSet) {
			return nil, errf(ctx, http.StatusNotFound, "", "The subject has no value for field %s.", in.Field)
		}
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return nil, nil
	})

	erase := op(http.MethodDelete, "/v1/subjects/{id}", "eraseSubject", "Erase a subject", auth.PermSubjectsErase, tag)
	erase.Description += " Deletes the subject's fields, records and identities and destroys its data key, so any copy left in a backup is unreadable. " +
		"Idempotent: repeating it finishes an interrupted erasure."
	erase.Errors = append(erase.Errors, http.StatusNotFound)
	register(s.api, erase, func(ctx context.Context, in *idInput) (*erasedOutput, error) {
		e, err := s.deps.Vault.Erase(ctx, caller(ctx).TenantID, in.ID, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &erasedOutput{Body: e}, nil
	})

	act := op(http.MethodPost, "/v1/subjects/{id}/activity", "recordActivity", "Record the person's activity", auth.PermSubjectsWrite, tag)
	act.Description += " Moves last_activity, from which retention rules with trigger last_activity count."
	act.DefaultStatus = http.StatusNoContent
	act.Errors = append(act.Errors, http.StatusNotFound)
	register(s.api, act, func(ctx context.Context, in *activityInput) (*struct{}, error) {
		var at time.Time
		if in.Body != nil {
			at = in.Body.At
		}
		if err := s.deps.Vault.Activity(ctx, caller(ctx).TenantID, in.ID, at, actor(ctx)); err != nil {
			return nil, vaultError(ctx, err)
		}
		return nil, nil
	})

	app := op(http.MethodPost, "/v1/subjects/{id}/collections/{name}", "appendRecord", "Append a record to a collection", auth.PermSubjectsWrite, tag)
	app.Description += " Stores an encrypted record (an order, an activity event, a ticket) and counts as the person's activity."
	app.DefaultStatus = http.StatusCreated
	app.Errors = append(app.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, app, func(ctx context.Context, in *appendInput) (*recordOutput, error) {
		r, err := s.deps.Vault.AppendRecord(ctx, caller(ctx).TenantID, in.ID, in.Collection, in.Body.Data, in.Body.Source, in.Body.OccurredAt, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &recordOutput{Status: http.StatusCreated, Body: r}, nil
	})

	list := op(http.MethodGet, "/v1/subjects/{id}/collections/{name}", "listRecords", "List a collection for a purpose", auth.PermSubjectsRead, tag)
	list.Description += " Oldest first, paginated with next_cursor. If the purpose may not use the collection, no records are released and `withheld` says why; expired records are withheld too."
	list.Errors = append(list.Errors, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, list, func(ctx context.Context, in *listRecordsInput) (*recordPageOutput, error) {
		if err := requirePurpose(ctx, in.Purpose); err != nil {
			return nil, err
		}
		pg, err := s.deps.Vault.ListRecords(ctx, caller(ctx).TenantID, in.ID, in.Collection, in.Purpose, in.Cursor, in.Limit, actor(ctx))
		if err != nil {
			return nil, vaultError(ctx, err)
		}
		return &recordPageOutput{CacheControl: "no-store", Body: pg}, nil
	})

	dec := op(http.MethodPost, "/v1/decisions", "decide", "May a purpose use these categories of a subject?", auth.PermDecide, "Decisions")
	dec.Description += " Answers allow or deny per category with a machine-readable reason, from the policy, consent, restrictions, objections, holds and the subject's age; reads no values. " +
		"Send one request (subject, purpose, categories) or a batch in `requests`."
	dec.Errors = append(dec.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, dec, func(ctx context.Context, in *decisionsInput) (*decisionsOutput, error) {
		reqs := in.Body.Requests
		if in.Body.Subject != "" || in.Body.Purpose != "" || len(in.Body.Categories) > 0 {
			if len(reqs) > 0 {
				return nil, errf(ctx, http.StatusUnprocessableEntity, "", "Send either one request or a batch in requests, not both.")
			}
			reqs = []DecisionRequest{in.Body.DecisionRequest}
		}
		if len(reqs) == 0 {
			return nil, errf(ctx, http.StatusUnprocessableEntity, "", "Nothing to decide: give subject, purpose and categories, or requests.")
		}
		out := &decisionsOutput{}
		out.Body.Decisions = make([]DecisionAnswer, 0, len(reqs))
		for i, r := range reqs {
			if r.Subject == "" || r.Purpose == "" || len(r.Categories) == 0 {
				return nil, errf(ctx, http.StatusUnprocessableEntity, "", "Request %d needs subject, purpose and categories.", i+1)
			}
			ds, err := s.deps.Vault.Decide(ctx, caller(ctx).TenantID, r.Subject, r.Purpose, r.Categories)
			if err != nil {
				return nil, vaultError(ctx, err)
			}
			out.Body.Decisions = append(out.Body.Decisions, DecisionAnswer{Subject: r.Subject, Purpose: r.Purpose, Results: ds})
		}
		return out, nil
	})
}

// actor names the caller for the audit log.
func actor(ctx context.Context) vault.Actor {
	p := caller(ctx)
	return vault.Actor{ID: p.Actor(), Role: string(p.Role), RequestID: RequestID(ctx)}
}

func requirePurpose(ctx context.Context, purpose string) error {
	if purpose == "" {
		return errf(ctx, http.StatusBadRequest, "purpose-required", "Every read of personal data names a purpose: add ?purpose=<key> (see GET /v1/policy for the keys).")
	}
	return nil
}

// vaultError maps vault errors to problems.
func vaultError(ctx context.Context, err error) error {
	var ie *vault.InputError
	var ce *vault.ConflictError
	switch {
	case errors.As(err, &ie):
		return inputProblem(ctx, ie, "body.fields.")
	case errors.As(err, &ce):
		p := problem(http.StatusConflict, "identity-conflict", "A subject with this "+ce.Kind+" already exists; nothing was created.")
		p.SubjectID = ce.SubjectID
		return withRequestID(ctx, p)
	case errors.Is(err, vault.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject.")
	case errors.Is(err, vault.ErrErased):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject.")
	case errors.Is(err, vault.ErrUnknownPurpose):
		return errf(ctx, http.StatusUnprocessableEntity, "unknown-purpose", "The purpose is not declared in the active policy (see GET /v1/policy).")
	case errors.Is(err, vault.ErrNoPolicy):
		return errf(ctx, http.StatusConflict, "no-policy", "No policy has been applied yet; apply one with PUT /v1/policy before storing personal data.")
	case errors.Is(err, vault.ErrIdempotency):
		return errf(ctx, http.StatusUnprocessableEntity, "idempotency-mismatch", "This Idempotency-Key was already used with a different request.")
	}
	return err
}
