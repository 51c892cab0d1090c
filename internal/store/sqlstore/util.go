package sqlstore

import (
	"fmt"
	"time"
)

func typeString(v any) string { return fmt.Sprintf("%T", v) }

// Times are stored as BIGINT microseconds since the Unix epoch, UTC, on every
// engine: comparable in SQL, free of time zone and driver quirks.

// micros converts t to stored microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros converts t to stored microseconds, or NULL for the zero time
// ("never").
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros converts stored microseconds back to a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fromNullMicros converts a nullable stored time; NULL is the zero time.
func fromNullMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return fromMicros(*us)
}

// truncate rounds t down to what the database keeps, so a value written and
// read back compares equal.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromMicros(t.UnixMicro())
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, 3*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
