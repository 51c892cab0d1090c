package outbox

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits of a message. A message is a notice, not a document: exports are
// downloaded, never mailed.
const (
	maxTopic     = 100
	maxDedupeKey = 200
	maxSubjectID = 128
	maxSubject   = 998 // RFC 5322 line length
	maxHeaderVal = 998
	maxHeaders   = 20
	maxBodies    = 1 << 20 // text + HTML of an email
	maxWebhook   = 1 << 20 // JSON body of a webhook
	maxURL       = 2048
	minSecret    = 16
	maxSecret    = 1024
)

// reservedHeaders are the fields the outbox sets itself; a caller's Headers
// may not replace them (a forged From, a second To, a broken MIME
// structure).
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true, "message-id": true,
	"sender": true, "return-path": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "received": true, "dkim-signature": true,
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// validTopic allows lower-case letters, digits, '.', '_' and '-'; topics
// and events are logged, so they must never be able to carry free text.
func validTopic(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validate checks m and returns its destination (email domain or webhook
// host). Errors name the part that is wrong, never its value.
func (m Message) validate() (string, error) {
	if m.TenantID == "" || len(m.TenantID) > maxSubjectID {
		return "", invalidf("tenant id is required")
	}
	if !validTopic(m.Topic, maxTopic) {
		return "", invalidf("topic must be 1 to %d characters of a-z, 0-9, '.', '_' and '-'", maxTopic)
	}
	if len(m.SubjectID) > maxSubjectID || !utf8.ValidString(m.SubjectID) {
		return "", invalidf("subject id is too long")
	}
	if len(m.DedupeKey) > maxDedupeKey || !utf8.ValidString(m.DedupeKey) {
		return "", invalidf("dedupe key must be at most %d bytes of UTF-8", maxDedupeKey)
	}
	switch {
	case (m.Email == nil) == (m.Webhook == nil):
		return "", invalidf("exactly one of email and webhook must be set")
	case m.Email != nil:
		return m.Email.validate()
	default:
		return m.Webhook.validate()
	}
}

func hasCRLF(s string) bool { return strings.ContainsAny(s, "\r\n") }

func (e *Email) validate() (string, error) {
	if e.To == "" || hasCRLF(e.To) || !utf8.ValidString(e.To) {
		return "", invalidf("email: to is required, one address on one line")
	}
	addr, err := mail.ParseAddress(e.To)
	if err != nil {
		return "", invalidf("email: to is not an email address")
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at <= 0 || at == len(addr.Address)-1 {
		return "", invalidf("email: to is not an email address")
	}
	if e.Subject == "" || len(e.Subject) > maxSubject || hasCRLF(e.Subject) || !utf8.ValidString(e.Subject) {
		return "", invalidf("email: subject is required, at most %d bytes on one line", maxSubject)
	}
	if e.Text == "" && e.HTML == "" {
		return "", invalidf("email: a text or HTML body is required")
	}
	if len(e.Text)+len(e.HTML) > maxBodies || !utf8.ValidString(e.Text) || !utf8.ValidString(e.HTML) {
		return "", invalidf("email: bodies must be UTF-8 and at most %d bytes together", maxBodies)
	}
	if len(e.Headers) > maxHeaders {
		return "", invalidf("email: at most %d extra headers", maxHeaders)
	}
	for name, v := range e.Headers {
		if !validHeaderName(name) {
			return "", invalidf("email: header names are letters, digits and '-'")
		}
		if reservedHeaders[strings.ToLower(name)] {
			return "", invalidf("email: header %s is set by Trustee and cannot be given", name)
		}
		if hasCRLF(v) || len(v) > maxHeaderVal || !utf8.ValidString(v) {
			return "", invalidf("email: header %s must be one line of at most %d bytes", name, maxHeaderVal)
		}
	}
	return strings.ToLower(addr.Address[at+1:]), nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func (w *Webhook) validate() (string, error) {
	u, err := checkURL(w.URL)
	if err != nil {
		return "", err
	}
	if len(w.Secret) < minSecret || len(w.Secret) > maxSecret {
		return "", invalidf("webhook: secret must be %d to %d bytes", minSecret, maxSecret)
	}
	if !validTopic(w.Event, maxTopic) {
		return "", invalidf("webhook: event must be 1 to %d characters of a-z, 0-9, '.', '_' and '-'", maxTopic)
	}
	if len(w.Body) == 0 || len(w.Body) > maxWebhook || !json.Valid(w.Body) {
		return "", invalidf("webhook: body must be a JSON document of at most %d bytes", maxWebhook)
	}
	return strings.ToLower(u.Hostname()), nil
}

// checkURL accepts absolute http and https URLs with a host and without
// credentials. Where the host points is checked at delivery, when it is
// resolved.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" || len(raw) > maxURL || strings.ContainsAny(raw, " \r\n\t") {
		return nil, invalidf("webhook: url is required, at most %d characters, without spaces", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidf("webhook: url does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidf("webhook: url must be http or https")
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return nil, invalidf("webhook: url needs a host")
	}
	if u.User != nil {
		return nil, invalidf("webhook: url must not carry credentials; the signature authenticates Trustee")
	}
	if u.Fragment != "" {
		return nil, invalidf("webhook: url must not have a fragment")
	}
	return u, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
