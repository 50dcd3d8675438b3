-- vemakin:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_api_tokens_user;
DROP INDEX CONCURRENTLY IF EXISTS idx_equipment_catalog_item;
DROP INDEX CONCURRENTLY IF EXISTS idx_equipment_user_category_name;
DROP INDEX CONCURRENTLY IF EXISTS idx_equipment_user_status_category;
DROP INDEX CONCURRENTLY IF EXISTS idx_gear_catalog_brand;
DROP INDEX CONCURRENTLY IF EXISTS idx_gear_catalog_category_brand;
DROP INDEX CONCURRENTLY IF EXISTS idx_notes_project_updated;
DROP INDEX CONCURRENTLY IF EXISTS idx_notes_shot_updated;
DROP INDEX CONCURRENTLY IF EXISTS idx_notes_task_updated;
DROP INDEX CONCURRENTLY IF EXISTS idx_project_members_user;
DROP INDEX CONCURRENTLY IF EXISTS idx_projects_user_created;
DROP INDEX CONCURRENTLY IF EXISTS idx_shots_project_date_time;
DROP INDEX CONCURRENTLY IF EXISTS idx_shots_project_status_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_shots_status;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_priority;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_project_status_priority;
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_status;
