package notice

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// This file turns policy codes into the words a notice uses. Each function
// is the single place a phrase is defined, so the HTML, the Markdown and the
// ROPA all say the same thing.

// countryName gives the English name of an ISO 3166-1 alpha-2 code for a
// table cell ("United States"), or the code itself if it is unknown.
func countryName(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	if n, ok := policy.CountryName(c); ok {
		return n
	}
	return c
}

// countriesWithThe are the names that take "the" in running text.
var countriesWithThe = map[string]bool{
	"US": true, "GB": true, "NL": true, "AE": true, "PH": true, "BS": true,
	"GM": true, "DO": true, "CF": true, "CD": true, "KY": true,
	"FO": true, "MV": true, "MH": true, "SB": true, "CK": true, "KM": true,
	"FK": true, "UM": true, "VI": true, "VG": true, "IO": true,
}

// countryInSentence gives the name as it reads after "in" ("the United
// States", "Norway").
func countryInSentence(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	n := countryName(c)
	if countriesWithThe[c] {
		return "the " + n
	}
	return n
}

// isThirdCountry reports whether disclosing data to a recipient in country
// is a transfer under GDPR Chapter V (or its UK equivalent) for this
// policy. Under the GDPR that is any country outside the EEA; under the UK
// GDPR alone, any country other than the UK; under the CCPA alone, none.
func isThirdCountry(p *policy.Policy, country string) bool {
	c := strings.ToUpper(strings.TrimSpace(country))
	if has(p, policy.GDPR) {
		return !policy.InEEA(c)
	}
	if has(p, policy.UKGDPR) {
		return c != "GB"
	}
	return false
}

// has reports whether the policy applies a jurisdiction.
func has(p *policy.Policy, j policy.Jurisdiction) bool {
	for _, x := range p.Jurisdictions {
		if x == j {
			return true
		}
	}
	return false
}

// gdprLike reports whether the GDPR or the UK GDPR applies, i.e. whether
// legal bases, Art. 13 information and the GDPR rights belong in the notice.
func gdprLike(p *policy.Policy) bool { return has(p, policy.GDPR) || has(p, policy.UKGDPR) }

// lawName is how articles are cited: "GDPR", or "UK GDPR" when only the UK
// regime applies (the article numbers are the same).
func lawName(p *policy.Policy) string {
	if !has(p, policy.GDPR) && has(p, policy.UKGDPR) {
		return "UK GDPR"
	}
	return "GDPR"
}

// basisNames gives the name and the Art. 6(1) letter of each legal basis.
var basisNames = map[policy.LegalBasis][2]string{
	policy.BasisConsent:             {"Consent", "a"},
	policy.BasisContract:            {"Contract", "b"},
	policy.BasisLegalObligation:     {"Legal obligation", "c"},
	policy.BasisVitalInterests:      {"Vital interests", "d"},
	policy.BasisPublicTask:          {"Public task", "e"},
	policy.BasisLegitimateInterests: {"Legitimate interests", "f"},
}

// legalBasisLabel gives "Legitimate interests (GDPR Art. 6(1)(f))".
func legalBasisLabel(p *policy.Policy, b policy.LegalBasis) string {
	n, ok := basisNames[b]
	if !ok {
		return humanise(string(b))
	}
	return n[0] + " (" + lawName(p) + " Art. 6(1)(" + n[1] + "))"
}

// legalBasisArticle gives "Art. 6(1)(f)" for the ROPA.
func legalBasisArticle(b policy.LegalBasis) string {
	if n, ok := basisNames[b]; ok {
		return "Art. 6(1)(" + n[1] + ")"
	}
	return ""
}

// legalBasisText is the full legal-basis sentence of a purpose: the basis
// with its article, then what it rests on (the interest, the law, the
// contract).
func legalBasisText(p *policy.Policy, pu *policy.Purpose) string {
	label := legalBasisLabel(p, pu.LegalBasis)
	var detail string
	switch pu.LegalBasis {
	case policy.BasisLegitimateInterests:
		detail = pu.LegitimateInterest
	case policy.BasisLegalObligation:
		detail = pu.LegalObligation
	case policy.BasisContract:
		if roleOf(p, pu) == policy.ModeProcessor {
			detail = "we process this data to perform our contract with the organisation we act for."
		} else {
			detail = "we need this data to perform our contract with you, or to take steps you ask for before entering into one."
		}
	case policy.BasisConsent:
		detail = "we do this only if you agree, and you can withdraw your consent at any time."
	case policy.BasisVitalInterests:
		detail = "to protect someone's life or physical safety."
	case policy.BasisPublicTask:
		detail = "to carry out a task in the public interest or in the exercise of official authority."
	}
	detail = oneLine(detail)
	if detail == "" {
		return label
	}
	return label + ": " + detail
}

