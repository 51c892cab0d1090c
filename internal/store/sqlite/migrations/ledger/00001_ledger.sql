-- Erasure ledger: which subjects (and identities) were erased, as keyed
-- hashes, kept apart from the data store and the key store so that no
-- restore of either rolls it back. After a restore, internal/backup erases
-- again every restored subject the ledger names. No identifier is stored in
-- clear: hash is HMAC-SHA256 under the tenant's blind-index key (which every
-- key-store backup holds, so the ledger stays usable after a key-store
-- restore) of the subject id, or of an identity's blind index.

-- +goose Up
CREATE TABLE erasure_ledger (
    tenant_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('subject', 'identity')),
    hash       BLOB    NOT NULL,
    erased_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, hash)
) STRICT;

-- +goose Down
DROP TABLE erasure_ledger;
