package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"VaultCreateGet", testVaultCreateGet},
		{"VaultIdentityConflict", testVaultIdentityConflict},
		{"VaultConcurrentDuplicate", testVaultConcurrentDuplicate},
		{"VaultTenantScope", testVaultTenantScope},
		{"VaultFields", testVaultFields},
		{"VaultSetIdentity", testVaultSetIdentity},
		{"VaultRecords", testVaultRecords},
		{"VaultErase", testVaultErase},
		{"VaultTouch", testVaultTouch},
		{"VaultIdempotency", testVaultIdempotency},
		{"VaultInvalid", testVaultInvalid},
		{"VaultLoadSubject", testVaultLoadSubject},
		{"VaultControlsFlag", testVaultControlsFlag},
	})
}

func blind(s string) []byte {
	b := bytes.Repeat([]byte{0}, 32)
	copy(b, s)
	return b
}

func newSubject(tenantID string) store.Subject {
	return store.Subject{TenantID: tenantID, ID: store.NewID(), State: store.SubjectActive, CreatedAt: t0}
}

func testVaultCreateGet(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "vault")
	subj := newSubject(tn.ID)
	subj.AgeStatus = "minor_consented"
	ids := []store.Identity{{Kind: "email", Blind: blind("a@example.com"), Field: "email"}, {Kind: "external_id", Blind: blind("u1"), Field: "user_id"}}
	fields := []store.FieldValue{
		{Field: "email", Ciphertext: []byte("ct-email"), Source: "provided"},
		{Field: "name", Ciphertext: []byte("ct-name"), Source: "third_party", CollectedAt: t0.Add(-time.Hour)},
	}
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(subj, ids, fields) })

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSubject(tn.ID, subj.ID)
		if err != nil {
			return err
		}
		if got.State != store.SubjectActive || got.AgeStatus != "minor_consented" || got.Anonymous ||
			!got.CreatedAt.Equal(us(t0)) || !got.LastActivityAt.Equal(us(t0)) || !got.ContractEndAt.IsZero() {
			t.Errorf("subject = %+v", got)
		}
		id, err := tx.FindIdentity(tn.ID, "email", blind("a@example.com"))
		if err != nil || id != subj.ID {
			t.Errorf("FindIdentity = %q, %v", id, err)
		}
		if _, err := tx.FindIdentity(tn.ID, "phone", blind("a@example.com")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("identity of another kind found: %v", err)
		}
		idl, err := tx.ListIdentities(tn.ID, subj.ID)
		if err != nil || len(idl) != 2 || idl[0].Field != "email" || idl[1].Field != "user_id" {
			t.Errorf("ListIdentities = %+v, %v", idl, err)
		}
		fs, err := tx.GetFields(tn.ID, subj.ID)
		if err != nil || len(fs) != 2 {
			return fmt.Errorf("GetFields = %+v, %v", fs, err)
		}
		if fs[0].Field != "email" || string(fs[0].Ciphertext) != "ct-email" || !fs[0].CollectedAt.Equal(us(t0)) {
			t.Errorf("email field = %+v", fs[0])
		}
		if fs[1].Source != "third_party" || !fs[1].CollectedAt.Equal(us(t0.Add(-time.Hour))) {
			t.Errorf("name field = %+v", fs[1])
		}
		if _, err := tx.GetSubject(tn.ID, store.NewID()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing subject: %v", err)
		}
		return nil
	})

	// An anonymous subject needs no identity or field.
	anon := newSubject(tn.ID)
	anon.Anonymous = true
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(anon, nil, nil) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSubject(tn.ID, anon.ID)
		if err != nil || !got.Anonymous {
			t.Errorf("anonymous subject = %+v, %v", got, err)
		}
		return nil
	})
}

