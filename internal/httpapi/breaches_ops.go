package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/breach"
	"github.com/trustee-privacy/trustee/internal/policy"
)

// BreachScope is whose data a breach concerns.
type BreachScope struct {
	SubjectIDs []string  `json:"subject_ids,omitempty" maxItems:"1000" doc:"Subjects known to be concerned."`
	APIKeyIDs  []string  `json:"api_key_ids,omitempty" maxItems:"100" doc:"Compromised API key ids: every subject they read in the window is concerned."`
	Actors     []string  `json:"actors,omitempty" maxItems:"100" doc:"Other audit actors (e.g. staff:<id>) treated like api_key_ids."`
	Categories []string  `json:"categories,omitempty" maxItems:"100" doc:"Limit reads by those actors to these categories; without actors, every subject whose data in them was stored or changed in the window."`
	From       time.Time `json:"from,omitzero" doc:"Start of the window of access (RFC 3339)."`
	Until      time.Time `json:"until,omitzero" doc:"End of the window (exclusive)."`
}

// BreachBody is the description of a breach, for create and update.
type BreachBody struct {
	Title         string          `json:"title,omitempty" maxLength:"200" doc:"Short name of the incident."`
	Nature        string          `json:"nature,omitempty" maxLength:"8000" doc:"What happened (Art. 33(3)(a))."`
	DetectedAt    time.Time       `json:"detected_at,omitzero" doc:"When the incident was detected."`
	AwareAt       time.Time       `json:"aware_at,omitzero" doc:"When the controller became aware of a personal data breach: the 72-hour clock starts here. Defaults to detected_at."`
	Categories    []string        `json:"categories,omitempty" maxItems:"100" doc:"Data categories concerned."`
	Scope         *BreachScope    `json:"scope,omitempty" doc:"Whose data is concerned; used to compute the affected set."`
	ApproxRecords int64           `json:"approx_records,omitempty" minimum:"0" doc:"Approximate number of records concerned, if known."`
	Consequences  string          `json:"consequences,omitempty" maxLength:"8000" doc:"Likely consequences (Art. 33(3)(c))."`
	Measures      string          `json:"measures,omitempty" maxLength:"8000" doc:"Measures taken or proposed (Art. 33(3)(d))."`
	PersonAdvice  string          `json:"person_advice,omitempty" maxLength:"8000" doc:"What people can do to protect themselves, for the notices."`
	DPO           *policy.Contact `json:"dpo,omitempty" doc:"Contact point for this breach; defaults to the policy's DPO."`
	Encrypted     bool            `json:"encrypted,omitempty" doc:"The data stayed encrypted and the keys were not compromised."`
	Children      bool            `json:"children,omitempty" doc:"Children's data is concerned."`
}

func (b BreachBody) input() breach.Input {
	in := breach.Input{Title: b.Title, Nature: b.Nature, DetectedAt: b.DetectedAt, AwareAt: b.AwareAt, Categories: b.Categories,
		ApproxRecords: b.ApproxRecords, Consequences: b.Consequences, Measures: b.Measures, PersonAdvice: b.PersonAdvice,
		DPO: b.DPO, Encrypted: b.Encrypted, Children: b.Children}
	if b.Scope != nil {
		in.Scope = breach.Scope(*b.Scope)
	}
	return in
}

// BreachInfo is a breach as the API shows it.
type BreachInfo struct {
	ID                  string           `json:"id"`
	Title               string           `json:"title"`
	Status              string           `json:"status" enum:"open,assessed,authority_notified,people_notified,closed"`
	DetectedAt          time.Time        `json:"detected_at"`
	AwareAt             time.Time        `json:"aware_at"`
	Deadline            time.Time        `json:"authority_deadline" doc:"aware_at + 72 hours (Art. 33(1))."`
	Overdue             bool             `json:"overdue" doc:"The deadline passed without (or before) the authority being told."`
	Risk                string           `json:"risk,omitempty" doc:"The risk level the DPO confirmed."`
	SuggestedRisk       string           `json:"suggested_risk"`
	SuggestedReasons    []string         `json:"suggested_reasons"`
	Affected            int64            `json:"affected" doc:"Size of the affected set."`
	Notices             map[string]int64 `json:"notices" doc:"Affected subjects per notice state."`
	Details             breach.Details   `json:"details"`
	AssessedAt          *time.Time       `json:"assessed_at,omitempty"`
	AuthorityNotifiedAt *time.Time       `json:"authority_notified_at,omitempty"`
	PeopleNotifiedAt    *time.Time       `json:"people_notified_at,omitempty"`
	ClosedAt            *time.Time       `json:"closed_at,omitempty"`
	CreatedBy           string           `json:"created_by"`
	CreatedAt           time.Time        `json:"created_at"`
	UpdatedAt           time.Time        `json:"updated_at"`
}

