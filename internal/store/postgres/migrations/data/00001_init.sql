-- Data schema, PostgreSQL. Ids are UUIDv7 text; times are BIGINT microseconds
-- since the Unix epoch, UTC (NULL where a time may be absent), the same
-- representation as on SQLite so the shared queries need no conversion.

-- +goose Up
CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    mode        TEXT    NOT NULL CHECK (mode IN ('controller', 'processor')),
    policy_seq  BIGINT  NOT NULL DEFAULT 0, -- highest policy version, see InsertPolicyVersion
    created_at  BIGINT  NOT NULL
);

CREATE TABLE policy_versions (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    version         INTEGER NOT NULL,
    hash            TEXT    NOT NULL,
    format          TEXT    NOT NULL CHECK (format IN ('yaml', 'json')),
    source          BYTEA   NOT NULL,
    revision        TEXT    NOT NULL DEFAULT '',
    effective_date  TEXT    NOT NULL DEFAULT '',
    applied_at      BIGINT  NOT NULL,
    applied_by      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    role         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    secret_hash  BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    expires_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- tenant_id is '' for system jobs, so it has no foreign key.
CREATE TABLE jobs (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL,
    job_key       TEXT    NOT NULL DEFAULT '',
    payload       BYTEA   NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at        BIGINT  NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    lease_owner   TEXT    NOT NULL DEFAULT '',
    lease_until   BIGINT,
    last_error    TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, created_at);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, job_key) WHERE status IN ('queued', 'running') AND job_key <> '';

CREATE TABLE leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE jobs;
DROP TABLE api_keys;
DROP TABLE policy_versions;
DROP TABLE tenants;
