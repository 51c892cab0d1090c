package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

// The end-to-end tests build the real binary once and drive it as a user
// would: through its command line, its stdout and HTTP.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func trusteeBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trustee-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "trustee")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running trustee process whose stdout is scanned line by line.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
	mu     sync.Mutex
}

func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(trusteeBin(t), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}}
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.stderr.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitFor reads stdout until a line matches re, returning the submatches.
func (p *proc) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("process ended before printing %v; stderr:\n%s", re, p.errText())
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %v; stderr:\n%s", re, p.errText())
		}
	}
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("trustee did not exit cleanly on SIGTERM: %v\nstderr:\n%s", err, p.errText())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("trustee did not stop within 30s of SIGTERM")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// cleanEnv drops TRUSTEE_* settings of the developer's shell so tests see
// the defaults they assert.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TRUSTEE_") && !strings.HasPrefix(kv, "TRUSTEE_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func runCLI(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(trusteeBin(t), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code
}

func httpGet(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var (
	urlLine = regexp.MustCompile(`^URL: (http://\S+)$`)
	keyLine = regexp.MustCompile(`^Admin API key: (trustee_\S+)$`)
	curlRe  = regexp.MustCompile(`^\s+(curl .+)$`)
)

func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	work := t.TempDir()
	p := start(t, work, "demo", "--addr", "127.0.0.1:0")
	url := p.waitFor(t, urlLine)[1]
	token := p.waitFor(t, keyLine)[1]
	var curls []string
	for len(curls) < 3 {
		curls = append(curls, p.waitFor(t, curlRe)[1])
	}

	if _, err := os.Stat(filepath.Join(work, "trustee-data", "trustee.db")); err != nil {
		t.Errorf("demo did not create ./trustee-data/trustee.db: %v", err)
	}
	if st, err := os.Stat(filepath.Join(work, "trustee-data", "root.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("demo root key missing or not 0600: %v %v", st, err)
	}

	// The printed curl lines work when pasted into a shell.
	if _, err := exec.LookPath("curl"); err == nil {
		wants := []string{`"status":"ok"`, "## ", "purpose"}
		for i, line := range curls {
			out, err := exec.Command("sh", "-c", line+" -sS --fail").CombinedOutput()
			if err != nil {
				t.Fatalf("pasted line %q failed: %v\n%s", line, err, out)
			}
			if !strings.Contains(strings.ToLower(string(out)), strings.ToLower(wants[i])) {
				t.Errorf("pasted line %q: output lacks %q:\n%.400s", line, wants[i], out)
			}
		}
	} else {
		t.Log("curl not installed; checking the endpoints over HTTP instead")
	}

	code, _, body := httpGet(t, url+"/healthz", "")
	if code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	code, _, body = httpGet(t, url+"/readyz", "")
	if code != 200 || !strings.Contains(body, `"sqlite"`) {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	code, hdr, body := httpGet(t, url+"/v1/notice?format=html", token)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
		t.Fatalf("notice = %d %s %.200s", code, hdr.Get("Content-Type"), body)
	}
	code, hdr, body = httpGet(t, url+"/v1/policy", "")
	if code != 401 || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "urn:trustee:problem:unauthenticated") {
		t.Fatalf("policy without key = %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	code, _, body = httpGet(t, url+"/openapi.json", "")
	if code != 200 || !strings.Contains(body, `"openapi":"3.1`) && !strings.Contains(body, `"openapi": "3.1`) {
		t.Fatalf("openapi = %d %.200s", code, body)
	}
	p.stop(t)

	// A second start on the same data keeps the tenant, prints a new key and
	// revokes the old one.
	p2 := start(t, work, "demo", "--addr", "127.0.0.1:0")
	url2 := p2.waitFor(t, urlLine)[1]
	token2 := p2.waitFor(t, keyLine)[1]
	if token2 == token {
		t.Fatal("second demo start printed the same key")
	}
	if code, _, _ := httpGet(t, url2+"/v1/policy", token); code != 401 {
		t.Errorf("old demo key still works after restart: %d", code)
	}
	code, _, body = httpGet(t, url2+"/v1/policy/versions", token2)
	if code != 200 {
		t.Fatalf("versions = %d %s", code, body)
	}
	var vs struct {
		Versions []struct{ Version int } `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &vs); err != nil || len(vs.Versions) != 1 {
		t.Errorf("restart with unchanged examples should keep one policy version, got %s", body)
	}
	p2.stop(t)
}

func TestInitWritesStarterAndRefusesOverwrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	work := t.TempDir()
	out, errOut, code := runCLI(t, work, "init", "acme")
	if code != 0 {
		t.Fatalf("init exit %d: %s %s", code, out, errOut)
	}
	for _, f := range []string{"policy.yaml", "trustee.yaml", "root.key"} {
		if _, err := os.Stat(filepath.Join(work, "acme", f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	st, _ := os.Stat(filepath.Join(work, "acme", "root.key"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("root.key mode = %v, want 0600", st.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(work, "acme", "root.key"))

	// Remove one file: init must still refuse, and write nothing.
	os.Remove(filepath.Join(work, "acme", "policy.yaml"))
	_, errOut, code = runCLI(t, work, "init", "acme")
	if code == 0 || !strings.Contains(errOut, "refusing to overwrite") {
		t.Fatalf("second init: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(work, "acme", "policy.yaml")); err == nil {
		t.Error("refused init still wrote policy.yaml")
	}
	after, _ := os.ReadFile(filepath.Join(work, "acme", "root.key"))
	if string(before) != string(after) {
		t.Error("refused init changed the root key")
	}

	// The starter policy is valid as written.
	os.Remove(filepath.Join(work, "acme", "trustee.yaml"))
	os.Remove(filepath.Join(work, "acme", "root.key"))
	if _, e, c := runCLI(t, work, "init", "acme"); c != 0 {
		t.Fatalf("init into emptied dir: %d %s", c, e)
	}
	out, errOut, code = runCLI(t, work, "policy", "validate", "acme/policy.yaml")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("starter policy does not validate: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestPolicyCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	repo, _ := filepath.Abs("../..")
	examplesDir := filepath.Join(repo, "examples")
	for _, ex := range []string{"learning-saas.yaml", "door-entry.yaml"} {
		out, errOut, code := runCLI(t, examplesDir, "policy", "validate", ex)
		if code != 0 || !strings.HasPrefix(out, ex+": valid") {
			t.Errorf("validate %s: exit %d\n%s\n%s", ex, code, out, errOut)
		}
		out, _, code = runCLI(t, examplesDir, "policy", "render", ex, "--format", "md")
		if code != 0 || !strings.Contains(out, "# ") {
			t.Errorf("render %s: exit %d %.200s", ex, code, out)
		}
		out, _, code = runCLI(t, examplesDir, "policy", "ropa", ex, "--format", "csv")
		if code != 0 || strings.Count(out, "\n") < 2 {
			t.Errorf("ropa %s: exit %d %.200s", ex, code, out)
		}
	}

	dir := t.TempDir()
	bad := "version: 1\nmode: controler\nfields: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, dir, "policy", "validate", "bad.yaml")
	if code != 1 {
		t.Fatalf("invalid policy: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^bad\.yaml:2:7: `).MatchString(errOut) {
		t.Errorf("expected a bad.yaml:2:7: error for the misspelt mode, got:\n%s", errOut)
	}

	out, _, code = runCLI(t, examplesDir, "policy", "diff", "door-entry.yaml", "learning-saas.yaml")
	if code != 0 || !strings.Contains(strings.ToLower(out), "consent") {
		t.Errorf("diff: exit %d\n%.600s", code, out)
	}

	_, _, code = runCLI(t, dir, "policy", "validate", "missing.yaml")
	if code != 1 {
		t.Errorf("validate of a missing file: exit %d, want 1", code)
	}
}

var listenRe = regexp.MustCompile(`"msg":"trustee listening".*"url":"(https?://[^"]+)"`)

// TestServeWithConfigAndCLIKeys runs serve from an init'd config, creates an
// admin key with the CLI against the same store, and uses it. When
// TRUSTEE_TEST_PG_DSN is set it runs the same on PostgreSQL.
func TestServeWithConfigAndCLIKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Run("sqlite", func(t *testing.T) { testServe(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresSchemaDSN(t)
		testServe(t, []string{"--db", dsn})
	})
}

func testServe(t *testing.T, dbArgs []string) {
	work := t.TempDir()
	if _, e, c := runCLI(t, work, "init", "site"); c != 0 {
		t.Fatalf("init: %s", e)
	}
	srv := startServe(t, work, append([]string{"serve", "--config", "site/trustee.yaml", "--addr", "127.0.0.1:0"}, dbArgs...)...)
	url, cmd := srv.url, srv.cmd

	out, errOut, code := runCLI(t, work, append([]string{"apikey", "create", "--config", "site/trustee.yaml", "--tenant", "default", "--role", "dpo"}, dbArgs...)...)
	if code != 0 {
		t.Fatalf("apikey create: %d %s %s", code, out, errOut)
	}
	token := regexp.MustCompile(`trustee_\S+`).FindString(out)
	code, _, body := httpGet(t, url+"/v1/policy", token)
	if code != 200 || !strings.Contains(body, "Example Services AS") {
		t.Fatalf("GET /v1/policy with CLI-made key = %d %.300s", code, body)
	}
	// A dpo may not manage keys.
	if code, _, _ := httpGet(t, url+"/v1/api-keys", token); code != 403 {
		t.Errorf("dpo listing keys = %d, want 403", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit on SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not stop on SIGTERM")
	}
	logs := srv.Logs()
	if strings.Contains(logs, token) || strings.Contains(logs, strings.Split(token, "_")[2]) {
		t.Error("the API key secret appeared in the server log")
	}
	if !strings.Contains(srv.Logs(), "trustee stopped") {
		t.Errorf("no clean stop logged:\n%s", srv.Logs())
	}
}
