package notice

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// Record is the record of processing activities a controller must keep
// under GDPR Art. 30(1), generated from the policy so that it always
// matches what is enforced. It is plain data: the admin console shows it,
// and ROPAJSON and ROPACSV export it for the DPO and the authority.
type Record struct {
	// Controller is the organisation the record belongs to (Art. 30(1)(a)).
	Controller Party `json:"controller"`
	// DPO is the data protection officer, if one is appointed.
	DPO *Party `json:"dpo,omitempty"`
	// EURepresentative is the Art. 27 representative in the EU, if any.
	EURepresentative *Party `json:"eu_representative,omitempty"`
	// UKRepresentative is the representative in the UK, if any.
	UKRepresentative *Party `json:"uk_representative,omitempty"`
	// PolicyRevision is the policy's own label for the version recorded.
	PolicyRevision string `json:"policy_revision,omitempty"`
	// EffectiveDate is the date (YYYY-MM-DD) the policy applies from.
	EffectiveDate string `json:"effective_date,omitempty"`
	// Jurisdictions are the laws the policy applies (gdpr, uk_gdpr, ccpa).
	Jurisdictions []string `json:"jurisdictions"`
	// SecurityMeasures is the general description of technical and
	// organisational measures (Art. 30(1)(g)).
	SecurityMeasures string `json:"security_measures"`
	// BackupRetention says how long backups keep deleted data.
	BackupRetention string `json:"backup_retention,omitempty"`
	// Activities has one entry per purpose, in the policy's order.
	Activities []Activity `json:"activities"`
}

// Party is a named organisation or person with the contact details
// Art. 30(1)(a) asks for.
type Party struct {
	// Name is the legal name of the organisation, or the person or office.
	Name string `json:"name"`
	// Address is the postal address.
	Address string `json:"address,omitempty"`
	// Country is the ISO 3166-1 alpha-2 country of establishment, if known.
	Country string `json:"country,omitempty"`
	// Email is the contact address.
	Email string `json:"email,omitempty"`
	// Phone is the contact number.
	Phone string `json:"phone,omitempty"`
	// RegistrationNumber identifies the company in its register.
	RegistrationNumber string `json:"registration_number,omitempty"`
}

// Activity is one processing activity: a purpose of the policy with
// everything Art. 30(1)(b)-(g) asks for.
type Activity struct {
	// Key is the purpose key used in the API.
	Key string `json:"key"`
	// Name is the purpose's short name.
	Name string `json:"name"`
	// Purpose describes what is done and why (Art. 30(1)(b)).
	Purpose string `json:"purpose"`
	// Role is "controller" or "processor" (then Art. 30(2) applies and
	// Controller names on whose behalf we act).
	Role string `json:"role"`
	// Controller is who decides this processing: us, or our customers.
	Controller string `json:"controller"`
	// LegalBasis is the Art. 6(1) basis key (consent, contract...).
	LegalBasis string `json:"legal_basis"`
	// LegalBasisArticle is the article, for example "Art. 6(1)(f)".
	LegalBasisArticle string `json:"legal_basis_article"`
	// LegalBasisDetail is the legitimate interest or the law relied on.
	LegalBasisDetail string `json:"legal_basis_detail,omitempty"`
	// SpecialCategoryCondition is the Art. 9(2) condition, if any.
	SpecialCategoryCondition string `json:"special_category_condition,omitempty"`
	// DataSubjects are the categories of people concerned (Art. 30(1)(c)).
	DataSubjects []string `json:"data_subjects"`
	// DataCategories are the categories of personal data (Art. 30(1)(c)).
	DataCategories []CategoryRef `json:"data_categories"`
	// Recipients are who the data is disclosed to (Art. 30(1)(d)).
	Recipients []RecipientRef `json:"recipients"`
	// Transfers are disclosures to third countries with their safeguards
	// (Art. 30(1)(e)).
	Transfers []Transfer `json:"third_country_transfers"`
	// Retention gives the time limits for erasure (Art. 30(1)(f)).
	Retention []RetentionRef `json:"retention"`
	// SecurityMeasures repeats the policy's security description
	// (Art. 30(1)(g)) so each row of an export stands on its own.
	SecurityMeasures string `json:"security_measures"`
	// DirectMarketing marks processing an objection stops unconditionally.
	DirectMarketing bool `json:"direct_marketing"`
	// SaleOrShare marks a sale or sharing under the CCPA.
	SaleOrShare bool `json:"sale_or_share"`
	// AutomatedDecisions marks profiling or automated decision-making.
	AutomatedDecisions bool `json:"automated_decisions"`
}

