// Compaction of the sync change log (SPEC.md section 4.9). Tombstones and
// row images older than a retention window are deleted and the position of
// the newest deleted change becomes the horizon: a pull from an older cursor
// answers 410 Gone and the client rebases onto a fresh snapshot
// (docs/sync-protocol.md). Only changes below the pull horizon are eligible,
// so a change no client could have seen yet is never compacted.
#ifndef VEMAKIN_SERVER_SYNC_HISTORY_H_
#define VEMAKIN_SERVER_SYNC_HISTORY_H_

#include <chrono>
#include <pqxx/pqxx>

namespace vemakin::server {

// Deletes changes committed more than `keep` ago; returns how many. One
// transaction on `conn` (whose search_path selects the schema).
long long CompactSyncHistory(pqxx::connection& conn, std::chrono::seconds keep);

// Deletes idempotency records (sync_mutations) older than `keep`; returns how
// many. A client that retries a push older than this could apply it twice, so
// keep them far longer than any client stays offline (the admin default is
// 90 days).
long long PruneMutationRecords(pqxx::connection& conn, std::chrono::seconds keep);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_SYNC_HISTORY_H_
