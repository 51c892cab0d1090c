package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// This file holds the semantic rules: a policy that decodes cleanly can
// still promise what Trustee cannot keep or the law does not allow. Each
// rule reports at the node that is wrong, so a DPO can go straight to it.
// docs/policy-reference.md lists the rules; keep the two in step.

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	emailRE = regexp.MustCompile(`^[^@\s<>()",;:]+@[^@\s<>()",;:]+\.[^@\s<>()",;:.]+$`)
	langRE  = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// Validate applies the semantic rules to a parsed Document and returns every
// error and warning (Warning set) found. It never modifies the Document.
// Load calls it; call it yourself only on a Document from Parse.
func Validate(d *Document) Errors {
	if d == nil || d.Policy == nil {
		return nil
	}
	v := &validator{d: d, p: d.Policy, ix: d.ix()}
	v.run()
	return v.out
}

type validator struct {
	d   *Document
	p   *Policy
	ix  *index
	out Errors
}

func (v *validator) add(warn bool, path, format string, args ...any) {
	line, col := v.d.Pos(path)
	if line == 0 {
		line, col = 1, 1
	}
	v.out = append(v.out, Error{File: v.d.Name, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...), Warning: warn})
}

func (v *validator) errf(path, format string, args ...any)  { v.add(false, path, format, args...) }
func (v *validator) warnf(path, format string, args ...any) { v.add(true, path, format, args...) }

func (v *validator) applies(j Jurisdiction) bool { return v.ix.jur[j] }

func (v *validator) run() {
	v.checkTop()
	v.checkController()
	v.checkCategories()
	v.checkRetention()
	v.checkFields()
	v.checkRecipients()
	v.checkPurposes()
	v.checkCookies()
	v.checkSites()
	v.checkRights()
	v.checkChildren()
	v.checkUsage()
}

func at(path string, i int) string { return joinIndex(path, i) }

// checkName checks a key or name against the naming rule.
func (v *validator) checkName(path, what, name string) {
	if name == "" || nameRE.MatchString(name) {
		return
	}
	hint := ""
	if s := toSnake(name); nameRE.MatchString(s) {
		hint = "; for example " + quote(s)
	}
	v.errf(path, "%s %s must be lower snake case: a letter a-z, then letters, digits or _ (at most 63 characters)%s", what, quote(name), hint)
}

// toSnake turns "Legal Basis" or "legalBasis" into a name that passes.
func toSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 && b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '_' || r == '.':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return strings.Trim(b.String(), "_")
}

// checkCategoryKey checks a dotted category key: each segment is a name.
func (v *validator) checkCategoryKey(path, key string) bool {
	if key == "" {
		return false
	}
	for _, seg := range strings.Split(key, ".") {
		if !nameRE.MatchString(seg) {
			v.errf(path, "category key %s must be dotted lower snake case segments, e.g. user.professional.skills", quote(key))
			return false
		}
	}
	return true
}

// checkCategoryRef checks that a category named by a field, purpose,
// recipient or custom category exists.
func (v *validator) checkCategoryRef(path, key string) {
	if key == "" || v.ix.tax.Has(key) {
		return
	}
	v.errf(path, "%s", then("unknown data category "+quote(key)+didYouMean(key, v.ix.tax.Keys()), "Use a built-in category (see docs/policy-reference.md) or declare it under categories."))
}

// uniq reports the second and later uses of one key in a list.
type uniq struct {
	v    *validator
	what string
	seen map[string]string // key -> path of first use
}

func (v *validator) newUniq(what string) *uniq {
	return &uniq{v: v, what: what, seen: map[string]string{}}
}

func (u *uniq) add(path, key string) {
	if key == "" {
		return
	}
	if first, dup := u.seen[key]; dup {
		line, _ := u.v.d.Pos(first)
		u.v.errf(path, "%s %s is declared twice (first at line %d)", u.what, quote(key), line)
		return
	}
	u.seen[key] = path
}

func (v *validator) checkEmail(path, s string) {
	if s != "" && !emailRE.MatchString(s) {
		v.errf(path, "%s is not an email address", quote(s))
	}
}

func (v *validator) checkURL(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errf(path, "%s is not an absolute http(s) URL, e.g. https://example.com/privacy", quote(s))
	}
}

