package sqlstore

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/trustee-privacy/trustee/internal/store"
)

// maxListItems bounds the categories, collections or purposes of one
// control; a policy with more is implausible and a bad caller cannot make
// the read path scan an unbounded list.
const maxListItems = 256

// joinList validates a list of keys and joins it for storage. Keys are
// stored comma-separated, so they may not contain commas or white space.
func joinList(op, what string, items []string) (string, error) {
	if len(items) > maxListItems {
		return "", invalid(op, "too many "+what+" entries")
	}
	for _, it := range items {
		if it == "" {
			return "", invalid(op, what+" entry is empty")
		}
		if len(it) > maxIDLen {
			return "", invalid(op, what+" entry is too long")
		}
		if strings.IndexFunc(it, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return "", invalid(op, what+" entry contains a comma or white space")
		}
	}
	return strings.Join(items, ","), nil
}

// splitList is the inverse of joinList; "" is an empty (nil) list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// checkTexts validates optional free-text columns.
func checkTexts(op string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := checkText(op, kv[i], kv[i+1], false); err != nil {
			return err
		}
	}
	return nil
}

// insertForSubject runs an INSERT ... SELECT ... ON CONFLICT DO NOTHING that
// only inserts when the subject exists (or, for subjectID "", the tenant), so
// neither a missing subject nor a taken id raises an SQL error that would
// abort a PostgreSQL transaction. It maps "nothing inserted" onto
// ErrNotFound or ErrConflict.
// markControls flags the subject as having controls, so purpose-scoped
// reads query them (see store.Subject.HasControls). Every insert of a
// control for a subject goes through here.
func (t *dataTx) markControls(op, tenantID, subjectID string) error {
	if subjectID == "" {
		return nil
	}
	_, err := t.c.Exec(op, `UPDATE subjects SET has_controls = 1 WHERE tenant_id = ? AND id = ? AND has_controls = 0`, tenantID, subjectID)
	return err
}

func (t *dataTx) insertForSubject(op, table, cols string, tenantID, subjectID string, args []any) error {
	var guard string
	if subjectID != "" {
		guard = `EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ? AND id = ?)`
		args = append(args, tenantID, subjectID)
	} else {
		guard = `EXISTS (SELECT 1 FROM tenants WHERE id = ?)`
		args = append(args, tenantID)
	}
	n, err := t.c.ExecAffected(op, `INSERT INTO `+table+` (`+cols+`) SELECT `+placeholders(strings.Count(cols, ",")+1)+
		` WHERE `+guard+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if n == 1 {
		return t.markControls(op, tenantID, subjectID)
	}
	if subjectID != "" {
		if _, err := t.GetSubject(tenantID, subjectID); err != nil {
			if isNotFound(err) {
				return &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
			}
			return err
		}
	} else if err := t.tenantExists(op, tenantID); err != nil {
		return err
	}
	return &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
}

// ---- restrictions ----

const restrictionCols = `tenant_id, id, subject_id, categories, ground, reason, allowed_purposes, request_id, actor, created_at, lifted_at`

type restrictionRow struct {
	r             store.Restriction
	cats, allowed string
	created       int64
	lifted        *int64
}

func (x *restrictionRow) dest() []any {
	return []any{&x.r.TenantID, &x.r.ID, &x.r.SubjectID, &x.cats, &x.r.Ground, &x.r.Reason, &x.allowed, &x.r.RequestID, &x.r.Actor, &x.created, &x.lifted}
}

func (x *restrictionRow) restriction() store.Restriction {
	r := x.r
	r.Categories, r.AllowedPurposes = splitList(x.cats), splitList(x.allowed)
	r.CreatedAt, r.LiftedAt = fromMicros(x.created), fromNullMicros(x.lifted)
	return r
}

func validGround(g string) bool {
	switch g {
	case store.GroundAccuracyContested, store.GroundUnlawfulProcessing, store.GroundNoLongerNeededButClaims, store.GroundObjectionPending:
		return true
	}
	return false
}

func (t *dataTx) AddRestriction(r store.Restriction) error {
	const op = "add restriction"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"tenant id", r.TenantID}, {"id", r.ID}, {"subject id", r.SubjectID}} {
		if err := checkID(op, f.name, f.v); err != nil {
			return err
		}
	}
	cats, err := joinList(op, "category", r.Categories)
	if err != nil {
		return err
	}
	allowed, err := joinList(op, "allowed purpose", r.AllowedPurposes)
	if err != nil {
		return err
	}
	if !validGround(r.Ground) {
		return invalid(op, "ground must be accuracy_contested, unlawful_processing, no_longer_needed_but_claims or objection_pending")
	}
	if err := checkTexts(op, "reason", r.Reason, "request id", r.RequestID, "actor", r.Actor); err != nil {
		return err
	}
	if !r.LiftedAt.IsZero() {
		return invalid(op, "a new restriction cannot be lifted already")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	return t.insertForSubject(op, "restrictions", restrictionCols, r.TenantID, r.SubjectID, []any{
		r.TenantID, r.ID, r.SubjectID, cats, r.Ground, r.Reason, allowed, r.RequestID, r.Actor, micros(r.CreatedAt), nil})
}

