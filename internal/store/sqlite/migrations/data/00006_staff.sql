-- Staff of the admin console: accounts (argon2id password hashes, TOTP seeds
-- sealed under the tenant's KEK), sessions (only a SHA-256 of the cookie's
-- random token) and sign-in throttling counters. See internal/web/staff and
-- docs/console.md.

-- +goose Up
CREATE TABLE staff_accounts (
    tenant_id             TEXT    NOT NULL REFERENCES tenants (id),
    id                    TEXT    NOT NULL,
    login                 TEXT    NOT NULL,
    role                  TEXT    NOT NULL CHECK (role IN ('admin', 'dpo', 'agent', 'service', 'auditor')),
    password_hash         TEXT    NOT NULL,
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    totp_secret           BLOB,
    totp_pending          BLOB,
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    created_by            TEXT    NOT NULL DEFAULT '',
    updated_at            INTEGER NOT NULL,
    last_sign_in_at       INTEGER,
    disabled_at           INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, login)
) STRICT;

CREATE TABLE staff_sessions (
    id_hash       BLOB    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    staff_id      TEXT    NOT NULL,
    stage         TEXT    NOT NULL CHECK (stage IN ('pending', 'active')),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_accounts (tenant_id, id)
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (tenant_id, staff_id);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires_at);

-- throttle_key is 'login:<hash of tenant and login>' or 'net:<client
-- network>'; not tenant-scoped, as one network may try several tenants.
CREATE TABLE signin_throttle (
    throttle_key     TEXT    NOT NULL PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failed_at  INTEGER NOT NULL,
    last_failed_at   INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signin_throttle;
DROP TABLE staff_sessions;
DROP TABLE staff_accounts;
