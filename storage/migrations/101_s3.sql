-- S3: multipart uploads and their parts, objects made of several blobs, tagging, bucket CORS.

CREATE TABLE multipart_uploads (
  id                 text COLLATE "C" PRIMARY KEY,
  bucket_id          bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  key                text COLLATE "C" NOT NULL,
  user_id            bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  content_type       text NOT NULL DEFAULT '',
  user_meta          jsonb NOT NULL DEFAULT '{}',
  headers            jsonb NOT NULL DEFAULT '{}',
  checksum_algorithm text NOT NULL DEFAULT '',
  checksum_type      text NOT NULL DEFAULT '',
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX multipart_uploads_bucket_idx ON multipart_uploads (bucket_id, key, created_at);
CREATE INDEX multipart_uploads_age_idx ON multipart_uploads (created_at);

-- A part's bytes are a blob (refcount 1 held by the part row, or later by a segment row).
CREATE TABLE multipart_parts (
  upload_id   text COLLATE "C" NOT NULL REFERENCES multipart_uploads(id) ON DELETE CASCADE,
  part_number integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
  blob_id     text COLLATE "C" NOT NULL REFERENCES blobs(id),
  size        bigint NOT NULL,
  etag        text NOT NULL,
  checksum    text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (upload_id, part_number)
);

-- A manifest blob (a completed multipart object) is the concatenation of its segments.
CREATE TABLE blob_segments (
  blob_id      text COLLATE "C" NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  seq          integer NOT NULL,
  part_blob_id text COLLATE "C" NOT NULL REFERENCES blobs(id),
  size         bigint NOT NULL,
  PRIMARY KEY (blob_id, seq)
);
CREATE INDEX blob_segments_part_idx ON blob_segments (part_blob_id);

-- Dropping a part or a segment drops its reference to the part blob; an unreferenced part blob
-- row goes, and its file becomes an orphan for the sweeper.
CREATE FUNCTION s3_release_part_blob() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  b text;
BEGIN
  IF TG_TABLE_NAME = 'blob_segments' THEN b := OLD.part_blob_id; ELSE b := OLD.blob_id; END IF;
  UPDATE blobs SET refcount = refcount - 1 WHERE id = b;
  DELETE FROM blobs WHERE id = b AND refcount <= 0;
  RETURN OLD;
END $$;
CREATE TRIGGER multipart_parts_release AFTER DELETE ON multipart_parts
  FOR EACH ROW EXECUTE FUNCTION s3_release_part_blob();
CREATE TRIGGER blob_segments_release AFTER DELETE ON blob_segments
  FOR EACH ROW EXECUTE FUNCTION s3_release_part_blob();

-- Tagging: object tags go with the object row (a new PUT of the key starts untagged, as in S3).
CREATE TABLE s3_object_tags (
  bucket_id bigint NOT NULL,
  key       text COLLATE "C" NOT NULL,
  tags      jsonb NOT NULL,
  PRIMARY KEY (bucket_id, key),
  FOREIGN KEY (bucket_id, key) REFERENCES objects (bucket_id, key) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE TABLE s3_bucket_tags (
  bucket_id bigint PRIMARY KEY REFERENCES buckets(id) ON DELETE CASCADE,
  tags      jsonb NOT NULL
);
CREATE TABLE s3_bucket_cors (
  bucket_id bigint PRIMARY KEY REFERENCES buckets(id) ON DELETE CASCADE,
  rules     jsonb NOT NULL
);
