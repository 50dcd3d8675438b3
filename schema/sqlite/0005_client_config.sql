-- The store's own settings (`vemakin config`, Store::Setting): the server a
-- sign-in goes to when none is given, the certificate authorities to trust.
-- Unlike sync_state they outlive a sign-out: they belong to the store's
-- owner on this machine, not to an account.

CREATE TABLE client_config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
