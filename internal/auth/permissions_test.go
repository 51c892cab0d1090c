package auth

import (
	"reflect"
	"slices"
	"testing"
)

var allPermissions = []Permission{PermPolicyRead, PermPolicyWrite, PermKeysManage, PermMetricsRead, PermJobsRead,
	PermSubjectsRead, PermSubjectsWrite, PermSubjectsErase, PermDecide, PermAuditRead}

func TestPermissionMatrix(t *testing.T) {
	const (
		y = true
		n = false
	)
	// Columns: policy:read, policy:write, apikeys:manage, metrics:read, jobs:read,
	// subjects:read, subjects:write, subjects:erase, decisions:read, audit:read.
	want := map[Role][]bool{
		RoleAdmin:   {y, y, y, y, y, y, y, y, y, y},
		RoleDPO:     {y, y, n, n, y, y, y, y, y, y},
		RoleAgent:   {y, n, n, n, n, y, y, n, y, n},
		RoleService: {y, n, n, n, n, y, y, y, y, n},
		RoleAuditor: {y, n, n, y, y, n, n, n, n, y},
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
			if !slices.Contains(allPermissions, perm) {
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
