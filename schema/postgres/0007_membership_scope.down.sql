DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['gear_categories', 'gear_brands', 'gear_catalog'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_version', t);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS vemakin_bump_catalog_version();
DROP TABLE IF EXISTS catalog_version;
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['projects', 'shots', 'notes', 'postprod_tasks', 'equipment'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_retire', t);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_refuse_retired', t);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS vemakin_refuse_retired_id();
DROP FUNCTION IF EXISTS vemakin_retire_id();
DROP TABLE IF EXISTS retired_ids;
DROP TRIGGER IF EXISTS project_members_start ON project_members;
DROP FUNCTION IF EXISTS vemakin_start_membership();
DROP TABLE IF EXISTS membership_starts;
