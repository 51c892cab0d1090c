// Package inputerr is the one shape of "your input is wrong, nothing was
// changed" that the domain packages return: every mistake with the field it
// concerns, so the API can answer 422 with each field located, the console
// can mark each form field, and the CLI can print each line. The domain
// packages alias it (vault.InputError, consent.InputError, ...), so callers
// keep matching their own package's name with errors.As.
package inputerr

import (
	"fmt"
	"strings"
)

// FieldProblem is one mistake and the input field it concerns, e.g.
// {"fields.email", "is not an email address"}. Messages never quote the
// value, which may be personal data.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is bad input; nothing was changed.
type Error struct {
	// Problems lists each mistake, in the order found.
	Problems []FieldProblem
}

// Error joins the problems as "field: message; field: message".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// Add records one more problem.
func (e *Error) Add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e as an error when it holds problems, and nil otherwise, so
// validation can collect everything and return once.
func (e *Error) Err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// New is an error with one problem.
func New(field, format string, args ...any) error {
	e := &Error{}
	e.Add(field, format, args...)
	return e
}
