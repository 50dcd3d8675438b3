// Expired bearer tokens are deleted, not only refused (Authenticate already
// refuses them): in bounded batches, oldest first, over the index on
// api_tokens.expires_at (schema/postgres/0008). Sign-in and registration each
// purge one small batch in the transaction that stores their new token, so
// the table never holds many more expired rows than a few sign-ins clear;
// `vemakin-admin purge-tokens` empties the backlog at once.
#ifndef VEMAKIN_SERVER_TOKEN_PURGE_H_
#define VEMAKIN_SERVER_TOKEN_PURGE_H_

#include <pqxx/pqxx>

namespace vemakin::server {

// Deletes up to $1 (bigint) expired tokens, oldest first; rows another
// transaction holds are skipped (SKIP LOCKED), so concurrent sign-ins never
// wait on one another's purge.
extern const char kPurgeExpiredTokensSql[];
// How many expired tokens a sign-in or registration purges.
inline constexpr long long kPurgeBatchPerSignIn = 100;

// Deletes every expired token on `conn` (whose search_path selects the
// schema), `batch` per transaction, and returns how many. Throws pqxx errors.
long long PurgeExpiredTokens(pqxx::connection& conn, long long batch = 10000);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_TOKEN_PURGE_H_
