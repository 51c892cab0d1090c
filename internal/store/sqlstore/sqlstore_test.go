package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/store"
)

func TestRebind(t *testing.T) {
	pg := &Dialect{Numbered: true}
	lite := &Dialect{}
	cases := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x IN (?, ?, ?) LIMIT ?", "x IN ($1, $2, $3) LIMIT $4"},
		{"s = '?' AND t = ?", "s = '?' AND t = $1"},
		{`"we?ird" = ?`, `"we?ird" = $1`},
		{"s = 'it''s ?' AND t = ?", "s = 'it''s ?' AND t = $1"},
	}
	for _, c := range cases {
		for range 2 { // second time from the cache
			if got := pg.Rebind(c.in); got != c.want {
				t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
			}
		}
		if got := lite.Rebind(c.in); got != c.in {
			t.Errorf("sqlite Rebind changed %q to %q", c.in, got)
		}
	}
}

func TestWrap(t *testing.T) {
	errEngine := errors.New("engine says: value 'secret' is bad")
	d := &Dialect{
		Classify: func(err error) ErrKind {
			if errors.Is(err, errEngine) {
				return KindConflict
			}
			return KindOther
		},
		Describe: func(err error) (string, bool) {
			if errors.Is(err, errEngine) {
				return "engine: code 42", true
			}
			return "", false
		},
	}
	cases := []struct {
		name    string
		err     error
		is      []error
		text    string
		notText string
	}{
		{"no rows", sql.ErrNoRows, []error{store.ErrNotFound}, "store: get thing: not found", ""},
		{"engine", errEngine, []error{store.ErrConflict, errEngine}, "store: get thing: conflict: engine: code 42", "secret"},
		{"canceled", context.Canceled, []error{context.Canceled}, "context canceled", ""},
		{"closed db", errors.New("sql: database is closed"), []error{store.ErrClosed}, "store closed", ""},
		{"foreign", errors.New(`sql: Scan error on column "x": converting "secret"`), nil, "unexpected error", "secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := d.Wrap("get thing", c.err)
			for _, target := range c.is {
				if !errors.Is(err, target) {
					t.Errorf("%v is not %v", err, target)
				}
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("%q does not contain %q", err, c.text)
			}
			if c.notText != "" && strings.Contains(err.Error(), c.notText) {
				t.Errorf("%q leaks %q", err, c.notText)
			}
			if again := d.Wrap("outer", err); again != err {
				t.Errorf("Wrap is not idempotent: %v", again)
			}
		})
	}
	if d.Wrap("x", nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
}

func TestTruncateUTF8(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	for n := 0; n <= 21; n++ {
		got := truncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) || (n >= 20 && got != s) {
			t.Errorf("truncateUTF8(%d) = %q", n, got)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "?", 3: "?, ?, ?"} {
		if got := placeholders(n); got != want {
			t.Errorf("placeholders(%d) = %q", n, got)
		}
	}
}

func TestWriteMarks(t *testing.T) {
	a, b := new(int), new(int)
	ctx := context.Background()
	if InWrite(ctx, a) {
		t.Fatal("unmarked context in a write")
	}
	ca := MarkWrite(ctx, a)
	cab := MarkWrite(ca, b)
	if !InWrite(ca, a) || InWrite(ca, b) || !InWrite(cab, a) || !InWrite(cab, b) {
		t.Fatal("marks not tracked per store")
	}
}
