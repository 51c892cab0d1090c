// Package policy is Trustee's policy-as-code: the types a company writes its
// privacy policy in, the loader that reads them from YAML or JSON with exact
// positions, the validator that refuses a policy that would make a promise
// Trustee cannot keep, the diff between two versions and the data-category
// taxonomy. Every other package reads the policy through these types; nothing
// outside this package parses policy text.
package policy

// FormatVersion is the only policy format this build understands. A policy
// names it in its top-level `version` key so that a future format change is
// detected instead of misread.
const FormatVersion = 1

// Policy is one complete privacy policy of one tenant. It is immutable once
// applied: a change is a new version with its own content hash.
type Policy struct {
	Version            int             `yaml:"version" json:"version" required:"true" doc:"Format version of this file. Must be 1." example:"1"`
	Revision           string          `yaml:"revision,omitempty" json:"revision,omitempty" doc:"Your own label for this version of the policy, shown in the notice (for example 2026.11 or v7)." example:"2026.11"`
	EffectiveDate      Date            `yaml:"effective_date,omitempty" json:"effective_date,omitzero" doc:"Date (YYYY-MM-DD) from which this version applies; shown as the notice's 'last updated' date. Defaults to the day it is applied." example:"2026-12-01"`
	Language           string          `yaml:"language,omitempty" json:"language,omitempty" doc:"Language of the texts in this policy as a BCP 47 tag. Defaults to en." example:"en"`
	Mode               Mode            `yaml:"mode" json:"mode" required:"true" enum:"controller,processor" doc:"Whether this tenant is the controller of the data it holds, or a processor acting for its customers (data-subject requests are then routed to the customer to decide)." example:"controller"`
	Controller         Controller      `yaml:"controller" json:"controller" required:"true" doc:"Who is responsible for the processing and how to reach them."`
	Scope              string          `yaml:"scope,omitempty" json:"scope,omitempty" doc:"What this notice covers (websites, apps, services, events), in plain words; shown under 'Who we are' instead of the general sentence about our website, services and communications." example:"This notice covers our website example.com, the Brightfjord web app and our events."`
	Jurisdictions      []Jurisdiction  `yaml:"jurisdictions" json:"jurisdictions" required:"true" enum:"gdpr,uk_gdpr,ccpa" doc:"Privacy laws whose rights and deadlines apply. At least one." example:"[\"gdpr\"]"`
	Categories         []Category      `yaml:"categories,omitempty" json:"categories,omitempty" doc:"Custom data categories in addition to the built-in fideslang taxonomy (for example skills or performance reviews)."`
	Fields             []Field         `yaml:"fields" json:"fields" required:"true" doc:"Single-valued personal data held per person (name, email, phone...). Only declared fields can be stored."`
	Collections        []Collection    `yaml:"collections,omitempty" json:"collections,omitempty" doc:"Repeated records held per person (orders, activity log, support tickets)."`
	Purposes           []Purpose       `yaml:"purposes" json:"purposes" required:"true" doc:"Why personal data is processed. Every read of personal data names one of these."`
	Recipients         []Recipient     `yaml:"recipients,omitempty" json:"recipients,omitempty" doc:"Processors and third parties that receive personal data."`
	Cookies            []Cookie        `yaml:"cookies,omitempty" json:"cookies,omitempty" doc:"Cookies and similar trackers set by the website or app."`
	CookieSettings     string          `yaml:"cookie_settings,omitempty" json:"cookie_settings,omitempty" doc:"How people change or withdraw their cookie choices, in plain words; shown in the cookie section of the notice instead of the general sentence. Used only when some cookies need consent." example:"Use 'Cookie preferences' at the bottom of every page."`
	Sites              []Site          `yaml:"sites,omitempty" json:"sites,omitempty" doc:"Websites and apps that show Trustee's cookie banner (/consent.js): where it may run, which purposes its categories stand for, and its texts."`
	Retention          []RetentionRule `yaml:"retention" json:"retention" required:"true" doc:"How long data is kept and what happens when the time is up."`
	DefaultRetention   string          `yaml:"default_retention,omitempty" json:"default_retention,omitempty" doc:"Key of the retention rule for fields and collections that do not name one." example:"account_closed_30d"`
	Rights             Rights          `yaml:"rights,omitempty" json:"rights,omitzero" doc:"How data-subject requests are verified, timed and charged."`
	Children           Children        `yaml:"children,omitempty" json:"children,omitzero" doc:"Minimum age and what happens to accounts of younger children."`
	BackupRetention    Period          `yaml:"backup_retention" json:"backup_retention" required:"true" doc:"How long backups keep data after it was deleted. Key backups expire after this, so erased people are gone from every copy." example:"90d"`
	AutomatedDecisions string          `yaml:"automated_decisions,omitempty" json:"automated_decisions,omitempty" doc:"Statement on automated decision-making and profiling (GDPR Art. 22), shown in the notice. Required if any purpose has automated decisions." example:"We score orders for fraud automatically; a person checks every order that is held."`
	Security           string          `yaml:"security,omitempty" json:"security,omitempty" doc:"How the data is protected, in plain words, for the notice." example:"Data is encrypted at rest and in transit, and every access is logged."`
	Changes            string          `yaml:"changes,omitempty" json:"changes,omitempty" doc:"How people are told when this policy changes, for the notice." example:"We email customers 30 days before a change takes effect."`
	Sources            []string        `yaml:"sources,omitempty" json:"sources,omitempty" doc:"Third parties from which personal data is obtained, named for the notice (GDPR Art. 14)." example:"[\"Example Credit Bureau Ltd\"]"`
}

