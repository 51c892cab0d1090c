package auth

import (
	"reflect"
	"slices"
	"testing"
)

var allPermissions = []Permission{PermPolicyRead, PermPolicyWrite, PermKeysManage, PermMetricsRead, PermJobsRead,
	PermSubjectsRead, PermSubjectsWrite, PermSubjectsErase, PermDecide, PermAuditRead, PermStaffManage}

func TestPermissionMatrix(t *testing.T) {
	const (
		y = true
		n = false
	)
	// Columns: policy:read, policy:write, apikeys:manage, metrics:read, jobs:read,
	// subjects:read, subjects:write, subjects:erase, decisions:read, audit:read,
	// staff:manage.
	want := map[Role][]bool{
		RoleAdmin:   {y, y, y, y, y, y, y, y, y, y, y},
		RoleDPO:     {y, y, n, n, y, y, y, y, y, y, n},
		RoleAgent:   {y, n, n, n, n, y, y, n, y, n, n},
		RoleService: {y, n, n, n, n, y, y, y, y, n, n},
		RoleAuditor: {y, n, n, y, y, n, n, n, n, y, n},
	}
	if len(want) != len(Roles) {
		t.Fatalf("table has %d roles, Roles has %d", len(want), len(Roles))
	}
	for _, role := range Roles {
		row, ok := want[role]
		if !ok {
			t.Fatalf("role %q missing from the table", role)
		}
		for i, perm := range allPermissions {
			if got := Allowed(role, perm); got != row[i] {
				t.Errorf("Allowed(%s, %s) = %v, want %v", role, perm, got, row[i])
			}
		}
	}
	// A permission added to the matrix must be added to this test.
	for role, perms := range matrix {
		if !slices.Contains(Roles, role) {
			t.Errorf("matrix has role %q that is not in Roles", role)
		}
		for perm := range perms {
			if !slices.Contains(allPermissions, perm) && !slices.Contains(consentPermissions, perm) && perm != PermOutboxManage &&
				!slices.Contains(retentionPermissions, perm) && perm != PermBreaches && perm != PermRecipientsManage &&
				!slices.Contains(requestPermissions, perm) {
				t.Errorf("matrix grants %q, which this test does not know", perm)
			}
		}
	}
}

func TestPermissionInvariants(t *testing.T) {
	// An auditor reads records, never personal data, and changes nothing.
	for _, perm := range []Permission{PermPolicyWrite, PermKeysManage, PermSubjectsRead, PermSubjectsWrite, PermSubjectsErase, PermDecide} {
		if Allowed(RoleAuditor, perm) {
			t.Errorf("auditor has %s", perm)
		}
	}
	if got := RolesWith(PermKeysManage); !reflect.DeepEqual(got, []Role{RoleAdmin}) {
		t.Errorf("RolesWith(apikeys:manage) = %v, want only admin", got)
	}
	for _, perm := range allPermissions {
		if !Allowed(RoleAdmin, perm) {
			t.Errorf("admin lacks %s", perm)
		}
	}
	// Unknown roles and permissions grant nothing.
	for _, perm := range allPermissions {
		for _, role := range []Role{"", "root", "Admin"} {
			if Allowed(role, perm) {
				t.Errorf("Allowed(%q, %s) = true", role, perm)
			}
		}
	}
	for _, role := range Roles {
		if Allowed(role, "policy:delete") || Allowed(role, "") {
			t.Errorf("%s has an unknown permission", role)
		}
	}
	if got := RolesWith("policy:delete"); len(got) != 0 {
		t.Errorf("RolesWith(unknown) = %v", got)
	}
}

func TestRolesWith(t *testing.T) {
	cases := []struct {
		perm Permission
		want []Role
	}{
		{PermPolicyRead, []Role{RoleAdmin, RoleDPO, RoleAgent, RoleService, RoleAuditor}},
		{PermPolicyWrite, []Role{RoleAdmin, RoleDPO}},
		{PermKeysManage, []Role{RoleAdmin}},
		{PermMetricsRead, []Role{RoleAdmin, RoleAuditor}},
		{PermJobsRead, []Role{RoleAdmin, RoleDPO, RoleAuditor}},
	}
	for _, c := range cases {
		got := RolesWith(c.perm)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("RolesWith(%s) = %v, want %v", c.perm, got, c.want)
		}
		// Consistent with Allowed, in the order of Roles.
		for _, role := range Roles {
			if Allowed(role, c.perm) != slices.Contains(got, role) {
				t.Errorf("RolesWith(%s) and Allowed(%s) disagree", c.perm, role)
			}
		}
	}
}

