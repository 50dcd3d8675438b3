// Internal to the client library: the sync session's durable state as one
// typed record. It lives in the store's `sync_state` table, one row per key
// (the keys below are the on-disk format and never change meaning), and is
// read and written inside the transaction of the step that changes it, so
// every state of the session (docs/sync-protocol.md, client/sync.cc) survives
// a crash and resumes.
//
//   key               field
//   server_url        server_url          the server this store syncs with
//   token             token               the sign-in token (a secret)
//   account_email     account_email
//   cursor            cursor              the pull position; absent = no snapshot yet
//   last_sync_at      last_sync_at
//   snapshot_mode     snapshot->mode      "initial" | "rebase"
//   snapshot_after    snapshot->after     the next page's position
//   snapshot_cursor   snapshot->cursor    where pulls start once it is loaded
//   snapshot_total    snapshot->total     the server's row estimate
//   snapshot_done     snapshot->done      rows applied by earlier (crashed) runs
//   backfill          backfill            JSON array of project ids to snapshot
//   backfill_after    backfill_after      the next page of backfill.front()
//
// The identity keys (client_id, owner_id, created_at) belong to Store::Impl.
// Not thread-safe: the caller holds the store's lock.
#ifndef VEMAKIN_CLIENT_SYNC_STATE_H_
#define VEMAKIN_CLIENT_SYNC_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "client/sqlite_db.h"

namespace vemakin::client {

struct SnapshotState {
  enum class Mode {
    kInitial,  // the first load of this store
    kRebase,   // behind the server's horizon: rows it does not bring are pruned
  };
  Mode mode = Mode::kInitial;
  std::optional<std::string> after;   // none: start with the first page
  std::optional<std::string> cursor;  // set by the first page
  long long total = -1;               // -1: unknown
  long long done = 0;
};

struct SyncState {
  std::optional<std::string> server_url;
  std::optional<std::string> token;
  std::optional<std::string> account_email;
  std::optional<std::string> cursor;
  std::optional<std::string> last_sync_at;
  std::optional<SnapshotState> snapshot;  // a snapshot is being loaded
  std::vector<std::string> backfill;      // projects to load whole, in order
  std::optional<std::string> backfill_after;

  bool SignedIn() const { return server_url && token; }

  // Reads every key. Values that do not parse (a hand-edited file) read as
  // absent, which at worst restarts a snapshot.
  static SyncState Load(SqliteDb& db);
  // Writes every key, removing those of absent fields; in the caller's transaction.
  void Save(SqliteDb& db) const;
  // Adds `project` to the backfill list unless it is there already.
  void AddBackfill(const std::string& project);
  // Begins a snapshot in `mode` from its first page.
  void StartSnapshot(SnapshotState::Mode mode);
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_SYNC_STATE_H_
