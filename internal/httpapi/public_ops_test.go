package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/httpapi"
	"github.com/trustee-privacy/trustee/internal/store"
)

const (
	site      = "brightfjord-www"
	siteOrig  = "https://www.example.com"
	browserID = "Zm9vYmFyYmF6cXV4MTIzNA"
)

func bannerBody(t *testing.T, version int, choices map[string]bool, gpc bool) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"browser_id": browserID, "policy_version": version, "language": "en",
		"choices": choices, "page_url": siteOrig + "/pricing?utm_source=x", "gpc": gpc})
	return b
}

func TestPublicBannerEndpoints(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.applyExample("learning-saas.yaml")
		cfgPath := "/v1/public/" + site + "/consent-config"

		// The configuration, for an allowed origin: CORS for it alone.
		r := e.doHeaders("GET", cfgPath, "", nil, map[string]string{"Origin": siteOrig})
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != siteOrig || !strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Fatalf("config: %d %v %s", r.status, r.header, r.body)
		}
		cfg := r.json(t)
		version := int(cfg["policy_version"].(float64))
		if cfg["gpc"] != false || cfg["cookie"] != "bf_consent" || len(cfg["categories"].([]any)) != 4 {
			t.Errorf("config: %s", r.body)
		}
		// Another origin: 403 and no CORS header, so its page learns nothing.
		r = e.doHeaders("GET", cfgPath, "", nil, map[string]string{"Origin": "https://evil.example"})
		problemOK(t, r, 403, "origin-not-allowed")
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("a refused origin got Access-Control-Allow-Origin")
		}
		problemOK(t, e.doHeaders("GET", "/v1/public/no-such-site/consent-config", "", nil, map[string]string{"Origin": siteOrig}), 404, "unknown-site")
		// GPC on the request is in the answer.
		if r := e.doHeaders("GET", cfgPath, "", nil, map[string]string{"Sec-GPC": "1"}); r.json(t)["gpc"] != true {
			t.Error("Sec-GPC: 1 not reflected")
		}

		// Preflight: allowed origin, method and header only.
		pre := func(origin, method, headers string) resp {
			return e.doHeaders("OPTIONS", "/v1/public/"+site+"/consents", "", nil, map[string]string{
				"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers})
		}
		r = pre(siteOrig, "POST", "content-type")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != siteOrig || r.header.Get("Access-Control-Allow-Methods") != "POST" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Fatalf("preflight: %d %v", r.status, r.header)
		}
		for name, r := range map[string]resp{
			"origin":  pre("https://evil.example", "POST", "content-type"),
			"method":  pre(siteOrig, "DELETE", ""),
			"headers": pre(siteOrig, "POST", "content-type, authorization"),
		} {
			if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("preflight with a bad %s: %d %v", name, r.status, r.header)
			}
		}

		// Reject all from the banner: a withdrawal-state event per purpose.
		post := func(body []byte, h map[string]string) resp {
			hh := map[string]string{"Content-Type": "application/json", "Origin": siteOrig}
			for k, v := range h {
				hh[k] = v
			}
			return e.doHeaders("POST", "/v1/public/"+site+"/consents", "", body, hh)
		}
		r = post(bannerBody(t, version, map[string]bool{"functional": false, "analytics": false, "advertising": false}, false), nil)
		if r.status != 201 || r.header.Get("Access-Control-Allow-Origin") != siteOrig {
			t.Fatalf("reject all: %d %s", r.status, r.body)
		}
		rec := r.json(t)
		if rec["receipt_id"] == "" || rec["at"] == "" || len(rec["events"].([]any)) != 3 {
			t.Errorf("reject all: %s", r.body)
		}
		// GPC header: advertising off and the CCPA opt-out, recorded as gpc.
		r = post(bannerBody(t, version, map[string]bool{"advertising": true}, false), map[string]string{"Sec-GPC": "1"})
		if r.status != 201 || !strings.Contains(string(r.body), `"purpose":"ccpa.sale_share","kind":"withdrawn","method":"gpc"`) {
			t.Fatalf("gpc: %d %s", r.status, r.body)
		}
		var hist []store.ConsentEvent
		e.st.Read(context.Background(), func(tx store.Tx) error {
			var err error
			hist, err = tx.BrowserConsentHistory(e.tenantA.ID, browserID)
			return err
		})
		optOut := false
		for _, ev := range hist {
			if ev.Purpose == store.PurposeSaleShare && ev.Kind == store.ConsentWithdrawn && ev.Method == store.MethodGPC {
				optOut = true
			}
			if ev.Purpose == "advertising" && ev.Kind == store.ConsentGiven {
				t.Error("advertising given despite GPC")
			}
			if ev.PageURL != siteOrig+"/pricing" || strings.Contains(ev.IPHash, "127.0.0.1") || ev.IPHash == "" {
				t.Errorf("proof: page %q ip %q", ev.PageURL, ev.IPHash)
			}
		}
		if !optOut {
			t.Error("the GPC opt-out is not in the ledger")
		}

		// Refusals: no or foreign origin, strict body, wrong media type.
		problemOK(t, e.doHeaders("POST", "/v1/public/"+site+"/consents", "", bannerBody(t, version, map[string]bool{"analytics": true}, false),
			map[string]string{"Content-Type": "application/json"}), 403, "origin-not-allowed")
		r = post(bannerBody(t, version, map[string]bool{"analytics": true}, false), map[string]string{"Origin": "https://evil.example"})
		problemOK(t, r, 403, "origin-not-allowed")
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("a refused POST got Access-Control-Allow-Origin")
		}
		problemOK(t, post([]byte(`{"browser_id":"`+browserID+`","policy_version":1,"choices":{},"email":"a@b.c"}`), nil), 422, "validation")
		problemOK(t, post(bytes.Repeat([]byte(" "), 5000), nil), 413, "payload-too-large")

		// /.well-known/gpc.json.
		r = e.do("GET", "/.well-known/gpc.json", "", "", nil)
		if r.status != 200 || r.json(t)["gpc"] != true || r.json(t)["lastUpdate"] != httpapi.GPCLastUpdate || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("gpc.json: %d %s %v", r.status, r.body, r.header)
		}
	})
}

