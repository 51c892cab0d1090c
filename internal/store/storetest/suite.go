package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Run runs the conformance suite against the engine open returns. Each
// subtest opens its own fresh store, so subtests run in parallel and never
// see each other's rows.
func Run(t *testing.T, open func(t testing.TB) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Migrations", testMigrations},
		{"Tenants", testTenants},
		{"TenantInvalid", testTenantInvalid},
		{"PolicyVersions", testPolicyVersions},
		{"PolicyVersionsConcurrent", testPolicyVersionsConcurrent},
		{"APIKeys", testAPIKeys},
		{"JobEnqueue", testJobEnqueue},
		{"JobDedupe", testJobDedupe},
		{"JobLifecycle", testJobLifecycle},
		{"JobExpiredLease", testJobExpiredLease},
		{"JobList", testJobList},
		{"JobClaimExclusive", testJobClaimExclusive},
		{"Leases", testLeases},
		{"Atomicity", testAtomicity},
		{"AtomicityConcurrent", testAtomicityConcurrent},
		{"OnCommit", testOnCommit},
		{"ReadSnapshot", testReadSnapshot},
		{"ReadOnly", testReadOnly},
		{"Nested", testNested},
		{"TxEscape", testTxEscape},
		{"Context", testContext},
		{"Concurrent64", testConcurrent64},
		{"Close", testClose},
	}
	for _, area := range areaSuites {
		tests = append(tests, area...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// areaCase is one conformance test of an area of the contract.
type areaCase = struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// areaSuites collects the conformance tests of later areas (vault, audit,
// controls...), each registered from its own file's init, so areas can grow
// without touching this list.
var areaSuites [][]areaCase

// ctx returns a context that ends well before the test binary's timeout, so
// a deadlock fails one test with a message instead of hanging the run.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func write(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(ctx(t), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func read(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Read(ctx(t), fn); err != nil {
		t.Fatalf("read: %v", err)
	}
}

// t0 is a fixed instant with sub-microsecond digits, to check that stored
// times come back truncated to microseconds, in UTC.
var t0 = time.Date(2025, 3, 30, 1, 30, 0, 123456789, time.FixedZone("CET", 3600))

func us(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// NewTenant creates a tenant with the given slug and returns it.
func NewTenant(t testing.TB, s store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: store.NewID(), Slug: slug, Name: "Tenant " + slug, Mode: "controller", CreatedAt: t0}
	write(t, s, func(tx store.Tx) error { return tx.CreateTenant(tn) })
	tn.CreatedAt = us(tn.CreatedAt)
	return tn
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func testMigrations(t *testing.T, s store.Store) {
	st, err := s.Migrations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpToDate() || st.Latest < 1 || st.Current != st.Latest {
		t.Fatalf("migrations = %+v, want current = latest >= 1", st)
	}
	if e := s.Engine(); e != "sqlite" && e != "postgres" {
		t.Fatalf("Engine() = %q", e)
	}
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func testTenants(t *testing.T, s store.Store) {
	b := NewTenant(t, s, "beta")
	a := NewTenant(t, s, "alpha")

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(a.ID)
		if err != nil {
			return err
		}
		if got != a {
			t.Errorf("GetTenant = %+v, want %+v", got, a)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
		}
		got, err = tx.GetTenantBySlug("beta")
		if err != nil {
			return err
		}
		if got != b {
			t.Errorf("GetTenantBySlug = %+v, want %+v", got, b)
		}
		list, err := tx.ListTenants()
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0] != a || list[1] != b {
			t.Errorf("ListTenants = %+v, want [alpha beta]", list)
		}
		return nil
	})

	cases := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"get unknown id", func(tx store.Tx) error { _, err := tx.GetTenant(store.NewID()); return err }, store.ErrNotFound},
		{"get unknown slug", func(tx store.Tx) error { _, err := tx.GetTenantBySlug("gamma"); return err }, store.ErrNotFound},
		{"duplicate id", func(tx store.Tx) error {
			return tx.CreateTenant(store.Tenant{ID: a.ID, Slug: "other", Name: "x", Mode: "controller"})
		}, store.ErrConflict},
		{"duplicate slug", func(tx store.Tx) error {
			return tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "alpha", Name: "x", Mode: "controller"})
		}, store.ErrConflict},
		{"update mode of unknown", func(tx store.Tx) error { return tx.UpdateTenantMode(store.NewID(), "processor") }, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, s.Write(ctx(t), c.fn), c.want)
		})
	}

	write(t, s, func(tx store.Tx) error { return tx.UpdateTenantMode(a.ID, "processor") })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(a.ID)
		if err == nil && got.Mode != "processor" {
			t.Errorf("mode = %q after update", got.Mode)
		}
		return err
	})
}

func testTenantInvalid(t *testing.T, s store.Store) {
	valid := store.Tenant{ID: store.NewID(), Slug: "ok", Name: "OK", Mode: "controller"}
	cases := []struct {
		name   string
		modify func(*store.Tenant)
	}{
		{"empty id", func(tn *store.Tenant) { tn.ID = "" }},
		{"empty slug", func(tn *store.Tenant) { tn.Slug = "" }},
		{"upper-case slug", func(tn *store.Tenant) { tn.Slug = "Acme" }},
		{"slug with leading dash", func(tn *store.Tenant) { tn.Slug = "-acme" }},
		{"slug with space", func(tn *store.Tenant) { tn.Slug = "ac me" }},
		{"slug too long", func(tn *store.Tenant) { tn.Slug = "a" + string(bytes.Repeat([]byte("b"), 63)) }},
		{"unknown mode", func(tn *store.Tenant) { tn.Mode = "owner" }},
		{"empty mode", func(tn *store.Tenant) { tn.Mode = "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn := valid
			c.modify(&tn)
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.CreateTenant(tn) }), store.ErrInvalid)
		})
	}
	wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.UpdateTenantMode(valid.ID, "bogus") }), store.ErrInvalid)
	// The longest valid slug is accepted.
	write(t, s, func(tx store.Tx) error {
		tn := valid
		tn.Slug = "a" + string(bytes.Repeat([]byte("b"), 62))
		return tx.CreateTenant(tn)
	})
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListTenants()
		if err == nil && len(list) != 1 {
			t.Errorf("%d tenants after invalid inserts, want 1", len(list))
		}
		return err
	})
}

