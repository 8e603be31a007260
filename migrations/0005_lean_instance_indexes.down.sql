-- stopstart: instances without the indexes nothing reads (revert).
CREATE INDEX instances_display_name_idx ON stopstart.instances USING btree (display_name);
CREATE INDEX instances_freeform_tags_idx ON stopstart.instances USING gin (freeform_tags);
