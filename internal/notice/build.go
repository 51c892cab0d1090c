package notice

import (
	"slices"
	"strconv"
	"strings"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// build turns a policy into the notice's document model. Sections follow
// the order a reader needs (and GDPR Art. 13/14 lists): who we are, what
// and why, sources, recipients and transfers, retention, rights, cookies,
// children, automated decisions, security, changes, contact.
func build(p *policy.Policy, o Options) *document {
	b := &builder{p: p, o: o, tax: taxonomyOf(p)}
	d := &document{
		Lang:     langOf(p),
		Title:    o.Title,
		Subtitle: oneLine(p.Controller.Name),
	}
	if strings.TrimSpace(d.Title) == "" {
		d.Title = "Privacy notice"
	}
	d.Meta = b.meta()
	d.Intro = b.intro()
	d.Sections = []section{
		b.whoWeAre(),
		b.purposes(),
		b.sources(),
		b.recipients(),
		b.retention(),
		b.rights(),
		b.cookies(),
		b.children(),
		b.automated(),
		b.security(),
		b.changes(),
		b.contact(),
	}
	d.finish()
	return d
}

// builder holds what every section needs.
type builder struct {
	p   *policy.Policy
	o   Options
	tax *policy.Taxonomy
}

// langOf gives the page language: the policy's own, or English.
func langOf(p *policy.Policy) string {
	l := strings.TrimSpace(p.Language)
	if l == "" || strings.ContainsAny(l, " \"'<>&") {
		return "en"
	}
	return l
}

// lastUpdated is the date shown as "last updated": the option, else the
// policy's effective date.
func (b *builder) lastUpdated() string {
	if !b.o.LastUpdated.IsZero() {
		return dateWords(b.o.LastUpdated)
	}
	if !b.p.EffectiveDate.IsZero() {
		return dateWords(b.p.EffectiveDate.Time)
	}
	return ""
}

// versionWords gives "version 3 (revision 2026.12)" or what of it is known.
func (b *builder) versionWords() string {
	var parts []string
	if b.o.Version > 0 {
		parts = append(parts, "version "+strconv.Itoa(b.o.Version))
	}
	if r := oneLine(b.p.Revision); r != "" {
		if len(parts) > 0 {
			parts[0] += " (revision " + r + ")"
		} else {
			parts = append(parts, "revision "+r)
		}
	}
	return strings.Join(parts, "")
}

func (b *builder) meta() []inline {
	var runs []inline
	if d := b.lastUpdated(); d != "" {
		runs = append(runs, strong("Last updated:"), text(" "+d+"."))
	}
	if v := b.versionWords(); v != "" {
		if len(runs) > 0 {
			runs = append(runs, text(" "))
		}
		runs = append(runs, text(upperFirst(v)+"."))
	}
	return runs
}

func (b *builder) intro() []block {
	name := oneLine(b.p.Controller.Name)
	return []block{
		para(text("This notice explains how " + name + " (\u201cwe\u201d, \u201cus\u201d) collects and uses personal data: what we collect and why, where it comes from, who receives it, how long we keep it, and the rights you have.")),
		para(text("Our systems follow the rules in this notice: personal data is used only for the purposes described below, and it is deleted or anonymised when the periods stated here run out.")),
	}
}

// roleOf is the role we play for a purpose: its own setting or the
// policy's mode.
func roleOf(p *policy.Policy, pu *policy.Purpose) policy.Mode {
	if pu.Role != "" {
		return pu.Role
	}
	if p.Mode != "" {
		return p.Mode
	}
	return policy.ModeController
}

// contactRuns writes a contact as "Name, email, address, phone".
func contactRuns(c *policy.Contact) []inline {
	var runs []inline
	add := func(r inline) {
		if strings.TrimSpace(r.Text) == "" {
			return
		}
		if len(runs) > 0 {
			runs = append(runs, text(", "))
		}
		runs = append(runs, r)
	}
	add(text(oneLine(c.Name)))
	add(emailLink(c.Email))
	add(text(oneLine(c.Address)))
	add(text(oneLine(c.Phone)))
	return runs
}

// withStop ends a run list with a full stop.
func withStop(runs []inline) []inline {
	if len(runs) == 0 {
		return runs
	}
	last := runs[len(runs)-1]
	if last.Href != "" || last.Code {
		return append(runs, text("."))
	}
	runs[len(runs)-1].Text = sentence(last.Text)
	return runs
}

// processorPurposes lists the purposes where we act for customers.
func (b *builder) processorPurposes() []string {
	var names []string
	for i := range b.p.Purposes {
		if roleOf(b.p, &b.p.Purposes[i]) == policy.ModeProcessor {
			names = append(names, oneLine(b.p.Purposes[i].Name))
		}
	}
	return names
}

func (b *builder) whoWeAre() section {
	p, c := b.p, &b.p.Controller
	name := oneLine(c.Name)
	s := section{Title: "Who we are"}
	first := name + " is the controller of the personal data described in this notice: we decide why and how it is used"
	if p.Mode == policy.ModeProcessor {
		first = name + " provides services to organisations and processes personal data on their behalf"
	} else if len(b.processorPurposes()) > 0 {
		first += ", except where we act for our customers as explained below"
	}
	first += "."
	if has(p, policy.CCPA) && p.Mode != policy.ModeProcessor {
		first += " Under California law we are the \u201cbusiness\u201d responsible for your personal information."
	}
	s.Blocks = append(s.Blocks, para(text(first)))

	if sc := paras(p.Scope); len(sc) > 0 {
		s.Blocks = append(s.Blocks, sc...)
	} else {
		var scope []inline
		if w := strings.TrimSpace(c.Website); w != "" {
			scope = append(scope, text("This notice applies to our website "), webLink(w), text(", our services and our communications with you."))
		} else {
			scope = append(scope, text("This notice applies to our website, our services and our communications with you."))
		}
		s.Blocks = append(s.Blocks, para(scope...))
	}

	var items [][]inline
	regLine := []inline{text(name)}
	if r := oneLine(c.RegistrationNumber); r != "" {
		regLine = append(regLine, text(", registration number "+r))
	}
	if c.Country != "" {
		regLine = append(regLine, text(", registered in "+countryInSentence(c.Country)))
	}
	items = append(items, labelled("Company", regLine...))
	if a := oneLine(c.Address); a != "" {
		items = append(items, labelled("Address", text(a)))
	}
	if e := strings.TrimSpace(c.Email); e != "" {
		items = append(items, labelled("Email", emailLink(e)))
	}
	if ph := oneLine(c.Phone); ph != "" {
		items = append(items, labelled("Phone", text(ph)))
	}
	if w := strings.TrimSpace(c.Website); w != "" {
		items = append(items, labelled("Website", webLink(w)))
	}
	s.Blocks = append(s.Blocks, list(items...))

	if c.DPO != nil && strings.TrimSpace(c.DPO.Name+c.DPO.Email+c.DPO.Address) != "" {
		runs := []inline{text("We have appointed a data protection officer, whom you can contact about anything in this notice: ")}
		s.Blocks = append(s.Blocks, para(withStop(append(runs, contactRuns(c.DPO)...))...))
	}
	if c.EURepresentative != nil && strings.TrimSpace(c.EURepresentative.Name) != "" {
		runs := []inline{text("As we are not established in the European Union, we have appointed a representative there (GDPR Art. 27), whom you can contact instead of us: ")}
		s.Blocks = append(s.Blocks, para(withStop(append(runs, contactRuns(c.EURepresentative)...))...))
	}
	if c.UKRepresentative != nil && strings.TrimSpace(c.UKRepresentative.Name) != "" {
		runs := []inline{text("As we are not established in the United Kingdom, we have appointed a representative there (UK GDPR Art. 27), whom you can contact instead of us: ")}
		s.Blocks = append(s.Blocks, para(withStop(append(runs, contactRuns(c.UKRepresentative)...))...))
	}

	procs := b.processorPurposes()
	if len(procs) > 0 || p.Mode == policy.ModeProcessor {
		s.Blocks = append(s.Blocks, h3("When we act for our customers"))
		s.Blocks = append(s.Blocks, para(text("Data protection law distinguishes the controller, who decides why and how personal data is used, from the processor, who handles it only on the controller\u2019s instructions.")))
		if p.Mode == policy.ModeProcessor {
			s.Blocks = append(s.Blocks, para(text("The organisations that use our services decide what personal data they put into them and how it is used. For that data each organisation is the controller and we are its processor: we use the data only to provide the service to that organisation, under a data processing agreement with it.")))
		} else {
			s.Blocks = append(s.Blocks, para(text("When organisations use our services, they decide what personal data they put into them and how it is used. For that data the organisation is the controller and we are its processor: we use the data only to provide the service to that organisation, under a data processing agreement with it. "+appliesTo(procs))))
		}
		s.Blocks = append(s.Blocks, para(text("If an organisation gave you access to our services, its own privacy notice explains how it uses your data, and requests about that data should go to it. If you send such a request to us, we pass it on to the organisation and help it answer.")))
		if has(p, policy.CCPA) {
			s.Blocks = append(s.Blocks, para(text("Under California law, we are then the organisation\u2019s \u201cservice provider\u201d.")))
		}
	}
	return s
}

// appliesTo names the purposes where we act as processor, quoted as their
// headings read below.
func appliesTo(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "\u201c" + n + "\u201d"
	}
	if len(q) == 1 {
		return "This applies to the purpose " + q[0] + " below."
	}
	return "This applies to the purposes " + joinAnd(q) + " below."
}