func testVaultIdentityConflict(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "conflict")
	first := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(first, []store.Identity{{Kind: "email", Blind: blind("x"), Field: "email"}}, nil)
	})
	second := newSubject(tn.ID)
	// The conflict leaves the transaction usable and inserts nothing, even
	// when the caller goes on and commits.
	write(t, s, func(tx store.Tx) error {
		err := tx.CreateSubject(second, []store.Identity{{Kind: "phone", Blind: blind("p"), Field: "phone"}, {Kind: "email", Blind: blind("x"), Field: "email"}},
			[]store.FieldValue{{Field: "email", Ciphertext: []byte("c"), Source: "provided"}})
		var ic *store.IdentityConflict
		if !errors.As(err, &ic) || !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate identity: %v", err)
		}
		if ic.SubjectID != first.ID || ic.Kind != "email" || ic.Field != "email" {
			t.Errorf("conflict = %+v", ic)
		}
		_, err = tx.GetTenant(tn.ID)
		return err
	})
	read(t, s, func(tx store.Tx) error {
		if _, err := tx.GetSubject(tn.ID, second.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("conflicting subject was stored: %v", err)
		}
		if _, err := tx.FindIdentity(tn.ID, "phone", blind("p")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("identity of the conflicting subject was stored: %v", err)
		}
		return nil
	})
}

// testVaultConcurrentDuplicate: 64 concurrent creates of the same email,
// exactly one succeeds and the others name it.
func testVaultConcurrentDuplicate(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "dup64")
	const n = 64
	var wg sync.WaitGroup
	results := make([]error, n)
	subjects := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			subj := newSubject(tn.ID)
			subjects[i] = subj.ID
			results[i] = s.Write(ctx(t), func(tx store.Tx) error {
				return tx.CreateSubject(subj, []store.Identity{{Kind: "email", Blind: blind("same@example.com"), Field: "email"}},
					[]store.FieldValue{{Field: "email", Ciphertext: []byte("c"), Source: "provided"}})
			})
		}(i)
	}
	wg.Wait()
	winner := ""
	for i, err := range results {
		if err == nil {
			if winner != "" {
				t.Fatalf("two creates of the same email succeeded")
			}
			winner = subjects[i]
		}
	}
	if winner == "" {
		t.Fatal("no create succeeded")
	}
	for _, err := range results {
		if err == nil {
			continue
		}
		var ic *store.IdentityConflict
		if !errors.As(err, &ic) || ic.SubjectID != winner {
			t.Errorf("loser got %v, want a conflict naming %s", err, winner)
		}
	}
}

func testVaultTenantScope(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "va")
	b := NewTenant(t, s, "vb")
	subj := newSubject(a.ID)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(subj, []store.Identity{{Kind: "email", Blind: blind("shared"), Field: "email"}},
			[]store.FieldValue{{Field: "email", Ciphertext: []byte("c"), Source: "provided"}})
	})
	// The same identity in another tenant is a different person.
	other := newSubject(b.ID)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(other, []store.Identity{{Kind: "email", Blind: blind("shared"), Field: "email"}}, nil)
	})
	read(t, s, func(tx store.Tx) error {
		if _, err := tx.GetSubject(b.ID, subj.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant b sees tenant a's subject: %v", err)
		}
		if fs, err := tx.GetFields(b.ID, subj.ID); err != nil || len(fs) != 0 {
			t.Errorf("tenant b reads tenant a's fields: %v %v", fs, err)
		}
		if id, _ := tx.FindIdentity(b.ID, "email", blind("shared")); id != other.ID {
			t.Errorf("lookup in tenant b found %s", id)
		}
		return nil
	})
	err := s.Write(ctx(t), func(tx store.Tx) error { return tx.DeleteField(b.ID, subj.ID, "email") })
	wantErr(t, err, store.ErrNotFound)
	err = s.Write(ctx(t), func(tx store.Tx) error {
		return tx.AppendRecord(store.Record{TenantID: b.ID, SubjectID: subj.ID, Collection: "orders", ID: store.NewID(), Ciphertext: []byte("x"), Source: "provided"})
	})
	wantErr(t, err, store.ErrNotFound)
	err = s.Write(ctx(t), func(tx store.Tx) error { return tx.EraseSubject(b.ID, subj.ID, t0, nil, nil) })
	wantErr(t, err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		if fs, _ := tx.GetFields(a.ID, subj.ID); len(fs) != 1 {
			t.Errorf("a foreign tenant's calls changed the subject: %v", fs)
		}
		return nil
	})
}