func policy(tenantID, hash string) *store.PolicyVersion {
	return &store.PolicyVersion{
		TenantID: tenantID, Hash: hash, Format: "yaml", Source: []byte("controller: {}\n# " + hash),
		Revision: "r-" + hash, EffectiveDate: "2025-01-01", AppliedAt: t0, AppliedBy: "cli",
	}
}

func testPolicyVersions(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "a")
	b := NewTenant(t, s, "b")

	read(t, s, func(tx store.Tx) error {
		_, err := tx.ActivePolicy(a.ID)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	var inserted []store.PolicyVersion
	for i, h := range []string{"sha256:1", "sha256:2", "sha256:3"} {
		v := policy(a.ID, h)
		write(t, s, func(tx store.Tx) error { return tx.InsertPolicyVersion(v) })
		if v.Version != i+1 {
			t.Fatalf("version %d got number %d", i+1, v.Version)
		}
		if !v.AppliedAt.Equal(us(t0)) || v.AppliedAt.Location() != time.UTC {
			t.Errorf("AppliedAt set to %v, want %v", v.AppliedAt, us(t0))
		}
		inserted = append(inserted, *v)
	}
	// Numbering is per tenant.
	vb := policy(b.ID, "sha256:b1")
	write(t, s, func(tx store.Tx) error { return tx.InsertPolicyVersion(vb) })
	if vb.Version != 1 {
		t.Fatalf("tenant b's first version is %d", vb.Version)
	}

	read(t, s, func(tx store.Tx) error {
		act, err := tx.ActivePolicy(a.ID)
		if err != nil {
			return err
		}
		if !equalPolicy(act, inserted[2]) {
			t.Errorf("ActivePolicy = %+v, want %+v", act, inserted[2])
		}
		v2, err := tx.GetPolicyVersion(a.ID, 2)
		if err != nil {
			return err
		}
		if !equalPolicy(v2, inserted[1]) {
			t.Errorf("GetPolicyVersion(2) = %+v, want %+v", v2, inserted[1])
		}
		list, err := tx.ListPolicyVersions(a.ID)
		if err != nil {
			return err
		}
		if len(list) != 3 {
			t.Fatalf("ListPolicyVersions: %d versions", len(list))
		}
		for i, v := range list {
			want := inserted[2-i]
			want.Source = nil
			if v.Source != nil || !equalPolicy(v, want) {
				t.Errorf("list[%d] = %+v, want %+v without source", i, v, want)
			}
		}
		// Tenant scoping: b's id never returns a's versions.
		if _, err := tx.GetPolicyVersion(b.ID, 2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetPolicyVersion(b, 2) = %v, want not found", err)
		}
		if _, err := tx.GetPolicyVersion(a.ID, 4); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetPolicyVersion(a, 4) = %v, want not found", err)
		}
		lb, err := tx.ListPolicyVersions(b.ID)
		if err == nil && (len(lb) != 1 || lb[0].Hash != "sha256:b1") {
			t.Errorf("ListPolicyVersions(b) = %+v", lb)
		}
		return err
	})

	cases := []struct {
		name string
		v    *store.PolicyVersion
		want error
	}{
		{"unknown tenant", policy(store.NewID(), "sha256:x"), store.ErrNotFound},
		{"nil", nil, store.ErrInvalid},
		{"empty hash", policy(a.ID, ""), store.ErrInvalid},
		{"bad format", func() *store.PolicyVersion { v := policy(a.ID, "sha256:x"); v.Format = "toml"; return v }(), store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, s.Write(ctx(t), func(tx store.Tx) error { return tx.InsertPolicyVersion(c.v) }), c.want)
		})
	}
	// A failed insert leaves no gap.
	v := policy(a.ID, "sha256:4")
	write(t, s, func(tx store.Tx) error { return tx.InsertPolicyVersion(v) })
	if v.Version != 4 {
		t.Fatalf("after failed inserts the next version is %d, want 4", v.Version)
	}
}

func equalPolicy(a, b store.PolicyVersion) bool {
	return a.TenantID == b.TenantID && a.Version == b.Version && a.Hash == b.Hash && a.Format == b.Format &&
		bytes.Equal(a.Source, b.Source) && a.Revision == b.Revision && a.EffectiveDate == b.EffectiveDate &&
		a.AppliedAt.Equal(b.AppliedAt) && a.AppliedBy == b.AppliedBy
}

func testPolicyVersionsConcurrent(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "a")
	const workers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				v := policy(a.ID, fmt.Sprintf("sha256:%d-%d", w, i))
				if err := s.Write(ctx(t), func(tx store.Tx) error { return tx.InsertPolicyVersion(v) }); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent insert: %v", err)
	}
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListPolicyVersions(a.ID)
		if err != nil {
			return err
		}
		if len(list) != workers*each {
			t.Fatalf("%d versions, want %d", len(list), workers*each)
		}
		for i, v := range list {
			if want := workers*each - i; v.Version != want {
				t.Fatalf("list[%d].Version = %d, want %d (duplicates or gaps)", i, v.Version, want)
			}
		}
		return nil
	})
}

