package httpapi

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/notice"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// register is huma.Register, named locally so every operation reads alike.
func register[I, O any](api huma.API, o huma.Operation, h func(context.Context, *I) (*O, error)) {
	huma.Register(api, o, h)
}

// PolicyVersionInfo describes one stored policy version.
type PolicyVersionInfo struct {
	Version       int       `json:"version" doc:"Version number, 1 for the tenant's first policy." example:"3"`
	Hash          string    `json:"hash" doc:"Content hash of the policy (sha256 of its canonical form)." example:"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	Revision      string    `json:"revision,omitempty" doc:"The policy's own revision label."`
	EffectiveDate string    `json:"effective_date,omitempty" doc:"Date from which the version applies (YYYY-MM-DD)."`
	Format        string    `json:"format" enum:"yaml,json" doc:"Format the policy was submitted in."`
	AppliedAt     time.Time `json:"applied_at" doc:"When this version was applied."`
	AppliedBy     string    `json:"applied_by" doc:"Who applied it, e.g. apikey:<id> or cli."`
}

func versionInfo(v store.PolicyVersion) PolicyVersionInfo {
	return PolicyVersionInfo{
		Version: v.Version, Hash: v.Hash, Revision: v.Revision, EffectiveDate: v.EffectiveDate,
		Format: v.Format, AppliedAt: v.AppliedAt, AppliedBy: v.AppliedBy,
	}
}

// PolicyWarning is something a DPO should look at in a valid policy.
type PolicyWarning struct {
	Message string `json:"message"`
	Path    string `json:"path,omitempty" doc:"Where in the policy, e.g. fields[3]."`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

func warnings(ws policy.Errors) []PolicyWarning {
	out := make([]PolicyWarning, 0, len(ws))
	for _, w := range ws {
		out = append(out, PolicyWarning{Message: w.Msg, Path: w.Path, Line: w.Line, Column: w.Col})
	}
	return out
}

type policySubmission struct {
	ContentType string `header:"Content-Type" doc:"application/yaml (or application/json; JSON is accepted as YAML)."`
	RawBody     []byte `contentType:"application/yaml" doc:"The policy document."`
}

// ApplyResponse reports the outcome of applying or checking a policy.
type ApplyResponse struct {
	Version   PolicyVersionInfo `json:"version" doc:"The active version after the call (for a check: the version that is active now)."`
	Unchanged bool              `json:"unchanged" doc:"True when the submitted policy has the same content as the active version; no new version was made."`
	Warnings  []PolicyWarning   `json:"warnings" doc:"Things to look at in a valid policy."`
	Diff      *PolicyDiff       `json:"diff,omitempty" doc:"What changed compared with the previous active version; absent for a tenant's first policy."`
}

type applyOutput struct {
	Status int
	Body   ApplyResponse
}

type checkBody struct {
	Valid     bool            `json:"valid" doc:"Always true: an invalid policy is answered with 422 invalid-policy."`
	Unchanged bool            `json:"unchanged" doc:"True when the policy equals the active version."`
	Hash      string          `json:"hash" doc:"Content hash the policy would have."`
	Warnings  []PolicyWarning `json:"warnings"`
	Diff      *PolicyDiff     `json:"diff,omitempty" doc:"Changes compared with the active version."`
}

type checkOutput struct{ Body checkBody }

type activePolicyBody struct {
	PolicyVersionInfo
	Policy   *policy.Policy  `json:"policy" doc:"The policy as parsed, in JSON."`
	Warnings []PolicyWarning `json:"warnings"`
}

type activePolicyOutput struct {
	ETag string `header:"ETag"`
	Body activePolicyBody
}

type rawOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	ETag               string `header:"ETag"`
	Body               []byte
}

type versionsOutput struct {
	Body struct {
		Versions []PolicyVersionInfo `json:"versions" doc:"Newest first."`
	}
}

type versionInput struct {
	Version int `path:"version" minimum:"1" doc:"Policy version number."`
}

type diffInput struct {
	From int `query:"from" minimum:"0" doc:"Older version; defaults to the one before 'to'."`
	To   int `query:"to" minimum:"0" doc:"Newer version; defaults to the active version."`
}

type diffOutput struct{ Body PolicyDiff }

type noticeInput struct {
	Format  string `query:"format" enum:"html,md" default:"html" doc:"html for a standalone page, md for Markdown."`
	Version int    `query:"version" minimum:"0" doc:"Render an earlier version; defaults to the active one."`
}

type ropaInput struct {
	Format string `query:"format" enum:"json,csv" default:"json" doc:"json or csv (one row per processing activity)."`
}

func (s *Server) registerPolicy() {
	tag := "Policy"

	apply := op(http.MethodPut, "/v1/policy", "applyPolicy", "Apply a new policy version", auth.PermPolicyWrite, tag)
	apply.Description += " Validates the policy and, if its content differs from the active version, stores it as a new immutable version. " +
		"On any error nothing changes and the answer is 422 `invalid-policy` listing every mistake with line and column."
	apply.MaxBodyBytes = 1 << 20
	apply.DefaultStatus = http.StatusCreated
	apply.Errors = append(apply.Errors, http.StatusUnprocessableEntity, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge)
	register(s.api, apply, func(ctx context.Context, in *policySubmission) (*applyOutput, error) {
		if err := checkPolicyContentType(ctx, in.ContentType); err != nil {
			return nil, err
		}
		p := caller(ctx)
		res, err := s.deps.Tenants.Apply(ctx, p.TenantID, "policy", in.RawBody, p.Actor())
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		status := http.StatusCreated
		if res.Unchanged {
			status = http.StatusOK
		}
		return &applyOutput{Status: status, Body: ApplyResponse{
			Version: versionInfo(res.Version), Unchanged: res.Unchanged,
			Warnings: warnings(res.Warnings), Diff: diffBody(res.Diff),
		}}, nil
	})

	check := op(http.MethodPost, "/v1/policy/validate", "validatePolicy", "Validate a policy without applying it", auth.PermPolicyWrite, tag)
	check.Description += " Answers what applying it would do: warnings and the diff against the active version. Nothing is stored."
	check.MaxBodyBytes = 1 << 20
	check.Errors = append(check.Errors, http.StatusUnprocessableEntity, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge)
	register(s.api, check, func(ctx context.Context, in *policySubmission) (*checkOutput, error) {
		if err := checkPolicyContentType(ctx, in.ContentType); err != nil {
			return nil, err
		}
		res, err := s.deps.Tenants.Check(ctx, caller(ctx).TenantID, "policy", in.RawBody)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		return &checkOutput{Body: checkBody{
			Valid: true, Unchanged: res.Unchanged, Hash: res.Doc.Policy.Hash(),
			Warnings: warnings(res.Warnings), Diff: diffBody(res.Diff),
		}}, nil
	})

	get := op(http.MethodGet, "/v1/policy", "getPolicy", "Get the active policy", auth.PermPolicyRead, tag)
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s.api, get, func(ctx context.Context, _ *struct{}) (*activePolicyOutput, error) {
		a, err := s.deps.Tenants.Active(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		return &activePolicyOutput{ETag: etag(a.Version.Hash), Body: activePolicyBody{
			PolicyVersionInfo: versionInfo(a.Version), Policy: a.Policy(), Warnings: warnings(a.Doc.Warnings),
		}}, nil
	})

	src := op(http.MethodGet, "/v1/policy/source", "getPolicySource", "Get the active policy as submitted", auth.PermPolicyRead, tag)
	src.Description += " Returns the exact text that was applied, comments included."
	src.Errors = append(src.Errors, http.StatusNotFound)
	src.Responses = map[string]*huma.Response{"200": {Description: "The policy text.", Content: map[string]*huma.MediaType{
		"application/yaml": {Schema: &huma.Schema{Type: "string"}},
		"application/json": {Schema: &huma.Schema{Type: "string"}},
	}}}
	register(s.api, src, func(ctx context.Context, _ *struct{}) (*rawOutput, error) {
		a, err := s.deps.Tenants.Active(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		ct := "application/yaml; charset=utf-8"
		if a.Version.Format == "json" {
			ct = "application/json; charset=utf-8"
		}
		return &rawOutput{ContentType: ct, ETag: etag(a.Version.Hash), Body: a.Version.Source}, nil
	})

	list := op(http.MethodGet, "/v1/policy/versions", "listPolicyVersions", "List policy versions", auth.PermPolicyRead, tag)
	register(s.api, list, func(ctx context.Context, _ *struct{}) (*versionsOutput, error) {
		vs, err := s.deps.Tenants.Versions(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		out := &versionsOutput{}
		out.Body.Versions = make([]PolicyVersionInfo, 0, len(vs))
		for _, v := range vs {
			out.Body.Versions = append(out.Body.Versions, versionInfo(v))
		}
		return out, nil
	})

	one := op(http.MethodGet, "/v1/policy/versions/{version}", "getPolicyVersion", "Get one policy version", auth.PermPolicyRead, tag)
	one.Errors = append(one.Errors, http.StatusNotFound)
	register(s.api, one, func(ctx context.Context, in *versionInput) (*activePolicyOutput, error) {
		v, doc, err := s.deps.Tenants.Version(ctx, caller(ctx).TenantID, in.Version)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		return &activePolicyOutput{ETag: etag(v.Hash), Body: activePolicyBody{
			PolicyVersionInfo: versionInfo(v), Policy: doc.Policy, Warnings: warnings(doc.Warnings),
		}}, nil
	})

	diff := op(http.MethodGet, "/v1/policy/diff", "diffPolicyVersions", "Compare two policy versions", auth.PermPolicyRead, tag)
	diff.Description += " Lists added, removed and changed purposes, categories, recipients, retention rules and cookies, and which consent-based purposes need fresh consent."
	diff.Errors = append(diff.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s.api, diff, func(ctx context.Context, in *diffInput) (*diffOutput, error) {
		tid := caller(ctx).TenantID
		to := in.To
		if to == 0 {
			a, err := s.deps.Tenants.Active(ctx, tid)
			if err != nil {
				return nil, s.policyError(ctx, err)
			}
			to = a.Version.Version
		}
		from := in.From
		if from == 0 {
			from = to - 1
		}
		if from < 1 || from >= to {
			return nil, errf(ctx, http.StatusUnprocessableEntity, "", "'from' must be an earlier version than 'to' (got from=%d, to=%d).", from, to)
		}
		_, oldDoc, err := s.deps.Tenants.Version(ctx, tid, from)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		_, newDoc, err := s.deps.Tenants.Version(ctx, tid, to)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		d := policy.Diff(oldDoc.Policy, newDoc.Policy)
		body := diffBody(&d)
		body.From, body.To = from, to
		return &diffOutput{Body: *body}, nil
	})

	schema := publicOp(http.MethodGet, "/v1/policy/schema", "getPolicySchema", "JSON Schema of the policy format", tag)
	schema.Description = "The JSON Schema (draft 2020-12) of the policy format, for editor autocompletion. Public."
	schema.Responses = map[string]*huma.Response{"200": {Description: "The schema.", Content: map[string]*huma.MediaType{
		"application/schema+json": {Schema: &huma.Schema{Type: "object"}},
	}}}
	register(s.api, schema, func(ctx context.Context, _ *struct{}) (*rawOutput, error) {
		return &rawOutput{ContentType: "application/schema+json", Body: policy.JSONSchema()}, nil
	})

	ntc := op(http.MethodGet, "/v1/notice", "getNotice", "Render the privacy notice", auth.PermPolicyRead, tag)
	ntc.Description += " Renders the privacy notice from the active policy (or an earlier version) as a standalone HTML page or Markdown."
	ntc.Errors = append(ntc.Errors, http.StatusNotFound)
	ntc.Responses = map[string]*huma.Response{"200": {Description: "The notice.", Content: map[string]*huma.MediaType{
		"text/html":     {Schema: &huma.Schema{Type: "string"}},
		"text/markdown": {Schema: &huma.Schema{Type: "string"}},
	}}}
	register(s.api, ntc, func(ctx context.Context, in *noticeInput) (*rawOutput, error) {
		v, doc, err := s.versionOrActive(ctx, in.Version)
		if err != nil {
			return nil, err
		}
		opts := notice.Options{Version: v.Version, Hash: v.Hash}
		if doc.Policy.EffectiveDate.IsZero() {
			opts.LastUpdated = v.AppliedAt // the policy gives no date: the day it was applied
		}
		var body []byte
		ct := "text/html; charset=utf-8"
		if in.Format == "md" {
			body, err = notice.Markdown(doc.Policy, opts)
			ct = "text/markdown; charset=utf-8"
		} else {
			body, err = notice.HTML(doc.Policy, opts)
		}
		if err != nil {
			return nil, err
		}
		return &rawOutput{ContentType: ct, ETag: etag(v.Hash + in.Format), Body: body}, nil
	})

	ropa := op(http.MethodGet, "/v1/ropa", "getROPA", "Record of processing activities (GDPR Art. 30)", auth.PermPolicyRead, tag)
	ropa.Description += " The Art. 30(1) record derived from the active policy, one entry per purpose."
	ropa.Errors = append(ropa.Errors, http.StatusNotFound)
	ropa.Responses = map[string]*huma.Response{"200": {Description: "The record.", Content: map[string]*huma.MediaType{
		"application/json": {Schema: &huma.Schema{Type: "object"}},
		"text/csv":         {Schema: &huma.Schema{Type: "string"}},
	}}}
	register(s.api, ropa, func(ctx context.Context, in *ropaInput) (*rawOutput, error) {
		a, err := s.deps.Tenants.Active(ctx, caller(ctx).TenantID)
		if err != nil {
			return nil, s.policyError(ctx, err)
		}
		if in.Format == "csv" {
			var buf bytes.Buffer
			if err := notice.ROPACSV(a.Policy(), &buf); err != nil {
				return nil, err
			}
			return &rawOutput{
				ContentType:        "text/csv; charset=utf-8",
				ContentDisposition: `attachment; filename="ropa-v` + strconv.Itoa(a.Version.Version) + `.csv"`,
				Body:               buf.Bytes(),
			}, nil
		}
		b, err := notice.ROPAJSON(a.Policy())
		if err != nil {
			return nil, err
		}
		return &rawOutput{ContentType: "application/json", Body: b}, nil
	})
}

func (s *Server) versionOrActive(ctx context.Context, n int) (store.PolicyVersion, *policy.Document, error) {
	tid := caller(ctx).TenantID
	if n > 0 {
		v, doc, err := s.deps.Tenants.Version(ctx, tid, n)
		if err != nil {
			return v, nil, s.policyError(ctx, err)
		}
		return v, doc, nil
	}
	a, err := s.deps.Tenants.Active(ctx, tid)
	if err != nil {
		return store.PolicyVersion{}, nil, s.policyError(ctx, err)
	}
	return a.Version, a.Doc, nil
}

func etag(hash string) string { return `"` + hash + `"` }

// checkPolicyContentType accepts the media types a policy may come in.
func checkPolicyContentType(ctx context.Context, ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errf(ctx, http.StatusUnsupportedMediaType, "", "Content-Type %q cannot be parsed.", ct)
	}
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json", "text/plain":
		return nil
	}
	return errf(ctx, http.StatusUnsupportedMediaType, "", "Send the policy as application/yaml or application/json, not %s.", mt)
}

// policyError maps domain errors of the policy operations to problems.
func (s *Server) policyError(ctx context.Context, err error) error {
	var perrs policy.Errors
	switch {
	case errors.As(err, &perrs):
		p := problem(http.StatusUnprocessableEntity, "invalid-policy",
			strconv.Itoa(len(perrs))+" problem(s) in the policy; nothing was changed.")
		for _, e := range perrs {
			p.Errors = append(p.Errors, ProblemDetail{Message: e.Msg, Location: e.Path, Line: e.Line, Column: e.Col})
		}
		return withRequestID(ctx, p)
	case errors.Is(err, tenant.ErrNoPolicy):
		return errf(ctx, http.StatusNotFound, "no-policy", "No policy has been applied yet. Apply one with PUT /v1/policy.")
	case errors.Is(err, tenant.ErrVersionNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such policy version.")
	case errors.Is(err, tenant.ErrTenantNotFound):
		return errf(ctx, http.StatusNotFound, "", "The tenant of this API key no longer exists.")
	}
	return err
}
