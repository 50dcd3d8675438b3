-- Tables for sync (SPEC.md section 4). The change log gives every applied change
-- a position `seq` in one total order; `sync_clock` is the single row whose
-- update, as the last statement of a writing transaction, hands out positions
-- in commit order (its row lock serialises the hand-out; see
-- docs/sync-protocol.md). `horizon_seq` is how far history has been compacted.
-- `sync_mutations` makes every pushed mutation apply at most once.

CREATE TABLE sync_clock (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq    bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  horizon_seq bigint NOT NULL DEFAULT 0 CHECK (horizon_seq >= 0 AND horizon_seq <= last_seq)
);
INSERT INTO sync_clock DEFAULT VALUES;

CREATE TABLE sync_changes (
  seq          bigint PRIMARY KEY CHECK (seq > 0),
  table_name   text NOT NULL CHECK (table_name IN ('projects', 'project_members', 'shots',
                 'notes', 'postprod_tasks', 'equipment', 'gear_categories', 'gear_brands',
                 'gear_catalog')),
  row_id       text NOT NULL,
  op           text NOT NULL CHECK (op IN ('upsert', 'delete')),
  project_id   uuid,
  user_id      uuid,
  data         jsonb,
  client_id    uuid,
  mutation_id  uuid,
  committed_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((op = 'delete') = (data IS NULL))
);
CREATE INDEX idx_sync_changes_project_seq ON sync_changes (project_id, seq);
CREATE INDEX idx_sync_changes_user_seq ON sync_changes (user_id, seq);

CREATE TABLE sync_mutations (
  client_id   uuid NOT NULL,
  mutation_id uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  outcome     text NOT NULL CHECK (outcome IN ('applied', 'rejected')),
  response    jsonb NOT NULL DEFAULT '{}'::jsonb,
  seq         bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, mutation_id)
);
CREATE INDEX idx_sync_mutations_created ON sync_mutations (created_at);
