-- WebDAV state the engine does not model: dead properties and locks (RFC 4918).

-- Dead properties of a resource: key is the object key ('' for a bucket root, 'dir/' for a
-- collection). value is self-contained XML (children carry their namespace declarations).
CREATE TABLE dav_props (
  bucket_id bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  key       text COLLATE "C" NOT NULL,
  ns        text COLLATE "C" NOT NULL,
  name      text COLLATE "C" NOT NULL,
  value     text NOT NULL DEFAULT '',
  lang      text NOT NULL DEFAULT '',
  PRIMARY KEY (bucket_id, key, ns, name)
);

-- Write locks. root is the locked URL below /dav, decoded: '/bucket/key', a collection ending
-- in '/'. A lock stops counting the moment expires_at passes, whether or not a sweep removed it.
CREATE TABLE dav_locks (
  token          text PRIMARY KEY,
  user_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  root           text COLLATE "C" NOT NULL,
  depth_infinity boolean NOT NULL,
  exclusive      boolean NOT NULL,
  owner_xml      text NOT NULL DEFAULT '',
  timeout_s      bigint NOT NULL,
  expires_at     timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dav_locks_root_idx ON dav_locks (root);
