package decide_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

func TestRequestQueries(t *testing.T) {
	one := decide.Query{Subject: "s1", Purpose: "service", Categories: []string{"user.contact.email"}}
	cases := []struct {
		name string
		body string
		want []decide.Query
		err  error
	}{
		{"single", `{"subject":"s1","purpose":"service","categories":["user.contact.email"]}`, []decide.Query{one}, nil},
		{"batch", `{"requests":[{"subject":"s1","purpose":"service","categories":["user.contact.email"]},{"subject":"s2","purpose":"newsletter","items":["email"]}]}`,
			[]decide.Query{one, {Subject: "s2", Purpose: "newsletter", Items: []string{"email"}}}, nil},
		{"both", `{"subject":"s1","requests":[{"subject":"s2"}]}`, nil, decide.ErrAmbiguous},
		{"neither", `{}`, nil, decide.ErrEmptyQuery},
		{"too many", `{"requests":[` + strings.Repeat(`{"subject":"s"},`, decide.MaxBatch) + `{"subject":"s"}]}`, nil, errors.New("at most")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r decide.Request
			if err := json.Unmarshal([]byte(c.body), &r); err != nil {
				t.Fatal(err)
			}
			got, err := r.Queries()
			switch {
			case c.err == nil && err != nil:
				t.Fatalf("Queries: %v", err)
			case c.err != nil && err == nil:
				t.Fatalf("Queries = %+v, want error %v", got, c.err)
			case c.err != nil && !errors.Is(err, c.err) && !strings.Contains(err.Error(), c.err.Error()):
				t.Fatalf("Queries error %v, want %v", err, c.err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("Queries = %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i].Subject != c.want[i].Subject || got[i].Purpose != c.want[i].Purpose ||
					strings.Join(got[i].Categories, ",") != strings.Join(c.want[i].Categories, ",") ||
					strings.Join(got[i].Items, ",") != strings.Join(c.want[i].Items, ",") {
					t.Errorf("query %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		q    decide.Query
		want []error
	}{
		{"valid", decide.Query{Subject: "s", Purpose: "service", Categories: []string{"user.contact.email"}, Items: []string{"email", "orders"}}, nil},
		{"no categories or items", decide.Query{Subject: "s", Purpose: "service"}, []error{decide.ErrEmptyQuery}},
		{"no subject", decide.Query{Purpose: "service", Categories: []string{"user"}}, []error{decide.ErrEmptyQuery}},
		{"every problem at once", decide.Query{Subject: "s", Purpose: "nope", Categories: []string{"user.nope", "user"}, Items: []string{"nope"}},
			[]error{decide.ErrUnknownPurpose, decide.ErrUnknownCategory, decide.ErrUnknownItem}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decide.Check(doc, c.q)
			if len(c.want) == 0 && err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("Check error %v does not include %v", err, w)
				}
			}
		})
	}
	if err := decide.Check(nil, decide.Query{}); !errors.Is(err, decide.ErrNoPolicy) {
		t.Errorf("Check without policy: %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	s := decide.Snapshot(store.Subject{State: store.SubjectErased}, store.Controls{
		Holds: []store.LegalHold{{ID: "h1", Purpose: "service", Collections: []string{"orders"}, Reason: "claim"}},
	}, nil)
	q := decide.Query{Subject: "s1", Purpose: "service", Categories: []string{"user.behavior.purchase_history", "user.health"}, Items: []string{"orders", "email"}}
	a, err := decide.Evaluate(doc, q, s, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		item, cat string
		reason    decide.Reason
	}{
		{"", "user.behavior.purchase_history", decide.SubjectErased}, // a category knows no collection
		{"", "user.health", decide.NotInPurpose},
		{"orders", "user.behavior.purchase_history", ""}, // held by collection for service
		{"email", "user.contact.email", decide.SubjectErased},
	}
	if a.Subject != "s1" || a.Purpose != "service" || a.Allowed || len(a.Results) != len(want) {
		t.Fatalf("Evaluate = %+v", a)
	}
	for i, w := range want {
		if d := a.Results[i]; d.Item != w.item || d.Category != w.cat || d.Reason != w.reason {
			t.Errorf("result %d = %+v, want %+v", i, d, w)
		}
	}
	ok, err := decide.Evaluate(doc, decide.Query{Subject: "s1", Purpose: "bookkeeping", Items: []string{"orders"}}, s, now)
	if err != nil || !ok.Allowed {
		t.Errorf("bookkeeping on held orders: %+v, %v", ok, err)
	}
	if _, err := decide.Evaluate(doc, decide.Query{Subject: "s1", Purpose: "nope", Items: []string{"email"}}, s, now); !errors.Is(err, decide.ErrUnknownPurpose) {
		t.Errorf("unknown purpose: %v", err)
	}

	// The JSON shape the HTTP endpoint returns.
	b, err := json.Marshal(decide.Response{Decisions: []decide.Answer{a}})
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"decisions":[{"subject":"s1","purpose":"service","allowed":false,"results":[` +
		`{"category":"user.behavior.purchase_history","allowed":false,"reason":"subject_erased","detail":"the subject has been erased"},` +
		`{"category":"user.health","allowed":false,"reason":"not_in_purpose","detail":"the purpose does not use this data category"},` +
		`{"item":"orders","category":"user.behavior.purchase_history","allowed":true},` +
		`{"item":"email","category":"user.contact.email","allowed":false,"reason":"subject_erased","detail":"the subject has been erased"}]}]}`
	if string(b) != wantJSON {
		t.Errorf("JSON\n got %s\nwant %s", b, wantJSON)
	}
}

func TestSnapshot(t *testing.T) {
	c := store.Controls{Consents: []store.ConsentState{{Purpose: store.PurposeSaleShare, Kind: store.ConsentWithdrawn, EventID: "gpc-1"}}}
	s := decide.Snapshot(store.Subject{State: store.SubjectActive, AgeStatus: decide.AgeMinorConsented}, c, map[string]int{"newsletter": 2})
	if s.State != store.SubjectActive || s.AgeStatus != decide.AgeMinorConsented || s.ConsentValidSince["newsletter"] != 2 || len(s.Controls.Consents) != 1 {
		t.Errorf("Snapshot = %+v", s)
	}
	if !decide.OptedOutOfSaleShare(&s.Controls) {
		t.Error("ledger opt-out not seen")
	}
	d := mustDecideItem(t, doc, "li_sale", s, itEmail)
	if d.Reason != decide.OptedOut || d.Ref != "gpc-1" {
		t.Errorf("decision = %+v, want opted_out by gpc-1", d)
	}
}
