package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"RetentionDue", testRetentionDue},
		{"RetentionDuePaging", testRetentionDuePaging},
		{"RetentionDelete", testRetentionDelete},
		{"RetentionExpiryUpdates", testRetentionExpiryUpdates},
		{"RetentionScan", testRetentionScan},
		{"RetentionSubjects", testRetentionSubjects},
		{"RetentionCounts", testRetentionCounts},
		{"RetentionState", testRetentionState},
		{"RetentionReadOnly", testRetentionReadOnly},
	})
}

// retSubject creates a subject with fields (name -> due time; zero: not
// known) and returns its id.
func retSubject(t testing.TB, s store.Store, tenantID string, fields map[string]time.Time) string {
	t.Helper()
	id := store.NewID()
	var fs []store.FieldValue
	for name, due := range fields {
		fs = append(fs, store.FieldValue{Field: name, Ciphertext: []byte{1, 2, 3}, Source: "provided", CollectedAt: t0, ExpiresAt: due})
	}
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(store.Subject{TenantID: tenantID, ID: id, State: store.SubjectActive, CreatedAt: t0}, nil, fs)
	})
	return id
}

func retRecord(t testing.TB, s store.Store, tenantID, subjectID, coll string, collected, due time.Time) string {
	t.Helper()
	id := store.NewID()
	write(t, s, func(tx store.Tx) error {
		return tx.AppendRecord(store.Record{TenantID: tenantID, SubjectID: subjectID, Collection: coll, ID: id,
			Ciphertext: []byte("ct-" + id), Source: "observed", CollectedAt: collected, ExpiresAt: due})
	})
	return id
}

func itemNames(items []store.DueItem) []string {
	var out []string
	for _, it := range items {
		n := it.SubjectID[len(it.SubjectID)-4:] + "/" + it.Name
		if it.RecordID != "" {
			n += "/" + it.RecordID[len(it.RecordID)-4:]
		}
		out = append(out, n)
	}
	return out
}

func testRetentionDue(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-due")
	other := NewTenant(t, s, "ret-other")
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	a := retSubject(t, s, tn.ID, map[string]time.Time{"email": day(1), "name": day(3), "phone": {}})
	b := retSubject(t, s, tn.ID, map[string]time.Time{"email": day(2)})
	retSubject(t, s, other.ID, map[string]time.Time{"email": day(0)})
	r1 := retRecord(t, s, tn.ID, a, "orders", t0, day(1))
	retRecord(t, s, tn.ID, b, "orders", t0, day(5))
	retRecord(t, s, tn.ID, b, "orders", t0, time.Time{})

	var fields, records []store.DueItem
	read(t, s, func(tx store.Tx) (err error) {
		if fields, err = tx.DueFields(store.DueFilter{TenantID: tn.ID, Before: day(2), Limit: 100}); err != nil {
			return err
		}
		records, err = tx.DueRecords(store.DueFilter{TenantID: tn.ID, Before: day(2), Limit: 100, WithData: true})
		return err
	})
	// Due by day 2, in (expires_at, subject, name) order; no NULLs, no
	// other tenant, nothing later.
	if len(fields) != 2 || fields[0].SubjectID != a || fields[0].Name != "email" || fields[1].SubjectID != b {
		t.Fatalf("due fields = %v", itemNames(fields))
	}
	if !fields[0].ExpiresAt.Equal(us(day(1))) || !fields[0].CollectedAt.Equal(us(t0)) || fields[0].Kind != store.ItemField {
		t.Fatalf("due field = %+v", fields[0])
	}
	if len(records) != 1 || records[0].RecordID != r1 || records[0].Name != "orders" || !bytes.Equal(records[0].Ciphertext, []byte("ct-"+r1)) {
		t.Fatalf("due records = %+v", records)
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.DueRecords(store.DueFilter{TenantID: tn.ID, Before: day(2), Limit: 100})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Ciphertext != nil {
			t.Errorf("records without data = %+v", got)
		}
		// One subject only.
		got, err = tx.DueFields(store.DueFilter{TenantID: tn.ID, SubjectID: b, Before: day(10), Limit: 100})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].SubjectID != b {
			t.Errorf("subject filter: %v", itemNames(got))
		}
		fc, rc, err := tx.CountDue(tn.ID, day(3))
		if err != nil {
			return err
		}
		if fc["email"] != 2 || fc["name"] != 1 || len(fc) != 2 || rc["orders"] != 1 || len(rc) != 1 {
			t.Errorf("counts = %v %v", fc, rc)
		}
		for _, limit := range []int{0, -1, 5001} {
			_, err := tx.DueFields(store.DueFilter{TenantID: tn.ID, Before: day(3), Limit: limit})
			wantErr(t, err, store.ErrInvalid)
		}
		return nil
	})
}