func testAPIKeys(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "a")
	b := NewTenant(t, s, "b")
	hash := bytes.Repeat([]byte{7}, 32)
	k1 := store.APIKey{ID: "key1", TenantID: a.ID, Role: "admin", Name: "first", SecretHash: hash,
		CreatedAt: t0, CreatedBy: "cli"}
	k2 := store.APIKey{ID: "key2", TenantID: a.ID, Role: "app", Name: "second", SecretHash: hash,
		CreatedAt: t0.Add(time.Second), CreatedBy: "cli", ExpiresAt: t0.Add(24 * time.Hour)}
	kb := store.APIKey{ID: "keyb", TenantID: b.ID, Role: "app", SecretHash: hash, CreatedAt: t0}
	write(t, s, func(tx store.Tx) error {
		for _, k := range []store.APIKey{k1, k2, kb} {
			if err := tx.CreateAPIKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	norm := func(k store.APIKey) store.APIKey {
		k.CreatedAt, k.ExpiresAt, k.RevokedAt = us(k.CreatedAt), zeroOrUS(k.ExpiresAt), zeroOrUS(k.RevokedAt)
		return k
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetAPIKey("key2")
		if err != nil {
			return err
		}
		if !equalKey(got, norm(k2)) {
			t.Errorf("GetAPIKey = %+v, want %+v", got, norm(k2))
		}
		list, err := tx.ListAPIKeys(a.ID)
		if err != nil {
			return err
		}
		if len(list) != 2 || !equalKey(list[0], norm(k2)) || !equalKey(list[1], norm(k1)) {
			t.Errorf("ListAPIKeys(a) = %+v, want [key2 key1]", list)
		}
		if _, err := tx.GetAPIKey("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAPIKey(nope) = %v", err)
		}
		return nil
	})

	revokeAt := t0.Add(time.Hour)
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate id", func(tx store.Tx) error { return tx.CreateAPIKey(k1) }, store.ErrConflict},
		{"duplicate id in another tenant", func(tx store.Tx) error { k := kb; k.ID = "key1"; return tx.CreateAPIKey(k) }, store.ErrConflict},
		{"unknown tenant", func(tx store.Tx) error { k := k1; k.ID, k.TenantID = "key9", store.NewID(); return tx.CreateAPIKey(k) }, store.ErrNotFound},
		{"empty id", func(tx store.Tx) error { k := k1; k.ID = ""; return tx.CreateAPIKey(k) }, store.ErrInvalid},
		{"empty secret hash", func(tx store.Tx) error { k := k1; k.ID, k.SecretHash = "key8", nil; return tx.CreateAPIKey(k) }, store.ErrInvalid},
		{"revoke unknown", func(tx store.Tx) error { return tx.RevokeAPIKey(a.ID, "nope", revokeAt) }, store.ErrNotFound},
		{"revoke another tenant's key", func(tx store.Tx) error { return tx.RevokeAPIKey(b.ID, "key1", revokeAt) }, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, s.Write(ctx(t), c.fn), c.want)
		})
	}

	write(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(a.ID, "key1", revokeAt) })
	write(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(a.ID, "key1", revokeAt.Add(time.Hour)) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetAPIKey("key1")
		if err != nil {
			return err
		}
		if !got.RevokedAt.Equal(us(revokeAt)) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, us(revokeAt))
		}
		got, err = tx.GetAPIKey("key2")
		if err == nil && !got.RevokedAt.IsZero() {
			t.Errorf("key2 revoked: %v", got.RevokedAt)
		}
		return err
	})
}

func zeroOrUS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return us(t)
}

func equalKey(a, b store.APIKey) bool {
	return a.ID == b.ID && a.TenantID == b.TenantID && a.Role == b.Role && a.Name == b.Name &&
		bytes.Equal(a.SecretHash, b.SecretHash) && a.CreatedAt.Equal(b.CreatedAt) && a.CreatedBy == b.CreatedBy &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.RevokedAt.Equal(b.RevokedAt)
}

func enqueue(t testing.TB, s store.Store, j store.Job) string {
	t.Helper()
	var id string
	write(t, s, func(tx store.Tx) error {
		var err error
		id, err = tx.EnqueueJob(j)
		return err
	})
	return id
}

func getJob(t testing.TB, s store.Store, id string) store.Job {
	t.Helper()
	var j store.Job
	read(t, s, func(tx store.Tx) error {
		var err error
		j, err = tx.GetJob(id)
		return err
	})
	return j
}

func claim(t testing.TB, s store.Store, owner string, kinds []string, now time.Time, lease time.Duration, limit int) []store.Job {
	t.Helper()
	var jobs []store.Job
	write(t, s, func(tx store.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(owner, kinds, now, now.Add(lease), limit)
		return err
	})
	return jobs
}

