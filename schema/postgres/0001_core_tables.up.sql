-- Core tables of SPEC.md section 1. Every rule the API enforces on a single row
-- is also a CHECK here, so a bug in the server can never store what the model
-- forbids. Limits (lengths, ranges) match core/model.cc exactly.

CREATE TABLE users (
  id            uuid PRIMARY KEY,
  email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND email LIKE '%_@_%'),
  name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  settings      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- Email is unique regardless of case: a constraint, so it is built with the table.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE api_tokens (
  token_hash   bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  last_used_at timestamptz,
  CHECK (expires_at > created_at)
);

CREATE TABLE projects (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_members (
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);

CREATE TABLE shots (
  id                     uuid PRIMARY KEY,
  project_id             uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  title                  text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
  description            text NOT NULL DEFAULT '' CHECK (char_length(description) <= 20000),
  status                 text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  date                   date,
  start_time             text CHECK (start_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  duration               text NOT NULL DEFAULT '' CHECK (char_length(duration) <= 100),
  location               text NOT NULL DEFAULT '' CHECK (char_length(location) <= 500),
  location_lat           double precision CHECK (location_lat BETWEEN -90 AND 90),
  location_lng           double precision CHECK (location_lng BETWEEN -180 AND 180),
  remarks                text CHECK (char_length(remarks) <= 20000),
  scene_number           text CHECK (char_length(scene_number) <= 50),
  equipment_ids          jsonb NOT NULL DEFAULT '[]'::jsonb
                           CHECK (jsonb_typeof(equipment_ids) = 'array'),
  prepared_equipment_ids jsonb NOT NULL DEFAULT '[]'::jsonb
                           CHECK (jsonb_typeof(prepared_equipment_ids) = 'array'),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE postprod_tasks (
  id          uuid PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  category    text NOT NULL CHECK (category IN ('Script', 'Editing', 'Sound', 'VFX', 'Color')),
  title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
  status      text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'progress', 'review', 'done')),
  priority    text NOT NULL DEFAULT 'medium'
                CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  due_date    date,
  description text CHECK (char_length(description) <= 20000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notes (
  id         uuid PRIMARY KEY,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  title      text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
  content    text NOT NULL DEFAULT '' CHECK (char_length(content) <= 100000),
  shot_id    uuid REFERENCES shots (id) ON DELETE SET NULL,
  task_id    uuid REFERENCES postprod_tasks (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gear_categories (
  id   uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

CREATE TABLE gear_brands (
  id   uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100)
);

CREATE TABLE gear_catalog (
  id          uuid PRIMARY KEY,
  category_id uuid NOT NULL REFERENCES gear_categories (id) ON DELETE RESTRICT,
  brand_id    uuid NOT NULL REFERENCES gear_brands (id) ON DELETE RESTRICT,
  name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text,
  image_url   text CHECK (image_url ~ '^https?://'),
  specs       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(specs) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (brand_id, name)
);

CREATE TABLE equipment (
  id               uuid PRIMARY KEY,
  user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  catalog_item_id  uuid REFERENCES gear_catalog (id) ON DELETE SET NULL,
  custom_name      text CHECK (char_length(custom_name) <= 200),
  serial_number    text CHECK (char_length(serial_number) <= 100),
  category         text NOT NULL CHECK (category IN ('Camera', 'Lens', 'Light', 'Filter', 'Audio',
                     'Tripod', 'Stabilizer', 'Grip', 'Monitoring', 'Wireless', 'Drone', 'Props',
                     'Other')),
  price_per_day    numeric(12, 2) NOT NULL DEFAULT 0 CHECK (price_per_day >= 0),
  rental_price     numeric(12, 2) CHECK (rental_price >= 0),
  rental_frequency text CHECK (rental_frequency IN ('hour', 'day', 'week', 'month', 'year')),
  quantity         integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 1000000),
  is_owned         boolean NOT NULL DEFAULT true,
  status           text NOT NULL DEFAULT 'operational'
                     CHECK (status IN ('operational', 'maintenance', 'broken', 'lost', 'sold')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
