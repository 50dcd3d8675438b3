-- Back to one catalog scope for every schema (0008).
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
