-- A snapshot page no longer pauses the insert triggers of 0006 through
-- list_counts_paused: a trigger runs its program for every inserted row even
-- when its WHEN clause is false (about 1.5-2 us a row, a tenth of what a
-- snapshot row costs to apply). Instead a page drops its counted tables'
-- insert triggers (named <name>_count_insert) inside its own transaction and
-- re-creates them from the SQL stored here before it commits, the counters
-- moving once by the rows the page inserted (client/applier.cc,
-- Applier::ApplyTables). DDL is transactional in SQLite: no other connection
-- ever sees a table without its trigger, and a rollback restores it. The
-- triggers return to 0003's form.

DROP TRIGGER shots_count_insert;
CREATE TRIGGER shots_count_insert AFTER INSERT ON shots BEGIN
  INSERT INTO list_counts VALUES ('shots', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER notes_count_insert;
CREATE TRIGGER notes_count_insert AFTER INSERT ON notes BEGIN
  INSERT INTO list_counts VALUES ('notes', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER tasks_count_insert;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON postprod_tasks BEGIN
  INSERT INTO list_counts VALUES ('postprod_tasks', NEW.project_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER equipment_count_insert;
CREATE TRIGGER equipment_count_insert AFTER INSERT ON equipment BEGIN
  INSERT INTO list_counts VALUES ('equipment', NEW.user_id, 1)
    ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + 1;
END;

DROP TABLE list_counts_paused;
