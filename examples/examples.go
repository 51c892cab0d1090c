// Package examples ships Trustee's example privacy policies inside the
// binary, so that `trustee demo` and the documentation can load complete,
// realistic policies on any machine without files next to the binary.
//
// The policies describe fictional companies and are written the way a data
// protection officer would write them; they double as the tutorial for the
// policy format, with comments on every key.
package examples

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// FS holds the example policies as YAML files at its root. It is exported
// for callers that want an fs.FS (for example to serve the files for
// download); most callers use Names and File.
//
//go:embed *.yaml
var FS embed.FS

// Names lists the example policies by name (the file name without the
// .yaml extension), sorted, so that a CLI can offer them as choices.
func Names() []string {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		// The embedded FS always has a root directory.
		panic("examples: reading embedded files: " + err.Error())
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	sort.Strings(names)
	return names
}

// File returns the YAML source of the named example (with or without the
// .yaml extension) and whether it exists. The returned slice is a copy the
// caller may modify.
func File(name string) ([]byte, bool) {
	name = strings.TrimSuffix(path.Base(name), ".yaml")
	b, err := FS.ReadFile(name + ".yaml")
	if err != nil {
		return nil, false
	}
	return b, true
}

// Files returns every example keyed by file name (for example
// "learning-saas.yaml"), which is also the name to pass to policy.Load so
// that error positions point at the right file.
func Files() map[string][]byte {
	out := make(map[string][]byte)
	for _, n := range Names() {
		b, _ := File(n)
		out[n+".yaml"] = b
	}
	return out
}