// rulesFor gives the retention rules that apply to the data a purpose uses:
// its own rule if it names one, else the rules of the fields and
// collections in its categories.
func (b *builder) rulesFor(pu *policy.Purpose) []*policy.RetentionRule {
	return retentionRulesFor(b.p, b.tax, pu)
}

// retentionRulesFor is shared with the ROPA.
func retentionRulesFor(p *policy.Policy, tax *policy.Taxonomy, pu *policy.Purpose) []*policy.RetentionRule {
	if r := ruleByKey(p, pu.Retention); r != nil {
		return []*policy.RetentionRule{r}
	}
	seen := map[string]bool{}
	var out []*policy.RetentionRule
	add := func(key string) {
		if key == "" {
			key = p.DefaultRetention
		}
		if r := ruleByKey(p, key); r != nil && !seen[r.Key] {
			seen[r.Key] = true
			out = append(out, r)
		}
	}
	for _, f := range p.Fields {
		if coveredBy(tax, pu.Categories, f.Category) {
			add(f.Retention)
		}
	}
	for _, c := range p.Collections {
		if coveredBy(tax, pu.Categories, c.Category) {
			add(c.Retention)
		}
	}
	return out
}

// ruleByKey finds a retention rule, or nil.
func ruleByKey(p *policy.Policy, key string) *policy.RetentionRule {
	if key == "" {
		return nil
	}
	for i := range p.Retention {
		if p.Retention[i].Key == key {
			return &p.Retention[i]
		}
	}
	return nil
}

// recipientByKey finds a recipient, or nil.
func recipientByKey(p *policy.Policy, key string) *policy.Recipient {
	for i := range p.Recipients {
		if p.Recipients[i].Key == key {
			return &p.Recipients[i]
		}
	}
	return nil
}

