-- stopstart: instances.last_run (revert)
ALTER TABLE stopstart.instances RESET (fillfactor);
ALTER TABLE stopstart.instances DROP COLUMN last_run;
