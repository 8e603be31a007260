-- The declared schema of stopstart: what schema "stopstart" should look like at head.
--
-- This is the counterpart of Alembic's models. To change the schema, edit this file, then run
--     stopstartctl db new "what changed" --autogenerate
-- which writes the next migration pair (migrations/NNNN_*.up.sql / .down.sql) that moves head
-- here and back; review the places it marks "-- REVIEW:", then `stopstartctl db check` (it fails
-- while the migrations and this file disagree). Plain PostgreSQL DDL, names qualified with
-- "stopstart.", run in a scratch database; no data, no ownership, no privileges.

CREATE SCHEMA stopstart;

CREATE FUNCTION stopstart.notify_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('stopstart_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE FUNCTION stopstart.refuse_audit_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'stopstart.audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE stopstart.actions (
    id bigint NOT NULL,
    occurrence_id bigint,
    job_id bigint,
    instance_id text NOT NULL,
    action text NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    retry_token text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    opc_request_id text,
    reason text DEFAULT ''::text NOT NULL,
    error text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    confirmed_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT actions_action_check CHECK ((action = ANY (ARRAY['START'::text, 'STOP'::text, 'SOFTSTOP'::text, 'RESET'::text, 'SOFTRESET'::text]))),
    CONSTRAINT actions_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT actions_one_origin CHECK (((occurrence_id IS NULL) <> (job_id IS NULL))),
    CONSTRAINT actions_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'sent'::text, 'confirmed'::text, 'skipped'::text, 'failed'::text])))
);

ALTER TABLE stopstart.actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor_uid bigint,
    actor text DEFAULT ''::text NOT NULL,
    operation text NOT NULL,
    object_kind text NOT NULL,
    object_id text NOT NULL,
    old_value jsonb,
    new_value jsonb,
    reason text DEFAULT ''::text NOT NULL
);

ALTER TABLE stopstart.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.compartment_defaults (
    compartment_id text NOT NULL,
    managed boolean,
    stop_mode text,
    soft_stop_timeout interval,
    priority integer,
    note text,
    override_state text,
    override_until timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text DEFAULT ''::text NOT NULL,
    CONSTRAINT compartment_defaults_override_pair CHECK (((override_state IS NULL) = (override_until IS NULL))),
    CONSTRAINT compartment_defaults_override_state_check CHECK ((override_state = ANY (ARRAY['running'::text, 'stopped'::text]))),
    CONSTRAINT compartment_defaults_soft_stop_timeout_check CHECK ((soft_stop_timeout > '00:00:00'::interval)),
    CONSTRAINT compartment_defaults_stop_mode_check CHECK ((stop_mode = ANY (ARRAY['soft'::text, 'hard'::text])))
);

CREATE TABLE stopstart.compartments (
    id text NOT NULL,
    parent_id text,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    lifecycle_state text NOT NULL,
    time_created timestamp with time zone,
    freeform_tags jsonb DEFAULT '{}'::jsonb NOT NULL,
    defined_tags jsonb DEFAULT '{}'::jsonb NOT NULL,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT compartments_not_own_parent CHECK (((parent_id IS NULL) OR (parent_id <> id)))
);

CREATE TABLE stopstart.discovery_runs (
    id bigint NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    result text,
    compartments integer DEFAULT 0 NOT NULL,
    instances integer DEFAULT 0 NOT NULL,
    requests integer DEFAULT 0 NOT NULL,
    elapsed_ms bigint DEFAULT 0 NOT NULL,
    error text DEFAULT ''::text NOT NULL,
    CONSTRAINT discovery_runs_result_check CHECK ((result = ANY (ARRAY['done'::text, 'failed'::text])))
);

ALTER TABLE stopstart.discovery_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.discovery_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.exception_calendars (
    id bigint NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT exception_calendars_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text))
);

ALTER TABLE stopstart.exception_calendars ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.exception_calendars_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.exception_dates (
    id bigint NOT NULL,
    calendar_id bigint NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    note text DEFAULT ''::text NOT NULL,
    CONSTRAINT exception_dates_order CHECK ((first_day <= last_day))
);

