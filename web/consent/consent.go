// Package consent embeds the cookie banner (consent.js and consent.css),
// which Trustee serves at /consent.js and /consent.css. The files are
// plain JavaScript and CSS, served as they are in the repository: no build
// step, no framework, nothing to install to change them.
package consent

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
)

//go:embed consent.js consent.css
var files embed.FS

// Files are the banner's files, by name.
var Files fs.FS = files

// Budget is the most the banner may weigh, JavaScript and CSS together,
// gzipped: a banner is loaded on every page of a website before anything
// else, so its size is every visitor's wait.
const Budget = 8 << 10

// File returns one embedded file.
func File(name string) ([]byte, bool) {
	b, err := files.ReadFile(name)
	return b, err == nil
}

// Asset is a file ready to serve: its bytes, a gzipped copy, and a strong
// ETag.
type Asset struct {
	Name        string
	ContentType string
	Body        []byte
	Gzip        []byte
	ETag        string
}

// Assets returns consent.js and consent.css ready to serve.
func Assets() []Asset {
	out := make([]Asset, 0, 2)
	for _, f := range []struct{ name, ct string }{
		{"consent.js", "text/javascript; charset=utf-8"},
		{"consent.css", "text/css; charset=utf-8"},
	} {
		b, _ := files.ReadFile(f.name)
		sum := sha256.Sum256(b)
		out = append(out, Asset{Name: f.name, ContentType: f.ct, Body: b, Gzip: gzipped(b),
			ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`})
	}
	return out
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// GzippedSize is the banner's weight as the budget counts it: both files
// gzipped at the best compression, added.
func GzippedSize() int {
	n := 0
	for _, a := range Assets() {
		n += len(a.Gzip)
	}
	return n
}
