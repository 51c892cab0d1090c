-- Key store: wrapped tenant keys, wrapped subject data keys and the ledger
-- of destroyed subject keys. This set lives in its own SQLite file, apart
-- from the data it protects. No key material is stored in clear: tenant keys
-- are wrapped by the root key (kept outside any database), subject keys by
-- their tenant's KEK.

-- +goose Up
CREATE TABLE tenant_keys (
    tenant_id    TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('kek', 'index', 'audit_signing')),
    version      INTEGER NOT NULL CHECK (version >= 1),
    wrapped      BLOB    NOT NULL,
    root_key_id  INTEGER NOT NULL CHECK (root_key_id BETWEEN 0 AND 4294967295),
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER,
    PRIMARY KEY (tenant_id, purpose, version)
) STRICT;
CREATE INDEX tenant_keys_root ON tenant_keys (root_key_id);

-- Deleting a row destroys the subject's key: crypto-shredding.
CREATE TABLE subject_keys (
    tenant_id    TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    wrapped      BLOB    NOT NULL,
    kek_version  INTEGER NOT NULL CHECK (kek_version >= 1),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
) STRICT;
CREATE INDEX subject_keys_kek ON subject_keys (tenant_id, kek_version, subject_id);

-- Who was shredded and when; no key material.
CREATE TABLE shredded_keys (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    destroyed_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
) STRICT;

-- +goose Down
DROP TABLE shredded_keys;
DROP TABLE subject_keys;
DROP TABLE tenant_keys;
