-- Every commit of a write updates its user's usage row, so that update must be HOT (heap-only):
-- no index may cover a column it changes. usage_bytes_idx (401, on bytes_used) made each one a
-- new row version elsewhere with new entries in both indexes; between vacuums the row and its
-- indexes bloated, and every request's probe read the dead versions (after a minute of 4 KiB
-- PUTs by one user: 4,699 dead versions over 105 pages for 2 rows, and PostgreSQL's CPU per PUT
-- had grown by half). The console's "sort by usage" now sorts without it (a top-N sort over the
-- usage rows). fillfactor leaves each page room for the new versions of its rows.
DROP INDEX IF EXISTS usage_bytes_idx;
ALTER TABLE usage SET (fillfactor = 50);
