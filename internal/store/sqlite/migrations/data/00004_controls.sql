-- Controls: restrictions (GDPR Art. 18), objections (Art. 21), legal holds and
-- the append-only consent ledger. Lists (categories, collections, purposes)
-- are comma-separated keys; '' means "all" where the column says so.
--
-- The read path asks "what is in force for this subject now?" on every
-- purpose-scoped read, in one UNION query (sqlstore/controls.go); each branch
-- is one seek on a (tenant_id, subject_id, ...) index below.

-- +goose Up
CREATE TABLE restrictions (
    tenant_id         TEXT    NOT NULL REFERENCES tenants (id),
    id                TEXT    NOT NULL,
    subject_id        TEXT    NOT NULL,
    categories        TEXT    NOT NULL DEFAULT '',  -- '' = all the subject's data
    ground            TEXT    NOT NULL CHECK (ground IN ('accuracy_contested', 'unlawful_processing', 'no_longer_needed_but_claims', 'objection_pending')),
    reason            TEXT    NOT NULL DEFAULT '',
    allowed_purposes  TEXT    NOT NULL DEFAULT '',  -- Art. 18(2) exceptions; '' = storage only
    request_id        TEXT    NOT NULL DEFAULT '',
    actor             TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    lifted_at         INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
) STRICT;
CREATE INDEX restrictions_subject ON restrictions (tenant_id, subject_id, created_at);

CREATE TABLE objections (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    id           TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    purpose      TEXT    NOT NULL DEFAULT '',  -- '' = every purpose of the kind
    kind         TEXT    NOT NULL CHECK (kind IN ('direct_marketing', 'legitimate_interest', 'public_task')),
    status       TEXT    NOT NULL CHECK (status IN ('upheld', 'pending', 'overridden', 'withdrawn')),
    reason       TEXT    NOT NULL DEFAULT '',
    resolution   TEXT    NOT NULL DEFAULT '',
    request_id   TEXT    NOT NULL DEFAULT '',
    actor        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id),
    CHECK (kind <> 'direct_marketing' OR status IN ('upheld', 'withdrawn'))
) STRICT;
CREATE INDEX objections_subject ON objections (tenant_id, subject_id, created_at);

-- subject_id '' holds every subject of the tenant, so there is no foreign key
-- to subjects; the store checks a named subject exists.
CREATE TABLE legal_holds (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    id           TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL DEFAULT '',
    categories   TEXT    NOT NULL DEFAULT '',
    collections  TEXT    NOT NULL DEFAULT '',
    purpose      TEXT    NOT NULL DEFAULT '',  -- '' = preserve only
    reason       TEXT    NOT NULL,
    actor        TEXT    NOT NULL DEFAULT '',
    until_at     INTEGER,
    created_at   INTEGER NOT NULL,
    released_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX legal_holds_subject ON legal_holds (tenant_id, subject_id, created_at);

-- Append-only: rows are never updated, except that LinkBrowserConsents fills
-- subject_id (and linked_at) of an anonymous browser's rows once. The
-- current state of a purpose is its row with the greatest (occurred_at, id).
-- subject_id '' = not linked to a subject yet.
CREATE TABLE consent_events (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    id              TEXT    NOT NULL,  -- UUIDv7, the receipt id
    subject_id      TEXT    NOT NULL DEFAULT '',
    browser_id      TEXT    NOT NULL DEFAULT '',
    purpose         TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('given', 'withdrawn', 'expired')),
    policy_version  INTEGER NOT NULL,
    policy_hash     TEXT    NOT NULL DEFAULT '',
    method          TEXT    NOT NULL,
    text_hash       TEXT    NOT NULL DEFAULT '',
    ip_hash         TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    page_url        TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    actor           TEXT    NOT NULL DEFAULT '',
    occurred_at     INTEGER NOT NULL,
    expires_at      INTEGER,
    recorded_at     INTEGER NOT NULL,
    linked_at       INTEGER,
    PRIMARY KEY (tenant_id, id),
    CHECK (subject_id <> '' OR browser_id <> '')
) STRICT;
-- Latest event per purpose of a subject (and its history): one index seek.
CREATE INDEX consent_events_subject ON consent_events (tenant_id, subject_id, purpose, occurred_at, id);
-- The same for an anonymous browser, and for linking it to a subject.
CREATE INDEX consent_events_browser ON consent_events (tenant_id, browser_id, purpose, occurred_at, id);
-- Everyone with a state for a purpose (audiences such as a send list).
CREATE INDEX consent_events_purpose ON consent_events (tenant_id, purpose, subject_id);

-- +goose Down
DROP TABLE consent_events;
DROP TABLE legal_holds;
DROP TABLE objections;
DROP TABLE restrictions;
