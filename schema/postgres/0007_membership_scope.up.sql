-- Sync scope under membership change (issue 10, SPEC.md section 4 "Scoped").
--
-- History is confidential: a member reads a project's change log only from
-- the transaction that made them a member. `membership_starts` keeps that
-- transaction id per membership; a removal deletes it with the membership (a
-- re-invitation starts again, later). Memberships older than this migration
-- start at 0: their members could read all of it.
--
-- The catalog has a version, bumped by every statement that writes one of
-- its tables: servers reload their in-memory copy when it changes.
--
-- Ids are never reused: the id of every deleted project, shot, note, task and
-- inventory item is retired, and an insert of a retired id is refused by the
-- database for every write path (REST, push, CreateMany), so another account
-- can never re-create a deleted project and inherit its id.

CREATE TABLE membership_starts (
  project_id uuid NOT NULL,
  user_id    uuid NOT NULL,
  since      xid8 NOT NULL DEFAULT pg_current_xact_id(),
  PRIMARY KEY (project_id, user_id),
  FOREIGN KEY (project_id, user_id) REFERENCES project_members (project_id, user_id)
    ON DELETE CASCADE
);
INSERT INTO membership_starts (project_id, user_id, since)
  SELECT project_id, user_id, '0'::xid8 FROM project_members;

CREATE FUNCTION vemakin_start_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO membership_starts (project_id, user_id) VALUES (NEW.project_id, NEW.user_id);
  RETURN NULL;
END $$;
CREATE TRIGGER project_members_start AFTER INSERT ON project_members
  FOR EACH ROW EXECUTE FUNCTION vemakin_start_membership();

CREATE TABLE retired_ids (
  id         uuid PRIMARY KEY,
  table_name text NOT NULL,
  retired_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION vemakin_retire_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO retired_ids (id, table_name) VALUES (OLD.id, TG_TABLE_NAME)
    ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END $$;

-- A retired id is skipped (the statement inserts nothing for it), which the
-- write rules answer as an id clash (409), like any other existing id. A row
-- with the id that is still there may be in the middle of being deleted by a
-- transaction not yet committed (whose retirement this statement cannot see
-- yet): locking it waits for that transaction, and the check is made again
-- with a fresh snapshot. Fresh ids (the common case) take no lock.
CREATE FUNCTION vemakin_refuse_retired_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM retired_ids WHERE id = NEW.id) THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'projects' THEN
    PERFORM 1 FROM projects WHERE id = NEW.id FOR KEY SHARE;
  ELSIF TG_TABLE_NAME = 'shots' THEN
    PERFORM 1 FROM shots WHERE id = NEW.id FOR KEY SHARE;
  ELSIF TG_TABLE_NAME = 'notes' THEN
    PERFORM 1 FROM notes WHERE id = NEW.id FOR KEY SHARE;
  ELSIF TG_TABLE_NAME = 'postprod_tasks' THEN
    PERFORM 1 FROM postprod_tasks WHERE id = NEW.id FOR KEY SHARE;
  ELSE
    PERFORM 1 FROM equipment WHERE id = NEW.id FOR KEY SHARE;
  END IF;
  IF FOUND THEN
    RETURN NEW;  -- the row is there for good: ON CONFLICT answers
  END IF;
  IF EXISTS (SELECT 1 FROM retired_ids WHERE id = NEW.id) THEN
    RETURN NULL;  -- deleted meanwhile
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['projects', 'shots', 'notes', 'postprod_tasks', 'equipment'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I '
                   'FOR EACH ROW EXECUTE FUNCTION vemakin_retire_id()', t || '_retire', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I '
                   'FOR EACH ROW EXECUTE FUNCTION vemakin_refuse_retired_id()',
                   t || '_refuse_retired', t);
  END LOOP;
END $$;

CREATE TABLE catalog_version (
  id      int PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);
INSERT INTO catalog_version VALUES (1, 0);

CREATE FUNCTION vemakin_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['gear_categories', 'gear_brands', 'gear_catalog'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION vemakin_bump_catalog_version()',
                   t || '_version', t);
  END LOOP;
END $$;
