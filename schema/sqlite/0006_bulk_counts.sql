-- The list counters of 0003 were kept row by row by triggers, which made a
-- snapshot page (thousands of rows, SPEC.md 4.7) load at half the speed
-- SQLite loads the same rows. While a snapshot page is applied, its tables
-- are listed in list_counts_paused, the insert triggers stand aside, and the
-- counters move once at its end by the page's own rows (client/applier.cc,
-- Applier::ApplyTables). The pause lives only inside the page's transaction:
-- no other connection ever sees it, and a rollback takes it back.

CREATE TABLE list_counts_paused (
  table_name TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

DROP TRIGGER shots_count_insert;
CREATE TRIGGER shots_count_insert AFTER INSERT ON shots
  WHEN NOT EXISTS (SELECT 1 FROM list_counts_paused WHERE table_name = 'shots') BEGIN
  INSERT INTO list_counts VALUES ('shots', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER notes_count_insert;
CREATE TRIGGER notes_count_insert AFTER INSERT ON notes
  WHEN NOT EXISTS (SELECT 1 FROM list_counts_paused WHERE table_name = 'notes') BEGIN
  INSERT INTO list_counts VALUES ('notes', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER tasks_count_insert;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON postprod_tasks
  WHEN NOT EXISTS (SELECT 1 FROM list_counts_paused WHERE table_name = 'postprod_tasks') BEGIN
  INSERT INTO list_counts VALUES ('postprod_tasks', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER equipment_count_insert;
CREATE TRIGGER equipment_count_insert AFTER INSERT ON equipment
  WHEN NOT EXISTS (SELECT 1 FROM list_counts_paused WHERE table_name = 'equipment') BEGIN
  INSERT INTO list_counts VALUES ('equipment', NEW.user_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