func (v *validator) checkCountry(path, code string) bool {
	if code == "" {
		return false
	}
	if msg := checkCountry(code); msg != "" {
		v.errf(path, "%s", msg)
		return false
	}
	return true
}

func (v *validator) checkTop() {
	p := v.p
	seen := v.newUniq("jurisdiction")
	for i, j := range p.Jurisdictions {
		seen.add(at("jurisdictions", i), string(j))
	}
	if p.Language != "" && !langRE.MatchString(p.Language) {
		v.errf("language", "%s is not a BCP 47 language tag such as en, nb or en-GB", quote(p.Language))
	}
}

func (v *validator) checkController() {
	c := &v.p.Controller
	eeaOK := v.checkCountry("controller.country", c.Country)
	v.checkEmail("controller.email", c.Email)
	v.checkURL("controller.website", c.Website)
	for _, ct := range []struct {
		path string
		c    *Contact
	}{{"controller.dpo", c.DPO}, {"controller.eu_representative", c.EURepresentative}, {"controller.uk_representative", c.UKRepresentative}} {
		if ct.c != nil {
			v.checkEmail(ct.path+".email", ct.c.Email)
		}
	}
	if a := c.SupervisoryAuthority; a != nil {
		v.checkCountry("controller.supervisory_authority.country", a.Country)
		v.checkURL("controller.supervisory_authority.website", a.Website)
		v.checkEmail("controller.supervisory_authority.email", a.Email)
	} else {
		for _, j := range []Jurisdiction{GDPR, UKGDPR} {
			if v.applies(j) {
				v.errf("controller", "%s applies, so controller.supervisory_authority must name the supervisory authority people can complain to (Art. 13(2)(d))", lawName(j))
				break
			}
		}
	}
	if v.applies(GDPR) && eeaOK && !eeaCountries[c.Country] && c.EURepresentative == nil {
		v.errf("controller.country", "the controller is established outside the EEA (%s) and the GDPR applies, so controller.eu_representative must name its representative in the EU (GDPR Art. 27)", c.Country)
	}
	if v.applies(UKGDPR) && eeaOK && c.Country != "GB" && c.UKRepresentative == nil {
		v.errf("controller.country", "the controller is established outside the United Kingdom (%s) and the UK GDPR applies, so controller.uk_representative must name its representative in the UK (UK GDPR Art. 27)", c.Country)
	}
}

func lawName(j Jurisdiction) string {
	switch j {
	case GDPR:
		return "the GDPR"
	case UKGDPR:
		return "the UK GDPR"
	case CCPA:
		return "the CCPA"
	}
	return string(j)
}

func (v *validator) checkCategories() {
	seen := v.newUniq("category")
	custom := map[string]*Category{}
	for i := range v.p.Categories {
		c := &v.p.Categories[i]
		path := at("categories", i)
		if !v.checkCategoryKey(path+".key", c.Key) {
			continue
		}
		if builtinTaxonomy.Has(c.Key) {
			v.errf(path+".key", "category %s is built in (%s); custom categories cannot redefine built-in ones: use it as it is, or choose another key", quote(c.Key), builtinTaxonomy.Name(c.Key))
			continue
		}
		seen.add(path+".key", c.Key)
		if _, dup := custom[c.Key]; !dup {
			custom[c.Key] = c
		}
	}
	inCycle := map[string]bool{}
	for i := range v.p.Categories {
		c := &v.p.Categories[i]
		path := at("categories", i)
		if c.Parent == "" || builtinTaxonomy.Has(c.Key) || inCycle[c.Key] {
			continue
		}
		if c.Parent == c.Key {
			v.errf(path+".parent", "category %s cannot be its own parent", quote(c.Key))
			continue
		}
		if !v.ix.tax.Has(c.Parent) {
			v.errf(path+".parent", "parent %s of category %s does not exist%s", quote(c.Parent), quote(c.Key), didYouMean(c.Parent, v.ix.tax.Keys()))
			continue
		}
		// Follow declared parents through custom categories to find a cycle.
		chain := []string{c.Key}
		for k, steps := c.Parent, 0; steps <= len(custom); steps++ {
			chain = append(chain, k)
			if k == c.Key {
				v.errf(path+".parent", "categories form a cycle through their parents: %s", strings.Join(chain, " → "))
				for _, x := range chain {
					inCycle[x] = true
				}
				break
			}
			next, ok := custom[k]
			if !ok || next.Parent == "" {
				break
			}
			k = next.Parent
		}
	}
}

