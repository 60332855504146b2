-- PutBucketVersioning Suspended is remembered (GetBucketVersioning then reports it, as S3 does
-- for a bucket never versioned); Enabled stays refused (protocols/s3/bucket_ops.cpp). A constant
-- default adds the column without rewriting the table.
ALTER TABLE buckets ADD COLUMN versioning_suspended boolean NOT NULL DEFAULT false;
