package notice

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// The notice is first built as a small document model (sections of
// paragraphs, lists and tables made of text runs) and then written out as
// HTML or Markdown. Building once keeps the two formats word for word the
// same, and keeps every escaping decision inside the two writers.
//
// Fields are exported only so that html/template can read them; the types
// themselves are internal.

// inline is a run of text, optionally strong, monospaced or a link.
type inline struct {
	Text   string
	Strong bool
	Code   bool
	Href   string // already checked by safeURL
}

// blockKind says how a block is laid out.
type blockKind string

const (
	kindPara  blockKind = "p"
	kindH3    blockKind = "h3"
	kindList  blockKind = "ul"
	kindTable blockKind = "table"
)

// block is a paragraph, a sub-heading, a bullet list or a table.
type block struct {
	Kind  blockKind
	ID    string     // anchor of a sub-heading
	Text  []inline   // paragraph or heading
	Items [][]inline // list items
	Table *table
}

// table is a data table; the first column heads its row.
type table struct {
	Caption string
	Head    []string
	Rows    [][][]inline
}

// section is one numbered part of the notice with an anchor.
type section struct {
	ID     string
	Title  string
	Blocks []block
	// TOCSub lists the section's sub-headings in the table of contents
	// (used for the purposes, which people look for by name).
	TOCSub bool
}

// tocEntry is a line of the table of contents.
type tocEntry struct {
	ID, Title string
	Sub       []tocEntry
}

// document is a complete notice ready to be written out.
type document struct {
	Lang     string
	Title    string
	Subtitle string
	Meta     []inline
	Intro    []block
	TOC      []tocEntry
	TOCID    string
	TitleID  string
	Sections []section
}

// text is a plain run.
func text(s string) inline { return inline{Text: s} }

// strong is a bold run, used for the labels of labelled items.
func strong(s string) inline { return inline{Text: s, Strong: true} }

// code is a monospaced run (hashes).
func code(s string) inline { return inline{Text: s, Code: true} }

// link is a run linking to href, or plain text if href is not a safe URL.
func link(label, href string) inline {
	u := safeURL(href)
	if u == "" {
		return text(label)
	}
	return inline{Text: label, Href: u}
}

// emailLink links an address with mailto:.
func emailLink(addr string) inline {
	addr = strings.TrimSpace(addr)
	if addr == "" || strings.ContainsAny(addr, " <>\"()") || !strings.Contains(addr, "@") {
		return text(addr)
	}
	return link(addr, "mailto:"+addr)
}

// webLink links a web address, showing it without the scheme.
func webLink(u string) inline {
	u = strings.TrimSpace(u)
	label := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/")
	return link(label, u)
}

// safeURL returns u if it is an absolute http, https or mailto URL, else "".
// Both writers rely on it: a policy cannot smuggle a javascript: link into
// the notice.
func safeURL(u string) string {
	u = strings.TrimSpace(u)
	if u == "" {
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch strings.ToLower(pu.Scheme) {
	case "http", "https":
		if pu.Host == "" {
			return ""
		}
		return pu.String()
	case "mailto":
		return pu.String()
	}
	return ""
}

// para builds a paragraph block.
func para(runs ...inline) block { return block{Kind: kindPara, Text: runs} }

// paras turns user text with blank lines into paragraph blocks.
func paras(s string) []block {
	var out []block
	for _, p := range paragraphs(s) {
		out = append(out, para(text(p)))
	}
	return out
}

// h3 builds a sub-heading block; its anchor is set when the document is
// finished.
func h3(title string) block { return block{Kind: kindH3, Text: []inline{text(title)}} }

// list builds a bullet list, skipping empty items.
func list(items ...[]inline) block {
	var keep [][]inline
	for _, it := range items {
		if len(it) > 0 {
			keep = append(keep, it)
		}
	}
	return block{Kind: kindList, Items: keep}
}

// labelled is a list item "Label: text".
func labelled(label string, runs ...inline) []inline {
	return append([]inline{strong(label + ":"), text(" ")}, runs...)
}

// empty reports whether a block has nothing to show, so that no empty
// paragraph, list or table is ever written.
func (b block) empty() bool {
	switch b.Kind {
	case kindList:
		return len(b.Items) == 0
	case kindTable:
		return b.Table == nil || len(b.Table.Rows) == 0
	}
	for _, r := range b.Text {
		if strings.TrimSpace(r.Text) != "" {
			return false
		}
	}
	return true
}

// plain is the text of runs without formatting, for headings and anchors.
func plain(runs []inline) string {
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(r.Text)
	}
	return b.String()
}

// slugger gives headings anchors the way GitHub does for Markdown (lower
// case, punctuation dropped, spaces to hyphens, -1, -2 for repeats), so the
// same links work in the HTML page and in rendered Markdown.
type slugger map[string]int

func (s slugger) slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(title)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	base := b.String()
	if base == "" {
		base = "section"
	}
	n := s[base]
	s[base] = n + 1
	if n == 0 {
		return base
	}
	return base + "-" + strconv.Itoa(n)
}

// finish drops empty blocks and sections, gives every heading its anchor
// in document order and builds the table of contents.
func (d *document) finish() {
	sl := slugger{}
	d.TitleID = sl.slug(d.Title)
	d.TOCID = sl.slug("Contents")
	var keep []section
	for _, s := range d.Sections {
		var blocks []block
		for _, b := range s.Blocks {
			if !b.empty() {
				blocks = append(blocks, b)
			}
		}
		// A sub-heading with nothing after it before the next heading is
		// dropped too.
		var cleaned []block
		for i, b := range blocks {
			if b.Kind == kindH3 && (i+1 == len(blocks) || blocks[i+1].Kind == kindH3) {
				continue
			}
			cleaned = append(cleaned, b)
		}
		if len(cleaned) == 0 {
			continue
		}
		s.Blocks = cleaned
		keep = append(keep, s)
	}
	d.Sections = keep
	d.TOC = nil
	for i := range d.Sections {
		s := &d.Sections[i]
		s.ID = sl.slug(s.Title)
		e := tocEntry{ID: s.ID, Title: s.Title}
		for j := range s.Blocks {
			if s.Blocks[j].Kind == kindH3 {
				s.Blocks[j].ID = sl.slug(plain(s.Blocks[j].Text))
				if s.TOCSub {
					e.Sub = append(e.Sub, tocEntry{ID: s.Blocks[j].ID, Title: plain(s.Blocks[j].Text)})
				}
			}
		}
		d.TOC = append(d.TOC, e)
	}
	var intro []block
	for _, b := range d.Intro {
		if !b.empty() {
			intro = append(intro, b)
		}
	}
	d.Intro = intro
}
