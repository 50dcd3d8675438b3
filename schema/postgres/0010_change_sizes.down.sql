-- Back to capturing row images without their size (0003).
CREATE OR REPLACE FUNCTION vemakin_capture_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

ALTER TABLE sync_changes DROP COLUMN data_bytes;