// privacyCenterRun links the privacy center, if configured; an empty label
// shows the address itself.
func (b *builder) privacyCenterRun(label string) (inline, bool) {
	u := safeURL(b.o.PrivacyCenterURL)
	if u == "" {
		return inline{}, false
	}
	if label == "" {
		return webLink(u), true
	}
	return link(label, u), true
}

func (b *builder) purposes() section {
	p := b.p
	s := section{Title: "What we collect and why", TOCSub: true}
	intro := "We use personal data only for the purposes below. For each purpose you can see what we do, which data we use"
	if gdprLike(p) {
		intro += ", the legal basis that allows it under the " + lawName(p)
	}
	intro += " and how long we keep the data."
	s.Blocks = append(s.Blocks, para(text(intro)))
	for i := range p.Purposes {
		pu := &p.Purposes[i]
		s.Blocks = append(s.Blocks, h3(oneLine(pu.Name)))
		s.Blocks = append(s.Blocks, paras(pu.Description)...)
		var items [][]inline
		if names := categoryNames(b.tax, pu.Categories); len(names) > 0 {
			items = append(items, labelled("Data we use", text(sentence(strings.Join(names, ", ")))))
		}
		if len(pu.DataSubjects) > 0 {
			var ds []string
			for _, d := range pu.DataSubjects {
				if d = oneLine(d); d != "" {
					ds = append(ds, d)
				}
			}
			if len(ds) > 0 {
				items = append(items, labelled("Whose data", text(sentence(upperFirst(strings.Join(ds, ", "))))))
			}
		}
		role := roleOf(p, pu)
		if role == policy.ModeProcessor {
			items = append(items, labelled("Our role", text("We act as a processor for our customers: each customer is the controller of this data and decides how it is used.")))
		} else if p.Mode == policy.ModeProcessor {
			items = append(items, labelled("Our role", text("We are the controller for this purpose.")))
		}
		if gdprLike(p) {
			items = append(items, labelled("Legal basis", text(sentence(legalBasisText(p, pu)))))
			if pu.SpecialCategoryCondition != "" {
				items = append(items, labelled("Special categories of data", text("We use them on the basis of "+specialConditionText(p, pu.SpecialCategoryCondition)+".")))
			}
		}
		if pu.Consent != nil {
			w := sentence(oneLine(pu.Consent.Withdrawal))
			if !pu.Consent.Lifetime.IsZero() {
				w = strings.TrimSpace(w + " Your consent lasts " + pu.Consent.Lifetime.Human() + "; then we ask again.")
			}
			if w != "" {
				items = append(items, labelled("Withdrawing consent", text(w)))
			}
		}
		if pu.DirectMarketing {
			items = append(items, labelled("Direct marketing", text("You can object at any time, without giving a reason, and we will stop using your data for this at once.")))
		}
		if pu.SaleOrShare && has(p, policy.CCPA) {
			items = append(items, labelled("Sale or sharing (CCPA)", text("Under California law this is a sale or sharing of personal information. You can opt out at any time, and we treat a Global Privacy Control signal from your browser as an opt-out.")))
		}
		var recs []string
		for _, k := range pu.Recipients {
			if r := recipientByKey(p, k); r != nil {
				recs = append(recs, oneLine(r.Name))
			}
		}
		if len(recs) > 0 {
			items = append(items, labelled("Shared with", text(sentence(strings.Join(recs, "; ")))))
		}
		if a := pu.AutomatedDecisions; a != nil {
			label := "Profiling"
			if a.LegalEffect {
				label = "Automated decisions"
			}
			items = append(items, labelled(label, text(strings.TrimSpace(sentence(oneLine(a.Logic))+" "+sentence(oneLine(a.Significance))))))
		}
		if rules := b.rulesFor(pu); len(rules) > 0 {
			var ws []string
			for _, r := range rules {
				ws = append(ws, retentionWithLaw(r))
			}
			if len(ws) == 1 {
				items = append(items, labelled("How long", text(sentence(upperFirst(ws[0])))))
			} else {
				items = append(items, labelled("How long", text("Depending on the data: "+sentence(strings.Join(ws, "; ")))))
			}
		}
		s.Blocks = append(s.Blocks, list(items...))
	}
	return s
}

// sourceGroups orders the sources and says how each is introduced.
var sourceGroups = []struct {
	src   policy.Source
	title string
}{
	{policy.SourceProvided, "Data you give us"},
	{policy.SourceObserved, "Data we record when you use our website and services"},
	{policy.SourceInferred, "Data we derive from other data"},
	{policy.SourceThirdParty, "Data we receive from others"},
}

func (b *builder) sources() section {
	p := b.p
	s := section{Title: "Where the data comes from"}
	anyRequired := false
	for _, g := range sourceGroups {
		var items [][]inline
		for _, f := range p.Fields {
			src := f.Source
			if src == "" {
				src = policy.SourceProvided
			}
			if src != g.src {
				continue
			}
			label := humanise(f.Name)
			if f.Required {
				label += " (required)"
				anyRequired = true
			}
			items = append(items, dataItem(label, f.Description, b.tax, f.Category))
		}
		for _, c := range p.Collections {
			src := c.Source
			if src == "" {
				src = policy.SourceProvided
			}
			if src != g.src {
				continue
			}
			items = append(items, dataItem(humanise(c.Name), c.Description, b.tax, c.Category))
		}
		if len(items) == 0 {
			continue
		}
		s.Blocks = append(s.Blocks, h3(g.title), list(items...))
		if g.src == policy.SourceThirdParty && len(p.Sources) > 0 {
			var srcs [][]inline
			for _, x := range p.Sources {
				if x = oneLine(x); x != "" {
					srcs = append(srcs, []inline{text(sentence(x))})
				}
			}
			s.Blocks = append(s.Blocks, para(text("We obtain it from:")), list(srcs...))
		}
	}
	// Sources named although no field is marked third_party.
	hasThird := false
	for _, blk := range s.Blocks {
		if blk.Kind == kindH3 && plain(blk.Text) == "Data we receive from others" {
			hasThird = true
		}
	}
	if !hasThird && len(p.Sources) > 0 {
		var srcs [][]inline
		for _, x := range p.Sources {
			if x = oneLine(x); x != "" {
				srcs = append(srcs, []inline{text(sentence(x))})
			}
		}
		s.Blocks = append(s.Blocks, h3("Data we receive from others"), para(text("We obtain personal data from:")), list(srcs...))
	}
	if anyRequired {
		s.Blocks = append(s.Blocks, para(text("Data marked \u201crequired\u201d is needed to create your account; without it we cannot provide the service. Giving us anything else is up to you.")))
	}
	return s
}

