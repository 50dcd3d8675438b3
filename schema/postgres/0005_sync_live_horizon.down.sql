DROP TABLE sync_horizon;
DROP TRIGGER sync_changes_notify ON sync_changes;
DROP FUNCTION vemakin_notify_change();