func TestBannerFilesServed(t *testing.T) {
	e := sqliteEnv(t)
	for _, name := range []string{"/consent.js", "/consent.css"} {
		req, _ := http.NewRequest("GET", e.srv.URL+name, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
			t.Fatalf("%s: %d %v", name, res.StatusCode, res.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if len(plain) < 1000 {
			t.Errorf("%s: %d bytes", name, len(plain))
		}
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res, err = e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 304 {
			t.Errorf("%s revalidation: %d", name, res.StatusCode)
		}
	}
}

// TestPublicRateLimit: past its bucket a client gets 429 problems, with
// Retry-After; another client is not affected.
func TestPublicRateLimit(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	a := e.app
	api := httpapi.New(httpapi.Deps{Store: a.Store, Tenants: a.Tenants, Auth: a.Auth, Keys: a.APIKeys, Vault: a.Vault, Audit: a.Audit,
		Consent: a.Consent, Public: httpapi.PublicOptions{Read: 0.001, ReadBurst: 3, Write: 0.001, WriteBurst: 2,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}})
	h := api.Handler()
	call := func(method, path, remote string, body []byte, xff ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.RemoteAddr = remote
		if len(xff) > 0 {
			req.Header.Set("X-Forwarded-For", xff[0])
		}
		req.Header.Set("Origin", siteOrig)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	cfg := "/v1/public/" + site + "/consent-config"
	for i := range 3 {
		if w := call("GET", cfg, "198.51.100.7:1234", nil); w.Code != 200 {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := call("GET", cfg, "198.51.100.7:5678", nil)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), httpapi.ProblemTypePrefix+"rate-limited") {
		t.Fatalf("over the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := call("GET", cfg, "203.0.113.1:1", nil); w.Code != 200 {
		t.Errorf("another client was limited: %d", w.Code)
	}
	// IPv6: one /64 is one client.
	for i := range 3 {
		call("GET", cfg, "[2001:db8:1:2::"+string(rune('a'+i))+"]:1", nil)
	}
	if w := call("GET", cfg, "[2001:db8:1:2::ff]:1", nil); w.Code != 429 {
		t.Errorf("another address of the same /64: %d", w.Code)
	}
	// Behind a trusted proxy, each client has its own bucket; the proxy's
	// own address never counts, and a client cannot pick a bucket by
	// sending its own X-Forwarded-For.
	for i := range 3 {
		if w := call("GET", cfg, "10.1.2.3:9", nil, "198.51.100.77"); w.Code != 200 {
			t.Fatalf("proxied %d: %d", i, w.Code)
		}
	}
	if w := call("GET", cfg, "10.1.2.3:9", nil, "198.51.100.78"); w.Code != 200 {
		t.Errorf("a second client behind the proxy was limited: %d", w.Code)
	}
	if w := call("GET", cfg, "10.1.2.3:9", nil, "1.2.3.4, 198.51.100.77"); w.Code != 429 {
		t.Errorf("a forged left-most hop escaped the limit: %d", w.Code)
	}
	if w := call("GET", cfg, "203.0.113.200:9", nil, "198.51.100.99"); w.Code != 200 {
		t.Errorf("untrusted peer: %d", w.Code)
	}
	for range 3 {
		call("GET", cfg, "203.0.113.201:9", nil, "198.51.100.1")
	}
	if w := call("GET", cfg, "203.0.113.201:9", nil, "198.51.100.2"); w.Code != 429 {
		t.Errorf("an untrusted peer chose its bucket with X-Forwarded-For: %d", w.Code)
	}
	// Writes have their own, smaller bucket.
	body := bannerBody(t, 1, map[string]bool{"analytics": false}, false)
	for i := range 2 {
		if w := call("POST", "/v1/public/"+site+"/consents", "192.0.2.50:1", body); w.Code != 201 {
			t.Fatalf("choice %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := call("POST", "/v1/public/"+site+"/consents", "192.0.2.50:1", body); w.Code != 429 {
		t.Errorf("third choice: %d", w.Code)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := httpapi.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,")
	if err != nil || len(got) != 3 || got[1].String() != "192.0.2.7/32" || got[2].String() != "fd00::/8" {
		t.Fatalf("%v %v", got, err)
	}
	if none, err := httpapi.ParseTrustedProxies(""); err != nil || none != nil {
		t.Errorf("empty: %v %v", none, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0.0/8;1.2.3.4"} {
		if _, err := httpapi.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