// dataItem is "Label: description (category)".
func dataItem(label, desc string, tax *policy.Taxonomy, cat string) []inline {
	d := sentence(oneLine(desc))
	if d == "" {
		d = sentence(categoryName(tax, cat))
	}
	return labelled(label, text(d))
}

func (b *builder) recipients() section {
	p := b.p
	s := section{Title: "Recipients and international transfers"}
	if len(p.Recipients) == 0 {
		s.Blocks = append(s.Blocks, para(text("We do not disclose your personal data to other companies or organisations.")))
		return s
	}
	roles := map[policy.RecipientRole]bool{}
	for _, r := range p.Recipients {
		roles[r.Role] = true
	}
	var intro []string
	intro = append(intro, "We share personal data only with the recipients below, and only the data each of them needs.")
	if roles[policy.RoleProcessor] {
		intro = append(intro, "Processors act only on our instructions, under a data processing agreement that obliges them to keep the data confidential and secure.")
	}
	if roles[policy.RoleThirdParty] {
		intro = append(intro, "Third parties use the data for their own purposes, under their own privacy notices, which we link where we can.")
	}
	if roles[policy.RoleJointController] {
		intro = append(intro, "Joint controllers decide with us how the data is used; you can exercise your rights with either of us.")
	}
	if roles[policy.RolePublicAuthority] {
		intro = append(intro, "Public authorities receive data only when the law requires us to give it.")
	}
	s.Blocks = append(s.Blocks, para(text(strings.Join(intro, " "))))

	ccpa := has(p, policy.CCPA)
	t := &table{
		Caption: "Recipients of personal data",
		Head:    []string{"Recipient", "Role", "What they do", "Country", "Transfer safeguard"},
	}
	if ccpa {
		t.Head = append(t.Head, "Sale or sharing (CCPA)")
	}
	var transfers []string
	var sold []string
	for i := range p.Recipients {
		r := &p.Recipients[i]
		name := oneLine(r.Name)
		nameCell := []inline{text(name)}
		if u := safeURL(r.PrivacyURL); u != "" {
			nameCell = []inline{link(name, u)}
		}
		row := [][]inline{
			nameCell,
			{text(roleWords(r.Role))},
			{text(sentence(oneLine(r.Purpose)))},
			{text(countryName(r.Country))},
			{text(recipientSafeguard(p, r))},
		}
		if ccpa {
			if recipientSold(p, r) {
				row = append(row, []inline{text("Yes \u2013 you can opt out")})
				sold = append(sold, name)
			} else {
				row = append(row, []inline{text("No")})
			}
		}
		t.Rows = append(t.Rows, row)
		if isThirdCountry(p, r.Country) {
			transfers = append(transfers, name)
		}
	}
	s.Blocks = append(s.Blocks, block{Kind: kindTable, Table: t})

	if gdprLike(p) {
		area := "the European Economic Area (EEA)"
		if !has(p, policy.GDPR) {
			area = "the United Kingdom"
		}
		if len(transfers) == 0 {
			s.Blocks = append(s.Blocks, para(text("All recipients process personal data within "+area+".")))
		} else {
			runs := []inline{text("Some recipients process personal data outside " + area + ", in countries whose laws may protect it less. We transfer data to them only with the safeguard shown in the table. You can get a copy of these safeguards by writing to ")}
			runs = append(runs, emailLink(b.p.Controller.Email), text("."))
			s.Blocks = append(s.Blocks, para(runs...))
		}
	}
	if ccpa {
		if len(sold) > 0 {
			runs := []inline{text("Under California law, letting " + joinAnd(sold) + " collect personal information through our website for advertising is a \u201csale\u201d or \u201csharing\u201d. You can opt out at any time")}
			if pc, ok := b.privacyCenterRun("in our privacy center"); ok {
				runs = append(runs, text(" "), pc)
			}
			runs = append(runs, text(", and we treat a Global Privacy Control signal from your browser as an opt-out."))
			if p.Children.MinimumAge >= 16 {
				runs = append(runs, text(" We do not knowingly sell or share the personal information of anyone under 16."))
			}
			s.Blocks = append(s.Blocks, para(runs...))
		} else {
			s.Blocks = append(s.Blocks, para(text("We do not sell or share your personal information as California law defines these terms.")))
		}
	} else if !anySale(p) && !roles[policy.RoleThirdParty] && !hasAdvertisingCookies(p) {
		s.Blocks = append(s.Blocks, para(text("We do not sell your personal data, and we do not give it to anyone for their own marketing.")))
	}
	return s
}