ALTER TABLE stopstart.exception_dates ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.exception_dates_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.instance_config (
    instance_id text NOT NULL,
    managed boolean,
    stop_mode text,
    soft_stop_timeout interval,
    priority integer,
    note text,
    override_state text,
    override_until timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text DEFAULT ''::text NOT NULL,
    CONSTRAINT instance_config_override_pair CHECK (((override_state IS NULL) = (override_until IS NULL))),
    CONSTRAINT instance_config_override_state_check CHECK ((override_state = ANY (ARRAY['running'::text, 'stopped'::text]))),
    CONSTRAINT instance_config_soft_stop_timeout_check CHECK ((soft_stop_timeout > '00:00:00'::interval)),
    CONSTRAINT instance_config_stop_mode_check CHECK ((stop_mode = ANY (ARRAY['soft'::text, 'hard'::text])))
);

CREATE TABLE stopstart.instances (
    id text NOT NULL,
    compartment_id text NOT NULL,
    region text NOT NULL,
    availability_domain text DEFAULT ''::text NOT NULL,
    fault_domain text,
    shape text,
    display_name text NOT NULL,
    lifecycle_state text NOT NULL,
    state_observed_at timestamp with time zone DEFAULT now() NOT NULL,
    time_created timestamp with time zone,
    freeform_tags jsonb DEFAULT '{}'::jsonb NOT NULL,
    defined_tags jsonb DEFAULT '{}'::jsonb NOT NULL,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    last_run bigint
)
WITH (fillfactor='50');

CREATE TABLE stopstart.inventory_changes (
    id bigint NOT NULL,
    run_id bigint,
    at timestamp with time zone DEFAULT now() NOT NULL,
    object_kind text NOT NULL,
    object_id text NOT NULL,
    change text NOT NULL,
    old_value jsonb,
    new_value jsonb,
    CONSTRAINT inventory_changes_change_check CHECK ((change = ANY (ARRAY['added'::text, 'removed'::text, 'moved'::text, 'renamed'::text, 'state'::text, 'updated'::text]))),
    CONSTRAINT inventory_changes_object_kind_check CHECK ((object_kind = ANY (ARRAY['compartment'::text, 'instance'::text, 'region'::text])))
);

ALTER TABLE stopstart.inventory_changes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.inventory_changes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.jobs (
    id bigint NOT NULL,
    kind text NOT NULL,
    target text DEFAULT ''::text NOT NULL,
    mode text DEFAULT ''::text NOT NULL,
    occurrence_id bigint,
    state text DEFAULT 'waiting'::text NOT NULL,
    result text,
    error text DEFAULT ''::text NOT NULL,
    requested_by text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT jobs_kind_check CHECK ((kind = ANY (ARRAY['start'::text, 'stop'::text, 'reboot'::text, 'refresh'::text, 'occurrence'::text]))),
    CONSTRAINT jobs_result_check CHECK ((result = ANY (ARRAY['done'::text, 'failed'::text, 'canceled'::text, 'skipped'::text, 'timeout'::text]))),
    CONSTRAINT jobs_result_when_done CHECK (((state = 'done'::text) = (result IS NOT NULL))),
    CONSTRAINT jobs_state_check CHECK ((state = ANY (ARRAY['waiting'::text, 'running'::text, 'done'::text])))
);

ALTER TABLE stopstart.jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.leader (
    id boolean DEFAULT true NOT NULL,
    identity text NOT NULL,
    backend_pid integer NOT NULL,
    since timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT leader_id_check CHECK (id)
);

CREATE TABLE stopstart.occurrences (
    id bigint NOT NULL,
    schedule_id bigint NOT NULL,
    scheduled_at timestamp with time zone NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    delayed_until timestamp with time zone,
    fired_at timestamp with time zone,
    finished_at timestamp with time zone,
    reason text DEFAULT ''::text NOT NULL,
    fired_by text DEFAULT ''::text NOT NULL,
    target_count integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT occurrences_delay CHECK (((delayed_until IS NULL) OR (delayed_until > scheduled_at))),
    CONSTRAINT occurrences_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'running'::text, 'done'::text, 'failed'::text, 'skipped'::text, 'missed'::text]))),
    CONSTRAINT occurrences_target_count_check CHECK ((target_count >= 0))
);

