-- stopstart: schedules as issue 10 runs them
--
-- Schedules are deleted softly (deleted_at): their occurrences and actions are history and stay
-- readable; a deleted schedule's name can be used again. enabled_since says since when an
-- enabled schedule has been enabled: a catch-up firing for an earlier slot (systemd's
-- Persistent= stamp survives a disable) is recorded skipped, never executed.
ALTER TABLE stopstart.schedules
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN enabled_since timestamptz,
    -- The two schedules of a window (NAME-up, NAME-down) carry the window's name.
    ADD COLUMN window_name text CHECK (window_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$');
UPDATE stopstart.schedules SET enabled_since = updated_at WHERE enabled;
ALTER TABLE stopstart.schedules
    DROP COLUMN window_pair,
    DROP CONSTRAINT schedules_name_key,
    ADD CONSTRAINT schedules_enabled_since CHECK (enabled = (enabled_since IS NOT NULL)),
    ADD CONSTRAINT schedules_window_action CHECK (window_name IS NULL OR action IN ('start', 'stop', 'softstop'));
CREATE UNIQUE INDEX schedules_name_key ON stopstart.schedules (name) WHERE deleted_at IS NULL;
-- A window is exactly one start and one stop.
CREATE UNIQUE INDEX schedules_window_key ON stopstart.schedules (window_name, (action = 'start'))
    WHERE window_name IS NOT NULL AND deleted_at IS NULL;

-- Targets: an instance, a compartment with its subtree, a compartment alone, a freeform tag
-- KEY=VALUE, a defined tag NAMESPACE.KEY=VALUE. The kind says what "recursive" used to.
ALTER TABLE stopstart.schedule_targets
    DROP CONSTRAINT schedule_targets_shape,
    DROP CONSTRAINT schedule_targets_kind_check,
    ADD COLUMN tag_namespace text;
UPDATE stopstart.schedule_targets SET kind = 'compartment-only' WHERE kind = 'compartment' AND NOT recursive;
ALTER TABLE stopstart.schedule_targets
    DROP COLUMN recursive,
    ADD CONSTRAINT schedule_targets_kind_check
        CHECK (kind IN ('instance', 'compartment', 'compartment-only', 'tag', 'defined-tag')),
    ADD CONSTRAINT schedule_targets_shape CHECK (
        (kind = 'instance' AND instance_id IS NOT NULL AND compartment_id IS NULL AND tag_key IS NULL
         AND tag_namespace IS NULL) OR
        (kind IN ('compartment', 'compartment-only') AND compartment_id IS NOT NULL AND instance_id IS NULL
         AND tag_key IS NULL AND tag_namespace IS NULL) OR
        (kind = 'tag' AND tag_key IS NOT NULL AND tag_value IS NOT NULL AND tag_namespace IS NULL
         AND instance_id IS NULL AND compartment_id IS NULL) OR
        (kind = 'defined-tag' AND tag_namespace IS NOT NULL AND tag_key IS NOT NULL AND tag_value IS NOT NULL
         AND instance_id IS NULL AND compartment_id IS NULL));

-- Exception calendars: names like schedules'; a date or range is listed once per calendar.
ALTER TABLE stopstart.exception_calendars
    ADD CONSTRAINT exception_calendars_name_check CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX exception_dates_key ON stopstart.exception_dates (calendar_id, first_day, last_day);

-- Occurrences: pending (coming, possibly delayed to delayed_until), running, done, failed,
-- skipped (by an operator, a disabled or invalid slot), missed (beyond the misfire grace).
-- fired_by says who fired it: "timer", or the operator of a manual Fire.
ALTER TABLE stopstart.occurrences
    DROP CONSTRAINT occurrences_delay,
    DROP CONSTRAINT occurrences_state_check;
UPDATE stopstart.occurrences SET state = 'pending' WHERE state IN ('planned', 'delayed');
ALTER TABLE stopstart.occurrences
    ALTER COLUMN state SET DEFAULT 'pending',
    ADD CONSTRAINT occurrences_state_check
        CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped', 'missed')),
    ADD CONSTRAINT occurrences_delay CHECK (delayed_until IS NULL OR delayed_until > scheduled_at),
    ADD COLUMN fired_by text NOT NULL DEFAULT '',
    ADD COLUMN target_count integer CHECK (target_count >= 0),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
-- What start-up resumes, and what is armed for a delay.
CREATE INDEX occurrences_unfinished_idx ON stopstart.occurrences (scheduled_at)
    WHERE state IN ('pending', 'running');
