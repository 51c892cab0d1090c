-- has_controls marks subjects that have (or had) a restriction, objection,
-- legal hold or consent event, so a purpose-scoped read of everyone else
-- skips the controls query. The store sets it in the same statement batch as
-- every such insert; it is never cleared, so it can only make reads query
-- more, never less.

-- +goose Up
ALTER TABLE subjects ADD COLUMN has_controls INTEGER NOT NULL DEFAULT 0;
UPDATE subjects SET has_controls = 1 WHERE
    EXISTS (SELECT 1 FROM restrictions r WHERE r.tenant_id = subjects.tenant_id AND r.subject_id = subjects.id)
    OR EXISTS (SELECT 1 FROM objections o WHERE o.tenant_id = subjects.tenant_id AND o.subject_id = subjects.id)
    OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = subjects.tenant_id AND h.subject_id = subjects.id)
    OR EXISTS (SELECT 1 FROM consent_events c WHERE c.tenant_id = subjects.tenant_id AND c.subject_id = subjects.id);

-- +goose Down
ALTER TABLE subjects DROP COLUMN has_controls;
