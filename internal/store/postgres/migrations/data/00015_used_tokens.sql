-- Subject tokens an application hands to the privacy center are single
-- use: the hash of each token exchanged is kept until the token would have
-- expired anyway, so a token copied from a browser's history or a log
-- cannot sign anyone in again.

-- +goose Up
CREATE TABLE used_tokens (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    hash        BYTEA   NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);
CREATE INDEX used_tokens_expiry ON used_tokens (tenant_id, expires_at);

-- +goose Down
DROP TABLE used_tokens;
