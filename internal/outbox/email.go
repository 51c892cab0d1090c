package outbox

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// sendEmail makes one SMTP delivery attempt with go-mail. The SMTP
// conversation happens on one connection per message: outbox volumes are
// notices, not newsletters, and a fresh connection never carries state
// from another tenant's message.
func (o *Outbox) sendEmail(ctx context.Context, id string, e *Email) result {
	cfg := o.opts.SMTP
	msg, res, ok := buildEmail(cfg.From, id, e)
	if !ok {
		return res
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.PortOrDefault()),
		gomail.WithTimeout(cfg.Timeout),
	}
	switch cfg.Mode() {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if cfg.TLSConfig != nil {
		tc := cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return failed(true, 0, "SMTP settings rejected by the mail client")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return smtpFailure("connecting to the SMTP server", err)
	}
	err = client.SendWithSMTPClient(conn, msg)
	// Once the server accepted the message, a failing QUIT does not undo
	// the delivery, so its error is ignored: reporting it would send the
	// message twice.
	_ = client.CloseWithSMTPClient(conn)
	if err != nil {
		return smtpFailure("sending", err)
	}
	return result{ok: true, code: 250}
}

// buildEmail turns e into a go-mail message from from. The Message-ID is
// derived from the outbox id, so every retry of one message carries the
// same id and receiving systems can discard duplicates.
func buildEmail(from, id string, e *Email) (*gomail.Msg, result, bool) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, failed(true, 0, "smtp_from is not a usable address"), false
	}
	if err := msg.To(e.To); err != nil {
		return nil, failed(true, 0, "the recipient is not a usable address"), false
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(id + "@" + messageIDDomain(from))
	msg.SetDate()
	auto := true
	for name, v := range e.Headers {
		msg.SetGenHeader(gomail.Header(name), v)
		if strings.EqualFold(name, "Auto-Submitted") {
			auto = false
		}
	}
	if auto {
		// RFC 3834: tells vacation responders not to answer a machine.
		msg.SetGenHeader("Auto-Submitted", "auto-generated")
	}
	switch {
	case e.Text != "" && e.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, e.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	case e.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, e.HTML)
	}
	return msg, result{}, true
}

// messageIDDomain is the domain of the From address, so Message-IDs are
// globally unique and belong to the sender.
func messageIDDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && at < len(a.Address)-1 {
			return a.Address[at+1:]
		}
	}
	return "trustee.invalid"
}

// smtpFailure classifies an SMTP error without quoting it: servers echo
// addresses in their replies ("550 <kari@example.no> unknown") and go-mail
// lists affected recipients, so only the stage, the reply code and the
// enhanced status code are kept. A 5xx reply is permanent (the recipient
// does not exist, the message is refused); everything else — 4xx, network,
// TLS, authentication — is retried, as an operator can fix it.
func smtpFailure(stage string, err error) result {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code, enh := se.ErrorCode(), se.EnhancedStatusCode()
		text := "SMTP " + se.Reason.String() + " failed"
		if code != 0 {
			text += ": " + strconv.Itoa(code)
			if enh != "" {
				text += " " + enh
			}
		}
		return result{permanent: !se.IsTemp() && code >= 500, code: code, err: scrub(text)}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return failed(false, 0, "SMTP %s timed out", stage)
	case errors.Is(err, gomail.ErrSMTPAuthMethodIsNil), strings.Contains(err.Error(), "auth"):
		return failed(false, replyCode(err), "SMTP authentication failed (check smtp_username and TRUSTEE_SMTP_PASSWORD)")
	case strings.Contains(err.Error(), "STARTTLS"), strings.Contains(err.Error(), "tls"):
		return failed(false, 0, "SMTP TLS failed (check smtp_tls and the server's certificate)")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return failed(false, 0, "%s: %s", stage, netReason(oe))
	}
	return failed(false, replyCode(err), "SMTP %s failed", stage)
}

// replyCode finds an SMTP reply code (the first three digits of a reply
// quoted in err), or 0.
func replyCode(err error) int {
	s := err.Error()
	for i := 0; i+3 <= len(s); i++ {
		if (i == 0 || s[i-1] == ' ') && s[i] >= '2' && s[i] <= '5' && isDigit(s[i+1]) && isDigit(s[i+2]) &&
			(i+3 == len(s) || s[i+3] == ' ' || s[i+3] == '-') {
			return int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		}
	}
	return 0
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
