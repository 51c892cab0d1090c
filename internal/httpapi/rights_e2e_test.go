package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// hookSink is a webhook receiver whose secret is learnt after it starts
// (Trustee generates it when the endpoint is set); it keeps every delivery
// whose signature verifies.
type hookSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret []byte
	got    []hookDelivery
	bad    int
}

type hookDelivery struct {
	Event string
	Body  map[string]any
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.secret == nil || outbox.Verify(h.secret, r.Header, b, time.Now(), 5*time.Minute) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		h.got = append(h.got, hookDelivery{Event: r.Header.Get("Trustee-Event"), Body: m})
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) setSecret(s string) { h.mu.Lock(); h.secret = []byte(s); h.mu.Unlock() }

// waitEvent waits for a verified delivery of event naming subject.
func (h *hookSink) waitEvent(t *testing.T, event, subject string) hookDelivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, d := range h.got {
			if d.Event == event && strings.Contains(mustMarshal(d.Body), subject) {
				h.mu.Unlock()
				return d
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("no verified %s webhook for %s (got %d, %d refused)", event, subject, len(h.got), h.bad)
	return hookDelivery{}
}

func mustMarshal(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestEveryRequestTypeEndToEnd takes one request of every type through the
// API on both engines — intake by staff, verification, approval — with real
// SMTP and real, signature-checking webhook receivers for the application
// and a recipient, and checks what the person and the company would see
// afterwards.
func TestEveryRequestTypeEndToEnd(t *testing.T) {
	for _, ec := range engineDSNs {
		t.Run(ec.name, func(t *testing.T) {
			mail := outboxtest.StartSMTP(t)
			e := newEnvWith(t, ec.dsn(t), func(o *app.Options) {
				fast := outboxtest.Fast()
				o.SMTP, o.WebhookAllowPrivate, o.OutboxMaxAttempts = mail.Config(), true, fast.MaxAttempts
			})
			ctx, cancel := context.WithCancel(context.Background())
			if err := e.app.Jobs.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cancel(); _ = e.app.Jobs.Stop(context.Background()) })
			e.applyExample("learning-saas.yaml")
			dpo, svc := e.keys[auth.RoleDPO], e.keys[auth.RoleService]

			// The application and Stripe receive signed webhooks; both
			// acknowledge by answering 2xx.
			appHook, stripe := newHookSink(t), newHookSink(t)
			for key, h := range map[string]*hookSink{"_application": appHook, "stripe": stripe} {
				r := e.do("PUT", "/v1/recipients/"+key+"/endpoint", dpo, "application/json",
					[]byte(`{"url":"`+h.srv.URL+`/hook","ack":"on_delivery"}`))
				if r.status != 200 {
					t.Fatalf("endpoint %s: %d %s", key, r.status, r.body)
				}
				h.setSecret(r.json(t)["secret"].(string))
			}

			decision := func(subject, purpose, category string) (bool, string) {
				t.Helper()
				r := e.do("POST", "/v1/decisions", svc, "application/json",
					[]byte(`{"subject":"`+subject+`","purpose":"`+purpose+`","categories":["`+category+`"]}`))
				var dec struct {
					Decisions []struct {
						Results []struct {
							Allowed bool   `json:"allowed"`
							Reason  string `json:"reason"`
						} `json:"results"`
					} `json:"decisions"`
				}
				if r.status != 200 || json.Unmarshal(r.body, &dec) != nil || len(dec.Decisions) != 1 {
					t.Fatalf("decision: %d %s", r.status, r.body)
				}
				return dec.Decisions[0].Results[0].Allowed, dec.Decisions[0].Results[0].Reason
			}
			consents := func(subject string) map[string]any {
				t.Helper()
				r := e.do("GET", "/v1/subjects/"+subject+"/consents", svc, "", nil)
				if r.status != 200 {
					t.Fatalf("consents: %d %s", r.status, r.body)
				}
				return r.json(t)
			}

			cases := []struct {
				typ    string
				body   string // extra request fields
				before func(subject string)
				check  func(t *testing.T, subject string, approved map[string]any)
			}{
				{typ: "access", check: func(t *testing.T, _ string, a map[string]any) {
					if a["pdf_password"] == "" || a["outcome"].(map[string]any)["export_id"] == nil {
						t.Errorf("access outcome: %v", a)
					}
				}},
				{typ: "portability", check: func(t *testing.T, _ string, a map[string]any) {
					if a["outcome"].(map[string]any)["export_id"] == nil {
						t.Errorf("portability outcome: %v", a)
					}
				}},
				{typ: "rectification", body: `"fields":{"name":"Kari Rettet"}`, check: func(t *testing.T, s string, _ map[string]any) {
					r := e.do("GET", "/v1/subjects/"+s+"?purpose=account", svc, "", nil)
					if r.status != 200 || !strings.Contains(string(r.body), "Kari Rettet") {
						t.Errorf("after rectification: %d %s", r.status, r.body)
					}
					stripe.waitEvent(t, "rights.rectification", s)
				}},
				{typ: "erasure", check: func(t *testing.T, s string, _ map[string]any) {
					appHook.waitEvent(t, "subject.erased", s)
					stripe.waitEvent(t, "rights.erasure", s)
					if r := e.do("GET", "/v1/subjects/"+s+"?purpose=account", svc, "", nil); r.status == 200 {
						t.Errorf("an erased subject is still readable: %s", r.body)
					}
				}},
				{typ: "restriction", body: `"ground":"accuracy_contested","categories":["user.contact"]`, check: func(t *testing.T, s string, _ map[string]any) {
					if ok, reason := decision(s, "account", "user.contact.email"); ok || reason != "restricted" {
						t.Errorf("after restriction: %v %s", ok, reason)
					}
					stripe.waitEvent(t, "rights.restriction", s)
				}},
				{typ: "objection", body: `"objection_kind":"direct_marketing"`, check: func(t *testing.T, s string, _ map[string]any) {
					if ok, reason := decision(s, "customer_marketing", "user.contact.email"); ok || reason != "objected" {
						t.Errorf("after objection: %v %s", ok, reason)
					}
				}},
				{typ: "withdraw_consent", body: `"purpose":"newsletter"`,
					before: func(s string) {
						if r := e.do("POST", "/v1/subjects/"+s+"/consents", svc, "application/json",
							[]byte(`{"choices":[{"purpose":"newsletter","given":true}]}`)); r.status != 201 {
							t.Fatalf("consent: %d %s", r.status, r.body)
						}
					},
					check: func(t *testing.T, s string, _ map[string]any) {
						if ok, _ := decision(s, "newsletter", "user.contact.email"); ok {
							t.Error("newsletter still allowed after withdrawal")
						}
					}},
				{typ: "ccpa_know", check: func(t *testing.T, _ string, a map[string]any) {
					if a["outcome"].(map[string]any)["export_id"] == nil {
						t.Errorf("ccpa_know outcome: %v", a)
					}
				}},
				{typ: "ccpa_delete", check: func(t *testing.T, s string, _ map[string]any) {
					appHook.waitEvent(t, "subject.erased", s)
				}},
				{typ: "ccpa_correct", body: `"fields":{"name":"Kari Korrigert"}`, check: func(t *testing.T, s string, _ map[string]any) {
					r := e.do("GET", "/v1/subjects/"+s+"?purpose=account", svc, "", nil)
					if !strings.Contains(string(r.body), "Kari Korrigert") {
						t.Errorf("after ccpa_correct: %s", r.body)
					}
				}},
				{typ: "ccpa_opt_out", check: func(t *testing.T, s string, _ map[string]any) {
					if c := consents(s); c["do_not_sell"] != true {
						t.Errorf("after opt-out: %v", c["do_not_sell"])
					}
				}},
				{typ: "ccpa_limit", check: func(t *testing.T, s string, _ map[string]any) {
					r := e.do("GET", "/v1/subjects/"+s+"/restrictions", dpo, "", nil)
					if r.status != 200 || !strings.Contains(string(r.body), `"id"`) {
						t.Errorf("after ccpa_limit: %d %s", r.status, r.body)
					}
				}},
			}
			for i, c := range cases {
				t.Run(c.typ, func(t *testing.T) {
					person := synth.Nth(300 + i)
					subject := e.createPerson(300 + i)
					if c.before != nil {
						c.before(subject)
					}
					body := `{"type":"` + c.typ + `","subject_id":"` + subject + `","channel":"staff","staff_via":"phone"`
					if c.body != "" {
						body += "," + c.body
					}
					r := e.do("POST", "/v1/requests", dpo, "application/json", []byte(body+"}"))
					if r.status != 201 {
						t.Fatalf("create: %d %s", r.status, r.body)
					}
					id := r.json(t)["id"].(string)
					if st := r.json(t)["status"]; st != "in_progress" {
						r = e.do("POST", "/v1/requests/"+id+"/verify", dpo, "application/json", []byte(`{"method":"manual","checked":"called back on the number on file"}`))
						if r.status != 200 {
							t.Fatalf("verify: %d %s", r.status, r.body)
						}
					}
					r = e.do("POST", "/v1/requests/"+id+"/approve", dpo, "", nil)
					if r.status != 200 {
						t.Fatalf("approve: %d %s", r.status, r.body)
					}
					approved := r.json(t)
					c.check(t, subject, approved)

					// Recipients without an endpoint are told by hand and marked
					// so; Stripe acknowledges by its 2xx. Then the request
					// completes (at once when nothing was passed on).
					d := e.do("GET", "/v1/requests/"+id, dpo, "", nil).json(t)
					sawStripe := false
					for _, rc := range d["recipients"].([]any) {
						rc := rc.(map[string]any)
						switch key := rc["recipient"].(string); {
						case key == "stripe":
							sawStripe = true
						case rc["state"] == "manual":
							if r := e.do("POST", "/v1/requests/"+id+"/recipients/"+key+"/handled", dpo, "application/json",
								[]byte(`{"note":"told by phone"}`)); r.status != 200 {
								t.Fatalf("handled %s: %d %s", key, r.status, r.body)
							}
						}
					}
					if passesOn := strings.Contains("rectification erasure restriction ccpa_delete ccpa_correct", c.typ); passesOn != sawStripe {
						t.Errorf("stripe among the recipients: %v, want %v", sawStripe, passesOn)
					}
					deadline := time.Now().Add(20 * time.Second)
					for {
						d := e.do("GET", "/v1/requests/"+id, dpo, "", nil).json(t)
						if d["status"] == "completed" {
							break
						}
						r = e.do("POST", "/v1/requests/"+id+"/complete", dpo, "application/json", []byte(`{"note":"all done"}`))
						if r.status == 200 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("request not completable: %d %s", r.status, r.body)
						}
						time.Sleep(50 * time.Millisecond)
					}
					// The person was told by email at their address.
					deadline = time.Now().Add(20 * time.Second)
					for !mailedTo(mail, person.Email) {
						if time.Now().After(deadline) {
							t.Fatalf("no email reached %s", person.Email)
						}
						time.Sleep(20 * time.Millisecond)
					}
				})
			}
		})
	}
}

func mailedTo(s *outboxtest.SMTPServer, addr string) bool {
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				return true
			}
		}
	}
	return false
}