// Mode is the tenant's role for the data it holds.
type Mode string

const (
	// ModeController decides why and how data is processed and answers
	// data-subject requests itself.
	ModeController Mode = "controller"
	// ModeProcessor acts for customers; requests go to the customer's admin.
	ModeProcessor Mode = "processor"
)

// Jurisdiction is a privacy law whose rights, clocks and notice sections apply.
type Jurisdiction string

const (
	// GDPR is the EU General Data Protection Regulation (EEA).
	GDPR Jurisdiction = "gdpr"
	// UKGDPR is the UK GDPR with the Data Protection Act 2018.
	UKGDPR Jurisdiction = "uk_gdpr"
	// CCPA is the California Consumer Privacy Act as amended by the CPRA.
	CCPA Jurisdiction = "ccpa"
)

// Controller identifies who is responsible and every contact a notice must
// give (GDPR Art. 13(1)(a)-(b)).
type Controller struct {
	Name                 string     `yaml:"name" json:"name" required:"true" doc:"Legal name of the controller." example:"We Are Learning AS"`
	Address              string     `yaml:"address" json:"address" required:"true" doc:"Postal address of the controller." example:"Drammensveien 130, 0277 Oslo, Norway"`
	Country              string     `yaml:"country" json:"country" required:"true" doc:"ISO 3166-1 alpha-2 country where the controller is established." example:"NO"`
	Email                string     `yaml:"email" json:"email" required:"true" doc:"Contact email for privacy questions." example:"privacy@example.com"`
	Phone                string     `yaml:"phone,omitempty" json:"phone,omitempty" doc:"Contact phone number." example:"+47 22 00 00 00"`
	Website              string     `yaml:"website,omitempty" json:"website,omitempty" doc:"Website of the controller." example:"https://example.com"`
	RegistrationNumber   string     `yaml:"registration_number,omitempty" json:"registration_number,omitempty" doc:"Company registration number." example:"999 999 999"`
	DPO                  *Contact   `yaml:"dpo,omitempty" json:"dpo,omitempty" doc:"Data protection officer (GDPR Art. 37-39), if one is appointed."`
	EURepresentative     *Contact   `yaml:"eu_representative,omitempty" json:"eu_representative,omitempty" doc:"Representative in the EU (GDPR Art. 27), required when GDPR applies and the controller is established outside the EEA."`
	UKRepresentative     *Contact   `yaml:"uk_representative,omitempty" json:"uk_representative,omitempty" doc:"Representative in the UK, required when UK GDPR applies and the controller is established outside the UK."`
	SupervisoryAuthority *Authority `yaml:"supervisory_authority,omitempty" json:"supervisory_authority,omitempty" doc:"Lead supervisory authority, where people can complain. Required when GDPR or UK GDPR applies."`
}

// Contact is a person or office people can write to.
type Contact struct {
	Name    string `yaml:"name" json:"name" required:"true" doc:"Name of the person or office." example:"Data Protection Officer"`
	Email   string `yaml:"email,omitempty" json:"email,omitempty" doc:"Email address." example:"dpo@example.com"`
	Address string `yaml:"address,omitempty" json:"address,omitempty" doc:"Postal address."`
	Phone   string `yaml:"phone,omitempty" json:"phone,omitempty" doc:"Phone number."`
}

// Authority is a data protection supervisory authority people may complain to.
type Authority struct {
	Name    string `yaml:"name" json:"name" required:"true" doc:"Name of the authority." example:"Datatilsynet"`
	Country string `yaml:"country,omitempty" json:"country,omitempty" doc:"ISO 3166-1 alpha-2 country of the authority." example:"NO"`
	Website string `yaml:"website,omitempty" json:"website,omitempty" doc:"Website of the authority." example:"https://www.datatilsynet.no"`
	Email   string `yaml:"email,omitempty" json:"email,omitempty" doc:"Email address of the authority."`
	Address string `yaml:"address,omitempty" json:"address,omitempty" doc:"Postal address of the authority."`
}