func (t *dataTx) LiftRestriction(tenantID, id string, at time.Time) error {
	return t.endControl("lift restriction", "restrictions", "lifted_at", tenantID, id, at)
}

// endControl sets a nullable end time once: ending twice keeps the first.
func (t *dataTx) endControl(op, table, col, tenantID, id string, at time.Time) error {
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	n, err := t.c.ExecAffected(op, `UPDATE `+table+` SET `+col+` = COALESCE(`+col+`, ?) WHERE tenant_id = ? AND id = ?`,
		micros(at), tenantID, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrNotFound}
	}
	return nil
}

func (t *dataTx) GetRestriction(tenantID, id string) (store.Restriction, error) {
	const op = "get restriction"
	var x restrictionRow
	if err := t.c.QueryRow(op, `SELECT `+restrictionCols+` FROM restrictions WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.Restriction{}, err
	}
	return x.restriction(), nil
}

func (t *dataTx) ListRestrictions(tenantID, subjectID string) ([]store.Restriction, error) {
	return listRows(t, "list restrictions", `SELECT `+restrictionCols+` FROM restrictions
		WHERE tenant_id = ? AND subject_id = ? ORDER BY created_at DESC, id DESC`, []any{tenantID, subjectID},
		func(x *restrictionRow) []any { return x.dest() }, (*restrictionRow).restriction)
}

// listRows runs a query and converts each row through a scan struct R.
func listRows[R any, T any](t *dataTx, op, q string, args []any, dest func(*R) []any, conv func(*R) T) ([]T, error) {
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var x R
		if err := rows.Scan(dest(&x)...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, conv(&x))
	}
	return out, t.c.Wrap(op, rows.Err())
}

// ---- objections ----

const objectionCols = `tenant_id, id, subject_id, purpose, kind, status, reason, resolution, request_id, actor, created_at, resolved_at`

type objectionRow struct {
	o        store.Objection
	created  int64
	resolved *int64
}

func (x *objectionRow) dest() []any {
	return []any{&x.o.TenantID, &x.o.ID, &x.o.SubjectID, &x.o.Purpose, &x.o.Kind, &x.o.Status, &x.o.Reason, &x.o.Resolution, &x.o.RequestID, &x.o.Actor, &x.created, &x.resolved}
}

func (x *objectionRow) objection() store.Objection {
	o := x.o
	o.CreatedAt, o.ResolvedAt = fromMicros(x.created), fromNullMicros(x.resolved)
	return o
}

func (t *dataTx) AddObjection(o store.Objection) error {
	const op = "add objection"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"tenant id", o.TenantID}, {"id", o.ID}, {"subject id", o.SubjectID}} {
		if err := checkID(op, f.name, f.v); err != nil {
			return err
		}
	}
	if o.Purpose != "" {
		if _, err := joinList(op, "purpose", []string{o.Purpose}); err != nil {
			return err
		}
	}
	switch o.Kind {
	case store.ObjectDirectMarketing, store.ObjectLegitimateInterest, store.ObjectPublicTask:
	default:
		return invalid(op, "kind must be direct_marketing, legitimate_interest or public_task")
	}
	if o.Status == "" {
		o.Status = store.ObjectionPending
		if o.Kind == store.ObjectDirectMarketing {
			o.Status = store.ObjectionUpheld
		}
	}
	switch {
	case o.Status != store.ObjectionUpheld && o.Status != store.ObjectionPending:
		return invalid(op, "a new objection is upheld or pending")
	case o.Kind == store.ObjectDirectMarketing && o.Status != store.ObjectionUpheld:
		return invalid(op, "an objection to direct marketing is upheld at once (GDPR Art. 21(3))")
	}
	if err := checkTexts(op, "reason", o.Reason, "resolution", o.Resolution, "request id", o.RequestID, "actor", o.Actor); err != nil {
		return err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = time.Now()
	}
	var resolved any
	if o.Status == store.ObjectionUpheld {
		resolved = micros(o.CreatedAt)
	}
	return t.insertForSubject(op, "objections", objectionCols, o.TenantID, o.SubjectID, []any{
		o.TenantID, o.ID, o.SubjectID, o.Purpose, o.Kind, o.Status, o.Reason, o.Resolution, o.RequestID, o.Actor, micros(o.CreatedAt), resolved})
}

func (t *dataTx) ResolveObjection(tenantID, id, status, resolution string, at time.Time) error {
	const op = "resolve objection"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	switch status {
	case store.ObjectionUpheld, store.ObjectionOverridden, store.ObjectionWithdrawn:
	default:
		return invalid(op, "status must be upheld, overridden or withdrawn")
	}
	if err := checkText(op, "resolution", resolution, false); err != nil {
		return err
	}
	if at.IsZero() {
		return invalid(op, "time is zero")
	}
	o, err := t.GetObjection(tenantID, id)
	if err != nil {
		return err
	}
	if o.Kind == store.ObjectDirectMarketing && status == store.ObjectionOverridden {
		return invalid(op, "an objection to direct marketing cannot be overridden (GDPR Art. 21(3))")
	}
	ok := o.Status == store.ObjectionPending || (o.Status == store.ObjectionUpheld && status == store.ObjectionWithdrawn)
	if !ok {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "objection is " + o.Status}
	}
	n, err := t.c.ExecAffected(op, `UPDATE objections SET status = ?, resolution = ?, resolved_at = ?
		WHERE tenant_id = ? AND id = ? AND status = ?`, status, resolution, micros(at), tenantID, id, o.Status)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrConflict, Detail: "objection changed meanwhile"}
	}
	return nil
}

func (t *dataTx) GetObjection(tenantID, id string) (store.Objection, error) {
	const op = "get objection"
	var x objectionRow
	if err := t.c.QueryRow(op, `SELECT `+objectionCols+` FROM objections WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.Objection{}, err
	}
	return x.objection(), nil
}