func breachInfo(b breach.Breach) BreachInfo {
	out := BreachInfo{ID: b.ID, Title: b.Title, Status: b.Status, DetectedAt: b.DetectedAt, AwareAt: b.AwareAt, Deadline: b.Deadline,
		Overdue: b.Overdue, Risk: b.Risk, SuggestedRisk: b.Suggested, SuggestedReasons: b.SuggestedReasons, Affected: b.Affected,
		Notices: b.Notices, Details: b.Details, AssessedAt: optTime(b.AssessedAt), AuthorityNotifiedAt: optTime(b.AuthorityNotifiedAt),
		PeopleNotifiedAt: optTime(b.PeopleNotifiedAt), ClosedAt: optTime(b.ClosedAt), CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
	if out.Notices == nil {
		out.Notices = map[string]int64{}
	}
	if out.SuggestedReasons == nil {
		out.SuggestedReasons = []string{}
	}
	return out
}

type breachOutput struct {
	Status int
	Body   BreachInfo
}

type breachIDInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
}

type createBreachInput struct{ Body BreachBody }

type updateBreachInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	Body BreachBody
}

type listBreachesOutput struct {
	Body struct {
		Breaches []BreachInfo `json:"breaches" doc:"Newest first."`
	}
}

type affectedListInput struct {
	ID    string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	After string `query:"after" maxLength:"64" doc:"Subject id of the previous page's last row."`
	State string `query:"state" enum:"pending,queued,delivered,failed,unreachable" doc:"Only subjects whose notice is in this state."`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

// AffectedSubject is one subject of an affected set: ids only.
type AffectedSubject struct {
	SubjectID   string    `json:"subject_id"`
	Basis       string    `json:"basis" doc:"explicit, read_by_actor or stored_in_window."`
	NoticeState string    `json:"notice_state" doc:"pending, queued, delivered, failed or unreachable (no email: a public communication is needed, Art. 34(3)(c))."`
	MessageID   string    `json:"message_id,omitempty" doc:"The outbox message of the notice."`
	UpdatedAt   time.Time `json:"updated_at"`
}

type affectedListOutput struct {
	Body struct {
		Subjects []AffectedSubject `json:"subjects"`
	}
}

type affectedComputeOutput struct{ Body breach.AffectedResult }

type assessInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	Body struct {
		Risk   string `json:"risk" enum:"none,low,risk,high" doc:"The risk level the DPO confirms."`
		Reason string `json:"reason,omitempty" maxLength:"2000" doc:"Required when it differs from the suggested level."`
	}
}

type authorityInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	Body struct {
		At          time.Time `json:"at,omitzero" doc:"When the authority was notified; defaults to now."`
		Reference   string    `json:"reference,omitempty" maxLength:"128" doc:"The authority's case reference."`
		DelayReason string    `json:"delay_reason,omitempty" maxLength:"8000" doc:"Reasons for the delay; required later than 72 hours after awareness (Art. 33(1))."`
	}
}

type closeInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	Body *struct {
		Note string `json:"note,omitempty" maxLength:"8000" doc:"Why it is closed."`
	}
}

type notifyOutput struct{ Body breach.NotifyResult }

type notificationInput struct {
	ID     string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Breach id."`
	Format string `query:"format" enum:"json,md" default:"json" doc:"json, or md for Markdown."`
}

// breachActor names the caller for the audit log.
func breachActor(ctx context.Context) breach.Actor {
	p := caller(ctx)
	return breach.Actor{ID: p.Actor(), Role: string(p.Role), RequestID: RequestID(ctx)}
}

