// Command loadgen drives Trustee's HTTP API with concurrent clients and
// reports throughput, errors and latency percentiles. By default it starts
// Trustee in-process on 127.0.0.1 with a fresh store (SQLite in a temporary
// directory, or PostgreSQL with -db), so one command measures the whole path:
// HTTP, authentication, policy, decision, crypto, store and audit.
//
// It only ever talks to loopback addresses and every phase is bounded by
// duration and request count.
//
//	go run ./bench/loadgen -scenario all -c 64 -d 10s
//	go run ./bench/loadgen -scenario read -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/app"
	"github.com/trustee-privacy/trustee/internal/auth"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/synth"
)

func main() {
	var (
		scenario = flag.String("scenario", "all", "create, read, decide or all")
		clients  = flag.Int("c", 64, "concurrent clients")
		dur      = flag.Duration("d", 10*time.Second, "duration of each phase")
		maxReq   = flag.Int("n", 1_000_000, "maximum requests per phase")
		db       = flag.String("db", "", "store for the in-process server: empty for SQLite in a temporary directory, or a postgres:// DSN (its search_path schema should be empty)")
		seed     = flag.Int("seed", 5000, "subjects to create before read/decide phases when -scenario is not all")
		asJSON   = flag.Bool("json", false, "print results as JSON")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the whole process (server and clients) to this file")
	)
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv, err := startServer(ctx, *db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	defer srv.close()
	fmt.Fprintf(os.Stderr, "loadgen: Trustee at %s on %s, %d clients, GOMAXPROCS=%d\n", srv.base, srv.engine, *clients, runtime.GOMAXPROCS(0))

	c := newClient(srv.base, srv.token, *clients)
	var results []result
	ids := &idList{}
	run := func(name string, fn func(worker int, n int64) (bool, error)) {
		r := phase(name, *clients, *dur, *maxReq, fn)
		results = append(results, r)
		if !*asJSON {
			fmt.Println(r)
		}
	}
	next := int64(0)
	create := func(_ int, _ int64) (bool, error) {
		n := atomic.AddInt64(&next, 1) - 1
		id, err := c.create(int(n))
		if err == nil {
			ids.add(id, int(n))
		}
		return err == nil, err
	}
	switch *scenario {
	case "create", "all":
		run("create (3 identities, 8 fields)", create)
	default:
		fmt.Fprintf(os.Stderr, "loadgen: seeding %d subjects...\n", *seed)
		phase("seed", *clients, time.Hour, *seed, create)
	}
	if *scenario == "read" || *scenario == "all" {
		run("read by email (decide + decrypt + audit)", func(w int, _ int64) (bool, error) {
			_, n := ids.random()
			err := c.read(synth.Nth(n).Email)
			return err == nil, err
		})
	}
	if *scenario == "decide" || *scenario == "all" {
		run("decision (3 categories)", func(w int, _ int64) (bool, error) {
			id, _ := ids.random()
			err := c.decide(id)
			return err == nil, err
		})
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"engine": srv.engine, "clients": *clients, "gomaxprocs": runtime.GOMAXPROCS(0), "results": results})
	}
}

type server struct {
	base, token, engine string
	close               func()
}

// startServer runs Trustee in-process on a loopback port with the
// learning-saas example policy and an admin key.
func startServer(ctx context.Context, db string) (*server, error) {
	dir, err := os.MkdirTemp("", "trustee-loadgen")
	if err != nil {
		return nil, err
	}
	if db == "" {
		db = "sqlite:" + filepath.Join(dir, "trustee.db")
	} else if !strings.HasPrefix(db, "postgres") {
		return nil, errors.New("-db must be empty (SQLite) or a postgres:// DSN")
	}
	raw, err := keys.GenerateRootKey()
	if err != nil {
		return nil, err
	}
	root, err := keys.ParseRootKey(raw)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, app.Options{DB: db, KeysDB: keysDSN(db, dir), Root: root, Logger: slog.New(slog.DiscardHandler), Version: "loadgen"})
	if err != nil {
		return nil, err
	}
	t, _, err := a.EnsureTenant(ctx, "bench", "Benchmark")
	if err != nil {
		return nil, err
	}
	src, _ := examples.File("learning-saas.yaml")
	if _, err := a.Tenants.Apply(ctx, t.ID, "learning-saas.yaml", src, "loadgen"); err != nil {
		return nil, err
	}
	tok, _, err := a.APIKeys.Create(ctx, t.ID, auth.RoleService, "loadgen", "loadgen", 0)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		_ = a.Serve(sctx, ln, "", "", 5*time.Second)
		close(done)
	}()
	return &server{base: "http://" + ln.Addr().String(), token: tok, engine: a.Store.Engine(), close: func() {
		stop()
		<-done
		a.Close()
		os.RemoveAll(dir)
	}}, nil
}

