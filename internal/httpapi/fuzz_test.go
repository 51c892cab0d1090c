package httpapi_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/auth"
)

// FuzzRequestBodies sends arbitrary bytes to the JSON endpoints that take a
// body. Whatever arrives, the answer is a success or a 4xx problem — never a
// 5xx, a panic or a hang — and bad input changes nothing (checked by the
// unit tests; here the property is "no crash, no server error").
func FuzzRequestBodies(f *testing.F) {
	e := newEnv(f, "sqlite:"+filepath.Join(f.TempDir(), "fuzz.db"))
	e.applyExample("learning-saas.yaml")
	id := e.createPerson(1)
	seeds := []string{
		`{"fields":{"email":"a@example.com"}}`,
		`{"fields":{"email":"a@example.com","name":"A"},"anonymous":false}`,
		`{"anonymous":true,"fields":{}}`,
		`{"fields":{"email":null}}`,
		`{"fields":{"email":["x"]}}`,
		`{"subject":"` + id + `","purpose":"account","categories":["user.name"]}`,
		`{"requests":[{"subject":"x","purpose":"y","categories":[]}]}`,
		`{"data":{"a":1}}`,
		"{\"fields\":{\"name\":\"\xff\"}}",
		`{`, `[]`, `null`, ``, `{"fields":{"email":"` + strings.Repeat("a", 300) + `@example.com"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	svc := e.keys[auth.RoleService]
	f.Fuzz(func(t *testing.T, body []byte) {
		e.t = t // targets run one at a time within a worker
		for _, target := range []struct{ method, path string }{
			{"POST", "/v1/subjects"},
			{"PATCH", "/v1/subjects/" + id},
			{"POST", "/v1/decisions"},
			{"POST", "/v1/subjects/" + id + "/collections/orders"},
			{"POST", "/v1/subjects/" + id + "/consents"},
		} {
			r := e.do(target.method, target.path, svc, "application/json", body)
			if r.status >= 500 {
				t.Fatalf("%s %s with %q: %d %s", target.method, target.path, body, r.status, r.body)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s: error without a problem body: %d %s", target.method, target.path, r.status, r.header.Get("Content-Type"))
			}
		}
	})
}
