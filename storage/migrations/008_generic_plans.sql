-- The group-commit functions (commit_objects_batch, 006; put_objects_rows, 202) plan their
-- statements once per connection (a generic plan) instead of once per call. PostgreSQL's plan
-- cache builds a custom plan for each execution of a statement with parameters until it judges a
-- generic one no dearer, and for these statements it kept planning on every call: planning was a
-- quarter of PostgreSQL's CPU per batch (perf) when batches are small, as with 1 MiB uploads. The
-- plans are the same either way (the functions' SET clauses leave the planner only index lookups).
-- WebDAV PUT of 1 MiB, 16 connections, A/B in two rounds: 320/311 -> 372/381 PUT/s, PostgreSQL
-- CPU per PUT 1.18/1.09 -> 0.91/0.90 ms.
-- (put_objects_rows has the setting in its definition, 202_put_dav_checks.)
ALTER FUNCTION commit_objects_batch(jsonb, bytea) SET plan_cache_mode = force_generic_plan;
