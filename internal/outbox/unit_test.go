package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func validEmail() *Email {
	return &Email{To: "kari@example.no", Subject: "Hello", Text: "Body"}
}

func validWebhook() *Webhook {
	return &Webhook{URL: "https://hooks.example.com/trustee", Secret: []byte("0123456789abcdef"), Event: "subject.erased", Body: json.RawMessage(`{"a":1}`)}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Message)
		want string // substring of the error; "" for valid
		dest string
	}{
		{"valid email", func(m *Message) {}, "", "example.no"},
		{"display name and upper-case domain", func(m *Message) { m.Email.To = "Kari Nordmann <kari@Example.NO>" }, "", "example.no"},
		{"valid webhook", func(m *Message) { m.Email, m.Webhook = nil, validWebhook() }, "", "hooks.example.com"},
		{"webhook host with port", func(m *Message) {
			m.Email, m.Webhook = nil, validWebhook()
			m.Webhook.URL = "http://HOOKS.example.com:8443/x?y=1"
		}, "", "hooks.example.com"},
		{"no tenant", func(m *Message) { m.TenantID = "" }, "tenant id", ""},
		{"no topic", func(m *Message) { m.Topic = "" }, "topic", ""},
		{"topic with spaces", func(m *Message) { m.Topic = "Kari's code" }, "topic", ""},
		{"neither", func(m *Message) { m.Email = nil }, "exactly one", ""},
		{"both", func(m *Message) { m.Webhook = validWebhook() }, "exactly one", ""},
		{"long dedupe key", func(m *Message) { m.DedupeKey = strings.Repeat("k", 201) }, "dedupe key", ""},
		{"no recipient", func(m *Message) { m.Email.To = "" }, "to is required", ""},
		{"two recipients", func(m *Message) { m.Email.To = "a@example.com, b@example.com" }, "not an email address", ""},
		{"header injection in to", func(m *Message) { m.Email.To = "a@example.com\r\nBcc: x@evil.example" }, "one line", ""},
		{"not an address", func(m *Message) { m.Email.To = "kari" }, "not an email address", ""},
		{"no subject", func(m *Message) { m.Email.Subject = "" }, "subject", ""},
		{"subject injection", func(m *Message) { m.Email.Subject = "Hi\nBcc: x@evil.example" }, "subject", ""},
		{"no body", func(m *Message) { m.Email.Text = "" }, "body", ""},
		{"html only", func(m *Message) { m.Email.Text, m.Email.HTML = "", "<p>x</p>" }, "", "example.no"},
		{"huge body", func(m *Message) { m.Email.Text = strings.Repeat("x", maxBodies+1) }, "bodies", ""},
		{"bad header name", func(m *Message) { m.Email.Headers = map[string]string{"X Bad": "v"} }, "header names", ""},
		{"reserved header", func(m *Message) { m.Email.Headers = map[string]string{"from": "ceo@acme.example"} }, "set by Trustee", ""},
		{"bcc header", func(m *Message) { m.Email.Headers = map[string]string{"Bcc": "x@evil.example"} }, "set by Trustee", ""},
		{"header value injection", func(m *Message) {
			m.Email.Headers = map[string]string{"List-Unsubscribe": "<https://x>\r\nBcc: y@evil.example"}
		}, "one line", ""},
		{"unsubscribe headers", func(m *Message) {
			m.Email.Headers = map[string]string{"List-Unsubscribe": "<https://acme.example/u/1>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
		}, "", "example.no"},
	}
	webhookCases := []struct {
		name string
		edit func(*Webhook)
		want string
	}{
		{"ftp", func(w *Webhook) { w.URL = "ftp://example.com/x" }, "http or https"},
		{"file", func(w *Webhook) { w.URL = "file:///etc/passwd" }, "http or https"},
		{"relative", func(w *Webhook) { w.URL = "/hooks" }, "http or https"},
		{"no host", func(w *Webhook) { w.URL = "https:///x" }, "host"},
		{"credentials", func(w *Webhook) { w.URL = "https://user:pw@example.com/x" }, "credentials"},
		{"fragment", func(w *Webhook) { w.URL = "https://example.com/x#y" }, "fragment"},
		{"space", func(w *Webhook) { w.URL = "https://example.com/a b" }, "without spaces"},
		{"short secret", func(w *Webhook) { w.Secret = []byte("short") }, "secret"},
		{"no event", func(w *Webhook) { w.Event = "" }, "event"},
		{"bad JSON", func(w *Webhook) { w.Body = json.RawMessage(`{"a":`) }, "JSON"},
		{"empty body", func(w *Webhook) { w.Body = nil }, "JSON"},
	}
	for _, c := range webhookCases {
		cases = append(cases, struct {
			name string
			edit func(*Message)
			want string
			dest string
		}{"webhook " + c.name, func(m *Message) { m.Email, m.Webhook = nil, validWebhook(); c.edit(m.Webhook) }, c.want, ""})
	}
	for _, c := range cases {
		m := Message{TenantID: "t1", Topic: "rights.completed", Email: validEmail()}
		c.edit(&m)
		dest, err := m.validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && dest != c.dest:
			t.Errorf("%s: destination %q, want %q", c.name, dest, c.dest)
		case c.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one about %q", c.name, err, c.want)
		case err != nil && (strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "kari@")):
			t.Errorf("%s: the error quotes the value: %v", c.name, err)
		}
	}
}