func testVaultFields(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "fields")
	subj := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(subj, nil, []store.FieldValue{{Field: "name", Ciphertext: []byte("v1"), Source: "provided"}})
	})
	later := t0.Add(time.Hour)
	write(t, s, func(tx store.Tx) error {
		return tx.PutFields([]store.FieldValue{
			{TenantID: tn.ID, SubjectID: subj.ID, Field: "name", Ciphertext: []byte("v2"), Source: "provided", CollectedAt: t0, UpdatedAt: later},
			{TenantID: tn.ID, SubjectID: subj.ID, Field: "phone", Ciphertext: []byte("p1"), Source: "provided", CollectedAt: later, UpdatedAt: later},
		})
	})
	read(t, s, func(tx store.Tx) error {
		fs, err := tx.GetFields(tn.ID, subj.ID)
		if err != nil || len(fs) != 2 || fs[0].Field != "name" || string(fs[0].Ciphertext) != "v2" || !fs[0].UpdatedAt.Equal(us(later)) || !fs[0].CollectedAt.Equal(us(t0)) {
			t.Errorf("after put: %+v %v", fs, err)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.DeleteField(tn.ID, subj.ID, "phone") })
	err := s.Write(ctx(t), func(tx store.Tx) error { return tx.DeleteField(tn.ID, subj.ID, "phone") })
	wantErr(t, err, store.ErrNotFound)
}

func testVaultSetIdentity(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "setid")
	a, b := newSubject(tn.ID), newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateSubject(a, []store.Identity{{Kind: "email", Blind: blind("old"), Field: "email"}}, nil); err != nil {
			return err
		}
		return tx.CreateSubject(b, []store.Identity{{Kind: "email", Blind: blind("b"), Field: "email"}}, nil)
	})
	// Rectifying a's email replaces its index entry.
	write(t, s, func(tx store.Tx) error {
		return tx.SetIdentity(store.Identity{TenantID: tn.ID, SubjectID: a.ID, Kind: "email", Blind: blind("new"), Field: "email"})
	})
	read(t, s, func(tx store.Tx) error {
		if _, err := tx.FindIdentity(tn.ID, "email", blind("old")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old identity still indexed: %v", err)
		}
		if id, err := tx.FindIdentity(tn.ID, "email", blind("new")); err != nil || id != a.ID {
			t.Errorf("new identity = %s %v", id, err)
		}
		return nil
	})
	// Setting the same value again is a no-op.
	write(t, s, func(tx store.Tx) error {
		return tx.SetIdentity(store.Identity{TenantID: tn.ID, SubjectID: a.ID, Kind: "email", Blind: blind("new"), Field: "email"})
	})
	// Taking b's email is a conflict naming b, and changes nothing.
	write(t, s, func(tx store.Tx) error {
		err := tx.SetIdentity(store.Identity{TenantID: tn.ID, SubjectID: a.ID, Kind: "email", Blind: blind("b"), Field: "email"})
		var ic *store.IdentityConflict
		if !errors.As(err, &ic) || ic.SubjectID != b.ID {
			t.Errorf("taking b's email: %v", err)
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		if id, _ := tx.FindIdentity(tn.ID, "email", blind("new")); id != a.ID {
			t.Errorf("a conflict changed a's identity")
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.DeleteIdentity(tn.ID, a.ID, "email") })
	read(t, s, func(tx store.Tx) error {
		if _, err := tx.FindIdentity(tn.ID, "email", blind("new")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted identity found: %v", err)
		}
		return nil
	})
}

func testVaultRecords(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "records")
	subj := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(subj, nil, nil) })
	var want []string
	for i := 0; i < 25; i++ {
		id := store.NewID()
		want = append(want, id)
		write(t, s, func(tx store.Tx) error {
			return tx.AppendRecord(store.Record{TenantID: tn.ID, SubjectID: subj.ID, Collection: "orders", ID: id,
				Ciphertext: []byte(fmt.Sprint(i)), Source: "provided", CollectedAt: t0.Add(time.Duration(i) * time.Minute)})
		})
	}
	write(t, s, func(tx store.Tx) error {
		return tx.AppendRecord(store.Record{TenantID: tn.ID, SubjectID: subj.ID, Collection: "tickets", ID: store.NewID(), Ciphertext: []byte("t"), Source: "provided"})
	})
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		var recs []store.Record
		read(t, s, func(tx store.Tx) error {
			var err error
			recs, err = tx.ListRecords(tn.ID, subj.ID, "orders", after, 10)
			return err
		})
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if len(recs) < 10 {
			break
		}
		after = recs[len(recs)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
	err := s.Write(ctx(t), func(tx store.Tx) error {
		return tx.AppendRecord(store.Record{TenantID: tn.ID, SubjectID: store.NewID(), Collection: "orders", ID: store.NewID(), Ciphertext: []byte("x"), Source: "provided"})
	})
	wantErr(t, err, store.ErrNotFound)
	err = s.Write(ctx(t), func(tx store.Tx) error {
		return tx.AppendRecord(store.Record{TenantID: tn.ID, SubjectID: subj.ID, Collection: "orders", ID: want[0], Ciphertext: []byte("x"), Source: "provided"})
	})
	wantErr(t, err, store.ErrConflict)
}

