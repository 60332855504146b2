-- The first put_objects_rows, the set-wise object rows of a group-commit batch. Its definition
-- lives in 007_put_verify.sql, which replaced it on databases that had this one; a new database
-- gets it there.
SELECT 1;
