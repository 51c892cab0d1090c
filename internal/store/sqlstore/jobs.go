package sqlstore

import (
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Job limits.
const (
	maxPayload     = 1 << 20 // a job carries references, not documents
	maxLastError   = 2000    // stored error text is truncated to this
	maxClaim       = 1000    // most jobs one ClaimJobs returns
	defaultListJob = 100     // ListJobs limit when none is given
	maxListJob     = 1000
	// unfinished is the SQL predicate of the dedupe index; queries that
	// must use that index repeat it verbatim.
	unfinished = `status IN ('queued', 'running') AND job_key <> ''`
)

const jobCols = `id, tenant_id, kind, job_key, payload, status, run_at, attempts, max_attempts,
	lease_owner, lease_until, last_error, created_at, updated_at`

type jobRow struct {
	j                       store.Job
	status                  string
	runAt, created, updated int64
	leaseUntil              *int64
}

func (r *jobRow) dest() []any {
	return []any{&r.j.ID, &r.j.TenantID, &r.j.Kind, &r.j.Key, &r.j.Payload, &r.status, &r.runAt, &r.j.Attempts,
		&r.j.MaxAttempts, &r.j.LeaseOwner, &r.leaseUntil, &r.j.LastError, &r.created, &r.updated}
}

func (r *jobRow) job() store.Job {
	r.j.Status = store.JobStatus(r.status)
	r.j.RunAt = fromMicros(r.runAt)
	r.j.LeaseUntil = fromNullMicros(r.leaseUntil)
	r.j.CreatedAt = fromMicros(r.created)
	r.j.UpdatedAt = fromMicros(r.updated)
	return r.j
}

func (t *dataTx) EnqueueJob(j store.Job) (string, error) {
	const op = "enqueue job"
	if err := t.c.Writable(op); err != nil {
		return "", err
	}
	if err := checkText(op, "kind", j.Kind, true); err != nil {
		return "", err
	}
	if err := checkText(op, "key", j.Key, false); err != nil {
		return "", err
	}
	if j.ID == "" {
		j.ID = store.NewID()
	} else if err := checkID(op, "id", j.ID); err != nil {
		return "", err
	}
	if len(j.TenantID) > maxIDLen {
		return "", invalid(op, "tenant id is too long")
	}
	if len(j.Payload) > maxPayload {
		return "", invalid(op, "payload is too large")
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now()
	}
	if j.RunAt.IsZero() {
		j.RunAt = j.CreatedAt
	}
	if j.MaxAttempts < 1 {
		j.MaxAttempts = 1
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	// ON CONFLICT DO NOTHING covers both the dedupe index and a taken id
	// without an SQL error, which would abort a PostgreSQL transaction.
	// Up to three rounds: the unfinished job that made the insert a no-op
	// can finish before we read its id, and then the insert may succeed.
	for range 3 {
		n, err := t.c.ExecAffected(op, `INSERT INTO jobs (`+jobCols+`)
			VALUES (?, ?, ?, ?, ?, 'queued', ?, 0, ?, '', NULL, '', ?, ?)
			ON CONFLICT DO NOTHING`,
			j.ID, j.TenantID, j.Kind, j.Key, payload, micros(j.RunAt), j.MaxAttempts,
			micros(j.CreatedAt), micros(j.CreatedAt))
		if err != nil {
			return "", err
		}
		if n == 1 {
			return j.ID, nil
		}
		if j.Key != "" {
			var id string
			err = t.c.QueryRow(op, `SELECT id FROM jobs WHERE kind = ? AND job_key = ? AND `+unfinished,
				[]any{j.Kind, j.Key}, &id)
			if err == nil {
				return id, nil
			}
			if !isNotFound(err) {
				return "", err
			}
		}
		var one int
		err = t.c.QueryRow(op, `SELECT 1 FROM jobs WHERE id = ?`, []any{j.ID}, &one)
		if err == nil {
			return "", &Error{Op: op, Kind: store.ErrConflict, Detail: "id taken"}
		}
		if !isNotFound(err) {
			return "", err
		}
	}
	return "", &Error{Op: op, Detail: "dedupe key kept changing hands; try again"}
}

func isNotFound(err error) bool {
	se, ok := err.(*Error)
	return ok && se.Kind == store.ErrNotFound
}

// kindFilter returns " AND kind IN (?, ...)" and its arguments, or nothing
// for all kinds.
func kindFilter(kinds []string) (string, []any) {
	if len(kinds) == 0 {
		return "", nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
	}
	return ` AND kind IN (` + placeholders(len(kinds)) + `)`, args
}

func (t *dataTx) ClaimJobs(owner string, kinds []string, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	const op = "claim jobs"
	if err := t.c.Writable(op); err != nil {
		return nil, err
	}
	if err := checkText(op, "owner", owner, true); err != nil {
		return nil, err
	}
	if !leaseUntil.After(now) {
		return nil, invalid(op, "lease must end after now")
	}
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, maxClaim)
	kf, kargs := kindFilter(kinds)
	nowUS := micros(now)

	// A job whose worker died on its last allowed attempt is dead, not
	// claimable: otherwise a job that crashes its worker runs forever.
	_, err := t.c.Exec(op, `UPDATE jobs SET status = 'dead', lease_owner = '', lease_until = NULL,
		last_error = 'lease expired on the last attempt', updated_at = ?
		WHERE status = 'running' AND lease_until <= ? AND attempts >= max_attempts`+kf,
		append([]any{nowUS, nowUS}, kargs...)...)
	if err != nil {
		return nil, err
	}

	args := []any{owner, micros(leaseUntil), nowUS, nowUS, nowUS}
	args = append(args, kargs...)
	args = append(args, limit)
	rows, err := t.c.Query(op, `UPDATE jobs SET status = 'running', lease_owner = ?, lease_until = ?,
		attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM jobs
			WHERE ((status = 'queued' AND run_at <= ?) OR (status = 'running' AND lease_until <= ?))`+kf+`
			ORDER BY run_at, id LIMIT ?`+t.c.Dialect().SkipLocked+`)
		RETURNING `+jobCols, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Job
	for rows.Next() {
		var r jobRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.job())
	}
	if err := rows.Err(); err != nil {
		return nil, t.c.Wrap(op, err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b store.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// leaseUpdate runs an UPDATE on a job that owner must hold, and reports
// ErrLeaseLost if it does not.
func (t *dataTx) leaseUpdate(op, set, id, owner string, args ...any) error {
	if err := t.c.Writable(op); err != nil {
		return err
	}
	args = append(args, id, owner)
	n, err := t.c.ExecAffected(op, `UPDATE jobs SET `+set+` WHERE id = ? AND status = 'running' AND lease_owner = ?`, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return &Error{Op: op, Kind: store.ErrLeaseLost}
	}
	return nil
}

func (t *dataTx) ExtendJobLease(id, owner string, until time.Time) error {
	return t.leaseUpdate("extend job lease", `lease_until = ?, updated_at = ?`, id, owner,
		micros(until), micros(time.Now()))
}

func (t *dataTx) CompleteJob(id, owner string, now time.Time) error {
	return t.leaseUpdate("complete job", `status = 'done', lease_owner = '', lease_until = NULL, updated_at = ?`,
		id, owner, micros(now))
}

func (t *dataTx) FailJob(id, owner, errMsg string, now, retryAt time.Time) error {
	const op = "fail job"
	if len(errMsg) > maxLastError {
		errMsg = truncateUTF8(errMsg, maxLastError)
	}
	if retryAt.IsZero() {
		return t.leaseUpdate(op, `status = 'dead', lease_owner = '', lease_until = NULL, last_error = ?, updated_at = ?`,
			id, owner, errMsg, micros(now))
	}
	return t.leaseUpdate(op, `status = 'queued', run_at = ?, lease_owner = '', lease_until = NULL, last_error = ?, updated_at = ?`,
		id, owner, micros(retryAt), errMsg, micros(now))
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func (t *dataTx) GetJob(id string) (store.Job, error) {
	const op = "get job"
	var r jobRow
	if err := t.c.QueryRow(op, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, []any{id}, r.dest()...); err != nil {
		return store.Job{}, err
	}
	return r.job(), nil
}

func (t *dataTx) ListJobs(f store.JobFilter) ([]store.Job, error) {
	const op = "list jobs"
	var where []string
	var args []any
	if f.TenantID != "" {
		where = append(where, `tenant_id = ?`)
		args = append(args, f.TenantID)
	}
	if f.Kind != "" {
		where = append(where, `kind = ?`)
		args = append(args, f.Kind)
	}
	if f.Status != "" {
		switch f.Status {
		case store.JobQueued, store.JobRunning, store.JobDone, store.JobDead:
		default:
			return nil, invalid(op, "unknown job status")
		}
		where = append(where, `status = ?`)
		args = append(args, string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListJob
	}
	limit = min(limit, maxListJob)
	q := `SELECT ` + jobCols + ` FROM jobs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := t.c.Query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Job
	for rows.Next() {
		var r jobRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, t.c.Wrap(op, err)
		}
		out = append(out, r.job())
	}
	return out, t.c.Wrap(op, rows.Err())
}

func (t *dataTx) AcquireLease(name, owner string, now, until time.Time) (bool, error) {
	const op = "acquire lease"
	if err := t.c.Writable(op); err != nil {
		return false, err
	}
	if err := checkText(op, "name", name, true); err != nil {
		return false, err
	}
	if err := checkText(op, "owner", owner, true); err != nil {
		return false, err
	}
	if !until.After(now) {
		return false, invalid(op, "lease must end after now")
	}
	// The conditional upsert takes the lease only if it is free, expired
	// or already ours; otherwise it changes nothing.
	n, err := t.c.ExecAffected(op, `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.owner = excluded.owner`,
		name, owner, micros(until), micros(now))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (t *dataTx) ReleaseLease(name, owner string) error {
	const op = "release lease"
	if err := t.c.Writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(op, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
	return err
}
