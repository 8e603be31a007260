-- stopstart: initial schema
--
-- Everything the daemon keeps lives in schema "stopstart". Identifiers from OCI (OCIDs) are the
-- primary keys of compartments and instances. Enumerations are text with CHECK constraints:
-- adding a value is then a one-line migration, unlike ALTER TYPE ... ADD VALUE.

CREATE SCHEMA stopstart;

-- The tenancy's subscribed regions, as last seen by discovery.
CREATE TABLE stopstart.regions (
    name            text PRIMARY KEY,                -- us-phoenix-1
    region_key      text NOT NULL,                   -- PHX
    is_home         boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'READY',
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now()
);

-- The compartment tree. The tenancy is the root (parent_id NULL). Deleted compartments are kept
-- (deleted_at set) so history that refers to them stays readable.
CREATE TABLE stopstart.compartments (
    id              text PRIMARY KEY,
    parent_id       text REFERENCES stopstart.compartments (id) DEFERRABLE INITIALLY DEFERRED,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    lifecycle_state text NOT NULL,
    time_created    timestamptz,
    freeform_tags   jsonb NOT NULL DEFAULT '{}'::jsonb,
    defined_tags    jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    CONSTRAINT compartments_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX compartments_parent_idx ON stopstart.compartments (parent_id);

CREATE TABLE stopstart.instances (
    id                  text PRIMARY KEY,
    compartment_id      text NOT NULL REFERENCES stopstart.compartments (id) DEFERRABLE INITIALLY DEFERRED,
    region              text NOT NULL,
    availability_domain text NOT NULL DEFAULT '',
    -- NULL: not known yet (Resource Search does not report them; ListInstances does).
    fault_domain        text,
    shape               text,
    display_name        text NOT NULL,
    lifecycle_state     text NOT NULL,
    state_observed_at   timestamptz NOT NULL DEFAULT now(),
    time_created        timestamptz,
    freeform_tags       jsonb NOT NULL DEFAULT '{}'::jsonb,
    defined_tags        jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen          timestamptz NOT NULL DEFAULT now(),
    last_seen           timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz
);
CREATE INDEX instances_compartment_idx ON stopstart.instances (compartment_id);
CREATE INDEX instances_display_name_idx ON stopstart.instances (display_name);
CREATE INDEX instances_freeform_tags_idx ON stopstart.instances USING gin (freeform_tags);

-- Per-instance configuration and compartment defaults share their keys. NULL means "not set
-- here": the value is inherited from the nearest compartment up the tree that sets it, and
-- finally from the built-in default. An instance's own value wins.
CREATE TABLE stopstart.instance_config (
    instance_id         text PRIMARY KEY REFERENCES stopstart.instances (id) ON DELETE CASCADE,
    managed             boolean,
    stop_mode           text CHECK (stop_mode IN ('soft', 'hard')),
    soft_stop_timeout   interval CHECK (soft_stop_timeout > interval '0'),
    priority            integer,
    note                text,
    override_state      text CHECK (override_state IN ('running', 'stopped')),
    override_until      timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text NOT NULL DEFAULT '',
    CONSTRAINT instance_config_override_pair
        CHECK ((override_state IS NULL) = (override_until IS NULL))
);

CREATE TABLE stopstart.compartment_defaults (
    compartment_id      text PRIMARY KEY REFERENCES stopstart.compartments (id) ON DELETE CASCADE,
    managed             boolean,
    stop_mode           text CHECK (stop_mode IN ('soft', 'hard')),
    soft_stop_timeout   interval CHECK (soft_stop_timeout > interval '0'),
    priority            integer,
    note                text,
    override_state      text CHECK (override_state IN ('running', 'stopped')),
    override_until      timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text NOT NULL DEFAULT '',
    CONSTRAINT compartment_defaults_override_pair
        CHECK ((override_state IS NULL) = (override_until IS NULL))
);

-- Schedules: one action on one or more systemd calendar specs in one IANA time zone.
CREATE TABLE stopstart.schedules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    description     text NOT NULL DEFAULT '',
    action          text NOT NULL CHECK (action IN ('start', 'stop', 'softstop', 'reboot', 'softreboot')),
    calendars       text[] NOT NULL CHECK (cardinality(calendars) >= 1),
    time_zone       text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    enforce         boolean NOT NULL DEFAULT false,
    valid_from      timestamptz,
    valid_until     timestamptz,
    misfire_grace   interval NOT NULL DEFAULT interval '15 minutes' CHECK (misfire_grace >= interval '0'),
    -- A target set that grows beyond this needs confirmation (scope never widens silently).
    max_targets     integer CHECK (max_targets > 0),
    -- Schedules created together as a window ("up 08:00-19:00") share a pair id.
    window_pair     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text NOT NULL DEFAULT '',
    CONSTRAINT schedules_validity CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_from < valid_until)
);

