package app

import (
	"context"
	"fmt"

	"github.com/trustee-privacy/trustee/internal/backup"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// openRetention opens the erasure ledger (kept apart from both stores, so no
// restore rolls it back), makes the vault record every erasure in it, builds
// the retention service and schedules the sweep, and, when a backup
// directory is configured, the pruning of backups older than the policies'
// backup retention.
func (a *App) openRetention(ctx context.Context, o Options) error {
	dsn := o.LedgerDB
	if dsn == "" {
		dsn = backup.DefaultLedgerDSN(o.DB)
	}
	l, err := backup.OpenLedger(ctx, dsn)
	if err != nil {
		return err
	}
	a.Ledger = l
	ledger := &backup.Ledger{Store: l, Keys: a.Keys}
	a.Vault.Ledger = ledger
	a.Retention = &retention.Service{Store: a.Store, Tenants: a.Tenants, Keys: a.Keys, Audit: a.Audit, Ledger: ledger, Logger: o.Logger,
		EraseSubject: func(ctx context.Context, tenantID, subjectID string) error {
			_, err := a.Vault.Erase(ctx, tenantID, subjectID, vault.Actor{ID: "system:retention", Role: "system"})
			return err
		}}
	a.Retention.Schedule(a.Jobs, o.RetentionEvery)
	if o.BackupDir != "" {
		backup.SchedulePrune(a.Jobs, []string{o.BackupDir}, a.Store, a.Tenants, 0, nil, o.Logger)
	}
	return nil
}

// closeLedger closes the erasure ledger, if open.
func (a *App) closeLedger() error {
	if a.Ledger == nil {
		return nil
	}
	if err := a.Ledger.Close(); err != nil {
		return fmt.Errorf("erasure ledger: %w", err)
	}
	return nil
}
