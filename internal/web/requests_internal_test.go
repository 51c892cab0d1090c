package web

import "testing"

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"25", 2500, true}, {"25.5", 2550, true}, {"25.50", 2550, true}, {" 0.01 ", 1, true}, {"1000000", 100000000, true},
		{"1000000.01", 0, false}, {"", 0, false}, {"25,50", 0, false}, {"-5", 0, false}, {"+5", 0, false}, {"5.", 0, false},
		{".5", 0, false}, {"5.123", 0, false}, {"1e3", 0, false}, {"٣", 0, false}, {"12345678", 0, false},
	} {
		got, ok := parseMoney(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseMoney(%q) = %d, %t; want %d, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseMoney: any input is refused or read as a positive amount of at
// most 1 000 000.00 that prints back to the same number.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"25", "25.50", "0.1", "", "1.2.3", "9999999", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseMoney(s)
		if !ok {
			if n != 0 {
				t.Fatalf("refused %q but returned %d", s, n)
			}
			return
		}
		if n < 0 || n > 1_000_000_00 {
			t.Fatalf("%q read as %d", s, n)
		}
		back, ok2 := parseMoney(formatMoney(n))
		if !ok2 || back != n {
			t.Fatalf("%q: %d does not round-trip (%d, %t)", s, n, back, ok2)
		}
	})
}
