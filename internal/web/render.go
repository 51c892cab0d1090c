package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/notice"
)

//go:embed templates
var templateFS embed.FS

//go:embed static/*.css static/*.js static/*.txt
var staticFS embed.FS

// templates holds one parsed set per page: the shared layout and partials
// plus the page's own blocks.
type templates struct {
	sets map[string]*template.Template
}

var funcs = template.FuncMap{
	"static": staticURL,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"short": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		return s[:n] + "…"
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"percent": func(f float64) string {
		return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	},
}

func mustTemplates() *templates {
	t := &templates{sets: map[string]*template.Template{}}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	for _, dir := range []string{"admin", "center"} {
		files, err := fs.Glob(templateFS, "templates/"+dir+"/*.html")
		if err != nil {
			panic(err)
		}
		for _, f := range files {
			set := template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
			t.sets[dir+"/"+strings.TrimSuffix(path.Base(f), ".html")] = set
		}
	}
	return t
}

// view is what every page template gets.
type view struct {
	Title  string
	Lang   string
	msgs   *catalog
	Center *centerInfo
	Admin  *adminInfo
	// Main is the page's own data.
	Main any
	// Flash is a one-line confirmation ("Staff member disabled.").
	Flash string
	// Error is a one-line problem with the submitted form.
	Error string
}

// T looks up a message of the page's language.
func (v *view) T(key string, args ...any) string { return v.catalog().text(v.Lang, key, args...) }

func (v *view) catalog() *catalog {
	if v.msgs == nil {
		return messages
	}
	return v.msgs
}

// render writes a page with status; a template error is a server fault.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	set, ok := s.pages.sets[name]
	if !ok {
		panic("web: no template " + name)
	}
	if v.Lang == "" {
		v.Lang = "en"
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "web: rendering failed", "template", name, "error", err.Error())
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage answers with a plain page that says what happened, never
// echoing input.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{Title: http.StatusText(status), Main: struct {
		Status  int
		Message string
	}{status, msg}}
	if a, ok := adminFrom(r.Context()); ok {
		v.Admin = a
	}
	s.render(w, r, status, "admin/error", v)
}

// ---- static files ----

// staticVersion is a hash of the embedded assets, appended to their URLs so
// browsers may cache them for a year and still get a new build at once.
var staticVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := staticFS.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	h.Write([]byte(notice.Stylesheet()))
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

func staticURL(name string) string { return "/static/" + name + "?v=" + staticVersion }

var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".txt": "text/plain; charset=utf-8"}

// serveStatic serves an embedded asset, or the notice stylesheet the notice
// package owns.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body []byte
	if name == "notice.css" {
		body = []byte(notice.Stylesheet())
	} else {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		body = b
	}
	ct := staticTypes[path.Ext(name)]
	if ct == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	if r.URL.Query().Get("v") == staticVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+staticVersion+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// ---- messages ----

//go:embed i18n/*.json
var i18nFS embed.FS

// catalog holds the messages of each language. English is complete; other
// languages may cover part of it, and a missing message falls back to
// English, so adding a language is adding a file (i18n/nb.json, et.json…).
type catalog struct {
	langs map[string]map[string]string
}

var messages = mustCatalog()

func mustCatalog() *catalog {
	c := &catalog{langs: map[string]map[string]string{}}
	files, err := fs.Glob(i18nFS, "i18n/*.json")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		b, _ := i18nFS.ReadFile(f)
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("web: %s: %v", f, err))
		}
		c.langs[strings.TrimSuffix(path.Base(f), ".json")] = m
	}
	if c.langs["en"] == nil {
		panic("web: no English messages")
	}
	return c
}

// lang picks the catalogue language for a BCP 47 tag: the exact tag, its
// primary language (nb-NO → nb), else English.
func (c *catalog) lang(tag string) string {
	tag = strings.ToLower(tag)
	if _, ok := c.langs[tag]; ok {
		return tag
	}
	if i := strings.IndexAny(tag, "-_"); i > 0 {
		if _, ok := c.langs[tag[:i]]; ok {
			return tag[:i]
		}
	}
	return "en"
}

// has reports whether key has a message in lang or in English.
func (c *catalog) has(lang, key string) bool {
	if _, ok := c.langs[c.lang(lang)][key]; ok {
		return true
	}
	_, ok := c.langs["en"][key]
	return ok
}

// text formats message key in lang, falling back to English, then to the
// key itself (so a missing message shows up in tests, not as a blank).
func (c *catalog) text(lang, key string, args ...any) string {
	msg, ok := c.langs[c.lang(lang)][key]
	if !ok {
		if msg, ok = c.langs["en"][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}