// Category is a custom data category. Built-in categories come from the
// fideslang taxonomy and need no declaration.
type Category struct {
	Key         string `yaml:"key" json:"key" required:"true" doc:"Dotted key, for example user.professional.skills. Must not redefine a built-in category." example:"user.professional.skills"`
	Name        string `yaml:"name" json:"name" required:"true" doc:"Human-readable name shown in the notice." example:"Skills"`
	Description string `yaml:"description,omitempty" json:"description,omitempty" doc:"What this category holds." example:"Skills and certificates a candidate lists in their profile."`
	Parent      string `yaml:"parent,omitempty" json:"parent,omitempty" doc:"Parent category (built-in or custom). A purpose that uses the parent uses this category too." example:"user"`
	Special     bool   `yaml:"special,omitempty" json:"special,omitempty" doc:"True for special categories under GDPR Art. 9 (health, biometrics, beliefs...). Purposes using it need a special_category_condition."`
	Sensitive   bool   `yaml:"sensitive,omitempty" json:"sensitive,omitempty" doc:"True for sensitive personal information under the CPRA (people may limit its use)."`
}

// Field is one declared single-valued piece of personal data.
type Field struct {
	Name        string       `yaml:"name" json:"name" required:"true" doc:"Field name used in the API, lower snake case." example:"email"`
	Category    string       `yaml:"category" json:"category" required:"true" doc:"Data category of the field." example:"user.contact.email"`
	Identity    IdentityKind `yaml:"identity,omitempty" json:"identity,omitempty" enum:"email,phone,external_id,login" doc:"Set when this field identifies the person and can be used to look them up. Identities are indexed by a keyed hash, never in plain text." example:"email"`
	Source      Source       `yaml:"source,omitempty" json:"source,omitempty" enum:"provided,observed,inferred,third_party" doc:"Where the value comes from. Defaults to provided (by the person)."`
	Retention   string       `yaml:"retention,omitempty" json:"retention,omitempty" doc:"Key of the retention rule for this field; defaults to default_retention." example:"account_closed_30d"`
	Description string       `yaml:"description,omitempty" json:"description,omitempty" doc:"What the field holds, for the notice." example:"Your email address, to sign in and to reach you."`
	Required    bool         `yaml:"required,omitempty" json:"required,omitempty" doc:"Whether the field must be given when a person is created."`
}

// IdentityKind says how an identity field is normalised before it is indexed.
type IdentityKind string

const (
	// IdentityEmail is lower-cased and trimmed.
	IdentityEmail IdentityKind = "email"
	// IdentityPhone is normalised to E.164.
	IdentityPhone IdentityKind = "phone"
	// IdentityExternalID is the application's own id, kept as given.
	IdentityExternalID IdentityKind = "external_id"
	// IdentityLogin is a user name, trimmed.
	IdentityLogin IdentityKind = "login"
)

// Source is where a piece of personal data comes from (GDPR Art. 14).
type Source string

const (
	// SourceProvided means the person gave it to us.
	SourceProvided Source = "provided"
	// SourceObserved means it was recorded from the person's use of the service.
	SourceObserved Source = "observed"
	// SourceInferred means it was derived from other data.
	SourceInferred Source = "inferred"
	// SourceThirdParty means it was obtained from someone else.
	SourceThirdParty Source = "third_party"
)

// Collection is a kind of repeated record held per person.
type Collection struct {
	Name        string        `yaml:"name" json:"name" required:"true" doc:"Collection name used in the API, lower snake case." example:"orders"`
	Category    string        `yaml:"category" json:"category" required:"true" doc:"Data category of the records." example:"user.behavior.purchase_history"`
	Source      Source        `yaml:"source,omitempty" json:"source,omitempty" enum:"provided,observed,inferred,third_party" doc:"Where the records come from. Defaults to provided."`
	Retention   string        `yaml:"retention,omitempty" json:"retention,omitempty" doc:"Key of the retention rule for each record; defaults to default_retention." example:"tax_10y"`
	Description string        `yaml:"description,omitempty" json:"description,omitempty" doc:"What a record holds, for the notice." example:"What you ordered, when, and what you paid."`
	Anonymise   Anonymisation `yaml:"anonymise,omitempty" json:"anonymise,omitzero" doc:"What is left of a record when its retention rule anonymises it: a count per period, and the attributes listed here. Without it, a count per month and nothing else."`
}

// Anonymisation says what anonymisation keeps of a record. The record itself
// is destroyed; a counter per collection, generalised period and values of
// the kept attributes is increased, so the records can still be counted
// (how many door openings in March, orders per country) without anything
// that points to the person: no subject, no exact time, no other attribute.
type Anonymisation struct {
	Keep       []string       `yaml:"keep,omitempty" json:"keep,omitempty" doc:"Top-level attributes of a record kept in the count, for example a country or a plan. Only short text (up to 64 characters), numbers and true/false are kept. Keep coarse attributes only: a rare combination can single a person out." example:"[\"country\"]"`
	Generalise Generalisation `yaml:"generalise,omitempty" json:"generalise,omitzero" doc:"How the record's time is generalised."`
}

// Generalisation coarsens what anonymisation keeps.
type Generalisation struct {
	Date string `yaml:"date,omitempty" json:"date,omitempty" enum:"month,year" doc:"The period records are counted in: month (default) or year." example:"month"`
}

