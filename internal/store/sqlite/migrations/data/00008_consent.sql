-- Consent beyond the ledger (00004): the marketing suppression list, the
-- renewal marks a policy change sets on consent-based purposes, the
-- registry of cookie-banner sites, and an index for the expiry sweep. See
-- internal/store/suppression.go.

-- +goose Up
-- The suppression list: keyed hashes of identifiers that must never get
-- direct marketing again. No subject id and no readable identifier, so an
-- entry survives the erasure of the person it came from; purpose '' means
-- every direct-marketing purpose. lifted_at is set when the person
-- subscribes again; the row stays as the record.
CREATE TABLE suppressions (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('email', 'phone')),
    hash        BLOB    NOT NULL,
    purpose     TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    lifted_at   INTEGER,
    PRIMARY KEY (tenant_id, kind, hash, purpose)
) STRICT;
-- Audience pages look hashes up without their kind.
CREATE INDEX suppressions_hash ON suppressions (tenant_id, hash);

-- Renewal marks: consents for purpose given under a policy version before
-- since_version no longer count (the version added or widened the purpose).
-- Insert-only; the engine uses the highest since_version per purpose.
CREATE TABLE consent_renewals (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    purpose        TEXT    NOT NULL,
    since_version  INTEGER NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, purpose, since_version)
) STRICT;

-- Cookie-banner site keys, unique across tenants: the public endpoints have
-- no API key and find the tenant from the key. Rewritten for a tenant each
-- time it applies a policy version.
CREATE TABLE consent_sites (
    site_key        TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id),
    policy_version  INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX consent_sites_tenant ON consent_sites (tenant_id);

-- The expiry sweep's question: which given consents are past their
-- recorded end? (Only given events carry expires_at.)
CREATE INDEX consent_events_expiry ON consent_events (tenant_id, expires_at) WHERE kind = 'given' AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX consent_events_expiry;
DROP TABLE consent_sites;
DROP TABLE consent_renewals;
DROP TABLE suppressions;
