-- Retention: every field value and collection record carries its due time
-- (expires_at, µs since the epoch; NULL while it is not known, e.g. a rule
-- counted from a contract end that has not happened), so a sweep reads only
-- what is due through the partial indexes below and never scans the tables.
-- The vault computes expires_at on every write and when a subject's trigger
-- times move; internal/retention recomputes it in bounded batches when a new
-- policy version changes a rule.
--
-- Backfill: the durations live in the policy text, which SQL cannot read, so
-- existing rows start as NULL ("not known yet") and no tenant has a
-- retention_state row; the sweep's recompute job fills every row of a tenant
-- before that tenant's first sweep acts on anything.

-- +goose Up
ALTER TABLE field_values ADD COLUMN expires_at INTEGER;
ALTER TABLE records ADD COLUMN expires_at INTEGER;
-- Due rows of a tenant in the sweep's keyset order.
CREATE INDEX field_values_due ON field_values (tenant_id, expires_at, subject_id, field) WHERE expires_at IS NOT NULL;
CREATE INDEX records_due ON records (tenant_id, expires_at, subject_id, collection, id) WHERE expires_at IS NOT NULL;
-- Children below the minimum age without parental consent, for the sweep.
CREATE INDEX subjects_minors ON subjects (tenant_id, id) WHERE age_status = 'minor' AND state = 'active';

-- What anonymisation leaves of a record: a count per collection, category,
-- generalised period ('2026-03' for a month, '2026' for a year) and the
-- attributes the policy keeps (canonical JSON object, '' for none). No
-- subject id, no exact time, no value that was not declared as kept.
CREATE TABLE anonymised_counts (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    collection  TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    attributes  TEXT    NOT NULL DEFAULT '',
    total       INTEGER NOT NULL CHECK (total >= 0),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, collection, category, period, attributes)
) STRICT;

-- Which retention rules the stored expires_at values follow, per tenant, and
-- the recompute in progress when a new policy version changed one.
CREATE TABLE retention_state (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id),
    applied     TEXT    NOT NULL DEFAULT '',  -- JSON name -> rule signature of the stored expiries
    target      TEXT    NOT NULL DEFAULT '',  -- JSON signature being applied; '' when none
    progress    TEXT    NOT NULL DEFAULT '',  -- where the recompute stopped
    updated_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE retention_state;
DROP TABLE anonymised_counts;
DROP INDEX subjects_minors;
DROP INDEX records_due;
DROP INDEX field_values_due;
ALTER TABLE records DROP COLUMN expires_at;
ALTER TABLE field_values DROP COLUMN expires_at;