// breachError maps breach errors to problems.
func breachError(ctx context.Context, err error) error {
	var ie *breach.InputError
	var se *breach.StateError
	switch {
	case errors.As(err, &ie):
		return inputProblem(ctx, ie, "body.")
	case errors.Is(err, breach.ErrNotFound):
		return errf(ctx, http.StatusNotFound, "", "There is no such breach.")
	case errors.As(err, &se):
		return errf(ctx, http.StatusConflict, "", "%s.", se.Msg)
	case errors.Is(err, breach.ErrNoOutbox):
		return errf(ctx, http.StatusServiceUnavailable, "", "No outbox is configured to send notices.")
	}
	return err
}

func (s *Server) registerBreaches() {
	tag := "Breaches"
	perm := auth.PermBreaches
	create := op(http.MethodPost, "/v1/breaches", "createBreach", "Record a personal data breach", perm, tag)
	create.Description += " The 72-hour clock for the supervisory authority (Art. 33(1)) starts at aware_at. Audited."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusUnprocessableEntity)
	register(s.api, create, func(ctx context.Context, in *createBreachInput) (*breachOutput, error) {
		b, err := s.deps.Breach.Create(ctx, caller(ctx).TenantID, in.Body.input(), breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusCreated, Body: breachInfo(b)}, nil
	})

	list := op(http.MethodGet, "/v1/breaches", "listBreaches", "List breaches", perm, tag)
	register(s.api, list, func(ctx context.Context, _ *struct{}) (*listBreachesOutput, error) {
		bs, err := s.deps.Breach.List(ctx, caller(ctx).TenantID, 1000)
		if err != nil {
			return nil, breachError(ctx, err)
		}
		out := &listBreachesOutput{}
		out.Body.Breaches = make([]BreachInfo, 0, len(bs))
		for _, b := range bs {
			out.Body.Breaches = append(out.Body.Breaches, breachInfo(b))
		}
		return out, nil
	})

	get := op(http.MethodGet, "/v1/breaches/{id}", "getBreach", "Read a breach", perm, tag)
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s.api, get, func(ctx context.Context, in *breachIDInput) (*breachOutput, error) {
		b, err := s.deps.Breach.Get(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusOK, Body: breachInfo(b)}, nil
	})

	update := op(http.MethodPatch, "/v1/breaches/{id}", "updateBreach", "Update a breach's description", perm, tag)
	update.Description += " Fields given replace the stored ones; fields left out are kept. Audited."
	update.Errors = append(update.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, update, func(ctx context.Context, in *updateBreachInput) (*breachOutput, error) {
		p := in.Body
		b, err := s.deps.Breach.Update(ctx, caller(ctx).TenantID, in.ID, func(cur *breach.Input) {
			setIf(&cur.Title, p.Title)
			setIf(&cur.Nature, p.Nature)
			setIf(&cur.Consequences, p.Consequences)
			setIf(&cur.Measures, p.Measures)
			setIf(&cur.PersonAdvice, p.PersonAdvice)
			if !p.DetectedAt.IsZero() {
				cur.DetectedAt = p.DetectedAt
			}
			if !p.AwareAt.IsZero() {
				cur.AwareAt = p.AwareAt
			}
			if p.Categories != nil {
				cur.Categories = p.Categories
			}
			if p.Scope != nil {
				cur.Scope = breach.Scope(*p.Scope)
			}
			if p.ApproxRecords != 0 {
				cur.ApproxRecords = p.ApproxRecords
			}
			if p.DPO != nil {
				cur.DPO = p.DPO
			}
			cur.Encrypted = cur.Encrypted || p.Encrypted
			cur.Children = cur.Children || p.Children
		}, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusOK, Body: breachInfo(b)}, nil
	})

	compute := op(http.MethodPost, "/v1/breaches/{id}/affected", "computeBreachAffected", "Compute the affected set", perm, tag)
	compute.Description += " From the scope and the audit log: subjects the scope's API keys read in the window, subjects whose data in the scope's categories was stored in it, and the explicit ones. Ids only. Audited."
	compute.Errors = append(compute.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, compute, func(ctx context.Context, in *breachIDInput) (*affectedComputeOutput, error) {
		r, err := s.deps.Breach.ComputeAffected(ctx, caller(ctx).TenantID, in.ID, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &affectedComputeOutput{Body: r}, nil
	})

	affected := op(http.MethodGet, "/v1/breaches/{id}/affected", "listBreachAffected", "List the affected subjects", perm, tag)
	affected.Errors = append(affected.Errors, http.StatusNotFound)
	register(s.api, affected, func(ctx context.Context, in *affectedListInput) (*affectedListOutput, error) {
		rows, err := s.deps.Breach.Affected(ctx, caller(ctx).TenantID, in.ID, in.After, in.State, in.Limit)
		if err != nil {
			return nil, breachError(ctx, err)
		}
		out := &affectedListOutput{}
		out.Body.Subjects = make([]AffectedSubject, 0, len(rows))
		for _, r := range rows {
			out.Body.Subjects = append(out.Body.Subjects, AffectedSubject{SubjectID: r.SubjectID, Basis: r.Basis,
				NoticeState: r.NoticeState, MessageID: r.MessageID, UpdatedAt: r.UpdatedAt})
		}
		return out, nil
	})

	assess := op(http.MethodPost, "/v1/breaches/{id}/assessment", "assessBreach", "Confirm or override the risk assessment", perm, tag)
	assess.Description += " A level other than the suggested one needs a reason. Audited."
	assess.Errors = append(assess.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, assess, func(ctx context.Context, in *assessInput) (*breachOutput, error) {
		b, err := s.deps.Breach.Assess(ctx, caller(ctx).TenantID, in.ID, in.Body.Risk, in.Body.Reason, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusOK, Body: breachInfo(b)}, nil
	})

	authority := op(http.MethodPost, "/v1/breaches/{id}/authority-notification", "recordBreachAuthorityNotification",
		"Record the notification of the supervisory authority", perm, tag)
	authority.Description += " Later than 72 hours after awareness, delay_reason is required (Art. 33(1)). Audited."
	authority.Errors = append(authority.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, authority, func(ctx context.Context, in *authorityInput) (*breachOutput, error) {
		b, err := s.deps.Breach.RecordAuthority(ctx, caller(ctx).TenantID, in.ID, in.Body.At, in.Body.Reference, in.Body.DelayReason, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusOK, Body: breachInfo(b)}, nil
	})

	notify := op(http.MethodPost, "/v1/breaches/{id}/notify", "notifyBreachPeople", "Notify the people affected (Art. 34)", perm, tag)
	notify.Description += " Emails every pending affected subject through the outbox, once per person however often it is called; people without an email address are marked unreachable. Needs a confirmed high risk."
	notify.Errors = append(notify.Errors, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable)
	register(s.api, notify, func(ctx context.Context, in *breachIDInput) (*notifyOutput, error) {
		r, err := s.deps.Breach.NotifyPeople(ctx, caller(ctx).TenantID, in.ID, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &notifyOutput{Body: r}, nil
	})

	cls := op(http.MethodPost, "/v1/breaches/{id}/close", "closeBreach", "Close a breach", perm, tag)
	cls.Errors = append(cls.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
	register(s.api, cls, func(ctx context.Context, in *closeInput) (*breachOutput, error) {
		note := ""
		if in.Body != nil {
			note = in.Body.Note
		}
		b, err := s.deps.Breach.Close(ctx, caller(ctx).TenantID, in.ID, note, breachActor(ctx))
		if err != nil {
			return nil, breachError(ctx, err)
		}
		return &breachOutput{Status: http.StatusOK, Body: breachInfo(b)}, nil
	})

	doc := op(http.MethodGet, "/v1/breaches/{id}/notification", "getBreachNotification", "The notification document for the authority", perm, tag)
	doc.Description += " Every item of Art. 33(3), the controller and the authority from the policy, the timeline and the reasons for a delay."
	doc.Errors = append(doc.Errors, http.StatusNotFound)
	doc.Responses = map[string]*huma.Response{"200": {Description: "The document.", Content: map[string]*huma.MediaType{
		"application/json": {Schema: &huma.Schema{Type: "object"}},
		"text/markdown":    {Schema: &huma.Schema{Type: "string"}},
	}}}
	register(s.api, doc, func(ctx context.Context, in *notificationInput) (*rawOutput, error) {
		d, err := s.deps.Breach.Notification(ctx, caller(ctx).TenantID, in.ID)
		if err != nil {
			return nil, breachError(ctx, err)
		}
		if in.Format == "md" {
			return &rawOutput{ContentType: "text/markdown; charset=utf-8", Body: []byte(d.Markdown())}, nil
		}
		body, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, err
		}
		return &rawOutput{ContentType: "application/json", Body: body}, nil
	})
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