// usesConsent reports whether any purpose rests on consent (Art. 6(1)(a) or
// explicit consent under Art. 9(2)(a)), which is when the right to withdraw
// consent belongs in the notice.
func usesConsent(p *policy.Policy) bool {
	for _, pu := range p.Purposes {
		if pu.LegalBasis == policy.BasisConsent || pu.SpecialCategoryCondition == "explicit_consent" {
			return true
		}
	}
	return false
}

// recipientSold reports whether disclosure to r is a CCPA sale or share:
// the recipient says so, or a sale-or-share purpose sends data to it.
func recipientSold(p *policy.Policy, r *policy.Recipient) bool {
	if r.SaleOrShare {
		return true
	}
	for _, pu := range p.Purposes {
		if !pu.SaleOrShare {
			continue
		}
		for _, k := range pu.Recipients {
			if k == r.Key && r.Role != policy.RoleProcessor {
				return true
			}
		}
	}
	return false
}

// anySale reports whether any purpose or recipient is a CCPA sale or share.
func anySale(p *policy.Policy) bool {
	for _, pu := range p.Purposes {
		if pu.SaleOrShare {
			return true
		}
	}
	for _, r := range p.Recipients {
		if r.SaleOrShare {
			return true
		}
	}
	return false
}

func hasAdvertisingCookies(p *policy.Policy) bool {
	for _, c := range p.Cookies {
		if c.Category == policy.CookieAdvertising {
			return true
		}
	}
	return false
}

// dataUnder lists the fields and collections a retention rule governs.
func dataUnder(p *policy.Policy, key string) []string {
	var out []string
	for _, f := range p.Fields {
		k := f.Retention
		if k == "" {
			k = p.DefaultRetention
		}
		if k == key {
			out = append(out, lowerFirst(humanise(f.Name)))
		}
	}
	for _, c := range p.Collections {
		k := c.Retention
		if k == "" {
			k = p.DefaultRetention
		}
		if k == key {
			out = append(out, lowerFirst(humanise(c.Name)))
		}
	}
	return out
}

// purposesUnder lists the purposes that name a retention rule.
func purposesUnder(p *policy.Policy, key string) []string {
	var out []string
	for _, pu := range p.Purposes {
		if pu.Retention == key {
			out = append(out, lowerFirst(oneLine(pu.Name)))
		}
	}
	return out
}

func (b *builder) retention() section {
	p := b.p
	s := section{Title: "How long we keep data"}
	s.Blocks = append(s.Blocks, para(text("We keep personal data only as long as we need it for the purposes above. When a period ends, our systems delete the data or anonymise it automatically.")))
	var items [][]inline
	anyAnon := false
	for i := range p.Retention {
		r := &p.Retention[i]
		lead := dataUnder(p, r.Key)
		if len(lead) == 0 {
			lead = purposesUnder(p, r.Key)
		}
		label := upperFirst(joinAnd(lead))
		if label == "" {
			label = humanise(r.Key)
		}
		body := sentence(upperFirst(retentionWords(r)))
		if d := oneLine(r.Description); d != "" {
			body += " " + sentence(d)
		}
		if law := oneLine(r.KeptByLaw); law != "" {
			body += " The law requires us to keep this data (" + law + "); until the period ends we use it only to meet that obligation, even if you ask us to erase it."
		}
		if r.Action == policy.ActionAnonymise {
			anyAnon = true
		}
		items = append(items, labelled(label, text(body)))
	}
	s.Blocks = append(s.Blocks, list(items...))
	if anyAnon {
		s.Blocks = append(s.Blocks, para(text("Anonymised data can no longer be linked to you; we keep it only as statistics.")))
	}
	if !p.BackupRetention.IsZero() {
		s.Blocks = append(s.Blocks, para(text("Deleted data disappears from our backups within "+p.BackupRetention.Human()+". Until then, backups are used only to restore our systems after a failure, and data deleted before a restore stays deleted.")))
	}
	return s
}

