package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/trustee-privacy/trustee/internal/keys"
)

// The privacy center has no staff session, so its forms are protected by a
// signed double-submit token: the browser holds a random value in a cookie
// (HttpOnly, SameSite=Lax, __Host- over TLS) and every form carries
//
//	base64url( expires unix seconds (8) | HMAC(16) )
//
// where the HMAC is under the tenant's index key (kind centerFormKind) over
// the cookie value and the expiry. A form posted from another site lacks
// the cookie's value (it cannot read it) and cannot forge the HMAC without
// the tenant's key; a token of one tenant does not verify under another's
// key; it lapses after centerFormTTL. http.CrossOriginProtection, around
// every route, refuses cross-origin posts before this is checked.

const (
	centerFormKind = "center-form:v1"
	centerFormTTL  = 2 * time.Hour
	centerFormLen  = 8 + 16

	centerCSRFSecure = "__Host-trustee-center"
	centerCSRFPlain  = "trustee-center"

	// The signed-in self-service cookie; see meToken.
	meCookieSecure = "__Host-trustee-me"
	meCookiePlain  = "trustee-me"
	meKind         = "center-me:v1"
	// MeTTL is how long a self-service sign-in lasts: at most 30 minutes,
	// never longer than the application's token would have allowed much
	// beyond, so a forgotten shared computer does not stay signed in.
	MeTTL = 30 * time.Minute
)

func (s *Server) centerCookie(r *http.Request, secureName, plainName string) string {
	if s.secure(r) {
		return secureName
	}
	return plainName
}

// formToken returns the form token for the tenant's pages, setting the
// double-submit cookie first if the browser has none.
func (s *Server) formToken(w http.ResponseWriter, r *http.Request, tenantID string) (string, error) {
	name := s.centerCookie(r, centerCSRFSecure, centerCSRFPlain)
	val := ""
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 22 {
		val = c.Value
	} else {
		var b [16]byte
		rand.Read(b[:])
		val = base64.RawURLEncoding.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	}
	exp := s.now().Add(centerFormTTL).Unix()
	mac, err := s.formMAC(r.Context(), tenantID, val, exp)
	if err != nil {
		return "", err
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, centerFormLen), uint64(exp))
	return base64.RawURLEncoding.EncodeToString(append(b, mac...)), nil
}

func (s *Server) formMAC(ctx context.Context, tenantID, cookie string, exp int64) ([]byte, error) {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(exp))
	mac, err := s.d.Keys.BlindIndex(ctx, tenantID, centerFormKind, cookie+"|"+base64.RawURLEncoding.EncodeToString(e[:]))
	if err != nil {
		return nil, err
	}
	return mac[:16], nil
}

// errBadForm means the form token is missing, expired, of another tenant
// or not bound to this browser's cookie.
var errBadForm = errors.New("web: form token not valid")

// checkForm verifies the form token of a center POST.
func (s *Server) checkForm(r *http.Request, tenantID string) error {
	c, err := r.Cookie(s.centerCookie(r, centerCSRFSecure, centerCSRFPlain))
	if err != nil || len(c.Value) != 22 {
		return errBadForm
	}
	exp, mac, ok := parseFormToken(r.PostFormValue("csrf"))
	if !ok || !s.now().Before(time.Unix(exp, 0)) {
		return errBadForm
	}
	want, err := s.formMAC(r.Context(), tenantID, c.Value, exp)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, mac) {
		return errBadForm
	}
	return nil
}

// parseFormToken splits a form token into its expiry and MAC.
func parseFormToken(tok string) (exp int64, mac []byte, ok bool) {
	if len(tok) > 64 {
		return 0, nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != centerFormLen {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(raw[:8])), raw[8:], true
}

// ---- signed-in self-service ----

// meToken is the self-service cookie's value: the subject token the
// application handed over is exchanged once for it, so the token leaves
// the URL (and the browser history) at once. It is
//
//	base64url( 1 | tenant uuid (16) | subject uuid (16) | expires unix seconds (8) | HMAC-SHA256 (32) )
//
// under the tenant's index key with kind meKind — not a subject token, so
// the cookie is accepted by the center's pages only.
func meToken(ctx context.Context, km *keys.Manager, tenantID, subjectID string, exp time.Time) (string, error) {
	tu, err := uuid.Parse(tenantID)
	if err != nil {
		return "", err
	}
	su, err := uuid.Parse(subjectID)
	if err != nil {
		return "", err
	}
	p := make([]byte, 0, 41+32)
	p = append(p, 1)
	p = append(p, tu[:]...)
	p = append(p, su[:]...)
	p = binary.BigEndian.AppendUint64(p, uint64(exp.Unix()))
	mac, err := km.BlindIndex(ctx, tenantID, meKind, base64.RawURLEncoding.EncodeToString(p))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(p, mac...)), nil
}

