-- Live updates and history compaction for sync (docs/sync-protocol.md).
--
-- Live: every statement that appends to the change log sends one NOTIFY on
-- channel vemakin_sync. PostgreSQL delivers it at commit (never for a
-- rollback) and folds repeats within a transaction into one, so a
-- 100,000-row import wakes listeners once. Each server instance keeps one
-- LISTEN connection and wakes its long-polling pulls; nothing polls.
--
-- Horizon: `vemakin-admin compact` deletes change history up to a position
-- and records it here. A pull whose cursor is older than the horizon gets
-- 410 Gone and its client rebases onto a fresh snapshot.

CREATE FUNCTION vemakin_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vemakin_sync', '');
  RETURN NULL;
END $$;

CREATE TRIGGER sync_changes_notify AFTER INSERT ON sync_changes
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_notify_change();

CREATE TABLE sync_horizon (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  txid       xid8 NOT NULL,
  seq        bigint NOT NULL,
  compacted_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync_horizon (txid, seq) VALUES ('0', 0);