func keysDSN(db, dir string) string {
	if strings.HasPrefix(db, "sqlite:") {
		return "sqlite:" + filepath.Join(dir, "keys.db")
	}
	return db
}

type client struct {
	base, token string
	hc          *http.Client
}

func newClient(base, token string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &client{base: base, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *client) do(method, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

func (c *client) create(n int) (string, error) {
	body, _ := json.Marshal(map[string]any{"fields": synth.Nth(n).LearningSaaSFields()})
	b, err := c.do(http.MethodPost, "/v1/subjects", body, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("create: no id in %s", b)
	}
	return out.ID, nil
}

func (c *client) read(email string) error {
	b, err := c.do(http.MethodGet, "/v1/subjects?purpose=account&email="+url.QueryEscape(email), nil, http.StatusOK)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(`"email"`)) {
		return fmt.Errorf("read: email not released: %.200s", b)
	}
	return nil
}

func (c *client) decide(id string) error {
	body, _ := json.Marshal(map[string]any{"subject": id, "purpose": "account", "categories": []string{"user.contact.email", "user.name", "user.contact.address"}})
	_, err := c.do(http.MethodPost, "/v1/decisions", body, http.StatusOK)
	return err
}

// idList is the subjects created so far, for read phases to pick from.
type idList struct {
	mu  sync.RWMutex
	ids []string
	ns  []int
}

func (l *idList) add(id string, n int) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.ns = append(l.ns, n)
	l.mu.Unlock()
}

func (l *idList) random() (string, int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.ids) == 0 {
		return "", 0
	}
	i := rand.IntN(len(l.ids))
	return l.ids[i], l.ns[i]
}

type result struct {
	Name     string  `json:"name"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"per_second"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	FirstErr string  `json:"first_error,omitempty"`
}

func (r result) String() string {
	s := fmt.Sprintf("%-42s %8d req %6d err %9.0f/s  p50 %6.2fms  p90 %6.2fms  p99 %6.2fms  max %7.2fms",
		r.Name, r.Requests, r.Errors, r.PerSec, r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	if r.FirstErr != "" {
		s += "\n  first error: " + r.FirstErr
	}
	return s
}

// phase runs fn from clients goroutines until d passes or max requests ran.
func phase(name string, clients int, d time.Duration, max int, fn func(worker int, n int64) (bool, error)) result {
	var (
		count, errs int64
		firstErr    atomic.Value
		wg          sync.WaitGroup
	)
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n := atomic.AddInt64(&count, 1)
				if n > int64(max) {
					atomic.AddInt64(&count, -1)
					return
				}
				t0 := time.Now()
				ok, err := fn(w, n)
				lat[w] = append(lat[w], time.Since(t0))
				if !ok {
					atomic.AddInt64(&errs, 1)
					if err != nil {
						firstErr.CompareAndSwap(nil, err.Error())
					}
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	r := result{Name: name, Requests: count, Errors: errs, Seconds: elapsed.Seconds(),
		PerSec: float64(count) / elapsed.Seconds(), P50ms: pct(.50), P90ms: pct(.90), P99ms: pct(.99), MaxMs: pct(1)}
	if v := firstErr.Load(); v != nil {
		r.FirstErr = v.(string)
	}
	return r
}