func (v *validator) checkRetention() {
	seen := v.newUniq("retention rule")
	for i := range v.p.Retention {
		r := &v.p.Retention[i]
		path := at("retention", i)
		v.checkName(path+".key", "retention rule key", r.Key)
		seen.add(path+".key", r.Key)
		if r.Duration.Immediate() && strings.TrimSpace(r.KeptByLaw) != "" {
			v.errf(path+".kept_by_law", "retention rule %s ends immediately (duration %s) but names a law that requires keeping the data (%s); give the period the law requires, or remove kept_by_law", quote(r.Key), r.Duration, oneLineText(r.KeptByLaw))
		}
	}
	if k := v.p.DefaultRetention; k != "" {
		if r := v.ix.retention[k]; r == nil {
			v.errf("default_retention", "no retention rule has the key %s%s", quote(k), didYouMean(k, v.retentionKeys()))
		} else if r.KeptByLaw != "" {
			v.warnf("default_retention", "the default retention rule %s is kept by law (%s): every field and collection without its own rule would survive erasure requests; give those that the law really requires their own rule", quote(k), r.KeptByLaw)
		}
	}
}

func (v *validator) retentionKeys() []string { return sortedKeys(v.ix.retention) }
func (v *validator) recipientKeys() []string { return sortedKeys(v.ix.recipients) }

func (v *validator) checkRetentionRef(path, key string) {
	if key != "" && v.ix.retention[key] == nil {
		v.errf(path, "no retention rule has the key %s%s", quote(key), didYouMean(key, v.retentionKeys()))
	}
}

// identityRoots are the categories an identity field may have: a value that
// identifies a person to look them up is contact data, an account name or a
// unique id.
var identityRoots = []string{"user.contact", "user.unique_id", "user.account"}

func (v *validator) checkFields() {
	names := map[string]string{} // fields and collections share the API namespace
	dup := func(path, kind, name string) {
		if name == "" {
			return
		}
		if first, ok := names[name]; ok {
			line, _ := v.d.Pos(first)
			v.errf(path, "%s name %s is already used (line %d); fields and collections need distinct names", kind, quote(name), line)
			return
		}
		names[name] = path
	}
	for i := range v.p.Fields {
		f := &v.p.Fields[i]
		path := at("fields", i)
		v.checkName(path+".name", "field name", f.Name)
		dup(path+".name", "field", f.Name)
		v.checkCategoryRef(path+".category", f.Category)
		v.checkRetentionRef(path+".retention", f.Retention)
		if f.Retention == "" && v.p.DefaultRetention == "" && f.Name != "" {
			v.errf(path, "field %s has no retention rule: set its retention, or default_retention for all fields", quote(f.Name))
		}
		if f.Identity != "" && f.Category != "" && v.ix.tax.Has(f.Category) {
			ok := false
			for _, root := range identityRoots {
				if v.ix.tax.Covers(root, f.Category) {
					ok = true
				}
			}
			if !ok {
				v.errf(path+".identity", "identity field %s has category %s; an identity must be contact data, an account name or a unique id (a category under %s)", quote(f.Name), f.Category, strings.Join(identityRoots, ", "))
			}
		}
	}
	for i := range v.p.Collections {
		c := &v.p.Collections[i]
		path := at("collections", i)
		v.checkName(path+".name", "collection name", c.Name)
		dup(path+".name", "collection", c.Name)
		v.checkCategoryRef(path+".category", c.Category)
		v.checkRetentionRef(path+".retention", c.Retention)
		if c.Retention == "" && v.p.DefaultRetention == "" && c.Name != "" {
			v.errf(path, "collection %s has no retention rule: set its retention, or default_retention", quote(c.Name))
		}
		v.checkAnonymise(path+".anonymise", c)
	}
}

