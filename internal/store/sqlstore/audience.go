package sqlstore

import (
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// ---- renewal marks ----

func (t *dataTx) AddConsentRenewal(r store.ConsentRenewal) error {
	const op = "add consent renewal"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", r.TenantID); err != nil {
		return err
	}
	if err := checkID(op, "purpose", r.Purpose); err != nil {
		return err
	}
	if r.SinceVersion < 1 {
		return invalid(op, "since version must be at least 1")
	}
	if err := checkText(op, "reason", r.Reason, false); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	if err := t.tenantExists(op, r.TenantID); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `INSERT INTO consent_renewals (tenant_id, purpose, since_version, reason, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.TenantID, r.Purpose, r.SinceVersion, r.Reason, micros(r.CreatedAt))
	return err
}

func (t *dataTx) ConsentValidSince(tenantID string) (map[string]int, error) {
	const op = "consent valid since"
	rows, err := t.c.Query(op, `SELECT purpose, MAX(since_version) FROM consent_renewals WHERE tenant_id = ? GROUP BY purpose`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[string]int
	for rows.Next() {
		var p string
		var v int
		if err := rows.Scan(&p, &v); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		if out == nil {
			out = map[string]int{}
		}
		out[p] = v
	}
	return out, t.c.Wrap(op, rows.Err())
}

// ---- the site registry ----

func (t *dataTx) SetConsentSites(tenantID string, keys []string, version int, at time.Time) error {
	const op = "set consent sites"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", tenantID); err != nil {
		return err
	}
	if len(keys) > maxInList {
		return invalid(op, "too many sites")
	}
	for _, k := range keys {
		if err := checkID(op, "site key", k); err != nil {
			return err
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	// Refuse before changing anything, so the caller may go on after a
	// conflict; the upsert's guard below covers a concurrent claim.
	if len(keys) > 0 {
		args := []any{tenantID}
		for _, k := range padIn(keys) {
			args = append(args, k)
		}
		var other string
		err := t.c.QueryRow(op, `SELECT site_key FROM consent_sites WHERE tenant_id <> ? AND site_key IN (`+placeholders(len(args)-1)+`) LIMIT 1`, args, &other)
		switch {
		case err == nil:
			return &Error{Op: op, Kind: store.ErrConflict, Detail: "site key used by another tenant", Err: &store.SiteConflict{Key: other}}
		case !isNotFound(err):
			return err
		}
	}
	q := `DELETE FROM consent_sites WHERE tenant_id = ?`
	args := []any{tenantID}
	if len(keys) > 0 {
		q += ` AND site_key NOT IN (` + placeholders(len(padIn(keys))) + `)`
		for _, k := range padIn(keys) {
			args = append(args, k)
		}
	}
	if _, err := t.c.Exec(op, q, args...); err != nil {
		return err
	}
	for _, k := range keys {
		n, err := t.c.ExecAffected(op, `INSERT INTO consent_sites (site_key, tenant_id, policy_version, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (site_key) DO UPDATE SET policy_version = excluded.policy_version, updated_at = excluded.updated_at
			WHERE consent_sites.tenant_id = excluded.tenant_id`, k, tenantID, version, micros(at))
		if err != nil {
			return err
		}
		if n == 0 {
			return &Error{Op: op, Kind: store.ErrConflict, Detail: "site key used by another tenant", Err: &store.SiteConflict{Key: k}}
		}
	}
	return nil
}

func (t *dataTx) ConsentSiteByKey(key string) (store.ConsentSite, error) {
	var s store.ConsentSite
	var at int64
	err := t.c.QueryRow("consent site", `SELECT site_key, tenant_id, policy_version, updated_at FROM consent_sites WHERE site_key = ?`,
		[]any{key}, &s.Key, &s.TenantID, &s.PolicyVersion, &at)
	s.UpdatedAt = fromMicros(at)
	return s, err
}

// ---- audiences ----

// maxAudiencePage bounds one page of audience candidates.
const maxAudiencePage = 5000

// audienceFilters are the conditions on subject s shared by both shapes
// of the candidate query. Each NOT EXISTS is skipped for subjects without
// controls (has_controls = 0), which is most of them for a purpose not
// based on consent.
func audienceFilters(q store.AudienceQuery) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(` AND s.state = 'active'`)
	if q.ExcludeMinors {
		b.WriteString(` AND s.age_status <> 'minor'`)
	}
	if q.CheckObjections {
		b.WriteString(` AND (s.has_controls = 0 OR NOT EXISTS (SELECT 1 FROM objections o
			WHERE o.tenant_id = s.tenant_id AND o.subject_id = s.id AND o.status IN ('upheld', 'pending')
			AND (o.purpose = ?`)
		args = append(args, q.Purpose)
		if len(q.ObjectionKinds) > 0 {
			b.WriteString(` OR (o.purpose = '' AND o.kind IN (` + placeholders(len(q.ObjectionKinds)) + `))`)
			for _, k := range q.ObjectionKinds {
				args = append(args, k)
			}
		}
		b.WriteString(`)))`)
	}
	if q.ExcludeSaleShareOptOut {
		b.WriteString(` AND (s.has_controls = 0 OR NOT EXISTS (SELECT 1 FROM consent_events c
			WHERE c.tenant_id = s.tenant_id AND c.subject_id = s.id AND c.purpose = ? AND c.kind = 'withdrawn'
			AND NOT EXISTS (SELECT 1 FROM consent_events n WHERE n.tenant_id = c.tenant_id AND n.subject_id = c.subject_id
				AND n.purpose = c.purpose AND (n.occurred_at, n.id) > (c.occurred_at, c.id))))`)
		args = append(args, store.PurposeSaleShare)
	}
	return b.String(), args
}

func (t *dataTx) AudienceCandidates(q store.AudienceQuery) ([]store.AudienceCandidate, error) {
	const op = "audience candidates"
	if err := checkID(op, "tenant id", q.TenantID); err != nil {
		return nil, err
	}
	if err := checkID(op, "purpose", q.Purpose); err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > maxAudiencePage {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	if len(q.After) > maxIDLen {
		return nil, invalid(op, "cursor is too long")
	}
	if q.RequireConsent && q.ConsentBefore > 0 {
		return nil, invalid(op, "require consent and consent before exclude each other")
	}
	filters, fargs := audienceFilters(q)
	var query string
	var args []any
	if q.RequireConsent || q.ConsentBefore > 0 {
		// Driven by the ledger's (tenant, purpose, subject) index: only
		// subjects with an event for the purpose are visited, in order.
		query = `SELECT s.tenant_id, s.id, s.state, s.age_status, s.has_controls
			FROM consent_events e JOIN subjects s ON s.tenant_id = e.tenant_id AND s.id = e.subject_id
			WHERE e.tenant_id = ? AND e.purpose = ? AND e.subject_id > ? AND e.kind = 'given'
			AND ` + latestConsent("subject_id")
		args = []any{q.TenantID, q.Purpose, q.After}
		if q.RequireConsent {
			query += ` AND (e.expires_at IS NULL OR e.expires_at > ?) AND e.policy_version >= ?`
			args = append(args, micros(q.Now), q.MinConsentVersion)
		} else {
			query += ` AND e.policy_version < ?`
			args = append(args, q.ConsentBefore)
		}
		query += filters + ` ORDER BY e.subject_id LIMIT ?`
	} else {
		query = `SELECT s.tenant_id, s.id, s.state, s.age_status, s.has_controls FROM subjects s
			WHERE s.tenant_id = ? AND s.id > ?` + filters + ` ORDER BY s.id LIMIT ?`
		args = []any{q.TenantID, q.After}
	}
	args = append(append(args, fargs...), q.Limit)
	rows, err := t.c.Query(op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.AudienceCandidate, 0, min(q.Limit, 256))
	for rows.Next() {
		var c store.AudienceCandidate
		var has int
		if err := rows.Scan(&c.Subject.TenantID, &c.Subject.ID, &c.Subject.State, &c.Subject.AgeStatus, &has); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		c.Subject.HasControls = has != 0
		out = append(out, c)
	}
	return out, t.c.Wrap(op, rows.Err())
}

// controlsOfQuery is subjectControlsQuery for a list of subjects ('%s' is
// the IN list, the same in every branch).
const controlsOfQuery = `
SELECT 'c', e.id, e.subject_id, e.purpose, e.kind, e.method, e.policy_hash, '', '', '', e.policy_version,
       e.occurred_at, e.expires_at, CAST(NULL AS BIGINT)
  FROM consent_events e
 WHERE e.tenant_id = ? AND e.subject_id IN (%s) AND %l
UNION ALL
SELECT 'h', id, subject_id, categories, collections, purpose, reason, actor, '', '', 0,
       created_at, until_at, released_at
  FROM legal_holds
 WHERE tenant_id = ? AND (subject_id IN (%s) OR subject_id = '') AND released_at IS NULL AND (until_at IS NULL OR until_at > ?)
UNION ALL
SELECT 'o', id, subject_id, purpose, kind, status, reason, resolution, request_id, actor, 0,
       created_at, resolved_at, CAST(NULL AS BIGINT)
  FROM objections
 WHERE tenant_id = ? AND subject_id IN (%s) AND status IN ('upheld', 'pending')
UNION ALL
SELECT 'r', id, subject_id, categories, ground, allowed_purposes, reason, request_id, actor, '', 0,
       created_at, lifted_at, CAST(NULL AS BIGINT)
  FROM restrictions
 WHERE tenant_id = ? AND subject_id IN (%s) AND lifted_at IS NULL`

func (t *dataTx) ControlsOf(tenantID string, subjectIDs []string, now time.Time) (map[string]store.Controls, error) {
	const op = "controls of"
	out := map[string]store.Controls{}
	var tenantHolds []store.LegalHold
	for ids := subjectIDs; len(ids) > 0; {
		chunk := padIn(ids[:min(len(ids), maxInList)])
		ids = ids[min(len(ids), maxInList):]
		in := placeholders(len(chunk))
		q := strings.NewReplacer("%s", in, "%l", latestConsent("subject_id")).Replace(controlsOfQuery)
		list := make([]any, len(chunk))
		for i, id := range chunk {
			list[i] = id
		}
		var args []any
		args = append(append(args, tenantID), list...)
		args = append(append(append(args, tenantID), list...), micros(now))
		args = append(append(args, tenantID), list...)
		args = append(append(args, tenantID), list...)
		rows, err := t.c.Query(op, q, args...)
		if err != nil {
			return nil, err
		}
		var (
			kind, id, subj, a, b, cc, d, e, f, g string
			n, t1                                int64
			t2, t3                               *int64
		)
		for rows.Next() {
			if err := rows.Scan(&kind, &id, &subj, &a, &b, &cc, &d, &e, &f, &g, &n, &t1, &t2, &t3); err != nil {
				rows.Close()
				return nil, t.c.Wrap(op, err)
			}
			c := out[subj]
			switch kind {
			case "c":
				c.Consents = append(c.Consents, store.ConsentState{Purpose: a, Kind: b, EventID: id, Method: cc,
					PolicyVersion: int(n), PolicyHash: d, At: fromMicros(t1), ExpiresAt: fromNullMicros(t2)})
			case "h":
				h := store.LegalHold{TenantID: tenantID, ID: id, SubjectID: subj,
					Categories: splitList(a), Collections: splitList(b), Purpose: cc, Reason: d, Actor: e,
					CreatedAt: fromMicros(t1), Until: fromNullMicros(t2), ReleasedAt: fromNullMicros(t3)}
				if subj == "" {
					if !slices.ContainsFunc(tenantHolds, func(x store.LegalHold) bool { return x.ID == id }) {
						tenantHolds = append(tenantHolds, h) // once, though every chunk returns it
					}
					continue
				}
				c.Holds = append(c.Holds, h)
			case "o":
				c.Objections = append(c.Objections, store.Objection{TenantID: tenantID, ID: id, SubjectID: subj,
					Purpose: a, Kind: b, Status: cc, Reason: d, Resolution: e, RequestID: f, Actor: g,
					CreatedAt: fromMicros(t1), ResolvedAt: fromNullMicros(t2)})
			case "r":
				c.Restrictions = append(c.Restrictions, store.Restriction{TenantID: tenantID, ID: id, SubjectID: subj,
					Categories: splitList(a), Ground: b, AllowedPurposes: splitList(cc), Reason: d, RequestID: e, Actor: f,
					CreatedAt: fromMicros(t1), LiftedAt: fromNullMicros(t2)})
			}
			out[subj] = c
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, t.c.Wrap(op, err)
		}
		rows.Close()
	}
	if len(tenantHolds) > 0 {
		// A hold of the whole tenant is in force for every subject asked
		// about, as in SubjectControls; each subject gets its own copy.
		slices.SortFunc(tenantHolds, func(x, y store.LegalHold) int { return byAge(x.CreatedAt, y.CreatedAt, x.ID, y.ID) })
		for _, id := range subjectIDs {
			c := out[id]
			c.Holds = append(c.Holds, tenantHolds...)
			out[id] = c
		}
	}
	for id, c := range out {
		sortControls(&c)
		out[id] = c
	}
	return out, nil
}

func (t *dataTx) IdentitiesOf(tenantID string, subjectIDs []string, kinds []string) ([]store.Identity, error) {
	const op = "identities of"
	if len(kinds) == 0 || len(subjectIDs) == 0 {
		return nil, nil
	}
	var out []store.Identity
	for ids := subjectIDs; len(ids) > 0; {
		chunk := padIn(ids[:min(len(ids), maxInList)])
		ids = ids[min(len(ids), maxInList):]
		args := []any{tenantID}
		for _, id := range chunk {
			args = append(args, id)
		}
		for _, k := range kinds {
			args = append(args, k)
		}
		rows, err := t.c.Query(op, `SELECT kind, blind, subject_id, field, created_at FROM identities
			WHERE tenant_id = ? AND subject_id IN (`+placeholders(len(chunk))+`) AND kind IN (`+placeholders(len(kinds))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			id := store.Identity{TenantID: tenantID}
			var created int64
			if err := rows.Scan(&id.Kind, &id.Blind, &id.SubjectID, &id.Field, &created); err != nil {
				rows.Close()
				return nil, t.c.Wrap(op, err)
			}
			id.CreatedAt = fromMicros(created)
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, t.c.Wrap(op, err)
		}
		rows.Close()
	}
	return out, nil
}

func (t *dataTx) DueConsentExpiries(tenantID string, now time.Time, limit int) ([]store.ConsentEvent, error) {
	const op = "due consent expiries"
	if limit < 1 || limit > maxAudiencePage {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	// A linked event is judged by its subject's ledger, an anonymous one by
	// its browser's unlinked events, as the two current-state queries do.
	return listRows(t, op, `SELECT `+consentCols+` FROM consent_events e
		WHERE e.tenant_id = ? AND e.kind = 'given' AND e.expires_at IS NOT NULL AND e.expires_at <= ?
		AND ((e.subject_id <> '' AND `+latestConsent("subject_id")+`)
		  OR (e.subject_id = '' AND NOT EXISTS (SELECT 1 FROM consent_events n WHERE n.tenant_id = e.tenant_id
		      AND n.browser_id = e.browser_id AND n.subject_id = '' AND n.purpose = e.purpose
		      AND (n.occurred_at, n.id) > (e.occurred_at, e.id))))
		ORDER BY e.expires_at, e.id LIMIT ?`, []any{tenantID, micros(now), limit},
		func(x *consentRow) []any { return x.dest() }, (*consentRow).event)
}
