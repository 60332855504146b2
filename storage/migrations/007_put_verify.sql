-- put_objects_rows with the access key and bucket check (ak). Its definition lives in
-- 202_put_dav_checks.sql (it needs dav_locks, 201), which replaced it on databases that had this
-- one; a new database gets it there.
SELECT 1;
