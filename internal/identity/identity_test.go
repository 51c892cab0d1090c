package identity

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", 64)
	cases := []struct {
		kind, in, region string
		want             string // "" with errHas set: an error
		errHas           string
	}{
		// email
		{kind: Email, in: "alice@example.com", want: "alice@example.com"},
		{kind: Email, in: "  Alice.Smith@Example.COM \n", want: "alice.smith@example.com"},
		{kind: Email, in: "ALICE+news@example.co.uk", want: "alice+news@example.co.uk"},
		{kind: Email, in: "o'brien@example.ie", want: "o'brien@example.ie"},
		{kind: Email, in: "x_y-z!#$%&*/=?^`{|}~@sub-domain.example.org", want: "x_y-z!#$%&*/=?^`{|}~@sub-domain.example.org"},
		{kind: Email, in: "Ærlig@Blåbær.NO", want: "ærlig@blåbær.no"},
		{kind: Email, in: "Jose\u0301@example.com", want: "josé@example.com"}, // decomposed → NFC
		{kind: Email, in: "用户@例子.广告", want: "用户@例子.广告"},
		{kind: Email, in: "a@xn--bcher-kva.de", want: "a@xn--bcher-kva.de"},
		{kind: Email, in: long + "@example.com", want: long + "@example.com"},
		{kind: Email, in: "", errHas: "empty"},
		{kind: Email, in: "   ", errHas: "empty"},
		{kind: Email, in: "alice", errHas: "no @"},
		{kind: Email, in: "@example.com", errHas: "nothing before the @"},
		{kind: Email, in: "alice@", errHas: "nothing after the @"},
		{kind: Email, in: "a@b@example.com", errHas: "more than one @"},
		{kind: Email, in: `"a b"@example.com`, errHas: "quoted"},
		{kind: Email, in: "Alice <alice@example.com>", errHas: "white space"},
		{kind: Email, in: "<alice@example.com>", errHas: "not supported"},
		{kind: Email, in: "alice smith@example.com", errHas: "white space"},
		{kind: Email, in: ".alice@example.com", errHas: "starts or ends with a dot"},
		{kind: Email, in: "alice.@example.com", errHas: "starts or ends with a dot"},
		{kind: Email, in: "al..ice@example.com", errHas: "two dots"},
		{kind: Email, in: "alice@localhost", errHas: "no dot"},
		{kind: Email, in: "alice@example..com", errHas: "empty label"},
		{kind: Email, in: "alice@.example.com", errHas: "empty label"},
		{kind: Email, in: "alice@example.com.", errHas: "empty label"},
		{kind: Email, in: "alice@-example.com", errHas: "hyphen"},
		{kind: Email, in: "alice@exa_mple.com", errHas: "not allowed in a host name"},
		{kind: Email, in: "alice@[192.0.2.1]", errHas: "address literals"},
		{kind: Email, in: "alice@192.0.2.1", errHas: "ends in a number"},
		{kind: Email, in: "ali\x00ce@example.com", errHas: "not allowed"},
		{kind: Email, in: "ali\u200bce@example.com", errHas: "not allowed"}, // zero-width space
		{kind: Email, in: "alice@exam\u200bple.com", errHas: "not allowed in a host name"},
		{kind: Email, in: "ali\xffce@example.com", errHas: "UTF-8"},
		{kind: Email, in: long + "a@example.com", errHas: "longer than 64"},
		{kind: Email, in: "a@" + strings.Repeat("b", 64) + ".com", errHas: "longer than 63"},
		{kind: Email, in: "a@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "com", errHas: "longer than 254"},
		{kind: Email, in: strings.Repeat("a", 2000), errHas: "longer than 1024"},

		// phone
		{kind: Phone, in: "+47 22 12 34 56", want: "+4722123456"},
		{kind: Phone, in: "22 12 34 56", region: "NO", want: "+4722123456"},
		{kind: Phone, in: "22 12 34 56", region: "no", want: "+4722123456"},
		{kind: Phone, in: "0047 22123456", region: "DE", want: "+4722123456"},
		{kind: Phone, in: "(650) 253-0000", region: "US", want: "+16502530000"},
		{kind: Phone, in: "+1 650-253-0000", region: "GB", want: "+16502530000"},
		{kind: Phone, in: "020 7946 0018", region: "GB", want: "+442079460018"},
		{kind: Phone, in: "030 123456", region: "DE", want: "+4930123456"},
		{kind: Phone, in: "tel:+33-1-42-68-53-00", want: "+33142685300"},
		{kind: Phone, in: "+4722123456", region: "US", want: "+4722123456"},
		{kind: Phone, in: "22 12 34 56", errHas: "needs a default region"},
		{kind: Phone, in: "+47 22", errHas: "possible"},
		{kind: Phone, in: "+47 1234 5678", errHas: "not a valid number"},
		{kind: Phone, in: "+1 650-253-0000 ext. 123", errHas: "extensions"},
		{kind: Phone, in: "+999 1234567", errHas: "country calling code"},
		{kind: Phone, in: "hello", region: "NO", errHas: "not a phone number"},
		{kind: Phone, in: "", errHas: "empty"},
		{kind: Phone, in: "+47 22 12 34 56", region: "XX", errHas: "default region"},
		{kind: Phone, in: "+47 22 12 34 56", region: "NOR", errHas: "default region"},
		{kind: Phone, in: "+47\x0022123456", errHas: "control"},
		{kind: Phone, in: "+47 " + strings.Repeat("2", 70), errHas: "longer than 64"},

		// external_id
		{kind: ExternalID, in: "cus_12345", want: "cus_12345"},
		{kind: ExternalID, in: " Case Kept ", want: " Case Kept "},
		{kind: ExternalID, in: "ユーザー/42", want: "ユーザー/42"},
		{kind: ExternalID, in: strings.Repeat("x", 256), want: strings.Repeat("x", 256)},
		{kind: ExternalID, in: "", errHas: "empty"},
		{kind: ExternalID, in: strings.Repeat("x", 257), errHas: "longer than 256"},
		{kind: ExternalID, in: "a\nb", errHas: "control"},
		{kind: ExternalID, in: "a\x7fb", errHas: "control"},
		{kind: ExternalID, in: "a\u0085b", errHas: "control"},
		{kind: ExternalID, in: "a\xc3", errHas: "UTF-8"},

		// login
		{kind: Login, in: "  Alice ", want: "Alice"},
		{kind: Login, in: "Jose\u0301", want: "José"},
		{kind: Login, in: "alice smith", want: "alice smith"},
		{kind: Login, in: "", errHas: "empty"},
		{kind: Login, in: " \t ", errHas: "empty"},
		{kind: Login, in: "al\tice", errHas: "control"},
		{kind: Login, in: strings.Repeat("é", 129), errHas: "longer than 256"},

		// kind
		{kind: "sso", in: "x", errHas: "unknown identifier kind"},
		{kind: "", in: "x", errHas: "unknown identifier kind"},
	}
	for _, c := range cases {
		got, err := Normalize(c.kind, c.in, c.region)
		if c.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("Normalize(%s, %q, %q) = %q, %v; want an error containing %q", c.kind, c.in, c.region, got, err, c.errHas)
				continue
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownKind) {
				t.Errorf("Normalize(%s, %q): error %v matches neither ErrInvalid nor ErrUnknownKind", c.kind, c.in, err)
			}
			// The error must not repeat the (personal) value.
			if len(c.in) >= 4 && strings.Contains(err.Error(), strings.TrimSpace(c.in)) {
				t.Errorf("Normalize(%s, %q): error %q repeats the value", c.kind, c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%s, %q, %q) = %q, %v; want %q", c.kind, c.in, c.region, got, err, c.want)
			continue
		}
		if again, err := Normalize(c.kind, got, c.region); err != nil || again != got {
			t.Errorf("Normalize(%s, %q) is not idempotent: %q, %v", c.kind, got, again, err)
		}
	}
}

