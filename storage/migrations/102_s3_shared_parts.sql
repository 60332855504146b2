-- S3 UploadPartCopy without copying bytes: a part (and later a segment of a completed object) can
-- be a byte range [offset, offset + size) of a blob another object shares (its refcount counts
-- the part row or the segment row like any other reference).
ALTER TABLE multipart_parts ADD COLUMN blob_offset bigint NOT NULL DEFAULT 0 CHECK (blob_offset >= 0);
ALTER TABLE blob_segments ADD COLUMN part_offset bigint NOT NULL DEFAULT 0 CHECK (part_offset >= 0);

