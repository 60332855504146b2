-- The multipart upload an object was completed from (MultipartStore::complete), so a repeated
-- CompleteMultipartUpload of it answers as the first did (S3 does: an SDK retries a Complete
-- whose answer it lost, and must not learn NoSuchUpload for an object that was made). Any later
-- write of the key makes a new row without it. Adding a nullable column rewrites no rows.
ALTER TABLE objects ADD COLUMN upload_id text COLLATE "C";
