package consent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/policy"
)

const goodChoice = `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"language":"nb","choices":{"analytics":true,"advertising":false},"page_url":"https://www.example.com/a?b=c","gpc":false}`

func TestDecodeBannerChoice(t *testing.T) {
	c, err := DecodeBannerChoice([]byte(goodChoice))
	if err != nil {
		t.Fatal(err)
	}
	if c.BrowserID != "AbCdEfGhIjKlMnOpQrStUv" || c.PolicyVersion != 3 || c.Language != "nb" || len(c.Choices) != 2 ||
		!c.Choices[policy.CookieAnalytics] || c.Choices[policy.CookieAdvertising] || c.PageURL != "https://www.example.com/a?b=c" {
		t.Errorf("decoded %+v", c)
	}
	bad := []struct {
		name, body, field string
	}{
		{"empty", ``, "body"},
		{"array", `[]`, "body"},
		{"null", `null`, "body"},
		{"unknown key", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{},"email":"a@b.c"}`, "body"},
		{"duplicate key", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","browser_id":"AbCdEfGhIjKlMnOpQrStUw","policy_version":3,"choices":{}}`, "browser_id"},
		{"duplicate category", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{"analytics":true,"analytics":false}}`, "choices.analytics"},
		{"necessary category", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{"necessary":false}}`, "choices"},
		{"string bool", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{"analytics":"yes"}}`, "choices.analytics"},
		{"null choice", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{"analytics":null}}`, "choices.analytics"},
		{"float version", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3.5,"choices":{}}`, "policy_version"},
		{"huge version", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":99999999999,"choices":{}}`, "policy_version"},
		{"string version", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":"3","choices":{}}`, "policy_version"},
		{"no version", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","choices":{}}`, "policy_version"},
		{"no choices", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3}`, "choices"},
		{"short browser id", `{"browser_id":"abc","policy_version":3,"choices":{}}`, "browser_id"},
		{"browser id with dot", `{"browser_id":"AbCdEfGhIjKlMnOp.rStUv","policy_version":3,"choices":{}}`, "browser_id"},
		{"number browser id", `{"browser_id":12345678901234567890,"policy_version":3,"choices":{}}`, "browser_id"},
		{"bad language", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{},"language":"english please"}`, "language"},
		{"trailing data", goodChoice + `{}`, "body"},
		{"trailing garbage", goodChoice + `x`, "body"},
		{"bad utf8", "{\"browser_id\":\"AbCdEfGhIjKlMnOpQrStU\xff\",\"policy_version\":3,\"choices\":{}}", "body"},
		{"too large", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{},"page_url":"` + strings.Repeat("a", 5000) + `"}`, "body"},
		{"truncated", goodChoice[:40], "body"},
		{"gpc string", `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":3,"choices":{},"gpc":"true"}`, "gpc"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBannerChoice([]byte(c.body))
			var ie *InputError
			if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Field != c.field {
				t.Fatalf("error = %v, want one problem about %s", err, c.field)
			}
			if strings.Contains(ie.Error(), "a@b.c") || strings.Contains(ie.Error(), "AbCdEf") {
				t.Error("the error echoes a value")
			}
		})
	}
}

// FuzzDecodeBannerChoice feeds the public endpoint's decoder arbitrary
// bytes: it must never panic, must accept only what it documents, and
// what it accepts must survive a round trip through encoding/json.
func FuzzDecodeBannerChoice(f *testing.F) {
	for _, s := range []string{goodChoice, `{}`, `{"choices":{}}`, `{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":1,"choices":{"functional":true}}`,
		`{"browser_id":"AbCdEfGhIjKlMnOpQrStUv","policy_version":1,"choices":{},"gpc":true}`, `[1,2]`, `"x"`, `{"a":{"b":[1,{"c":null}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeBannerChoice(b)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		if len(b) > MaxBannerBody || !utf8.Valid(b) || !json.Valid(b) {
			t.Fatalf("accepted an invalid body %q", b)
		}
		if !browserIDRE.MatchString(c.BrowserID) || c.PolicyVersion < 1 || c.Choices == nil {
			t.Fatalf("accepted an incomplete choice %+v", c)
		}
		for k := range c.Choices {
			if k != policy.CookieFunctional && k != policy.CookieAnalytics && k != policy.CookieAdvertising {
				t.Fatalf("accepted category %q", k)
			}
		}
		// encoding/json agrees on the values.
		var std BannerChoice
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("encoding/json refuses what was accepted: %v", err)
		}
		if std.BrowserID != c.BrowserID || std.PolicyVersion != c.PolicyVersion || std.Language != c.Language ||
			std.PageURL != c.PageURL || std.GPC != c.GPC || len(std.Choices) != len(c.Choices) {
			t.Fatalf("decoders disagree: %+v vs %+v", c, std)
		}
	})
}