func ids(jobs []store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func testJobEnqueue(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	id := enqueue(t, s, store.Job{Kind: "mail.send", TenantID: "t1", Payload: []byte(`{"to":"x"}`)})
	j := getJob(t, s, id)
	if j.ID != id || j.Kind != "mail.send" || j.TenantID != "t1" || string(j.Payload) != `{"to":"x"}` ||
		j.Status != store.JobQueued || j.Attempts != 0 || j.MaxAttempts != 1 || j.LeaseOwner != "" ||
		!j.LeaseUntil.IsZero() || j.LastError != "" {
		t.Errorf("enqueued job = %+v", j)
	}
	if j.CreatedAt.Before(before) || !j.RunAt.Equal(j.CreatedAt) || !j.UpdatedAt.Equal(j.CreatedAt) {
		t.Errorf("defaults: created %v run %v updated %v", j.CreatedAt, j.RunAt, j.UpdatedAt)
	}
	// Explicit values are kept.
	id2 := store.NewID()
	got := enqueue(t, s, store.Job{ID: id2, Kind: "k", RunAt: t0, CreatedAt: t0, MaxAttempts: 7})
	if got != id2 {
		t.Fatalf("EnqueueJob returned %s, want the given id %s", got, id2)
	}
	j2 := getJob(t, s, id2)
	if !j2.RunAt.Equal(us(t0)) || j2.MaxAttempts != 7 || len(j2.Payload) != 0 {
		t.Errorf("job = %+v", j2)
	}
	cases := []struct {
		name string
		j    store.Job
		want error
	}{
		{"duplicate id", store.Job{ID: id2, Kind: "k"}, store.ErrConflict},
		{"empty kind", store.Job{}, store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Write(ctx(t), func(tx store.Tx) error { _, err := tx.EnqueueJob(c.j); return err })
			wantErr(t, err, c.want)
		})
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetJob(store.NewID())
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
}

func testJobDedupe(t *testing.T, s store.Store) {
	now := t0
	first := enqueue(t, s, store.Job{Kind: "sweep", Key: "tenant-1", RunAt: now})
	if again := enqueue(t, s, store.Job{Kind: "sweep", Key: "tenant-1", RunAt: now}); again != first {
		t.Fatalf("queued duplicate got id %s, want %s", again, first)
	}
	other := enqueue(t, s, store.Job{Kind: "other", Key: "tenant-1", RunAt: now})
	if other == first {
		t.Fatal("a different kind with the same key was deduplicated")
	}
	n1 := enqueue(t, s, store.Job{Kind: "sweep", RunAt: now})
	n2 := enqueue(t, s, store.Job{Kind: "sweep", RunAt: now})
	if n1 == n2 || n1 == first {
		t.Fatal("jobs without a key were deduplicated")
	}
	// Running counts as unfinished.
	jobs := claim(t, s, "w1", []string{"sweep"}, now, time.Minute, 10)
	if !slices.Contains(ids(jobs), first) {
		t.Fatalf("claim did not return %s: %v", first, ids(jobs))
	}
	if again := enqueue(t, s, store.Job{Kind: "sweep", Key: "tenant-1", RunAt: now}); again != first {
		t.Fatalf("duplicate of a running job got id %s, want %s", again, first)
	}
	// Once done, the key is free again.
	write(t, s, func(tx store.Tx) error { return tx.CompleteJob(first, "w1", now) })
	next := enqueue(t, s, store.Job{Kind: "sweep", Key: "tenant-1", RunAt: now})
	if next == first {
		t.Fatal("a finished job blocked its key")
	}
	// The same holds inside one transaction.
	write(t, s, func(tx store.Tx) error {
		a, err := tx.EnqueueJob(store.Job{Kind: "x", Key: "k"})
		if err != nil {
			return err
		}
		b, err := tx.EnqueueJob(store.Job{Kind: "x", Key: "k"})
		if err == nil && a != b {
			t.Errorf("same transaction: ids %s and %s", a, b)
		}
		return err
	})
}

func testJobLifecycle(t *testing.T, s store.Store) {
	now := t0
	due := enqueue(t, s, store.Job{Kind: "a", RunAt: now.Add(-time.Minute), MaxAttempts: 2})
	later := enqueue(t, s, store.Job{Kind: "a", RunAt: now.Add(time.Hour)})
	otherKind := enqueue(t, s, store.Job{Kind: "b", RunAt: now.Add(-time.Second)})

	// Kinds filter and RunAt.
	got := claim(t, s, "w1", []string{"a"}, now, time.Minute, 10)
	if !slices.Equal(ids(got), []string{due}) {
		t.Fatalf("claimed %v, want [%s]", ids(got), due)
	}
	j := got[0]
	if j.Status != store.JobRunning || j.Attempts != 1 || j.LeaseOwner != "w1" || !j.LeaseUntil.Equal(us(now.Add(time.Minute))) {
		t.Errorf("claimed job = %+v", j)
	}
	if again := claim(t, s, "w2", nil, now, time.Minute, 10); !slices.Equal(ids(again), []string{otherKind}) {
		t.Fatalf("second claim got %v, want only %s", ids(again), otherKind)
	}
	if none := claim(t, s, "w2", nil, now, time.Minute, 0); len(none) != 0 {
		t.Fatalf("limit 0 claimed %v", ids(none))
	}

	leaseCases := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"extend by other owner", func(tx store.Tx) error { return tx.ExtendJobLease(due, "w2", now.Add(time.Hour)) }},
		{"complete by other owner", func(tx store.Tx) error { return tx.CompleteJob(due, "w2", now) }},
		{"fail by other owner", func(tx store.Tx) error { return tx.FailJob(due, "w2", "x", now, time.Time{}) }},
		{"complete a queued job", func(tx store.Tx) error { return tx.CompleteJob(later, "w1", now) }},
		{"complete an unknown job", func(tx store.Tx) error { return tx.CompleteJob(store.NewID(), "w1", now) }},
	}
	for _, c := range leaseCases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, s.Write(ctx(t), c.fn), store.ErrLeaseLost)
		})
	}

	write(t, s, func(tx store.Tx) error { return tx.ExtendJobLease(due, "w1", now.Add(2*time.Minute)) })
	if j := getJob(t, s, due); !j.LeaseUntil.Equal(us(now.Add(2 * time.Minute))) {
		t.Errorf("extended lease = %v", j.LeaseUntil)
	}
	// Fail with a retry time: queued again at that time, lease cleared.
	retryAt := now.Add(30 * time.Second)
	write(t, s, func(tx store.Tx) error { return tx.FailJob(due, "w1", "boom", now, retryAt) })
	j = getJob(t, s, due)
	if j.Status != store.JobQueued || !j.RunAt.Equal(us(retryAt)) || j.LastError != "boom" || j.LeaseOwner != "" || !j.LeaseUntil.IsZero() || j.Attempts != 1 {
		t.Errorf("after FailJob with retry: %+v", j)
	}
	if early := claim(t, s, "w1", []string{"a"}, now.Add(10*time.Second), time.Minute, 10); len(early) != 0 {
		t.Fatalf("claimed before retry time: %v", ids(early))
	}
	got = claim(t, s, "w1", []string{"a"}, retryAt, time.Minute, 10)
	if !slices.Equal(ids(got), []string{due}) || got[0].Attempts != 2 {
		t.Fatalf("retry claim = %+v", got)
	}
	// Fail without a retry time: dead.
	write(t, s, func(tx store.Tx) error { return tx.FailJob(due, "w1", "boom again", retryAt, time.Time{}) })
	if j := getJob(t, s, due); j.Status != store.JobDead || j.LastError != "boom again" || j.LeaseOwner != "" {
		t.Errorf("after FailJob without retry: %+v", j)
	}
	// Complete.
	got = claim(t, s, "w3", []string{"a"}, now.Add(2*time.Hour), time.Minute, 10)
	if !slices.Equal(ids(got), []string{later}) {
		t.Fatalf("claimed %v, want [%s]", ids(got), later)
	}
	write(t, s, func(tx store.Tx) error { return tx.CompleteJob(later, "w3", now.Add(2*time.Hour)) })
	j = getJob(t, s, later)
	if j.Status != store.JobDone || j.LeaseOwner != "" || !j.UpdatedAt.Equal(us(now.Add(2*time.Hour))) {
		t.Errorf("completed job = %+v", j)
	}
	if again := claim(t, s, "w3", nil, now.Add(3*time.Hour), time.Minute, 10); len(again) != 0 {
		t.Fatalf("finished jobs claimed again: %v", ids(again))
	}
	// A long error is truncated, not refused.
	long := enqueue(t, s, store.Job{Kind: "long", RunAt: now})
	claim(t, s, "w4", []string{"long"}, now, time.Minute, 1)
	msg := string(bytes.Repeat([]byte("é"), 5000))
	write(t, s, func(tx store.Tx) error { return tx.FailJob(long, "w4", msg, now, time.Time{}) })
	if j := getJob(t, s, long); len(j.LastError) == 0 || len(j.LastError) > 2000 {
		t.Errorf("LastError of %d bytes stored as %d bytes", len(msg), len(j.LastError))
	}
}

