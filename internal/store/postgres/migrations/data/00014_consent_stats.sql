-- The console's consent dashboard counts ledger events per purpose, kind,
-- method and day over a window of time: an index on the event time per
-- tenant lets it read only the window.

-- +goose Up
CREATE INDEX consent_events_time ON consent_events (tenant_id, occurred_at);

-- +goose Down
DROP INDEX consent_events_time;
