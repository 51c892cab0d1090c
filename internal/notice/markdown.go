package notice

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// writeMarkdown writes the document model as CommonMark with GitHub-style
// tables. Every piece of policy text goes through mdEscape, so a purpose
// description cannot inject headings, links, HTML or table cells.
func writeMarkdown(d *document) []byte {
	var w bytes.Buffer
	w.WriteString("# " + mdEscape(d.Title) + "\n\n")
	if d.Subtitle != "" {
		w.WriteString("**" + mdEscape(d.Subtitle) + "**\n\n")
	}
	if len(d.Meta) > 0 {
		w.WriteString(mdLineStart(mdInline(d.Meta)) + "\n\n")
	}
	mdBlocks(&w, d.Intro)
	if len(d.TOC) > 0 {
		w.WriteString("## Contents\n\n")
		for i, e := range d.TOC {
			marker := strconv.Itoa(i+1) + ". "
			w.WriteString(marker + "[" + mdEscape(e.Title) + "](#" + mdURL(e.ID) + ")\n")
			indent := strings.Repeat(" ", len(marker))
			for _, s := range e.Sub {
				w.WriteString(indent + "- [" + mdEscape(s.Title) + "](#" + mdURL(s.ID) + ")\n")
			}
		}
		w.WriteString("\n")
	}
	for _, s := range d.Sections {
		w.WriteString("## " + mdEscape(s.Title) + "\n\n")
		mdBlocks(&w, s.Blocks)
	}
	out := bytes.TrimRight(w.Bytes(), "\n")
	return append(out, '\n')
}

// mdBlocks writes paragraphs, sub-headings, lists and tables.
func mdBlocks(w *bytes.Buffer, blocks []block) {
	for _, b := range blocks {
		switch b.Kind {
		case kindPara:
			w.WriteString(mdLineStart(mdInline(b.Text)) + "\n\n")
		case kindH3:
			w.WriteString("### " + mdInline(b.Text) + "\n\n")
		case kindList:
			for _, it := range b.Items {
				w.WriteString("- " + mdLineStart(mdInline(it)) + "\n")
			}
			w.WriteString("\n")
		case kindTable:
			t := b.Table
			row := func(cells []string) {
				w.WriteString("|")
				for _, c := range cells {
					w.WriteString(" " + c + " |")
				}
				w.WriteString("\n")
			}
			head := make([]string, len(t.Head))
			sep := make([]string, len(t.Head))
			for i, h := range t.Head {
				head[i] = mdEscape(h)
				sep[i] = "---"
			}
			row(head)
			row(sep)
			for _, r := range t.Rows {
				cells := make([]string, len(r))
				for i, c := range r {
					cells[i] = mdInline(c)
					if cells[i] == "" {
						cells[i] = " "
					}
				}
				row(cells)
			}
			w.WriteString("\n")
		}
	}
}

// mdInline writes runs of text with emphasis, code and links.
func mdInline(runs []inline) string {
	var b strings.Builder
	for _, r := range runs {
		t := r.Text
		if r.Code && !strings.Contains(t, "`") && strings.TrimSpace(t) != "" {
			b.WriteString("`" + strings.ReplaceAll(t, "\n", " ") + "`")
			continue
		}
		// Emphasis markers must hug the text, so spaces go outside them.
		lead := t[:len(t)-len(strings.TrimLeft(t, " "))]
		trail := t[len(strings.TrimRight(t, " ")):]
		core := strings.TrimSpace(t)
		if core == "" {
			b.WriteString(t)
			continue
		}
		s := mdEscape(core)
		if r.Href != "" {
			s = "[" + s + "](" + mdURL(r.Href) + ")"
		}
		if r.Strong {
			s = "**" + s + "**"
		}
		b.WriteString(lead + s + trail)
	}
	return b.String()
}

// entityRef matches what CommonMark would read as an HTML entity.
var entityRef = regexp.MustCompile(`^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)

// mdEscape backslash-escapes every character CommonMark or GitHub tables
// could read as markup, and turns line breaks into spaces so that text
// stays inside its paragraph, list item or table cell.
func mdEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '&':
			if entityRef.MatchString(s[i:]) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// blockStart matches text that would open a list, a thematic break or a
// setext heading if it began a line.
var blockStart = regexp.MustCompile(`^(?:[-+=]|[0-9]{1,9}[.)])`)

// mdLineStart escapes a marker at the start of a line (a paragraph or list
// item that begins with "-", "+", "=" or "1.").
func mdLineStart(s string) string {
	loc := blockStart.FindStringIndex(s)
	if loc == nil {
		return s
	}
	end := loc[1]
	return s[:end-1] + "\\" + s[end-1:]
}

// mdURL makes a URL safe as a link destination.
var mdURLReplacer = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\\", "%5C", "`", "%60", "\n", "", "\r", "")

func mdURL(u string) string { return mdURLReplacer.Replace(u) }
