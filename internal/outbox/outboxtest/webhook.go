package outboxtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/outbox"
)

// Delivery is one webhook request the receiver got.
type Delivery struct {
	Event     string // Trustee-Event
	ID        string // Trustee-Delivery: the outbox message id
	Timestamp string // Trustee-Timestamp
	Header    http.Header
	Body      []byte
	// Verified is nil when the signature and timestamp checked out
	// (outbox.Verify); the receiver then answered with its scripted code,
	// otherwise with 401.
	Verified error
	// Status is what the receiver answered.
	Status int
	At     time.Time
}

// WebhookReceiver is an HTTP server on 127.0.0.1 that verifies Trustee's
// signatures like a real receiver and answers with scripted status codes
// (200 unless told otherwise), recording every request.
type WebhookReceiver struct {
	// URL is the receiver's base URL; any path under it is accepted.
	URL    string
	Secret []byte

	srv *httptest.Server

	mu         sync.Mutex
	deliveries []Delivery
	script     []int
	fallback   int
	retryAfter string
	notify     chan struct{}
}

// StartWebhook starts a receiver that checks signatures with secret, closed
// when the test ends. Outboxes sending to it need Options.AllowPrivate.
func StartWebhook(t testing.TB, secret []byte) *WebhookReceiver {
	t.Helper()
	r := &WebhookReceiver{Secret: secret, fallback: http.StatusOK, notify: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// Respond scripts the status codes of the next requests, in order; after
// them the receiver answers with the fallback (200, see Always).
func (r *WebhookReceiver) Respond(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, codes...)
}

// Always sets the status code answered once the script is used up, e.g.
// Always(500) for a receiver that is down, Always(200) when it recovers.
func (r *WebhookReceiver) Always(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fallback = code
}

// RetryAfter makes 429 and 503 answers carry this Retry-After value.
func (r *WebhookReceiver) RetryAfter(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retryAfter = v
}

func (r *WebhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 8<<20))
	d := Delivery{
		Event: req.Header.Get(outbox.HeaderEvent), ID: req.Header.Get(outbox.HeaderDelivery),
		Timestamp: req.Header.Get(outbox.HeaderTimestamp), Header: req.Header.Clone(), Body: body, At: time.Now(),
	}
	if req.Method != http.MethodPost {
		d.Verified = errMethod
	} else {
		d.Verified = outbox.Verify(r.Secret, req.Header, body, time.Now(), 0)
	}
	r.mu.Lock()
	code := r.fallback
	if len(r.script) > 0 {
		code, r.script = r.script[0], r.script[1:]
	}
	if d.Verified != nil {
		code = http.StatusUnauthorized
	}
	retryAfter := r.retryAfter
	d.Status = code
	r.deliveries = append(r.deliveries, d)
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
	if retryAfter != "" && (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(code)
}

type methodError struct{}

func (methodError) Error() string { return "webhook: not a POST" }

var errMethod error = methodError{}

// Deliveries returns every request received so far.
func (r *WebhookReceiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

// Succeeded returns the requests that were verified and answered 2xx.
func (r *WebhookReceiver) Succeeded() []Delivery {
	var out []Delivery
	for _, d := range r.Deliveries() {
		if d.Verified == nil && d.Status >= 200 && d.Status < 300 {
			out = append(out, d)
		}
	}
	return out
}

// WaitFor waits until at least n requests have arrived and returns all of
// them; it fails the test after timeout.
func (r *WebhookReceiver) WaitFor(t testing.TB, n int, timeout time.Duration) []Delivery {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if len(r.deliveries) >= n {
			out := append([]Delivery(nil), r.deliveries...)
			r.mu.Unlock()
			return out
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("outboxtest: %d webhook request(s) after %s, want %d", len(r.Deliveries()), timeout, n)
			return nil
		}
	}
}
