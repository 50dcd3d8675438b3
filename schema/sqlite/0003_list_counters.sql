-- Exact list totals without count(*) (the client's lists answer in under a
-- millisecond at 100,000 shots): one counter row per (table, scope), kept by
-- triggers in the same transaction as the insert or delete. Scope is the
-- project for shots, notes and tasks, the owner for equipment. Client-only.

CREATE TABLE list_counts (
  table_name TEXT NOT NULL,
  scope_id   TEXT NOT NULL,
  n          INTEGER NOT NULL CHECK (n >= 0),
  PRIMARY KEY (table_name, scope_id)
) STRICT, WITHOUT ROWID;

INSERT INTO list_counts SELECT 'shots', project_id, count(*) FROM shots GROUP BY project_id;
INSERT INTO list_counts SELECT 'notes', project_id, count(*) FROM notes GROUP BY project_id;
INSERT INTO list_counts
  SELECT 'postprod_tasks', project_id, count(*) FROM postprod_tasks GROUP BY project_id;
INSERT INTO list_counts SELECT 'equipment', user_id, count(*) FROM equipment GROUP BY user_id;

CREATE TRIGGER shots_count_insert AFTER INSERT ON shots BEGIN
  INSERT INTO list_counts VALUES ('shots', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER shots_count_delete AFTER DELETE ON shots BEGIN
  UPDATE list_counts SET n = n - 1 WHERE table_name = 'shots' AND scope_id = OLD.project_id;
END;
CREATE TRIGGER notes_count_insert AFTER INSERT ON notes BEGIN
  INSERT INTO list_counts VALUES ('notes', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER notes_count_delete AFTER DELETE ON notes BEGIN
  UPDATE list_counts SET n = n - 1 WHERE table_name = 'notes' AND scope_id = OLD.project_id;
END;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON postprod_tasks BEGIN
  INSERT INTO list_counts VALUES ('postprod_tasks', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tasks_count_delete AFTER DELETE ON postprod_tasks BEGIN
  UPDATE list_counts SET n = n - 1
    WHERE table_name = 'postprod_tasks' AND scope_id = OLD.project_id;
END;
CREATE TRIGGER equipment_count_insert AFTER INSERT ON equipment BEGIN
  INSERT INTO list_counts VALUES ('equipment', NEW.user_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER equipment_count_delete AFTER DELETE ON equipment BEGIN
  UPDATE list_counts SET n = n - 1 WHERE table_name = 'equipment' AND scope_id = OLD.user_id;
END;
CREATE TRIGGER projects_count_delete AFTER DELETE ON projects BEGIN
  DELETE FROM list_counts WHERE scope_id = OLD.id;
END;
