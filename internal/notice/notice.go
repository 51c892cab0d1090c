// Package notice renders what a privacy policy promises into the documents
// people and regulators read: the privacy notice (HTML and Markdown), the
// cookie table, and the record of processing activities (GDPR Art. 30) as
// JSON and CSV.
//
// Everything is generated from a *policy.Policy, the same value Trustee
// enforces, so the notice cannot drift from what the systems do. The notice
// is first built as a small document model and then written out, so the
// HTML and the Markdown say the same thing word for word. All policy text is
// treated as untrusted: html/template escapes it in HTML, the Markdown
// writer escapes every character CommonMark could read as markup, and links
// are limited to http, https and mailto.
package notice

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// Options carry what the policy itself does not know: which stored version
// is being rendered and where people exercise their rights.
type Options struct {
	// Version is the stored policy version number, shown in the notice so
	// people can tell versions apart. Zero leaves it out.
	Version int
	// Hash is the policy's content hash, printed as a fingerprint so that
	// a saved copy can be matched to the exact version. Empty leaves it out.
	Hash string
	// LastUpdated is the date shown as "last updated"; zero falls back to
	// the policy's effective date.
	LastUpdated time.Time
	// PrivacyCenterURL is where people exercise their rights and change
	// their choices. Optional; it must be an absolute http or https URL.
	PrivacyCenterURL string
	// Title is the page title and main heading; empty means "Privacy notice".
	Title string
	// Fragment makes HTML return only the notice's <article> element,
	// without <html>, <head> or the stylesheet, for embedding in the
	// privacy center (which can include Stylesheet itself). Markdown
	// ignores it.
	Fragment bool
}

// ErrNilPolicy is returned when there is no policy to render, so callers can
// tell a missing policy from a rendering failure.
var ErrNilPolicy = errors.New("notice: no policy to render")

// check validates the inputs every renderer shares.
func check(p *policy.Policy, o Options) error {
	if p == nil {
		return ErrNilPolicy
	}
	if o.PrivacyCenterURL != "" {
		u := safeURL(o.PrivacyCenterURL)
		if u == "" || (len(u) >= 7 && u[:7] == "mailto:") {
			return fmt.Errorf("notice: privacy center URL %q must be an absolute http or https URL", o.PrivacyCenterURL)
		}
	}
	return nil
}

// HTML renders the privacy notice as a complete, standalone HTML5 page
// (or, with Options.Fragment, as an <article> to embed). The page is
// accessible (language, heading hierarchy, table headers, skip link),
// readable on phones and printable, and needs no external resources.
func HTML(p *policy.Policy, o Options) ([]byte, error) {
	if err := check(p, o); err != nil {
		return nil, err
	}
	d := build(p, o)
	var buf bytes.Buffer
	name := "page"
	if o.Fragment {
		name = "article"
	}
	if err := pageTemplate.ExecuteTemplate(&buf, name, d); err != nil {
		return nil, fmt.Errorf("notice: rendering HTML: %w", err)
	}
	return buf.Bytes(), nil
}

// Markdown renders the same notice as CommonMark (with GitHub-style tables
// for the recipients and cookies), for repositories, wikis and review by
// people who prefer plain text. Anchors match GitHub's heading slugs.
func Markdown(p *policy.Policy, o Options) ([]byte, error) {
	if err := check(p, o); err != nil {
		return nil, err
	}
	return writeMarkdown(build(p, o)), nil
}
