-- stopstart: instances.last_run, the discovery run that last stored each instance. Discovery
-- upserts instances batch by batch while it is still fetching; at the end of a region's listing
-- the region's instances whose last_run is not this run are the ones it did not see.
ALTER TABLE stopstart.instances ADD COLUMN last_run bigint;
-- Every run rewrites every instance row (last_run, last_seen): with room on each page those
-- updates are HOT (no index touched, the GIN index on tags included) when nothing indexed changed.
ALTER TABLE stopstart.instances SET (fillfactor = 50);