func (t *dataTx) ListObjections(tenantID, subjectID string) ([]store.Objection, error) {
	return listRows(t, "list objections", `SELECT `+objectionCols+` FROM objections
		WHERE tenant_id = ? AND subject_id = ? ORDER BY created_at DESC, id DESC`, []any{tenantID, subjectID},
		func(x *objectionRow) []any { return x.dest() }, (*objectionRow).objection)
}

// ---- legal holds ----

const holdCols = `tenant_id, id, subject_id, categories, collections, purpose, reason, actor, until_at, created_at, released_at`

type holdRow struct {
	h               store.LegalHold
	cats, colls     string
	created         int64
	until, released *int64
}

func (x *holdRow) dest() []any {
	return []any{&x.h.TenantID, &x.h.ID, &x.h.SubjectID, &x.cats, &x.colls, &x.h.Purpose, &x.h.Reason, &x.h.Actor, &x.until, &x.created, &x.released}
}

func (x *holdRow) hold() store.LegalHold {
	h := x.h
	h.Categories, h.Collections = splitList(x.cats), splitList(x.colls)
	h.Until, h.CreatedAt, h.ReleasedAt = fromNullMicros(x.until), fromMicros(x.created), fromNullMicros(x.released)
	return h
}

func (t *dataTx) AddLegalHold(h store.LegalHold) error {
	const op = "add legal hold"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if err := checkID(op, "tenant id", h.TenantID); err != nil {
		return err
	}
	if err := checkID(op, "id", h.ID); err != nil {
		return err
	}
	if err := checkText(op, "subject id", h.SubjectID, false); err != nil {
		return err
	}
	cats, err := joinList(op, "category", h.Categories)
	if err != nil {
		return err
	}
	colls, err := joinList(op, "collection", h.Collections)
	if err != nil {
		return err
	}
	if h.Purpose != "" {
		if _, err := joinList(op, "purpose", []string{h.Purpose}); err != nil {
			return err
		}
	}
	if strings.TrimSpace(h.Reason) == "" {
		return invalid(op, "a legal hold needs a reason")
	}
	if err := checkTexts(op, "reason", h.Reason, "actor", h.Actor); err != nil {
		return err
	}
	if !h.ReleasedAt.IsZero() {
		return invalid(op, "a new legal hold cannot be released already")
	}
	if h.CreatedAt.IsZero() {
		h.CreatedAt = time.Now()
	}
	if !h.Until.IsZero() && !h.Until.After(h.CreatedAt) {
		return invalid(op, "until must be after the creation time")
	}
	return t.insertForSubject(op, "legal_holds", holdCols, h.TenantID, h.SubjectID, []any{
		h.TenantID, h.ID, h.SubjectID, cats, colls, h.Purpose, h.Reason, h.Actor, nullMicros(h.Until), micros(h.CreatedAt), nil})
}

