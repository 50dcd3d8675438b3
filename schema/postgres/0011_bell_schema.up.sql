-- The catalog's bell scope names its schema (issue 11): 'g:<schema>'. Project
-- and user scopes name UUIDs, which no two schemas share, but 'g' was one
-- scope for every schema of the database, so a catalog change in one tenant's
-- schema (or a test suite's) woke every parked pull of every other. A server
-- rings 'g' only for its own schema (server/change_bell.cc). A server older
-- than this migration ignores 'g:<schema>': its pulls see catalog changes at
-- their next poll instead of at once.
CREATE OR REPLACE FUNCTION vemakin_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.project_id IS NOT NULL THEN
    PERFORM pg_notify('vemakin_sync', 'p:' || NEW.project_id::text);
  END IF;
  IF NEW.user_id IS NOT NULL THEN
    PERFORM pg_notify('vemakin_sync', 'u:' || NEW.user_id::text);
  END IF;
  IF NEW.project_id IS NULL AND NEW.user_id IS NULL THEN
    PERFORM pg_notify('vemakin_sync', 'g:' || TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END $$;