func testJobExpiredLease(t *testing.T, s store.Store) {
	now := t0
	id := enqueue(t, s, store.Job{Kind: "a", RunAt: now, MaxAttempts: 2})
	claim(t, s, "crashed", nil, now, time.Minute, 1)
	// Not claimable while the lease holds.
	if got := claim(t, s, "w2", nil, now.Add(59*time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a leased job: %v", ids(got))
	}
	// Claimable once it expired; the old owner has lost it.
	later := now.Add(time.Minute)
	got := claim(t, s, "w2", nil, later, time.Minute, 10)
	if !slices.Equal(ids(got), []string{id}) || got[0].Attempts != 2 || got[0].LeaseOwner != "w2" {
		t.Fatalf("reclaim = %+v", got)
	}
	for _, fn := range []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.CompleteJob(id, "crashed", later) },
		func(tx store.Tx) error { return tx.ExtendJobLease(id, "crashed", later.Add(time.Hour)) },
		func(tx store.Tx) error { return tx.FailJob(id, "crashed", "x", later, later) },
	} {
		wantErr(t, s.Write(ctx(t), fn), store.ErrLeaseLost)
	}
	// An expired lease nobody reclaimed still belongs to its owner.
	write(t, s, func(tx store.Tx) error { return tx.ExtendJobLease(id, "w2", later.Add(2*time.Minute)) })
	// The second worker dies too, on the last allowed attempt: the job is
	// dead instead of claimable forever.
	got = claim(t, s, "w3", nil, later.Add(time.Hour), time.Minute, 10)
	if len(got) != 0 {
		t.Fatalf("claimed a job with no attempts left: %+v", got)
	}
	if j := getJob(t, s, id); j.Status != store.JobDead || j.LastError == "" || j.LeaseOwner != "" {
		t.Errorf("job after its last lease expired = %+v", j)
	}
}

