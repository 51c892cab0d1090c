package keys

import (
	"path/filepath"

	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// KeyStoreFile is the name of the key store's SQLite file, kept next to the
// data file so that the two are easy to back up, and to keep, separately.
const KeyStoreFile = "keys.db"

// DefaultKeyStoreDSN derives the key store's DSN from the data store's when
// the operator gives none: for SQLite, keys.db in the data file's directory
// (sqlite:DIR/trustee.db → sqlite:DIR/keys.db); for PostgreSQL, the same DSN
// (the key tables and their version table sit beside the data tables; give
// the key store its own schema, database or server to keep it out of data
// backups, see docs/security.md). It returns "" for a DSN that engines.Parse
// rejects, which opening then reports.
func DefaultKeyStoreDSN(dataDSN string) string {
	kind, target, err := engines.Parse(dataDSN)
	if err != nil {
		return ""
	}
	if kind == engines.Postgres {
		return target
	}
	name := KeyStoreFile
	if filepath.Base(target) == KeyStoreFile {
		name = "keys-" + KeyStoreFile // never the data file itself
	}
	return "sqlite:" + filepath.Join(filepath.Dir(target), name)
}
