-- Back to capturing row images without the lists' big-row flags (0010).
CREATE OR REPLACE FUNCTION vemakin_capture_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r          record;
  v_row_id   text;
  v_project  uuid;
  v_user     uuid;
  v_data     jsonb;
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
    v_data := to_jsonb(r);
    INSERT INTO sync_changes (table_name, row_id, op, project_id, user_id, data, data_bytes)
      VALUES (TG_TABLE_NAME, v_row_id, 'upsert', v_project, v_user, v_data,
              pg_column_size(v_data));
  END IF;
  RETURN NULL;
END $$;

ALTER TABLE user_stats DROP COLUMN equipment_big;
ALTER TABLE project_stats DROP COLUMN shots_big, DROP COLUMN notes_big, DROP COLUMN tasks_big;
