package notice

import (
	"embed"
	"html/template"
)

//go:embed assets/notice.html.tmpl assets/notice.css
var assets embed.FS

// stylesheet is the notice's CSS: scoped to .trustee-notice, readable on
// phones, with a dark variant and print rules.
var stylesheet = mustRead("assets/notice.css")

// pageTemplate writes the document model as HTML. html/template escapes
// every policy string for its context; the only trusted insertion is the
// stylesheet, which is a constant shipped in the binary.
var pageTemplate = template.Must(template.New("notice").Funcs(template.FuncMap{
	// #nosec G203 -- constant CSS embedded at build time, never policy text.
	"stylesheet": func() template.CSS { return template.CSS(stylesheet) },
}).Parse(mustRead("assets/notice.html.tmpl")))

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic("notice: missing embedded asset " + name)
	}
	return string(b)
}

// Stylesheet returns the CSS the standalone page uses, so a page that
// embeds the notice with Options.Fragment can style it the same way. All
// rules are scoped to the .trustee-notice element.
func Stylesheet() string { return stylesheet }
