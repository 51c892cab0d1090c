package inputerr_test

import (
	"errors"
	"testing"

	"github.com/trustee-privacy/trustee/internal/inputerr"
)

func TestError(t *testing.T) {
	var none inputerr.Error
	if none.Err() != nil {
		t.Fatal("an error without problems is not nil")
	}
	var nilErr *inputerr.Error
	if nilErr.Err() != nil {
		t.Fatal("a nil *Error is not nil")
	}
	cases := []struct {
		add  [][2]string
		want string
	}{
		{[][2]string{{"email", "is not an email address"}}, "email: is not an email address"},
		{[][2]string{{"a", "is required"}, {"b", "must be positive"}}, "a: is required; b: must be positive"},
	}
	for _, c := range cases {
		var e inputerr.Error
		for _, p := range c.add {
			e.Add(p[0], "%s", p[1])
		}
		err := e.Err()
		var got *inputerr.Error
		if !errors.As(err, &got) || err.Error() != c.want || len(got.Problems) != len(c.add) {
			t.Errorf("%v: %v", c.add, err)
		}
	}
	err := inputerr.New("days", "must be between %d and %d", 1, 366)
	if err.Error() != "days: must be between 1 and 366" {
		t.Errorf("New: %v", err)
	}
}
