-- A whole group-commit batch (storage/engine.cpp PutCommitter) as one statement: the object rows
-- (put_objects_rows, 007) and each user's usage, the same as QuotaEngine::commit_batch does it.
-- Sent outside a transaction block, the statement is its own transaction: BEGIN, the two steps
-- and COMMIT took four round trips to PostgreSQL per batch, now one. A usage update that would
-- pass a limit raises, which rolls the whole batch back; the caller then commits its writes one
-- at a time, and each learns its own outcome.
-- p_items: put_objects_rows' items (007), each also with u (the user), r (the id of the write's
-- reservation, or null) and ck (true when the write's size was checked against the quota
-- instead of reserved: only these can take the user past the limit here).
CREATE OR REPLACE FUNCTION commit_objects_batch(p_items jsonb, p_data bytea)
  RETURNS TABLE (i integer, status text, freed_objects bigint, freed_bytes bigint, unlink_blob text)
LANGUAGE plpgsql AS $$
DECLARE
  v_i integer[];
  v_status text[];
  v_fo bigint[];
  v_fb bigint[];
  v_unlink text[];
  v_reserved bigint;
  q record;
BEGIN
  SELECT array_agg(r.i ORDER BY r.i), array_agg(r.status ORDER BY r.i), array_agg(r.freed_objects ORDER BY r.i),
         array_agg(r.freed_bytes ORDER BY r.i), array_agg(r.unlink_blob ORDER BY r.i)
    INTO v_i, v_status, v_fo, v_fb, v_unlink
    FROM put_objects_rows(p_items, p_data) r;

  -- Each user's usage row, in user order (the lock order of every batch), for the writes that
  -- went ahead: their sizes, less what the objects they replaced counted.
  FOR q IN
    SELECT x.u, sum(x.s - v_fb[x.i])::bigint AS bytes, sum(1 - v_fo[x.i])::bigint AS objects,
           sum(CASE WHEN x.ck THEN x.s - v_fb[x.i] ELSE 0 END)::bigint AS unreserved,
           array_agg(x.r) FILTER (WHERE x.r IS NOT NULL) AS reservations
      FROM jsonb_to_recordset(p_items) AS x(i integer, u bigint, s bigint, r bigint, ck boolean)
      WHERE v_status[x.i] = 'ok'
      GROUP BY x.u ORDER BY x.u
  LOOP
    v_reserved := 0;
    IF q.reservations IS NOT NULL THEN
      WITH d AS (DELETE FROM reservations WHERE id = ANY(q.reservations) RETURNING bytes)
      SELECT COALESCE(sum(d.bytes), 0)::bigint INTO v_reserved FROM d;
    END IF;
    WITH lim AS (SELECT u.id, COALESCE(u.quota_bytes_override, p.bytes_limit) AS bytes_limit,
                        COALESCE(u.quota_objects_override, p.objects_limit) AS objects_limit
                   FROM users u JOIN plans p ON p.id = u.plan_id WHERE u.id = q.u)
    UPDATE usage SET bytes_used = bytes_used + q.bytes, objects_used = objects_used + q.objects,
                     bytes_reserved = GREATEST(bytes_reserved - v_reserved, 0)
      FROM lim
      WHERE usage.user_id = lim.id
        AND (q.unreserved <= 0 OR usage.bytes_used + GREATEST(usage.bytes_reserved - v_reserved, 0) + q.bytes <= lim.bytes_limit)
        AND (q.objects <= 0 OR lim.objects_limit IS NULL OR usage.objects_used + q.objects <= lim.objects_limit);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'commit_objects_batch: user % would pass a quota limit', q.u;
    END IF;
  END LOOP;

  RETURN QUERY SELECT * FROM unnest(v_i, v_status, v_fo, v_fb, v_unlink);
END $$;
