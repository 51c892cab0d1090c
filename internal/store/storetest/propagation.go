package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

func init() {
	areaSuites = append(areaSuites, []areaCase{
		{"Fulfilments", testFulfilments},
		{"Propagations", testPropagations},
		{"PropagationInvalid", testPropagationInvalid},
		{"RecipientEndpoints", testRecipientEndpoints},
	})
}

func testFulfilments(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "ful-a"), NewTenant(t, s, "ful-b")
	f := store.Fulfilment{TenantID: a.ID, RequestID: "req-1", SubjectID: "subj-1", Type: "erasure",
		Result: []byte(`{"summary":"erased"}`), Actor: "staff:1", CreatedAt: t0}
	write(t, s, func(tx store.Tx) error { return tx.InsertFulfilment(f) })
	// A second fulfilment of the same request conflicts and leaves the
	// transaction usable.
	write(t, s, func(tx store.Tx) error {
		g := f
		g.Result = []byte(`{"summary":"again"}`)
		wantErr(t, tx.InsertFulfilment(g), store.ErrConflict)
		_, err := tx.GetFulfilment(a.ID, "req-1")
		return err
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetFulfilment(a.ID, "req-1")
		if err != nil {
			return err
		}
		if got.Type != "erasure" || got.SubjectID != "subj-1" || string(got.Result) != `{"summary":"erased"}` ||
			got.Actor != "staff:1" || !got.CreatedAt.Equal(us(t0)) {
			t.Fatalf("fulfilment = %+v", got)
		}
		_, err = tx.GetFulfilment(b.ID, "req-1")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	// The same request id in another tenant is another request.
	write(t, s, func(tx store.Tx) error {
		g := f
		g.TenantID = b.ID
		return tx.InsertFulfilment(g)
	})
	write(t, s, func(tx store.Tx) error {
		g := f
		g.TenantID = store.NewID()
		g.RequestID = "req-x"
		wantErr(t, tx.InsertFulfilment(g), store.ErrNotFound)
		return nil
	})
}

func testPropagations(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "prop-a"), NewTenant(t, s, "prop-b")
	rows := []store.Propagation{
		{TenantID: a.ID, RequestID: "r1", Recipient: "stripe", SubjectID: "s1", Action: "erasure",
			Categories: []string{"user.contact.email", "user.name"}, State: store.PropagationPending, MessageID: "m1", Ack: store.AckCallback, CreatedAt: t0},
		{TenantID: a.ID, RequestID: "r1", Recipient: "azure", SubjectID: "s1", Action: "erasure",
			Categories: []string{"user"}, State: store.PropagationManual, CreatedAt: t0},
		{TenantID: b.ID, RequestID: "r1", Recipient: "stripe", SubjectID: "s9", Action: "restriction",
			Categories: []string{"user.payment"}, State: store.PropagationPending, MessageID: "m1", Ack: store.AckOnDelivery, CreatedAt: t0},
	}
	write(t, s, func(tx store.Tx) error {
		for _, p := range rows {
			if err := tx.InsertPropagation(p); err != nil {
				return err
			}
		}
		wantErr(t, tx.InsertPropagation(rows[0]), store.ErrConflict)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListPropagations(a.ID, "r1")
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].Recipient != "azure" || got[1].Recipient != "stripe" {
			t.Fatalf("list = %+v, want azure and stripe of tenant a", got)
		}
		if !slices.Equal(got[1].Categories, []string{"user.contact.email", "user.name"}) || got[1].Ack != store.AckCallback ||
			got[1].MessageID != "m1" || got[1].SubjectID != "s1" || !got[1].UpdatedAt.Equal(us(t0)) {
			t.Fatalf("stripe row = %+v", got[1])
		}
		p, err := tx.PropagationByMessage(b.ID, "m1")
		if err != nil {
			return err
		}
		if p.TenantID != b.ID || p.Action != "restriction" {
			t.Fatalf("by message in tenant b = %+v", p)
		}
		_, err = tx.PropagationByMessage(a.ID, "nope")
		wantErr(t, err, store.ErrNotFound)
		_, err = tx.PropagationByMessage(a.ID, "")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	at := t0.Add(time.Hour)
	write(t, s, func(tx store.Tx) error {
		// A move from a state the row is not in is a conflict, and leaves
		// the transaction usable.
		wantErr(t, tx.MovePropagation(a.ID, "r1", "stripe", []string{store.PropagationDelivered}, store.PropagationAcknowledged, "", "", at), store.ErrConflict)
		if err := tx.MovePropagation(a.ID, "r1", "stripe", []string{store.PropagationPending, store.PropagationDelivered},
			store.PropagationDelivered, "", "", at); err != nil {
			return err
		}
		wantErr(t, tx.MovePropagation(a.ID, "r1", "nobody", []string{store.PropagationPending}, store.PropagationFailed, "", "", at), store.ErrNotFound)
		// Tenant b's row with the same keys is untouched by tenant a.
		wantErr(t, tx.MovePropagation(a.ID, "r2", "stripe", []string{store.PropagationPending}, store.PropagationFailed, "", "", at), store.ErrNotFound)
		return tx.MovePropagation(a.ID, "r1", "azure", []string{store.PropagationManual}, store.PropagationHandled, "phoned their DPO", "staff:7", at)
	})
	read(t, s, func(tx store.Tx) error {
		p, err := tx.GetPropagation(a.ID, "r1", "azure")
		if err != nil {
			return err
		}
		if p.State != store.PropagationHandled || p.Note != "phoned their DPO" || p.Actor != "staff:7" || !p.UpdatedAt.Equal(us(at)) || !p.CreatedAt.Equal(us(t0)) {
			t.Fatalf("azure = %+v", p)
		}
		q, err := tx.GetPropagation(b.ID, "r1", "stripe")
		if err != nil {
			return err
		}
		if q.State != store.PropagationPending {
			t.Fatalf("tenant b's row moved: %+v", q)
		}
		_, err = tx.GetPropagation(b.ID, "r1", "azure")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
}

func testPropagationInvalid(t *testing.T, s store.Store) {
	a := NewTenant(t, s, "prop-inv")
	ok := store.Propagation{TenantID: a.ID, RequestID: "r1", Recipient: "x", Action: "erasure", State: store.PropagationPending, CreatedAt: t0}
	cases := map[string]func(p *store.Propagation){
		"no request":       func(p *store.Propagation) { p.RequestID = "" },
		"no recipient":     func(p *store.Propagation) { p.Recipient = "" },
		"bad action":       func(p *store.Propagation) { p.Action = "access" },
		"bad state":        func(p *store.Propagation) { p.State = "done" },
		"bad ack":          func(p *store.Propagation) { p.Ack = "sometimes" },
		"category w/comma": func(p *store.Propagation) { p.Categories = []string{"a,b"} },
	}
	write(t, s, func(tx store.Tx) error {
		for name, mod := range cases {
			p := ok
			mod(&p)
			if err := tx.InsertPropagation(p); err == nil {
				t.Errorf("%s: inserted", name)
			} else {
				wantErr(t, err, store.ErrInvalid)
			}
		}
		wantErr(t, tx.MovePropagation(a.ID, "r1", "x", []string{store.PropagationPending}, "done", "", "", t0), store.ErrInvalid)
		wantErr(t, tx.PutRecipientEndpoint(store.RecipientEndpoint{TenantID: a.ID, Recipient: "x", Host: "h", Sealed: []byte{1}, Ack: "maybe"}), store.ErrInvalid)
		wantErr(t, tx.PutRecipientEndpoint(store.RecipientEndpoint{TenantID: a.ID, Recipient: "x", Host: "h", Ack: store.AckCallback}), store.ErrInvalid)
		wantErr(t, tx.InsertFulfilment(store.Fulfilment{TenantID: a.ID, RequestID: "r", Type: "erasure"}), store.ErrInvalid)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListPropagations(a.ID, "r1")
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Fatalf("invalid rows were written: %+v", got)
		}
		return nil
	})
}

func testRecipientEndpoints(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "rep-a"), NewTenant(t, s, "rep-b")
	e := store.RecipientEndpoint{TenantID: a.ID, Recipient: "stripe", Host: "hooks.stripe.example", Sealed: []byte("sealed-1"),
		Ack: store.AckCallback, Actor: "apikey:1", CreatedAt: t0, UpdatedAt: t0}
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutRecipientEndpoint(e); err != nil {
			return err
		}
		if err := tx.PutRecipientEndpoint(store.RecipientEndpoint{TenantID: a.ID, Recipient: "_application", Host: "app.example",
			Sealed: []byte("sealed-app"), Ack: store.AckOnDelivery, CreatedAt: t0}); err != nil {
			return err
		}
		// Replacing keeps the creation time.
		e2 := e
		e2.Sealed, e2.Ack, e2.Host, e2.CreatedAt, e2.UpdatedAt = []byte("sealed-2"), store.AckOnDelivery, "new.example", t0.Add(time.Hour), t0.Add(time.Hour)
		if err := tx.PutRecipientEndpoint(e2); err != nil {
			return err
		}
		wantErr(t, tx.PutRecipientEndpoint(store.RecipientEndpoint{TenantID: store.NewID(), Recipient: "x", Host: "h", Sealed: []byte{1}, Ack: store.AckCallback}), store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRecipientEndpoint(a.ID, "stripe")
		if err != nil {
			return err
		}
		if !bytes.Equal(got.Sealed, []byte("sealed-2")) || got.Ack != store.AckOnDelivery || got.Host != "new.example" ||
			!got.CreatedAt.Equal(us(t0)) || !got.UpdatedAt.Equal(us(t0.Add(time.Hour))) {
			t.Fatalf("endpoint = %+v", got)
		}
		list, err := tx.ListRecipientEndpoints(a.ID)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Recipient != "_application" || list[1].Recipient != "stripe" {
			t.Fatalf("list = %+v", list)
		}
		other, err := tx.ListRecipientEndpoints(b.ID)
		if err != nil {
			return err
		}
		if len(other) != 0 {
			t.Fatalf("tenant b sees %d endpoints", len(other))
		}
		_, err = tx.GetRecipientEndpoint(b.ID, "stripe")
		wantErr(t, err, store.ErrNotFound)
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		wantErr(t, tx.DeleteRecipientEndpoint(b.ID, "stripe"), store.ErrNotFound)
		if err := tx.DeleteRecipientEndpoint(a.ID, "stripe"); err != nil {
			return err
		}
		wantErr(t, tx.DeleteRecipientEndpoint(a.ID, "stripe"), store.ErrNotFound)
		return nil
	})
}
