package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/fulfil"
)

// Recipients: the webhook endpoints through which the policy's recipients
// are told of rectifications, erasures and restrictions (GDPR Art. 19), and
// the public link through which they acknowledge. Endpoints are not in the
// policy because each holds a signing secret; the secret is shown once,
// when it is generated. See docs/propagation.md.

// fulfilError maps fulfilment errors to problems.
func fulfilError(ctx context.Context, err error) error {
	var ie *fulfil.InputError
	switch {
	case errors.As(err, &ie):
		return inputProblem(ctx, ie, "body.")
	case errors.Is(err, fulfil.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such recipient endpoint, request or subject.")
	case errors.Is(err, fulfil.ErrNoPolicy):
		return errf(ctx, http.StatusConflict, "no-policy", "No policy has been applied yet; apply one with PUT /v1/policy first.")
	case errors.Is(err, fulfil.ErrConflict):
		return errf(ctx, http.StatusConflict, "", "The recipient's state does not allow this (already acknowledged or handled).")
	case errors.Is(err, fulfil.ErrBadToken):
		return errf(ctx, http.StatusBadRequest, "bad-token", "This acknowledgement link is not valid.")
	}
	return err
}

type recipientKeyInput struct {
	Key string `path:"key" pattern:"^(_application|[a-z][a-z0-9_]{0,62})$" doc:"Recipient key from the policy, or _application for the tenant's own application (subject.erased)."`
}

type putEndpointInput struct {
	Key  string `path:"key" pattern:"^(_application|[a-z][a-z0-9_]{0,62})$" doc:"Recipient key from the policy, or _application for the tenant's own application (subject.erased)."`
	Body struct {
		URL string `json:"url" minLength:"1" maxLength:"2048" doc:"Where to POST the signed webhooks: an absolute http or https URL without credentials or fragment." example:"https://hooks.example.com/trustee"`
		Ack string `json:"ack,omitempty" enum:"callback,on_delivery" default:"callback" doc:"How the recipient acknowledges: callback (it calls the ack_url it was sent, once it applied the change) or on_delivery (a 2xx answer counts)."`
	}
}

type putEndpointOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         fulfil.EndpointSet
}

type listRecipientsOutput struct {
	Body struct {
		Recipients []fulfil.RecipientInfo `json:"recipients" doc:"The application first, then the policy's recipients in policy order."`
	}
}

type ackInput struct {
	Token string `path:"token" maxLength:"400" doc:"The token of the ack_url sent with the webhook."`
}

type ackOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Recipient string `json:"recipient"`
		State     string `json:"state" enum:"pending,delivered,acknowledged,failed,manual,handled" doc:"acknowledged, or handled if a person had already closed it."`
	}
}

func (s *Server) registerRecipients() {
	tag := "Recipients"
	list := op(http.MethodGet, "/v1/recipients", "listRecipients", "List recipients and their webhook endpoints", auth.PermRecipientsManage, tag)
	list.Description += " The active policy's recipients, and `_application` (the tenant's own application, which is told `subject.erased`), " +
		"each with whether a webhook endpoint is configured, its host and acknowledgement mode. Never the URL or the secret."
	list.Errors = append(list.Errors, http.StatusConflict)
	register(s.api, list, func(ctx context.Context, _ *struct{}) (*listRecipientsOutput, error) {
		rs, err := s.deps.Fulfil.ListRecipients(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, fulfilError(ctx, err)
		}
		out := &listRecipientsOutput{}
		out.Body.Recipients = rs
		return out, nil
	})

	put := op(http.MethodPut, "/v1/recipients/{key}/endpoint", "putRecipientEndpoint", "Set a recipient's webhook endpoint", auth.PermRecipientsManage, tag)
	put.Description += " Generates a new signing secret and returns it once (setting the endpoint again rotates it). Rectifications, erasures and " +
		"restrictions are then sent to the URL as signed webhooks (see docs/webhooks.md and docs/propagation.md). " +
		"A key that is not a recipient of the active policy is refused with 422. Audited (recipient and host)."
	put.Errors = append(put.Errors, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, put, func(ctx context.Context, in *putEndpointInput) (*putEndpointOutput, error) {
		p := caller(ctx)
		set, err := s.deps.Fulfil.SetEndpoint(ctx, p.TenantID, in.Key, in.Body.URL, in.Body.Ack, p.Actor())
		if err != nil {
			return nil, fulfilError(ctx, err)
		}
		return &putEndpointOutput{CacheControl: "no-store", Body: set}, nil
	})

	del := op(http.MethodDelete, "/v1/recipients/{key}/endpoint", "deleteRecipientEndpoint", "Remove a recipient's webhook endpoint", auth.PermRecipientsManage, tag)
	del.Description += " Later propagations to the recipient are manual (a person tells it and marks it handled). Webhooks already queued are still sent."
	del.DefaultStatus = http.StatusNoContent
	del.Errors = append(del.Errors, http.StatusNotFound)
	register(s.api, del, func(ctx context.Context, in *recipientKeyInput) (*struct{}, error) {
		p := caller(ctx)
		if err := s.deps.Fulfil.DeleteEndpoint(ctx, p.TenantID, in.Key, p.Actor()); err != nil {
			return nil, fulfilError(ctx, err)
		}
		return nil, nil
	})

	po := s.deps.Public.withDefaults()
	limit := newLimiter(po.Write, po.WriteBurst, po.TrustedProxies)
	ack := publicOp(http.MethodPost, "/v1/public/propagation/{token}/ack", "acknowledgePropagation", "Acknowledge a propagated change", tag)
	ack.Description = "A recipient confirms that it applied a rectification, erasure or restriction it was sent, by POSTing to the ack_url of the webhook " +
		"(no API key: the token is HMAC-signed and bound to the tenant, the request and the recipient). The first call moves the recipient to " +
		"acknowledged; repeating it changes nothing and answers the same. A tampered or unknown token is refused with 400."
	ack.MaxBodyBytes = 1024
	ack.SkipValidateBody = true
	ack.Errors = []int{http.StatusBadRequest, http.StatusTooManyRequests}
	ack.Middlewares = s.publicMiddleware(limit, false)
	register(s.api, ack, func(ctx context.Context, in *ackInput) (*ackOutput, error) {
		st, err := s.deps.Fulfil.Acknowledge(ctx, in.Token)
		if err != nil {
			return nil, fulfilError(ctx, err)
		}
		out := &ackOutput{CacheControl: "no-store"}
		out.Body.Recipient, out.Body.State = st.Recipient, st.State
		return out, nil
	})
}