func (b *builder) rights() section {
	p := b.p
	s := section{Title: "Your rights"}
	s.Blocks = append(s.Blocks, para(text("You have rights over your personal data. This section explains them and how to use them.")))
	anyLaw := false
	for _, r := range p.Retention {
		if oneLine(r.KeptByLaw) != "" {
			anyLaw = true
		}
	}
	if gdprLike(p) {
		law := lawName(p)
		title := "Your rights under the " + law
		if has(p, policy.GDPR) && has(p, policy.UKGDPR) {
			title = "Your rights under the GDPR and the UK GDPR"
		}
		art := func(n string) string { return " (" + law + " Art. " + n + "):" }
		erasure := "You can ask us to delete your data, for example when we no longer need it, when you withdraw your consent or when you have objected."
		if anyLaw {
			erasure += " We keep only what the law requires us to keep, as described under \u201cHow long we keep data\u201d."
		}
		items := [][]inline{
			{strong("Access" + art("15")), text(" You can ask whether we process data about you, and get a copy of it together with information about how we use it.")},
			{strong("Rectification" + art("16")), text(" You can have incorrect data about you corrected and incomplete data completed.")},
			{strong("Erasure" + art("17")), text(" " + erasure)},
			{strong("Restriction" + art("18")), text(" You can ask us to stop using your data, except to store it, for example while we check a correction you asked for or an objection you made.")},
			{strong("Data portability" + art("20")), text(" You can receive the data you gave us, where we process it on the basis of your consent or a contract, in a structured, machine-readable format, or have us send it to another organisation.")},
			{strong("Objection" + art("21")), text(" You can object to processing based on legitimate interests, on grounds relating to your situation; we then stop unless we have compelling legitimate grounds that override your interests, or need the data for legal claims. You can object to direct marketing, including profiling for it, at any time and without giving reasons, and we will stop.")},
			{strong("Automated decisions" + art("22")), text(" You have the right not to be subject to a decision based solely on automated processing, including profiling, that has legal or similarly significant effects on you.")},
		}
		if usesConsent(p) {
			// Only where something rests on consent (Art. 13(2)(c)); it
			// reads best before the automated-decisions item.
			withdraw := []inline{strong("Withdrawing consent" + art("7(3)")), text(" Where we rely on your consent, you can withdraw it at any time, as easily as you gave it. This does not affect what we did with your consent before you withdrew it.")}
			items = slices.Insert(items, len(items)-1, withdraw)
		}
		complaint := []inline{strong("Complaint" + art("77")), text(" You can complain to a data protection authority, in particular in the country where you live or work or where you think your rights were infringed.")}
		if a := p.Controller.SupervisoryAuthority; a != nil && oneLine(a.Name) != "" {
			complaint = append(complaint, text(" Our lead authority is "+oneLine(a.Name)+"; see \u201cContact and complaints\u201d."))
		}
		items = append(items, complaint)
		s.Blocks = append(s.Blocks, h3(title), list(items...))
	}
	if has(p, policy.CCPA) {
		optOut := " You can tell us not to sell or share your personal information, and we treat a Global Privacy Control signal from your browser as such a request."
		if !anySale(p) {
			optOut = " We do not sell or share personal information, but you can still tell us never to do so, and we treat a Global Privacy Control signal from your browser as such a request."
		}
		items := [][]inline{
			{strong("Right to know and access:"), text(" You can ask what personal information we have collected about you, where it came from, why we use it, to whom we disclose it, and get a copy of it.")},
			{strong("Right to delete:"), text(" You can ask us to delete the personal information we collected from you, subject to exceptions the law allows, such as records we must keep.")},
			{strong("Right to correct:"), text(" You can ask us to correct inaccurate personal information about you.")},
			{strong("Right to opt out of sale or sharing:"), text(optOut)},
			{strong("Right to limit the use of sensitive personal information:"), text(" You can ask us to use sensitive personal information only as needed to provide the services you asked for.")},
			{strong("Right to non-discrimination:"), text(" We will not deny you services, charge you a different price or give you a different quality of service because you used your rights.")},
		}
		s.Blocks = append(s.Blocks, h3("Your rights under California law (CCPA)"), list(items...),
			para(text("You can let an authorised agent make a request for you. We may ask the agent for proof that you gave permission, and ask you to confirm your identity with us.")))
	}

	// How to exercise.
	s.Blocks = append(s.Blocks, h3("How to use your rights"))
	var how []inline
	if pc, ok := b.privacyCenterRun(""); ok {
		how = append(how, text("Use our privacy center at "), pc, text(", where you can also follow your requests."))
	}
	if c := oneLine(p.Rights.Contact); c != "" {
		s.Blocks = append(s.Blocks, para(how...))
		s.Blocks = append(s.Blocks, paras(p.Rights.Contact)...)
	} else {
		if len(how) > 0 {
			how = append(how, text(" You can also write to "))
		} else {
			how = append(how, text("Write to us at "))
		}
		how = append(how, emailLink(p.Controller.Email), text("."))
		s.Blocks = append(s.Blocks, para(how...))
	}
	if len(b.processorPurposes()) > 0 {
		s.Blocks = append(s.Blocks, para(text("If your request is about data we process for one of our customers, we forward it to that customer, which decides it as controller, and we help it answer.")))
	}
	s.Blocks = append(s.Blocks, b.deadlines()...)
	s.Blocks = append(s.Blocks, b.verification()...)
	switch p.Rights.Fees {
	case policy.FeesExcessiveOnly:
		s.Blocks = append(s.Blocks, para(text("Using your rights is free of charge. Only if a request is manifestly unfounded or excessive, in particular because it repeats earlier requests, may we charge a reasonable fee based on our costs or refuse to act on it, and we will explain why.")))
	default:
		s.Blocks = append(s.Blocks, para(text("Using your rights is free of charge.")))
	}
	return s
}

// ccpaConfirmDefault is the CCPA's statutory time to confirm receipt.
const ccpaConfirmDefault = "10 business days"

func (b *builder) deadlines() []block {
	p := b.p
	var out []block
	respond := p.Rights.Deadlines.Respond
	if gdprLike(p) {
		if !respond.IsZero() && respond.ApproxDays() < 31 {
			out = append(out, para(text("We answer your request within "+respond.Human()+" of receiving it, sooner than the one month the law allows.")))
		} else {
			out = append(out, para(text("We answer your request within one month of receiving it. If a request is complex or we receive many, we may extend this by up to two further months; we will then tell you within the first month and explain why.")))
		}
	}
	if has(p, policy.CCPA) {
		confirm := ccpaConfirmDefault
		if c := p.Rights.Deadlines.Confirm; !c.IsZero() {
			confirm = c.Human()
		}
		answer := "45 calendar days"
		extend := " If we need more time, we may take up to 45 more days and will tell you why."
		if !respond.IsZero() && respond.ApproxDays() < 45 {
			answer = respond.Human()
			extend = ""
		}
		out = append(out, para(text("For requests under California law we confirm receipt within "+confirm+" and answer within "+answer+"."+extend)))
	}
	if !gdprLike(p) && !has(p, policy.CCPA) && !respond.IsZero() {
		out = append(out, para(text("We answer your request within "+respond.Human()+" of receiving it.")))
	}
	return out
}

