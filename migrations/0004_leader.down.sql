-- stopstart: several stopstartd on one database (revert).
DROP TRIGGER compartment_defaults_notify ON stopstart.compartment_defaults;
DROP TRIGGER compartments_notify ON stopstart.compartments;
DROP TRIGGER discovery_runs_notify ON stopstart.discovery_runs;
DROP TRIGGER exception_calendars_notify ON stopstart.exception_calendars;
DROP TRIGGER exception_dates_notify ON stopstart.exception_dates;
DROP TRIGGER instance_config_notify ON stopstart.instance_config;
DROP TRIGGER instances_notify ON stopstart.instances;
DROP TRIGGER occurrences_notify ON stopstart.occurrences;
DROP TRIGGER regions_notify ON stopstart.regions;
DROP TRIGGER schedule_exceptions_notify ON stopstart.schedule_exceptions;
DROP TRIGGER schedule_targets_notify ON stopstart.schedule_targets;
DROP TRIGGER schedules_notify ON stopstart.schedules;
DROP FUNCTION stopstart.notify_change();
DROP TABLE stopstart.leader;
