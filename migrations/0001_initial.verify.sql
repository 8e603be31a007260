-- stopstart: initial schema (verify). Raises when something 0001 creates is missing.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['regions', 'compartments', 'instances', 'instance_config',
                             'compartment_defaults', 'schedules', 'schedule_targets',
                             'exception_calendars', 'exception_dates', 'schedule_exceptions',
                             'occurrences', 'jobs', 'actions', 'discovery_runs',
                             'inventory_changes', 'audit_log'] LOOP
        IF to_regclass('stopstart.' || t) IS NULL THEN
            RAISE EXCEPTION 'table stopstart.% is missing', t;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_append_only') THEN
        RAISE EXCEPTION 'trigger audit_log_append_only is missing';
    END IF;
END;
$$;
