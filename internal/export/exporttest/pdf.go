// Package exporttest holds helpers for tests that read Trustee's exports.
package exporttest

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// PDFText decrypts an export's PDF with its password, checks it is a
// valid PDF and returns the text of its content streams (fpdf writes UTF-8
// text as UTF-16BE literal strings), so tests can assert what a person
// reading it would see. It fails the test if the password does not open it.
func PDFText(t testing.TB, pdf []byte, pw string) string {
	t.Helper()
	conf := model.NewAESConfiguration(pw, pw, 256)
	var dec bytes.Buffer
	if err := api.Decrypt(bytes.NewReader(pdf), &dec, conf); err != nil {
		t.Fatalf("decrypt with the password: %v", err)
	}
	if err := api.Validate(bytes.NewReader(dec.Bytes()), model.NewDefaultConfiguration()); err != nil {
		t.Fatalf("decrypted PDF is invalid: %v", err)
	}
	var out strings.Builder
	err := api.ExtractContent(bytes.NewReader(dec.Bytes()), nil, func(r io.Reader, page int) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		out.WriteString(literalText(b))
		return nil
	}, model.NewDefaultConfiguration())
	if err != nil {
		t.Fatalf("extract content: %v", err)
	}
	return out.String()
}

func literalText(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '(' {
			continue
		}
		var raw []byte
		for i++; i < len(b) && b[i] != ')'; i++ {
			if b[i] == '\\' && i+1 < len(b) {
				i++
				switch b[i] {
				case 'r':
					raw = append(raw, '\r')
				case 'n':
					raw = append(raw, '\n')
				default:
					raw = append(raw, b[i])
				}
				continue
			}
			raw = append(raw, b[i])
		}
		if len(raw)%2 == 0 {
			u := make([]uint16, len(raw)/2)
			for j := range u {
				u[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
			}
			out.WriteString(string(utf16.Decode(u)))
		} else {
			out.Write(raw)
		}
		out.WriteByte('\n')
	}
	return out.String()
}