// checkAnonymise checks what anonymisation keeps of a collection's records.
func (v *validator) checkAnonymise(path string, c *Collection) {
	a := c.Anonymise
	if len(a.Keep) == 0 && a.Generalise.Date == "" {
		return
	}
	if len(a.Keep) > 16 {
		v.errf(path+".keep", "anonymise keeps %d attributes; keep at most 16, and only coarse ones: every attribute kept makes a counted record easier to single out", len(a.Keep))
	}
	seen := map[string]bool{}
	for i, k := range a.Keep {
		v.checkName(at(path+".keep", i), "attribute", k)
		if seen[k] {
			v.errf(at(path+".keep", i), "attribute %s is kept twice", quote(k))
		}
		seen[k] = true
	}
	key := c.Retention
	if key == "" {
		key = v.p.DefaultRetention
	}
	if r := v.ix.retention[key]; r != nil && r.Action != ActionAnonymise {
		v.warnf(path, "collection %s says what anonymisation keeps, but its retention rule %s deletes records (action %s); the setting is unused", quote(c.Name), quote(key), r.Action)
	}
}

// transferValid says whether a mechanism is a valid safeguard for the
// country under one law, and why not.
func transferProblem(law Jurisdiction, country string, t TransferMechanism) string {
	name := isoCountries[country]
	switch t {
	case TransferAdequacy:
		if law == GDPR && !euAdequate[country] {
			if country == "US" {
				return "the United States has no general EU adequacy decision: use dpf if the recipient is certified under the EU-US Data Privacy Framework, otherwise scc_2021_914"
			}
			return fmt.Sprintf("%s (%s) has no EU adequacy decision (GDPR Art. 45); use scc_2021_914, bcr or derogation", name, country)
		}
		if law == UKGDPR && !ukAdequate[country] {
			if country == "US" {
				return "the United States has no general UK adequacy regulations: use dpf if the recipient is certified under the UK Extension to the Data Privacy Framework, otherwise uk_idta or uk_addendum"
			}
			return fmt.Sprintf("%s (%s) is not covered by UK adequacy regulations; use uk_idta, uk_addendum, bcr or derogation", name, country)
		}
	case TransferDPF:
		if country != "US" {
			return fmt.Sprintf("dpf (the Data Privacy Framework) covers only recipients in the United States, not %s (%s)", name, country)
		}
	case TransferSCC:
		if law == UKGDPR {
			return "the EU standard contractual clauses alone do not cover a transfer under the UK GDPR: use uk_addendum (the UK addendum to the EU SCCs) or uk_idta"
		}
	case TransferUKIDTA:
		if law == GDPR {
			return "uk_idta is a UK mechanism and does not cover a transfer under the GDPR: use scc_2021_914 (with the UK addendum, uk_addendum, if the UK GDPR applies too)"
		}
	}
	return ""
}

func (v *validator) checkRecipients() {
	seen := v.newUniq("recipient")
	for i := range v.p.Recipients {
		r := &v.p.Recipients[i]
		path := at("recipients", i)
		v.checkName(path+".key", "recipient key", r.Key)
		seen.add(path+".key", r.Key)
		cats := v.newUniq("category")
		for j, c := range r.Categories {
			cp := at(path+".categories", j)
			v.checkCategoryRef(cp, c)
			cats.add(cp, c)
		}
		v.checkURL(path+".privacy_url", r.PrivacyURL)
		if r.SaleOrShare && !v.applies(CCPA) {
			v.warnf(path+".sale_or_share", "recipient %s is marked sale_or_share, but the CCPA is not among the jurisdictions, so no do-not-sell opt-out is offered", quote(r.Key))
		}
		if !v.checkCountry(path+".country", r.Country) {
			continue
		}
		third := thirdCountry(v.ix.jur, r.Country)
		if !third {
			if r.Transfer != "" && (v.applies(GDPR) || v.applies(UKGDPR)) {
				v.warnf(path+".transfer", "%s (%s) is not a third country for this policy, so no transfer mechanism is needed", isoCountries[r.Country], r.Country)
			}
			continue
		}
		if r.Transfer == "" {
			law := "the GDPR"
			if !v.applies(GDPR) {
				law = "the UK GDPR"
			}
			v.errf(path+".country", "recipient %s is in %s (%s), a third country under %s, but names no transfer mechanism (transfer: adequacy, dpf, scc_2021_914, uk_addendum, uk_idta, bcr or derogation)", quote(r.Key), isoCountries[r.Country], r.Country, law)
			continue
		}
		laws := []Jurisdiction{}
		if v.applies(GDPR) {
			laws = append(laws, GDPR)
		}
		if v.applies(UKGDPR) && r.Country != "GB" {
			laws = append(laws, UKGDPR)
		}
		for _, law := range laws {
			if msg := transferProblem(law, r.Country, r.Transfer); msg != "" {
				v.errf(path+".transfer", "recipient %s: %s", quote(r.Key), msg)
				break
			}
		}
	}
}