-- What a schedule acts on: single instances, compartments (optionally with their subtree), or
-- instances whose freeform tag matches.
CREATE TABLE stopstart.schedule_targets (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id     bigint NOT NULL REFERENCES stopstart.schedules (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('instance', 'compartment', 'tag')),
    instance_id     text REFERENCES stopstart.instances (id),
    compartment_id  text REFERENCES stopstart.compartments (id),
    recursive       boolean NOT NULL DEFAULT false,
    tag_key         text,
    tag_value       text,
    CONSTRAINT schedule_targets_shape CHECK (
        (kind = 'instance' AND instance_id IS NOT NULL AND compartment_id IS NULL AND tag_key IS NULL) OR
        (kind = 'compartment' AND compartment_id IS NOT NULL AND instance_id IS NULL AND tag_key IS NULL) OR
        (kind = 'tag' AND tag_key IS NOT NULL AND instance_id IS NULL AND compartment_id IS NULL))
);
CREATE INDEX schedule_targets_schedule_idx ON stopstart.schedule_targets (schedule_id);

-- Exception calendars: named lists of dates or date ranges (holidays, freezes).
CREATE TABLE stopstart.exception_calendars (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    description     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stopstart.exception_dates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    calendar_id     bigint NOT NULL REFERENCES stopstart.exception_calendars (id) ON DELETE CASCADE,
    first_day       date NOT NULL,
    last_day        date NOT NULL,
    note            text NOT NULL DEFAULT '',
    CONSTRAINT exception_dates_order CHECK (first_day <= last_day)
);
CREATE INDEX exception_dates_calendar_idx ON stopstart.exception_dates (calendar_id, first_day);

-- Which exception calendars a schedule honours. On a closed day starts are skipped; stops
-- still happen (a stop never costs money) unless the policy says otherwise.
CREATE TABLE stopstart.schedule_exceptions (
    schedule_id     bigint NOT NULL REFERENCES stopstart.schedules (id) ON DELETE CASCADE,
    calendar_id     bigint NOT NULL REFERENCES stopstart.exception_calendars (id) ON DELETE RESTRICT,
    policy          text NOT NULL DEFAULT 'skip-starts' CHECK (policy IN ('skip-starts', 'skip-all')),
    PRIMARY KEY (schedule_id, calendar_id)
);

-- One firing of a schedule at one scheduled instant. Exists before it happens (previewed,
-- skipped or delayed) and afterwards holds the outcome.
CREATE TABLE stopstart.occurrences (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id     bigint NOT NULL REFERENCES stopstart.schedules (id) ON DELETE CASCADE,
    scheduled_at    timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'planned'
                    CHECK (state IN ('planned', 'skipped', 'delayed', 'running', 'done', 'failed', 'missed')),
    delayed_until   timestamptz,
    fired_at        timestamptz,
    finished_at     timestamptz,
    reason          text NOT NULL DEFAULT '',
    UNIQUE (schedule_id, scheduled_at),
    CONSTRAINT occurrences_delay CHECK ((state = 'delayed') = (delayed_until IS NOT NULL))
);
CREATE INDEX occurrences_state_idx ON stopstart.occurrences (state, scheduled_at);