// specialConditions gives the words and the Art. 9(2) letter of each
// condition for special categories of data.
var specialConditions = map[string][2]string{
	"explicit_consent":            {"your explicit consent", "a"},
	"employment":                  {"obligations and rights in employment, social security and social protection law", "b"},
	"vital_interests":             {"protecting your or someone else's vital interests when you cannot give consent", "c"},
	"non_profit":                  {"the legitimate activities of a not-for-profit body, about its members", "d"},
	"made_public":                 {"data you have manifestly made public yourself", "e"},
	"legal_claims":                {"establishing, exercising or defending legal claims", "f"},
	"substantial_public_interest": {"reasons of substantial public interest set out in law", "g"},
	"health_care":                 {"preventive or occupational medicine, medical diagnosis, or health or social care", "h"},
	"public_health":               {"reasons of public interest in public health", "i"},
	"archiving_research":          {"archiving in the public interest, scientific or historical research, or statistics", "j"},
}

// specialConditionText gives "your explicit consent (GDPR Art. 9(2)(a))".
func specialConditionText(p *policy.Policy, c string) string {
	if n, ok := specialConditions[c]; ok {
		return n[0] + " (" + lawName(p) + " Art. 9(2)(" + n[1] + "))"
	}
	return humanise(c)
}

// safeguardText gives a transfer safeguard in words, as the notice and the
// ROPA name it.
func safeguardText(m policy.TransferMechanism) string {
	switch m {
	case policy.TransferAdequacy:
		return "Adequacy decision of the European Commission (GDPR Art. 45)"
	case policy.TransferDPF:
		return "EU-US Data Privacy Framework (adequacy decision of 10 July 2023)"
	case policy.TransferSCC:
		return "EU standard contractual clauses (Commission Decision 2021/914)"
	case policy.TransferUKAddendum:
		return "EU standard contractual clauses with the UK International Data Transfer Addendum"
	case policy.TransferUKIDTA:
		return "UK International Data Transfer Agreement"
	case policy.TransferBCR:
		return "Binding corporate rules (GDPR Art. 47)"
	case policy.TransferDerogation:
		return "Derogation for a specific situation (GDPR Art. 49)"
	case "":
		return ""
	}
	return humanise(string(m))
}

// recipientSafeguard is the safeguard cell of the recipients table: the
// mechanism in words, or why none is needed.
func recipientSafeguard(p *policy.Policy, r *policy.Recipient) string {
	if r.Transfer != "" {
		return safeguardText(r.Transfer)
	}
	c := strings.ToUpper(strings.TrimSpace(r.Country))
	switch {
	case !isThirdCountry(p, c) && has(p, policy.GDPR):
		return "None needed (within the EEA)"
	case !isThirdCountry(p, c):
		return "None needed"
	case has(p, policy.GDPR) && policy.EUAdequate(c):
		return safeguardText(policy.TransferAdequacy)
	case !has(p, policy.GDPR) && policy.UKAdequate(c):
		return "UK adequacy regulations (UK GDPR Art. 45)"
	}
	return "Not stated"
}

// roleWords describes a recipient's role in a table cell.
func roleWords(r policy.RecipientRole) string {
	switch r {
	case policy.RoleProcessor:
		return "Processor (acts on our instructions)"
	case policy.RoleThirdParty:
		return "Third party (uses data for its own purposes)"
	case policy.RoleJointController:
		return "Joint controller (decides with us)"
	case policy.RolePublicAuthority:
		return "Public authority (when the law requires)"
	}
	return humanise(string(r))
}

// triggerWords is what a retention period counts from.
func triggerWords(t policy.RetentionTrigger) string {
	switch t {
	case policy.TriggerCollected:
		return "collection"
	case policy.TriggerLastActivity:
		return "your last activity"
	case policy.TriggerContractEnd:
		return "the end of the contract"
	case policy.TriggerAccountClosed:
		return "the closure of your account"
	}
	return humanise(string(t))
}

// actionWords is what happens when a retention period ends.
func actionWords(a policy.RetentionAction) string {
	switch a {
	case policy.ActionDelete:
		return "deleted"
	case policy.ActionAnonymise:
		return "anonymised"
	}
	return humanise(string(a))
}

// triggerClause is when a zero-length retention ends: "deleted
// immediately when you close your account".
func triggerClause(t policy.RetentionTrigger) string {
	switch t {
	case policy.TriggerCollected:
		return "after we collect it"
	case policy.TriggerLastActivity:
		return "after your last activity"
	case policy.TriggerContractEnd:
		return "when the contract ends"
	case policy.TriggerAccountClosed:
		return "when you close your account"
	}
	return "after " + triggerWords(t)
}

