-- Data-subject requests (internal/rights, docs/rights.md): the columns the
-- queue filters and sorts by, the workflow's own state as JSON (never
-- personal values: one-time codes are stored only as MACs), what the person
-- asked for sealed under the tenant's key, and the history of every status
-- change and action.

-- +goose Up
CREATE TABLE requests (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    id            TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL DEFAULT '',
    jurisdiction  TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    confirm_by    INTEGER,
    updated_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    version       INTEGER NOT NULL DEFAULT 1,
    state         TEXT    NOT NULL DEFAULT '{}',
    details       BLOB,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX requests_due ON requests (tenant_id, due_at);
CREATE INDEX requests_subject ON requests (tenant_id, subject_id, type, received_at);

CREATE TABLE request_events (
    tenant_id    TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    from_status  TEXT    NOT NULL DEFAULT '',
    to_status    TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    note         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, request_id, seq),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, id)
) STRICT;

-- +goose Down
DROP TABLE request_events;
DROP TABLE requests;