// Purpose is one reason for processing, with its legal basis. Reads of
// personal data name a purpose and get only what it may use.
type Purpose struct {
	Key                      string        `yaml:"key" json:"key" required:"true" doc:"Purpose key used in the API, lower snake case." example:"service"`
	Name                     string        `yaml:"name" json:"name" required:"true" doc:"Short name shown in the notice." example:"Providing the service"`
	Description              string        `yaml:"description" json:"description" required:"true" doc:"What is done with the data and why, in plain words." example:"We use your contact details to run your account and deliver what you order."`
	LegalBasis               LegalBasis    `yaml:"legal_basis" json:"legal_basis" required:"true" enum:"consent,contract,legal_obligation,vital_interests,public_task,legitimate_interests" doc:"GDPR Art. 6(1) basis: consent (a), contract (b), legal_obligation (c), vital_interests (d), public_task (e), legitimate_interests (f)." example:"contract"`
	LegitimateInterest       string        `yaml:"legitimate_interest,omitempty" json:"legitimate_interest,omitempty" doc:"The legitimate interest pursued. Required when legal_basis is legitimate_interests." example:"Protecting our customers and us from payment fraud."`
	LegalObligation          string        `yaml:"legal_obligation,omitempty" json:"legal_obligation,omitempty" doc:"The law that requires the processing. Required when legal_basis is legal_obligation." example:"Norwegian Bookkeeping Act"`
	SpecialCategoryCondition string        `yaml:"special_category_condition,omitempty" json:"special_category_condition,omitempty" enum:"explicit_consent,employment,vital_interests,non_profit,made_public,legal_claims,substantial_public_interest,health_care,public_health,archiving_research" doc:"GDPR Art. 9(2) condition, required when the purpose uses a special category."`
	Categories               []string      `yaml:"categories" json:"categories" required:"true" doc:"Data categories this purpose may use. A category covers its sub-categories." example:"[\"user.contact.email\",\"user.name\"]"`
	DataSubjects             []string      `yaml:"data_subjects,omitempty" json:"data_subjects,omitempty" doc:"Groups of people whose data is processed for this purpose, for the record of processing (GDPR Art. 30(1)(c))." example:"[\"customers\",\"website visitors\"]"`
	Retention                string        `yaml:"retention,omitempty" json:"retention,omitempty" doc:"Key of the retention rule that describes how long data is kept for this purpose, for the notice." example:"account_closed_30d"`
	Recipients               []string      `yaml:"recipients,omitempty" json:"recipients,omitempty" doc:"Keys of recipients that receive data for this purpose." example:"[\"azure\"]"`
	Role                     Mode          `yaml:"role,omitempty" json:"role,omitempty" enum:"controller,processor" doc:"Whether we act as controller or as processor for this purpose. Defaults to the policy's mode."`
	DirectMarketing          bool          `yaml:"direct_marketing,omitempty" json:"direct_marketing,omitempty" doc:"True for direct marketing. An objection stops it at once and without conditions (GDPR Art. 21(3))."`
	SaleOrShare              bool          `yaml:"sale_or_share,omitempty" json:"sale_or_share,omitempty" doc:"True when the processing is a sale or sharing under the CCPA; a do-not-sell opt-out stops it."`
	Consent                  *ConsentTerms `yaml:"consent,omitempty" json:"consent,omitempty" doc:"How consent is asked and withdrawn. Required when legal_basis is consent."`
	AutomatedDecisions       *Automated    `yaml:"automated_decisions,omitempty" json:"automated_decisions,omitempty" doc:"Profiling or automated decisions with legal or similar effect made for this purpose (GDPR Art. 22)."`
}

// LegalBasis is a lawful basis under GDPR Art. 6(1).
type LegalBasis string

const (
	// BasisConsent is Art. 6(1)(a).
	BasisConsent LegalBasis = "consent"
	// BasisContract is Art. 6(1)(b).
	BasisContract LegalBasis = "contract"
	// BasisLegalObligation is Art. 6(1)(c).
	BasisLegalObligation LegalBasis = "legal_obligation"
	// BasisVitalInterests is Art. 6(1)(d).
	BasisVitalInterests LegalBasis = "vital_interests"
	// BasisPublicTask is Art. 6(1)(e).
	BasisPublicTask LegalBasis = "public_task"
	// BasisLegitimateInterests is Art. 6(1)(f).
	BasisLegitimateInterests LegalBasis = "legitimate_interests"
)

// ConsentTerms describe how consent for a purpose is given and withdrawn.
type ConsentTerms struct {
	Withdrawal string `yaml:"withdrawal" json:"withdrawal" required:"true" doc:"How a person withdraws consent, as easily as they gave it (GDPR Art. 7(3))." example:"Use the Cookie Preferences link at the bottom of every page, or the unsubscribe link in any email."`
	Lifetime   Period `yaml:"lifetime,omitempty" json:"lifetime,omitzero" doc:"How long a consent lasts before it must be asked again, for example 12mo. Empty means until withdrawn." example:"12mo"`
	Text       string `yaml:"text,omitempty" json:"text,omitempty" doc:"The request for consent as shown to the person; its hash is kept as proof with each consent." example:"Yes, email me news and offers."`
}

