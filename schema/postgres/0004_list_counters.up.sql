-- Exact list totals without counting: every list response carries `total`,
-- and count(*) over a 100,000-shot project grows with the project. Triggers
-- keep one counter row per project (shots, notes, tasks) and per user
-- (inventory) exact in the same transaction as the insert or delete. The
-- counter row is locked only until that transaction commits.

CREATE TABLE project_stats (
  project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  shots      bigint NOT NULL DEFAULT 0 CHECK (shots >= 0),
  notes      bigint NOT NULL DEFAULT 0 CHECK (notes >= 0),
  tasks      bigint NOT NULL DEFAULT 0 CHECK (tasks >= 0)
);

CREATE TABLE user_stats (
  user_id   uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  equipment bigint NOT NULL DEFAULT 0 CHECK (equipment >= 0)
);

INSERT INTO project_stats (project_id, shots, notes, tasks)
SELECT p.id,
       (SELECT count(*) FROM shots s WHERE s.project_id = p.id),
       (SELECT count(*) FROM notes n WHERE n.project_id = p.id),
       (SELECT count(*) FROM postprod_tasks t WHERE t.project_id = p.id)
FROM projects p;

INSERT INTO user_stats (user_id, equipment)
SELECT u.id, (SELECT count(*) FROM equipment e WHERE e.user_id = u.id) FROM users u;

CREATE FUNCTION vemakin_project_stats_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO project_stats (project_id) VALUES (NEW.id);
  RETURN NULL;
END $$;

CREATE FUNCTION vemakin_user_stats_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO user_stats (user_id) VALUES (NEW.id);
  RETURN NULL;
END $$;

-- TG_ARGV[0] names the counter column; rows removed by a project's cascade
-- find no counter row (it is deleted with the project) and change nothing.
CREATE FUNCTION vemakin_project_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('UPDATE project_stats SET %I = %I + 1 WHERE project_id = $1',
                   TG_ARGV[0], TG_ARGV[0]) USING NEW.project_id;
  ELSE
    EXECUTE format('UPDATE project_stats SET %I = %I - 1 WHERE project_id = $1',
                   TG_ARGV[0], TG_ARGV[0]) USING OLD.project_id;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION vemakin_equipment_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE user_stats SET equipment = equipment + 1 WHERE user_id = NEW.user_id;
  ELSE
    UPDATE user_stats SET equipment = equipment - 1 WHERE user_id = OLD.user_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER projects_stats_init AFTER INSERT ON projects
  FOR EACH ROW EXECUTE FUNCTION vemakin_project_stats_init();
CREATE TRIGGER users_stats_init AFTER INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION vemakin_user_stats_init();
CREATE TRIGGER shots_count AFTER INSERT OR DELETE ON shots
  FOR EACH ROW EXECUTE FUNCTION vemakin_project_count('shots');
CREATE TRIGGER notes_count AFTER INSERT OR DELETE ON notes
  FOR EACH ROW EXECUTE FUNCTION vemakin_project_count('notes');
CREATE TRIGGER tasks_count AFTER INSERT OR DELETE ON postprod_tasks
  FOR EACH ROW EXECUTE FUNCTION vemakin_project_count('tasks');
CREATE TRIGGER equipment_count AFTER INSERT OR DELETE ON equipment
  FOR EACH ROW EXECUTE FUNCTION vemakin_equipment_count();