// verification groups request types by how identity is checked.
func (b *builder) verification() []block {
	p := b.p
	var types []policy.RequestType
	for _, t := range policy.RequestTypes {
		ccpaType := strings.HasPrefix(string(t), "ccpa_")
		if ccpaType && !has(p, policy.CCPA) || !ccpaType && !gdprLike(p) {
			continue
		}
		if t == policy.ReqWithdrawConsent && !usesConsent(p) {
			continue
		}
		types = append(types, t)
	}
	if len(types) == 0 {
		return nil
	}
	order := []policy.VerificationLevel{policy.VerifyAppToken, policy.VerifyEmailCode, policy.VerifyManual, policy.VerifyNone}
	type group struct{ gdpr, ccpa []string }
	groups := map[policy.VerificationLevel]*group{}
	for _, t := range types {
		lvl := verificationFor(p, t)
		g := groups[lvl]
		if g == nil {
			g = &group{}
			groups[lvl] = g
			if !slices.Contains(order, lvl) {
				order = append(order, lvl)
			}
		}
		if strings.HasPrefix(string(t), "ccpa_") {
			g.ccpa = append(g.ccpa, ccpaRequestVerbs[t])
		} else {
			g.gdpr = append(g.gdpr, gdprRequestNouns[t])
		}
	}
	var items [][]inline
	for _, lvl := range order {
		g := groups[lvl]
		if g == nil {
			continue
		}
		var parts []string
		if len(g.gdpr) > 0 {
			parts = append(parts, upperFirst(joinAnd(g.gdpr)))
		}
		if len(g.ccpa) > 0 {
			parts = append(parts, "California requests to "+joinAnd(g.ccpa))
		}
		items = append(items, labelled(strings.Join(parts, "; "), text(sentence(upperFirst(verificationWords(lvl))))))
	}
	return []block{
		para(text("Before we act on a request, we check that it comes from you, so that nobody else can see or change your data. How we check depends on the request:")),
		list(items...),
	}
}

// cookieIntro explains each banner category above its table.
var cookieIntro = map[policy.CookieCategory]string{
	policy.CookieNecessary:   "These are needed for the website and app to work, for example to keep you signed in and to remember your cookie choices. We set them without asking, as the law allows.",
	policy.CookieFunctional:  "These remember your choices and enable features such as chat. We set them only with your consent.",
	policy.CookieAnalytics:   "These help us understand how visitors use our website, so that we can improve it. We set them only with your consent.",
	policy.CookieAdvertising: "These let us and our advertising partners show you relevant ads and measure how well they work. We set them only with your consent.",
}

func (b *builder) cookies() section {
	p := b.p
	s := section{Title: "Cookies"}
	rows := CookieTable(p)
	if len(rows) == 0 {
		s.Blocks = append(s.Blocks, para(text("We do not use cookies or similar technologies that store or read information on your device.")))
		return s
	}
	optional := false
	star := false
	for _, r := range rows {
		if r.Category != policy.CookieNecessary {
			optional = true
		}
		if strings.Contains(r.Name, "*") {
			star = true
		}
	}
	intro := "Cookies are small files a website stores in your browser; similar technologies, such as local storage, work the same way. We use the ones listed below."
	if optional {
		intro += " Strictly necessary cookies are set because the website cannot work without them; all others are set only if you agree, and you can change your choice at any time."
	}
	s.Blocks = append(s.Blocks, para(text(intro)))
	if optional {
		var runs []inline
		if own := paras(p.CookieSettings); len(own) > 0 {
			// The policy's own words replace the general sentence; the
			// privacy center and the browser remain ways to change choices.
			s.Blocks = append(s.Blocks, own...)
			if pc, ok := b.privacyCenterRun("our privacy center"); ok {
				runs = append(runs, text("You can also change your choices in "), pc, text(", and delete or block cookies in your browser\u2019s settings, though parts of the website may then not work."))
			} else {
				runs = append(runs, text("You can also delete or block cookies in your browser\u2019s settings, though parts of the website may then not work."))
			}
		} else {
			runs = append(runs, text("To change your choices, open the cookie settings on our website"))
			if pc, ok := b.privacyCenterRun("our privacy center"); ok {
				runs = append(runs, text(" or use "), pc)
			}
			runs = append(runs, text(". You can also delete or block cookies in your browser\u2019s settings, though parts of the website may then not work."))
		}
		if has(p, policy.CCPA) && hasAdvertisingCookies(p) {
			runs = append(runs, text(" We treat a Global Privacy Control signal from your browser as a refusal of advertising cookies."))
		}
		s.Blocks = append(s.Blocks, para(runs...))
	}
	for _, cat := range cookieCategories {
		var catRows []CookieRow
		for _, r := range rows {
			if r.Category == cat {
				catRows = append(catRows, r)
			}
		}
		if len(catRows) == 0 {
			continue
		}
		name := cookieCategoryName(cat)
		t := &table{Caption: name, Head: []string{"Name", "Provider", "Category", "Duration", "Purpose"}}
		for _, r := range catRows {
			n := r.Name
			if r.Type != "" && r.Type != "cookie" {
				n += " (" + r.Type + ")"
			}
			t.Rows = append(t.Rows, [][]inline{
				{text(n)}, {text(r.Provider)}, {text(r.CategoryName)}, {text(upperFirst(r.Duration))}, {text(sentence(r.Purpose))},
			})
		}
		s.Blocks = append(s.Blocks, h3(name))
		if in := cookieIntro[cat]; in != "" {
			s.Blocks = append(s.Blocks, para(text(in)))
		}
		s.Blocks = append(s.Blocks, block{Kind: kindTable, Table: t})
	}
	if star {
		s.Blocks = append(s.Blocks, para(text("A * in a name stands for any ending, for example an identifier added by the provider.")))
	}
	return s
}