// FuzzNormalize: Normalize never panics, its output is valid, and it is
// idempotent: normalising a normalised value returns it unchanged (for
// phone numbers, whatever the default region, as E.164 carries its country).
func FuzzNormalize(f *testing.F) {
	seeds := []struct{ kind, value, region string }{
		{Email, "Alice@Example.com", ""},
		{Email, "Jose\u0301@EXAMPLE.com", ""},
		{Email, "İSTANBUL@örnek.com.tr", ""},
		{Email, "\u212a@example.com", ""}, // Kelvin sign lower-cases to k
		{Email, "ǅ@example.com", ""},
		{Email, "a\u0345\u0313@example.com", ""},
		{Email, "a@b.c", ""},
		{Phone, "+47 22 12 34 56", ""},
		{Phone, "22 12 34 56", "NO"},
		{Phone, "(650) 253-0000", "US"},
		{Phone, "1-800-FLOWERS", "US"},
		{Phone, "+1 650 253 0000 x12", ""},
		{Phone, "0047 22123456", "DE"},
		{ExternalID, "cus_123", ""},
		{ExternalID, "\x00", ""},
		{Login, " Ｆｕｌｌwidth ", ""},
		{Login, "\u2000a\u0301\u2001", ""},
		{"other", "x", ""},
	}
	kindIndex := func(kind string) uint8 {
		for i, k := range Kinds {
			if k == kind {
				return uint8(i)
			}
		}
		return uint8(len(Kinds))
	}
	for _, s := range seeds {
		f.Add(kindIndex(s.kind), s.value, s.region)
	}
	// The kind is chosen by index so the fuzzer spends its time on values
	// of real kinds rather than on inventing kind names.
	f.Fuzz(func(t *testing.T, k uint8, value, region string) {
		kind := "unknown"
		if i := int(k) % (len(Kinds) + 1); i < len(Kinds) {
			kind = Kinds[i]
		}
		out, err := Normalize(kind, value, region)
		if err != nil {
			if out != "" {
				t.Fatalf("error %v with output %q", err, out)
			}
			return
		}
		if !utf8.ValidString(out) || hasControl(out) || out == "" {
			t.Fatalf("Normalize(%q, %q, %q) = %q: invalid output", kind, value, region, out)
		}
		again, err := Normalize(kind, out, region)
		if err != nil || again != out {
			t.Fatalf("not idempotent: Normalize(%q, %q, %q) = %q, then %q, %v", kind, value, region, out, again, err)
		}
		switch kind {
		case Phone:
			if !strings.HasPrefix(out, "+") {
				t.Fatalf("phone %q is not E.164", out)
			}
			if bare, err := Normalize(kind, out, ""); err != nil || bare != out {
				t.Fatalf("E.164 %q depends on the region: %q, %v", out, bare, err)
			}
		case Email:
			if len(out) > MaxEmail || strings.Count(out, "@") != 1 {
				t.Fatalf("email %q breaks its limits", out)
			}
		case ExternalID:
			if out != value {
				t.Fatalf("external id changed: %q → %q", value, out)
			}
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct{ kind, value, region string }{
		{Email, "  Alice.Smith@Example.COM ", ""},
		{Phone, "+47 22 12 34 56", ""},
		{Phone, "22 12 34 56", "NO"},
		{ExternalID, "cus_1234567890", ""},
		{Login, "alice", ""},
	} {
		b.Run(c.kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(c.kind, c.value, c.region); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
