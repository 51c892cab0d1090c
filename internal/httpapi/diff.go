package httpapi

import "github.com/trustee-privacy/trustee/internal/policy"

// PolicyDiff is what changed between two policy versions.
type PolicyDiff struct {
	From      int               `json:"from,omitempty" doc:"Older version number (absent when comparing a submitted policy)."`
	To        int               `json:"to,omitempty" doc:"Newer version number (absent when comparing a submitted policy)."`
	Changes   []PolicyChange    `json:"changes" doc:"Every difference, grouped by area."`
	Reconsent []ReconsentReason `json:"reconsent" doc:"Consent-based purposes whose existing consents no longer cover the new policy and must be asked again."`
}

// PolicyChange is one difference between two versions.
type PolicyChange struct {
	Kind    string   `json:"kind" enum:"added,removed,changed"`
	Area    string   `json:"area" doc:"policy, controller, jurisdiction, category, field, collection, purpose, recipient, retention, cookie, rights or children." example:"purpose"`
	Key     string   `json:"key" doc:"What changed: a purpose key, a field name, a top-level key." example:"newsletter"`
	Details []string `json:"details,omitempty" doc:"One fact per line, e.g. 'categories added: user.name'."`
}

// ReconsentReason says why a purpose needs fresh consent.
type ReconsentReason struct {
	Purpose string `json:"purpose" example:"newsletter"`
	Reason  string `json:"reason" example:"new recipients: mailer"`
}

func diffBody(d *policy.DiffResult) *PolicyDiff {
	if d == nil {
		return nil
	}
	out := &PolicyDiff{Changes: make([]PolicyChange, 0, len(d.Changes)), Reconsent: make([]ReconsentReason, 0, len(d.Reconsent))}
	for _, c := range d.Changes {
		out.Changes = append(out.Changes, PolicyChange{Kind: string(c.Kind), Area: c.Area, Key: c.Key, Details: c.Details})
	}
	for _, r := range d.Reconsent {
		out.Reconsent = append(out.Reconsent, ReconsentReason{Purpose: r.Purpose, Reason: r.Reason})
	}
	return out
}
