package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a policy file, with the exact place it was
// found so that the CLI can print it as FILE:LINE:COL and an editor can jump
// to it. A DPO reads these messages, so Msg says what is wrong in the terms
// of the policy, and how to fix it where that is known.
type Error struct {
	// File is the name the policy was loaded under (usually its path).
	File string
	// Line and Col are 1-based; Col counts characters on the line.
	Line, Col int
	// Path locates the offending element in the policy, e.g.
	// purposes[2].legal_basis; empty for problems with the file as a whole.
	Path string
	// Msg says what is wrong.
	Msg string
	// Warning marks something a DPO should look at in a policy that is
	// nevertheless valid.
	Warning bool
}

// Error formats the problem as FILE:LINE:COL: [warning: ][PATH: ]MESSAGE,
// the form compilers use, so editors and CI annotate the right line.
func (e Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Warning {
		b.WriteString("warning: ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one policy. Loading never stops at the
// first mistake: fixing a policy should take one round trip, not ten.
type Errors []Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or a true nil when es is empty. Use it instead
// of returning Errors directly: a nil Errors stored in an error interface
// is not == nil.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// HasErrors reports whether any entry is an error rather than a warning.
func (es Errors) HasErrors() bool {
	for _, e := range es {
		if !e.Warning {
			return true
		}
	}
	return false
}

// Split separates errors from warnings, keeping their order.
func (es Errors) Split() (errs, warnings Errors) {
	for _, e := range es {
		if e.Warning {
			warnings = append(warnings, e)
		} else {
			errs = append(errs, e)
		}
	}
	return errs, warnings
}

// sortErrors orders problems by position, then by message, so output is
// stable and reads top to bottom like the file.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
}

// dedupErrors drops exact repeats (same place, same message) that two
// independent checks can produce for one mistake.
func dedupErrors(es Errors) Errors {
	if len(es) < 2 {
		return es
	}
	out := es[:1]
	for _, e := range es[1:] {
		if e == out[len(out)-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}
