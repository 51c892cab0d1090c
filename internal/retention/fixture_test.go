package retention_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/store/engines"
	"github.com/trustee-privacy/trustee/internal/store/storetest"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// clock is the injected clock every service of a fixture shares.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// T0 is when every fixture starts.
var T0 = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// stores names the two databases of a fixture, so a subprocess can open them.
type stores struct {
	Data, Keys string
}

type fixture struct {
	dsn     stores
	rootRaw []byte
	clk     *clock
	st      store.Store
	ks      store.KeyStore
	keys    *keys.Manager
	tenants *tenant.Service
	audit   *audit.Log
	vault   *vault.Service
	ret     *retention.Service
	tenant  string
	by      vault.Actor
	rby     retention.Actor
}

var engineDSNs = []struct {
	name string
	dsn  func(t *testing.T) stores
}{
	{"sqlite", func(t *testing.T) stores {
		dir := t.TempDir()
		return stores{Data: "sqlite:" + filepath.Join(dir, "trustee.db"), Keys: "sqlite:" + filepath.Join(dir, "keys.db")}
	}},
	{"postgres", func(t *testing.T) stores {
		dsn := storetest.PostgresSchemaDSN(t)
		return stores{Data: dsn, Keys: dsn}
	}},
}

// forEngines runs fn on a fresh fixture per engine with the test policy
// applied at T0.
func forEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	forEnginesWith(t, "testdata/policy.yaml", fn)
}

func forEnginesWith(t *testing.T, policyFile string, fn func(t *testing.T, f *fixture)) {
	for _, e := range engineDSNs {
		t.Run(e.name, func(t *testing.T) {
			raw, err := keys.GenerateRootKey()
			if err != nil {
				t.Fatal(err)
			}
			f := openFixture(t, e.dsn(t), raw, T0)
			tn, err := f.tenants.Create(context.Background(), "ret", "Retention")
			if err != nil {
				t.Fatal(err)
			}
			f.tenant = tn.ID
			f.apply(t, policyFile)
			fn(t, f)
		})
	}
}

// openFixture opens both stores and builds the services on an injected clock
// starting at now.
func openFixture(t testing.TB, dsn stores, rootRaw []byte, now time.Time) *fixture {
	t.Helper()
	f, closeFn, err := buildFixture(dsn, rootRaw, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return f
}

// buildFixture is openFixture without a test, for the crash test's child
// process.
func buildFixture(dsn stores, rootRaw []byte, now time.Time) (*fixture, func(), error) {
	ctx := context.Background()
	root, err := keys.ParseRootKey(rootRaw)
	if err != nil {
		return nil, nil, err
	}
	st, err := engines.Open(ctx, dsn.Data, engines.Options{})
	if err != nil {
		return nil, nil, err
	}
	ks, err := engines.OpenKeyStore(ctx, dsn.Keys, engines.Options{})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	clk := &clock{t: now}
	f := &fixture{dsn: dsn, rootRaw: rootRaw, clk: clk, st: st, ks: ks,
		by:  vault.Actor{ID: "apikey:test", Role: "service", RequestID: "req-1"},
		rby: retention.Actor{ID: "apikey:dpo", Role: "dpo", RequestID: "req-2"}}
	f.keys = keys.NewManager(root, ks, keys.ManagerOptions{Now: clk.Now})
	f.tenants = &tenant.Service{Store: st, Now: clk.Now}
	f.audit = audit.New(audit.Options{Shards: audit.ShardsFor(st.Engine()), Keys: f.keys, Now: clk.Now})
	f.vault = &vault.Service{Store: st, Keys: f.keys, Audit: f.audit, Tenants: f.tenants, Now: clk.Now}
	f.ret = &retention.Service{Store: st, Tenants: f.tenants, Keys: f.keys, Audit: f.audit, Now: clk.Now, Batch: 50,
		EraseSubject: func(ctx context.Context, tenantID, subjectID string) error {
			_, err := f.vault.Erase(ctx, tenantID, subjectID, vault.Actor{ID: "system:retention", Role: "system"})
			return err
		}}
	return f, func() { st.Close(); ks.Close() }, nil
}

func (f *fixture) apply(t testing.TB, file string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tenants.Apply(context.Background(), f.tenant, filepath.Base(file), src, "test"); err != nil {
		t.Fatal(err)
	}
}

// person creates a subject with every field; n makes its identities unique.
func (f *fixture) person(t testing.TB, n int, extra ...func(*vault.CreateInput)) string {
	t.Helper()
	in := vault.CreateInput{Fields: map[string]json.RawMessage{
		"name":     json.RawMessage(`"Person ` + itoa(n) + `"`),
		"email":    json.RawMessage(`"person` + itoa(n) + `@example.org"`),
		"phone":    json.RawMessage(`"+47` + itoa(90000000+n) + `"`),
		"nickname": json.RawMessage(`"p` + itoa(n) + `"`),
	}}
	for _, fn := range extra {
		fn(&in)
	}
	c, err := f.vault.Create(context.Background(), f.tenant, in, f.by)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// record appends a record collected at the given time.
func (f *fixture) record(t testing.TB, subject, coll, data string, at time.Time) string {
	t.Helper()
	r, err := f.vault.AppendRecord(context.Background(), f.tenant, subject, coll, json.RawMessage(data), "", at, f.by)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// sweep runs a full sweep and fails the test on error.
func (f *fixture) sweep(t testing.TB) retention.Result {
	t.Helper()
	r, err := f.ret.Sweep(context.Background(), f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete {
		t.Fatalf("sweep incomplete: %+v", r)
	}
	return r
}

// fields returns the names of the subject's stored fields.
func (f *fixture) fields(t testing.TB, subject string) []string {
	t.Helper()
	var out []string
	err := f.st.Read(context.Background(), func(tx store.Tx) error {
		fs, err := tx.GetFields(f.tenant, subject)
		for _, fv := range fs {
			out = append(out, fv.Field)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// records returns the ids of the subject's records in a collection.
func (f *fixture) records(t testing.TB, subject, coll string) []string {
	t.Helper()
	var out []string
	err := f.st.Read(context.Background(), func(tx store.Tx) error {
		rs, err := tx.ListRecords(f.tenant, subject, coll, "", 1000)
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) subject(t testing.TB, id string) store.Subject {
	t.Helper()
	var s store.Subject
	err := f.st.Read(context.Background(), func(tx store.Tx) (err error) { s, err = tx.GetSubject(f.tenant, id); return err })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// events returns the audit events of an action (of one subject, if given),
// oldest first.
func (f *fixture) events(t testing.TB, action, subject string) []audit.StoredEvent {
	t.Helper()
	var out []audit.StoredEvent
	flt := audit.Filter{Action: action, SubjectID: subject, Limit: 1000}
	for {
		p, err := audit.List(context.Background(), f.st, f.tenant, flt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Events...)
		if p.NextCursor == "" {
			break
		}
		flt.Cursor = p.NextCursor
	}
	slices.Reverse(out)
	return out
}

// lookup finds a subject by email for the service purpose; "" if none.
func (f *fixture) lookup(t testing.TB, kind, value string) string {
	t.Helper()
	v, err := f.vault.Lookup(context.Background(), f.tenant, kind, value, "service", f.by)
	if err != nil {
		return ""
	}
	return v.ID
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func eq(a, b []string) bool { return slices.Equal(sorted(a), sorted(b)) }

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
