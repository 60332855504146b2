-- The object rows of a PUT in one statement (storage/engine.cpp write_object_rows): takes the key's
-- advisory lock (the one of lock_key in engine.cpp), checks the write conditions (nothing written
-- if they fail), deletes the old object and drops its blob's reference (the blob row goes with
-- its last reference), inserts the new blob and object rows.
-- status: 'ok', 'precondition_failed' or 'no_such_key'. freed_objects, freed_bytes: what the old
-- object counted in usage. unlink_blob: the old blob when its file is no longer referenced.
CREATE OR REPLACE FUNCTION put_object_rows(
  p_bucket bigint, p_key text, p_blob text, p_size bigint, p_etag text, p_content_type text,
  p_user_meta jsonb, p_headers jsonb, p_checksums jsonb, p_modified_us bigint, p_created_us bigint,
  p_inline_data bytea, p_if_none_match_any boolean, p_if_match text,
  OUT status text, OUT freed_objects bigint, OUT freed_bytes bigint, OUT unlink_blob text)
LANGUAGE plpgsql AS $$
DECLARE
  old_found boolean;
  old_etag text;
  old_blob text;
  old_size bigint;
  old_refcount integer;
  old_on_disk boolean;
BEGIN
  freed_objects := 0;
  freed_bytes := 0;
  PERFORM pg_advisory_xact_lock((p_bucket & 2147483647)::integer, hashtext(p_key));
  SELECT o.etag INTO old_etag FROM objects o WHERE o.bucket_id = p_bucket AND o.key = p_key FOR UPDATE;
  old_found := FOUND;
  -- The order of check_conditions in engine.cpp.
  IF p_if_none_match_any AND old_found THEN
    status := 'precondition_failed';
    RETURN;
  END IF;
  IF p_if_match IS NOT NULL THEN
    IF NOT old_found THEN
      status := 'no_such_key';
      RETURN;
    END IF;
    IF p_if_match <> '*' AND p_if_match <> old_etag THEN
      status := 'precondition_failed';
      RETURN;
    END IF;
  END IF;
  IF old_found THEN
    DELETE FROM objects o WHERE o.bucket_id = p_bucket AND o.key = p_key RETURNING o.blob_id, o.size INTO old_blob, old_size;
    UPDATE blobs b SET refcount = b.refcount - 1 WHERE b.id = old_blob
      RETURNING b.refcount, b.inline_data IS NULL INTO old_refcount, old_on_disk;
    IF FOUND THEN
      freed_objects := 1;
      freed_bytes := old_size;
      IF old_refcount = 0 THEN
        DELETE FROM blobs b WHERE b.id = old_blob AND b.refcount = 0;
        IF old_on_disk THEN unlink_blob := old_blob; END IF;
      END IF;
    END IF;
  END IF;
  INSERT INTO blobs (id, size, refcount, inline_data) VALUES (p_blob, p_size, 1, p_inline_data);
  INSERT INTO objects (bucket_id, key, blob_id, size, etag, content_type, user_meta, headers, checksums,
                       modified_at, created_at)
    VALUES (p_bucket, p_key, p_blob, p_size, p_etag, p_content_type, p_user_meta, p_headers, p_checksums,
            to_timestamp(p_modified_us::double precision / 1000000), to_timestamp(p_created_us::double precision / 1000000));
  status := 'ok';
END $$;
