package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Webhook headers.
const (
	HeaderEvent     = "Trustee-Event"
	HeaderDelivery  = "Trustee-Delivery"
	HeaderTimestamp = "Trustee-Timestamp"
	HeaderSignature = "Trustee-Signature"
)

// userAgent identifies Trustee's webhook requests.
const userAgent = "Trustee-Webhook/1"

// maxResponse bounds how much of a receiver's answer is read (and thrown
// away) so the connection can be reused.
const maxResponse = 64 << 10

// errBlocked is returned by the dialer's guard for a refused address.
var errBlocked = errors.New("destination address not allowed")

// webhookClient is an HTTP client for untrusted URLs: no proxy from the
// environment (it would bypass the address check), no redirects (a 3xx
// could point inside the network), and — unless private destinations are
// allowed — a dialer that refuses every loopback, private, link-local or
// otherwise special address it is about to connect to. Checking at connect
// time, on the address actually dialled, also defeats DNS rebinding between
// the check and the request.
type webhookClient struct {
	http         *http.Client
	allowPrivate bool
}

func newWebhookClient(timeout time.Duration, allowPrivate bool) *webhookClient {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || blockedAddr(ap.Addr()) {
				return errBlocked
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &webhookClient{
		allowPrivate: allowPrivate,
		http: &http.Client{
			Transport:     tr,
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Special-purpose networks a webhook may not reach (RFC 6890 and
// successors), beyond what netip's predicates cover.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Prefixes of IPv6 addresses that embed an IPv4 address.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// blockedAddr reports whether a webhook must not connect to a: loopback,
// private (RFC 1918, unique local), link-local (including cloud metadata
// at 169.254.169.254), unspecified, multicast or another special range.
// IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged as the IPv4 it
// reaches.
func blockedAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a), nat64Local.Contains(a):
			return blockedAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			return blockedAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkDestination resolves the URL's host and refuses it if any address
// is not allowed: a host with one public and one private address is as
// dangerous as a private one.
func (o *Outbox) checkDestination(ctx context.Context, u *url.URL) (result, bool) {
	if o.opts.AllowPrivate {
		return result{}, true
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if blockedAddr(a) {
			return failed(true, 0, "webhook destination is a loopback, private or link-local address (webhook_allow_private is off)"), false
		}
		return result{}, true
	}
	lctx, cancel := context.WithTimeout(ctx, o.opts.WebhookTimeout)
	defer cancel()
	addrs, err := o.opts.Resolver.LookupNetIP(lctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return failed(false, 0, "webhook host not found in DNS"), false
		}
		return failed(false, 0, "webhook host lookup failed"), false
	}
	for _, a := range addrs {
		if blockedAddr(a) {
			return failed(true, 0, "webhook host resolves to a loopback, private or link-local address (webhook_allow_private is off)"), false
		}
	}
	return result{}, true
}

// sendWebhook makes one signed POST. 2xx is delivered, 410 Gone is
// permanent (the receiver says the endpoint is gone for good), anything
// else is retried; a Retry-After on 429 or 503 is honoured up to
// BackoffMax.
func (o *Outbox) sendWebhook(ctx context.Context, id string, w *Webhook) result {
	u, err := checkURL(w.URL)
	if err != nil {
		return failed(true, 0, "webhook url is not valid")
	}
	if res, ok := o.checkDestination(ctx, u); !ok {
		return res
	}
	ts := strconv.FormatInt(o.clk.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(w.Body))
	if err != nil {
		return failed(true, 0, "webhook request could not be built")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEvent, w.Event)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, w.Body))
	resp, err := o.web.http.Do(req)
	if err != nil {
		return webhookFailure(err, o.opts.WebhookTimeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return result{ok: true, code: code}
	case code == http.StatusGone:
		return failed(true, code, "HTTP 410 Gone: the receiver retired this endpoint")
	case code >= 300 && code < 400:
		return failed(false, code, "HTTP %d: redirects are not followed; configure the final URL", code)
	}
	res := failed(false, code, "HTTP %d", code)
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			res.retryAfter = time.Duration(s) * time.Second
		}
	}
	return res
}

// webhookFailure describes a transport error without the URL (net/http
// quotes it, query string and all).
func webhookFailure(err error, timeout time.Duration) result {
	if errors.Is(err, errBlocked) {
		return failed(true, 0, "webhook destination is a loopback, private or link-local address (webhook_allow_private is off)")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return failed(false, 0, "webhook timed out after %s", timeout)
	case errors.Is(err, context.Canceled):
		return failed(false, 0, "webhook attempt interrupted")
	case errors.As(err, &hostErr):
		return failed(false, 0, "TLS: the certificate is not valid for this host")
	case errors.As(err, &unknownCA):
		return failed(false, 0, "TLS: the certificate is signed by an unknown authority")
	case errors.As(err, &invalid):
		return failed(false, 0, "TLS: the certificate is invalid or expired")
	case errors.As(err, &certErr):
		return failed(false, 0, "TLS: certificate verification failed")
	case errors.As(err, &recErr):
		return failed(false, 0, "TLS: the receiver did not answer with TLS")
	case errors.As(err, &oe):
		return failed(false, 0, "webhook %s", netReason(oe))
	}
	return failed(false, 0, "webhook request failed")
}

// netReason names a network failure by kind.
func netReason(oe *net.OpError) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(oe, &dnsErr):
		return "host lookup failed"
	case errors.Is(oe, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(oe, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(oe, syscall.EHOSTUNREACH), errors.Is(oe, syscall.ENETUNREACH):
		return "host unreachable"
	case oe.Timeout():
		return "timed out"
	}
	return oe.Op + " failed"
}
