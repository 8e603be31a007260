-- stopstart: instances without the indexes nothing reads (tag and name lookups are in memory);
-- each one cost every discovery insert and update.
DROP INDEX stopstart.instances_freeform_tags_idx;
DROP INDEX stopstart.instances_display_name_idx;
