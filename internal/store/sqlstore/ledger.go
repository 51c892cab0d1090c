package sqlstore

import (
	"context"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// SchemaLedger is the migration set of the erasure ledger (erasure_ledger).
const SchemaLedger = "ledger"

// NewLedgerStore serves the erasure ledger over db, which must have been
// opened with Options{Schema: SchemaLedger}.
func NewLedgerStore(db DB) store.LedgerStore { return &ledgerStore{db: db} }

type ledgerStore struct{ db DB }

func (s *ledgerStore) Engine() string { return s.db.Engine() }

func (s *ledgerStore) Close() error { return s.db.Close() }

func (s *ledgerStore) RecordErasures(ctx context.Context, entries []store.LedgerEntry) error {
	const op = "record erasures"
	for _, e := range entries {
		if err := checkID(op, "tenant id", e.TenantID); err != nil {
			return err
		}
		if e.Kind != store.LedgerSubject && e.Kind != store.LedgerIdentity {
			return invalid(op, "kind must be subject or identity")
		}
		if len(e.Hash) == 0 || len(e.Hash) > 64 {
			return invalid(op, "hash must be 1 to 64 bytes")
		}
	}
	return s.db.WriteConn(ctx, func(c *Conn) error {
		for _, e := range entries {
			at := e.ErasedAt
			if at.IsZero() {
				at = time.Now()
			}
			if _, err := c.Exec(op, `INSERT INTO erasure_ledger (tenant_id, kind, hash, erased_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant_id, kind, hash) DO UPDATE SET erased_at =
				CASE WHEN excluded.erased_at > erasure_ledger.erased_at THEN excluded.erased_at ELSE erasure_ledger.erased_at END`,
				e.TenantID, e.Kind, e.Hash, micros(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *ledgerStore) LedgerTenants(ctx context.Context) ([]string, error) {
	const op = "ledger tenants"
	var out []string
	err := s.db.ReadConn(ctx, func(c *Conn) error {
		out = out[:0]
		rows, err := c.Query(op, `SELECT DISTINCT tenant_id FROM erasure_ledger ORDER BY tenant_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return c.Wrap(op, err)
			}
			out = append(out, id)
		}
		return c.Wrap(op, rows.Err())
	})
	return out, err
}

func (s *ledgerStore) LedgerEntries(ctx context.Context, tenantID, afterKind string, afterHash []byte, limit int) ([]store.LedgerEntry, error) {
	const op = "ledger entries"
	if limit <= 0 || limit > maxDueBatch {
		return nil, invalid(op, "limit must be 1 to 5000")
	}
	if afterHash == nil {
		afterHash = []byte{}
	}
	var out []store.LedgerEntry
	err := s.db.ReadConn(ctx, func(c *Conn) error {
		out = out[:0]
		rows, err := c.Query(op, `SELECT kind, hash, erased_at FROM erasure_ledger WHERE tenant_id = ? AND (kind, hash) > (?, ?)
			ORDER BY kind, hash LIMIT ?`, tenantID, afterKind, afterHash, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := store.LedgerEntry{TenantID: tenantID}
			var at int64
			if err := rows.Scan(&e.Kind, &e.Hash, &at); err != nil {
				return c.Wrap(op, err)
			}
			e.ErasedAt = fromMicros(at)
			out = append(out, e)
		}
		return c.Wrap(op, rows.Err())
	})
	return out, err
}