func (t *dataTx) ReleaseLegalHold(tenantID, id string, at time.Time) error {
	return t.endControl("release legal hold", "legal_holds", "released_at", tenantID, id, at)
}

func (t *dataTx) GetLegalHold(tenantID, id string) (store.LegalHold, error) {
	const op = "get legal hold"
	var x holdRow
	if err := t.c.QueryRow(op, `SELECT `+holdCols+` FROM legal_holds WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.LegalHold{}, err
	}
	return x.hold(), nil
}

func (t *dataTx) ListLegalHolds(tenantID, subjectID string) ([]store.LegalHold, error) {
	q := `SELECT ` + holdCols + ` FROM legal_holds WHERE tenant_id = ?`
	args := []any{tenantID}
	if subjectID != "" {
		q += ` AND subject_id IN (?, '')`
		args = append(args, subjectID)
	}
	return listRows(t, "list legal holds", q+` ORDER BY created_at DESC, id DESC`, args,
		func(x *holdRow) []any { return x.dest() }, (*holdRow).hold)
}

// ---- consent ledger ----

const consentCols = `tenant_id, id, subject_id, browser_id, purpose, kind, policy_version, policy_hash, method,
	text_hash, ip_hash, user_agent, page_url, source, actor, occurred_at, expires_at, recorded_at, linked_at`

type consentRow struct {
	e               store.ConsentEvent
	at, recorded    int64
	expires, linked *int64
}

func (x *consentRow) dest() []any {
	e := &x.e
	return []any{&e.TenantID, &e.ID, &e.SubjectID, &e.BrowserID, &e.Purpose, &e.Kind, &e.PolicyVersion, &e.PolicyHash, &e.Method,
		&e.TextHash, &e.IPHash, &e.UserAgent, &e.PageURL, &e.Source, &e.Actor, &x.at, &x.expires, &x.recorded, &x.linked}
}

func (x *consentRow) event() store.ConsentEvent {
	e := x.e
	e.At, e.ExpiresAt, e.RecordedAt, e.LinkedAt = fromMicros(x.at), fromNullMicros(x.expires), fromMicros(x.recorded), fromNullMicros(x.linked)
	return e
}

func checkConsent(op string, e store.ConsentEvent) error {
	for _, f := range []struct{ name, v string }{{"tenant id", e.TenantID}, {"id", e.ID}, {"purpose", e.Purpose}} {
		if err := checkID(op, f.name, f.v); err != nil {
			return err
		}
	}
	if e.SubjectID == "" && e.BrowserID == "" {
		return invalid(op, "a consent event needs a subject id or a browser id")
	}
	if err := checkTexts(op, "user agent", e.UserAgent, "page url", e.PageURL, "source", e.Source, "actor", e.Actor); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"subject id", e.SubjectID}, {"browser id", e.BrowserID}, {"policy hash", e.PolicyHash}, {"text hash", e.TextHash}, {"ip hash", e.IPHash}} {
		if len(f.v) > maxIDLen {
			return invalid(op, f.name+" is too long")
		}
	}
	switch e.Kind {
	case store.ConsentGiven, store.ConsentWithdrawn, store.ConsentExpired:
	default:
		return invalid(op, "kind must be given, withdrawn or expired")
	}
	if !slices.Contains(store.ConsentMethods, e.Method) {
		return invalid(op, "unknown consent method")
	}
	if e.PolicyVersion < 0 {
		return invalid(op, "policy version is negative")
	}
	// Proof must not hold a raw IP address (GDPR Art. 5(1)(c)); a keyed
	// hash is what identifies the request without revealing it.
	if looksLikeIP(e.IPHash) {
		return invalid(op, "ip hash holds a raw IP address; store a keyed hash")
	}
	if !e.ExpiresAt.IsZero() {
		if e.Kind != store.ConsentGiven {
			return invalid(op, "only a given consent expires")
		}
		if !e.ExpiresAt.After(e.At) {
			return invalid(op, "expiry must be after the time of the event")
		}
	}
	return nil
}

// looksLikeIP reports whether s is an IP address, with or without a port.
func looksLikeIP(s string) bool {
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return true
	}
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

func (t *dataTx) AppendConsent(e store.ConsentEvent) error {
	const op = "append consent"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	if !e.RecordedAt.IsZero() || !e.LinkedAt.IsZero() {
		return invalid(op, "recorded and linked times are set by the store")
	}
	e.RecordedAt = time.Now()
	if e.At.IsZero() {
		e.At = e.RecordedAt
	}
	if err := checkConsent(op, e); err != nil {
		return err
	}
	return t.insertForSubject(op, "consent_events", consentCols, e.TenantID, e.SubjectID, []any{
		e.TenantID, e.ID, e.SubjectID, e.BrowserID, e.Purpose, e.Kind, e.PolicyVersion, e.PolicyHash, e.Method,
		e.TextHash, e.IPHash, e.UserAgent, e.PageURL, e.Source, e.Actor, micros(e.At), nullMicros(e.ExpiresAt), micros(e.RecordedAt), nil})
}

func (t *dataTx) GetConsentEvent(tenantID, id string) (store.ConsentEvent, error) {
	const op = "get consent event"
	var x consentRow
	if err := t.c.QueryRow(op, `SELECT `+consentCols+` FROM consent_events WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}, x.dest()...); err != nil {
		return store.ConsentEvent{}, err
	}
	return x.event(), nil
}

