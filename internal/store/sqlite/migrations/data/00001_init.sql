-- Data schema, SQLite. Ids are UUIDv7 text; times are INTEGER microseconds
-- since the Unix epoch, UTC (NULL where a time may be absent); tables are
-- STRICT so a wrong type fails instead of being stored.

-- +goose Up
CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    mode        TEXT    NOT NULL CHECK (mode IN ('controller', 'processor')),
    policy_seq  INTEGER NOT NULL DEFAULT 0, -- highest policy version, see InsertPolicyVersion
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE policy_versions (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    version         INTEGER NOT NULL,
    hash            TEXT    NOT NULL,
    format          TEXT    NOT NULL CHECK (format IN ('yaml', 'json')),
    source          BLOB    NOT NULL,
    revision        TEXT    NOT NULL DEFAULT '',
    effective_date  TEXT    NOT NULL DEFAULT '',
    applied_at      INTEGER NOT NULL,
    applied_by      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, version)
) STRICT;

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    role         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- tenant_id is '' for system jobs, so it has no foreign key.
CREATE TABLE jobs (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL,
    job_key       TEXT    NOT NULL DEFAULT '',
    payload       BLOB    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    lease_owner   TEXT    NOT NULL DEFAULT '',
    lease_until   INTEGER,
    last_error    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, created_at);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, job_key) WHERE status IN ('queued', 'running') AND job_key <> '';

CREATE TABLE leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE leases;
DROP TABLE jobs;
DROP TABLE api_keys;
DROP TABLE policy_versions;
DROP TABLE tenants;
