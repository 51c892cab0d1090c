package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/jobs"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Retention is the backup retention prune applies: the shortest
// backup_retention among the active policies of all tenants. One snapshot
// holds every tenant, so it may live only as long as the strictest promise
// any tenant made ("backups keep deleted data at most 90 days"); a tenant
// that promised 30 days shortens it for all.
type Retention struct {
	Period policy.Period `json:"period"`
	// Tenant is the slug of the tenant whose policy sets it.
	Tenant string `json:"tenant"`
}

// ErrNoRetention means no tenant has a policy, so there is no promise to
// prune by (prune then deletes nothing).
var ErrNoRetention = errors.New("backup: no tenant has a policy with a backup retention; nothing to prune by")

// PolicyRetention reads the shortest backup retention of the tenants' active
// policies, compared as durations from now.
func PolicyRetention(ctx context.Context, ts *tenant.Service, now time.Time) (Retention, error) {
	list, err := ts.List(ctx)
	if err != nil {
		return Retention{}, err
	}
	var best Retention
	var bestEnd time.Time
	for _, t := range list {
		a, err := ts.Active(ctx, t.ID)
		if errors.Is(err, tenant.ErrNoPolicy) {
			continue
		}
		if err != nil {
			return Retention{}, err
		}
		p := a.Doc.Policy.BackupRetention
		if p.IsZero() {
			continue
		}
		if end := p.AddTo(now); bestEnd.IsZero() || end.Before(bestEnd) {
			best, bestEnd = Retention{Period: p, Tenant: t.Slug}, end
		}
	}
	if bestEnd.IsZero() {
		return Retention{}, ErrNoRetention
	}
	return best, nil
}

// Pruned says what Prune did.
type Pruned struct {
	Retention string   `json:"retention"`
	Removed   []string `json:"removed"`
	Kept      []string `json:"kept"`
}

// partialMaxAge is when a ".partial" snapshot directory (a backup that died
// half-way) is removed.
const partialMaxAge = 24 * time.Hour

// Prune deletes every snapshot in dirs taken more than retention before now:
// key snapshots, so that no key destroyed by an erasure outlives the
// retention in a backup, and data snapshots, whose erased subjects are then
// unreadable anyway. A snapshot is deleted when created_at + retention <=
// now, as the calendar counts (90d, 3mo). It also removes snapshot
// directories left half-written for more than a day. A backup older than
// the retention is deleted even if it is the last one: keeping it would
// break the promise; take backups more often than the retention.
func Prune(dirs []string, retention policy.Period, now time.Time) (Pruned, error) {
	res := Pruned{Retention: retention.String(), Removed: []string{}, Kept: []string{}}
	if retention.IsZero() {
		return res, errors.New("backup: no retention to prune by")
	}
	for _, dir := range dirs {
		sets, err := List(dir)
		if err != nil {
			return res, err
		}
		for _, s := range sets {
			if retention.AddTo(s.At).After(now) {
				res.Kept = append(res.Kept, s.Dir)
				continue
			}
			if err := removeSnapshot(s.Dir); err != nil {
				return res, err
			}
			res.Removed = append(res.Removed, s.Dir)
		}
		if err := removePartials(dir, now); err != nil {
			return res, err
		}
	}
	return res, nil
}

// removeSnapshot deletes a snapshot directory, and its backup set's
// directory when that is left empty (the other kind kept elsewhere or
// already gone).
func removeSnapshot(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if left, err := os.ReadDir(parent); err == nil && len(left) == 0 {
		_ = os.Remove(parent)
	}
	return syncDir(filepath.Dir(parent))
}

func removePartials(dir string, now time.Time) error {
	sets, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range sets {
		if !s.IsDir() {
			continue
		}
		inner, err := os.ReadDir(filepath.Join(dir, s.Name()))
		if err != nil {
			continue
		}
		for _, e := range inner {
			if !e.IsDir() || !strings.HasSuffix(e.Name(), ".partial") {
				continue
			}
			info, err := e.Info()
			if err == nil && now.Sub(info.ModTime()) > partialMaxAge {
				if err := os.RemoveAll(filepath.Join(dir, s.Name(), e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// DefaultPruneEvery is how often the server prunes its backup directories.
const DefaultPruneEvery = time.Hour

// SchedulePrune makes the server prune dirs once per period (on one
// instance), by the shortest backup retention of the tenants' policies.
func SchedulePrune(r *jobs.Runner, dirs []string, st store.Store, ts *tenant.Service, every time.Duration, now func() time.Time, log *slog.Logger) {
	if every <= 0 {
		every = DefaultPruneEvery
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.Periodic("backup.prune", every, func(ctx context.Context) error {
		t := now()
		ret, err := PolicyRetention(ctx, ts, t)
		if errors.Is(err, ErrNoRetention) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := Prune(dirs, ret.Period, t)
		if len(res.Removed) > 0 {
			log.Info("backups pruned", "removed", len(res.Removed), "kept", len(res.Kept), "retention", res.Retention, "set_by_tenant", ret.Tenant)
		}
		if err != nil {
			return fmt.Errorf("pruning backups: %w", err)
		}
		return nil
	})
}