func testVaultErase(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "erase")
	subj := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateSubject(subj, []store.Identity{{Kind: "email", Blind: blind("e"), Field: "email"}},
			[]store.FieldValue{{Field: "email", Ciphertext: []byte("c"), Source: "provided"}, {Field: "tax_id", Ciphertext: []byte("t"), Source: "provided"}}); err != nil {
			return err
		}
		for _, c := range []string{"invoices", "orders"} {
			if err := tx.AppendRecord(store.Record{TenantID: tn.ID, SubjectID: subj.ID, Collection: c, ID: store.NewID(), Ciphertext: []byte("r"), Source: "provided"}); err != nil {
				return err
			}
		}
		return nil
	})
	at := t0.Add(24 * time.Hour)
	write(t, s, func(tx store.Tx) error {
		return tx.EraseSubject(tn.ID, subj.ID, at, []string{"tax_id"}, []string{"invoices"})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSubject(tn.ID, subj.ID)
		if err != nil || got.State != store.SubjectErased || !got.ErasedAt.Equal(us(at)) {
			t.Errorf("erased subject = %+v %v", got, err)
		}
		if _, err := tx.FindIdentity(tn.ID, "email", blind("e")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("identity survived erasure: %v", err)
		}
		fs, _ := tx.GetFields(tn.ID, subj.ID)
		if len(fs) != 1 || fs[0].Field != "tax_id" {
			t.Errorf("fields after erasure = %+v, want only the held tax_id", fs)
		}
		inv, _ := tx.ListRecords(tn.ID, subj.ID, "invoices", "", 10)
		ord, _ := tx.ListRecords(tn.ID, subj.ID, "orders", "", 10)
		if len(inv) != 1 || len(ord) != 0 {
			t.Errorf("records after erasure: invoices %d orders %d", len(inv), len(ord))
		}
		return nil
	})
}

