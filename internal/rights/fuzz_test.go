package rights_test

import (
	"errors"
	"testing"

	"github.com/trustee-privacy/trustee/examples"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/rights"
)

func examplePolicy(t testing.TB) *policy.Document {
	src, _ := examples.File("learning-saas.yaml")
	doc, err := policy.Load("learning-saas.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder and the
// policy validator: they must never panic, and what they accept must be a
// known type in a jurisdiction of the policy with only the details the type
// uses.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"access","identity":{"kind":"email","value":"a@example.com"}}`,
		`{"type":"rectification","subject_id":"01900000-0000-7000-8000-000000000000","fields":{"name":"X"}}`,
		`{"type":"restriction","identity":{"kind":"phone","value":"+4722000000"},"ground":"accuracy_contested","categories":["user.contact"]}`,
		`{"type":"objection","identity":{"kind":"email","value":"a@example.com"},"objection_kind":"direct_marketing","purpose":"newsletter"}`,
		`{"type":"portability","identity":{"kind":"email","value":"a@example.com"},"transmit_url":"https://other.example/import"}`,
		`{"type":"ccpa_delete","jurisdiction":"ccpa","channel":"staff","staff_via":"letter","identity":{"kind":"external_id","value":"u-1"}}`,
		`{"type":"erasure","fields":{"x":1},"unknown":true}`,
		`{"type":"access"} trailing`, `[]`, `null`, `{"type":7}`,
	} {
		f.Add([]byte(s))
	}
	doc := examplePolicy(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := rights.DecodeInput(body)
		if err != nil {
			var ie *rights.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("decode error %T is not an InputError", err)
			}
			return
		}
		if err := rights.Validate(doc, &in); err != nil {
			var ie *rights.InputError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("validate error %v is not an InputError", err)
			}
			return
		}
		j := policy.Jurisdiction(in.Jurisdiction)
		if !doc.Applies(j) {
			t.Fatalf("accepted jurisdiction %q", in.Jurisdiction)
		}
		if in.Identity == nil && in.SubjectID == "" {
			t.Fatal("accepted a request without identity")
		}
		if len(in.Fields) > 0 && in.Type != "rectification" && in.Type != "ccpa_correct" {
			t.Fatalf("accepted fields on %s", in.Type)
		}
	})
}

func TestValidate(t *testing.T) {
	doc := examplePolicy(t)
	for _, tc := range []struct {
		body, field string
	}{
		{`{"type":"nope","identity":{"kind":"email","value":"a@example.com"}}`, "type"},
		{`{"type":"access"}`, "identity"},
		{`{"type":"access","identity":{"kind":"email","value":"not an email"}}`, "identity.value"},
		{`{"type":"access","identity":{"kind":"ssn","value":"1"}}`, "identity.kind"},
		{`{"type":"access","jurisdiction":"uk_gdpr","identity":{"kind":"email","value":"a@example.com"}}`, "jurisdiction"},
		{`{"type":"ccpa_know","jurisdiction":"gdpr","identity":{"kind":"email","value":"a@example.com"}}`, "jurisdiction"},
		{`{"type":"access","jurisdiction":"ccpa","identity":{"kind":"email","value":"a@example.com"}}`, "type"},
		{`{"type":"access","channel":"staff","identity":{"kind":"email","value":"a@example.com"}}`, "staff_via"},
		{`{"type":"access","categories":["user.contact"],"identity":{"kind":"email","value":"a@example.com"}}`, "categories"},
		{`{"type":"erasure","categories":["user.nope"],"identity":{"kind":"email","value":"a@example.com"}}`, "categories"},
		{`{"type":"rectification","identity":{"kind":"email","value":"a@example.com"}}`, "fields"},
		{`{"type":"rectification","fields":{"shoe_size":"44"},"identity":{"kind":"email","value":"a@example.com"}}`, "fields"},
		{`{"type":"restriction","identity":{"kind":"email","value":"a@example.com"}}`, "ground"},
		{`{"type":"objection","identity":{"kind":"email","value":"a@example.com"}}`, "objection_kind"},
		{`{"type":"portability","transmit_url":"http://x.example","identity":{"kind":"email","value":"a@example.com"}}`, "transmit_url"},
		{`{"type":"withdraw_consent","purpose":"nope","identity":{"kind":"email","value":"a@example.com"}}`, "purpose"},
	} {
		in, err := rights.DecodeInput([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.body, err)
		}
		wantInput(t, rights.Validate(doc, &in), tc.field)
	}
	if _, err := rights.DecodeInput([]byte(`{"type":"access","bogus":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
}