// CategoryRef is a data category by key and human name, flagged when the
// law gives it extra protection.
type CategoryRef struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Special marks a GDPR Art. 9 special category.
	Special bool `json:"special,omitempty"`
	// Sensitive marks CPRA sensitive personal information.
	Sensitive bool `json:"sensitive,omitempty"`
}

// RecipientRef is a recipient as the record lists it (Art. 30(1)(d)).
type RecipientRef struct {
	// Key is the recipient's key in the policy.
	Key string `json:"key"`
	// Name is the recipient's legal name.
	Name string `json:"name"`
	// Role is processor, third_party, joint_controller or public_authority.
	Role string `json:"role"`
	// Country is where the data is processed (ISO 3166-1 alpha-2).
	Country string `json:"country"`
	// CountryName is the country in words.
	CountryName string `json:"country_name"`
}

// Transfer is a disclosure to a recipient in a third country, with the
// safeguard that makes it lawful (Art. 30(1)(e)).
type Transfer struct {
	// Recipient is the recipient's name.
	Recipient string `json:"recipient"`
	// Country is the third country (ISO 3166-1 alpha-2).
	Country string `json:"country"`
	// CountryName is the country in words.
	CountryName string `json:"country_name"`
	// Mechanism is the policy's transfer key (scc_2021_914, dpf...), empty
	// when the policy names none.
	Mechanism string `json:"mechanism"`
	// Safeguard is the mechanism in words, as the notice prints it.
	Safeguard string `json:"safeguard"`
}

// RetentionRef is a retention rule with its time limit in words
// (Art. 30(1)(f)).
type RetentionRef struct {
	// Key is the rule's key in the policy.
	Key string `json:"key"`
	// Period is the duration in short form (90d, 6mo, 10y).
	Period string `json:"period"`
	// Trigger is the event the period counts from.
	Trigger string `json:"trigger"`
	// Action is delete or anonymise.
	Action string `json:"action"`
	// KeptByLaw names the law that requires keeping the data, if any.
	KeptByLaw string `json:"kept_by_law,omitempty"`
	// Text is the whole rule in words, as the notice prints it.
	Text string `json:"text"`
}