// specialUse returns a special category the purpose would read: one of its
// own categories, or a declared field or collection one of them covers.
func (v *validator) specialUse(pp *Purpose) string {
	tax := v.ix.tax
	for _, c := range pp.Categories {
		if tax.IsSpecial(c) {
			return c
		}
	}
	held := func(cat string) bool {
		if cat == "" || !tax.IsSpecial(cat) {
			return false
		}
		for _, c := range pp.Categories {
			if tax.Covers(c, cat) {
				return true
			}
		}
		return false
	}
	for _, f := range v.p.Fields {
		if held(f.Category) {
			return f.Category
		}
	}
	for _, c := range v.p.Collections {
		if held(c.Category) {
			return c.Category
		}
	}
	return ""
}

func (v *validator) checkPurposes() {
	seen := v.newUniq("purpose")
	for i := range v.p.Purposes {
		pp := &v.p.Purposes[i]
		path := at("purposes", i)
		name := quote(pp.Key)
		v.checkName(path+".key", "purpose key", pp.Key)
		seen.add(path+".key", pp.Key)
		cats := v.newUniq("category")
		for j, c := range pp.Categories {
			cp := at(path+".categories", j)
			v.checkCategoryRef(cp, c)
			cats.add(cp, c)
		}
		v.checkRetentionRef(path+".retention", pp.Retention)
		recs := v.newUniq("recipient")
		for j, k := range pp.Recipients {
			rp := at(path+".recipients", j)
			recs.add(rp, k)
			if k != "" && v.ix.recipients[k] == nil {
				v.errf(rp, "no recipient has the key %s%s", quote(k), didYouMean(k, v.recipientKeys()))
			}
		}

		basis := path + ".legal_basis"
		switch pp.LegalBasis {
		case BasisLegitimateInterests:
			if strings.TrimSpace(pp.LegitimateInterest) == "" {
				v.errf(basis, "purpose %s is based on legitimate interests but does not say which interest is pursued (legitimate_interest), which the notice must state (GDPR Art. 13(1)(d))", name)
			}
		case BasisLegalObligation:
			if strings.TrimSpace(pp.LegalObligation) == "" {
				v.errf(basis, "purpose %s is based on a legal obligation but does not name the law (legal_obligation)", name)
			}
		case BasisConsent:
			if pp.Consent == nil {
				v.errf(basis, "purpose %s is based on consent but gives no way to withdraw it (consent.withdrawal)", name)
			}
		}
		if pp.LegalBasis != "" {
			if pp.Consent != nil && pp.LegalBasis != BasisConsent {
				v.errf(path+".consent", "purpose %s has a consent block but its legal basis is %s; remove the consent block or change legal_basis to consent", name, pp.LegalBasis)
			}
			if pp.LegitimateInterest != "" && pp.LegalBasis != BasisLegitimateInterests {
				v.warnf(path+".legitimate_interest", "purpose %s states a legitimate interest but its legal basis is %s; the text is not used", name, pp.LegalBasis)
			}
			if pp.LegalObligation != "" && pp.LegalBasis != BasisLegalObligation {
				v.warnf(path+".legal_obligation", "purpose %s names a legal obligation but its legal basis is %s; the text is not used", name, pp.LegalBasis)
			}
			if pp.DirectMarketing && pp.LegalBasis != BasisConsent && pp.LegalBasis != BasisLegitimateInterests {
				v.errf(basis, "purpose %s is direct marketing, which can only be based on consent or legitimate interests, not %s", name, pp.LegalBasis)
			}
		}

		special := v.specialUse(pp)
		cond := path + ".special_category_condition"
		switch {
		case special != "" && pp.SpecialCategoryCondition == "":
			v.errf(path+".categories", "purpose %s uses special category data (%s, GDPR Art. 9) but names no special_category_condition (the Art. 9(2) exception it relies on)", name, special)
		case special == "" && pp.SpecialCategoryCondition != "":
			v.warnf(cond, "purpose %s names a special_category_condition but uses no special category data", name)
		}
		if pp.SpecialCategoryCondition == "explicit_consent" && pp.LegalBasis != "" && pp.LegalBasis != BasisConsent {
			v.errf(cond, "purpose %s relies on explicit consent for special category data, but its legal basis is %s: Trustee records and honours consent only for purposes based on consent; set legal_basis: consent", name, pp.LegalBasis)
		}

		if pp.SaleOrShare && !v.applies(CCPA) {
			v.warnf(path+".sale_or_share", "purpose %s is marked sale_or_share, but the CCPA is not among the jurisdictions, so no do-not-sell opt-out is offered", name)
		}
		if pp.AutomatedDecisions != nil {
			if strings.TrimSpace(v.p.AutomatedDecisions) == "" {
				v.errf(path+".automated_decisions", "purpose %s makes automated decisions, so the policy needs the top-level automated_decisions statement for the notice (GDPR Art. 13(2)(f))", name)
			}
			if pp.AutomatedDecisions.LegalEffect && (pp.LegalBasis == BasisLegitimateInterests || pp.LegalBasis == BasisVitalInterests) {
				v.errf(basis, "purpose %s makes automated decisions with legal or similarly significant effect, which GDPR Art. 22(2) allows only when necessary for a contract, authorised by law or with explicit consent, not on %s", name, pp.LegalBasis)
			}
		}
	}
}

