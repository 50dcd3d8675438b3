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

-- Statement-level triggers over transition tables: one counter update per
-- statement and project, so a bulk insert of 100,000 shots (an initial sync,
-- a seed) updates the counter row once instead of 100,000 times.
-- TG_ARGV[0] names the counter column. Rows removed by a project's cascade
-- find no counter row (it goes with the project) and change nothing.
CREATE FUNCTION vemakin_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'shots' THEN
    UPDATE project_stats s SET shots = s.shots + d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSIF TG_ARGV[0] = 'notes' THEN
    UPDATE project_stats s SET notes = s.notes + d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSIF TG_ARGV[0] = 'tasks' THEN
    UPDATE project_stats s SET tasks = s.tasks + d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSE
    UPDATE user_stats s SET equipment = s.equipment + d.n
      FROM (SELECT user_id, count(*) AS n FROM changed_rows GROUP BY user_id) d
      WHERE s.user_id = d.user_id;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION vemakin_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'shots' THEN
    UPDATE project_stats s SET shots = s.shots - d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSIF TG_ARGV[0] = 'notes' THEN
    UPDATE project_stats s SET notes = s.notes - d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSIF TG_ARGV[0] = 'tasks' THEN
    UPDATE project_stats s SET tasks = s.tasks - d.n
      FROM (SELECT project_id, count(*) AS n FROM changed_rows GROUP BY project_id) d
      WHERE s.project_id = d.project_id;
  ELSE
    UPDATE user_stats s SET equipment = s.equipment - d.n
      FROM (SELECT user_id, count(*) AS n FROM changed_rows GROUP BY user_id) d
      WHERE s.user_id = d.user_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER projects_stats_init AFTER INSERT ON projects
  FOR EACH ROW EXECUTE FUNCTION vemakin_project_stats_init();
CREATE TRIGGER users_stats_init AFTER INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION vemakin_user_stats_init();
CREATE TRIGGER shots_added AFTER INSERT ON shots REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_added('shots');
CREATE TRIGGER shots_removed AFTER DELETE ON shots REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_removed('shots');
CREATE TRIGGER notes_added AFTER INSERT ON notes REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_added('notes');
CREATE TRIGGER notes_removed AFTER DELETE ON notes REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_removed('notes');
CREATE TRIGGER tasks_added AFTER INSERT ON postprod_tasks REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_added('tasks');
CREATE TRIGGER tasks_removed AFTER DELETE ON postprod_tasks REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_removed('tasks');
CREATE TRIGGER equipment_added AFTER INSERT ON equipment REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_added('equipment');
CREATE TRIGGER equipment_removed AFTER DELETE ON equipment REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION vemakin_count_removed('equipment');
