-- Deleting a blob row checks that no multipart part still refers to it (the foreign key of
-- multipart_parts.blob_id). Without an index that check read the whole table once per deleted
-- blob: every overwrite or delete of an object scanned all open uploads' parts.
CREATE INDEX multipart_parts_blob_idx ON multipart_parts (blob_id);
