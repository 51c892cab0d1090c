-- Audit log (PostgreSQL): per-tenant hash chains split into shards, their
-- heads, and signed checkpoints. Rows carry names and identifiers only, never
-- personal values. Rows are only ever inserted (events, checkpoints) or moved
-- forward (heads); internal/audit verifies that nothing else happened.

-- +goose Up
-- Every append updates one head row: a low fillfactor leaves room on the
-- page for HOT updates, so the churn never touches the index.
CREATE TABLE audit_heads (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    shard      INTEGER NOT NULL CHECK (shard >= 0),
    seq        BIGINT  NOT NULL CHECK (seq >= 0),
    hash       BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, shard)
) WITH (fillfactor = 50);

CREATE TABLE audit_events (
    tenant_id   TEXT    NOT NULL,
    shard       INTEGER NOT NULL CHECK (shard >= 0),
    seq         BIGINT  NOT NULL CHECK (seq >= 1),
    at          BIGINT  NOT NULL,
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
    prev_hash   BYTEA   NOT NULL,
    hash        BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, shard, seq)
);
CREATE INDEX audit_events_at ON audit_events (tenant_id, at, shard, seq);
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject_id, at, shard, seq);

CREATE TABLE audit_checkpoints (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    seq        BIGINT  NOT NULL CHECK (seq >= 1),
    at         BIGINT  NOT NULL,
    heads      TEXT    NOT NULL,
    prev_hash  BYTEA   NOT NULL,
    key_id     TEXT    NOT NULL,
    signature  BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
DROP TABLE audit_heads;
