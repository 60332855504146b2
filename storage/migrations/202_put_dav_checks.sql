-- WebDAV's PUT without a probe of its own (PutOptions::dav_checks in storage/engine.hpp): the
-- checks its probe made, made by the statement that writes the rows. For each item of p_items
-- (put_objects_rows' items, below) that has dv: 'ok', 'unauthenticated' (the user is not active
-- at that credentials_version) or 'dav_recheck' (the bucket is no longer theirs, no key is under
-- the parent collection's prefix, a key is under key/ (a collection is there) or an unexpired
-- lock is rooted at one of the lock roots): the caller then probes and answers as for any write.
-- Set-wise, one call per batch. Prefixes end in '/', so '0' in its place bounds the range.
CREATE FUNCTION dav_put_checks(p_items jsonb)
  RETURNS TABLE (i integer, status text) LANGUAGE sql STABLE AS $$
  SELECT x.i, CASE
    WHEN NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.u AND u.status = 'active'
                       AND u.credentials_version = (x.dv->>'cv')::bigint) THEN 'unauthenticated'
    WHEN NOT EXISTS (SELECT 1 FROM buckets b WHERE b.id = x.b AND b.owner_id = x.u)
      OR (x.dv->>'pp' <> '' AND NOT EXISTS (
            SELECT 1 FROM objects o WHERE o.bucket_id = x.b AND o.key >= (x.dv->>'pp') COLLATE "C"
              AND o.key < (left(x.dv->>'pp', -1) || '0') COLLATE "C"))
      OR EXISTS (SELECT 1 FROM objects o WHERE o.bucket_id = x.b AND o.key >= (x.k || '/') COLLATE "C"
                   AND o.key < (x.k || '0') COLLATE "C")
      OR EXISTS (SELECT 1 FROM dav_locks l WHERE l.root = ANY(ARRAY(SELECT jsonb_array_elements_text(x.dv->'lr')))
                   AND l.expires_at > now()) THEN 'dav_recheck'
    ELSE 'ok' END
  FROM jsonb_to_recordset(p_items) AS x(i integer, b bigint, k text, u bigint, dv jsonb)
  WHERE x.dv IS NOT NULL
$$;

