-- vemakin:no-transaction
-- The global scope of a pull (the catalog: changes with neither a project
-- nor a user) on an index of its own. Before, a pull found them on
-- idx_sync_changes_project under `project_id IS NULL`, which also holds every
-- user's inventory changes: each pull read all users' inventory traffic since
-- its cursor and filtered it out. Partial, so it holds only the catalog's
-- few changes. Built CONCURRENTLY: applying it never blocks writers.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sync_changes_global ON sync_changes (txid, seq)
  WHERE project_id IS NULL AND user_id IS NULL;