func (t *dataTx) ConsentHistory(tenantID, subjectID string) ([]store.ConsentEvent, error) {
	if subjectID == "" {
		return nil, invalid("consent history", "subject id is empty")
	}
	return t.consentHistory("consent history", "subject_id", tenantID, subjectID)
}

func (t *dataTx) BrowserConsentHistory(tenantID, browserID string) ([]store.ConsentEvent, error) {
	if browserID == "" {
		return nil, invalid("browser consent history", "browser id is empty")
	}
	return t.consentHistory("browser consent history", "browser_id", tenantID, browserID)
}

func (t *dataTx) consentHistory(op, col, tenantID, key string) ([]store.ConsentEvent, error) {
	return listRows(t, op, `SELECT `+consentCols+` FROM consent_events WHERE tenant_id = ? AND `+col+` = ?
		ORDER BY occurred_at DESC, id DESC`, []any{tenantID, key},
		func(x *consentRow) []any { return x.dest() }, (*consentRow).event)
}

// latestConsent is the condition that makes an event of e the latest of its
// purpose for the same subject or browser (col): no event with a greater
// (occurred_at, id). The (tenant_id, col, purpose, occurred_at, id) index
// answers it with one seek per purpose.
func latestConsent(col string) string {
	return `NOT EXISTS (SELECT 1 FROM consent_events n WHERE n.tenant_id = e.tenant_id AND n.` + col + ` = e.` + col + `
		AND n.purpose = e.purpose AND (n.occurred_at, n.id) > (e.occurred_at, e.id))`
}

