package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// editDistance is the optimal-string-alignment distance between a and b
// (Levenshtein plus transposition of two adjacent characters, the most
// common typing mistake). It works on bytes: keys and enum values are ASCII.
func editDistance(a, b string) int {
	if a == b {
		return 0
	}
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	// Three rolling rows: two back for transpositions.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// squash reduces a name to its letters and digits in lower case, so that
// legalBasis, legal-basis and Legal_Basis all match legal_basis.
func squash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// suggest returns the candidate the user most likely meant by got, or ""
// when nothing is close enough to be a helpful guess.
func suggest(got string, candidates []string) string {
	if got == "" || len(got) > 200 {
		return ""
	}
	sq := squash(got)
	for _, c := range candidates {
		if squash(c) == sq {
			return c
		}
	}
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	// Allow about one mistake per four characters, at least one, at most three.
	limit := min(max(len(got)/4, 1), 3)
	if bestD <= limit {
		return best
	}
	// A dotted category written without its middle part, e.g. user.email
	// for user.contact.email: match on the last segment if it is unique.
	if i := strings.LastIndexByte(got, '.'); i >= 0 {
		last := got[i:]
		var match string
		for _, c := range candidates {
			if strings.HasSuffix(c, last) {
				if match != "" {
					return ""
				}
				match = c
			}
		}
		return match
	}
	// One contains the other (telephone for phone, email_address for
	// email), if exactly one candidate does.
	if len(sq) >= 3 {
		var match string
		for _, c := range candidates {
			cs := squash(c)
			if len(cs) >= 3 && (strings.Contains(sq, cs) || strings.Contains(cs, sq)) {
				if match != "" {
					match = ""
					break
				}
				match = c
			}
		}
		if match != "" {
			return match
		}
	}
	return ""
}

// didYouMean formats a suggestion as a message suffix, or "" if none.
func didYouMean(got string, candidates []string) string {
	if s := suggest(got, candidates); s != "" && s != got {
		return "; did you mean " + quote(s) + "?"
	}
	return ""
}

// then joins a further sentence to a message that may end in a question.
func then(msg, more string) string {
	if strings.HasSuffix(msg, "?") {
		return msg + " " + more
	}
	return msg + ". " + more
}

// quote puts a value in double quotes for messages, escaping as Go does.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 80 {
		r := []rune(s)
		s = string(r[:77]) + "..."
	}
	return strconv.Quote(s)
}
