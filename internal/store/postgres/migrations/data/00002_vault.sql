-- Vault (PostgreSQL): subjects, identities (blind indexes), encrypted fields and
-- collection records, idempotency keys. No personal data is stored in clear:
-- identities are keyed hashes, values are AEAD ciphertexts.

-- +goose Up
CREATE TABLE subjects (
    tenant_id          TEXT    NOT NULL REFERENCES tenants (id),
    id                 TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('active', 'erased')),
    anonymous          INTEGER NOT NULL DEFAULT 0,
    age_status         TEXT    NOT NULL DEFAULT '' CHECK (age_status IN ('', 'minor', 'minor_consented')),
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    last_activity_at   BIGINT  NOT NULL,
    contract_end_at    BIGINT,
    account_closed_at  BIGINT,
    erased_at          BIGINT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE identities (
    tenant_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    blind       BYTEA   NOT NULL,
    subject_id  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, kind, blind),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);
CREATE UNIQUE INDEX identities_subject_field ON identities (tenant_id, subject_id, field);

CREATE TABLE field_values (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    field         TEXT    NOT NULL,
    ciphertext    BYTEA   NOT NULL,
    source        TEXT    NOT NULL,
    collected_at  BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, field),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);

CREATE TABLE records (
    tenant_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    collection    TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    ciphertext    BYTEA   NOT NULL,
    source        TEXT    NOT NULL,
    collected_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, collection, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);

CREATE TABLE idempotency (
    tenant_id     TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    request_hash  BYTEA   NOT NULL,
    status        INTEGER NOT NULL,
    body          BYTEA   NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- +goose Down
DROP TABLE idempotency;
DROP TABLE records;
DROP TABLE field_values;
DROP TABLE identities;
DROP TABLE subjects;
