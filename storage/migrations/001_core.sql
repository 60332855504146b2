-- Plans, users, usage and reservations (the quota engine), buckets, blobs and objects.
CREATE TABLE plans (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  bytes_limit   bigint NOT NULL CHECK (bytes_limit >= 0),
  objects_limit bigint CHECK (objects_limit >= 0),
  price_id      text,
  public        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plans (name, bytes_limit) VALUES ('free', 2147483648), ('premium', 10737418240);

CREATE TABLE users (
  id                     bigserial PRIMARY KEY,
  name                   text NOT NULL UNIQUE,
  email                  text NOT NULL,
  password_hash          text NOT NULL,
  is_admin               boolean NOT NULL DEFAULT false,
  status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active','suspended','pending')),
  plan_id                bigint NOT NULL REFERENCES plans(id),
  quota_bytes_override   bigint,
  quota_objects_override bigint,
  credentials_version    bigint NOT NULL DEFAULT 1,
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- One row per user, changed atomically: bytes_used + bytes_reserved never passes the limit.
CREATE TABLE usage (
  user_id        bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  bytes_used     bigint NOT NULL DEFAULT 0,
  objects_used   bigint NOT NULL DEFAULT 0,
  bytes_reserved bigint NOT NULL DEFAULT 0 CHECK (bytes_reserved >= 0)
);

-- Servers alive, by heartbeat: reservations of a node that stopped beating are released.
CREATE TABLE nodes (
  id           uuid PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reservations (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  node_id    uuid NOT NULL,
  bytes      bigint NOT NULL CHECK (bytes >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_node_idx ON reservations (node_id);

CREATE TABLE buckets (
  id         bigserial PRIMARY KEY,
  name       text COLLATE "C" NOT NULL UNIQUE,
  owner_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  region     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buckets_owner_idx ON buckets (owner_id, name);

-- A blob is the bytes of one or more objects (copies share it). inline_data holds small blobs in
-- PostgreSQL; otherwise the bytes are a file named by id in the blob store.
CREATE TABLE blobs (
  id          text COLLATE "C" PRIMARY KEY,
  size        bigint NOT NULL,
  refcount    integer NOT NULL CHECK (refcount >= 0),
  inline_data bytea,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE objects (
  bucket_id    bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  key          text COLLATE "C" NOT NULL,
  blob_id      text COLLATE "C" NOT NULL REFERENCES blobs(id),
  size         bigint NOT NULL,
  etag         text NOT NULL,
  content_type text NOT NULL DEFAULT '',
  user_meta    jsonb NOT NULL DEFAULT '{}',
  headers      jsonb NOT NULL DEFAULT '{}',
  checksums    jsonb NOT NULL DEFAULT '{}',
  parts        integer NOT NULL DEFAULT 0,
  part_sizes   bigint[],
  modified_at  timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bucket_id, key)
);
CREATE INDEX objects_blob_idx ON objects (blob_id);

CREATE TABLE access_keys (
  id          text PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_enc  text NOT NULL,
  label       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX access_keys_user_idx ON access_keys (user_id);

-- Every row that counts against a user's quota; `depot usage verify` sums it. Later migrations
-- replace the view to add their own sources (open multipart parts, ...).
CREATE VIEW usage_sources AS
  SELECT b.owner_id AS user_id, o.size AS bytes, 1 AS objects FROM objects o JOIN buckets b ON b.id = o.bucket_id;
