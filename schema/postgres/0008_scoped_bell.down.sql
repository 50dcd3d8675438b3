CREATE OR REPLACE FUNCTION vemakin_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vemakin_sync', '');
  RETURN NULL;
END $$;

DROP TRIGGER sync_changes_notify ON sync_changes;
CREATE TRIGGER sync_changes_notify AFTER INSERT ON sync_changes
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_notify_change();