// errNotSignedIn covers every reason the cookie does not sign anyone in.
var errNotSignedIn = errors.New("web: not signed in to the privacy center")

// checkMeToken returns the subject a cookie value signs in to the tenant.
func checkMeToken(ctx context.Context, km *keys.Manager, tenantID, tok string, now time.Time) (string, error) {
	m, ok := parseMeToken(tok)
	if !ok || m.tenant != tenantID || !now.Before(m.exp) {
		return "", errNotSignedIn
	}
	want, err := km.BlindIndex(ctx, tenantID, meKind, base64.RawURLEncoding.EncodeToString(m.payload))
	if err != nil {
		return "", err
	}
	if !hmac.Equal(want, m.mac) {
		return "", errNotSignedIn
	}
	return m.subject, nil
}

// meParts are the fields of a self-service cookie value, not yet checked.
type meParts struct {
	tenant, subject string
	exp             time.Time
	payload, mac    []byte
}

// parseMeToken splits a self-service cookie value; ok is false unless it
// has the right version and length.
func parseMeToken(tok string) (meParts, bool) {
	if len(tok) > 128 {
		return meParts{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 41+32 || raw[0] != 1 {
		return meParts{}, false
	}
	tu, _ := uuid.FromBytes(raw[1:17])
	su, _ := uuid.FromBytes(raw[17:33])
	return meParts{tenant: tu.String(), subject: su.String(), exp: time.Unix(int64(binary.BigEndian.Uint64(raw[33:41])), 0).UTC(),
		payload: raw[:41], mac: raw[41:]}, true
}

// setMe signs the browser in to the tenant's self-service as subjectID
// until exp.
func (s *Server) setMe(w http.ResponseWriter, r *http.Request, tenantID, subjectID string, exp time.Time) error {
	tok, err := meToken(r.Context(), s.d.Keys, tenantID, subjectID, exp)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.centerCookie(r, meCookieSecure, meCookiePlain), Value: tok, Path: "/",
		MaxAge: int(exp.Sub(s.now()).Seconds()), HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) clearMe(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.centerCookie(r, meCookieSecure, meCookiePlain), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// me is the subject signed in to the tenant's self-service, or "".
func (s *Server) me(r *http.Request, tenantID string) (string, error) {
	c, err := r.Cookie(s.centerCookie(r, meCookieSecure, meCookiePlain))
	if err != nil {
		return "", nil
	}
	sub, err := checkMeToken(r.Context(), s.d.Keys, tenantID, c.Value, s.now())
	if errors.Is(err, errNotSignedIn) {
		return "", nil
	}
	return sub, err
}

// ---- rate limit ----

// centerLimiter is a token bucket per client network (IPv4 address, IPv6
// /64) for the center's form posts, like the API's public endpoints: a
// person filing a request posts a few forms; a script guessing codes or
// flooding intake is slowed to the sustained rate.
type centerLimiter struct {
	mu      sync.Mutex
	r       rate.Limit
	burst   int
	trusted []netip.Prefix
	m       map[netip.Prefix]*centerBucket
	swept   time.Time
}

type centerBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// Center post limits: one a second sustained, bursts of 20.
const (
	centerPostRate  = 1
	centerPostBurst = 20
	maxCenterBucket = 100_000
)

func newCenterLimiter(perSecond float64, burst int, trusted []netip.Prefix) *centerLimiter {
	return &centerLimiter{r: rate.Limit(perSecond), burst: burst, trusted: trusted, m: map[netip.Prefix]*centerBucket{}}
}

// client is the request's client address: the peer, or behind a trusted
// proxy the right-most X-Forwarded-For hop that is not a trusted proxy.
func (l *centerLimiter) client(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	trusted := func(a netip.Addr) bool {
		for _, p := range l.trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	fwd := r.Header.Get("X-Forwarded-For")
	if !trusted(peer) || fwd == "" {
		return peer
	}
	hops := strings.Split(fwd, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if !trusted(a) {
			return a.Unmap()
		}
	}
	return peer
}

func (l *centerLimiter) allow(r *http.Request) bool {
	a := l.client(r)
	var key netip.Prefix
	if a.IsValid() {
		bits := 32
		if a.Is6() {
			bits = 64
		}
		key, _ = a.Prefix(bits)
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute || len(l.m) >= maxCenterBucket {
		for k, v := range l.m {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxCenterBucket {
			clear(l.m)
		}
		l.swept = now
	}
	b := l.m[key]
	if b == nil {
		b = &centerBucket{l: rate.NewLimiter(l.r, l.burst)}
		l.m[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}
