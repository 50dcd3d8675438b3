-- Which lists hold a big row (issue 11). A list page ends at a byte budget;
-- measuring that in PostgreSQL (a window summing each row's size over the
-- page) cost a third of a first page's throughput, for lists whose rows are
-- all a few hundred bytes. So each counters row says, per list, whether it
-- has ever held a row image over 4096 bytes (jsonb: about its text size).
-- While it has not, a page of `limit` rows is small by construction (1,001
-- rows of at most 4 KB: 4 MB) and the server reads it without the window and
-- cuts it by the exact size of its JSON; once it has, pages take the window.
-- The flag is set by the change capture, in the transaction that writes the
-- row (so a list never sees the row without its flag), and never cleared: a
-- list that once held a big row keeps the slower, always-bounded plan. (An
-- inventory row cannot reach 4 KB under its CHECKs today; its flag is kept
-- so that every list reads the same way.)
-- Rows written while the flags are computed must not escape them, so every
-- table involved is locked first, in one statement, until this migration
-- commits: writes and list reads wait (pulls do not: they read the change
-- log). The backfill reads each list row once: 0.5 s for 100,000 shots
-- on 2 cores. A writer caught in a deadlock with the lock is retried by the
-- server (40P01); should the migration be the one PostgreSQL cancels, it
-- rolls back whole and `migrate up` can be run again.
LOCK TABLE shots, notes, postprod_tasks, equipment, project_stats, user_stats
  IN ACCESS EXCLUSIVE MODE;

ALTER TABLE project_stats
  ADD COLUMN shots_big boolean NOT NULL DEFAULT false,
  ADD COLUMN notes_big boolean NOT NULL DEFAULT false,
  ADD COLUMN tasks_big boolean NOT NULL DEFAULT false;
ALTER TABLE user_stats ADD COLUMN equipment_big boolean NOT NULL DEFAULT false;

UPDATE project_stats ps SET
  shots_big = EXISTS (SELECT 1 FROM shots t WHERE t.project_id = ps.project_id
                        AND pg_column_size(to_jsonb(t)) > 4096),
  notes_big = EXISTS (SELECT 1 FROM notes t WHERE t.project_id = ps.project_id
                        AND pg_column_size(to_jsonb(t)) > 4096),
  tasks_big = EXISTS (SELECT 1 FROM postprod_tasks t WHERE t.project_id = ps.project_id
                        AND pg_column_size(to_jsonb(t)) > 4096);
UPDATE user_stats us SET
  equipment_big = EXISTS (SELECT 1 FROM equipment t WHERE t.user_id = us.user_id
                            AND pg_column_size(to_jsonb(t)) > 4096);

CREATE OR REPLACE FUNCTION vemakin_capture_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r          record;
  v_row_id   text;
  v_project  uuid;
  v_user     uuid;
  v_data     jsonb;
  v_bytes    integer;
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
    v_bytes := pg_column_size(v_data);
    INSERT INTO sync_changes (table_name, row_id, op, project_id, user_id, data, data_bytes)
      VALUES (TG_TABLE_NAME, v_row_id, 'upsert', v_project, v_user, v_data, v_bytes);
    IF v_bytes > 4096 THEN  -- the list's first big row (the flag is set once)
      IF TG_TABLE_NAME = 'shots' THEN
        UPDATE project_stats SET shots_big = true WHERE project_id = v_project AND NOT shots_big;
      ELSIF TG_TABLE_NAME = 'notes' THEN
        UPDATE project_stats SET notes_big = true WHERE project_id = v_project AND NOT notes_big;
      ELSIF TG_TABLE_NAME = 'postprod_tasks' THEN
        UPDATE project_stats SET tasks_big = true WHERE project_id = v_project AND NOT tasks_big;
      ELSIF TG_TABLE_NAME = 'equipment' THEN
        UPDATE user_stats SET equipment_big = true WHERE user_id = v_user AND NOT equipment_big;
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END $$;
