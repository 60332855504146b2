-- S3 tagging on writes (x-amz-tagging on PutObject, CreateMultipartUpload, CopyObject) and
-- x-amz-tagging-count on GET/HEAD.

-- Tags given when a multipart upload is created (x-amz-tagging), applied when it completes.
ALTER TABLE multipart_uploads ADD COLUMN tags jsonb;

-- x-amz-tagging-count on GET/HEAD without another query: the objects row carries the count of
-- its tags in headers->'x-amz-tagging-count' (S3 answers it as a response header), kept in step
-- with s3_object_tags by these triggers. A new object row starts untagged (as in S3); a change of
-- an object's headers (self-copy with REPLACE) keeps the count of the tags it still has.
CREATE FUNCTION s3_tag_count_of(b bigint, k text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT jsonb_build_object('x-amz-tagging-count', (SELECT count(*) FROM jsonb_object_keys(t.tags))::text)
                   FROM s3_object_tags t WHERE t.bucket_id = b AND t.key = k AND t.tags <> '{}'::jsonb), '{}'::jsonb)
$$;

CREATE FUNCTION s3_tag_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.headers ? 'x-amz-tagging-count' THEN NEW.headers := NEW.headers - 'x-amz-tagging-count'; END IF;
  ELSIF (NEW.headers -> 'x-amz-tagging-count') IS DISTINCT FROM (OLD.headers -> 'x-amz-tagging-count') THEN
    NEW.headers := (NEW.headers - 'x-amz-tagging-count') || s3_tag_count_of(NEW.bucket_id, NEW.key);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER objects_s3_tag_count BEFORE INSERT OR UPDATE OF headers ON objects
  FOR EACH ROW EXECUTE FUNCTION s3_tag_count_keep();

CREATE FUNCTION s3_tag_count_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE objects SET headers = headers - 'x-amz-tagging-count'
      WHERE bucket_id = OLD.bucket_id AND key = OLD.key AND headers ? 'x-amz-tagging-count';
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.tags = OLD.tags THEN RETURN NEW; END IF;
  UPDATE objects SET headers = (headers - 'x-amz-tagging-count') || s3_tag_count_of(NEW.bucket_id, NEW.key)
    WHERE bucket_id = NEW.bucket_id AND key = NEW.key;
  RETURN NEW;
END $$;
CREATE TRIGGER s3_object_tags_count AFTER INSERT OR UPDATE OR DELETE ON s3_object_tags
  FOR EACH ROW EXECUTE FUNCTION s3_tag_count_sync();
UPDATE objects o SET headers = o.headers || s3_tag_count_of(o.bucket_id, o.key)
  FROM s3_object_tags t WHERE t.bucket_id = o.bucket_id AND t.key = o.key;
