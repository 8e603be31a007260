-- stopstart: initial schema (revert)
DROP SCHEMA stopstart CASCADE;
