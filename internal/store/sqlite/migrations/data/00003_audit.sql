-- Audit log: per-tenant hash chains split into shards, their heads, and
-- signed checkpoints. Rows carry names and identifiers only, never personal
-- values. Rows are only ever inserted (events, checkpoints) or moved forward
-- (heads); internal/audit verifies that nothing else happened.

-- +goose Up
CREATE TABLE audit_heads (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    shard      INTEGER NOT NULL CHECK (shard >= 0),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    hash       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, shard)
) STRICT, WITHOUT ROWID;

-- WITHOUT ROWID: rows live in the primary-key B-tree, so appending writes
-- one tree fewer and verification reads each shard in key order. Secondary
-- indexes end with the key columns (shard, seq), which ListAuditEvents
-- orders by after the time.
CREATE TABLE audit_events (
    tenant_id   TEXT    NOT NULL,
    shard       INTEGER NOT NULL CHECK (shard >= 0),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    categories  TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, shard, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_events_at ON audit_events (tenant_id, at);
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject_id, at);

CREATE TABLE audit_checkpoints (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at         INTEGER NOT NULL,
    heads      TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    key_id     TEXT    NOT NULL,
    signature  BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT;

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
DROP TABLE audit_heads;
