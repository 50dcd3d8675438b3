-- The client's own sync bookkeeping (SPEC.md sections 3 and 4): the outbox of
-- pending mutations in the order they were made, key/value sync state (client
-- id, cursor, last sync, account) and the conflict log the user can read.

CREATE TABLE outbox (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  mutation_id TEXT NOT NULL CHECK (length(mutation_id) = 36),  -- random v4: unique by construction
  table_name  TEXT NOT NULL CHECK (table_name IN ('projects', 'project_members', 'shots', 'notes',
                'postprod_tasks', 'equipment')),
  row_id      TEXT NOT NULL,
  op          TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
  fields      TEXT NOT NULL DEFAULT '{}' CHECK (json_type(fields) = 'object'),
  created_at  TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
) STRICT;
CREATE INDEX idx_outbox_row ON outbox (table_name, row_id);

CREATE TABLE sync_state (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE conflict_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  mutation_id TEXT,
  table_name  TEXT NOT NULL,
  row_id      TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('rejected', 'overridden', 'orphaned', 'deleted')),
  reason      TEXT NOT NULL,
  detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_type(detail) = 'object'),
  created_at  TEXT NOT NULL
) STRICT;
