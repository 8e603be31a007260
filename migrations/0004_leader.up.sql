-- stopstart: several stopstartd on one database (high availability). The leader (the session
-- holding the daemon's advisory lock) records who it is, so standbys can name it; every committed
-- change of the rows daemons serve notifies channel stopstart_changes with the table's name, so
-- the other daemons reload them.
CREATE TABLE stopstart.leader (
    id boolean DEFAULT true NOT NULL,
    identity text NOT NULL,
    backend_pid integer NOT NULL,
    since timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT leader_id_check CHECK (id),
    CONSTRAINT leader_pkey PRIMARY KEY (id)
);

CREATE FUNCTION stopstart.notify_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('stopstart_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER compartment_defaults_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.compartment_defaults FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER compartments_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.compartments FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER discovery_runs_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.discovery_runs FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER exception_calendars_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.exception_calendars FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER exception_dates_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.exception_dates FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER instance_config_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.instance_config FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER instances_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.instances FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER occurrences_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.occurrences FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER regions_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.regions FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER schedule_exceptions_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.schedule_exceptions FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER schedule_targets_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.schedule_targets FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
CREATE TRIGGER schedules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stopstart.schedules FOR EACH STATEMENT EXECUTE FUNCTION stopstart.notify_change();
