// Package browsertest starts a headless Chromium for end-to-end tests of
// the web surfaces (chromedp v0.23) and saves screenshots a reviewer can
// look at. Every browser test in the repository goes through it, so the
// flags, the skip rule and where screenshots go are the same everywhere.
//
// A test that needs a browser calls New; when Chromium is not installed the
// test is skipped with a message saying how to install it, unless
// TRUSTEE_REQUIRE_BROWSER=1 (CI), which makes that a failure.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables the helpers read.
const (
	// EnvRequire=1 turns a missing Chromium from a skip into a failure.
	EnvRequire = "TRUSTEE_REQUIRE_BROWSER"
	// EnvOutput is the directory screenshots are written under (in
	// screenshots/); default: trustee-test-output in the system's
	// temporary directory. Screenshots are never committed.
	EnvOutput = "TRUSTEE_TEST_OUTPUT"
	// EnvChromium overrides the browser binary.
	EnvChromium = "TRUSTEE_CHROMIUM"
)

// Flags are the Chromium flags every test browser runs with: headless, no
// sandbox (containers run tests as root), no GPU, and nothing that talks
// to the network by itself (updates, sync, safe browsing, first-run pages).
var Flags = []string{"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run"}

// Path finds the Chromium binary: EnvChromium, then the usual names.
func Path() string {
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Options change the browser a test gets.
type Options struct {
	// Width and Height of the window; zero means 1280×900.
	Width, Height int
}

// New starts a fresh headless Chromium (its own empty profile in a
// temporary directory) and returns a chromedp context on its first tab.
// The browser is stopped when the test ends. Actions run with a context
// derived from the returned one (for a timeout) leave the browser running.
func New(t testing.TB, o Options) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		msg := "browser tests need Chromium (apt-get install -y chromium), or set " + EnvChromium
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg + "; " + EnvRequire + "=1 requires them")
		}
		t.Skip("skipped: " + msg)
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-GB"),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser; it must not run under a
	// timeout, which would stop the browser when it ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// Run runs actions with a timeout, failing the test with what was being
// done when one fails.
func Run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// OutputDir is where screenshots of this test binary go (created).
func OutputDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvOutput)
	if base == "" {
		base = filepath.Join(os.TempDir(), "trustee-test-output")
	}
	dir := filepath.Join(base, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a PNG of the whole page (not only the viewport) as
// OutputDir/<name>.png and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return save(t, ctx, name, chromedp.FullScreenshot(100))
}

// ScreenshotViewport saves a PNG of what the window shows, for long pages
// where the first screen is what matters (and a phone-sized view).
func ScreenshotViewport(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return save(t, ctx, name, chromedp.CaptureScreenshot())
}

func save(t testing.TB, ctx context.Context, name string, shot chromedp.Action[[]byte]) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-")
	path := filepath.Join(OutputDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Text returns the visible text of the first element matching a CSS
// selector, waiting for it to appear.
func Text(t testing.TB, ctx context.Context, css string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// Location returns the current URL.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
