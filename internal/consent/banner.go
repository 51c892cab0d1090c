package consent

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// The cookie banner (web/consent/consent.js) works without an API key: it
// fetches its configuration and records choices through public endpoints,
// named by a site key that the policy declares together with the origins
// allowed to use it. The key is registered per tenant when a policy is
// applied (OnPolicyApplied), so the key alone finds the tenant.

// siteKeyRE is the policy's rule for site keys; anything else is not
// looked up at all.
var siteKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)

// siteTTL bounds how long a resolved site key is trusted before the
// registry is asked again: another instance's apply is seen within it.
const siteTTL = time.Second

type siteEntry struct {
	tenantID string // "" = no such site
	checked  time.Time
}

type siteCache struct {
	mu sync.Mutex
	m  map[string]siteEntry
}

// maxSiteCache bounds the cache; unknown keys are cached too (briefly), so
// a stream of random keys must not grow it without end.
const maxSiteCache = 4096

// Site resolves a site key to its tenant's active policy and the site in
// it. ErrUnknownSite for a key no tenant declares.
func (s *Service) Site(ctx context.Context, key string) (*tenant.Active, *policy.Site, error) {
	if !siteKeyRE.MatchString(key) {
		return nil, nil, ErrUnknownSite
	}
	now := time.Now()
	s.sites.mu.Lock()
	e, ok := s.sites.m[key]
	s.sites.mu.Unlock()
	if !ok || now.Sub(e.checked) >= siteTTL {
		var reg store.ConsentSite
		err := s.Store.Read(ctx, func(tx store.Tx) error {
			var err error
			reg, err = tx.ConsentSiteByKey(key)
			return err
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = siteEntry{checked: now}
		case err != nil:
			return nil, nil, err
		default:
			e = siteEntry{tenantID: reg.TenantID, checked: now}
		}
		s.sites.mu.Lock()
		if s.sites.m == nil || len(s.sites.m) >= maxSiteCache {
			s.sites.m = map[string]siteEntry{}
		}
		s.sites.m[key] = e
		s.sites.mu.Unlock()
	}
	if e.tenantID == "" {
		return nil, nil, ErrUnknownSite
	}
	a, err := s.active(ctx, e.tenantID)
	if errors.Is(err, ErrNoPolicy) {
		return nil, nil, ErrUnknownSite
	}
	if err != nil {
		return nil, nil, err
	}
	site := a.Doc.SiteByKey(key)
	if site == nil {
		return nil, nil, ErrUnknownSite
	}
	return a, site, nil
}

// BannerConfig is what the banner needs to show itself: texts in every
// language the site offers, the categories with their cookies, and which
// policy version it shows (a choice names it, so the receipt says what the
// person saw).
type BannerConfig struct {
	Site          string `json:"site" doc:"The site key."`
	Name          string `json:"name" doc:"The site's name."`
	Controller    string `json:"controller" doc:"Who is responsible for the processing."`
	PolicyVersion int    `json:"policy_version" doc:"The policy version shown; send it back with the choice."`
	PolicyHash    string `json:"policy_hash"`
	Language      string `json:"language" doc:"The policy's language: the texts every other language falls back to."`
	// Languages lists the languages with texts, the policy's first.
	Languages []string `json:"languages"`
	NoticeURL string   `json:"notice_url,omitempty" doc:"The privacy notice."`
	// Cookie is the first-party cookie the banner keeps the choice in.
	Cookie string `json:"cookie"`
	// GPC is true when this request carried Sec-GPC: 1; the banner then
	// records the opt-out and keeps advertising off.
	GPC        bool                  `json:"gpc" doc:"The request carried a Global Privacy Control signal (Sec-GPC: 1)."`
	Texts      map[string]BannerText `json:"texts" doc:"Complete texts per language."`
	Categories []BannerCategory      `json:"categories" doc:"Necessary first, then the categories a visitor can switch."`
}

// BannerText is the banner's texts in one language, every one filled in.
type BannerText struct {
	Title                  string `json:"title"`
	Description            string `json:"description"`
	AcceptAll              string `json:"accept_all"`
	RejectAll              string `json:"reject_all"`
	Customize              string `json:"customize"`
	Save                   string `json:"save"`
	Settings               string `json:"settings"`
	Close                  string `json:"close"`
	AlwaysOn               string `json:"always_on"`
	Receipt                string `json:"receipt"`
	GPC                    string `json:"gpc"`
	NoticeLink             string `json:"notice_link"`
	Cookies                string `json:"cookies"`
	NecessaryLabel         string `json:"necessary_label"`
	NecessaryDescription   string `json:"necessary_description"`
	FunctionalLabel        string `json:"functional_label"`
	FunctionalDescription  string `json:"functional_description"`
	AnalyticsLabel         string `json:"analytics_label"`
	AnalyticsDescription   string `json:"analytics_description"`
	AdvertisingLabel       string `json:"advertising_label"`
	AdvertisingDescription string `json:"advertising_description"`
}

// BannerCategory is one banner category.
type BannerCategory struct {
	Key      string `json:"key" enum:"necessary,functional,analytics,advertising"`
	Required bool   `json:"required,omitempty" doc:"Necessary cookies: always on, no choice."`
	// Purposes are the consent-based purposes a choice for it records.
	Purposes    []string `json:"purposes,omitempty"`
	SaleOrShare bool     `json:"sale_or_share,omitempty" doc:"A purpose of the category is a sale or sharing (CCPA): Global Privacy Control turns it off."`
	// Since is the policy version from which its consents count: a choice
	// remembered from an earlier version must be asked again.
	Since   int            `json:"since,omitempty" doc:"Choices made under an earlier policy version must be asked again."`
	Cookies []BannerCookie `json:"cookies"`
}

// BannerCookie is one cookie of a category, for the banner's list.
type BannerCookie struct {
	Name     string `json:"name" doc:"A trailing * matches a prefix."`
	Provider string `json:"provider"`
	Duration string `json:"duration"`
	Purpose  string `json:"purpose"`
	Type     string `json:"type,omitempty"`
}

// defaultTexts are the built-in English texts.
var defaultTexts = BannerText{
	Title:                "Your privacy choices",
	Description:          "We use cookies that this website needs to work. With your consent we also use cookies to remember your preferences, to measure how the website is used and to show you relevant advertising. You can change your mind at any time in the cookie settings.",
	AcceptAll:            "Accept all",
	RejectAll:            "Reject all",
	Customize:            "Choose",
	Save:                 "Save choices",
	Settings:             "Cookie settings",
	Close:                "Close",
	AlwaysOn:             "Always on",
	Receipt:              "Receipt",
	GPC:                  "Your browser sent a Global Privacy Control signal: we do not sell or share your personal information, and advertising stays off.",
	NoticeLink:           "Privacy notice",
	Cookies:              "Cookies",
	NecessaryLabel:       "Necessary",
	NecessaryDescription: "Keep the website working and secure. They need no consent.",
	FunctionalLabel:      "Functional",
	AnalyticsLabel:       "Analytics",
	AdvertisingLabel:     "Advertising",
}

// fill copies the non-empty texts of t over b, field by field (the two
// types share their field names).
func fill(b *BannerText, t *policy.BannerTexts) {
	if t == nil {
		return
	}
	bv, tv := reflect.ValueOf(b).Elem(), reflect.ValueOf(t).Elem()
	for i := 0; i < bv.NumField(); i++ {
		f := tv.FieldByName(bv.Type().Field(i).Name)
		if f.IsValid() && strings.TrimSpace(f.String()) != "" {
			bv.Field(i).SetString(oneLine(f.String()))
		}
	}
}

func isEnglish(lang string) bool {
	l := strings.ToLower(lang)
	return l == "en" || strings.HasPrefix(l, "en-")
}

type configCache struct {
	mu sync.Mutex
	m  map[string]*BannerConfig
}

const maxConfigCache = 256

// Config returns the banner's configuration for a site. gpc says whether
// the request carried Sec-GPC: 1. The configuration of a policy version
// never changes, so it is built once per version and site.
func (s *Service) Config(ctx context.Context, key string, gpc bool) (BannerConfig, error) {
	a, site, err := s.Site(ctx, key)
	if err != nil {
		return BannerConfig{}, err
	}
	c, err := s.config(ctx, a, a.Doc, site, a.Version.Version)
	if err != nil {
		return BannerConfig{}, err
	}
	out := *c
	out.GPC = gpc
	return out, nil
}

// config builds (or finds) the configuration of a site in the policy
// version doc is, numbered version. The key names the version as well as
// the content: a tenant may apply the same content again as a new version.
func (s *Service) config(ctx context.Context, a *tenant.Active, doc *policy.Document, site *policy.Site, version int) (*BannerConfig, error) {
	ck := fmt.Sprintf("%s/%s/%d/%s", a.Tenant.ID, site.Key, version, doc.Hash)
	s.configs.mu.Lock()
	c := s.configs.m[ck]
	s.configs.mu.Unlock()
	if c != nil {
		return c, nil
	}
	var since map[string]int
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		since, err = tx.ConsentValidSince(a.Tenant.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	c = buildConfig(doc, site, version, doc.Hash, since)
	s.configs.mu.Lock()
	if s.configs.m == nil || len(s.configs.m) >= maxConfigCache {
		s.configs.m = map[string]*BannerConfig{}
	}
	s.configs.m[ck] = c
	s.configs.mu.Unlock()
	return c, nil
}

func buildConfig(doc *policy.Document, site *policy.Site, version int, hash string, since map[string]int) *BannerConfig {
	p := doc.Policy
	lang := p.Language
	if lang == "" {
		lang = "en"
	}
	c := &BannerConfig{Site: site.Key, Name: site.Name, Controller: p.Controller.Name, PolicyVersion: version, PolicyHash: hash,
		Language: lang, NoticeURL: site.NoticeURL, Cookie: site.CookieFor(), Texts: map[string]BannerText{}}
	if c.NoticeURL == "" {
		c.NoticeURL = p.Controller.Website
	}
	// Texts: the policy's language from the built-in English (if it is
	// English) and the site's entry; every other language from that and
	// its own entry.
	var base BannerText
	if isEnglish(lang) {
		base = defaultTexts
	}
	fill(&base, site.TextsFor(lang))
	// Category descriptions default to the request for consent of the
	// purposes they stand for, in the policy's language.
	descs := map[policy.CookieCategory]*string{policy.CookieFunctional: &base.FunctionalDescription,
		policy.CookieAnalytics: &base.AnalyticsDescription, policy.CookieAdvertising: &base.AdvertisingDescription}
	for _, cat := range policy.OptionalCookieCategories {
		if *descs[cat] != "" {
			continue
		}
		var parts []string
		for _, k := range site.Categories.For(cat) {
			if pp := doc.PurposeByKey(k); pp != nil && pp.Consent != nil && pp.Consent.Text != "" {
				parts = append(parts, oneLine(pp.Consent.Text))
			} else if pp != nil {
				parts = append(parts, oneLine(pp.Description))
			}
		}
		*descs[cat] = strings.Join(parts, " ")
	}
	c.Languages = []string{lang}
	c.Texts[lang] = base
	for i := range site.Texts {
		t := &site.Texts[i]
		if strings.EqualFold(t.Language, lang) {
			continue
		}
		x := base
		fill(&x, t)
		c.Languages = append(c.Languages, t.Language)
		c.Texts[t.Language] = x
	}
	necessary := BannerCategory{Key: string(policy.CookieNecessary), Required: true, Cookies: []BannerCookie{}}
	c.Categories = append(c.Categories, necessary)
	for _, cat := range policy.OptionalCookieCategories {
		keys := site.Categories.For(cat)
		bc := BannerCategory{Key: string(cat), Purposes: keys, Cookies: []BannerCookie{}}
		for _, k := range keys {
			if saleOrShare(doc, doc.PurposeByKey(k)) {
				bc.SaleOrShare = true
			}
			bc.Since = max(bc.Since, since[k])
		}
		c.Categories = append(c.Categories, bc)
	}
	for _, ck := range p.Cookies {
		for i := range c.Categories {
			if c.Categories[i].Key == string(ck.Category) {
				c.Categories[i].Cookies = append(c.Categories[i].Cookies, BannerCookie{Name: ck.Name, Provider: ck.Provider,
					Duration: ck.Duration.String(), Purpose: oneLine(ck.Purpose), Type: ck.Type})
			}
		}
	}
	// Categories with neither purposes nor cookies are not shown.
	out := c.Categories[:1]
	for _, bc := range c.Categories[1:] {
		if len(bc.Purposes) > 0 || len(bc.Cookies) > 0 {
			out = append(out, bc)
		}
	}
	c.Categories = out
	return c
}

// categoryText is the request for consent to a category as the banner
// showed it in a language: its label and description. Its hash is the
// proof kept with the choice.
func (c *BannerConfig) categoryText(lang string, cat policy.CookieCategory) string {
	t, ok := c.Texts[lang]
	if !ok {
		t = c.Texts[c.Language]
	}
	switch cat {
	case policy.CookieFunctional:
		return t.FunctionalLabel + ": " + t.FunctionalDescription
	case policy.CookieAnalytics:
		return t.AnalyticsLabel + ": " + t.AnalyticsDescription
	case policy.CookieAdvertising:
		return t.AdvertisingLabel + ": " + t.AdvertisingDescription
	}
	return ""
}

// language picks the configured language for a requested one: itself, its
// primary subtag, or the policy's.
func (c *BannerConfig) language(want string) string {
	if want == "" {
		return c.Language
	}
	for _, l := range c.Languages {
		if strings.EqualFold(l, want) {
			return l
		}
	}
	prim, _, _ := strings.Cut(want, "-")
	for _, l := range c.Languages {
		if strings.EqualFold(l, prim) {
			return l
		}
	}
	return c.Language
}

// BannerMeta is what the HTTP layer knows about a banner request.
type BannerMeta struct {
	Origin    string
	IP        string
	UserAgent string
	// GPC is true when the request carried Sec-GPC: 1.
	GPC bool
}

// BannerRecorded answers a banner choice. It holds no proof values: the
// browser needs only what to remember and what to show.
type BannerRecorded struct {
	ReceiptID string          `json:"receipt_id" doc:"Quote it to ask about this choice (the preferences dialog shows it)."`
	At        time.Time       `json:"at" doc:"When the choice was recorded."`
	ExpiresAt *time.Time      `json:"expires_at,omitempty" doc:"Ask again by then: the earliest end of the consents given."`
	GPC       bool            `json:"gpc" doc:"A Global Privacy Control signal was honoured: advertising and every sale or sharing are off."`
	Choices   map[string]bool `json:"choices" doc:"The categories as recorded (GPC may have turned advertising off)."`
	Events    []BannerEvent   `json:"events"`
}

// BannerEvent is one ledger event of a banner choice.
type BannerEvent struct {
	ReceiptID string `json:"receipt_id"`
	Purpose   string `json:"purpose"`
	Kind      string `json:"kind" enum:"given,withdrawn"`
	Method    string `json:"method" enum:"banner,gpc"`
}

// RecordBanner records a choice made in the banner of a site, for the
// browser's id. A Global Privacy Control signal (in the body, from
// navigator.globalPrivacyControl, or the Sec-GPC header) withdraws the
// advertising category and every mapped purpose flagged sale_or_share, and
// records the CCPA opt-out (ccpa.sale_share withdrawn, method gpc) once
// per browser.
func (s *Service) RecordBanner(ctx context.Context, key string, c BannerChoice, m BannerMeta) (BannerRecorded, error) {
	a, site, err := s.Site(ctx, key)
	if err != nil {
		return BannerRecorded{}, err
	}
	if !site.CheckOrigin(m.Origin) {
		return BannerRecorded{}, ErrOrigin
	}
	tenantID := a.Tenant.ID
	var ie InputError
	if c.PolicyVersion > a.Version.Version {
		ie.Add("policy_version", "is newer than the active policy version")
		return BannerRecorded{}, &ie
	}
	// The choice is recorded under the version the banner showed: its
	// texts are what the visitor read, and if a later version widened a
	// purpose, the decision engine treats the choice as needing renewal.
	doc, err := s.versionDoc(ctx, a, c.PolicyVersion)
	if err != nil {
		return BannerRecorded{}, err
	}
	vsite := doc.SiteByKey(key)
	if vsite == nil {
		ie.Add("policy_version", "this site is not in that policy version; fetch the configuration again")
		return BannerRecorded{}, &ie
	}
	version, hash := a.Version.Version, a.Version.Hash
	if doc != a.Doc {
		version, hash = c.PolicyVersion, doc.Hash
	}
	cfg, err := s.config(ctx, a, doc, vsite, version)
	if err != nil {
		return BannerRecorded{}, err
	}
	lang := cfg.language(c.Language)
	gpc := c.GPC || m.GPC
	_, ipHash, ua, page, err := s.proof(ctx, tenantID, Proof{IP: m.IP, UserAgent: m.UserAgent, PageURL: c.PageURL}, &ie)
	if err != nil {
		return BannerRecorded{}, err
	}
	if err := ie.Err(); err != nil {
		return BannerRecorded{}, err
	}
	now := s.now()
	out := BannerRecorded{At: now, GPC: gpc, Choices: map[string]bool{}, Events: []BannerEvent{}}
	base := store.ConsentEvent{TenantID: tenantID, BrowserID: c.BrowserID, PolicyVersion: version, PolicyHash: hash,
		IPHash: ipHash, UserAgent: ua, PageURL: page, Source: "site:" + key, Actor: "visitor", At: now}
	var events []store.ConsentEvent
	for _, cat := range policy.OptionalCookieCategories {
		keys := vsite.Categories.For(cat)
		if len(keys) == 0 {
			continue // a category the site does not offer: nothing to record
		}
		sale := false
		for _, k := range keys {
			if saleOrShare(doc, doc.PurposeByKey(k)) {
				sale = true
			}
		}
		// Under GPC advertising, and any category standing for a sale or
		// sharing, is off whatever was clicked: its scripts are blocked
		// per category, so one purpose cannot stay on alone.
		given, chosen := c.Choices[cat]
		forced := gpc && (cat == policy.CookieAdvertising || sale) && (given || !chosen)
		if !chosen && !forced {
			continue
		}
		if forced {
			given = false
		}
		out.Choices[string(cat)] = given
		text := TextHash(cfg.categoryText(lang, cat))
		for _, k := range keys {
			e := base
			e.ID, e.Purpose, e.Kind, e.Method, e.TextHash = store.NewID(), k, store.ConsentWithdrawn, store.MethodBanner, text
			switch {
			case forced:
				e.Method = store.MethodGPC
			case given:
				e.Kind, e.ExpiresAt = store.ConsentGiven, expiry(doc.PurposeByKey(k), now)
			}
			events = append(events, e)
		}
	}
	if len(events) == 0 && !gpc {
		ie.Add("choices", "choose at least one category this site offers")
		return BannerRecorded{}, &ie
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		batch := events
		if gpc {
			cur, err := tx.CurrentBrowserConsents(tenantID, c.BrowserID)
			if err != nil {
				return err
			}
			optedOut := false
			for _, st := range cur {
				if st.Purpose == store.PurposeSaleShare && st.Kind == store.ConsentWithdrawn {
					optedOut = true
				}
			}
			if !optedOut {
				e := base
				e.ID, e.Purpose, e.Kind, e.Method = store.NewID(), store.PurposeSaleShare, store.ConsentWithdrawn, store.MethodGPC
				e.TextHash = TextHash(cfg.Texts[lang].GPC)
				batch = append(append([]store.ConsentEvent{}, events...), e)
			}
		}
		if len(batch) == 0 {
			return errNothing
		}
		for _, e := range batch {
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
		}
		events = batch
		return nil
	})
	switch {
	case errors.Is(err, errNothing):
		// GPC alone, already recorded for this browser: nothing new. The
		// answer names no receipt, as no event was written.
		return out, nil
	case err != nil:
		return BannerRecorded{}, err
	}
	out.ReceiptID = events[0].ID
	for _, e := range events {
		out.Events = append(out.Events, BannerEvent{ReceiptID: e.ID, Purpose: e.Purpose, Kind: e.Kind, Method: e.Method})
		if !e.ExpiresAt.IsZero() && (out.ExpiresAt == nil || e.ExpiresAt.Before(*out.ExpiresAt)) {
			t := e.ExpiresAt
			out.ExpiresAt = &t
		}
	}
	return out, nil
}

var errNothing = fmt.Errorf("nothing to record")