func testJobList(t *testing.T, s store.Store) {
	var all []string
	for i := range 5 {
		tenant := "t1"
		if i%2 == 1 {
			tenant = "t2"
		}
		all = append(all, enqueue(t, s, store.Job{Kind: fmt.Sprintf("k%d", i%2), TenantID: tenant, RunAt: t0,
			CreatedAt: t0.Add(time.Duration(i) * time.Second)}))
	}
	claim(t, s, "w", []string{"k0"}, t0.Add(time.Hour), time.Minute, 1) // the oldest k0 job
	rev := slices.Clone(all)
	slices.Reverse(rev)
	cases := []struct {
		name string
		f    store.JobFilter
		want []string
	}{
		{"all newest first", store.JobFilter{}, rev},
		{"tenant", store.JobFilter{TenantID: "t2"}, []string{all[3], all[1]}},
		{"kind", store.JobFilter{Kind: "k0"}, []string{all[4], all[2], all[0]}},
		{"status", store.JobFilter{Status: store.JobRunning}, []string{all[0]}},
		{"combined", store.JobFilter{TenantID: "t1", Kind: "k0", Status: store.JobQueued}, []string{all[4], all[2]}},
		{"limit", store.JobFilter{Limit: 2}, rev[:2]},
		{"no match", store.JobFilter{TenantID: "t3"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			read(t, s, func(tx store.Tx) error {
				got, err := tx.ListJobs(c.f)
				if err == nil && !slices.Equal(ids(got), c.want) {
					t.Errorf("ListJobs(%+v) = %v, want %v", c.f, ids(got), c.want)
				}
				return err
			})
		})
	}
	err := s.Read(ctx(t), func(tx store.Tx) error { _, err := tx.ListJobs(store.JobFilter{Status: "bogus"}); return err })
	wantErr(t, err, store.ErrInvalid)
}

func testJobClaimExclusive(t *testing.T, s store.Store) {
	const jobs, workers = 200, 8
	write(t, s, func(tx store.Tx) error {
		for i := range jobs {
			if _, err := tx.EnqueueJob(store.Job{Kind: "x", RunAt: t0, CreatedAt: t0.Add(time.Duration(i))}); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	owners := map[string]string{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			for {
				var got []store.Job
				err := s.Write(ctx(t), func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimJobs(owner, []string{"x"}, t0, t0.Add(time.Hour), 5)
					return err
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					if prev, dup := owners[j.ID]; dup {
						t.Errorf("job %s claimed by %s and %s", j.ID, prev, owner)
					}
					owners[j.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owners) != jobs {
		t.Fatalf("%d jobs claimed, want %d", len(owners), jobs)
	}
}

func testLeases(t *testing.T, s store.Store) {
	now := t0
	acquire := func(owner string, at time.Time, d time.Duration) bool {
		t.Helper()
		var ok bool
		write(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.AcquireLease("sweep", owner, at, at.Add(d))
			return err
		})
		return ok
	}
	steps := []struct {
		name  string
		owner string
		at    time.Time
		want  bool
	}{
		{"free lease is taken", "a", now, true},
		{"held lease is refused", "b", now.Add(30 * time.Second), false},
		{"owner renews", "a", now.Add(30 * time.Second), true},
		{"still held after renewal", "b", now.Add(80 * time.Second), false},
		{"expired lease is taken", "b", now.Add(90 * time.Second), true},
		{"old owner refused", "a", now.Add(100 * time.Second), false},
	}
	for _, st := range steps {
		if got := acquire(st.owner, st.at, time.Minute); got != st.want {
			t.Fatalf("%s: AcquireLease(%s) = %v, want %v", st.name, st.owner, got, st.want)
		}
	}
	// Release by a non-holder does nothing; by the holder frees it.
	write(t, s, func(tx store.Tx) error { return tx.ReleaseLease("sweep", "a") })
	if acquire("a", now.Add(100*time.Second), time.Minute) {
		t.Fatal("release by a non-holder freed the lease")
	}
	write(t, s, func(tx store.Tx) error { return tx.ReleaseLease("sweep", "b") })
	if !acquire("a", now.Add(100*time.Second), time.Minute) {
		t.Fatal("released lease not free")
	}
	// Leases are independent by name.
	write(t, s, func(tx store.Tx) error {
		ok, err := tx.AcquireLease("other", "b", now, now.Add(time.Minute))
		if err == nil && !ok {
			t.Error("another lease name was blocked")
		}
		return err
	})
	err := s.Write(ctx(t), func(tx store.Tx) error { _, err := tx.AcquireLease("x", "a", now, now); return err })
	wantErr(t, err, store.ErrInvalid)
}

func countTenants(t testing.TB, s store.Store) int {
	t.Helper()
	var n int
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListTenants()
		n = len(list)
		return err
	})
	return n
}

func testAtomicity(t *testing.T, s store.Store) {
	errBoom := errors.New("boom")
	cases := []struct {
		name  string
		after func(tx store.Tx) error
		check func(t *testing.T, err error)
	}{
		{"error", func(store.Tx) error { return errBoom }, func(t *testing.T, err error) { wantErr(t, err, errBoom) }},
		{"panic", func(store.Tx) error { panic("kaboom") }, func(t *testing.T, err error) {
			if err == nil {
				t.Fatal("a panicking function returned nil")
			}
		}},
		{"store error ignored then error", func(tx store.Tx) error {
			_ = tx.CreateTenant(store.Tenant{ID: "dup", Slug: "dup", Name: "x", Mode: "controller"}) // conflicts with the first insert
			return errBoom
		}, func(t *testing.T, err error) { wantErr(t, err, errBoom) }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hook := false
			err := s.Write(ctx(t), func(tx store.Tx) error {
				if err := tx.CreateTenant(store.Tenant{ID: "dup", Slug: "dup", Name: "x", Mode: "controller"}); err != nil {
					return err
				}
				if _, err := tx.EnqueueJob(store.Job{Kind: fmt.Sprint("k", i)}); err != nil {
					return err
				}
				tx.OnCommit(func() { hook = true })
				return c.after(tx)
			})
			c.check(t, err)
			if hook {
				t.Error("OnCommit ran for a rolled back write")
			}
			if n := countTenants(t, s); n != 0 {
				t.Errorf("%d tenants persisted", n)
			}
			read(t, s, func(tx store.Tx) error {
				jobs, err := tx.ListJobs(store.JobFilter{})
				if err == nil && len(jobs) != 0 {
					t.Errorf("%d jobs persisted", len(jobs))
				}
				return err
			})
		})
	}
	// A store error the function handles does not spoil what it does next.
	NewTenant(t, s, "taken")
	write(t, s, func(tx store.Tx) error {
		err := tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "taken", Name: "x", Mode: "controller"})
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("want conflict, got %v", err)
		}
		return tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "free", Name: "x", Mode: "controller"})
	})
	if n := countTenants(t, s); n != 2 {
		t.Errorf("%d tenants, want 2", n)
	}
}

