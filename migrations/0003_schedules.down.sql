-- stopstart: schedules as issue 10 runs them (revert). Defined-tag targets and deleted schedules
-- have no earlier form and are dropped; windows lose their pairing.
DROP INDEX stopstart.occurrences_unfinished_idx;
ALTER TABLE stopstart.occurrences
    DROP COLUMN created_at,
    DROP COLUMN target_count,
    DROP COLUMN fired_by,
    DROP CONSTRAINT occurrences_delay,
    DROP CONSTRAINT occurrences_state_check;
UPDATE stopstart.occurrences SET state = CASE WHEN delayed_until IS NULL THEN 'planned' ELSE 'delayed' END
    WHERE state = 'pending';
UPDATE stopstart.occurrences SET delayed_until = NULL WHERE state <> 'delayed';
ALTER TABLE stopstart.occurrences
    ALTER COLUMN state SET DEFAULT 'planned',
    ADD CONSTRAINT occurrences_state_check
        CHECK (state IN ('planned', 'skipped', 'delayed', 'running', 'done', 'failed', 'missed')),
    ADD CONSTRAINT occurrences_delay CHECK ((state = 'delayed') = (delayed_until IS NOT NULL));

DROP INDEX stopstart.exception_dates_key;
ALTER TABLE stopstart.exception_calendars
    DROP COLUMN updated_at,
    DROP CONSTRAINT exception_calendars_name_check;

DELETE FROM stopstart.schedule_targets WHERE kind = 'defined-tag';
ALTER TABLE stopstart.schedule_targets
    DROP CONSTRAINT schedule_targets_shape,
    DROP CONSTRAINT schedule_targets_kind_check,
    ADD COLUMN recursive boolean NOT NULL DEFAULT false;
UPDATE stopstart.schedule_targets SET recursive = true WHERE kind = 'compartment';
UPDATE stopstart.schedule_targets SET kind = 'compartment' WHERE kind = 'compartment-only';
ALTER TABLE stopstart.schedule_targets
    DROP COLUMN tag_namespace,
    ADD CONSTRAINT schedule_targets_kind_check CHECK (kind IN ('instance', 'compartment', 'tag')),
    ADD CONSTRAINT schedule_targets_shape CHECK (
        (kind = 'instance' AND instance_id IS NOT NULL AND compartment_id IS NULL AND tag_key IS NULL) OR
        (kind = 'compartment' AND compartment_id IS NOT NULL AND instance_id IS NULL AND tag_key IS NULL) OR
        (kind = 'tag' AND tag_key IS NOT NULL AND instance_id IS NULL AND compartment_id IS NULL));

DROP INDEX stopstart.schedules_window_key;
DROP INDEX stopstart.schedules_name_key;
-- Deleted schedules go with their history: the earlier schema has no place for them.
DELETE FROM stopstart.actions WHERE occurrence_id IN (
    SELECT o.id FROM stopstart.occurrences o JOIN stopstart.schedules s ON s.id = o.schedule_id
    WHERE s.deleted_at IS NOT NULL);
DELETE FROM stopstart.schedules WHERE deleted_at IS NOT NULL;
ALTER TABLE stopstart.schedules
    DROP CONSTRAINT schedules_window_action,
    DROP CONSTRAINT schedules_enabled_since,
    ADD CONSTRAINT schedules_name_key UNIQUE (name),
    ADD COLUMN window_pair bigint,
    DROP COLUMN window_name,
    DROP COLUMN enabled_since,
    DROP COLUMN deleted_at;