// retentionWords states a rule in words: "6 years from your last activity,
// then deleted", or for a zero-length rule "deleted immediately when you
// close your account".
func retentionWords(r *policy.RetentionRule) string {
	if r.Duration.Immediate() {
		a := actionWords(r.Action)
		if a == "" {
			a = "removed"
		}
		return a + " immediately " + triggerClause(r.Trigger)
	}
	s := r.Duration.Human() + " from " + triggerWords(r.Trigger)
	if r.Action != "" {
		s += ", then " + actionWords(r.Action)
	}
	return s
}

// retentionWithLaw adds the law that forces the period, for short mentions
// such as the "How long" line of a purpose.
func retentionWithLaw(r *policy.RetentionRule) string {
	s := retentionWords(r)
	if law := oneLine(r.KeptByLaw); law != "" {
		s += " (required by " + law + ")"
	}
	return s
}

// gdprRequestNouns name the GDPR request types in a list of requests.
var gdprRequestNouns = map[policy.RequestType]string{
	policy.ReqAccess:          "access",
	policy.ReqPortability:     "data portability",
	policy.ReqRectification:   "rectification",
	policy.ReqErasure:         "erasure",
	policy.ReqRestriction:     "restriction",
	policy.ReqObjection:       "objections",
	policy.ReqWithdrawConsent: "withdrawing consent",
}

// ccpaRequestVerbs complete "California requests to ...".
var ccpaRequestVerbs = map[policy.RequestType]string{
	policy.ReqCCPAKnow:    "know",
	policy.ReqCCPADelete:  "delete",
	policy.ReqCCPACorrect: "correct",
	policy.ReqCCPAOptOut:  "opt out of sale or sharing",
	policy.ReqCCPALimit:   "limit the use of sensitive personal information",
}

// verificationWords says how a verification level checks identity.
func verificationWords(v policy.VerificationLevel) string {
	switch v {
	case policy.VerifyNone:
		return "we act without asking you to prove who you are"
	case policy.VerifyEmailCode:
		return "we send a one-time code or link to the email address we hold for you, and you use it to confirm the request"
	case policy.VerifyAppToken:
		return "you make the request while signed in to your account, which shows us it is you"
	case policy.VerifyManual:
		return "a member of our privacy team checks your identity, using only information we already hold, and may ask you a few questions"
	}
	return humanise(string(v))
}

// verificationFor is the level that applies to a request type: the
// policy's setting or the documented default (email code; none for
// objection and opt-out, which must be as easy as possible).
func verificationFor(p *policy.Policy, t policy.RequestType) policy.VerificationLevel {
	if v, ok := p.Rights.Verification[t]; ok && v != "" {
		return v
	}
	switch t {
	case policy.ReqObjection, policy.ReqCCPAOptOut:
		return policy.VerifyNone
	}
	return policy.VerifyEmailCode
}

// dateWords writes a date the way people read it: "1 December 2026".
func dateWords(t time.Time) string { return t.Format("2 January 2006") }

// acronyms keeps well-known abbreviations upper case when keys are humanised.
var acronyms = map[string]string{
	"id": "ID", "ip": "IP", "url": "URL", "sms": "SMS", "api": "API",
	"ccpa": "CCPA", "gdpr": "GDPR", "uk": "UK", "eu": "EU", "eea": "EEA",
	"iban": "IBAN", "vat": "VAT", "ssn": "SSN", "dpf": "DPF", "scc": "SCC",
}

// humanise turns a key such as "billing_address" or "user.device.ip_address"
// (last segment) into words: "Billing address", "IP address".
func humanise(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	words := strings.FieldsFunc(key, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for i, w := range words {
		if a, ok := acronyms[strings.ToLower(w)]; ok {
			words[i] = a
		} else {
			words[i] = strings.ToLower(w)
		}
	}
	return upperFirst(strings.Join(words, " "))
}

// upperFirst capitalises the first letter.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// lowerFirst lower-cases the first letter unless the first word is an
// acronym or proper noun (all caps or contains caps after the first letter).
func lowerFirst(s string) string {
	w := s
	if i := strings.IndexByte(s, ' '); i >= 0 {
		w = s[:i]
	}
	if w == "" || strings.ToUpper(w) == w && len(w) > 1 {
		return s
	}
	if strings.IndexFunc(w[1:], unicode.IsUpper) >= 0 {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// oneLine collapses all whitespace, including newlines from YAML block
// scalars, into single spaces and trims the ends.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// paragraphs splits user text into paragraphs at blank lines and folds the
// lines of each paragraph, so text from YAML literal blocks renders as
// prose in both HTML and Markdown.
func paragraphs(s string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, oneLine(strings.Join(cur, " ")))
			cur = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

// sentence makes sure text ends with a full stop (or other final
// punctuation), so labelled items read as sentences.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?', ':', ')':
		if strings.HasSuffix(s, ")") && !strings.HasSuffix(s, ".)") {
			return s + "."
		}
		return s
	}
	return s + "."
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
