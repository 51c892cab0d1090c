package retention

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// maxKeptText bounds a kept text attribute: a country, a plan, a product
// line, never a free-text value.
const maxKeptText = 64

// period generalises a record's collection time to what anonymisation
// keeps: its month ("2026-03", the default) or its year ("2026"). The day
// and the time of day are dropped: with them, a count of one could point to
// the one person who acted at that moment.
func period(t time.Time, gen string) string {
	t = t.UTC()
	if gen == "year" {
		return t.Format("2006")
	}
	return t.Format("2006-01")
}

// attributes returns the kept top-level attributes of a JSON record as a
// canonical JSON object (keys sorted), or "" when nothing is kept. Only
// scalars are kept: text of up to 64 characters, numbers and booleans;
// objects, arrays, null and longer text are dropped, as they may carry
// anything, personal data included.
func attributes(record []byte, keep []string) string {
	if len(keep) == 0 {
		return ""
	}
	var obj map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(record))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return "{}"
	}
	out := map[string]any{}
	for _, k := range keep {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		var v any
		vd := json.NewDecoder(bytes.NewReader(raw))
		vd.UseNumber()
		if err := vd.Decode(&v); err != nil {
			continue
		}
		switch x := v.(type) {
		case string:
			if x != "" && utf8.RuneCountInString(x) <= maxKeptText {
				out[k] = x
			}
		case json.Number, bool:
			out[k] = x
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