// testRetentionDuePaging walks many rows with equal due times in small pages:
// every row exactly once, in order.
func testRetentionDuePaging(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-paging")
	due := t0.Add(time.Hour)
	var want []string
	for i := range 7 {
		id := retSubject(t, s, tn.ID, map[string]time.Time{"a": due, "b": due.Add(time.Duration(i%2) * time.Minute)})
		for j := range 3 {
			retRecord(t, s, tn.ID, id, fmt.Sprintf("c%d", j%2), t0, due)
		}
	}
	for _, kind := range []string{store.ItemField, store.ItemRecord} {
		var all, paged []store.DueItem
		f := store.DueFilter{TenantID: tn.ID, Before: due.Add(time.Hour), Limit: 5000}
		get := func(tx store.Tx, f store.DueFilter) ([]store.DueItem, error) {
			if kind == store.ItemField {
				return tx.DueFields(f)
			}
			return tx.DueRecords(f)
		}
		read(t, s, func(tx store.Tx) (err error) { all, err = get(tx, f); return err })
		f.Limit = 4
		for {
			var page []store.DueItem
			read(t, s, func(tx store.Tx) (err error) { page, err = get(tx, f); return err })
			paged = append(paged, page...)
			if len(page) < f.Limit {
				break
			}
			l := page[len(page)-1]
			f.After = store.DueCursor{ExpiresAt: l.ExpiresAt, SubjectID: l.SubjectID, Name: l.Name, RecordID: l.RecordID}
		}
		want = itemNames(all)
		if got := itemNames(paged); !slices.Equal(got, want) || len(got) != map[string]int{store.ItemField: 14, store.ItemRecord: 21}[kind] {
			t.Fatalf("%s: paged %d rows %v, want %d %v", kind, len(got), got, len(want), want)
		}
		sorted := slices.IsSortedFunc(all, func(x, y store.DueItem) int {
			if c := x.ExpiresAt.Compare(y.ExpiresAt); c != 0 {
				return c
			}
			if c := cmpStr(x.SubjectID, y.SubjectID); c != 0 {
				return c
			}
			if c := cmpStr(x.Name, y.Name); c != 0 {
				return c
			}
			return cmpStr(x.RecordID, y.RecordID)
		})
		if !sorted {
			t.Fatalf("%s: not in keyset order: %v", kind, want)
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testRetentionDelete(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-delete")
	other := NewTenant(t, s, "ret-delete-other")
	due := t0.Add(time.Hour)
	a := retSubject(t, s, tn.ID, map[string]time.Time{"email": due, "name": due})
	r1 := retRecord(t, s, tn.ID, a, "orders", t0, due)
	r2 := retRecord(t, s, tn.ID, a, "orders", t0, due)
	o := retSubject(t, s, other.ID, map[string]time.Time{"email": due})

	fk := func(subj, name string) store.ItemKey {
		return store.ItemKey{SubjectID: subj, Kind: store.ItemField, Name: name}
	}
	rk := func(id string) store.ItemKey {
		return store.ItemKey{SubjectID: a, Kind: store.ItemRecord, Name: "orders", RecordID: id}
	}
	write(t, s, func(tx store.Tx) error {
		// Three keys (padded to four), one of them absent, one of another
		// tenant: only what is this tenant's and exists is deleted and
		// returned.
		got, err := tx.DeleteItems(tn.ID, store.ItemField, []store.ItemKey{fk(a, "email"), fk(a, "phone"), fk(o, "email")})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != fk(a, "email") {
			t.Errorf("deleted fields = %+v", got)
		}
		got, err = tx.DeleteItems(tn.ID, store.ItemField, []store.ItemKey{fk(a, "email")})
		if err != nil || len(got) != 0 {
			t.Errorf("deleting twice: %v %+v", err, got)
		}
		got, err = tx.DeleteItems(tn.ID, store.ItemRecord, []store.ItemKey{rk(r1), rk(r1), rk(store.NewID())})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != rk(r1) {
			t.Errorf("deleted records = %+v", got)
		}
		if got, err := tx.DeleteItems(tn.ID, store.ItemRecord, nil); err != nil || got != nil {
			t.Errorf("nothing to delete: %v %v", got, err)
		}
		_, err = tx.DeleteItems(tn.ID, store.ItemRecord, []store.ItemKey{fk(a, "name")})
		wantErr(t, err, store.ErrInvalid)
		_, err = tx.DeleteItems(tn.ID, "cookie", nil)
		wantErr(t, err, store.ErrInvalid)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		fs, err := tx.GetFields(tn.ID, a)
		if err != nil {
			return err
		}
		if len(fs) != 1 || fs[0].Field != "name" {
			t.Errorf("fields left = %+v", fs)
		}
		rs, err := tx.ListRecords(tn.ID, a, "orders", "", 10)
		if err != nil {
			return err
		}
		if len(rs) != 1 || rs[0].ID != r2 {
			t.Errorf("records left = %+v", rs)
		}
		if fs, _ := tx.GetFields(other.ID, o); len(fs) != 1 {
			t.Errorf("the other tenant lost its field")
		}
		return nil
	})
}

// dueOf reads the stored due times of a subject's rows by name (records by
// id).
func dueOf(t testing.TB, s store.Store, tenantID, subjectID string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	read(t, s, func(tx store.Tx) error {
		fs, err := tx.ScanFields(tenantID, store.ScanCursor{}, nil, 5000)
		if err != nil {
			return err
		}
		rs, err := tx.ScanRecords(tenantID, store.ScanCursor{}, nil, 5000)
		if err != nil {
			return err
		}
		for _, it := range append(fs, rs...) {
			if it.SubjectID != subjectID {
				continue
			}
			k := it.Name
			if it.RecordID != "" {
				k = it.RecordID
			}
			out[k] = it.ExpiresAt
		}
		return nil
	})
	return out
}

func testRetentionExpiryUpdates(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-expiry")
	d := func(h int) time.Time { return us(t0.Add(time.Duration(h) * time.Hour)) }
	a := retSubject(t, s, tn.ID, map[string]time.Time{"email": d(10), "name": {}, "phone": d(1)})
	b := retSubject(t, s, tn.ID, map[string]time.Time{"email": d(10)})
	r1 := retRecord(t, s, tn.ID, a, "orders", t0, d(10))
	r2 := retRecord(t, s, tn.ID, a, "events", t0, d(10))

	// One due time for a subject's rows of some names.
	write(t, s, func(tx store.Tx) error {
		return tx.SetSubjectExpiry(tn.ID, a, []string{"email", "name"}, []string{"orders"}, d(20))
	})
	got := dueOf(t, s, tn.ID, a)
	want := map[string]time.Time{"email": d(20), "name": d(20), "phone": d(1), r1: d(20), r2: d(10)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after set: %v, want %v", got, want)
	}
	if dueOf(t, s, tn.ID, b)["email"] != d(10) {
		t.Fatal("another subject's row moved")
	}
	// Clearing (not known).
	write(t, s, func(tx store.Tx) error { return tx.SetSubjectExpiry(tn.ID, a, []string{"name"}, nil, time.Time{}) })
	if got := dueOf(t, s, tn.ID, a); !got["name"].IsZero() {
		t.Fatalf("name not cleared: %v", got)
	}
	// A cap lowers later and unknown times only.
	write(t, s, func(tx store.Tx) error {
		return tx.CapSubjectExpiry(tn.ID, a, []string{"email", "name", "phone"}, []string{"orders", "events"}, d(5))
	})
	got = dueOf(t, s, tn.ID, a)
	want = map[string]time.Time{"email": d(5), "name": d(5), "phone": d(1), r1: d(5), r2: d(5)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after cap: %v, want %v", got, want)
	}
	// Row by row.
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetExpiries(tn.ID, store.ItemField, []store.ExpiryUpdate{
			{Key: store.ItemKey{SubjectID: a, Kind: store.ItemField, Name: "email"}, At: d(7)},
			{Key: store.ItemKey{SubjectID: a, Kind: store.ItemField, Name: "phone"}},
		}); err != nil {
			return err
		}
		if err := tx.SetExpiries(tn.ID, store.ItemRecord, []store.ExpiryUpdate{
			{Key: store.ItemKey{SubjectID: a, Kind: store.ItemRecord, Name: "orders", RecordID: r1}, At: d(8)},
		}); err != nil {
			return err
		}
		wantErr(t, tx.SetExpiries(tn.ID, store.ItemRecord, []store.ExpiryUpdate{{Key: store.ItemKey{Kind: store.ItemField}}}), store.ErrInvalid)
		wantErr(t, tx.CapSubjectExpiry(tn.ID, a, []string{"email"}, nil, time.Time{}), store.ErrInvalid)
		return nil
	})
	got = dueOf(t, s, tn.ID, a)
	want = map[string]time.Time{"email": d(7), "name": d(5), "phone": {}, r1: d(8), r2: d(5)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after row updates: %v, want %v", got, want)
	}
	// Writes through the vault's own methods carry due times too.
	write(t, s, func(tx store.Tx) error {
		return tx.PutFields([]store.FieldValue{{TenantID: tn.ID, SubjectID: a, Field: "email", Ciphertext: []byte{9}, Source: "provided", ExpiresAt: d(30)},
			{TenantID: tn.ID, SubjectID: a, Field: "city", Ciphertext: []byte{9}, Source: "provided", ExpiresAt: d(31)}})
	})
	got = dueOf(t, s, tn.ID, a)
	if got["email"] != d(30) || got["city"] != d(31) {
		t.Fatalf("put fields: %v", got)
	}
}

func testRetentionScan(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-scan")
	var subjects []string
	for range 5 {
		id := retSubject(t, s, tn.ID, map[string]time.Time{"a": {}, "b": t0, "c": {}})
		retRecord(t, s, tn.ID, id, "x", t0, time.Time{})
		retRecord(t, s, tn.ID, id, "y", t0, time.Time{})
		subjects = append(subjects, id)
	}
	for _, c := range []struct {
		kind  string
		names []string
		want  int
	}{{store.ItemField, nil, 15}, {store.ItemField, []string{"a", "c"}, 10}, {store.ItemRecord, nil, 10}, {store.ItemRecord, []string{"y"}, 5}} {
		var got []store.DueItem
		cur := store.ScanCursor{}
		for {
			var page []store.DueItem
			read(t, s, func(tx store.Tx) (err error) {
				if c.kind == store.ItemField {
					page, err = tx.ScanFields(tn.ID, cur, c.names, 3)
				} else {
					page, err = tx.ScanRecords(tn.ID, cur, c.names, 3)
				}
				return err
			})
			got = append(got, page...)
			if len(page) < 3 {
				break
			}
			l := page[len(page)-1]
			cur = store.ScanCursor{SubjectID: l.SubjectID, Name: l.Name, RecordID: l.RecordID}
		}
		names := itemNames(got)
		if len(got) != c.want || len(slices.Compact(slices.Clone(names))) != c.want {
			t.Errorf("%s %v: %d rows %v, want %d distinct", c.kind, c.names, len(got), names, c.want)
		}
		for _, it := range got {
			if len(c.names) > 0 && !slices.Contains(c.names, it.Name) {
				t.Errorf("%s %v: got %s", c.kind, c.names, it.Name)
			}
		}
	}
	// Subjects and identities in key order, paged.
	write(t, s, func(tx store.Tx) error {
		for i, id := range subjects {
			if err := tx.SetIdentity(store.Identity{TenantID: tn.ID, Kind: "email", Blind: []byte{byte(i), 7}, SubjectID: id, Field: "a", CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		var all []string
		after := ""
		for {
			ss, err := tx.ScanSubjects(tn.ID, after, 2)
			if err != nil {
				return err
			}
			for _, x := range ss {
				all = append(all, x.ID)
			}
			if len(ss) < 2 {
				break
			}
			after = ss[len(ss)-1].ID
		}
		if want := slices.Sorted(slices.Values(subjects)); !slices.Equal(all, want) {
			t.Errorf("scan subjects = %v, want %v", all, want)
		}
		var ids []store.Identity
		var ak string
		var ab []byte
		for {
			page, err := tx.ScanIdentities(tn.ID, ak, ab, 2)
			if err != nil {
				return err
			}
			ids = append(ids, page...)
			if len(page) < 2 {
				break
			}
			ak, ab = page[len(page)-1].Kind, page[len(page)-1].Blind
		}
		if len(ids) != len(subjects) {
			t.Errorf("scan identities: %d, want %d", len(ids), len(subjects))
		}
		for i, id := range ids {
			if !bytes.Equal(id.Blind, []byte{byte(i), 7}) || id.SubjectID != subjects[i] || !id.CreatedAt.Equal(us(t0)) {
				t.Errorf("identity %d = %+v", i, id)
			}
		}
		return nil
	})
}

func testRetentionSubjects(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-subjects")
	a := retSubject(t, s, tn.ID, map[string]time.Time{"email": {}})
	b := retSubject(t, s, tn.ID, nil)
	minor, minorOK, minorErased := store.NewID(), store.NewID(), store.NewID()
	write(t, s, func(tx store.Tx) error {
		for _, m := range []struct {
			id, age, state string
		}{{minor, "minor", store.SubjectActive}, {minorOK, "minor_consented", store.SubjectActive}, {minorErased, "minor", store.SubjectErased}} {
			if err := tx.CreateSubject(store.Subject{TenantID: tn.ID, ID: m.id, State: m.state, AgeStatus: m.age, CreatedAt: t0}, nil, nil); err != nil {
				return err
			}
		}
		return nil
	})
	later := t0.Add(48 * time.Hour)
	write(t, s, func(tx store.Tx) error {
		// Locks return the rows, in id order, ignoring unknown ids.
		got, err := tx.LockSubjects(tn.ID, []string{b, a, store.NewID()})
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].ID != min(a, b) || got[1].ID != max(a, b) {
			t.Errorf("locked = %+v", got)
		}
		if err := tx.SetSubjectTrigger(tn.ID, a, store.TriggerContractEnd, later, later); err != nil {
			return err
		}
		if err := tx.SetSubjectTrigger(tn.ID, a, store.TriggerAccountClosed, later.Add(time.Hour), later); err != nil {
			return err
		}
		if err := tx.SetSubjectTrigger(tn.ID, b, store.TriggerAccountClosed, later, later); err != nil {
			return err
		}
		if err := tx.SetSubjectTrigger(tn.ID, b, store.TriggerAccountClosed, time.Time{}, later); err != nil {
			return err
		}
		wantErr(t, tx.SetSubjectTrigger(tn.ID, store.NewID(), store.TriggerContractEnd, later, later), store.ErrNotFound)
		wantErr(t, tx.SetSubjectTrigger(tn.ID, a, "last_activity", later, later), store.ErrInvalid)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		sa, err := tx.GetSubject(tn.ID, a)
		if err != nil {
			return err
		}
		if !sa.ContractEndAt.Equal(us(later)) || !sa.AccountClosedAt.Equal(us(later.Add(time.Hour))) || !sa.UpdatedAt.Equal(us(later)) {
			t.Errorf("triggers of a = %+v", sa)
		}
		sb, err := tx.GetSubject(tn.ID, b)
		if err != nil {
			return err
		}
		if !sb.AccountClosedAt.IsZero() {
			t.Errorf("account closure of b not cleared: %+v", sb)
		}
		if has, err := tx.SubjectHasData(tn.ID, a); err != nil || !has {
			t.Errorf("a has data: %v %v", has, err)
		}
		if has, err := tx.SubjectHasData(tn.ID, b); err != nil || has {
			t.Errorf("b has no data: %v %v", has, err)
		}
		minors, err := tx.ListMinors(tn.ID, "", 10)
		if err != nil {
			return err
		}
		if !slices.Equal(minors, []string{minor}) {
			t.Errorf("minors = %v, want only the active one without parental consent", minors)
		}
		return nil
	})
	retRecord(t, s, tn.ID, b, "orders", t0, time.Time{})
	read(t, s, func(tx store.Tx) error {
		if has, err := tx.SubjectHasData(tn.ID, b); err != nil || !has {
			t.Errorf("b has a record: %v %v", has, err)
		}
		return nil
	})
}

func testRetentionCounts(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-counts")
	other := NewTenant(t, s, "ret-counts-other")
	row := func(tenantID, coll, period, attrs string, n int64) store.AnonymisedCount {
		return store.AnonymisedCount{TenantID: tenantID, Collection: coll, Category: "user.behavior", Period: period, Attributes: attrs, Total: n, UpdatedAt: t0}
	}
	write(t, s, func(tx store.Tx) error {
		return tx.AddAnonymisedCounts([]store.AnonymisedCount{row(tn.ID, "log", "2025-03", "", 2), row(tn.ID, "log", "2025-03", `{"c":"NO"}`, 1),
			row(other.ID, "log", "2025-03", "", 5)})
	})
	write(t, s, func(tx store.Tx) error {
		if err := tx.AddAnonymisedCounts([]store.AnonymisedCount{row(tn.ID, "log", "2025-03", "", 3), row(tn.ID, "orders", "2025", "", 1)}); err != nil {
			return err
		}
		wantErr(t, tx.AddAnonymisedCounts([]store.AnonymisedCount{row(tn.ID, "", "2025", "", 1)}), store.ErrInvalid)
		wantErr(t, tx.AddAnonymisedCounts([]store.AnonymisedCount{row(tn.ID, "log", "2025", "", -1)}), store.ErrInvalid)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		all, err := tx.ListAnonymisedCounts(tn.ID, "")
		if err != nil {
			return err
		}
		var got []string
		for _, c := range all {
			got = append(got, fmt.Sprintf("%s %s %s %d", c.Collection, c.Period, c.Attributes, c.Total))
		}
		want := []string{"log 2025-03  5", `log 2025-03 {"c":"NO"} 1`, "orders 2025  1"}
		if !slices.Equal(got, want) {
			t.Errorf("counts = %q, want %q", got, want)
		}
		one, err := tx.ListAnonymisedCounts(tn.ID, "orders")
		if err != nil || len(one) != 1 {
			t.Errorf("one collection: %v %v", one, err)
		}
		return nil
	})
}

func testRetentionState(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-state")
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetRetentionState(tn.ID)
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	st := store.RetentionState{TenantID: tn.ID, Applied: "", Target: `{"f:email":"30d|collected|"}`, Progress: `{"kind":"field"}`, UpdatedAt: t0}
	write(t, s, func(tx store.Tx) error { return tx.PutRetentionState(st) })
	st.Applied, st.Target, st.Progress = st.Target, "", ""
	write(t, s, func(tx store.Tx) error { return tx.PutRetentionState(st) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRetentionState(tn.ID)
		if err != nil {
			return err
		}
		st.UpdatedAt = us(t0)
		if got != st {
			t.Errorf("state = %+v, want %+v", got, st)
		}
		return nil
	})
}

func testRetentionReadOnly(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ret-ro")
	a := retSubject(t, s, tn.ID, map[string]time.Time{"email": t0})
	err := s.Read(ctx(t), func(tx store.Tx) error {
		_, err := tx.DeleteItems(tn.ID, store.ItemField, []store.ItemKey{{SubjectID: a, Kind: store.ItemField, Name: "email"}})
		wantErr(t, err, store.ErrReadOnly)
		wantErr(t, tx.SetSubjectExpiry(tn.ID, a, []string{"email"}, nil, t0), store.ErrReadOnly)
		wantErr(t, tx.PutRetentionState(store.RetentionState{TenantID: tn.ID}), store.ErrReadOnly)
		// Locking in a read transaction is a plain read.
		subs, err := tx.LockSubjects(tn.ID, []string{a})
		if err != nil || len(subs) != 1 {
			t.Errorf("lock in a read: %v %v", subs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
