-- Rebasing onto a fresh snapshot (SPEC.md section 4.9): the rows a snapshot
-- delivered, so that rows it did not deliver (deleted while this client was
-- behind the server's history horizon) can be removed at its end, except those
-- the outbox still holds. Empty between snapshots.

CREATE TABLE snapshot_seen (
  table_name TEXT NOT NULL,
  row_id     TEXT NOT NULL,
  PRIMARY KEY (table_name, row_id)
) STRICT, WITHOUT ROWID;
