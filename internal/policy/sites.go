package policy

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
)

// This file holds the rules of the sites section: the cookie banner runs on
// other people's pages without an API key, so everything that ties it to
// the tenant (site key, origins) and everything it records (which purposes
// a click consents to, which text was shown) must be exact.

var siteKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)

// DefaultConsentCookie is the cookie the banner remembers a choice in when
// a site names none.
const DefaultConsentCookie = "trustee_consent"

// maxBannerText bounds one banner text: a banner is read at a glance, and
// every text travels to every visitor.
const maxBannerText = 2000

// SiteByKey returns the site with the key, or nil.
func (d *Document) SiteByKey(key string) *Site {
	if d == nil || d.Policy == nil {
		return nil
	}
	for i := range d.Policy.Sites {
		if d.Policy.Sites[i].Key == key {
			return &d.Policy.Sites[i]
		}
	}
	return nil
}

// CookieFor returns the name of the cookie the banner keeps the choice in.
func (s *Site) CookieFor() string {
	if s.ConsentCookie != "" {
		return s.ConsentCookie
	}
	return DefaultConsentCookie
}

// CategoryOf returns the banner category a purpose is mapped to on the
// site, or "".
func (s *Site) CategoryOf(purpose string) CookieCategory {
	for _, c := range OptionalCookieCategories {
		for _, k := range s.Categories.For(c) {
			if k == purpose {
				return c
			}
		}
	}
	return ""
}

// TextsFor returns the site's texts in a language, or nil.
func (s *Site) TextsFor(lang string) *BannerTexts {
	for i := range s.Texts {
		if strings.EqualFold(s.Texts[i].Language, lang) {
			return &s.Texts[i]
		}
	}
	return nil
}

// CheckOrigin reports whether origin (as a browser sends it) may use the
// site: an exact match with one of the declared origins.
func (s *Site) CheckOrigin(origin string) bool {
	for _, o := range s.Origins {
		if o == origin {
			return true
		}
	}
	return false
}

// originProblem says what is wrong with a declared origin, or "".
func originProblem(o string) string {
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return "is not an origin; write scheme://host, e.g. https://www.example.com"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must use https (or http for local testing)"
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(o, "#") || strings.HasSuffix(o, "?"):
		return "must be only scheme://host[:port], without user, query or fragment"
	case u.Path != "" || u.RawPath != "":
		return "must not have a path (not even a trailing /): browsers send the Origin header without one"
	case strings.Contains(u.Host, "*"):
		return "cannot contain wildcards: list every origin"
	case o != strings.ToLower(o):
		return "must be written in lower case, as browsers send it"
	case (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80"):
		return "names the scheme's default port, which browsers leave out of the Origin header; remove :" + u.Port()
	case u.Hostname() == "":
		return "has no host"
	}
	return ""
}

// bannerTextFields are the text fields of BannerTexts besides language, by
// YAML key, for the completeness check.
func bannerTextFields() []fieldInfo {
	var out []fieldInfo
	for _, f := range infoOf(reflect.TypeFor[BannerTexts]()).fields {
		if f.name != "language" {
			out = append(out, f)
		}
	}
	return out
}

func (v *validator) checkSites() {
	keys := v.newUniq("site")
	lang := v.p.Language
	if lang == "" {
		lang = "en"
	}
	for i := range v.p.Sites {
		s := &v.p.Sites[i]
		path := at("sites", i)
		keys.add(path+".key", s.Key)
		if s.Key != "" && !siteKeyRE.MatchString(s.Key) {
			v.errf(path+".key", "site key %s must be 3 to 63 characters of a-z, 0-9 and -, starting with a letter or digit (it appears in URLs and in the page's HTML)", quote(s.Key))
		}
		origins := v.newUniq("origin")
		for j, o := range s.Origins {
			op := at(path+".origins", j)
			origins.add(op, o)
			if msg := originProblem(o); msg != "" {
				v.errf(op, "origin %s %s", quote(o), msg)
				continue
			}
			if u, _ := url.Parse(o); u.Scheme == "http" && !isLocalHost(u.Hostname()) {
				v.warnf(op, "origin %s uses plain http: choices and receipts travel unencrypted; use https outside local testing", quote(o))
			}
		}
		v.checkURL(path+".notice_url", s.NoticeURL)
		if s.NoticeURL == "" && v.p.Controller.Website == "" {
			v.warnf(path, "site %s has no notice_url and the controller has no website, so the banner links to no privacy notice", quote(s.Key))
		}
		v.checkSiteCookie(path, s)
		v.checkSiteCategories(path, s)
		v.checkSiteTexts(path, s, lang)
	}
}

func isLocalHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasSuffix(h, ".localhost")
}

func (v *validator) checkSiteCookie(path string, s *Site) {
	name := s.CookieFor()
	cp := path + ".consent_cookie"
	if s.ConsentCookie == "" {
		cp = path
	}
	if strings.ContainsAny(name, " \t;,=\"") {
		v.errf(cp, "cookie name %s cannot contain spaces, quotes or any of ; , =", quote(name))
		return
	}
	c := v.ix.cookies[name]
	switch {
	case c == nil:
		v.warnf(cp, "the banner keeps the visitor's choice in the cookie %s, which is not declared under cookies; declare it as necessary so the notice lists it", quote(name))
	case c.Category != CookieNecessary:
		v.errf(cp, "the banner's own cookie %s is declared as %s; it stores the choice itself and must be necessary, or the banner could not remember a refusal", quote(name), c.Category)
	}
}

func (v *validator) checkSiteCategories(path string, s *Site) {
	mapped := map[string]string{} // purpose -> path of first mapping
	used := map[CookieCategory]bool{}
	for _, c := range v.p.Cookies {
		used[c.Category] = true
	}
	for _, cat := range OptionalCookieCategories {
		cpath := path + ".categories." + string(cat)
		keys := s.Categories.For(cat)
		for j, k := range keys {
			kp := at(cpath, j)
			if first, dup := mapped[k]; dup {
				line, _ := v.d.Pos(first)
				v.errf(kp, "purpose %s is mapped to two banner categories (first at line %d): one click would both give and refuse it", quote(k), line)
				continue
			}
			mapped[k] = kp
			pp := v.ix.purposes[k]
			switch {
			case pp == nil:
				v.errf(kp, "no purpose has the key %s%s", quote(k), didYouMean(k, sortedKeys(v.ix.purposes)))
			case pp.LegalBasis != BasisConsent:
				v.errf(kp, "purpose %s is based on %s, not consent: a banner choice cannot switch it; map only purposes based on consent", quote(k), pp.LegalBasis)
			}
		}
		if len(keys) == 0 && used[cat] {
			var names []string
			for _, c := range v.p.Cookies {
				if c.Category == cat {
					names = append(names, c.Name)
				}
			}
			v.errf(path, "site %s maps no purpose to the %s category, but the policy declares %s cookies (%s): the banner could not record consent for them; add the consent-based purpose they serve under categories.%s", quote(s.Key), cat, cat, strings.Join(names, ", "), cat)
		}
	}
}

func (v *validator) checkSiteTexts(path string, s *Site, policyLang string) {
	langs := v.newUniq("language")
	var own *BannerTexts
	for j := range s.Texts {
		t := &s.Texts[j]
		tp := at(path+".texts", j)
		langs.add(tp+".language", strings.ToLower(t.Language))
		if t.Language != "" && !langRE.MatchString(t.Language) {
			v.errf(tp+".language", "%s is not a BCP 47 language tag such as en, nb or en-GB", quote(t.Language))
		}
		if strings.EqualFold(t.Language, policyLang) {
			own = t
		}
		tv := reflect.ValueOf(t).Elem()
		for _, f := range bannerTextFields() {
			if len(tv.Field(f.index).String()) > maxBannerText {
				v.errf(tp+"."+f.name, "%s is longer than %d characters; a banner is read at a glance", f.name, maxBannerText)
			}
		}
	}
	if strings.EqualFold(policyLang, "en") || strings.HasPrefix(strings.ToLower(policyLang), "en-") {
		return // built-in English texts fill the gaps
	}
	if own == nil {
		v.errf(path, "site %s has no texts in the policy's language %s; built-in banner texts exist only in English, so add texts with language: %s", quote(s.Key), policyLang, policyLang)
		return
	}
	var missing []string
	ov := reflect.ValueOf(own).Elem()
	for _, f := range bannerTextFields() {
		if strings.HasSuffix(f.name, "_description") && f.name != "necessary_description" {
			continue // defaults to the purposes' consent.text, in the policy's language
		}
		if strings.TrimSpace(ov.Field(f.index).String()) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		v.errf(path, "the %s texts of site %s lack %s; built-in banner texts exist only in English", policyLang, quote(s.Key), strings.Join(missing, ", "))
	}
}