// testAtomicityConcurrent runs failing, panicking and succeeding writes at
// once, so on SQLite they share commit groups: only the failures roll back.
func testAtomicityConcurrent(t *testing.T, s store.Store) {
	const n = 96
	var wg sync.WaitGroup
	var okCount atomic.Int64
	for i := range n {
		wg.Go(func() {
			slug := fmt.Sprintf("t%03d", i)
			err := s.Write(ctx(t), func(tx store.Tx) error {
				if err := tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: slug, Name: slug, Mode: "controller"}); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errors.New("refused")
				case 2:
					panic("kaboom " + slug)
				}
				return nil
			})
			switch {
			case i%3 == 0 && err != nil:
				t.Errorf("%s: %v", slug, err)
			case i%3 == 0:
				okCount.Add(1)
			case err == nil:
				t.Errorf("%s: failing write returned nil", slug)
			}
		})
	}
	wg.Wait()
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListTenants()
		if err != nil {
			return err
		}
		if len(list) != int(okCount.Load()) {
			t.Errorf("%d tenants persisted, want %d", len(list), okCount.Load())
		}
		for _, tn := range list {
			var i int
			fmt.Sscanf(tn.Slug, "t%03d", &i)
			if i%3 != 0 {
				t.Errorf("tenant %s of a failed write persisted", tn.Slug)
			}
		}
		return nil
	})
}

func testOnCommit(t *testing.T, s store.Store) {
	var order []string
	var seen int
	write(t, s, func(tx store.Tx) error {
		tx.OnCommit(func() {
			order = append(order, "hook1")
			// The committed change is visible to a new Read from the hook.
			seen = countTenants(t, s)
		})
		tx.OnCommit(func() { order = append(order, "hook2") })
		order = append(order, "fn")
		return tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "a", Name: "a", Mode: "controller"})
	})
	if !slices.Equal(order, []string{"fn", "hook1", "hook2"}) {
		t.Errorf("order = %v", order)
	}
	if seen != 1 {
		t.Errorf("hook saw %d tenants, want the committed 1", seen)
	}
	ran := false
	read(t, s, func(tx store.Tx) error {
		tx.OnCommit(func() { ran = true })
		return nil
	})
	if !ran {
		t.Error("OnCommit registered in a successful Read did not run")
	}
}

// testReadSnapshot: a Read sees one snapshot, even when a Write commits
// between two of its queries.
func testReadSnapshot(t *testing.T, s store.Store) {
	NewTenant(t, s, "a")
	read(t, s, func(tx store.Tx) error {
		before, err := tx.ListTenants()
		if err != nil {
			return err
		}
		NewTenant(t, s, "b") // commits on another connection meanwhile
		after, err := tx.ListTenants()
		if err != nil {
			return err
		}
		if len(before) != 1 || len(after) != 1 {
			t.Errorf("one Read saw %d then %d tenants", len(before), len(after))
		}
		return nil
	})
	if n := countTenants(t, s); n != 2 {
		t.Errorf("%d tenants after the Read, want 2", n)
	}
}

func testReadOnly(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "a")
	now := t0
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"CreateTenant", func(tx store.Tx) error {
			return tx.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "b", Name: "b", Mode: "controller"})
		}},
		{"UpdateTenantMode", func(tx store.Tx) error { return tx.UpdateTenantMode(a.ID, "processor") }},
		{"InsertPolicyVersion", func(tx store.Tx) error { return tx.InsertPolicyVersion(policy(a.ID, "sha256:1")) }},
		{"CreateAPIKey", func(tx store.Tx) error {
			return tx.CreateAPIKey(store.APIKey{ID: "k", TenantID: a.ID, Role: "app", SecretHash: []byte{1}})
		}},
		{"RevokeAPIKey", func(tx store.Tx) error { return tx.RevokeAPIKey(a.ID, "k", now) }},
		{"EnqueueJob", func(tx store.Tx) error { _, err := tx.EnqueueJob(store.Job{Kind: "k"}); return err }},
		{"ClaimJobs", func(tx store.Tx) error { _, err := tx.ClaimJobs("w", nil, now, now.Add(time.Minute), 1); return err }},
		{"ExtendJobLease", func(tx store.Tx) error { return tx.ExtendJobLease("j", "w", now) }},
		{"CompleteJob", func(tx store.Tx) error { return tx.CompleteJob("j", "w", now) }},
		{"FailJob", func(tx store.Tx) error { return tx.FailJob("j", "w", "x", now, time.Time{}) }},
		{"AcquireLease", func(tx store.Tx) error { _, err := tx.AcquireLease("l", "w", now, now.Add(time.Minute)); return err }},
		{"ReleaseLease", func(tx store.Tx) error { return tx.ReleaseLease("l", "w") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, s.Read(ctx(t), c.fn), store.ErrReadOnly)
		})
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(a.ID)
		if err == nil && got.Mode != "controller" {
			t.Error("a write inside Read took effect")
		}
		return err
	})
}