const consentStateCols = `e.purpose, e.kind, e.id, e.method, e.policy_version, e.policy_hash, e.occurred_at, e.expires_at`

func (t *dataTx) CurrentConsents(tenantID, subjectID string) ([]store.ConsentState, error) {
	if subjectID == "" {
		return nil, invalid("current consents", "subject id is empty")
	}
	return t.currentConsents("current consents", "subject_id", tenantID, subjectID)
}

func (t *dataTx) CurrentBrowserConsents(tenantID, browserID string) ([]store.ConsentState, error) {
	if browserID == "" {
		return nil, invalid("current browser consents", "browser id is empty")
	}
	return t.currentConsents("current browser consents", "browser_id", tenantID, browserID)
}

type consentStateRow struct {
	s       store.ConsentState
	at      int64
	expires *int64
}

func (x *consentStateRow) dest() []any {
	return []any{&x.s.Purpose, &x.s.Kind, &x.s.EventID, &x.s.Method, &x.s.PolicyVersion, &x.s.PolicyHash, &x.at, &x.expires}
}

func (x *consentStateRow) state() store.ConsentState {
	s := x.s
	s.At, s.ExpiresAt = fromMicros(x.at), fromNullMicros(x.expires)
	return s
}

// currentConsents sorts in Go rather than in SQL: PostgreSQL orders text by
// the database's collation, which need not be byte order, and both engines
// must return the same order.
func (t *dataTx) currentConsents(op, col, tenantID, key string) ([]store.ConsentState, error) {
	out, err := listRows(t, op, `SELECT `+consentStateCols+` FROM consent_events e
		WHERE e.tenant_id = ? AND e.`+col+` = ? AND `+latestConsent(col), []any{tenantID, key},
		func(x *consentStateRow) []any { return x.dest() }, (*consentStateRow).state)
	if err != nil {
		return nil, err
	}
	sortControls(&store.Controls{Consents: out})
	return out, nil
}

