-- The change bell names scopes (issue 11): each change appended to the log
-- NOTIFYs vemakin_sync with the scope it belongs to -- 'p:<project id>',
-- 'u:<user id>' (an inventory row, a membership, a project's tombstone
-- addressed to one member) or 'g' (the catalog) -- instead of one empty
-- payload per statement. A server wakes only the long-polling pulls that read
-- that scope (server/change_bell.h), so one busy project no longer wakes every
-- parked client. PostgreSQL delivers notifications at commit, never for a
-- rollback, and folds identical ones within a transaction: a 100,000-row
-- import into one project still sends one.
CREATE OR REPLACE FUNCTION vemakin_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.project_id IS NOT NULL THEN
    PERFORM pg_notify('vemakin_sync', 'p:' || NEW.project_id::text);
  END IF;
  IF NEW.user_id IS NOT NULL THEN
    PERFORM pg_notify('vemakin_sync', 'u:' || NEW.user_id::text);
  END IF;
  IF NEW.project_id IS NULL AND NEW.user_id IS NULL THEN
    PERFORM pg_notify('vemakin_sync', 'g');
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER sync_changes_notify ON sync_changes;
CREATE TRIGGER sync_changes_notify AFTER INSERT ON sync_changes
  FOR EACH ROW EXECUTE FUNCTION vemakin_notify_change();
