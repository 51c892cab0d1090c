package auth

// Permission is one kind of action an API operation needs. Operations name a
// permission, never a role, so the question "who may do this?" is answered
// here and nowhere else.
type Permission string

// Permissions known so far. Later capabilities add theirs here and to the
// matrix below.
const (
	// PermPolicyRead: read the policy, its versions, the notice and the ROPA.
	PermPolicyRead Permission = "policy:read"
	// PermPolicyWrite: validate and apply a new policy version.
	PermPolicyWrite Permission = "policy:write"
	// PermKeysManage: create, list and revoke the tenant's API keys.
	PermKeysManage Permission = "apikeys:manage"
	// PermMetricsRead: scrape operational metrics (no personal data).
	PermMetricsRead Permission = "metrics:read"
	// PermJobsRead: see background jobs and their failures.
	PermJobsRead Permission = "jobs:read"
	// PermSubjectsRead: read personal data for a purpose.
	PermSubjectsRead Permission = "subjects:read"
	// PermSubjectsWrite: create subjects, rectify fields, append records.
	PermSubjectsWrite Permission = "subjects:write"
	// PermSubjectsErase: erase a subject and destroy its key.
	PermSubjectsErase Permission = "subjects:erase"
	// PermDecide: ask whether a purpose may use a subject's data.
	PermDecide Permission = "decisions:read"
	// PermAuditRead: list the audit log and verify its integrity.
	PermAuditRead Permission = "audit:read"
	// PermStaffManage: create, disable and reset the admin console's staff
	// accounts (the console's counterpart of apikeys:manage).
	PermStaffManage Permission = "staff:manage"
	// PermConsentsWrite: record consent choices, withdrawals, CCPA
	// opt-outs, direct-marketing objections and suppressions.
	PermConsentsWrite Permission = "consents:write"
	// PermConsentsRead: read a subject's consent state and history, and
	// consent receipts.
	PermConsentsRead Permission = "consents:read"
	// PermAudienceRead: list the subjects a purpose may use now (send
	// lists); ids only, no values.
	PermAudienceRead Permission = "audience:read"
	// PermOutboxManage: see queued, delivered and dead-lettered emails and
	// webhooks (metadata only), retry them now, or mark them handled by
	// hand.
	PermOutboxManage Permission = "outbox:manage"
	// PermRetentionRead: see what retention will delete or anonymise (the
	// plan: counts per rule, no values).
	PermRetentionRead Permission = "retention:read"
	// PermRetentionRun: run the retention sweep now.
	PermRetentionRun Permission = "retention:run"
	// PermLegalHolds: place, list and release legal holds, which keep data
	// from erasure and expiry.
	PermLegalHolds Permission = "legal_holds:manage"
	// PermBreaches: record personal data breaches, compute who is
	// affected, assess the risk, notify the authority and the people
	// (GDPR Art. 33-34).
	PermBreaches Permission = "breaches:manage"
	// PermRecipientsManage: configure the webhook endpoints (and their
	// signing secrets) through which recipients are told of
	// rectifications, erasures and restrictions (GDPR Art. 19).
	PermRecipientsManage Permission = "recipients:manage"
	// PermRequestsRead: see data-subject requests, their history and due
	// dates (the request queue).
	PermRequestsRead Permission = "requests:read"
	// PermRequestsWrite: take in requests (for a person, by phone or
	// letter), verify identities, record withdrawals.
	PermRequestsWrite Permission = "requests:write"
	// PermRequestsDecide: approve, extend, refuse and complete requests,
	// record a processor's customer's instruction, fetch exports.
	PermRequestsDecide Permission = "requests:decide"
)

var matrix = map[Role]map[Permission]bool{
	RoleAdmin: {
		PermPolicyRead: true, PermPolicyWrite: true, PermKeysManage: true,
		PermMetricsRead: true, PermJobsRead: true,
		PermSubjectsRead: true, PermSubjectsWrite: true, PermSubjectsErase: true, PermDecide: true,
		PermAuditRead: true, PermStaffManage: true,

		PermConsentsWrite: true, PermConsentsRead: true, PermAudienceRead: true,

		PermOutboxManage: true,

		PermRetentionRead: true, PermRetentionRun: true, PermLegalHolds: true,

		PermBreaches: true,

		PermRecipientsManage: true,

		PermRequestsRead: true, PermRequestsWrite: true, PermRequestsDecide: true,
	},
	RoleDPO: {
		PermPolicyRead: true, PermPolicyWrite: true, PermJobsRead: true,
		PermSubjectsRead: true, PermSubjectsWrite: true, PermSubjectsErase: true, PermDecide: true,
		PermAuditRead: true,

		PermConsentsWrite: true, PermConsentsRead: true, PermAudienceRead: true,

		PermOutboxManage: true,

		PermRetentionRead: true, PermRetentionRun: true, PermLegalHolds: true,

		PermBreaches: true,

		PermRecipientsManage: true,

		PermRequestsRead: true, PermRequestsWrite: true, PermRequestsDecide: true,
	},
	RoleAgent: {
		PermPolicyRead:   true,
		PermSubjectsRead: true, PermSubjectsWrite: true, PermDecide: true,

		PermConsentsWrite: true, PermConsentsRead: true,

		PermRequestsRead: true, PermRequestsWrite: true,
	},
	RoleService: {
		PermPolicyRead:   true,
		PermSubjectsRead: true, PermSubjectsWrite: true, PermSubjectsErase: true, PermDecide: true,

		PermConsentsWrite: true, PermConsentsRead: true, PermAudienceRead: true,

		PermRequestsRead: true, PermRequestsWrite: true,
	},
	RoleAuditor: {
		PermPolicyRead: true, PermMetricsRead: true, PermJobsRead: true,
		PermAuditRead: true,

		PermRetentionRead: true,
	},
}

// Allowed reports whether role may perform actions needing perm.
func Allowed(role Role, perm Permission) bool {
	return matrix[role][perm]
}

// RolesWith lists the roles that hold perm, for documentation and error
// messages ("needs one of: admin, dpo").
func RolesWith(perm Permission) []Role {
	var out []Role
	for _, r := range Roles {
		if matrix[r][perm] {
			out = append(out, r)
		}
	}
	return out
}