// consentPermissions are the consent capability's permissions, checked in
// their own table so the matrix above keeps its columns.
var consentPermissions = []Permission{PermConsentsWrite, PermConsentsRead, PermAudienceRead}

func TestConsentPermissions(t *testing.T) {
	const (
		y = true
		n = false
	)
	// Columns: consents:write, consents:read, audience:read. Support staff
	// record and read choices; only the backend and the privacy team list
	// audiences; an auditor sees no consent records (they hold proof such
	// as user agents and hashed addresses).
	want := map[Role][]bool{
		RoleAdmin:   {y, y, y},
		RoleDPO:     {y, y, y},
		RoleAgent:   {y, y, n},
		RoleService: {y, y, y},
		RoleAuditor: {n, n, n},
	}
	checkTable(t, consentPermissions, want)
}

// TestOutboxPermission: only the people who answer for deliveries — admin
// and DPO — see the outbox and retry or close its messages.
func TestOutboxPermission(t *testing.T) {
	want := map[Role]bool{RoleAdmin: true, RoleDPO: true, RoleAgent: false, RoleService: false, RoleAuditor: false}
	checkColumn(t, PermOutboxManage, want)
}

// retentionPermissions are the permissions of retention and legal holds,
// tested in their own table.
var retentionPermissions = []Permission{PermRetentionRead, PermRetentionRun, PermLegalHolds}

func TestRetentionPermissions(t *testing.T) {
	const (
		y = true
		n = false
	)
	// Columns: retention:read, retention:run, legal_holds:manage. The plan
	// holds counts, no personal data, so an auditor may read it; running a
	// sweep and placing holds change what is kept, so only DPOs and admins.
	want := map[Role][]bool{
		RoleAdmin:   {y, y, y},
		RoleDPO:     {y, y, y},
		RoleAgent:   {n, n, n},
		RoleService: {n, n, n},
		RoleAuditor: {y, n, n},
	}
	checkTable(t, retentionPermissions, want)
}

// TestBreachPermissions: the breach register (who was affected, notices to
// them) is for DPOs and admins only.
func TestBreachPermissions(t *testing.T) {
	want := map[Role]bool{RoleAdmin: true, RoleDPO: true, RoleAgent: false, RoleService: false, RoleAuditor: false}
	checkColumn(t, PermBreaches, want)
}

// TestRecipientsPermissions: recipient endpoints hold signing secrets and
// decide where notices about people go, so only DPOs and admins set them.
func TestRecipientsPermissions(t *testing.T) {
	want := map[Role]bool{RoleAdmin: true, RoleDPO: true, RoleAgent: false, RoleService: false, RoleAuditor: false}
	checkColumn(t, PermRecipientsManage, want)
}

// requestPermissions are the permissions of the data-subject request
// workflow, tested in their own table.
var requestPermissions = []Permission{PermRequestsRead, PermRequestsWrite, PermRequestsDecide}

func TestRequestPermissions(t *testing.T) {
	const (
		y = true
		n = false
	)
	// Columns: requests:read, requests:write, requests:decide. Support
	// agents and the application take requests in and follow them; only
	// the privacy team (DPO) and admins decide. An auditor sees no
	// requests (they hold what people asked for).
	want := map[Role][]bool{
		RoleAdmin:   {y, y, y},
		RoleDPO:     {y, y, y},
		RoleAgent:   {y, y, n},
		RoleService: {y, y, n},
		RoleAuditor: {n, n, n},
	}
	checkTable(t, requestPermissions, want)
}

// checkTable compares the matrix with a capability's table: per role, one
// column per permission in perms. Every role must have a row.
func checkTable(t *testing.T, perms []Permission, want map[Role][]bool) {
	t.Helper()
	for _, role := range Roles {
		row, ok := want[role]
		if !ok || len(row) != len(perms) {
			t.Fatalf("role %q missing from the table, or its row has the wrong width", role)
		}
		for i, perm := range perms {
			if got := Allowed(role, perm); got != row[i] {
				t.Errorf("Allowed(%s, %s) = %v, want %v", role, perm, got, row[i])
			}
		}
	}
}

// checkColumn is checkTable for a capability with one permission.
func checkColumn(t *testing.T, perm Permission, want map[Role]bool) {
	t.Helper()
	table := map[Role][]bool{}
	for r, w := range want {
		table[r] = []bool{w}
	}
	checkTable(t, []Permission{perm}, table)
}
