package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/store"
)

// APIKeyInfo describes a key without its secret.
type APIKeyInfo struct {
	ID        string     `json:"id" doc:"Public key id; the token starts with trustee_<id>_." example:"k3j5v7x9z2b4d6f8"`
	Role      string     `json:"role" enum:"admin,dpo,agent,service,auditor"`
	Name      string     `json:"name,omitempty" doc:"Label given at creation."`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func keyInfo(k store.APIKey) APIKeyInfo {
	out := APIKeyInfo{ID: k.ID, Role: k.Role, Name: k.Name, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt
		out.ExpiresAt = &t
	}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt
		out.RevokedAt = &t
	}
	return out
}

type createKeyInput struct {
	Body struct {
		Role       string `json:"role" enum:"admin,dpo,agent,service,auditor" doc:"What the key may do."`
		Name       string `json:"name,omitempty" maxLength:"100" doc:"A label to recognise the key by, e.g. the service that uses it."`
		TTLSeconds int64  `json:"ttl_seconds,omitempty" minimum:"0" maximum:"315360000" doc:"Lifetime in seconds; 0 or absent for no expiry."`
	}
}

type createKeyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		APIKeyInfo
		Token string `json:"token" doc:"The API key. Shown only in this response; store it now."`
	}
}

type listKeysOutput struct {
	Body struct {
		Keys []APIKeyInfo `json:"keys"`
	}
}

type keyIDInput struct {
	ID string `path:"id" pattern:"^[a-z2-7]{16}$" doc:"Key id."`
}

func (s *Server) registerKeys() {
	tag := "API keys"
	create := op(http.MethodPost, "/v1/api-keys", "createAPIKey", "Create an API key", auth.PermKeysManage, tag)
	create.Description += " The token is returned once; only its hash is stored."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusUnprocessableEntity)
	register(s.api, create, func(ctx context.Context, in *createKeyInput) (*createKeyOutput, error) {
		p := caller(ctx)
		role, err := auth.ParseRole(in.Body.Role)
		if err != nil {
			return nil, errf(ctx, http.StatusUnprocessableEntity, "", "%s.", upperFirst(err.Error()))
		}
		tok, k, err := s.deps.Keys.Create(ctx, p.TenantID, role, in.Body.Name, p.Actor(), time.Duration(in.Body.TTLSeconds)*time.Second)
		if err != nil {
			return nil, err
		}
		out := &createKeyOutput{CacheControl: "no-store"}
		out.Body.APIKeyInfo = keyInfo(k)
		out.Body.Token = tok
		return out, nil
	})

	list := op(http.MethodGet, "/v1/api-keys", "listAPIKeys", "List API keys", auth.PermKeysManage, tag)
	register(s.api, list, func(ctx context.Context, _ *struct{}) (*listKeysOutput, error) {
		keys, err := s.deps.Keys.List(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, err
		}
		out := &listKeysOutput{}
		out.Body.Keys = make([]APIKeyInfo, 0, len(keys))
		for _, k := range keys {
			out.Body.Keys = append(out.Body.Keys, keyInfo(k))
		}
		return out, nil
	})

	revoke := op(http.MethodDelete, "/v1/api-keys/{id}", "revokeAPIKey", "Revoke an API key", auth.PermKeysManage, tag)
	revoke.Description += " The key stops working at once on this instance and within seconds on others."
	revoke.DefaultStatus = http.StatusNoContent
	revoke.Errors = append(revoke.Errors, http.StatusNotFound)
	register(s.api, revoke, func(ctx context.Context, in *keyIDInput) (*struct{}, error) {
		err := s.deps.Keys.Revoke(ctx, caller(ctx).TenantID, in.ID)
		if errors.Is(err, auth.ErrKeyNotFound) {
			return nil, errf(ctx, http.StatusNotFound, "", "This tenant has no API key %s.", in.ID)
		}
		return nil, err
	})
}
