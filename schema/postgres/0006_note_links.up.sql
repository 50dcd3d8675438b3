-- A note's shot and task must belong to the note's own project (SPEC.md
-- section 1: a note is attached to a shot or task *of its project*). The
-- foreign keys alone let a note point into another project: a leak of that
-- project's ids to its members, and a link no member of only one of the two
-- projects can follow (their mirror lacks the row). The client's store has
-- enforced this since it existed; now the server does, for every write path.

CREATE FUNCTION vemakin_check_note_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A missing row is left to the foreign keys (23503); a row of another
  -- project is refused here (23514).
  IF NEW.shot_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM shots WHERE id = NEW.shot_id AND project_id <> NEW.project_id) THEN
    RAISE EXCEPTION 'shot_id refers to no shot of this project' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.task_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM postprod_tasks WHERE id = NEW.task_id AND project_id <> NEW.project_id) THEN
    RAISE EXCEPTION 'task_id refers to no task of this project' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER notes_check_links BEFORE INSERT OR UPDATE OF project_id, shot_id, task_id ON notes
  FOR EACH ROW EXECUTE FUNCTION vemakin_check_note_links();
