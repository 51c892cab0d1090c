-- Outbox: emails and webhooks written in the same transaction as the change
-- that causes them, delivered by background jobs (package outbox). The
-- payload (recipient, subject, bodies, webhook URL, secret and body) is
-- sealed under a tenant key and bound to the row; every other column is
-- metadata without personal data beyond the subject id and the recipient's
-- domain. A message's payload is removed once it is delivered, handled by
-- hand or cancelled; the CHECK makes that a rule of the schema.

-- +goose Up
CREATE TABLE outbox_messages (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id),
    id               TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL DEFAULT '',
    topic            TEXT    NOT NULL,
    channel          TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
    destination      TEXT    NOT NULL DEFAULT '',  -- email domain or webhook host
    dedupe_key       TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'delivered', 'dead', 'handled', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at  INTEGER,                      -- NULL unless queued
    last_error       TEXT    NOT NULL DEFAULT '',
    last_code        INTEGER NOT NULL DEFAULT 0,
    job_id           TEXT    NOT NULL DEFAULT '',
    payload          BLOB,                         -- sealed; NULL once no longer needed
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    handled_at       INTEGER,
    handled_by       TEXT    NOT NULL DEFAULT '',
    note             TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CHECK (status IN ('queued', 'dead') OR payload IS NULL),
    CHECK ((status = 'queued') = (next_attempt_at IS NOT NULL))
) STRICT;
-- A dedupe key is unique per tenant for good: "send the completion notice
-- of request R once".
CREATE UNIQUE INDEX outbox_dedupe ON outbox_messages (tenant_id, dedupe_key) WHERE dedupe_key <> '';
CREATE INDEX outbox_status ON outbox_messages (tenant_id, status, id);
CREATE INDEX outbox_subject ON outbox_messages (tenant_id, subject_id, id) WHERE subject_id <> '';
-- The stalled-attempt sweep reads only queued rows that are due.
CREATE INDEX outbox_due ON outbox_messages (next_attempt_at) WHERE status = 'queued';

-- +goose Down
DROP TABLE outbox_messages;
