-- The change log for sync (SPEC.md section 4, docs/sync-protocol.md).
--
-- One total order: every change row carries the id of the transaction that
-- wrote it (`txid`, xid8) and a `seq` from a sequence; the order is
-- (txid, seq). A pull only returns changes whose txid is below the xmin of
-- its own snapshot: every transaction with a smaller id has then finished
-- (committed or rolled back), so any change committed later has a txid >= that
-- xmin and sorts after the puller's cursor. A transaction that takes its
-- sequence value early and commits late can therefore never be skipped, on
-- any number of server instances (the ids come from the one database), and
-- writers never queue behind one another.
--
-- Capture: triggers on every synced table write the row image (or a
-- tombstone) in the same transaction as the change, so REST writes and sync
-- pushes enter one history. Children deleted by a project's cascade are not
-- logged one by one: the project's tombstone implies them. A member removed
-- from a project gets the membership's tombstone (addressed to them), which
-- tells their client to drop the project's rows.
--
-- `sync_mutations` makes every pushed mutation apply at most once.

CREATE TABLE sync_changes (
  txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq          bigserial NOT NULL,
  table_name   text NOT NULL CHECK (table_name IN ('projects', 'project_members', 'shots',
                 'notes', 'postprod_tasks', 'equipment', 'gear_categories', 'gear_brands',
                 'gear_catalog')),
  row_id       text NOT NULL,
  op           text NOT NULL CHECK (op IN ('upsert', 'delete')),
  project_id   uuid,
  user_id      uuid,
  data         jsonb,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (txid, seq),
  CHECK ((op = 'delete') = (data IS NULL))
);
CREATE INDEX idx_sync_changes_project ON sync_changes (project_id, txid, seq);
CREATE INDEX idx_sync_changes_user ON sync_changes (user_id, txid, seq);

CREATE FUNCTION vemakin_capture_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r          record;
  v_row_id   text;
  v_project  uuid;
  v_user     uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_TABLE_NAME = 'projects' THEN
    v_row_id := r.id::text; v_project := r.id;
  ELSIF TG_TABLE_NAME = 'project_members' THEN
    v_row_id := r.project_id::text || ':' || r.user_id::text;
    v_project := r.project_id; v_user := r.user_id;
  ELSIF TG_TABLE_NAME IN ('shots', 'notes', 'postprod_tasks') THEN
    v_row_id := r.id::text; v_project := r.project_id;
  ELSIF TG_TABLE_NAME = 'equipment' THEN
    v_row_id := r.id::text; v_user := r.user_id;
  ELSE
    v_row_id := r.id::text;  -- the catalog: global
  END IF;
  IF TG_OP = 'DELETE' THEN
    -- A child removed by its project's cascade: the project's tombstone says it.
    IF TG_TABLE_NAME <> 'projects' AND v_project IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM projects WHERE id = v_project) THEN
      RETURN NULL;
    END IF;
    INSERT INTO sync_changes (table_name, row_id, op, project_id, user_id)
      VALUES (TG_TABLE_NAME, v_row_id, 'delete', v_project, v_user);
  ELSE
    INSERT INTO sync_changes (table_name, row_id, op, project_id, user_id, data)
      VALUES (TG_TABLE_NAME, v_row_id, 'upsert', v_project, v_user, to_jsonb(r));
  END IF;
  RETURN NULL;
END $$;

-- A project's tombstone must reach every member, but once it is gone its
-- memberships are too (they cascade), so the tombstone is written before the
-- delete, once per member, addressed to that member.
CREATE FUNCTION vemakin_capture_project_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_changes (table_name, row_id, op, user_id)
    SELECT 'projects', OLD.id::text, 'delete', m.user_id
    FROM project_members m WHERE m.project_id = OLD.id;
  RETURN OLD;
END $$;

CREATE TRIGGER projects_capture AFTER INSERT OR UPDATE ON projects
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER projects_capture_delete BEFORE DELETE ON projects
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_project_delete();
CREATE TRIGGER project_members_capture AFTER INSERT OR UPDATE OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER shots_capture AFTER INSERT OR UPDATE OR DELETE ON shots
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER notes_capture AFTER INSERT OR UPDATE OR DELETE ON notes
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER postprod_tasks_capture AFTER INSERT OR UPDATE OR DELETE ON postprod_tasks
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER equipment_capture AFTER INSERT OR UPDATE OR DELETE ON equipment
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER gear_categories_capture AFTER INSERT OR UPDATE OR DELETE ON gear_categories
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER gear_brands_capture AFTER INSERT OR UPDATE OR DELETE ON gear_brands
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();
CREATE TRIGGER gear_catalog_capture AFTER INSERT OR UPDATE OR DELETE ON gear_catalog
  FOR EACH ROW EXECUTE FUNCTION vemakin_capture_change();

CREATE TABLE sync_mutations (
  client_id   uuid NOT NULL,
  mutation_id uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  outcome     text NOT NULL CHECK (outcome IN ('applied', 'rejected')),
  response    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, mutation_id)
);
CREATE INDEX idx_sync_mutations_created ON sync_mutations (created_at);