func (v *validator) checkCookies() {
	seen := v.newUniq("cookie")
	for i := range v.p.Cookies {
		c := &v.p.Cookies[i]
		path := at("cookies", i)
		seen.add(path+".name", c.Name)
		if strings.ContainsAny(c.Name, " \t;,=\"") {
			v.errf(path+".name", "cookie name %s cannot contain spaces, quotes or any of ; , =", quote(c.Name))
		}
		if c.Recipient != "" && v.ix.recipients[c.Recipient] == nil {
			v.errf(path+".recipient", "no recipient has the key %s%s", quote(c.Recipient), didYouMean(c.Recipient, v.recipientKeys()))
		}
	}
	if strings.TrimSpace(v.p.CookieSettings) != "" {
		optional := false
		for _, c := range v.p.Cookies {
			if c.Category != CookieNecessary {
				optional = true
			}
		}
		if !optional {
			v.warnf("cookie_settings", "cookie_settings says how to change cookie choices, but no cookie needs consent (all are necessary, or none is declared), so there is no choice to change and the notice leaves the text out")
		}
	}
}

// oneLineText folds a text onto one line for a message.
func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

// minCalendarDays is the shortest a statutory period can be in calendar
// days: one month is as short as February.
func lawLimit(j Jurisdiction) (days int, text string) {
	switch j {
	case GDPR, UKGDPR:
		return 28, "one month"
	case CCPA:
		return 45, "45 days"
	}
	return 0, ""
}

// maxCalendarDays bounds how long a promised period can last in calendar
// days. Working days also allow for one public holiday per working week,
// since holiday calendars differ by jurisdiction.
func maxCalendarDays(p Period) int {
	d := p.ApproxDays()
	if p.Unit == WorkingDays {
		d += (p.N + 4) / 5
	}
	return d
}

func (v *validator) checkRights() {
	dl := v.p.Rights.Deadlines
	if !dl.Respond.IsZero() {
		for _, j := range []Jurisdiction{GDPR, UKGDPR, CCPA} {
			if !v.applies(j) {
				continue
			}
			limit, text := lawLimit(j)
			ok := maxCalendarDays(dl.Respond) <= limit
			if (j == GDPR || j == UKGDPR) && dl.Respond.Unit == Months {
				ok = dl.Respond.N <= 1
			}
			if !ok {
				v.errf("rights.deadlines.respond", "respond %s can be longer than %s allows (%s, at most %d calendar days at the shortest); set a deadline no longer than the law's or leave it out to use the law's", dl.Respond, lawName(j), text, limit)
				break
			}
		}
	}
	if !dl.Confirm.IsZero() {
		if v.applies(CCPA) && maxCalendarDays(dl.Confirm) > 14 && !(dl.Confirm.Unit == WorkingDays && dl.Confirm.N <= 10) {
			v.errf("rights.deadlines.confirm", "confirm %s can be longer than the CCPA allows (10 business days)", dl.Confirm)
		}
		if !dl.Respond.IsZero() && dl.Confirm.Unit == dl.Respond.Unit && dl.Confirm.N > dl.Respond.N {
			v.errf("rights.deadlines.confirm", "confirming receipt (%s) cannot take longer than answering (%s)", dl.Confirm, dl.Respond)
		}
	}
	for _, rt := range sortedKeys(v.p.Rights.Verification) {
		if risk := unverifiedRisk[rt]; risk != "" && v.p.Rights.Verification[rt] == VerifyNone {
			v.errf("rights.verification."+string(rt), "verification none for %s would let anyone who asks %s; use email_code, app_token or manual", rt, risk)
		}
	}
}

