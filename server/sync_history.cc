#include "server/sync_history.h"

#include <string>

namespace vemakin::server {

long long CompactSyncHistory(pqxx::connection& conn, std::chrono::seconds keep) {
  pqxx::work tx(conn);
  const pqxx::result cut = tx.exec_params(
      "SELECT txid::text, seq FROM sync_changes "
      "WHERE committed_at < now() - make_interval(secs => $1) "
      "AND txid < pg_snapshot_xmin(pg_current_snapshot()) "
      "ORDER BY txid DESC, seq DESC LIMIT 1",
      static_cast<double>(keep.count()));
  if (cut.empty()) return 0;
  const std::string txid = cut[0][0].c_str();
  const std::string seq = cut[0][1].c_str();
  // The horizon first: a concurrent pull sees the new horizon (410) or the
  // old rows, never a gap.
  tx.exec_params(
      "UPDATE sync_horizon SET txid = $1::xid8, seq = $2::bigint, compacted_at = now() "
      "WHERE (txid, seq) < ($1::xid8, $2::bigint)",
      txid, seq);
  const pqxx::result deleted = tx.exec_params(
      "DELETE FROM sync_changes WHERE (txid, seq) <= ($1::xid8, $2::bigint)", txid, seq);
  tx.commit();
  return deleted.affected_rows();
}

long long PruneMutationRecords(pqxx::connection& conn, std::chrono::seconds keep) {
  pqxx::work tx(conn);
  const pqxx::result r = tx.exec_params(
      "DELETE FROM sync_mutations WHERE created_at < now() - make_interval(secs => $1)",
      static_cast<double>(keep.count()));
  tx.commit();
  return r.affected_rows();
}

}  // namespace vemakin::server
