package sqlite

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the current goroutine's id. Go hides it on purpose; the writer
// uses it for one thing only, to refuse a Read or Write made from inside a
// Write function when the caller did not pass tx.Context() (which carries a
// marker): on the writer goroutine that call would wait for itself forever
// and stall every writer of the process. It is only computed while a batch
// is running, and costs about a microsecond.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return id
}
