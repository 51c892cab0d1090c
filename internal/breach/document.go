package breach

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Document is the notification to the supervisory authority: every item
// Art. 33(3) requires, the controller and the authority from the policy,
// the timeline, and the reasons for a delay beyond 72 hours.
type Document struct {
	BreachID string `json:"breach_id"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Regime   string `json:"regime"`
	// Controller and SupervisoryAuthority come from the active policy.
	Controller           DocController     `json:"controller"`
	SupervisoryAuthority *policy.Authority `json:"supervisory_authority,omitempty"`
	// Art. 33(3)(a): nature, categories and approximate numbers.
	Nature         string        `json:"nature"`
	Categories     []DocCategory `json:"categories"`
	ApproxSubjects int64         `json:"approx_subjects"`
	ApproxRecords  int64         `json:"approx_records,omitempty"`
	// Art. 33(3)(b): the DPO or other contact point.
	DPO policy.Contact `json:"dpo"`
	// Art. 33(3)(c) and (d).
	LikelyConsequences string `json:"likely_consequences"`
	Measures           string `json:"measures"`
	// Risk is the confirmed level ("" until assessed) and the suggestion.
	Risk          string `json:"risk,omitempty"`
	SuggestedRisk string `json:"suggested_risk"`
	// Encrypted: the data stayed encrypted with uncompromised keys.
	Encrypted bool        `json:"encrypted"`
	Timeline  DocTimeline `json:"timeline"`
	// Late is true when the authority is (or was) told more than 72 hours
	// after awareness; DelayReason gives the reasons (Art. 33(1)).
	Late        bool             `json:"late"`
	DelayReason string           `json:"delay_reason,omitempty"`
	Reference   string           `json:"authority_reference,omitempty"`
	Notices     map[string]int64 `json:"notices"`
	GeneratedAt time.Time        `json:"generated_at"`
}

// DocController identifies the controller.
type DocController struct {
	Name               string `json:"name"`
	Address            string `json:"address,omitempty"`
	Country            string `json:"country,omitempty"`
	Email              string `json:"email,omitempty"`
	Phone              string `json:"phone,omitempty"`
	RegistrationNumber string `json:"registration_number,omitempty"`
}

// DocCategory is a data category with its readable name.
type DocCategory struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Special bool   `json:"special,omitempty"`
}

// DocTimeline is when each step happened; zero times are absent.
type DocTimeline struct {
	DetectedAt          time.Time `json:"detected_at"`
	AwareAt             time.Time `json:"aware_at"`
	Deadline            time.Time `json:"deadline"`
	AssessedAt          time.Time `json:"assessed_at,omitzero"`
	AuthorityNotifiedAt time.Time `json:"authority_notified_at,omitzero"`
	PeopleNotifiedAt    time.Time `json:"people_notified_at,omitzero"`
	ClosedAt            time.Time `json:"closed_at,omitzero"`
}

// Notification builds the authority notification document of a breach.
func (s *Service) Notification(ctx context.Context, tenantID, id string) (Document, error) {
	b, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Document{}, err
	}
	doc, err := s.policyDoc(ctx, tenantID)
	if err != nil {
		return Document{}, err
	}
	var p *policy.Policy
	if doc != nil {
		p = doc.Policy
	}
	d := b.Details
	out := Document{
		BreachID: b.ID, Title: b.Title, Status: b.Status, Regime: d.Regime, Nature: d.Nature,
		ApproxSubjects: b.Affected, ApproxRecords: d.ApproxRecords, DPO: dpoContact(d, p),
		LikelyConsequences: d.Consequences, Measures: d.Measures, Risk: b.Risk, SuggestedRisk: b.Suggested,
		Encrypted: d.Encrypted, Late: b.Overdue, Notices: b.Notices, GeneratedAt: s.now(),
		Timeline: DocTimeline{DetectedAt: b.DetectedAt, AwareAt: b.AwareAt, Deadline: b.Deadline, AssessedAt: b.AssessedAt,
			AuthorityNotifiedAt: b.AuthorityNotifiedAt, PeopleNotifiedAt: b.PeopleNotifiedAt, ClosedAt: b.ClosedAt},
	}
	if p != nil {
		c := p.Controller
		out.Controller = DocController{Name: c.Name, Address: c.Address, Country: c.Country, Email: c.Email, Phone: c.Phone, RegistrationNumber: c.RegistrationNumber}
		out.SupervisoryAuthority = c.SupervisoryAuthority
	}
	if a := d.Authority; a != nil {
		out.DelayReason, out.Reference = a.DelayReason, a.Reference
	}
	seen := map[string]bool{}
	for _, c := range append(append([]string{}, d.Categories...), d.Scope.Categories...) {
		if seen[c] {
			continue
		}
		seen[c] = true
		dc := DocCategory{Key: c, Name: c}
		if doc != nil {
			if info, ok := doc.Taxonomy().Lookup(c); ok {
				dc.Name, dc.Special = info.Name, info.Special
			}
		}
		out.Categories = append(out.Categories, dc)
	}
	if out.Categories == nil {
		out.Categories = []DocCategory{}
	}
	return out, nil
}

// Markdown renders the document for people: the same fields as the JSON,
// under the headings of Art. 33(3).
func (d Document) Markdown() string {
	var w strings.Builder
	t := func(at time.Time) string {
		if at.IsZero() {
			return "—"
		}
		return at.UTC().Format("2006-01-02 15:04 UTC")
	}
	or := func(s, dflt string) string {
		if strings.TrimSpace(s) == "" {
			return dflt
		}
		return s
	}
	fmt.Fprintf(&w, "# Personal data breach notification\n\n")
	fmt.Fprintf(&w, "Notification under Article 33 GDPR. Breach %s: %s. Status: %s. Generated %s.\n\n", d.BreachID, d.Title, d.Status, t(d.GeneratedAt))
	fmt.Fprintf(&w, "## Controller\n\n%s", or(d.Controller.Name, "(no policy applied)"))
	for _, s := range []string{d.Controller.Address, d.Controller.Country, d.Controller.Email, d.Controller.Phone} {
		if s != "" {
			fmt.Fprintf(&w, ", %s", s)
		}
	}
	if d.Controller.RegistrationNumber != "" {
		fmt.Fprintf(&w, " (registration %s)", d.Controller.RegistrationNumber)
	}
	w.WriteString("\n\n## Supervisory authority\n\n")
	if a := d.SupervisoryAuthority; a != nil {
		fmt.Fprintf(&w, "%s", a.Name)
		for _, s := range []string{a.Country, a.Website, a.Email} {
			if s != "" {
				fmt.Fprintf(&w, ", %s", s)
			}
		}
		w.WriteString("\n\n")
	} else {
		w.WriteString("Not named in the policy.\n\n")
	}
	fmt.Fprintf(&w, "## Nature of the breach (Art. 33(3)(a))\n\n%s\n\n", or(d.Nature, "Not described yet."))
	w.WriteString("Categories of personal data concerned:\n\n")
	if len(d.Categories) == 0 {
		w.WriteString("- not determined yet\n")
	}
	for _, c := range d.Categories {
		special := ""
		if c.Special {
			special = " (special category, Art. 9)"
		}
		fmt.Fprintf(&w, "- %s (`%s`)%s\n", c.Name, c.Key, special)
	}
	fmt.Fprintf(&w, "\nApproximate number of people concerned: %d\n\n", d.ApproxSubjects)
	if d.ApproxRecords > 0 {
		fmt.Fprintf(&w, "Approximate number of records concerned: %d\n\n", d.ApproxRecords)
	} else {
		w.WriteString("Approximate number of records concerned: not known\n\n")
	}
	if d.Encrypted {
		w.WriteString("The data concerned stayed encrypted and the keys were not compromised.\n\n")
	}
	fmt.Fprintf(&w, "## Contact point (Art. 33(3)(b))\n\n%s", or(d.DPO.Name, "—"))
	for _, s := range []string{d.DPO.Email, d.DPO.Phone, d.DPO.Address} {
		if s != "" {
			fmt.Fprintf(&w, ", %s", s)
		}
	}
	fmt.Fprintf(&w, "\n\n## Likely consequences (Art. 33(3)(c))\n\n%s\n\n", or(d.LikelyConsequences, "Not described yet."))
	fmt.Fprintf(&w, "## Measures taken or proposed (Art. 33(3)(d))\n\n%s\n\n", or(d.Measures, "Not described yet."))
	fmt.Fprintf(&w, "## Risk assessment\n\nSuggested: %s. Confirmed by the DPO: %s.\n\n", d.SuggestedRisk, or(d.Risk, "not yet"))
	w.WriteString("## Timeline\n\n")
	fmt.Fprintf(&w, "| step | time |\n|---|---|\n| detected | %s |\n| aware (72-hour clock starts) | %s |\n| deadline for the authority | %s |\n",
		t(d.Timeline.DetectedAt), t(d.Timeline.AwareAt), t(d.Timeline.Deadline))
	fmt.Fprintf(&w, "| risk assessed | %s |\n| authority notified | %s |\n| people notified | %s |\n| closed | %s |\n\n",
		t(d.Timeline.AssessedAt), t(d.Timeline.AuthorityNotifiedAt), t(d.Timeline.PeopleNotifiedAt), t(d.Timeline.ClosedAt))
	if d.Reference != "" {
		fmt.Fprintf(&w, "Authority reference: %s\n\n", d.Reference)
	}
	if d.Late {
		fmt.Fprintf(&w, "## Reasons for the delay (Art. 33(1))\n\n%s\n\n", or(d.DelayReason, "Not given yet: the notification is later than 72 hours after awareness."))
	}
	if len(d.Notices) > 0 {
		w.WriteString("## Notices to the people concerned (Art. 34)\n\n")
		for _, st := range []string{store.NoticePending, store.NoticeQueued, store.NoticeDelivered, store.NoticeFailed, store.NoticeUnreachable} {
			if n := d.Notices[st]; n > 0 {
				fmt.Fprintf(&w, "- %s: %d\n", st, n)
			}
		}
		if d.Notices[store.NoticeUnreachable] > 0 {
			w.WriteString("\nPeople without an email address need a public communication (Art. 34(3)(c)).\n")
		}
	}
	return w.String()
}