func testVaultTouch(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "touch")
	subj := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(subj, nil, nil) })
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.TouchSubject(tn.ID, subj.ID, t1, false) })
	write(t, s, func(tx store.Tx) error { return tx.TouchSubject(tn.ID, subj.ID, t2, true) })
	read(t, s, func(tx store.Tx) error {
		got, _ := tx.GetSubject(tn.ID, subj.ID)
		if !got.UpdatedAt.Equal(us(t2)) || !got.LastActivityAt.Equal(us(t2)) {
			t.Errorf("after touch: %+v", got)
		}
		return nil
	})
	got := subj
	read(t, s, func(tx store.Tx) error { var err error; got, err = tx.GetSubject(tn.ID, subj.ID); return err })
	got.ContractEndAt = t2
	got.AccountClosedAt = t2.Add(time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.UpdateSubject(got) })
	read(t, s, func(tx store.Tx) error {
		g, _ := tx.GetSubject(tn.ID, subj.ID)
		if !g.ContractEndAt.Equal(us(t2)) || !g.AccountClosedAt.Equal(us(t2.Add(time.Hour))) {
			t.Errorf("triggers not stored: %+v", g)
		}
		return nil
	})
	err := s.Write(ctx(t), func(tx store.Tx) error { return tx.TouchSubject(tn.ID, store.NewID(), t1, true) })
	wantErr(t, err, store.ErrNotFound)
}

func testVaultIdempotency(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "idem")
	rec := store.Idempotency{TenantID: tn.ID, Key: "k-1", RequestHash: []byte("h"), Status: 201, Body: []byte(`{"id":"x"}`), CreatedAt: t0}
	write(t, s, func(tx store.Tx) error { return tx.PutIdempotency(rec) })
	err := s.Write(ctx(t), func(tx store.Tx) error { return tx.PutIdempotency(rec) })
	wantErr(t, err, store.ErrConflict)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetIdempotency(tn.ID, "k-1")
		if err != nil || got.Status != 201 || string(got.Body) != `{"id":"x"}` || string(got.RequestHash) != "h" {
			t.Errorf("idempotency = %+v %v", got, err)
		}
		other := NewTenant(t, s, "idem2")
		if _, err := tx.GetIdempotency(other.ID, "k-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant sees the key: %v", err)
		}
		return nil
	})
}

func testVaultInvalid(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "vinvalid")
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"bad state", func(tx store.Tx) error {
			x := newSubject(tn.ID)
			x.State = "zombie"
			return tx.CreateSubject(x, nil, nil)
		}},
		{"bad age", func(tx store.Tx) error {
			x := newSubject(tn.ID)
			x.AgeStatus = "teen"
			return tx.CreateSubject(x, nil, nil)
		}},
		{"empty blind", func(tx store.Tx) error {
			return tx.CreateSubject(newSubject(tn.ID), []store.Identity{{Kind: "email", Field: "email"}}, nil)
		}},
		{"empty ciphertext", func(tx store.Tx) error {
			return tx.CreateSubject(newSubject(tn.ID), nil, []store.FieldValue{{Field: "x", Source: "provided"}})
		}},
		{"no tenant", func(tx store.Tx) error { return tx.CreateSubject(newSubject(""), nil, nil) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Write(ctx(t), c.fn)
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
	// Unknown tenant.
	err := s.Write(ctx(t), func(tx store.Tx) error { return tx.CreateSubject(newSubject(store.NewID()), nil, nil) })
	wantErr(t, err, store.ErrNotFound)
}

func testVaultLoadSubject(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "load")
	subj := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateSubject(subj, []store.Identity{{Kind: "email", Blind: blind("l"), Field: "email"}},
			[]store.FieldValue{{Field: "name", Ciphertext: []byte("n"), Source: "provided"}, {Field: "email", Ciphertext: []byte("e"), Source: "provided"}})
	})
	bare := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(bare, nil, nil) })
	read(t, s, func(tx store.Tx) error {
		for _, load := range []func() (store.SubjectData, error){
			func() (store.SubjectData, error) { return tx.LoadSubject(tn.ID, subj.ID) },
			func() (store.SubjectData, error) { return tx.LoadSubjectByIdentity(tn.ID, "email", blind("l")) },
		} {
			d, err := load()
			if err != nil || d.Subject.ID != subj.ID || len(d.Fields) != 2 || d.Fields[0].Field != "email" || string(d.Fields[1].Ciphertext) != "n" {
				t.Errorf("load = %+v, %v", d, err)
			}
			if d.NeedsControls() {
				t.Error("a subject without controls needs controls")
			}
		}
		d, err := tx.LoadSubjectMeta(tn.ID, subj.ID)
		if err != nil || d.Subject.ID != subj.ID || len(d.Fields) != 0 {
			t.Errorf("meta = %+v, %v", d, err)
		}
		d, err = tx.LoadSubject(tn.ID, bare.ID)
		if err != nil || d.Subject.ID != bare.ID || len(d.Fields) != 0 {
			t.Errorf("subject without fields = %+v, %v", d, err)
		}
		other := NewTenant(t, s, "load2")
		if _, err := tx.LoadSubject(other.ID, subj.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other tenant loads the subject: %v", err)
		}
		if _, err := tx.LoadSubjectByIdentity(tn.ID, "email", blind("nope")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown identity: %v", err)
		}
		return nil
	})
}

