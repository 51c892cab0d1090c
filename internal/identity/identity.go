// Package identity normalises the identifiers that point to a subject (email
// address, phone number, external id, login) before they are blind-indexed
// (keys.Manager.BlindIndex) and when they are used to look a subject up.
//
// The vault never stores these identifiers in clear next to the index, so two
// spellings of one identifier must normalise to the same string, or a lookup
// would miss the subject and a create would make a duplicate. Normalisation is
// therefore strict and idempotent (Normalize of a normalised value returns it
// unchanged), and it rejects what it cannot normalise safely rather than
// guessing. Errors describe the problem without repeating the value, which is
// personal data and may end up in logs.
//
// Choices, per kind:
//
//   - email: surrounding white space trimmed, Unicode NFC, and the whole
//     address lower-cased, local part included. RFC 5321 lets a mail server
//     treat the local part as case-sensitive, but practically none does, and
//     people type their address in varying case; lower-casing it trades a
//     theoretical merge of two mailboxes for reliable lookups and duplicate
//     detection. Nothing else is rewritten: dots and "+tags" are kept (they
//     name different mailboxes at most providers). Only the bare addr-spec
//     form is accepted (no display name, comments, quoted local parts or
//     address literals); internationalised addresses (RFC 6531) are accepted
//     in Unicode. An internationalised domain in its ASCII form (xn--...) is a
//     different string from its Unicode form: send one form consistently. At
//     most 254 bytes (RFC 5321's path limit less the angle brackets), local
//     part at most 64.
//   - phone: parsed with libphonenumber's metadata (nyaruka/phonenumbers) and
//     written in E.164 (+4722123456). A number without a leading + or
//     international prefix is read in the default region, which the vault
//     takes from the policy's controller country; without one, national
//     numbers are refused. Numbers that are not possible or not valid for
//     their region are refused, and so are extensions (E.164 has none, and
//     dropping one silently would merge people sharing a switchboard).
//   - external_id: exactly as given (an application's own id, compared
//     byte for byte): not empty, at most 256 bytes, valid UTF-8, no control
//     characters.
//   - login: surrounding white space trimmed and Unicode NFC (so a name typed
//     with a combining accent matches the precomposed one); case is kept,
//     because applications differ in whether logins are case-sensitive: an
//     application with case-insensitive logins lower-cases them itself. Not
//     empty, at most 256 bytes, no control characters.
package identity

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// Identity kinds, as the vault stores them (store.Identity.Kind) and as
// BlindIndex separates them.
const (
	Email      = "email"
	Phone      = "phone"
	ExternalID = "external_id"
	Login      = "login"
)

// Kinds lists every kind Normalize accepts.
var Kinds = []string{Email, Phone, ExternalID, Login}

// Limits, in bytes of the normalised value.
const (
	MaxEmail      = 254
	MaxEmailLocal = 64
	MaxExternalID = 256
	MaxLogin      = 256
	// maxInput bounds what is examined at all, so an absurd input costs
	// nothing before it is refused.
	maxInput = 1024
	// maxPhoneInput bounds a phone number as typed, formatting included.
	maxPhoneInput = 64
)

// ErrInvalid is what every rejection of a value matches with errors.Is.
var ErrInvalid = errors.New("invalid identifier")

// ErrUnknownKind means the kind is not one of Kinds.
var ErrUnknownKind = errors.New("unknown identifier kind")

// Error explains why a value was refused, without the value.
type Error struct {
	Kind   string // the identifier kind
	Reason string // e.g. "the domain has no dot"
}

func (e *Error) Error() string { return fmt.Sprintf("invalid %s: %s", e.Kind, e.Reason) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func invalid(kind, reason string) error { return &Error{Kind: kind, Reason: reason} }

// Normalize returns the canonical form of value as an identifier of kind (see
// the package comment), or an error that matches ErrInvalid (or
// ErrUnknownKind) and says what is wrong without repeating the value.
// defaultRegion (an ISO 3166-1 alpha-2 code such as "NO", or empty) is used
// only for phone numbers written without a country code.
func Normalize(kind, value, defaultRegion string) (string, error) {
	if len(value) > maxInput {
		return "", invalid(kind, fmt.Sprintf("longer than %d bytes", maxInput))
	}
	if !utf8.ValidString(value) {
		return "", invalid(kind, "not valid UTF-8")
	}
	switch kind {
	case Email:
		return normalizeEmail(value)
	case Phone:
		return normalizePhone(value, defaultRegion)
	case ExternalID:
		return normalizeExternalID(value)
	case Login:
		return normalizeLogin(value)
	}
	return "", fmt.Errorf("%w %q; known kinds: %s", ErrUnknownKind, kind, strings.Join(Kinds, ", "))
}

// hasControl reports whether s holds a control character (Unicode Cc: C0,
// DEL, C1).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func normalizeExternalID(v string) (string, error) {
	switch {
	case v == "":
		return "", invalid(ExternalID, "empty")
	case len(v) > MaxExternalID:
		return "", invalid(ExternalID, fmt.Sprintf("longer than %d bytes", MaxExternalID))
	case hasControl(v):
		return "", invalid(ExternalID, "contains a control character")
	}
	return v, nil
}

