-- commit_objects_batch (006) in a transaction whose commit does not wait for its WAL flush. The
-- group committer (storage/engine.cpp PutCommitter) acknowledges the batch's writes only after a
-- later commit on another connection has waited for its own flush (WAL is flushed in order, so
-- the batch's commit is then on disk too), and meanwhile sends the next batch: the flush of one
-- batch overlaps the execution of the next instead of following it.
-- set_config(..., true) is SET LOCAL: it lasts until the end of the caller's transaction (this
-- function has no SET clause of its own, which would undo it on return) and never reaches the
-- connection's later transactions.
CREATE FUNCTION commit_objects_batch_async(p_items jsonb, p_data bytea)
  RETURNS TABLE (i integer, status text, freed_objects bigint, freed_bytes bigint, unlink_blob text)
LANGUAGE sql VOLATILE AS $$
  SELECT set_config('synchronous_commit', 'off', true);
  SELECT * FROM commit_objects_batch(p_items, p_data);
$$;