// testVaultControlsFlag: every way a control reaches a subject sets the
// flag that makes reads query controls; a missed one would let a read ignore
// a withdrawal or restriction.
func testVaultControlsFlag(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "flag")
	needs := func(t *testing.T, id string) bool {
		var d store.SubjectData
		read(t, s, func(tx store.Tx) error { var err error; d, err = tx.LoadSubject(tn.ID, id); return err })
		return d.NeedsControls()
	}
	cases := []struct {
		name string
		add  func(tx store.Tx, subject string) error
	}{
		{"restriction", func(tx store.Tx, id string) error {
			return tx.AddRestriction(store.Restriction{TenantID: tn.ID, ID: store.NewID(), SubjectID: id, Ground: store.GroundAccuracyContested, Reason: "r", CreatedAt: t0})
		}},
		{"objection", func(tx store.Tx, id string) error {
			return tx.AddObjection(store.Objection{TenantID: tn.ID, ID: store.NewID(), SubjectID: id, Kind: store.ObjectDirectMarketing, CreatedAt: t0})
		}},
		{"hold", func(tx store.Tx, id string) error {
			return tx.AddLegalHold(store.LegalHold{TenantID: tn.ID, ID: store.NewID(), SubjectID: id, Reason: "case 1", CreatedAt: t0})
		}},
		{"consent", func(tx store.Tx, id string) error {
			return tx.AppendConsent(store.ConsentEvent{TenantID: tn.ID, ID: store.NewID(), SubjectID: id, Purpose: "news", Kind: store.ConsentGiven, Method: "api", At: t0})
		}},
		{"linked browser consent", func(tx store.Tx, id string) error {
			if err := tx.AppendConsent(store.ConsentEvent{TenantID: tn.ID, ID: store.NewID(), BrowserID: "b-" + id, Purpose: "analytics", Kind: store.ConsentGiven, Method: "banner", At: t0}); err != nil {
				return err
			}
			_, err := tx.LinkBrowserConsents(tn.ID, "b-"+id, id, t0)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			subj := newSubject(tn.ID)
			write(t, s, func(tx store.Tx) error { return tx.CreateSubject(subj, nil, nil) })
			if needs(t, subj.ID) {
				t.Fatal("fresh subject needs controls")
			}
			write(t, s, func(tx store.Tx) error { return c.add(tx, subj.ID) })
			if !needs(t, subj.ID) {
				t.Errorf("after a %s the subject's reads would skip controls", c.name)
			}
		})
	}
	// A tenant-wide hold makes every subject's reads query controls.
	other := newSubject(tn.ID)
	write(t, s, func(tx store.Tx) error { return tx.CreateSubject(other, nil, nil) })
	write(t, s, func(tx store.Tx) error {
		return tx.AddLegalHold(store.LegalHold{TenantID: tn.ID, ID: store.NewID(), Reason: "regulator", CreatedAt: t0})
	})
	if !needs(t, other.ID) {
		t.Error("a tenant-wide hold is not seen by reads")
	}
}
