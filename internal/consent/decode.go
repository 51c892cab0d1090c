package consent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// BannerChoice is the body of POST /v1/public/{site}/consents: one click in
// the banner of one browser.
type BannerChoice struct {
	BrowserID     string                         `json:"browser_id" minLength:"16" maxLength:"64" pattern:"^[A-Za-z0-9_-]{16,64}$" doc:"The banner's random id of this browser (base64url)."`
	PolicyVersion int                            `json:"policy_version" minimum:"1" doc:"The policy version of the configuration the banner showed."`
	Language      string                         `json:"language,omitempty" maxLength:"35" doc:"The language the banner was shown in (BCP 47)."`
	Choices       map[policy.CookieCategory]bool `json:"choices" doc:"Category (functional, analytics, advertising) to allowed; categories left out are not changed."`
	PageURL       string                         `json:"page_url,omitempty" maxLength:"2048" doc:"The page; query and fragment are dropped before storing."`
	GPC           bool                           `json:"gpc,omitempty" doc:"navigator.globalPrivacyControl was true."`
}

// MaxBannerBody bounds a banner choice: a real one is about 200 bytes.
const MaxBannerBody = 4 << 10

var langTagRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,4}$`)

// DecodeBannerChoice decodes a banner choice strictly, because anyone on
// the internet can send one: a single JSON object of at most MaxBannerBody
// bytes of UTF-8, only the known keys, each at most once and of its type,
// no null, nothing after the object. Errors name the key, never the value.
func DecodeBannerChoice(b []byte) (BannerChoice, error) {
	var c BannerChoice
	var ie InputError
	fail := func(field, msg string) (BannerChoice, error) {
		ie.Add(field, "%s", msg)
		return BannerChoice{}, &ie
	}
	if len(b) > MaxBannerBody {
		return fail("body", "is larger than 4096 bytes")
	}
	if !utf8.Valid(b) {
		return fail("body", "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fail("body", "must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fail("body", "is not valid JSON")
		}
		key, _ := kt.(string)
		if seen[key] {
			return fail(key, "is given twice")
		}
		seen[key] = true
		switch key {
		case "browser_id", "language", "page_url":
			v, ok := stringToken(dec)
			if !ok {
				return fail(key, "must be a string")
			}
			switch key {
			case "browser_id":
				c.BrowserID = v
			case "language":
				c.Language = v
			case "page_url":
				c.PageURL = v
			}
		case "policy_version":
			t, err := dec.Token()
			n, ok := t.(json.Number)
			if err != nil || !ok {
				return fail(key, "must be a whole number")
			}
			v, err := strconv.ParseInt(string(n), 10, 32)
			if err != nil {
				return fail(key, "must be a whole number")
			}
			c.PolicyVersion = int(v)
		case "gpc":
			t, err := dec.Token()
			v, ok := t.(bool)
			if err != nil || !ok {
				return fail(key, "must be true or false")
			}
			c.GPC = v
		case "choices":
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return fail(key, "must be an object of category: true or false")
			}
			c.Choices = map[policy.CookieCategory]bool{}
			for dec.More() {
				ct, err := dec.Token()
				if err != nil {
					return fail(key, "is not valid JSON")
				}
				name, _ := ct.(string)
				cat := policy.CookieCategory(name)
				switch cat {
				case policy.CookieFunctional, policy.CookieAnalytics, policy.CookieAdvertising:
				default:
					return fail(key, "names a category other than functional, analytics and advertising")
				}
				if _, dup := c.Choices[cat]; dup {
					return fail(key+"."+string(cat), "is given twice")
				}
				t, err := dec.Token()
				v, ok := t.(bool)
				if err != nil || !ok {
					return fail(key+"."+string(cat), "must be true or false")
				}
				c.Choices[cat] = v
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('}') {
				return fail(key, "is not valid JSON")
			}
		default:
			return fail("body", "has an unknown key; allowed: browser_id, policy_version, language, choices, page_url, gpc")
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return fail("body", "is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("body", "has data after the JSON object")
	}
	switch {
	case !browserIDRE.MatchString(c.BrowserID):
		ie.Add("browser_id", "must be 16 to 64 characters of A-Z, a-z, 0-9, - and _")
	case c.PolicyVersion < 1:
		ie.Add("policy_version", "is required and at least 1")
	case c.Choices == nil:
		ie.Add("choices", "is required")
	case c.Language != "" && !langTagRE.MatchString(c.Language):
		ie.Add("language", "is not a BCP 47 language tag")
	case len(c.PageURL) > maxPageURL:
		ie.Add("page_url", "is longer than %d bytes", maxPageURL)
	}
	if err := ie.Err(); err != nil {
		return BannerChoice{}, err
	}
	return c, nil
}

// stringToken reads a JSON string value (not null, not a number).
func stringToken(dec *json.Decoder) (string, bool) {
	t, err := dec.Token()
	if err != nil {
		return "", false
	}
	s, ok := t.(string)
	return s, ok
}