ALTER TABLE stopstart.occurrences ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.occurrences_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.regions (
    name text NOT NULL,
    region_key text NOT NULL,
    is_home boolean DEFAULT false NOT NULL,
    status text DEFAULT 'READY'::text NOT NULL,
    first_seen timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE stopstart.schedule_exceptions (
    schedule_id bigint NOT NULL,
    calendar_id bigint NOT NULL,
    policy text DEFAULT 'skip-starts'::text NOT NULL,
    CONSTRAINT schedule_exceptions_policy_check CHECK ((policy = ANY (ARRAY['skip-starts'::text, 'skip-all'::text])))
);

CREATE TABLE stopstart.schedule_targets (
    id bigint NOT NULL,
    schedule_id bigint NOT NULL,
    kind text NOT NULL,
    instance_id text,
    compartment_id text,
    tag_key text,
    tag_value text,
    tag_namespace text,
    CONSTRAINT schedule_targets_kind_check CHECK ((kind = ANY (ARRAY['instance'::text, 'compartment'::text, 'compartment-only'::text, 'tag'::text, 'defined-tag'::text]))),
    CONSTRAINT schedule_targets_shape CHECK ((((kind = 'instance'::text) AND (instance_id IS NOT NULL) AND (compartment_id IS NULL) AND (tag_key IS NULL) AND (tag_namespace IS NULL)) OR ((kind = ANY (ARRAY['compartment'::text, 'compartment-only'::text])) AND (compartment_id IS NOT NULL) AND (instance_id IS NULL) AND (tag_key IS NULL) AND (tag_namespace IS NULL)) OR ((kind = 'tag'::text) AND (tag_key IS NOT NULL) AND (tag_value IS NOT NULL) AND (tag_namespace IS NULL) AND (instance_id IS NULL) AND (compartment_id IS NULL)) OR ((kind = 'defined-tag'::text) AND (tag_namespace IS NOT NULL) AND (tag_key IS NOT NULL) AND (tag_value IS NOT NULL) AND (instance_id IS NULL) AND (compartment_id IS NULL))))
);

ALTER TABLE stopstart.schedule_targets ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.schedule_targets_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE stopstart.schedules (
    id bigint NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    action text NOT NULL,
    calendars text[] NOT NULL,
    time_zone text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    enforce boolean DEFAULT false NOT NULL,
    valid_from timestamp with time zone,
    valid_until timestamp with time zone,
    misfire_grace interval DEFAULT '00:15:00'::interval NOT NULL,
    max_targets integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT ''::text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text DEFAULT ''::text NOT NULL,
    deleted_at timestamp with time zone,
    enabled_since timestamp with time zone,
    window_name text,
    CONSTRAINT schedules_action_check CHECK ((action = ANY (ARRAY['start'::text, 'stop'::text, 'softstop'::text, 'reboot'::text, 'softreboot'::text]))),
    CONSTRAINT schedules_calendars_check CHECK ((cardinality(calendars) >= 1)),
    CONSTRAINT schedules_enabled_since CHECK ((enabled = (enabled_since IS NOT NULL))),
    CONSTRAINT schedules_max_targets_check CHECK ((max_targets > 0)),
    CONSTRAINT schedules_misfire_grace_check CHECK ((misfire_grace >= '00:00:00'::interval)),
    CONSTRAINT schedules_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'::text)),
    CONSTRAINT schedules_validity CHECK (((valid_until IS NULL) OR (valid_from IS NULL) OR (valid_from < valid_until))),
    CONSTRAINT schedules_window_action CHECK (((window_name IS NULL) OR (action = ANY (ARRAY['start'::text, 'stop'::text, 'softstop'::text])))),
    CONSTRAINT schedules_window_name_check CHECK ((window_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$'::text))
);

ALTER TABLE stopstart.schedules ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME stopstart.schedules_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY stopstart.actions
    ADD CONSTRAINT actions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.actions
    ADD CONSTRAINT actions_retry_token_key UNIQUE (retry_token);

ALTER TABLE ONLY stopstart.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.compartment_defaults
    ADD CONSTRAINT compartment_defaults_pkey PRIMARY KEY (compartment_id);

ALTER TABLE ONLY stopstart.compartments
    ADD CONSTRAINT compartments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.discovery_runs
    ADD CONSTRAINT discovery_runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.exception_calendars
    ADD CONSTRAINT exception_calendars_name_key UNIQUE (name);

ALTER TABLE ONLY stopstart.exception_calendars
    ADD CONSTRAINT exception_calendars_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.exception_dates
    ADD CONSTRAINT exception_dates_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.instance_config
    ADD CONSTRAINT instance_config_pkey PRIMARY KEY (instance_id);

ALTER TABLE ONLY stopstart.instances
    ADD CONSTRAINT instances_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.inventory_changes
    ADD CONSTRAINT inventory_changes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.leader
    ADD CONSTRAINT leader_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.occurrences
    ADD CONSTRAINT occurrences_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.occurrences
    ADD CONSTRAINT occurrences_schedule_id_scheduled_at_key UNIQUE (schedule_id, scheduled_at);

ALTER TABLE ONLY stopstart.regions
    ADD CONSTRAINT regions_pkey PRIMARY KEY (name);

ALTER TABLE ONLY stopstart.schedule_exceptions
    ADD CONSTRAINT schedule_exceptions_pkey PRIMARY KEY (schedule_id, calendar_id);

ALTER TABLE ONLY stopstart.schedule_targets
    ADD CONSTRAINT schedule_targets_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stopstart.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);

CREATE INDEX actions_instance_idx ON stopstart.actions USING btree (instance_id, created_at);

CREATE UNIQUE INDEX actions_job_key ON stopstart.actions USING btree (job_id, instance_id, action) WHERE (job_id IS NOT NULL);

CREATE UNIQUE INDEX actions_occurrence_key ON stopstart.actions USING btree (occurrence_id, instance_id, action) WHERE (occurrence_id IS NOT NULL);

CREATE INDEX actions_unfinished_idx ON stopstart.actions USING btree (state) WHERE (state = ANY (ARRAY['pending'::text, 'sent'::text]));

CREATE INDEX audit_log_at_idx ON stopstart.audit_log USING btree (at);

CREATE INDEX audit_log_object_idx ON stopstart.audit_log USING btree (object_id, at);

CREATE INDEX compartments_parent_idx ON stopstart.compartments USING btree (parent_id);

CREATE INDEX exception_dates_calendar_idx ON stopstart.exception_dates USING btree (calendar_id, first_day);

CREATE UNIQUE INDEX exception_dates_key ON stopstart.exception_dates USING btree (calendar_id, first_day, last_day);

CREATE INDEX instances_compartment_idx ON stopstart.instances USING btree (compartment_id);

CREATE INDEX inventory_changes_object_idx ON stopstart.inventory_changes USING btree (object_id, at);

CREATE INDEX jobs_unfinished_idx ON stopstart.jobs USING btree (state) WHERE (state <> 'done'::text);

CREATE INDEX occurrences_state_idx ON stopstart.occurrences USING btree (state, scheduled_at);

CREATE INDEX occurrences_unfinished_idx ON stopstart.occurrences USING btree (scheduled_at) WHERE (state = ANY (ARRAY['pending'::text, 'running'::text]));

CREATE INDEX schedule_targets_schedule_idx ON stopstart.schedule_targets USING btree (schedule_id);

CREATE UNIQUE INDEX schedules_name_key ON stopstart.schedules USING btree (name) WHERE (deleted_at IS NULL);

CREATE UNIQUE INDEX schedules_window_key ON stopstart.schedules USING btree (window_name, ((action = 'start'::text))) WHERE ((window_name IS NOT NULL) AND (deleted_at IS NULL));

CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE OR TRUNCATE ON stopstart.audit_log FOR EACH STATEMENT EXECUTE FUNCTION stopstart.refuse_audit_change();

CREATE TRIGGER compartment_defaults_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.compartment_defaults FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER compartments_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.compartments FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER discovery_runs_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.discovery_runs FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER exception_calendars_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.exception_calendars FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER exception_dates_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.exception_dates FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER instance_config_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.instance_config FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER instances_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.instances FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER occurrences_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.occurrences FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER regions_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.regions FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER schedule_exceptions_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.schedule_exceptions FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER schedule_targets_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.schedule_targets FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

CREATE TRIGGER schedules_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON stopstart.schedules FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();

ALTER TABLE ONLY stopstart.actions
    ADD CONSTRAINT actions_instance_id_fkey FOREIGN KEY (instance_id) REFERENCES stopstart.instances(id);

ALTER TABLE ONLY stopstart.actions
    ADD CONSTRAINT actions_job_id_fkey FOREIGN KEY (job_id) REFERENCES stopstart.jobs(id) ON DELETE RESTRICT;

ALTER TABLE ONLY stopstart.actions
    ADD CONSTRAINT actions_occurrence_id_fkey FOREIGN KEY (occurrence_id) REFERENCES stopstart.occurrences(id) ON DELETE RESTRICT;

ALTER TABLE ONLY stopstart.compartment_defaults
    ADD CONSTRAINT compartment_defaults_compartment_id_fkey FOREIGN KEY (compartment_id) REFERENCES stopstart.compartments(id) ON DELETE CASCADE;

ALTER TABLE ONLY stopstart.compartments
    ADD CONSTRAINT compartments_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES stopstart.compartments(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY stopstart.exception_dates
    ADD CONSTRAINT exception_dates_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES stopstart.exception_calendars(id) ON DELETE CASCADE;

ALTER TABLE ONLY stopstart.instance_config
    ADD CONSTRAINT instance_config_instance_id_fkey FOREIGN KEY (instance_id) REFERENCES stopstart.instances(id) ON DELETE CASCADE;

ALTER TABLE ONLY stopstart.instances
    ADD CONSTRAINT instances_compartment_id_fkey FOREIGN KEY (compartment_id) REFERENCES stopstart.compartments(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY stopstart.inventory_changes
    ADD CONSTRAINT inventory_changes_run_id_fkey FOREIGN KEY (run_id) REFERENCES stopstart.discovery_runs(id) ON DELETE SET NULL;

ALTER TABLE ONLY stopstart.jobs
    ADD CONSTRAINT jobs_occurrence_id_fkey FOREIGN KEY (occurrence_id) REFERENCES stopstart.occurrences(id) ON DELETE SET NULL;

ALTER TABLE ONLY stopstart.occurrences
    ADD CONSTRAINT occurrences_schedule_id_fkey FOREIGN KEY (schedule_id) REFERENCES stopstart.schedules(id) ON DELETE CASCADE;

ALTER TABLE ONLY stopstart.schedule_exceptions
    ADD CONSTRAINT schedule_exceptions_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES stopstart.exception_calendars(id) ON DELETE RESTRICT;

ALTER TABLE ONLY stopstart.schedule_exceptions
    ADD CONSTRAINT schedule_exceptions_schedule_id_fkey FOREIGN KEY (schedule_id) REFERENCES stopstart.schedules(id) ON DELETE CASCADE;

ALTER TABLE ONLY stopstart.schedule_targets
    ADD CONSTRAINT schedule_targets_compartment_id_fkey FOREIGN KEY (compartment_id) REFERENCES stopstart.compartments(id);

ALTER TABLE ONLY stopstart.schedule_targets
    ADD CONSTRAINT schedule_targets_instance_id_fkey FOREIGN KEY (instance_id) REFERENCES stopstart.instances(id);

ALTER TABLE ONLY stopstart.schedule_targets
    ADD CONSTRAINT schedule_targets_schedule_id_fkey FOREIGN KEY (schedule_id) REFERENCES stopstart.schedules(id) ON DELETE CASCADE;
