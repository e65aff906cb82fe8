-- Change-feed history (docs/change-feed.md "Restores, failovers and lost commits"): a cursor is
-- valid only in the history it came from.
--
-- branchline_feed_epoch() is the epoch in every cursor. It is derived from what a restore, a PITR
-- or a failover necessarily changes: the cluster's system identifier (a new cluster, e.g. a
-- pg_dump restore), the WAL timeline (a PITR or a promoted replica starts a new one), and
-- feed_state.epoch, which a server process rotates when it finds the log's newest position below
-- what it had already read (a data folder put back, a crash that lost asynchronous commits).

-- The cluster's system identifier. pg_control_system() is executable by PUBLIC in PostgreSQL 18;
-- where a provider revokes it, the function is created without it (NULL) and the epoch rests on
-- the timeline, feed_state.epoch and the per-cursor check (the cursor's own change must exist).
DO $$
BEGIN
  PERFORM system_identifier FROM pg_control_system();
  EXECUTE $f$
    CREATE FUNCTION branchline_cluster_id() RETURNS text
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
      AS 'SELECT system_identifier::text FROM pg_control_system()'
  $f$;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'pg_control_system() is not executable here: the change-feed epoch will not include the system identifier';
  EXECUTE $f$
    CREATE FUNCTION branchline_cluster_id() RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT NULL::text'
  $f$;
END
$$;

-- The WAL timeline being written (hex, as in WAL file names): public, no privileges needed, and
-- it moves at the moment of a promotion, unlike the last checkpoint's. NULL on a standby.
CREATE FUNCTION branchline_timeline() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END
$$;

CREATE FUNCTION branchline_feed_epoch() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT md5(concat_ws(':', branchline_cluster_id(), branchline_timeline(), f.epoch::text))::uuid::text
    FROM feed_state f WHERE f.id = 1
$$;

-- A change's stamp in cursors: created_at in milliseconds (the column's precision). A cursor
-- names (xid, id, stamp); a restored history reuses xids and ids, never with the same stamp.
CREATE FUNCTION branchline_change_stamp(at timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT (extract(epoch FROM at) * 1000)::bigint
$$;
