-- Exports: access (GDPR Art. 15) and portability (Art. 20) exports of one
-- subject (package export). The files live outside the database, encrypted
-- under per-file keys sealed by the tenant's KEK (sealed_key); no column
-- holds personal data beyond the subject id. Download links are single-use:
-- used_at is set by the first download.

-- +goose Up
CREATE TABLE exports (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    id           TEXT    NOT NULL,
    request_id   TEXT    NOT NULL DEFAULT '',
    subject_id   TEXT    NOT NULL,
    portability  INTEGER NOT NULL CHECK (portability IN (0, 1)),
    status       TEXT    NOT NULL CHECK (status IN ('ready', 'deleted')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    deleted_at   INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX exports_subject ON exports (tenant_id, subject_id, id);
-- The sweep reads only ready exports that are due.
CREATE INDEX exports_due ON exports (expires_at) WHERE status = 'ready';

CREATE TABLE export_files (
    tenant_id   TEXT    NOT NULL,
    export_id   TEXT    NOT NULL,
    format      TEXT    NOT NULL CHECK (format IN ('json', 'csv', 'pdf')),
    name        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sha256      BLOB    NOT NULL,
    sealed_key  BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, export_id, format),
    FOREIGN KEY (tenant_id, export_id) REFERENCES exports (tenant_id, id)
) STRICT;

CREATE TABLE export_links (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    export_id   TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, export_id) REFERENCES exports (tenant_id, id)
) STRICT;

-- +goose Down
DROP TABLE export_links;
DROP TABLE export_files;
DROP TABLE exports;