func (b *builder) children() section {
	p := b.p
	s := section{Title: "Children"}
	age := p.Children.MinimumAge
	if age <= 0 {
		return s
	}
	a := strconv.Itoa(age)
	found := "delete the account and its data without delay"
	if p.Children.Action == "flag" {
		found = "review the account promptly and, unless a parent or guardian gives consent, delete its data"
	}
	if p.Children.ParentalConsent {
		s.Blocks = append(s.Blocks, para(text("Children under "+a+" may use our services only with the consent of a parent or guardian, which we record. If we learn that a child under "+a+" uses our services without that consent, we "+found+".")))
	} else {
		s.Blocks = append(s.Blocks, para(text("Our services are not meant for children under "+a+", and we do not knowingly collect personal data from them. If we learn that we have, we "+found+".")))
	}
	runs := []inline{text("If you are a parent or guardian and think your child has given us personal data, contact us at "), emailLink(p.Controller.Email), text(".")}
	s.Blocks = append(s.Blocks, para(runs...))
	return s
}

func (b *builder) automated() section {
	p := b.p
	s := section{Title: "Automated decisions and profiling"}
	var items [][]inline
	legal := false
	for i := range p.Purposes {
		pu := &p.Purposes[i]
		if a := pu.AutomatedDecisions; a != nil {
			body := strings.TrimSpace(sentence(oneLine(a.Logic)) + " " + sentence(oneLine(a.Significance)))
			items = append(items, labelled(oneLine(pu.Name), text(body)))
			if a.LegalEffect {
				legal = true
			}
		}
	}
	if st := strings.TrimSpace(p.AutomatedDecisions); st != "" {
		s.Blocks = append(s.Blocks, paras(st)...)
	} else if len(items) == 0 {
		s.Blocks = append(s.Blocks, para(text("We do not make decisions about you based solely on automated processing, including profiling, that have legal or similarly significant effects on you.")))
	}
	s.Blocks = append(s.Blocks, list(items...))
	if legal {
		s.Blocks = append(s.Blocks, para(text("Where a decision is made solely by automated means and significantly affects you, you can ask for a person to review it, give your point of view and contest the decision ("+lawName(p)+" Art. 22(3)).")))
	}
	return s
}

func (b *builder) security() section {
	s := section{Title: "Security"}
	s.Blocks = append(s.Blocks, paras(b.p.Security)...)
	return s
}

func (b *builder) changes() section {
	s := section{Title: "Changes to this notice"}
	if c := strings.TrimSpace(b.p.Changes); c != "" {
		s.Blocks = append(s.Blocks, paras(c)...)
	} else {
		s.Blocks = append(s.Blocks, para(text("When we change this notice, we publish the new version here with the date it takes effect.")))
	}
	var facts []string
	if v := b.versionWords(); v != "" {
		facts = append(facts, "This is "+v+" of this notice")
	}
	if d := b.lastUpdated(); d != "" {
		if len(facts) == 0 {
			facts = append(facts, "This notice was last updated on "+d)
		} else {
			facts[0] += ", last updated on " + d
		}
	}
	var runs []inline
	if len(facts) > 0 {
		runs = append(runs, text(facts[0]+"."))
	}
	if h := oneLine(b.o.Hash); h != "" {
		if len(runs) > 0 {
			runs = append(runs, text(" "))
		}
		runs = append(runs, text("Its fingerprint is "), code(h), text("; you can use it to check that a copy you kept is this version."))
	}
	s.Blocks = append(s.Blocks, para(runs...))
	return s
}

func (b *builder) contact() section {
	p, c := b.p, &b.p.Controller
	s := section{Title: "Contact and complaints"}
	runs := []inline{text("If you have questions about this notice or about how we use your personal data, contact us at "), emailLink(c.Email)}
	if ph := oneLine(c.Phone); ph != "" {
		runs = append(runs, text(" or "+ph))
	}
	if a := oneLine(c.Address); a != "" {
		runs = append(runs, text(", or write to "+oneLine(c.Name)+", "+a))
	}
	runs = append(runs, text("."))
	s.Blocks = append(s.Blocks, para(runs...))
	if c.DPO != nil && strings.TrimSpace(c.DPO.Name+c.DPO.Email+c.DPO.Address) != "" {
		s.Blocks = append(s.Blocks, para(withStop(append([]inline{text("You can also contact our data protection officer: ")}, contactRuns(c.DPO)...))...))
	}
	if gdprLike(p) {
		if a := c.SupervisoryAuthority; a != nil && oneLine(a.Name) != "" {
			s.Blocks = append(s.Blocks, para(text("If you are not satisfied with our answer, or think we process your data unlawfully, you have the right to complain to a data protection authority. Our lead supervisory authority is:")))
			var items [][]inline
			items = append(items, []inline{strong(oneLine(a.Name))})
			if ad := oneLine(a.Address); ad != "" {
				items = append(items, labelled("Address", text(ad)))
			}
			if w := strings.TrimSpace(a.Website); w != "" {
				items = append(items, labelled("Website", webLink(w)))
			}
			if e := strings.TrimSpace(a.Email); e != "" {
				items = append(items, labelled("Email", emailLink(e)))
			}
			s.Blocks = append(s.Blocks, list(items...))
			s.Blocks = append(s.Blocks, para(text("You can also complain to the authority in the country where you live or work, or where you think your rights were infringed.")))
		} else {
			s.Blocks = append(s.Blocks, para(text("If you are not satisfied with our answer, or think we process your data unlawfully, you have the right to complain to the data protection authority in the country where you live or work, or where you think your rights were infringed.")))
		}
	}
	if has(p, policy.CCPA) {
		s.Blocks = append(s.Blocks, para(text("California residents can also contact the California Privacy Protection Agency at "), webLink("https://cppa.ca.gov"), text(".")))
	}
	return s
}
