#include "server/token_purge.h"

namespace vemakin::server {

const char kPurgeExpiredTokensSql[] =
    "DELETE FROM api_tokens WHERE token_hash IN (SELECT token_hash FROM api_tokens "
    "WHERE expires_at <= now() ORDER BY expires_at LIMIT $1::bigint FOR UPDATE SKIP LOCKED)";

long long PurgeExpiredTokens(pqxx::connection& conn, long long batch) {
  long long total = 0;
  for (;;) {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_params(kPurgeExpiredTokensSql, batch);
    tx.commit();
    total += r.affected_rows();
    if (static_cast<long long>(r.affected_rows()) < batch) return total;
  }
}

}  // namespace vemakin::server
