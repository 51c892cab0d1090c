-- Breach register (GDPR Art. 33 and 34, package breach). One row per
-- incident: the columns the workflow branches on (status, the times of each
-- step, the risk level the DPO confirmed) and the descriptive part as a JSON
-- document owned by the breach package. The affected set is rows of subject
-- ids with the basis they were found on and the state of their Art. 34
-- notice: ids only, never values. There is no foreign key to subjects: an
-- erased person stays counted in the breach they were part of.

-- +goose Up
CREATE TABLE breaches (
    tenant_id              TEXT    NOT NULL REFERENCES tenants (id),
    id                     TEXT    NOT NULL,
    status                 TEXT    NOT NULL CHECK (status IN ('open', 'assessed', 'authority_notified', 'people_notified', 'closed')),
    title                  TEXT    NOT NULL,
    detected_at            BIGINT  NOT NULL,
    aware_at               BIGINT  NOT NULL,  -- start of the 72-hour clock
    details                TEXT    NOT NULL,  -- JSON, see internal/breach
    risk                   TEXT    NOT NULL DEFAULT '',
    assessed_at            BIGINT,
    authority_notified_at  BIGINT,
    people_notified_at     BIGINT,
    closed_at              BIGINT,
    created_by             TEXT    NOT NULL DEFAULT '',
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE breach_affected (
    tenant_id     TEXT    NOT NULL,
    breach_id     TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    basis         TEXT    NOT NULL,
    notice_state  TEXT    NOT NULL DEFAULT 'pending' CHECK (notice_state IN ('pending', 'queued', 'delivered', 'failed', 'unreachable')),
    message_id    TEXT    NOT NULL DEFAULT '',  -- outbox message of the notice
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, breach_id, subject_id),
    FOREIGN KEY (tenant_id, breach_id) REFERENCES breaches (tenant_id, id)
);
-- Delivery outcomes come back by outbox message id.
CREATE INDEX breach_affected_message ON breach_affected (tenant_id, message_id) WHERE message_id <> '';

-- +goose Down
DROP INDEX breach_affected_message;
DROP TABLE breach_affected;
DROP TABLE breaches;