func testNested(t *testing.T, s store.Store) {
	cases := []struct {
		name  string
		inner func(tx store.Tx) error
	}{
		{"Write in Write", func(tx store.Tx) error {
			return s.Write(tx.Context(), func(store.Tx) error { return nil })
		}},
		{"Read in Write", func(tx store.Tx) error {
			return s.Read(tx.Context(), func(store.Tx) error { return nil })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inner error
			err := s.Write(ctx(t), func(tx store.Tx) error {
				inner = c.inner(tx)
				return nil
			})
			if err != nil {
				t.Fatalf("outer write: %v", err)
			}
			if inner == nil {
				t.Fatal("nested call inside a Write function succeeded; want an error")
			}
		})
	}
	// Read inside Read is harmless and allowed.
	read(t, s, func(tx store.Tx) error {
		return s.Read(tx.Context(), func(store.Tx) error { return nil })
	})
	// The store still works.
	NewTenant(t, s, "after")
}

func testTxEscape(t *testing.T, s store.Store) {
	var kept store.Tx
	write(t, s, func(tx store.Tx) error { kept = tx; return nil })
	err := kept.CreateTenant(store.Tenant{ID: store.NewID(), Slug: "late", Name: "x", Mode: "controller"})
	if err == nil {
		t.Fatal("a Tx used after its function returned wrote")
	}
	if _, err := kept.GetTenantBySlug("late"); err == nil {
		t.Fatal("a Tx used after its function returned read")
	}
	if n := countTenants(t, s); n != 0 {
		t.Fatalf("%d tenants", n)
	}
}

func testContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Write(c, func(store.Tx) error { ran = true; return nil })
	wantErr(t, err, context.Canceled)
	if ran {
		t.Error("Write ran its function with a cancelled context")
	}
	err = s.Read(c, func(store.Tx) error { ran = true; return nil })
	if err == nil {
		t.Error("Read with a cancelled context succeeded")
	}
	// Context returns the caller's values.
	type key struct{}
	vc := context.WithValue(ctx(t), key{}, "v")
	err = s.Write(vc, func(tx store.Tx) error {
		if tx.Context().Value(key{}) != "v" {
			t.Error("tx.Context() lost the caller's values")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testConcurrent64 is a done-criterion of the store: 64 goroutines writing
// at once (with readers alongside) all succeed, and everything is there.
func testConcurrent64(t *testing.T, s store.Store) {
	const writers, each = 64, 20
	tenants := make([]store.Tenant, writers)
	for i := range tenants {
		tenants[i] = store.Tenant{ID: store.NewID(), Slug: fmt.Sprintf("t%02d", i), Name: "n", Mode: "controller"}
	}
	var wg sync.WaitGroup
	var failures atomic.Int64
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.Read(ctx(t), func(tx store.Tx) error { _, err := tx.ListTenants(); return err }); err != nil {
					failures.Add(1)
					t.Errorf("read: %v", err)
					return
				}
			}
		})
	}
	for i := range writers {
		wg.Go(func() {
			tn := tenants[i]
			if err := s.Write(ctx(t), func(tx store.Tx) error { return tx.CreateTenant(tn) }); err != nil {
				failures.Add(1)
				t.Errorf("writer %d: create tenant: %v", i, err)
				return
			}
			for j := range each {
				err := s.Write(ctx(t), func(tx store.Tx) error {
					switch j % 3 {
					case 0:
						return tx.InsertPolicyVersion(policy(tn.ID, fmt.Sprint("sha256:", j)))
					case 1:
						return tx.CreateAPIKey(store.APIKey{ID: fmt.Sprintf("%s-%d", tn.Slug, j), TenantID: tn.ID, Role: "app", SecretHash: []byte{1}})
					default:
						_, err := tx.EnqueueJob(store.Job{Kind: "k", TenantID: tn.ID})
						return err
					}
				})
				if err != nil {
					failures.Add(1)
					t.Errorf("writer %d, write %d: %v", i, j, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d failed calls", failures.Load())
	}
	read(t, s, func(tx store.Tx) error {
		for _, tn := range tenants {
			vs, err := tx.ListPolicyVersions(tn.ID)
			if err != nil {
				return err
			}
			keys, err := tx.ListAPIKeys(tn.ID)
			if err != nil {
				return err
			}
			jobs, err := tx.ListJobs(store.JobFilter{TenantID: tn.ID})
			if err != nil {
				return err
			}
			if len(vs) != 7 || len(keys) != 7 || len(jobs) != 6 {
				t.Errorf("%s: %d versions, %d keys, %d jobs; want 7, 7, 6", tn.Slug, len(vs), len(keys), len(jobs))
			}
		}
		return nil
	})
}

func testClose(t *testing.T, s store.Store) {
	// Writes racing with Close either commit or report ErrClosed.
	var wg sync.WaitGroup
	var committed atomic.Int64
	for i := range 32 {
		wg.Go(func() {
			err := s.Write(ctx(t), func(tx store.Tx) error {
				_, err := tx.EnqueueJob(store.Job{Kind: fmt.Sprint("k", i)})
				return err
			})
			switch {
			case err == nil:
				committed.Add(1)
			case !errors.Is(err, store.ErrClosed):
				t.Errorf("write during close: %v", err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	wantErr(t, s.Write(ctx(t), func(store.Tx) error { return nil }), store.ErrClosed)
	wantErr(t, s.Read(ctx(t), func(store.Tx) error { return nil }), store.ErrClosed)
	if err := s.Ping(ctx(t)); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
