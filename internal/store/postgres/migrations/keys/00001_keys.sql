-- Key store (PostgreSQL): wrapped tenant keys, wrapped subject data keys and
-- the ledger of destroyed subject keys, with their own version table
-- (trustee_keys_migrations). Give the key store its own schema or database
-- (and role) so that data backups and the data role never include it. No key
-- material is stored in clear: tenant keys are wrapped by the root key (kept
-- outside any database), subject keys by their tenant's KEK.

-- +goose Up
CREATE TABLE tenant_keys (
    tenant_id    TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('kek', 'index', 'audit_signing')),
    version      INTEGER NOT NULL CHECK (version >= 1),
    wrapped      BYTEA   NOT NULL,
    root_key_id  BIGINT  NOT NULL CHECK (root_key_id BETWEEN 0 AND 4294967295),
    created_at   BIGINT  NOT NULL,
    retired_at   BIGINT,
    PRIMARY KEY (tenant_id, purpose, version)
);
CREATE INDEX tenant_keys_root ON tenant_keys (root_key_id);

-- Deleting a row destroys the subject's key: crypto-shredding.
CREATE TABLE subject_keys (
    tenant_id    TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    wrapped      BYTEA   NOT NULL,
    kek_version  INTEGER NOT NULL CHECK (kek_version >= 1),
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);
CREATE INDEX subject_keys_kek ON subject_keys (tenant_id, kek_version, subject_id);

-- Who was shredded and when; no key material.
CREATE TABLE shredded_keys (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    destroyed_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

-- +goose Down
DROP TABLE shredded_keys;
DROP TABLE subject_keys;
DROP TABLE tenant_keys;