// unverifiedRisk says what an unverified request of a type would let a
// stranger do; such types cannot be set to verification none.
var unverifiedRisk = map[RequestType]string{
	ReqAccess:        "obtain another person's data",
	ReqPortability:   "obtain another person's data",
	ReqCCPAKnow:      "obtain another person's data",
	ReqErasure:       "erase another person's data",
	ReqCCPADelete:    "erase another person's data",
	ReqRectification: "change another person's data",
	ReqCCPACorrect:   "change another person's data",
}

func (v *validator) checkChildren() {
	age := v.p.Children.MinimumAge
	const path = "children.minimum_age"
	switch {
	case age == 0:
	case age < 0 || age > 21:
		v.errf(path, "minimum_age %d is not a plausible minimum age (use 13 to 16, or up to 21 for an adults-only service; 0 or leave it out for none)", age)
	case age < 13 && (v.applies(GDPR) || v.applies(UKGDPR)):
		v.errf(path, "minimum_age %d is below 13, the lowest age at which a child can consent on its own under GDPR Art. 8", age)
	case age < 13:
		v.warnf(path, "minimum_age %d is below 13: collecting data of children under 13 needs verifiable parental consent under COPPA", age)
	case age > 16 && (v.applies(GDPR) || v.applies(UKGDPR)):
		v.warnf(path, "minimum_age %d is above the GDPR Art. 8 range (13 to 16): fine for a service only for older people, but then people aged 16 to %d are excluded, not asked for parental consent", age, age-1)
	}
}

// checkUsage warns about declarations nothing uses: data collected for no
// purpose is a red flag for data minimisation (GDPR Art. 5(1)(c)).
func (v *validator) checkUsage() {
	usedCat := func(cat string) bool {
		if cat == "" || !v.ix.tax.Has(cat) {
			return true // reported as unknown already
		}
		return len(v.d.PurposesUsing(cat)) > 0
	}
	for i, f := range v.p.Fields {
		if !usedCat(f.Category) {
			v.warnf(at("fields", i)+".category", "no purpose uses field %s (category %s): data collected for no purpose should not be collected", quote(f.Name), f.Category)
		}
	}
	for i, c := range v.p.Collections {
		if !usedCat(c.Category) {
			v.warnf(at("collections", i)+".category", "no purpose uses collection %s (category %s): data collected for no purpose should not be collected", quote(c.Name), c.Category)
		}
	}
	named := map[string][]*Purpose{}
	for i := range v.p.Purposes {
		for _, k := range v.p.Purposes[i].Recipients {
			named[k] = append(named[k], &v.p.Purposes[i])
		}
	}
	for i, r := range v.p.Recipients {
		path := at("recipients", i)
		ps := named[r.Key]
		if len(ps) == 0 {
			v.warnf(path+".key", "no purpose names recipient %s, so Trustee will never disclose data to it; add it to the recipients of the purposes it serves", quote(r.Key))
			continue
		}
		for j, c := range r.Categories {
			covered := false
			for _, pp := range ps {
				for _, pc := range pp.Categories {
					if v.ix.tax.Covers(pc, c) || v.ix.tax.Covers(c, pc) {
						covered = true
					}
				}
			}
			if !covered && v.ix.tax.Has(c) {
				v.warnf(at(path+".categories", j), "recipient %s receives %s, but no purpose that names it uses that category", quote(r.Key), c)
			}
		}
	}
	usedRule := map[string]bool{v.p.DefaultRetention: true}
	for _, f := range v.p.Fields {
		usedRule[f.Retention] = true
	}
	for _, c := range v.p.Collections {
		usedRule[c.Retention] = true
	}
	for _, pp := range v.p.Purposes {
		usedRule[pp.Retention] = true
	}
	for i, r := range v.p.Retention {
		if r.Key != "" && !usedRule[r.Key] {
			v.warnf(at("retention", i)+".key", "retention rule %s is not used by any field, collection or purpose, nor as default_retention", quote(r.Key))
		}
	}
}
