-- The client's mirror of the server tables a user can read (SPEC.md section 1):
-- the same columns, the same CHECK rules, the same foreign keys among mirrored
-- tables and the same secondary indexes by name and columns as
-- schema/postgres/0002_indexes.up.sql. Tables are STRICT so a value of the wrong
-- type is refused as PostgreSQL would. Representations: ids are lower-case UUID
-- text, timestamps ISO 8601 UTC text with `Z` (which sorts chronologically),
-- dates `YYYY-MM-DD`, booleans 0/1, JSON as text. users and api_tokens are
-- server-only; the owner columns (user_id) therefore carry no foreign key here.

CREATE TABLE projects (
  id         TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  user_id    TEXT NOT NULL CHECK (length(user_id) = 36 AND user_id NOT GLOB '*[^0-9a-f-]*'),
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE project_members (
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL CHECK (length(user_id) = 36 AND user_id NOT GLOB '*[^0-9a-f-]*'),
  role       TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (project_id, user_id)
) STRICT;

CREATE TABLE shots (
  id                     TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  project_id             TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  title                  TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  description            TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
  status                 TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  date                   TEXT CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
                                     AND date(date, '+0 days') = date),
  start_time             TEXT CHECK (start_time GLOB '[0-2][0-9]:[0-5][0-9]' AND start_time < '24:00'),
  duration               TEXT NOT NULL DEFAULT '' CHECK (length(duration) <= 100),
  location               TEXT NOT NULL DEFAULT '' CHECK (length(location) <= 500),
  location_lat           REAL CHECK (location_lat BETWEEN -90 AND 90),
  location_lng           REAL CHECK (location_lng BETWEEN -180 AND 180),
  remarks                TEXT CHECK (length(remarks) <= 20000),
  scene_number           TEXT CHECK (length(scene_number) <= 50),
  equipment_ids          TEXT NOT NULL DEFAULT '[]' CHECK (json_type(equipment_ids) = 'array'),
  prepared_equipment_ids TEXT NOT NULL DEFAULT '[]'
                           CHECK (json_type(prepared_equipment_ids) = 'array'),
  created_at             TEXT NOT NULL,
  updated_at             TEXT NOT NULL
) STRICT;

CREATE TABLE postprod_tasks (
  id          TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  category    TEXT NOT NULL CHECK (category IN ('Script', 'Editing', 'Sound', 'VFX', 'Color')),
  title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  status      TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'progress', 'review', 'done')),
  priority    TEXT NOT NULL DEFAULT 'medium'
                CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  due_date    TEXT CHECK (due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
                          AND date(due_date, '+0 days') = due_date),
  description TEXT CHECK (length(description) <= 20000),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE notes (
  id         TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  title      TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  content    TEXT NOT NULL DEFAULT '' CHECK (length(content) <= 100000),
  shot_id    TEXT REFERENCES shots (id) ON DELETE SET NULL,
  task_id    TEXT REFERENCES postprod_tasks (id) ON DELETE SET NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE gear_categories (
  id   TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  slug TEXT NOT NULL UNIQUE CHECK (slug <> '' AND slug NOT GLOB '*[^a-z0-9-]*'
                                   AND slug NOT GLOB '-*' AND slug NOT GLOB '*-'
                                   AND slug NOT LIKE '%--%')
) STRICT;

CREATE TABLE gear_brands (
  id   TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100)
) STRICT;

CREATE TABLE gear_catalog (
  id          TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  category_id TEXT NOT NULL REFERENCES gear_categories (id) ON DELETE RESTRICT,
  brand_id    TEXT NOT NULL REFERENCES gear_brands (id) ON DELETE RESTRICT,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description TEXT,
  image_url   TEXT CHECK (image_url GLOB 'http://*' OR image_url GLOB 'https://*'),
  specs       TEXT NOT NULL DEFAULT '{}' CHECK (json_type(specs) = 'object'),
  created_at  TEXT NOT NULL,
  UNIQUE (brand_id, name)
) STRICT;

CREATE TABLE equipment (
  id               TEXT PRIMARY KEY CHECK (length(id) = 36 AND id NOT GLOB '*[^0-9a-f-]*'),
  user_id          TEXT NOT NULL CHECK (length(user_id) = 36 AND user_id NOT GLOB '*[^0-9a-f-]*'),
  name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  catalog_item_id  TEXT REFERENCES gear_catalog (id) ON DELETE SET NULL,
  custom_name      TEXT CHECK (length(custom_name) <= 200),
  serial_number    TEXT CHECK (length(serial_number) <= 100),
  category         TEXT NOT NULL CHECK (category IN ('Camera', 'Lens', 'Light', 'Filter', 'Audio',
                     'Tripod', 'Stabilizer', 'Grip', 'Monitoring', 'Wireless', 'Drone', 'Props',
                     'Other')),
  price_per_day    REAL NOT NULL DEFAULT 0 CHECK (price_per_day >= 0),
  rental_price     REAL CHECK (rental_price >= 0),
  rental_frequency TEXT CHECK (rental_frequency IN ('hour', 'day', 'week', 'month', 'year')),
  quantity         INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 1000000),
  is_owned         INTEGER NOT NULL DEFAULT 1 CHECK (is_owned IN (0, 1)),
  status           TEXT NOT NULL DEFAULT 'operational'
                     CHECK (status IN ('operational', 'maintenance', 'broken', 'lost', 'sold')),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;

-- Same names and columns as PostgreSQL. SQLite puts NULLs first in ascending
-- order and last in descending order; the client's queries account for it.
CREATE INDEX idx_projects_user_created ON projects (user_id, created_at DESC, id);
CREATE INDEX idx_shots_project_status_date ON shots (project_id, status, date);
CREATE INDEX idx_shots_project_date_time ON shots (project_id, date DESC, start_time, id);
CREATE INDEX idx_equipment_user_status_category ON equipment (user_id, status, category);
CREATE INDEX idx_notes_project_updated ON notes (project_id, updated_at DESC, id);
CREATE INDEX idx_tasks_project_status_priority ON postprod_tasks (project_id, status, priority, due_date, id);
CREATE INDEX idx_gear_catalog_category_brand ON gear_catalog (category_id, brand_id);
CREATE INDEX idx_shots_status ON shots (status);
CREATE INDEX idx_tasks_status ON postprod_tasks (status);
CREATE INDEX idx_tasks_priority ON postprod_tasks (priority);
CREATE INDEX idx_project_members_user ON project_members (user_id, project_id);
CREATE INDEX idx_equipment_user_category_name ON equipment (user_id, category, name, id);
CREATE INDEX idx_notes_shot_updated ON notes (shot_id, updated_at DESC, id);
CREATE INDEX idx_notes_task_updated ON notes (task_id, updated_at DESC, id);
CREATE INDEX idx_equipment_catalog_item ON equipment (catalog_item_id);
CREATE INDEX idx_gear_catalog_brand ON gear_catalog (brand_id);
