package app

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// exportDir is where export files go when Options.ExportDir is empty: an
// "exports" directory beside an SQLite data file, else one under the
// system's temporary directory (set export_dir (TRUSTEE_EXPORT_DIR) explicitly on
// PostgreSQL deployments with several instances: they must share it).
func exportDir(o Options) string {
	if o.ExportDir != "" {
		return o.ExportDir
	}
	if kind, target, err := engines.Parse(o.DB); err == nil && kind == engines.SQLite && target != "" && !strings.HasPrefix(target, ":memory:") {
		return filepath.Join(filepath.Dir(target), "exports")
	}
	return filepath.Join(os.TempDir(), "trustee-exports")
}
