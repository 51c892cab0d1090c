// Package outboxtest gives tests a real SMTP server and a real webhook
// receiver, both in process on 127.0.0.1, so code that sends email or
// webhooks through package outbox (rights workflows, breach notices,
// propagation to recipients) is tested over real sockets: go-mail talks
// SMTP to a github.com/emersion/go-smtp server, and webhooks arrive at an
// httptest server that checks their signatures like a real receiver.
//
// The quickest start is a Rig, a working outbox over the test's store:
//
//	r := outboxtest.NewRig(t, st)             // keys, runner, SMTP, receiver; stops with t
//	tenant := r.Tenant(t, "acme")
//	id := r.Enqueue(t, outbox.Message{TenantID: tenant, Topic: "rights.completed",
//		Email: &outbox.Email{To: "kari@example.no", Subject: "Done", Text: "..."}})
//	mail := r.SMTP.WaitFor(t, 1, 10*time.Second)[0] // mail.To, mail.Subject, mail.Text, mail.Header
//	r.WaitState(t, tenant, id, outbox.Delivered, 10*time.Second)
//
// Code under test that builds its own outbox uses the parts: StartSMTP
// (Config gives matching outbox.SMTPConfig), StartWebhook (URL, Secret;
// Respond and Always script the answers), and Fast options. Failures are
// scripted too: SMTPServer.Reject(451) or Reject(550) for the next
// recipients, WebhookReceiver.Respond(500, 200) or Always(503).
package outboxtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/trustee-privacy/trustee/internal/outbox"
)

// Mail is one message the server accepted, decoded.
type Mail struct {
	// From and To are the SMTP envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Raw is the message as received (DATA).
	Raw []byte
	// Header is the parsed header; Subject is decoded from RFC 2047.
	Header  mail.Header
	Subject string
	// Text and HTML are the decoded bodies (quoted-printable or base64
	// undone, multipart/alternative split), with LF line endings and no
	// trailing newline.
	Text string
	HTML string
	// User is the authenticated user, if the client logged in.
	User string
	// TLS reports whether the session was encrypted when the mail came.
	TLS bool
}

// SMTPServer is an SMTP server listening on 127.0.0.1 for one test.
type SMTPServer struct {
	// Host and Port are where it listens.
	Host string
	Port int

	mode     string // outbox.TLSNone, TLSStartTLS or TLSImplicit
	user     string
	password string
	roots    *x509.CertPool
	srv      *smtp.Server

	mu      sync.Mutex
	mails   []Mail
	rejects []*smtp.SMTPError // answers to the next RCPT TOs
	notify  chan struct{}
}

// SMTPOption configures StartSMTP.
type SMTPOption func(*SMTPServer)

// WithAuth requires AUTH PLAIN with these credentials (which go-mail
// offers only over TLS, so combine it with WithTLS).
func WithAuth(user, password string) SMTPOption {
	return func(s *SMTPServer) { s.user, s.password = user, password }
}

// WithTLS serves TLS with a fresh self-signed certificate for 127.0.0.1:
// mode outbox.TLSStartTLS (STARTTLS offered and required for mail) or
// outbox.TLSImplicit (TLS from the first byte). Config trusts the
// certificate.
func WithTLS(mode string) SMTPOption {
	return func(s *SMTPServer) { s.mode = mode }
}

// StartSMTP starts a server on a free port of 127.0.0.1, closed when the
// test ends. Without options it speaks plain SMTP without authentication.
func StartSMTP(t testing.TB, opts ...SMTPOption) *SMTPServer {
	t.Helper()
	s := &SMTPServer{mode: outbox.TLSNone, notify: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	srv := smtp.NewServer(&backend{s})
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 4 << 20
	srv.MaxRecipients = 10
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("outboxtest: listen: %v", err)
	}
	if s.mode != outbox.TLSNone {
		cert, roots := selfSigned(t)
		s.roots = roots
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.mode == outbox.TLSImplicit {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port, s.srv = "127.0.0.1", addr.Port, srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is host:port.
func (s *SMTPServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Config returns outbox settings that send to this server from
// privacy@trustee.test, with its credentials and trusting its certificate.
func (s *SMTPServer) Config() outbox.SMTPConfig {
	c := outbox.SMTPConfig{
		Host: s.Host, Port: s.Port, From: "Trustee Privacy <privacy@trustee.test>", TLS: s.mode,
		Username: s.user, Password: s.password, Timeout: 10 * time.Second,
	}
	if s.roots != nil {
		c.TLSConfig = &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	return c
}

// Reject makes the server answer the next RCPT TO commands with these
// replies, one each, e.g. Reject(451) for a temporary failure or
// Reject(550) for an unknown recipient. The reply text quotes the
// recipient, as real servers do, so tests can check it never reaches a log
// or a stored error.
func (s *SMTPServer) Reject(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		enh := smtp.EnhancedCode{4, 2, 0}
		if c >= 500 {
			enh = smtp.EnhancedCode{5, 1, 1}
		}
		s.rejects = append(s.rejects, &smtp.SMTPError{Code: c, EnhancedCode: enh})
	}
}

// Messages returns the mails accepted so far.
func (s *SMTPServer) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits until at least n mails have arrived and returns them; it
// fails the test after timeout.
func (s *SMTPServer) WaitFor(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.mails) >= n {
			out := append([]Mail(nil), s.mails...)
			s.mu.Unlock()
			return out
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("outboxtest: %d mail(s) after %s, want %d", len(s.Messages()), timeout, n)
			return nil
		}
	}
}

func (s *SMTPServer) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

type backend struct{ s *SMTPServer }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *SMTPServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || x.s.user == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != x.s.user || password != x.s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) tls() bool {
	_, ok := x.conn.TLSConnectionState()
	return ok
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.user != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	if x.s.mode == outbox.TLSStartTLS && !x.tls() {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "STARTTLS first"}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	var rej *smtp.SMTPError
	if len(x.s.rejects) > 0 {
		rej, x.s.rejects = x.s.rejects[0], x.s.rejects[1:]
	}
	x.s.mu.Unlock()
	if rej != nil {
		e := *rej
		e.Message = "<" + to + ">: recipient rejected"
		return &e
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: x.from, To: append([]string(nil), x.to...), Raw: raw, User: x.user, TLS: x.tls()}
	if err := decode(&m); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparseable message: " + err.Error()}
	}
	x.s.add(m)
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// decode parses a raw message into m's header, subject and bodies.
func decode(m *Mail) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return err
	}
	return decodePart(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func decodePart(m *Mail, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := decodePart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &stripNewlines{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	switch mt {
	case "text/plain":
		m.Text += text
	case "text/html":
		m.HTML += text
	}
	return nil
}

// stripNewlines drops CR and LF, which base64 bodies are wrapped with.
type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "outboxtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// String describes the server for test logs.
func (s *SMTPServer) String() string { return fmt.Sprintf("smtp://%s (%s)", s.Addr(), s.mode) }