// Automated describes profiling or automated decision-making (GDPR Art. 22).
type Automated struct {
	Logic        string `yaml:"logic" json:"logic" required:"true" doc:"Meaningful information about the logic involved." example:"Orders are scored on delivery address, order size and payment history."`
	Significance string `yaml:"significance" json:"significance" required:"true" doc:"The significance and envisaged consequences for the person." example:"A high score holds the order for a manual check within one working day."`
	LegalEffect  bool   `yaml:"legal_effect,omitempty" json:"legal_effect,omitempty" doc:"True when decisions produce legal or similarly significant effects."`
}

// Recipient is someone personal data is disclosed to.
type Recipient struct {
	Key         string            `yaml:"key" json:"key" required:"true" doc:"Recipient key, lower snake case." example:"azure"`
	Name        string            `yaml:"name" json:"name" required:"true" doc:"Legal name of the recipient." example:"Microsoft Ireland Operations Ltd"`
	Role        RecipientRole     `yaml:"role" json:"role" required:"true" enum:"processor,third_party,joint_controller,public_authority" doc:"Whether the recipient processes for us (processor), for its own purposes (third_party), jointly with us, or is an authority." example:"processor"`
	Country     string            `yaml:"country" json:"country" required:"true" doc:"ISO 3166-1 alpha-2 country where the data is processed." example:"IE"`
	Transfer    TransferMechanism `yaml:"transfer,omitempty" json:"transfer,omitempty" enum:"adequacy,dpf,scc_2021_914,uk_addendum,uk_idta,bcr,derogation" doc:"Safeguard for a transfer outside the EEA (GDPR Chapter V). Required for a recipient in a third country."`
	Purpose     string            `yaml:"purpose,omitempty" json:"purpose,omitempty" doc:"What the recipient does, in plain words." example:"Hosting of the service"`
	Categories  []string          `yaml:"categories" json:"categories" required:"true" doc:"Data categories the recipient receives." example:"[\"user.contact\",\"user.name\"]"`
	SaleOrShare bool              `yaml:"sale_or_share,omitempty" json:"sale_or_share,omitempty" doc:"True when disclosure to this recipient is a sale or sharing under the CCPA."`
	PrivacyURL  string            `yaml:"privacy_url,omitempty" json:"privacy_url,omitempty" doc:"Link to the recipient's own privacy notice." example:"https://azure.microsoft.com/en-us/support/legal/"`
}

// RecipientRole is the recipient's role towards the data.
type RecipientRole string

const (
	// RoleProcessor processes on our behalf under a data processing agreement.
	RoleProcessor RecipientRole = "processor"
	// RoleThirdParty uses the data for its own purposes.
	RoleThirdParty RecipientRole = "third_party"
	// RoleJointController decides purposes and means together with us.
	RoleJointController RecipientRole = "joint_controller"
	// RolePublicAuthority receives data because the law requires it.
	RolePublicAuthority RecipientRole = "public_authority"
)

// TransferMechanism is the safeguard for a transfer to a third country.
type TransferMechanism string

const (
	// TransferAdequacy relies on an adequacy decision (GDPR Art. 45).
	TransferAdequacy TransferMechanism = "adequacy"
	// TransferDPF relies on the EU-US Data Privacy Framework certification.
	TransferDPF TransferMechanism = "dpf"
	// TransferSCC relies on the 2021/914 standard contractual clauses (Art. 46(2)(c)).
	TransferSCC TransferMechanism = "scc_2021_914"
	// TransferUKAddendum is the UK addendum to the EU SCCs.
	TransferUKAddendum TransferMechanism = "uk_addendum"
	// TransferUKIDTA is the UK international data transfer agreement.
	TransferUKIDTA TransferMechanism = "uk_idta"
	// TransferBCR relies on binding corporate rules (Art. 47).
	TransferBCR TransferMechanism = "bcr"
	// TransferDerogation relies on an Art. 49 derogation.
	TransferDerogation TransferMechanism = "derogation"
)