-- put_objects_rows, first defined by 003, then by 007 with the access key and bucket check (ak),
-- now also with WebDAV's checks (dv).
-- The object rows of a whole group-commit batch (storage/engine.cpp PutCommitter) in one call:
-- what put_object_rows (002) does for one write, done set-wise, so each statement runs once per
-- batch instead of once per object (executor start-up and the call per object were most of
-- PostgreSQL's time per PUT).
-- p_items: a JSON array, one element per write, i = 1..n in (bucket, key) byte order, keys
-- distinct (the caller uses put_object_rows for a batch that names a key twice):
--   {i, b: bucket, k: key, id: blob, s: size, e: etag, ct: content type, m: user meta, h: headers,
--    c: checksums, mt / cr: modified / created in µs, off / len: the inline bytes in p_data
--    (null off: the blob is a file), inm: If-None-Match: *, im: If-Match or null,
--    u: the writing user, ak: an access key id or null,
--    dv: null, or WebDAV's checks {cv: credentials_version, pp: parent prefix, lr: lock roots}}
-- An item with ak comes from a request that did not confirm its access key and bucket itself
-- (Engine's PutOptions::verify_access_key: the S3 API's PutObject on a bucket it probed a moment
-- ago): it is written only if that key of user u is unrevoked, the user active and the bucket b
-- still theirs. Checked in the statement that writes the rows, so a revoked key or a deleted
-- bucket stops writes at once on every server, as the probe would have.
-- An item with dv is written only if dav_put_checks (above) says 'ok'.
-- Returns one row per write: status ('ok'; 'precondition_failed', 'no_such_key', 'access_denied',
-- 'no_such_bucket', 'unauthenticated', 'dav_recheck': nothing written for it), what its old object counted in usage, and a blob
-- file no row refers to any more (each such blob named once).
-- Every lookup here is by primary key or index, a few dozen rows at a time. The planner guesses
-- 100 rows for jsonb_to_recordset and, while the tables are small or not analyzed yet, picks hash
-- joins over sequential scans, and plpgsql keeps such a plan: on a growing table each batch
-- would then read the whole table. The SET clauses leave it only index lookups in nested loops.
CREATE OR REPLACE FUNCTION put_objects_rows(p_items jsonb, p_data bytea)
  RETURNS TABLE (i integer, status text, freed_objects bigint, freed_bytes bigint, unlink_blob text)
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_status text[];
  v_old_blob text[];
  v_old_size bigint[];
  v_zero text[];
  v_unlink text[];
BEGIN
  -- The keys' advisory locks (lock_key in engine.cpp), in the batch's order, then the old rows.
  PERFORM pg_advisory_xact_lock((x.b & 2147483647)::integer, hashtext(x.k))
    FROM jsonb_to_recordset(p_items) AS x(i integer, b bigint, k text) ORDER BY x.i;
  PERFORM 1 FROM jsonb_to_recordset(p_items) AS x(b bigint, k text)
    JOIN objects o ON o.bucket_id = x.b AND o.key = x.k COLLATE "C" FOR UPDATE OF o;

  -- The write conditions, in the order of check_conditions in engine.cpp.
  SELECT array_agg(s.st ORDER BY s.i), array_agg(CASE WHEN s.st = 'ok' THEN s.ob END ORDER BY s.i),
         array_agg(s.os ORDER BY s.i)
    INTO v_status, v_old_blob, v_old_size
    FROM (WITH d AS MATERIALIZED (SELECT * FROM dav_put_checks(p_items))
          SELECT x.i,
                 CASE WHEN x.ak IS NOT NULL AND NOT EXISTS (
                             SELECT 1 FROM access_keys k JOIN users ku ON ku.id = k.user_id
                               WHERE k.id = x.ak AND k.user_id = x.u AND k.revoked_at IS NULL AND ku.status = 'active')
                        THEN 'access_denied'
                      WHEN x.ak IS NOT NULL AND NOT EXISTS (SELECT 1 FROM buckets bk WHERE bk.id = x.b AND bk.owner_id = x.u)
                        THEN 'no_such_bucket'
                      WHEN d.status <> 'ok' THEN d.status
                      WHEN x.inm AND o.key IS NOT NULL THEN 'precondition_failed'
                      WHEN x.im IS NOT NULL AND o.key IS NULL THEN 'no_such_key'
                      WHEN x.im IS NOT NULL AND x.im <> '*' AND x.im <> o.etag THEN 'precondition_failed'
                      ELSE 'ok' END AS st,
                 o.blob_id AS ob, o.size AS os
            FROM jsonb_to_recordset(p_items) AS x(i integer, b bigint, k text, inm boolean, im text, u bigint, ak text)
            LEFT JOIN d ON d.i = x.i
            LEFT JOIN objects o ON o.bucket_id = x.b AND o.key = x.k COLLATE "C") s;

  -- The old objects of the writes that go ahead, and their blobs' references.
  IF EXISTS (SELECT 1 FROM unnest(v_old_blob) AS u(ob) WHERE u.ob IS NOT NULL) THEN
    DELETE FROM objects o USING jsonb_to_recordset(p_items) AS x(i integer, b bigint, k text)
      WHERE v_old_blob[x.i] IS NOT NULL AND o.bucket_id = x.b AND o.key = x.k COLLATE "C";
    WITH d AS (SELECT u.ob, count(*) AS n FROM unnest(v_old_blob) AS u(ob) WHERE u.ob IS NOT NULL GROUP BY u.ob),
         r AS (UPDATE blobs bl SET refcount = bl.refcount - d.n FROM d WHERE bl.id = d.ob RETURNING bl.id, bl.refcount)
    SELECT array_agg(r.id) INTO v_zero FROM r WHERE r.refcount = 0;
    IF v_zero IS NOT NULL THEN
      WITH g AS (DELETE FROM blobs bl WHERE bl.id = ANY(v_zero) AND bl.refcount = 0
                   RETURNING bl.id, bl.inline_data IS NULL AS on_disk)
      SELECT array_agg(g.id) INTO v_unlink FROM g WHERE g.on_disk;
    END IF;
  END IF;

  -- The new blob and object rows.
  WITH x AS (SELECT * FROM jsonb_to_recordset(p_items) AS x(i integer, b bigint, k text, id text, s bigint, e text,
                      ct text, m jsonb, h jsonb, c jsonb, mt bigint, cr bigint, off integer, len integer)
              WHERE v_status[x.i] = 'ok'),
       nb AS (INSERT INTO blobs (id, size, refcount, inline_data)
                SELECT x.id, x.s, 1, CASE WHEN x.off IS NOT NULL THEN substring(p_data FROM x.off + 1 FOR x.len) END FROM x)
  INSERT INTO objects (bucket_id, key, blob_id, size, etag, content_type, user_meta, headers, checksums,
                       modified_at, created_at)
    SELECT x.b, x.k, x.id, x.s, x.e, x.ct, x.m, x.h, x.c, to_timestamp(x.mt::double precision / 1000000),
           to_timestamp(x.cr::double precision / 1000000)
      FROM x ORDER BY x.i;

  RETURN QUERY
    SELECT u.n::integer, u.st,
           CASE WHEN u.ob IS NOT NULL THEN 1::bigint ELSE 0::bigint END,
           CASE WHEN u.ob IS NOT NULL THEN u.os ELSE 0::bigint END,
           CASE WHEN u.ob = ANY(v_unlink) AND u.n = (SELECT min(w.n) FROM unnest(v_old_blob) WITH ORDINALITY AS w(ob, n)
                                                        WHERE w.ob = u.ob) THEN u.ob END
      FROM unnest(v_status, v_old_blob, v_old_size) WITH ORDINALITY AS u(st, ob, os, n);
END $$;
