-- Open multipart uploads' parts count against their uploader from UploadPart on
-- (MultipartStore::add_part), so `depot usage verify` must sum them too: without them every user
-- with an open upload showed as drift, and `--fix` erased the parts' charge (which the upload's
-- abort then credited a second time).
CREATE OR REPLACE VIEW usage_sources AS
  SELECT b.owner_id AS user_id, o.size AS bytes, 1 AS objects FROM objects o JOIN buckets b ON b.id = o.bucket_id
  UNION ALL
  SELECT u.user_id, p.size, 0 FROM multipart_parts p JOIN multipart_uploads u ON u.id = p.upload_id;