// Cookie is a cookie or similar tracker (local storage, pixel).
type Cookie struct {
	Name      string         `yaml:"name" json:"name" required:"true" doc:"Cookie name as set in the browser; a trailing * matches a prefix." example:"_ga"`
	Provider  string         `yaml:"provider" json:"provider" required:"true" doc:"Who sets it: first party or the provider's name." example:"Google Ireland Ltd"`
	Recipient string         `yaml:"recipient,omitempty" json:"recipient,omitempty" doc:"Key of the recipient that receives its data, if any." example:"google_analytics"`
	Category  CookieCategory `yaml:"category" json:"category" required:"true" enum:"necessary,functional,analytics,advertising" doc:"Banner category. Only necessary cookies are set without consent." example:"analytics"`
	Duration  CookieDuration `yaml:"duration" json:"duration" required:"true" doc:"How long it lives: session, a period such as 13mo or 2y, or hours or minutes such as 30min, 1h or 24h." example:"13mo"`
	Purpose   string         `yaml:"purpose" json:"purpose" required:"true" doc:"What it is used for, in plain words." example:"Distinguishes visitors for usage statistics."`
	Type      string         `yaml:"type,omitempty" json:"type,omitempty" enum:"cookie,local_storage,session_storage,pixel" doc:"Kind of tracker. Defaults to cookie."`
}

// CookieCategory is a consent-banner category.
type CookieCategory string

const (
	// CookieNecessary cookies need no consent.
	CookieNecessary CookieCategory = "necessary"
	// CookieFunctional cookies remember choices.
	CookieFunctional CookieCategory = "functional"
	// CookieAnalytics cookies measure use.
	CookieAnalytics CookieCategory = "analytics"
	// CookieAdvertising cookies target or measure advertising.
	CookieAdvertising CookieCategory = "advertising"
)

// RetentionRule says how long data is kept, counted from which event, and
// what happens when the time is up.
type RetentionRule struct {
	Key         string           `yaml:"key" json:"key" required:"true" doc:"Rule key, lower snake case." example:"tax_10y"`
	Description string           `yaml:"description,omitempty" json:"description,omitempty" doc:"The rule in plain words, for the notice." example:"Invoices and payment records are kept for ten years because tax law requires it."`
	Duration    Period           `yaml:"duration" json:"duration" required:"true" zero:"allowed" doc:"How long, for example 30d, 6mo, 6y; 0d (or immediately) when the data is deleted or anonymised as soon as the trigger happens." example:"10y"`
	Trigger     RetentionTrigger `yaml:"trigger" json:"trigger" required:"true" enum:"collected,last_activity,contract_end,account_closed" doc:"The event the duration is counted from." example:"collected"`
	Action      RetentionAction  `yaml:"action" json:"action" required:"true" enum:"delete,anonymise" doc:"What happens at expiry: delete, or anonymise so the record can still be counted." example:"delete"`
	KeptByLaw   string           `yaml:"kept_by_law,omitempty" json:"kept_by_law,omitempty" doc:"The law that requires keeping the data this long, if any. Such data survives an erasure request, restricted to that legal obligation." example:"Norwegian Bookkeeping Act section 13"`
}

// RetentionTrigger is the event a retention period counts from.
type RetentionTrigger string

const (
	// TriggerCollected counts from when the data was collected.
	TriggerCollected RetentionTrigger = "collected"
	// TriggerLastActivity counts from the person's last recorded activity.
	TriggerLastActivity RetentionTrigger = "last_activity"
	// TriggerContractEnd counts from the end of the contract.
	TriggerContractEnd RetentionTrigger = "contract_end"
	// TriggerAccountClosed counts from the closure of the account.
	TriggerAccountClosed RetentionTrigger = "account_closed"
)

// RetentionAction is what happens to data when its retention ends.
type RetentionAction string

const (
	// ActionDelete removes the data.
	ActionDelete RetentionAction = "delete"
	// ActionAnonymise drops or generalises identifying data, keeping a countable record.
	ActionAnonymise RetentionAction = "anonymise"
)

// Rights configures how data-subject requests are handled.
type Rights struct {
	Deadlines    Deadlines                         `yaml:"deadlines,omitempty" json:"deadlines,omitzero" doc:"Answer deadlines. Statutory deadlines apply by default; set stricter ones here."`
	Verification map[RequestType]VerificationLevel `yaml:"verification,omitempty" json:"verification,omitempty" doc:"Identity verification per request type (access, portability, rectification, erasure, restriction, objection, withdraw_consent, ccpa_know, ccpa_delete, ccpa_correct, ccpa_opt_out, ccpa_limit). Defaults to email_code, and none for objection and opt-out." example:"{\"access\":\"email_code\",\"erasure\":\"email_code\",\"objection\":\"none\"}"`
	Fees         FeePolicy                         `yaml:"fees,omitempty" json:"fees,omitempty" enum:"free,excessive_only" doc:"free: never charge. excessive_only: a reasonable fee may be charged for manifestly unfounded or excessive requests (GDPR Art. 12(5)). Defaults to free." example:"free"`
	Contact      string                            `yaml:"contact,omitempty" json:"contact,omitempty" doc:"How to exercise rights, in plain words, in addition to the privacy center." example:"Write to privacy@example.com or use the privacy center."`
}

// Deadlines are the answer times a tenant promises; they may only be
// stricter than the law.
type Deadlines struct {
	Respond Period `yaml:"respond,omitempty" json:"respond,omitzero" doc:"Time to answer a request, if stricter than the law (GDPR one month, CCPA 45 days). Working days are allowed, e.g. 5wd." example:"5wd"`
	Confirm Period `yaml:"confirm,omitempty" json:"confirm,omitzero" doc:"Time to confirm receipt, if stricter than the law (CCPA 10 business days)." example:"2wd"`
}

