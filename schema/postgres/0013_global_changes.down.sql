-- vemakin:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_sync_changes_global;
