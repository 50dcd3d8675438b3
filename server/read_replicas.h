// Streaming read replicas for pulls and snapshots (SPEC.md section 6: "pulls
// may be served from a read replica when the replica is caught up").
//
// A pull is correct on any hot standby: its horizon is the xmin of the
// standby's own snapshot, which counts every transaction whose commit has not
// been replayed yet as still running, so a change held back there is held
// back, never skipped; and a pull never moves a cursor backwards. What a
// lagging replica can break is freshness: a client that pushed, or that
// already read a newer state elsewhere, must not read an older one. So every
// sync response says how far its state reaches (X-Vemakin-Lsn, a WAL
// position), the client sends the highest it has seen (X-Vemakin-Min-Lsn),
// and a replica serves a request only when it has replayed at least that far
// *before* the request's snapshot is taken; else the primary does.
//
// Replicas are tried round robin. One that fails to connect, or runs out of
// connections, is skipped for a second and the request goes to the primary
// (its pool waits at most 1 s and connects with a 2 s timeout, so a dead
// replica costs a request at most that, once).
//
// Thread-safety: all members may be called from any thread.
#ifndef VEMAKIN_SERVER_READ_REPLICAS_H_
#define VEMAKIN_SERVER_READ_REPLICAS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/db.h"
#include "server/pg_pool.h"

namespace vemakin::server {

class ReadReplicas {
 public:
  // One pool per entry of `pools` (their conninfo leads to the replicas).
  ReadReplicas(std::vector<PgPoolOptions> pools, const DbOptions& db);
  ReadReplicas(const ReadReplicas&) = delete;
  ReadReplicas& operator=(const ReadReplicas&) = delete;

  bool empty() const { return replicas_.empty(); }

  // A replica that has replayed WAL up to `min_lsn`, or null (none is
  // configured, up, or that far). May ask one replica its replay position
  // (a statement on it) when the last answer is not far enough.
  Db* Pick(std::uint64_t min_lsn);
  // `db` (a Pick result) failed to connect or had no free connection: skip
  // it for a while.
  void MarkDown(Db* db);

  // Reads served by a replica, and reads a replica was picked for but that
  // went to the primary after all (down, full, a token or a membership it
  // had not replayed yet).
  void CountRead() { ++reads_; }
  void CountFallback() { ++fallbacks_; }
  std::uint64_t reads() const { return reads_; }
  std::uint64_t fallbacks() const { return fallbacks_; }
  // Replicas not skipped now.
  int up() const;

 private:
  struct Replica {
    std::unique_ptr<PgPool> pool;
    std::unique_ptr<Db> db;
    std::atomic<std::uint64_t> replayed{0};      // the last replay position read
    std::atomic<std::int64_t> down_until_ns{0};  // steady clock
  };
  static std::int64_t Now();

  std::vector<std::unique_ptr<Replica>> replicas_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::uint64_t> reads_{0};
  std::atomic<std::uint64_t> fallbacks_{0};
};

// SQL of a position at or past a database's state: the replay position on a
// standby; on a primary the WAL *insert* position, since with
// synchronous_commit off a commit may be visible before its WAL is written
// (pg_current_wal_lsn, the write position, can be behind it). Asked by
// pg_is_in_recovery(): after a promotion or a crash recovery
// pg_last_wal_replay_lsn() stays at the end of that recovery, not NULL.
inline constexpr const char* kStateLsnSql =
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_insert_lsn() END)::text";

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_READ_REPLICAS_H_
