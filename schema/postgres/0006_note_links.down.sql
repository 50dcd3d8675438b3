DROP TRIGGER notes_check_links ON notes;
DROP FUNCTION vemakin_check_note_links();
