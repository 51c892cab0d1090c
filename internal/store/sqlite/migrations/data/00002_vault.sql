-- Vault: subjects, identities (blind indexes), encrypted fields and
-- collection records, idempotency keys. No personal data is stored in clear:
-- identities are keyed hashes, values are AEAD ciphertexts.

-- +goose Up
CREATE TABLE subjects (
    tenant_id          TEXT    NOT NULL REFERENCES tenants (id),
    id                 TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('active', 'erased')),
    anonymous          INTEGER NOT NULL DEFAULT 0,
    age_status         TEXT    NOT NULL DEFAULT '' CHECK (age_status IN ('', 'minor', 'minor_consented')),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_activity_at   INTEGER NOT NULL,
    contract_end_at    INTEGER,
    account_closed_at  INTEGER,
    erased_at          INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE identities (
    tenant_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    blind       BLOB    NOT NULL,
    subject_id  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, blind),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX identities_subject_field ON identities (tenant_id, subject_id, field);

CREATE TABLE field_values (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    field         TEXT    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    source        TEXT    NOT NULL,
    collected_at  INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, field),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
) STRICT;

CREATE TABLE records (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    collection    TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    source        TEXT    NOT NULL,
    collected_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, collection, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
) STRICT;

CREATE TABLE idempotency (
    tenant_id     TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    request_hash  BLOB    NOT NULL,
    status        INTEGER NOT NULL,
    body          BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
) STRICT;
CREATE INDEX idempotency_created ON idempotency (created_at);

-- +goose Down
DROP TABLE idempotency;
DROP TABLE records;
DROP TABLE field_values;
DROP TABLE identities;
DROP TABLE subjects;