// ROPA builds the record of processing activities from a policy: one
// activity per purpose. A nil policy gives an empty record.
func ROPA(p *policy.Policy) Record {
	rec := Record{Jurisdictions: []string{}, Activities: []Activity{}}
	if p == nil {
		return rec
	}
	c := &p.Controller
	rec.Controller = Party{
		Name: oneLine(c.Name), Address: oneLine(c.Address), Country: c.Country,
		Email: strings.TrimSpace(c.Email), Phone: oneLine(c.Phone),
		RegistrationNumber: oneLine(c.RegistrationNumber),
	}
	tax := taxonomyOf(p)
	rec.DPO = contactParty(c.DPO)
	rec.EURepresentative = contactParty(c.EURepresentative)
	rec.UKRepresentative = contactParty(c.UKRepresentative)
	rec.PolicyRevision = oneLine(p.Revision)
	rec.EffectiveDate = p.EffectiveDate.String()
	for _, j := range p.Jurisdictions {
		rec.Jurisdictions = append(rec.Jurisdictions, string(j))
	}
	rec.SecurityMeasures = oneLine(p.Security)
	rec.BackupRetention = p.BackupRetention.Human()

	for i := range p.Purposes {
		pu := &p.Purposes[i]
		a := Activity{
			Key:                      pu.Key,
			Name:                     oneLine(pu.Name),
			Purpose:                  oneLine(pu.Description),
			Role:                     string(roleOf(p, pu)),
			LegalBasis:               string(pu.LegalBasis),
			LegalBasisArticle:        legalBasisArticle(pu.LegalBasis),
			SpecialCategoryCondition: pu.SpecialCategoryCondition,
			DataSubjects:             []string{},
			DataCategories:           []CategoryRef{},
			Recipients:               []RecipientRef{},
			Transfers:                []Transfer{},
			Retention:                []RetentionRef{},
			SecurityMeasures:         rec.SecurityMeasures,
			DirectMarketing:          pu.DirectMarketing,
			SaleOrShare:              pu.SaleOrShare,
			AutomatedDecisions:       pu.AutomatedDecisions != nil,
		}
		if roleOf(p, pu) == policy.ModeProcessor {
			a.Controller = "Our customers, each the controller of its own data (we act as processor)"
		} else {
			a.Controller = rec.Controller.Name
		}
		switch pu.LegalBasis {
		case policy.BasisLegitimateInterests:
			a.LegalBasisDetail = oneLine(pu.LegitimateInterest)
		case policy.BasisLegalObligation:
			a.LegalBasisDetail = oneLine(pu.LegalObligation)
		}
		for _, d := range pu.DataSubjects {
			if d = oneLine(d); d != "" {
				a.DataSubjects = append(a.DataSubjects, d)
			}
		}
		for _, k := range pu.Categories {
			a.DataCategories = append(a.DataCategories, CategoryRef{
				Key: k, Name: categoryName(tax, k), Special: tax.IsSpecial(k), Sensitive: tax.IsSensitive(k),
			})
		}
		for _, k := range pu.Recipients {
			r := recipientByKey(p, k)
			if r == nil {
				continue
			}
			a.Recipients = append(a.Recipients, RecipientRef{
				Key: r.Key, Name: oneLine(r.Name), Role: string(r.Role),
				Country: strings.ToUpper(r.Country), CountryName: countryName(r.Country),
			})
			if isThirdCountry(p, r.Country) {
				a.Transfers = append(a.Transfers, Transfer{
					Recipient: oneLine(r.Name), Country: strings.ToUpper(r.Country),
					CountryName: countryName(r.Country), Mechanism: string(r.Transfer),
					Safeguard: recipientSafeguard(p, r),
				})
			}
		}
		for _, r := range retentionRulesFor(p, tax, pu) {
			a.Retention = append(a.Retention, RetentionRef{
				Key: r.Key, Period: r.Duration.String(), Trigger: string(r.Trigger),
				Action: string(r.Action), KeptByLaw: oneLine(r.KeptByLaw),
				Text: upperFirst(retentionWithLaw(r)),
			})
		}
		rec.Activities = append(rec.Activities, a)
	}
	return rec
}

// hasCCPA reports whether the record's policy applies the CCPA.
func (r *Record) hasCCPA() bool {
	for _, j := range r.Jurisdictions {
		if j == string(policy.CCPA) {
			return true
		}
	}
	return false
}

// contactParty converts an optional contact.
func contactParty(c *policy.Contact) *Party {
	if c == nil || strings.TrimSpace(c.Name+c.Email+c.Address+c.Phone) == "" {
		return nil
	}
	return &Party{Name: oneLine(c.Name), Address: oneLine(c.Address), Email: strings.TrimSpace(c.Email), Phone: oneLine(c.Phone)}
}

