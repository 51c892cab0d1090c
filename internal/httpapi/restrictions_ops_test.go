package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/auth"
)

// TestRestrictionLiftAPI: a restriction placed by an approved request is
// listed, and lifting it is scheduled after the person is told; bad input,
// the wrong role and another tenant change nothing.
func TestRestrictionLiftAPI(t *testing.T) {
	e := sqliteEnv(t)
	e.applyExample("learning-saas.yaml")
	sub := e.createPerson(3)
	dpo := e.keys[auth.RoleDPO]
	r := e.do("POST", "/v1/requests", dpo, "application/json",
		[]byte(`{"type":"restriction","subject_id":"`+sub+`","ground":"accuracy_contested","categories":["user.contact"],"channel":"staff","staff_via":"letter"}`))
	if r.status != 201 {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if r := e.do("POST", "/v1/requests/"+id+"/verify", dpo, "application/json", []byte(`{"method":"manual","checked":"signed letter"}`)); r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/requests/"+id+"/approve", dpo, "", nil); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/subjects/"+sub+"/restrictions", dpo, "", nil)
	var list struct {
		Restrictions []struct {
			ID       string     `json:"id"`
			Ground   string     `json:"ground"`
			LiftedAt *time.Time `json:"lifted_at"`
		} `json:"restrictions"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil || len(list.Restrictions) != 1 || list.Restrictions[0].Ground != "accuracy_contested" {
		t.Fatalf("restrictions: %d %s", r.status, r.body)
	}
	rid := list.Restrictions[0].ID
	path := "/v1/subjects/" + sub + "/restrictions/" + rid + "/lift"
	problemOK(t, e.do("POST", path, dpo, "application/json", []byte(`{"reason":"checked","at":"2020-01-01T00:00:00Z"}`)), 422, "validation")
	problemOK(t, e.do("POST", path, dpo, "application/json", []byte(`{}`)), 422, "validation")
	problemOK(t, e.do("POST", path, e.keys[auth.RoleAgent], "application/json", []byte(`{"reason":"checked"}`)), 403, "forbidden")
	problemOK(t, e.do("POST", path, e.other, "application/json", []byte(`{"reason":"checked"}`)), 404, "not-found")
	r = e.do("POST", path, dpo, "application/json", []byte(`{"reason":"We verified your address."}`))
	if r.status != 202 || r.json(t)["notice"] != "email" {
		t.Fatalf("lift: %d %s", r.status, r.body)
	}
	if lifts, _ := time.Parse(time.RFC3339, r.json(t)["lifts_at"].(string)); lifts.Before(time.Now().Add(6 * 24 * time.Hour)) {
		t.Errorf("default lift time %v is not about a week away", lifts)
	}
	// Not lifted yet: the person has a week to answer.
	r = e.do("GET", "/v1/subjects/"+sub+"/restrictions", dpo, "", nil)
	if json.Unmarshal(r.body, &list) != nil || list.Restrictions[0].LiftedAt != nil {
		t.Fatalf("lifted at once: %s", r.body)
	}
}