func normalizeLogin(v string) (string, error) {
	v = strings.TrimSpace(norm.NFC.String(strings.TrimSpace(v)))
	switch {
	case v == "":
		return "", invalid(Login, "empty")
	case len(v) > MaxLogin:
		return "", invalid(Login, fmt.Sprintf("longer than %d bytes", MaxLogin))
	case hasControl(v):
		return "", invalid(Login, "contains a control character")
	}
	return v, nil
}

// atext is RFC 5322's set of ASCII characters allowed in a dot-atom besides
// letters and digits.
const atext = "!#$%&'*+-/=?^_`{|}~"

// wordRune reports whether r may appear in an internationalised local part or
// domain label beyond ASCII: letters, digits and combining marks, not
// symbols, spaces or invisible format characters.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

func normalizeEmail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", invalid(Email, "empty")
	}
	// Lower-case, then compose: the result is stable under both (see
	// FuzzNormalize), so normalising twice changes nothing.
	v = strings.TrimSpace(norm.NFC.String(strings.ToLower(v)))
	if len(v) > MaxEmail {
		return "", invalid(Email, fmt.Sprintf("longer than %d bytes", MaxEmail))
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return "", invalid(Email, "no @")
	}
	local, domain := v[:at], v[at+1:]
	if strings.IndexByte(local, '@') >= 0 {
		return "", invalid(Email, "more than one @ (quoted local parts are not supported)")
	}
	if err := checkLocal(local); err != nil {
		return "", err
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return v, nil
}

func checkLocal(local string) error {
	switch {
	case local == "":
		return invalid(Email, "nothing before the @")
	case len(local) > MaxEmailLocal:
		return invalid(Email, fmt.Sprintf("the part before the @ is longer than %d bytes", MaxEmailLocal))
	case local[0] == '.' || local[len(local)-1] == '.':
		return invalid(Email, "the part before the @ starts or ends with a dot")
	case strings.Contains(local, ".."):
		return invalid(Email, "two dots in a row")
	}
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || strings.ContainsRune(atext, r)):
		case r >= utf8.RuneSelf && wordRune(r):
		case r == ' ' || unicode.IsSpace(r):
			return invalid(Email, "contains white space")
		case r == '"' || r == '(' || r == '<' || r == '[' || r == '\\':
			return invalid(Email, "quoted local parts, comments and display names are not supported; give the bare address")
		default:
			return invalid(Email, "the part before the @ contains a character not allowed in an address")
		}
	}
	return nil
}

func checkDomain(domain string) error {
	switch {
	case domain == "":
		return invalid(Email, "nothing after the @")
	case len(domain) > 253:
		return invalid(Email, "the domain is longer than 253 bytes")
	case strings.HasPrefix(domain, "["):
		return invalid(Email, "address literals ([1.2.3.4]) are not supported")
	case !strings.Contains(domain, "."):
		return invalid(Email, "the domain has no dot")
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if l == "" {
			return invalid(Email, "the domain has an empty label (two dots in a row, or a leading or trailing dot)")
		}
		if len(l) > 63 {
			return invalid(Email, "a domain label is longer than 63 bytes")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return invalid(Email, "a domain label starts or ends with a hyphen")
		}
		for _, r := range l {
			switch {
			case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-'):
			case r >= utf8.RuneSelf && wordRune(r):
			case unicode.IsSpace(r):
				return invalid(Email, "contains white space")
			default:
				return invalid(Email, "the domain contains a character not allowed in a host name")
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return invalid(Email, "the domain ends in a number (IP addresses are not supported)")
	}
	return nil
}

func normalizePhone(v, region string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", invalid(Phone, "empty")
	}
	if len(v) > maxPhoneInput {
		return "", invalid(Phone, fmt.Sprintf("longer than %d bytes", maxPhoneInput))
	}
	if hasControl(v) {
		return "", invalid(Phone, "contains a control character")
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = phonenumbers.UNKNOWN_REGION
	} else if !phonenumbers.GetSupportedRegions()[region] {
		return "", fmt.Errorf("%w: the default region %q is not an ISO 3166-1 alpha-2 code with a telephone numbering plan (e.g. NO, DE, GB)", ErrInvalid, region)
	}
	num, err := phonenumbers.Parse(v, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode) && region == phonenumbers.UNKNOWN_REGION && !strings.HasPrefix(v, "+"):
			return "", invalid(Phone, "a number without a country code needs a default region (the policy's controller country); or write it in international format, starting with +")
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", invalid(Phone, "unknown country calling code")
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", invalid(Phone, "too short")
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", invalid(Phone, "too long")
		}
		return "", invalid(Phone, "not a phone number")
	}
	if num.GetExtension() != "" {
		return "", invalid(Phone, "extensions are not supported; give the number without one")
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", invalid(Phone, "not a possible number for its country (wrong length)")
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", invalid(Phone, "not a valid number for its country")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
