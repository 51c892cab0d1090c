package export

import (
	"context"
	"sort"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// RequestSummary is one of the person's data-subject requests, as the
// access report lists it (no free text: the person's own words stay with
// the request).
type RequestSummary struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Status      string    `json:"status"`
	ReceivedAt  time.Time `json:"received_at"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// RequestLister lists a subject's data-subject requests for the access
// report. It is optional (internal/rights implements it; the export
// package must not import it, as rights calls the export).
type RequestLister interface {
	SubjectRequests(ctx context.Context, tenantID, subjectID string) ([]RequestSummary, error)
}

// Processing is the information GDPR Art. 15(1)(a)-(h) and (2) require
// beside the copy of the data, taken from the active policy.
type Processing struct {
	Controller           policy.Controller `json:"controller"`
	PolicyVersion        int               `json:"policy_version"`
	Purposes             []PurposeInfo     `json:"purposes"`
	Recipients           []RecipientInfo   `json:"recipients"`
	Retention            []RetentionInfo   `json:"retention"`
	Sources              []string          `json:"sources" doc:"Third parties the data may come from (Art. 14, 15(1)(g))."`
	AutomatedDecisions   string            `json:"automated_decisions,omitempty"`
	Rights               []string          `json:"rights"`
	RightsContact        string            `json:"rights_contact,omitempty"`
	SupervisoryAuthority *policy.Authority `json:"supervisory_authority,omitempty"`
}

// PurposeInfo is one purpose of processing.
type PurposeInfo struct {
	Key                string   `json:"key"`
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	LegalBasis         string   `json:"legal_basis"`
	LegitimateInterest string   `json:"legitimate_interest,omitempty"`
	LegalObligation    string   `json:"legal_obligation,omitempty"`
	Categories         []string `json:"categories"`
	Recipients         []string `json:"recipients"`
	Retention          string   `json:"retention,omitempty"`
	AutomatedDecisions string   `json:"automated_decisions,omitempty"`
}

// RecipientInfo is a recipient of the data; Received lists the categories
// of the person's data held that it receives.
type RecipientInfo struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	Role       string   `json:"role"`
	Country    string   `json:"country"`
	Transfer   string   `json:"transfer,omitempty"`
	Purpose    string   `json:"purpose,omitempty"`
	Categories []string `json:"categories"`
	Received   []string `json:"received"`
}

// RetentionInfo is how long one field or collection is kept.
type RetentionInfo struct {
	Data        string `json:"data"`
	Rule        string `json:"rule"`
	Duration    string `json:"duration"`
	Trigger     string `json:"trigger"`
	Action      string `json:"action"`
	KeptByLaw   string `json:"kept_by_law,omitempty"`
	Description string `json:"description,omitempty"`
}

// rightsText are the person's rights named in the report, per regime.
func rightsText(doc *policy.Document) []string {
	var out []string
	if doc.Applies(policy.GDPR) || doc.Applies(policy.UKGDPR) {
		out = append(out,
			"Access to your data and to this information (GDPR Art. 15)",
			"Rectification of inaccurate or incomplete data (Art. 16)",
			"Erasure (Art. 17)",
			"Restriction of processing (Art. 18)",
			"Portability of the data you provided (Art. 20)",
			"Objection to processing based on legitimate interests or for direct marketing (Art. 21)",
			"Withdrawal of consent at any time, without affecting earlier processing (Art. 7(3))",
			"Not to be subject to a decision based solely on automated processing (Art. 22)",
			"Complaint to a supervisory authority (Art. 77)")
	}
	if doc.Applies(policy.CCPA) {
		out = append(out,
			"Know what personal information is collected, used and disclosed (CCPA)",
			"Delete and correct personal information (CCPA)",
			"Opt out of the sale or sharing of personal information (CCPA)",
			"Limit the use of sensitive personal information (CPRA)",
			"Non-discrimination for exercising these rights (CCPA)")
	}
	return out
}

// processing builds the policy part of the report; held are the categories
// of the person's data present in the export.
func processing(doc *policy.Document, version int, held map[string]bool, names []string) Processing {
	p := doc.Policy
	out := Processing{Controller: p.Controller, PolicyVersion: version, Sources: append([]string{}, p.Sources...),
		AutomatedDecisions: p.AutomatedDecisions, Rights: rightsText(doc), RightsContact: p.Rights.Contact,
		SupervisoryAuthority: p.Controller.SupervisoryAuthority, Purposes: []PurposeInfo{}, Recipients: []RecipientInfo{}, Retention: []RetentionInfo{}}
	for _, pu := range p.Purposes {
		pi := PurposeInfo{Key: pu.Key, Name: pu.Name, Description: pu.Description, LegalBasis: string(pu.LegalBasis),
			LegitimateInterest: pu.LegitimateInterest, LegalObligation: pu.LegalObligation,
			Categories: append([]string{}, pu.Categories...), Recipients: append([]string{}, pu.Recipients...), Retention: pu.Retention}
		if pu.AutomatedDecisions != nil {
			pi.AutomatedDecisions = pu.AutomatedDecisions.Logic + " " + pu.AutomatedDecisions.Significance
		}
		out.Purposes = append(out.Purposes, pi)
	}
	tax := doc.Taxonomy()
	for _, r := range p.Recipients {
		ri := RecipientInfo{Key: r.Key, Name: r.Name, Role: string(r.Role), Country: r.Country, Transfer: string(r.Transfer),
			Purpose: r.Purpose, Categories: append([]string{}, r.Categories...), Received: []string{}}
		for c := range held {
			for _, rc := range r.Categories {
				if tax.Covers(rc, c) {
					ri.Received = append(ri.Received, c)
					break
				}
			}
		}
		sort.Strings(ri.Received)
		out.Recipients = append(out.Recipients, ri)
	}
	for _, n := range names {
		rule := doc.RetentionFor(n)
		if rule == nil {
			continue
		}
		out.Retention = append(out.Retention, RetentionInfo{Data: n, Rule: rule.Key, Duration: rule.Duration.String(),
			Trigger: string(rule.Trigger), Action: string(rule.Action), KeptByLaw: rule.KeptByLaw, Description: rule.Description})
	}
	return out
}

// portable reports whether an item may go into a portability export (GDPR
// Art. 20(1)): the person provided it, and it is processed on consent or
// on a contract.
func portable(doc *policy.Document, category, source string) bool {
	if source != string(policy.SourceProvided) || category == "" {
		return false
	}
	for _, pu := range doc.PurposesUsing(category) {
		if pu.LegalBasis == policy.BasisConsent || pu.LegalBasis == policy.BasisContract {
			return true
		}
	}
	return false
}
