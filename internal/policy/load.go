package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest policy file accepted (1 MiB). A real policy is a
// few hundred lines; the limit keeps a hostile upload from costing memory.
const MaxSize = 1 << 20

// Document is a loaded policy together with its source and everything
// derived from it: positions for error messages, its content hash, and
// indexes for the lookups the decision engine makes on every read. A
// Document returned by Load is valid and immutable: callers must not modify
// it or the Policy it points to, and may share it between goroutines.
type Document struct {
	// Policy is the decoded policy.
	Policy *Policy
	// Source is the file as given; the notice and the console show it.
	Source []byte
	// Format is "json" when the source is a JSON document, else "yaml".
	Format string
	// Name is the file name used in error messages.
	Name string
	// Hash is Policy.Hash(), computed once.
	Hash string
	// Warnings are findings a DPO should look at in a valid policy.
	Warnings Errors

	pos map[string]position
	idx *index
}

// Load parses, decodes and validates a policy given as YAML or JSON. On
// failure the error is an Errors value listing every problem, each with
// file, line and column; no Document is returned, so an invalid policy can
// never be applied.
func Load(name string, src []byte) (*Document, error) {
	doc, errs, fatal := parse(name, src)
	if fatal {
		sortErrors(errs)
		return nil, errs
	}
	errs = append(errs, Validate(doc)...)
	sortErrors(errs)
	errs = dedupErrors(errs)
	bad, warnings := errs.Split()
	if len(bad) > 0 {
		return nil, bad
	}
	doc.Warnings = warnings
	doc.Hash = doc.Policy.Hash()
	return doc, nil
}

// LoadFile reads and loads a policy file, naming it by its path in errors.
func LoadFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return Load(path, src)
}

// Parse decodes a policy without the semantic checks of Validate: the
// result has every value that could be decoded and the problems met doing
// so (syntax, unknown keys, wrong types, missing required keys). Tools use
// it to show a broken policy as far as it goes; Load is what applies one.
// The Document is never nil; its Policy is nil when nothing could be
// decoded (a syntax error, for example).
func Parse(name string, src []byte) (*Document, Errors) {
	doc, errs, _ := parse(name, src)
	sortErrors(errs)
	return doc, errs
}

// FromPolicy builds a Document from a Policy made in Go (by `trustee init`
// or a test) by writing it as YAML and loading that, so it gets the same
// checks, positions and hash as a file.
func FromPolicy(name string, p *Policy) (*Document, error) {
	src, err := MarshalYAML(p)
	if err != nil {
		return nil, err
	}
	return Load(name, src)
}

// MarshalYAML writes a policy as YAML in the format's key names. Loading
// the result gives a policy with the same Hash.
func MarshalYAML(p *Policy) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MarshalJSON writes a policy as indented JSON in the format's key names.
// Loading the result gives a policy with the same Hash.
func MarshalJSON(p *Policy) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func fileErr(name string, line, col int, format string, args ...any) Error {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return Error{File: name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// parse does the work of Parse and tells Load whether the problems are so
// basic (not YAML, wrong version) that semantic checks would only add noise.
func parse(name string, src []byte) (doc *Document, errs Errors, fatal bool) {
	if len(src) <= MaxSize {
		src = bytes.Clone(src) // the Document must not change if the caller reuses its buffer
	}
	doc = &Document{Name: name, Source: src, Format: "yaml", pos: map[string]position{}}
	if e, ok := preflight(name, src); !ok {
		return doc, Errors{e}, true
	}
	if isJSON(src) {
		doc.Format = "json"
	}
	root, err := parseYAML(name, src)
	if err != nil {
		return doc, Errors{*err}, true
	}
	if es := checkNodes(name, root); len(es) > 0 {
		return doc, es, true
	}
	if root.Kind != yaml.MappingNode {
		if isNull(root) {
			return doc, Errors{fileErr(name, 1, 1, "the policy is empty")}, true
		}
		return doc, Errors{fileErr(name, root.Line, root.Column,
			"the policy must be a mapping of keys (version, mode, controller, ...), got %s", describe(root))}, true
	}
	if e, ok := checkVersion(name, root); !ok {
		return doc, Errors{e}, true
	}
	d := &decoder{file: name, pos: doc.pos}
	p := &Policy{}
	d.mapping(root, reflect.ValueOf(p).Elem(), "", infoOf(reflect.TypeFor[Policy]()))
	doc.Policy = p
	doc.idx = buildIndex(p)
	return doc, d.errs, false
}

// checkVersion refuses a file written for another format version before
// its keys are read: a future format would otherwise be misread.
func checkVersion(name string, root *yaml.Node) (Error, bool) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != "version" || v.Kind != yaml.ScalarNode || isNull(v) {
			continue
		}
		if v.Tag != "!!int" {
			return Error{}, true // a type error the decoder reports
		}
		if n, err := strconv.ParseInt(v.Value, 0, 64); err == nil && n == FormatVersion {
			return Error{}, true
		}
		return Error{File: name, Line: v.Line, Col: v.Column, Path: "version",
			Msg: fmt.Sprintf("this Trustee understands policy format version %d, not %s; upgrade Trustee or write the policy in version %d", FormatVersion, v.Value, FormatVersion)}, false
	}
	return Error{}, true
}

