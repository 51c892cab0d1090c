package engines_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
)

func TestParse(t *testing.T) {
	cases := []struct {
		dsn    string
		kind   engines.Kind
		target string
		errHas string
	}{
		{dsn: "sqlite:/var/lib/trustee/data.db", kind: engines.SQLite, target: "/var/lib/trustee/data.db"},
		{dsn: "sqlite:data.db", kind: engines.SQLite, target: "data.db"},
		{dsn: "sqlite:///var/lib/data.db", kind: engines.SQLite, target: "/var/lib/data.db"},
		{dsn: "file:/tmp/x.db", kind: engines.SQLite, target: "/tmp/x.db"},
		{dsn: "file:///tmp/x.db", kind: engines.SQLite, target: "/tmp/x.db"},
		{dsn: "SQLite:x.db", kind: engines.SQLite, target: "x.db"},
		{dsn: "/var/lib/trustee/data.db", kind: engines.SQLite, target: "/var/lib/trustee/data.db"},
		{dsn: "./data.db", kind: engines.SQLite, target: "./data.db"},
		{dsn: "data.db", kind: engines.SQLite, target: "data.db"},
		{dsn: "  data.db ", kind: engines.SQLite, target: "data.db"},
		{dsn: "postgres://u:p@127.0.0.1/test?search_path=t", kind: engines.Postgres, target: "postgres://u:p@127.0.0.1/test?search_path=t"},
		{dsn: "postgresql://127.0.0.1/test", kind: engines.Postgres, target: "postgresql://127.0.0.1/test"},
		{dsn: "", errHas: "empty DSN"},
		{dsn: "mysql://root:hunter2@db/trustee", errHas: `unsupported DSN scheme "mysql"`},
		{dsn: "redis:localhost", errHas: `unsupported DSN scheme "redis"`},
		{dsn: "host=db user=postgres password=hunter2", errHas: "key=value"},
	}
	for _, c := range cases {
		t.Run(c.dsn, func(t *testing.T) {
			kind, target, err := engines.Parse(c.dsn)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("error = %v, want one containing %q", err, c.errHas)
				}
				if !strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %q should list the supported forms and never repeat the DSN", err)
				}
				return
			}
			if err != nil || kind != c.kind || target != c.target {
				t.Fatalf("Parse = %q, %q, %v; want %q, %q", kind, target, err, c.kind, c.target)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			if s.Engine() != e.Name {
				t.Fatalf("Engine() = %q", s.Engine())
			}
		})
	}
}

// TestSchemas: the data schema opens as a store.Store; the key schema is
// refused by Open and opens with OpenDB or OpenKeyStore; an unknown schema is
// refused with the sets this build has.
func TestSchemas(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "keys.db")
	if _, err := engines.Open(ctx, dsn, engines.Options{Schema: engines.SchemaKeys}); err == nil || !strings.Contains(err.Error(), "OpenDB") {
		t.Fatalf("Open(keys) = %v", err)
	}
	if _, err := engines.OpenDB(ctx, dsn, engines.Options{Schema: "nope"}); err == nil || !strings.Contains(err.Error(), `unknown schema "nope"`) || !strings.Contains(err.Error(), "data, keys") {
		t.Fatalf("OpenDB(nope) = %v", err)
	}
	for _, schema := range []string{engines.SchemaData, engines.SchemaKeys} {
		db, err := engines.OpenDB(ctx, "sqlite:"+filepath.Join(t.TempDir(), schema+".db"), engines.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := db.Migrations(ctx); err != nil || !st.UpToDate() || st.Latest < 1 {
			t.Fatalf("%s migrations = %+v, %v", schema, st, err)
		}
		db.Close()
	}
	ks, err := engines.OpenKeyStore(ctx, dsn, engines.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if st, err := ks.Migrations(ctx); err != nil || !st.UpToDate() || ks.Engine() != "sqlite" {
		t.Fatalf("key store migrations = %+v, %v (%s)", st, err, ks.Engine())
	}
}
