package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/trustee-privacy/trustee/internal/export/exporttest"
	"github.com/trustee-privacy/trustee/internal/outbox/outboxtest"
	"github.com/trustee-privacy/trustee/internal/synth"
)

// TestAccessRequestEndToEnd walks an access request through the real
// binary as the people involved would: a person files it on the public
// endpoint with the email the company knows, receives a code over real SMTP
// and confirms it; a DPO approves it and gets the PDF password once; the
// person downloads the PDF through a single-use link, and it opens only with
// the password and holds their data and the policy's purposes.
func TestAccessRequestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mail := outboxtest.StartSMTP(t)
	work := t.TempDir()
	if _, e, c := runCLI(t, work, "init", "site"); c != 0 {
		t.Fatalf("init: %s", e)
	}
	policyFile, err := filepath.Abs("../../examples/learning-saas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := []string{"--config", "site/trustee.yaml", "--tenant", "default"}
	url := startServe(t, work, append([]string{"serve", "--addr", "127.0.0.1:0", "--policy", policyFile,
		"--smtp-host", mail.Host, "--smtp-port", strconv.Itoa(mail.Port), "--smtp-tls", "none",
		"--smtp-from", "Brightfjord Privacy <privacy@brightfjord.example>"}, cfg...)...).url
	key := func(role string) string {
		out, errOut, code := runCLI(t, work, append([]string{"apikey", "create", "--role", role}, cfg...)...)
		if code != 0 {
			t.Fatalf("apikey create %s: %s %s", role, out, errOut)
		}
		return regexp.MustCompile(`trustee_\S+`).FindString(out)
	}
	service, dpo := key("service"), key("dpo")

	person := synth.Nth(7)
	code, body := httpJSON(t, "POST", url+"/v1/subjects", service, map[string]any{"fields": person.LearningSaaSFields()})
	if code != 201 {
		t.Fatalf("create subject: %d %s", code, body)
	}

	// The person asks for a copy of their data.
	code, body = httpJSON(t, "POST", url+"/v1/public/brightfjord-www/requests", "", map[string]any{
		"type": "access", "identity": map[string]string{"kind": "email", "value": strings.ToUpper(person.Email)}})
	if code != 202 {
		t.Fatalf("intake: %d %s", code, body)
	}
	var filed struct {
		ID          string `json:"id"`
		StatusToken string `json:"status_token"`
	}
	mustJSON(t, body, &filed)

	// The code arrives by email, to the address on file.
	msgs := mail.WaitFor(t, 1, 60*time.Second)
	if len(msgs[0].To) != 1 || !strings.EqualFold(msgs[0].To[0], person.Email) {
		t.Fatalf("code sent to %v", msgs[0].To)
	}
	codeRe := regexp.MustCompile(`enter this code: (\d{6,})`)
	m := codeRe.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no code in the email:\n%s", msgs[0].Text)
	}
	code, body = httpJSON(t, "POST", url+"/v1/public/brightfjord-www/requests/"+filed.ID+"/verify", "",
		map[string]string{"token": filed.StatusToken, "code": m[1]})
	if code != 200 {
		t.Fatalf("verify: %d %s", code, body)
	}

	// A DPO approves it; the password of the PDF comes back once.
	code, body = httpJSON(t, "POST", url+"/v1/requests/"+filed.ID+"/approve", dpo, nil)
	if code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	var approved struct {
		Status      string `json:"status"`
		PDFPassword string `json:"pdf_password"`
	}
	mustJSON(t, body, &approved)
	if approved.PDFPassword == "" {
		t.Fatalf("no PDF password in %s", body)
	}
	code, body = httpJSON(t, "GET", url+"/v1/requests/"+filed.ID+"/export?format=pdf", dpo, nil)
	if code != 200 {
		t.Fatalf("export link: %d %s", code, body)
	}
	var link struct {
		URL string `json:"url"`
	}
	mustJSON(t, body, &link)
	if !strings.HasPrefix(link.URL, "http") {
		link.URL = url + link.URL
	}

	// The person downloads it, once.
	resp, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("download: %d %.100q", resp.StatusCode, pdf)
	}
	if again, err := http.Get(link.URL); err != nil || again.StatusCode != http.StatusGone {
		t.Errorf("second download: %v %v, want 410", again.StatusCode, err)
	}

	// It opens only with the password, and holds the person's data and
	// what the company does with it.
	if err := api.Decrypt(bytes.NewReader(pdf), io.Discard, model.NewAESConfiguration("wrong password", "wrong password", 256)); err == nil {
		t.Fatal("the PDF opens with a wrong password")
	}
	text := exporttest.PDFText(t, pdf, approved.PDFPassword)
	for _, want := range []string{person.Email, "Your account and subscription"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}

	// The person's status page shows the request completed.
	code, body = httpJSON(t, "GET", url+"/v1/public/brightfjord-www/requests/"+filed.ID+"?token="+filed.StatusToken, "", nil)
	if code != 200 || !strings.Contains(body, `"completed"`) {
		t.Errorf("status after approval: %d %s", code, body)
	}
}

// served is a running `trustee serve` (or any command that logs where it
// listens): its URL, the process and its log so far.
type served struct {
	url  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
}

// Logs returns what the process has written to stderr so far.
func (s *served) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// startServe runs `trustee args...` in dir and waits until it logs the URL
// it listens on; the process is killed when the test ends.
func startServe(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	s := &served{cmd: exec.Command(trusteeBin(t), args...)}
	s.cmd.Dir = dir
	s.cmd.Env = cleanEnv()
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case s.url = <-urlc:
		return s
	case <-time.After(90 * time.Second):
		t.Fatalf("serve did not start:\n%s", s.Logs())
		return nil
	}
}

// httpJSON sends v as JSON (nil: no body) with an optional API key and
// returns the status and body.
func httpJSON(t *testing.T, method, url, token string, v any) (int, string) {
	t.Helper()
	var rd io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
