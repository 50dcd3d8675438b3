-- vemakin:no-transaction
-- Account hygiene (issue 11). Built CONCURRENTLY, like 0002: the migrator
-- runs each statement on its own, outside a transaction, and rebuilds an
-- INVALID index left by an interrupted build.
--
-- Push idempotency records are keyed by the account too. They were keyed by
-- (client_id, mutation_id) alone, so another account sending the same ids
-- was answered with the first account's recorded outcome (its mutation
-- silently dropped), or collided with the record. The new unique index takes
-- the primary key's place under the same name as the constraint (so no
-- rename); the old key goes in the same statement.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS sync_mutations_user_pkey ON sync_mutations (user_id, client_id, mutation_id);
ALTER TABLE sync_mutations DROP CONSTRAINT IF EXISTS sync_mutations_pkey, ADD CONSTRAINT sync_mutations_user_pkey PRIMARY KEY USING INDEX sync_mutations_user_pkey;

-- Expired tokens are purged in bounded batches, oldest first (at sign-in and
-- registration, and by `vemakin-admin purge-tokens`).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_api_tokens_expires ON api_tokens (expires_at);
