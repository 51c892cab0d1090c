package notice

import (
	"github.com/trustee-privacy/trustee/internal/policy"
)

// CookieRow is one line of the cookie table as plain data, so that the
// consent banner, the privacy center and the admin console can show the
// same inventory the notice prints without parsing HTML.
type CookieRow struct {
	// Name is the cookie or storage key as set in the browser; a trailing *
	// matches a prefix.
	Name string `json:"name"`
	// Provider is who sets it (first party or a named company).
	Provider string `json:"provider"`
	// Category is the banner category key (necessary, functional,
	// analytics, advertising).
	Category policy.CookieCategory `json:"category"`
	// CategoryName is the category in words ("Analytics cookies").
	CategoryName string `json:"category_name"`
	// Duration is the lifetime in words ("2 years", "until the browser is
	// closed").
	Duration string `json:"duration"`
	// Purpose says what it is used for.
	Purpose string `json:"purpose"`
	// Type is "cookie", "local storage", "session storage" or "pixel".
	Type string `json:"type"`
	// Recipient is the name of the recipient its data goes to, if any.
	Recipient string `json:"recipient,omitempty"`
	// NeedsConsent is false only for strictly necessary cookies.
	NeedsConsent bool `json:"needs_consent"`
}

// cookieCategories is the order categories appear in, from the ones that
// need no consent to the most intrusive.
var cookieCategories = []policy.CookieCategory{
	policy.CookieNecessary, policy.CookieFunctional, policy.CookieAnalytics, policy.CookieAdvertising,
}

// cookieCategoryName names a banner category.
func cookieCategoryName(c policy.CookieCategory) string {
	switch c {
	case policy.CookieNecessary:
		return "Strictly necessary cookies"
	case policy.CookieFunctional:
		return "Functional cookies"
	case policy.CookieAnalytics:
		return "Analytics cookies"
	case policy.CookieAdvertising:
		return "Advertising cookies"
	}
	return humanise(string(c)) + " cookies"
}

// cookieTypeWords names a tracker type.
func cookieTypeWords(t string) string {
	switch t {
	case "", "cookie":
		return "cookie"
	case "local_storage":
		return "local storage"
	case "session_storage":
		return "session storage"
	case "pixel":
		return "pixel"
	}
	return lowerFirst(humanise(t))
}

// CookieTable lists the policy's cookies grouped by category (necessary,
// functional, analytics, advertising, then any other), keeping the policy's
// order within a category. Texts are single-line and durations in words,
// ready to print.
func CookieTable(p *policy.Policy) []CookieRow {
	if p == nil {
		return nil
	}
	rank := func(c policy.CookieCategory) int {
		for i, x := range cookieCategories {
			if x == c {
				return i
			}
		}
		return len(cookieCategories)
	}
	var rows []CookieRow
	for r := 0; r <= len(cookieCategories); r++ {
		for _, c := range p.Cookies {
			if rank(c.Category) != r {
				continue
			}
			row := CookieRow{
				Name:         oneLine(c.Name),
				Provider:     oneLine(c.Provider),
				Category:     c.Category,
				CategoryName: cookieCategoryName(c.Category),
				Duration:     c.Duration.Human(),
				Purpose:      oneLine(c.Purpose),
				Type:         cookieTypeWords(c.Type),
				NeedsConsent: c.Category != policy.CookieNecessary,
			}
			if row.Duration == "" {
				row.Duration = "not stated"
			}
			if rc := recipientByKey(p, c.Recipient); rc != nil {
				row.Recipient = oneLine(rc.Name)
			}
			rows = append(rows, row)
		}
	}
	return rows
}