func (t *dataTx) LinkBrowserConsents(tenantID, browserID, subjectID string, at time.Time) (int, error) {
	const op = "link browser consents"
	if err := t.c.Writable(op); err != nil {
		return 0, err
	}
	if err := checkID(op, "browser id", browserID); err != nil {
		return 0, err
	}
	if err := checkID(op, "subject id", subjectID); err != nil {
		return 0, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	if _, err := t.GetSubject(tenantID, subjectID); err != nil {
		if isNotFound(err) {
			return 0, &Error{Op: op, Kind: store.ErrNotFound, Detail: "no such subject"}
		}
		return 0, err
	}
	n, err := t.c.ExecAffected(op, `UPDATE consent_events SET subject_id = ?, linked_at = ?
		WHERE tenant_id = ? AND browser_id = ? AND subject_id = ''`, subjectID, micros(at), tenantID, browserID)
	if err != nil || n == 0 {
		return int(n), err
	}
	return int(n), t.markControls(op, tenantID, subjectID)
}

// ---- the read path ----

// subjectControlsQuery returns everything in force for one subject in one
// statement: four index seeks glued with UNION ALL, so the read path pays
// one round trip (and, on SQLite, one prepared statement step loop) whether
// the subject has controls or not. Every branch yields the same 14 columns:
//
//	1 kind ('c','h','o','r')  2 id  3 subject_id  4-10 text  11 integer
//	12-14 times (micros, nullable)
//
// It has no ORDER BY: on SQLite a sorter per branch cost several times the
// seeks themselves, so SubjectControls sorts the few rows in Go.
var subjectControlsQuery = `
SELECT 'c', e.id, e.subject_id, e.purpose, e.kind, e.method, e.policy_hash, '', '', '', e.policy_version,
       e.occurred_at, e.expires_at, CAST(NULL AS BIGINT)
  FROM consent_events e
 WHERE e.tenant_id = ? AND e.subject_id = ? AND ` + latestConsent("subject_id") + `
UNION ALL
SELECT 'h', id, subject_id, categories, collections, purpose, reason, actor, '', '', 0,
       created_at, until_at, released_at
  FROM legal_holds
 WHERE tenant_id = ? AND subject_id IN (?, '') AND released_at IS NULL AND (until_at IS NULL OR until_at > ?)
UNION ALL
SELECT 'o', id, subject_id, purpose, kind, status, reason, resolution, request_id, actor, 0,
       created_at, resolved_at, CAST(NULL AS BIGINT)
  FROM objections
 WHERE tenant_id = ? AND subject_id = ? AND status IN ('upheld', 'pending')
UNION ALL
SELECT 'r', id, subject_id, categories, ground, allowed_purposes, reason, request_id, actor, '', 0,
       created_at, lifted_at, CAST(NULL AS BIGINT)
  FROM restrictions
 WHERE tenant_id = ? AND subject_id = ? AND lifted_at IS NULL`

func (t *dataTx) SubjectControls(tenantID, subjectID string, now time.Time) (store.Controls, error) {
	const op = "subject controls"
	var c store.Controls
	rows, err := t.c.Query(op, subjectControlsQuery,
		tenantID, subjectID, tenantID, subjectID, micros(now), tenantID, subjectID, tenantID, subjectID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	var (
		kind, id, subj, a, b, cc, d, e, f, g string
		n, t1                                int64
		t2, t3                               *int64
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &id, &subj, &a, &b, &cc, &d, &e, &f, &g, &n, &t1, &t2, &t3); err != nil {
			return store.Controls{}, t.c.Wrap(op, err)
		}
		switch kind {
		case "c":
			c.Consents = append(c.Consents, store.ConsentState{Purpose: a, Kind: b, EventID: id, Method: cc,
				PolicyVersion: int(n), PolicyHash: d, At: fromMicros(t1), ExpiresAt: fromNullMicros(t2)})
		case "h":
			c.Holds = append(c.Holds, store.LegalHold{TenantID: tenantID, ID: id, SubjectID: subj,
				Categories: splitList(a), Collections: splitList(b), Purpose: cc, Reason: d, Actor: e,
				CreatedAt: fromMicros(t1), Until: fromNullMicros(t2), ReleasedAt: fromNullMicros(t3)})
		case "o":
			c.Objections = append(c.Objections, store.Objection{TenantID: tenantID, ID: id, SubjectID: subj,
				Purpose: a, Kind: b, Status: cc, Reason: d, Resolution: e, RequestID: f, Actor: g,
				CreatedAt: fromMicros(t1), ResolvedAt: fromNullMicros(t2)})
		case "r":
			c.Restrictions = append(c.Restrictions, store.Restriction{TenantID: tenantID, ID: id, SubjectID: subj,
				Categories: splitList(a), Ground: b, AllowedPurposes: splitList(cc), Reason: d, RequestID: e, Actor: f,
				CreatedAt: fromMicros(t1), LiftedAt: fromNullMicros(t2)})
		}
	}
	if err := rows.Err(); err != nil {
		return store.Controls{}, t.c.Wrap(op, err)
	}
	sortControls(&c)
	return c, nil
}

// sortControls puts consent states in purpose order and the other controls
// oldest first (ties by id), the order ControlsTx documents.
func sortControls(c *store.Controls) {
	if len(c.Consents) > 1 {
		slices.SortFunc(c.Consents, func(x, y store.ConsentState) int { return strings.Compare(x.Purpose, y.Purpose) })
	}
	if len(c.Restrictions) > 1 {
		slices.SortFunc(c.Restrictions, func(x, y store.Restriction) int { return byAge(x.CreatedAt, y.CreatedAt, x.ID, y.ID) })
	}
	if len(c.Objections) > 1 {
		slices.SortFunc(c.Objections, func(x, y store.Objection) int { return byAge(x.CreatedAt, y.CreatedAt, x.ID, y.ID) })
	}
	if len(c.Holds) > 1 {
		slices.SortFunc(c.Holds, func(x, y store.LegalHold) int { return byAge(x.CreatedAt, y.CreatedAt, x.ID, y.ID) })
	}
}

func byAge(t1, t2 time.Time, id1, id2 string) int {
	if c := t1.Compare(t2); c != 0 {
		return c
	}
	return strings.Compare(id1, id2)
}
