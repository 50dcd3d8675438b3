-- vemakin:no-transaction
-- Secondary indexes, built CONCURRENTLY so that applying this migration to a
-- live database never blocks writers. The migrator runs each statement on its
-- own, outside a transaction; before each one it drops an INVALID index of the
-- same name (left by an interrupted build) so that the IF NOT EXISTS rebuilds it.
-- Orders: the trailing `id` is the tie-breaker of the API's deterministic list
-- orders (SPEC.md section 2), so keyset pages walk the index directly.
-- The client mirror (schema/sqlite) carries the same names and columns.

-- The ten indexes SPEC.md names.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_projects_user_created ON projects (user_id, created_at DESC, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_shots_project_status_date ON shots (project_id, status, date);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_shots_project_date_time ON shots (project_id, date DESC NULLS LAST, start_time ASC NULLS LAST, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_equipment_user_status_category ON equipment (user_id, status, category);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_notes_project_updated ON notes (project_id, updated_at DESC, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_project_status_priority ON postprod_tasks (project_id, status, priority, due_date, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_gear_catalog_category_brand ON gear_catalog (category_id, brand_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_shots_status ON shots (status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_status ON postprod_tasks (status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_priority ON postprod_tasks (priority);

-- Membership lookups ("projects I belong to") and the user side of the FK.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_project_members_user ON project_members (user_id, project_id);
-- Inventory list order (category, name, id) per user.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_equipment_user_category_name ON equipment (user_id, category, name, id);
-- Note filters by linked shot/task, in list order; also serve ON DELETE SET NULL.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_notes_shot_updated ON notes (shot_id, updated_at DESC, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_notes_task_updated ON notes (task_id, updated_at DESC, id);
-- Foreign-key sides that would otherwise scan on delete.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_equipment_catalog_item ON equipment (catalog_item_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_gear_catalog_brand ON gear_catalog (brand_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_api_tokens_user ON api_tokens (user_id);