func isJSON(src []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(src)
}

// preflight refuses input that is too large, empty or not UTF-8 text,
// before any parser sees it.
func preflight(name string, src []byte) (Error, bool) {
	if len(src) > MaxSize {
		return fileErr(name, 1, 1, "the policy is %d bytes; the limit is %d bytes (1 MiB)", len(src), MaxSize), false
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return fileErr(name, 1, 1, "the policy is empty"), false
	}
	if bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) {
		return fileErr(name, 1, 1, "the file is UTF-16 encoded; save it as UTF-8"), false
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return fileErr(name, line, col, "invalid UTF-8 (byte 0x%02x at offset %d); save the file as UTF-8", src[i], i), false
		}
		if !yamlPrintable(r) && !(r == 0xFEFF && i == 0) {
			return fileErr(name, line, col, "character %U is not allowed in a policy file", r), false
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return Error{}, true
}

// yamlPrintable is YAML 1.2's set of characters allowed in a stream.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x85:
		return true
	case r >= 0xa0 && r <= 0xd7ff:
		return true
	case r >= 0xe000 && r <= 0xfffd:
		return r != 0xfeff
	case r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// parserProblems are yaml.v3 parser (not scanner) messages; yaml.v3
// reports their line 0-based.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var (
	yamlErrRE       = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// lineCol converts a byte offset to a 1-based line and character column.
func lineCol(src []byte, off int) (int, int) {
	before := src[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// syntaxError turns a yaml.v3 error into an Error with a line. yaml.v3
// gives no column for syntax errors, so the column is that of the first
// character on the line.
func syntaxError(name string, src []byte, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
			if parserProblems[msg] {
				line++
			}
		}
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		// An alias to an anchor that does not exist: point at the alias.
		if i := bytes.Index(src, []byte("*"+m[1])); i >= 0 {
			l, c := lineCol(src, i)
			e := fileErr(name, l, c, "aliases (*%s) are not allowed in a policy; write the value out", m[1])
			return &e
		}
	}
	lines := bytes.Split(src, []byte("\n"))
	if line > len(lines) {
		line = len(lines)
	}
	col := 1
	if line >= 1 {
		l := lines[line-1]
		col = utf8.RuneCount(l[:len(l)-len(bytes.TrimLeft(l, " \t"))]) + 1
	}
	e := fileErr(name, line, col, "YAML syntax error: %s", msg)
	return &e
}

// parseYAML reads exactly one YAML document.
func parseYAML(name string, src []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			e := fileErr(name, 1, 1, "the policy is empty")
			return nil, &e
		}
		return nil, syntaxError(name, src, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(name, src, err)
	default:
		e := fileErr(name, next.Line, next.Column, "the file holds more than one YAML document (a second one starts here after ---); a policy is one document")
		if next.Line == 0 {
			e = fileErr(name, lineOfSecondDoc(src), 1, "the file holds more than one YAML document; a policy is one document")
		}
		return nil, &e
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		e := fileErr(name, 1, 1, "the policy is empty")
		return nil, &e
	}
	return doc.Content[0], nil
}

// lineOfSecondDoc finds the second document marker for a message when the
// parser gives the document no position.
func lineOfSecondDoc(src []byte) int {
	n := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "---") {
			n++
			if n == 2 || (n == 1 && i > 0) {
				return i + 1
			}
		}
	}
	return 1
}

var allowedTags = setOf("!!str", "!!int", "!!bool", "!!float", "!!null", "!!seq", "!!map", "!!timestamp")

// checkNodes refuses anchors and aliases (a billion-laughs document expands
// exponentially through them, and a policy has no need of them) and custom
// tags, anywhere in the document.
func checkNodes(name string, root *yaml.Node) Errors {
	var errs Errors
	stack := []*yaml.Node{root}
	for len(stack) > 0 && len(errs) < 50 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case n.Kind == yaml.AliasNode:
			errs = append(errs, fileErr(name, n.Line, n.Column, "aliases (*%s) are not allowed in a policy; write the value out", n.Value))
		case n.Anchor != "":
			errs = append(errs, fileErr(name, n.Line, n.Column, "anchors (&%s) are not allowed in a policy; write each value out", n.Anchor))
		case n.Style&yaml.TaggedStyle != 0 && !allowedTags[n.Tag]:
			errs = append(errs, fileErr(name, n.Line, n.Column, "the YAML tag %s is not supported in a policy", n.Tag))
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	return errs
}
