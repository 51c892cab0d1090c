package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
)

// runBudget bounds a sweep started by POST /v1/retention/run, below the
// request timeout: what it did is committed batch by batch, and the answer
// says whether it finished (the periodic sweep goes on otherwise).
const runBudget = 20 * time.Second

type planInput struct {
	Days int `query:"days" minimum:"0" maximum:"3650" default:"30" doc:"Look this many days ahead; 0 shows what is due now."`
}

type planOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         retention.Plan
}

type runOutput struct{ Body retention.Result }

type triggerInput struct {
	ID   string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
	Body *struct {
		At time.Time `json:"at,omitempty" doc:"When it happened or will happen (RFC 3339); defaults to now."`
	}
}

type triggerClearInput struct {
	ID string `path:"id" pattern:"^[0-9a-f-]{36}$" doc:"Subject id."`
}

type triggerOutput struct{ Body retention.TriggerResult }

// retentionActor names the caller for the audit log.
func retentionActor(ctx context.Context) retention.Actor {
	p := caller(ctx)
	return retention.Actor{ID: p.Actor(), Role: string(p.Role), RequestID: RequestID(ctx)}
}

// retentionError maps retention errors to problems.
func retentionError(ctx context.Context, err error) error {
	var ie *retention.InputError
	switch {
	case errors.As(err, &ie):
		return errf(ctx, http.StatusUnprocessableEntity, "validation", "%s; nothing was changed.", ie.Msg)
	case errors.Is(err, retention.ErrNotFound), errors.Is(err, retention.ErrErased):
		return errf(ctx, http.StatusNotFound, "", "There is no such subject or legal hold.")
	case errors.Is(err, retention.ErrNoPolicy):
		return errf(ctx, http.StatusConflict, "no-policy", "No policy has been applied yet; apply one with PUT /v1/policy first.")
	}
	return err
}

func (s *Server) registerRetention() {
	tag := "Retention"
	plan := op(http.MethodGet, "/v1/retention/plan", "retentionPlan", "What retention will delete or anonymise", auth.PermRetentionRead, tag)
	plan.Description += " A dry run: the rows whose retention ends within `days`, counted per rule, field and collection, from the stored due times; " +
		"legal holds in force, whether a policy change is still being applied, and accounts of children below the minimum age. No values."
	plan.Errors = append(plan.Errors, http.StatusConflict)
	register(s.api, plan, func(ctx context.Context, in *planInput) (*planOutput, error) {
		p, err := s.deps.Retention.PlanFor(ctx, caller(ctx).TenantID, in.Days)
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		return &planOutput{CacheControl: "no-store", Body: p}, nil
	})

	run := op(http.MethodPost, "/v1/retention/run", "retentionRun", "Run the retention sweep now", auth.PermRetentionRun, tag)
	run.Description += fmt.Sprintf(" Deletes or anonymises what is due and no legal hold keeps, in batches, each audited; erases or flags children per the policy. "+
		"It works for up to %s; `complete` is false if it stopped before the end (what it did is kept, and the periodic sweep goes on).", runBudget)
	run.Errors = append(run.Errors, http.StatusConflict)
	register(s.api, run, func(ctx context.Context, _ *struct{}) (*runOutput, error) {
		rctx, cancel := context.WithTimeout(ctx, runBudget)
		defer cancel()
		r, err := s.deps.Retention.Sweep(rctx, caller(ctx).TenantID)
		if err != nil {
			return nil, retentionError(ctx, err)
		}
		return &runOutput{Body: r}, nil
	})

	for _, t := range []struct {
		trigger policy.RetentionTrigger
		path    string
		name    string
		id      string
	}{
		{policy.TriggerContractEnd, "contract-end", "the end of the subject's contract", "ContractEnd"},
		{policy.TriggerAccountClosed, "account-closed", "the closure of the subject's account", "AccountClosed"},
	} {
		set := op(http.MethodPost, "/v1/subjects/{id}/"+t.path, "set"+t.id, "Record "+t.name, auth.PermSubjectsWrite, "Subjects")
		set.Description += " Retention rules counted from " + string(t.trigger) + " start from `at` (default now; it may lie in the future). " +
			"Due times move in the same transaction; what is already due (rules of 0d, immediately) is deleted or anonymised before the answer."
		set.Errors = append(set.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusConflict)
		trigger := t.trigger
		register(s.api, set, func(ctx context.Context, in *triggerInput) (*triggerOutput, error) {
			at := time.Now()
			if in.Body != nil && !in.Body.At.IsZero() {
				at = in.Body.At
			}
			r, err := s.deps.Retention.SetTrigger(ctx, caller(ctx).TenantID, in.ID, trigger, at, retentionActor(ctx))
			if err != nil {
				return nil, retentionError(ctx, err)
			}
			return &triggerOutput{Body: r}, nil
		})
		clr := op(http.MethodDelete, "/v1/subjects/{id}/"+t.path, "clear"+t.id, "Withdraw "+t.name, auth.PermSubjectsWrite, "Subjects")
		clr.Description += " For a renewed contract or a reopened account: rules counted from " + string(t.trigger) + " have no due time again. Data already deleted stays deleted."
		clr.Errors = append(clr.Errors, http.StatusNotFound, http.StatusConflict)
		register(s.api, clr, func(ctx context.Context, in *triggerClearInput) (*triggerOutput, error) {
			r, err := s.deps.Retention.SetTrigger(ctx, caller(ctx).TenantID, in.ID, trigger, time.Time{}, retentionActor(ctx))
			if err != nil {
				return nil, retentionError(ctx, err)
			}
			return &triggerOutput{Body: r}, nil
		})
	}
}