// RequestType is a kind of data-subject request.
type RequestType string

// VerificationLevel is how the requester's identity is checked.
type VerificationLevel string

const (
	// VerifyNone accepts the request without a check (objection, opt-out).
	VerifyNone VerificationLevel = "none"
	// VerifyEmailCode sends a one-time code or link to an email on file.
	VerifyEmailCode VerificationLevel = "email_code"
	// VerifyAppToken needs a signed subject token from the application.
	VerifyAppToken VerificationLevel = "app_token"
	// VerifyManual needs a staff member to record what was checked.
	VerifyManual VerificationLevel = "manual"
)

// FeePolicy says whether requests may be charged for.
type FeePolicy string

// Children sets the minimum age and the handling of younger people.
type Children struct {
	MinimumAge      int    `yaml:"minimum_age,omitempty" json:"minimum_age,omitempty" doc:"Minimum age to use the service without parental consent (13-16 under GDPR Art. 8)." example:"16"`
	ParentalConsent bool   `yaml:"parental_consent,omitempty" json:"parental_consent,omitempty" doc:"Whether younger children may use the service with a recorded parental consent."`
	Action          string `yaml:"action,omitempty" json:"action,omitempty" enum:"erase,flag" doc:"What happens to an account found to be below the minimum age without parental consent. Defaults to erase." example:"erase"`
}

// Request types a policy can configure verification for.
const (
	ReqAccess          RequestType = "access"
	ReqPortability     RequestType = "portability"
	ReqRectification   RequestType = "rectification"
	ReqErasure         RequestType = "erasure"
	ReqRestriction     RequestType = "restriction"
	ReqObjection       RequestType = "objection"
	ReqWithdrawConsent RequestType = "withdraw_consent"
	ReqCCPAKnow        RequestType = "ccpa_know"
	ReqCCPADelete      RequestType = "ccpa_delete"
	ReqCCPACorrect     RequestType = "ccpa_correct"
	ReqCCPAOptOut      RequestType = "ccpa_opt_out"
	ReqCCPALimit       RequestType = "ccpa_limit"
)

// RequestTypes lists every request type in a stable order.
var RequestTypes = []RequestType{
	ReqAccess, ReqPortability, ReqRectification, ReqErasure, ReqRestriction,
	ReqObjection, ReqWithdrawConsent, ReqCCPAKnow, ReqCCPADelete, ReqCCPACorrect,
	ReqCCPAOptOut, ReqCCPALimit,
}

// Fee policies.
const (
	FeesFree          FeePolicy = "free"
	FeesExcessiveOnly FeePolicy = "excessive_only"
)

// Site is a website or app that embeds Trustee's cookie banner. The banner
// fetches its configuration and records choices without an API key, so the
// site key and the allowed origins are what tie a browser's request to a
// tenant and keep other websites from posting choices in its name.
type Site struct {
	Key           string         `yaml:"key" json:"key" required:"true" doc:"Public site key: the banner's data-site attribute and the {site} in /v1/public/{site}/...; 3 to 63 characters of a-z, 0-9 and -, starting with a letter or digit, unique across the Trustee deployment." example:"brightfjord-www"`
	Name          string         `yaml:"name" json:"name" required:"true" doc:"Name of the website or app, shown in consent receipts." example:"Brightfjord website"`
	Origins       []string       `yaml:"origins" json:"origins" required:"true" doc:"Origins whose pages may use the banner, written exactly as browsers send them in the Origin header: scheme://host, with :port only when it is not the scheme's default; no path." example:"[\"https://www.example.com\"]"`
	NoticeURL     string         `yaml:"notice_url,omitempty" json:"notice_url,omitempty" doc:"Link to the privacy notice, shown in the banner; defaults to controller.website." example:"https://www.example.com/privacy"`
	ConsentCookie string         `yaml:"consent_cookie,omitempty" json:"consent_cookie,omitempty" doc:"Name of the first-party cookie in which the banner remembers the visitor's choice (declare it under cookies as necessary). Defaults to trustee_consent." example:"bf_consent"`
	Categories    SiteCategories `yaml:"categories,omitempty" json:"categories,omitzero" doc:"The consent-based purposes each banner category stands for. A choice for a category is recorded as a consent event for each of its purposes."`
	Texts         []BannerTexts  `yaml:"texts,omitempty" json:"texts,omitempty" doc:"The banner's texts, one entry per language. English texts are built in; a policy written in another language gives at least its own. Texts left out fall back to the policy's language."`
}