func TestBlockedAddr(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "::1": true, "10.0.0.1": true, "172.16.5.4": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd12:3456::1": true, "0.0.0.0": true, "::": true,
		"224.0.0.1": true, "ff02::1": true, "100.64.0.1": true, "255.255.255.255": true, "198.18.0.1": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "64:ff9b::a00:1": true, "2002:a00:1::1": true,
		"192.0.2.1": true, "2001:db8::1": true,
		"93.184.216.34": false, "8.8.8.8": false, "2606:4700:4700::1111": false, "::ffff:8.8.8.8": false,
		"64:ff9b::808:808": false, "172.32.0.1": false, "100.128.0.1": false,
	}
	for s, want := range cases {
		if got := blockedAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("blockedAddr(%s) = %v, want %v", s, got, want)
		}
	}
	if !blockedAddr(netip.Addr{}) {
		t.Error("the zero address is allowed")
	}
}

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"subject_id":"s1"}`)
	now := time.Unix(1_750_000_000, 0)
	ts := "1750000000"
	sig := Sign(secret, ts, body)
	// A fixed vector, so receivers in other languages can check their code.
	// Computed independently (Python's hmac) and repeated in docs/webhooks.md.
	if sig != "v1=40e05e15304b7159c2abace2d297f4b92feca5accd847a4d66d93344da30a1bb" {
		t.Errorf("signature vector: %s", sig)
	}
	h := func(ts, sig string) http.Header {
		x := http.Header{}
		if ts != "" {
			x.Set(HeaderTimestamp, ts)
		}
		if sig != "" {
			x.Set(HeaderSignature, sig)
		}
		return x
	}
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		secret []byte
		now    time.Time
		want   error
	}{
		{"valid", h(ts, sig), body, secret, now, nil},
		{"4 minutes late", h(ts, sig), body, secret, now.Add(4 * time.Minute), nil},
		{"rotation: two signatures", h(ts, "v1=00, "+sig), body, secret, now, nil},
		{"6 minutes late: replay", h(ts, sig), body, secret, now.Add(6 * time.Minute), ErrStale},
		{"from the future", h(ts, sig), body, secret, now.Add(-6 * time.Minute), ErrStale},
		{"body changed", h(ts, sig), []byte(`{"subject_id":"s2"}`), secret, now, ErrBadSignature},
		{"timestamp changed", h("1750000001", sig), body, secret, now, ErrBadSignature},
		{"other secret", h(ts, sig), body, []byte("another secret, also long enough"), now, ErrBadSignature},
		{"no version prefix", h(ts, strings.TrimPrefix(sig, "v1=")), body, secret, now, ErrBadSignature},
		{"no timestamp", h("", sig), body, secret, now, ErrNoSignature},
		{"no signature", h(ts, ""), body, secret, now, ErrNoSignature},
		{"bad timestamp", h("yesterday", sig), body, secret, now, ErrStale},
	}
	for _, c := range cases {
		if err := Verify(c.secret, c.header, c.body, c.now, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 <kari@example.no>: Recipient address rejected": "550 5.1.1 <[address]>: Recipient address rejected",
		`Post "https://hooks.example.com/x?token=abc": EOF`:       `Post "[url]": EOF`,
		"dial tcp 10.0.0.1:443: connect: connection refused":      "dial tcp 10.0.0.1:443: connect: connection refused",
	} {
		if got := scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
	if got := scrub(strings.Repeat("é", 400)); len(got) > 500 || !strings.HasPrefix(strings.Repeat("é", 250), got) {
		t.Errorf("scrub does not bound the text cleanly: %d bytes", len(got))
	}
}

func TestReplyCode(t *testing.T) {
	for in, want := range map[string]int{
		"535 5.7.8 authentication failed": 535, "smtp: 421 too busy": 421, "auth failed": 0, "version 2.5.0": 0,
	} {
		if got := replyCode(errors.New(in)); got != want {
			t.Errorf("replyCode(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestDefaultSchedule: ten attempts with the default backoff spread over
// about a day, and jitter stays within ±20%.
func TestDefaultSchedule(t *testing.T) {
	o := &Outbox{opts: Options{BackoffBase: DefaultBackoffBase, BackoffMax: DefaultBackoffMax}}
	var lo, hi time.Duration
	for attempt := 1; attempt < DefaultMaxAttempts; attempt++ {
		nominal := min(DefaultBackoffBase<<(attempt-1), DefaultBackoffMax)
		for range 200 {
			d := o.backoff(attempt)
			if d < nominal*4/5 || d > nominal*6/5 {
				t.Fatalf("attempt %d: delay %s outside %s ±20%%", attempt, d, nominal)
			}
		}
		lo += nominal * 4 / 5
		hi += nominal * 6 / 5
	}
	if lo < 18*time.Hour || hi > 36*time.Hour {
		t.Errorf("10 attempts span %s to %s, not about a day", lo, hi)
	}
	t.Logf("10 attempts span %s to %s", lo, hi)
}

func TestSMTPConfig(t *testing.T) {
	ok := SMTPConfig{Host: "smtp.example.com", From: "Acme <privacy@acme.example>", Username: "u", Password: "p4ss-w0rd"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if ok.PortOrDefault() != 587 || ok.Mode() != TLSStartTLS {
		t.Errorf("defaults: %d %s", ok.PortOrDefault(), ok.Mode())
	}
	for _, s := range []string{ok.String(), fmt.Sprint(ok.LogValue())} {
		if strings.Contains(s, "p4ss-w0rd") || !strings.Contains(s, "smtp.example.com:587") {
			t.Errorf("description %q", s)
		}
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "smtp", ok)
	if strings.Contains(buf.String(), "p4ss-w0rd") {
		t.Errorf("the password reached a log: %s", buf.String())
	}
	bad := []struct {
		edit func(*SMTPConfig)
		want string
	}{
		{func(c *SMTPConfig) { c.TLS = "ssl" }, "smtp_tls"},
		{func(c *SMTPConfig) { c.From = "" }, "smtp_from is required"},
		{func(c *SMTPConfig) { c.From = "not an address" }, "smtp_from must be"},
		{func(c *SMTPConfig) { c.Password = "" }, "together"},
		{func(c *SMTPConfig) { c.Port = 70000 }, "smtp_port"},
		{func(c *SMTPConfig) { c.Host = "smtp://x" }, "smtp_host"},
		{func(c *SMTPConfig) { c.Host = "" }, "smtp_host is required"},
	}
	for _, b := range bad {
		c := ok
		b.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: %v, want %q", c, err, b.want)
		}
	}
	if err := (SMTPConfig{}).Validate(); err != nil || (SMTPConfig{}).Configured() {
		t.Errorf("zero config: %v", err)
	}
	for mode, port := range map[string]int{TLSImplicit: 465, TLSNone: 25, TLSStartTLS: 587} {
		if got := (SMTPConfig{TLS: mode}).PortOrDefault(); got != port {
			t.Errorf("%s port %d", mode, got)
		}
	}
}