-- Long-running operations (manual actions, refreshes, an occurrence being executed).
CREATE TABLE stopstart.jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('start', 'stop', 'reboot', 'refresh', 'occurrence')),
    target          text NOT NULL DEFAULT '',
    mode            text NOT NULL DEFAULT '',
    occurrence_id   bigint REFERENCES stopstart.occurrences (id) ON DELETE SET NULL,
    state           text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'running', 'done')),
    result          text CHECK (result IN ('done', 'failed', 'canceled', 'skipped', 'timeout')),
    error           text NOT NULL DEFAULT '',
    requested_by    text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CONSTRAINT jobs_result_when_done CHECK ((state = 'done') = (result IS NOT NULL))
);
CREATE INDEX jobs_unfinished_idx ON stopstart.jobs (state) WHERE state <> 'done';

-- Exactly once: every action is inserted here before its HTTP call, under a unique key per
-- (occurrence or job, instance, action). The OCI opc-retry-token is derived from that key, so
-- a retried or replayed request cannot act twice. On start-up rows still pending/sent resume
-- with the same token.
CREATE TABLE stopstart.actions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurrence_id   bigint REFERENCES stopstart.occurrences (id) ON DELETE RESTRICT,
    job_id          bigint REFERENCES stopstart.jobs (id) ON DELETE RESTRICT,
    instance_id     text NOT NULL REFERENCES stopstart.instances (id),
    action          text NOT NULL CHECK (action IN ('START', 'STOP', 'SOFTSTOP', 'RESET', 'SOFTRESET')),
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'confirmed', 'skipped', 'failed')),
    retry_token     text NOT NULL UNIQUE,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    opc_request_id  text,
    reason          text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    confirmed_at    timestamptz,
    finished_at     timestamptz,
    CONSTRAINT actions_one_origin CHECK ((occurrence_id IS NULL) <> (job_id IS NULL))
);
CREATE UNIQUE INDEX actions_occurrence_key ON stopstart.actions (occurrence_id, instance_id, action)
    WHERE occurrence_id IS NOT NULL;
CREATE UNIQUE INDEX actions_job_key ON stopstart.actions (job_id, instance_id, action)
    WHERE job_id IS NOT NULL;
CREATE INDEX actions_unfinished_idx ON stopstart.actions (state) WHERE state IN ('pending', 'sent');
CREATE INDEX actions_instance_idx ON stopstart.actions (instance_id, created_at);

-- Discovery runs and what each one changed (added, removed, moved, renamed, state changed).
CREATE TABLE stopstart.discovery_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    result          text CHECK (result IN ('done', 'failed')),
    compartments    integer NOT NULL DEFAULT 0,
    instances       integer NOT NULL DEFAULT 0,
    requests        integer NOT NULL DEFAULT 0,
    elapsed_ms      bigint NOT NULL DEFAULT 0,
    error           text NOT NULL DEFAULT ''
);

CREATE TABLE stopstart.inventory_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          bigint REFERENCES stopstart.discovery_runs (id) ON DELETE SET NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    object_kind     text NOT NULL CHECK (object_kind IN ('compartment', 'instance', 'region')),
    object_id       text NOT NULL,
    change          text NOT NULL CHECK (change IN ('added', 'removed', 'moved', 'renamed', 'state', 'updated')),
    old_value       jsonb,
    new_value       jsonb
);
CREATE INDEX inventory_changes_object_idx ON stopstart.inventory_changes (object_id, at);

-- Append-only audit log: who changed what, when, old -> new.
CREATE TABLE stopstart.audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_uid       bigint,
    actor           text NOT NULL DEFAULT '',
    operation       text NOT NULL,
    object_kind     text NOT NULL,
    object_id       text NOT NULL,
    old_value       jsonb,
    new_value       jsonb,
    reason          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_object_idx ON stopstart.audit_log (object_id, at);
CREATE INDEX audit_log_at_idx ON stopstart.audit_log (at);

CREATE FUNCTION stopstart.refuse_audit_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stopstart.audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON stopstart.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION stopstart.refuse_audit_change();