// SiteCategories maps the banner's optional cookie categories to purposes.
// Necessary cookies need no consent and map to nothing.
type SiteCategories struct {
	Functional  []string `yaml:"functional,omitempty" json:"functional,omitempty" doc:"Keys of the consent-based purposes behind functional cookies (preferences, chat)." example:"[\"functional_cookies\"]"`
	Analytics   []string `yaml:"analytics,omitempty" json:"analytics,omitempty" doc:"Keys of the consent-based purposes behind analytics cookies." example:"[\"analytics_cookies\"]"`
	Advertising []string `yaml:"advertising,omitempty" json:"advertising,omitempty" doc:"Keys of the consent-based purposes behind advertising cookies. A Global Privacy Control signal turns this category off." example:"[\"advertising\"]"`
}

// For returns the purposes mapped to a banner category.
func (c SiteCategories) For(cat CookieCategory) []string {
	switch cat {
	case CookieFunctional:
		return c.Functional
	case CookieAnalytics:
		return c.Analytics
	case CookieAdvertising:
		return c.Advertising
	}
	return nil
}

// OptionalCookieCategories are the banner categories a visitor can switch,
// in the order the banner shows them.
var OptionalCookieCategories = []CookieCategory{CookieFunctional, CookieAnalytics, CookieAdvertising}

// BannerTexts are the cookie banner's texts in one language. Every text is
// optional: missing ones fall back to the policy's language, and English
// has built-in defaults.
type BannerTexts struct {
	Language               string `yaml:"language" json:"language" required:"true" doc:"Language of these texts as a BCP 47 tag." example:"nb"`
	Title                  string `yaml:"title,omitempty" json:"title,omitempty" doc:"Heading of the banner." example:"Cookies on our website"`
	Description            string `yaml:"description,omitempty" json:"description,omitempty" doc:"What the banner asks, in plain words." example:"We use cookies to remember your choices and, if you agree, to measure and advertise."`
	AcceptAll              string `yaml:"accept_all,omitempty" json:"accept_all,omitempty" doc:"Label of the button that allows every category." example:"Accept all"`
	RejectAll              string `yaml:"reject_all,omitempty" json:"reject_all,omitempty" doc:"Label of the button that refuses every optional category; shown as prominently as accept_all." example:"Reject all"`
	Customize              string `yaml:"customize,omitempty" json:"customize,omitempty" doc:"Label of the button that shows the categories to choose from." example:"Choose"`
	Save                   string `yaml:"save,omitempty" json:"save,omitempty" doc:"Label of the button that saves the chosen categories." example:"Save choices"`
	Settings               string `yaml:"settings,omitempty" json:"settings,omitempty" doc:"Heading of the preferences dialog when it is reopened." example:"Cookie settings"`
	Close                  string `yaml:"close,omitempty" json:"close,omitempty" doc:"Label of the close button." example:"Close"`
	AlwaysOn               string `yaml:"always_on,omitempty" json:"always_on,omitempty" doc:"Shown next to necessary cookies, which cannot be switched off." example:"Always on"`
	Receipt                string `yaml:"receipt,omitempty" json:"receipt,omitempty" doc:"Label before the receipt id of the last choice." example:"Your receipt"`
	GPC                    string `yaml:"gpc,omitempty" json:"gpc,omitempty" doc:"Shown when the browser sends a Global Privacy Control signal." example:"Your browser asks us not to sell or share your data, so advertising stays off."`
	NoticeLink             string `yaml:"notice_link,omitempty" json:"notice_link,omitempty" doc:"Text of the link to the privacy notice." example:"Privacy notice"`
	Cookies                string `yaml:"cookies,omitempty" json:"cookies,omitempty" doc:"Heading of the list of cookies in a category." example:"Cookies"`
	NecessaryLabel         string `yaml:"necessary_label,omitempty" json:"necessary_label,omitempty" doc:"Name of the necessary category." example:"Necessary"`
	NecessaryDescription   string `yaml:"necessary_description,omitempty" json:"necessary_description,omitempty" doc:"What necessary cookies do." example:"Keep the site working and secure; they need no consent."`
	FunctionalLabel        string `yaml:"functional_label,omitempty" json:"functional_label,omitempty" doc:"Name of the functional category." example:"Functional"`
	FunctionalDescription  string `yaml:"functional_description,omitempty" json:"functional_description,omitempty" doc:"The request for consent to functional cookies; defaults to the consent.text of its purposes. Its hash is kept with each choice as proof of what was shown."`
	AnalyticsLabel         string `yaml:"analytics_label,omitempty" json:"analytics_label,omitempty" doc:"Name of the analytics category." example:"Analytics"`
	AnalyticsDescription   string `yaml:"analytics_description,omitempty" json:"analytics_description,omitempty" doc:"The request for consent to analytics cookies; defaults to the consent.text of its purposes."`
	AdvertisingLabel       string `yaml:"advertising_label,omitempty" json:"advertising_label,omitempty" doc:"Name of the advertising category." example:"Advertising"`
	AdvertisingDescription string `yaml:"advertising_description,omitempty" json:"advertising_description,omitempty" doc:"The request for consent to advertising cookies; defaults to the consent.text of its purposes."`
}
