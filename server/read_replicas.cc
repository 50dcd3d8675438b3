#include "server/read_replicas.h"

#include "core/error.h"
#include "core/sync_protocol.h"

namespace vemakin::server {

namespace {

constexpr std::chrono::seconds kDownFor{1};

}  // namespace

ReadReplicas::ReadReplicas(std::vector<PgPoolOptions> pools, const DbOptions& db) {
  for (PgPoolOptions& options : pools) {
    auto r = std::make_unique<Replica>();
    r->pool = std::make_unique<PgPool>(std::move(options));
    DbOptions replica_db = db;
    replica_db.max_attempts = 1;  // the primary is the retry
    r->db = std::make_unique<Db>(*r->pool, replica_db);
    replicas_.push_back(std::move(r));
  }
}

std::int64_t ReadReplicas::Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Db* ReadReplicas::Pick(std::uint64_t min_lsn) {
  const std::size_t n = replicas_.size();
  if (n == 0) return nullptr;
  const std::size_t start = next_++;
  const std::int64_t now = Now();
  for (std::size_t i = 0; i < n; ++i) {
    Replica& r = *replicas_[(start + i) % n];
    if (r.down_until_ns.load() > now) continue;
    if (r.replayed.load() >= min_lsn) return r.db.get();
  }
  // None known to be far enough: ask the next one that is up. Its answer
  // is read before the request's snapshot, so the snapshot holds at least
  // that much.
  for (std::size_t i = 0; i < n; ++i) {
    Replica& r = *replicas_[(start + i) % n];
    if (r.down_until_ns.load() > now) continue;
    try {
      std::uint64_t replayed = 0;
      r.db->Read([&](Session& s) {
        const pqxx::result res = s.Exec(Statement{"vemakin_state_lsn", kStateLsnSql});
        replayed = core::ParseLsn(res[0][0].c_str()).value_or(0);
      });
      std::uint64_t seen = r.replayed.load();
      while (seen < replayed && !r.replayed.compare_exchange_weak(seen, replayed)) {
      }
      if (replayed >= min_lsn) return r.db.get();
      return nullptr;  // behind: the primary serves this one
    } catch (const Error&) {
      MarkDown(r.db.get());
    }
  }
  return nullptr;
}

void ReadReplicas::MarkDown(Db* db) {
  for (auto& r : replicas_) {
    if (r->db.get() == db) {
      r->down_until_ns.store(Now() + std::chrono::nanoseconds(kDownFor).count());
    }
  }
}

int ReadReplicas::up() const {
  const std::int64_t now = Now();
  int n = 0;
  for (const auto& r : replicas_) n += r->down_until_ns.load() <= now;
  return n;
}

}  // namespace vemakin::server