// ROPAJSON exports the record as indented JSON with stable snake_case
// field names, for archiving next to the policy version and for tools.
func ROPAJSON(p *policy.Policy) ([]byte, error) {
	if p == nil {
		return nil, ErrNilPolicy
	}
	b, err := json.MarshalIndent(ROPA(p), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("notice: encoding ROPA: %w", err)
	}
	return append(b, '\n'), nil
}

// ropaColumns is the CSV header; one row per processing activity.
var ropaColumns = []string{
	"activity_key", "activity", "role", "controller", "controller_contact",
	"dpo", "representatives", "purpose", "legal_basis",
	"special_category_condition", "data_subjects", "data_categories",
	"recipients", "third_country_transfers", "retention", "security_measures",
	"direct_marketing", "sale_or_share", "automated_decisions",
}

// ROPACSV writes the record as RFC 4180 CSV for spreadsheets: a header row,
// then one row per processing activity, with multi-valued cells joined by
// "; ". Cells that a spreadsheet would run as a formula are neutralised.
func ROPACSV(p *policy.Policy, w io.Writer) error {
	if p == nil {
		return ErrNilPolicy
	}
	rec := ROPA(p)
	cw := csv.NewWriter(w)
	if err := cw.Write(ropaColumns); err != nil {
		return fmt.Errorf("notice: writing ROPA CSV: %w", err)
	}
	contact := joinNonEmpty(", ", rec.Controller.Address, rec.Controller.Email, rec.Controller.Phone)
	dpo := ""
	if rec.DPO != nil {
		dpo = joinNonEmpty(", ", rec.DPO.Name, rec.DPO.Email, rec.DPO.Address, rec.DPO.Phone)
	}
	var reps []string
	if r := rec.EURepresentative; r != nil {
		reps = append(reps, "EU: "+joinNonEmpty(", ", r.Name, r.Email, r.Address, r.Phone))
	}
	if r := rec.UKRepresentative; r != nil {
		reps = append(reps, "UK: "+joinNonEmpty(", ", r.Name, r.Email, r.Address, r.Phone))
	}
	for i := range p.Purposes {
		a := rec.Activities[i]
		basis := legalBasisText(p, &p.Purposes[i])
		var cats, recs, trans, ret []string
		for _, c := range a.DataCategories {
			label := c.Name + " (" + c.Key
			if c.Special {
				label += ", special category"
			}
			if c.Sensitive && rec.hasCCPA() {
				label += ", sensitive"
			}
			cats = append(cats, label+")")
		}
		for _, r := range a.Recipients {
			recs = append(recs, r.Name+" ("+r.Role+", "+r.CountryName+")")
		}
		for _, t := range a.Transfers {
			trans = append(trans, t.Recipient+" to "+t.CountryName+": "+t.Safeguard)
		}
		for _, r := range a.Retention {
			ret = append(ret, r.Text)
		}
		row := []string{
			a.Key, a.Name, a.Role, a.Controller, contact,
			dpo, strings.Join(reps, "; "), a.Purpose, basis,
			a.SpecialCategoryCondition, strings.Join(a.DataSubjects, "; "), strings.Join(cats, "; "),
			strings.Join(recs, "; "), strings.Join(trans, "; "), strings.Join(ret, "; "), a.SecurityMeasures,
			strconv.FormatBool(a.DirectMarketing), strconv.FormatBool(a.SaleOrShare), strconv.FormatBool(a.AutomatedDecisions),
		}
		for j := range row {
			row[j] = csvSafe(row[j])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("notice: writing ROPA CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("notice: writing ROPA CSV: %w", err)
	}
	return nil
}

// csvSafe stops spreadsheet formula injection: a cell that starts with =,
// +, -, @ (or a tab or carriage return, which some programs skip before
// reading a formula) gets a leading single quote, so it is shown as text.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// joinNonEmpty joins the non-empty values.
func joinNonEmpty(sep string, vals ...string) string {
	var out []string
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, sep)
}
