-- vemakin:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_api_tokens_expires;
-- Back to one record per (client_id, mutation_id): where two accounts used
-- the same ids, the older record stays.
DELETE FROM sync_mutations a USING sync_mutations b WHERE a.client_id = b.client_id AND a.mutation_id = b.mutation_id AND (a.created_at, a.user_id) > (b.created_at, b.user_id);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS sync_mutations_pkey ON sync_mutations (client_id, mutation_id);
ALTER TABLE sync_mutations DROP CONSTRAINT IF EXISTS sync_mutations_user_pkey, ADD CONSTRAINT sync_mutations_pkey PRIMARY KEY USING INDEX sync_mutations_pkey;
