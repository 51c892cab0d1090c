-- (PostgreSQL) Fulfilment of data-subject requests (package fulfil): one row per request
-- fulfilled, so fulfilling it again returns the first outcome; the
-- propagation of rectifications, erasures and restrictions to each
-- recipient (GDPR Art. 19) with its acknowledgement state; and the webhook
-- endpoints a tenant configured for its recipients. An endpoint's URL and
-- signing secret are sealed under a tenant key; only the host is clear.

-- +goose Up
CREATE TABLE fulfilments (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    request_id  TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL DEFAULT '',
    type        TEXT    NOT NULL,
    result      BYTEA   NOT NULL,                 -- JSON, no personal data values
    actor       TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);

CREATE TABLE propagations (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    request_id  TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL CHECK (action IN ('erasure', 'rectification', 'restriction')),
    categories  TEXT    NOT NULL DEFAULT '',      -- comma-separated keys
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'acknowledged', 'failed', 'manual', 'handled')),
    message_id  TEXT    NOT NULL DEFAULT '',      -- outbox webhook; '' when manual
    ack         TEXT    NOT NULL DEFAULT '' CHECK (ack IN ('', 'callback', 'on_delivery')),
    note        TEXT    NOT NULL DEFAULT '',
    actor       TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, request_id, recipient)
);
-- Delivery outcomes find their row by the outbox message.
CREATE INDEX propagations_message ON propagations (tenant_id, message_id) WHERE message_id <> '';

CREATE TABLE recipient_endpoints (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    recipient   TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    sealed      BYTEA   NOT NULL,                 -- URL and secret, sealed
    ack         TEXT    NOT NULL CHECK (ack IN ('callback', 'on_delivery')),
    actor       TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, recipient)
);

-- +goose Down
DROP TABLE recipient_endpoints;
DROP TABLE propagations;
DROP TABLE fulfilments;
