// Internal to the client library: applies what the server sends (pull
// changes, snapshot rows, the `current` row of a rejected push) to the
// mirror, keeping its one invariant:
//
//   mirror row = the server's last state of the row
//                + every pending outbox entry of that row re-applied, in order.
//
// Outbox entry lifecycle (one row of `outbox`; the Applier performs the
// re-application, the sync session (client/sync.cc) the other transitions):
//
//   Store::Create/Update/Delete ──► PENDING ──push──► (server answers)
//                                     │  ▲               │
//                      a server row   │  │ push fails:   ├─ applied ──► gone     (ApplyPushResults)
//                      arrives: the   │  │ stays, retried│
//                      entry is       ▼  │               └─ rejected ─► gone + conflict_log row,
//                      re-applied on top (Reapply)          row restored to `current` (+ the
//                                                           row's other pending entries on top)
//
// Parents before children (SPEC.md 4.11): a row whose parent the mirror lacks
// is not written. A project's child schedules a one-project snapshot of its
// project (`backfill`); a reference to a catalog row the mirror lacks asks
// for a rebase snapshot (`needs_rebase`). Foreign keys are deferred to the
// end of the caller's transaction.
//
// Contract: the caller holds the Store's lock and an open write Transaction
// on its database for the Applier's whole life; the Applier reads which rows
// have pending entries and which projects exist when it is built, so it must
// not outlive that transaction. Not thread-safe.
#ifndef VEMAKIN_CLIENT_APPLIER_H_
#define VEMAKIN_CLIENT_APPLIER_H_

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "client/store_impl.h"
#include "core/model.h"
#include "core/sync_protocol.h"

namespace vemakin::client {

class Applier {
 public:
  // `store` must outlive the Applier (see the contract above).
  explicit Applier(Store::Impl& store);
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Record every row written in `snapshot_seen` (a rebase snapshot prunes
  // the rows it did not bring).
  bool track_seen = false;
  // Projects whose rows arrived before the project: to load whole, in order.
  std::vector<std::string> backfill;
  // A row referred to catalog rows this mirror lacks.
  bool needs_rebase = false;

  // Writes a server row (API or PostgreSQL JSON; `canonical` when its values
  // are already canonical, as in snapshots), then its pending entries on top.
  void Upsert(const core::TableSpec& spec, const nlohmann::json& row, bool canonical);
  // Removes the row with this RowKey(). A project's removal, or the removal
  // of this user's own membership (access lost), takes the project and
  // everything under it off this device.
  void Remove(const core::TableSpec& spec, const std::string& key);
  // Applies one pull change; changes of tables this client does not know are
  // skipped. A change that begins this user's access to a project schedules
  // the project's one-project snapshot (`backfill`).
  void Change(const core::Change& change);
  // The pending entries of a row, in order, on top of its current state.
  void Reapply(const core::TableSpec& spec, const std::string& id);
  // Schedules a one-project snapshot of `project` (`backfill`).
  void LoadProjectWhole(const std::string& project);
  // Applies a snapshot page's tables; returns the rows applied.
  long long ApplyTables(const std::vector<core::SnapshotTable>& tables);

 private:
  bool Write(const core::TableSpec& spec, const nlohmann::json& row,
             const std::vector<const nlohmann::json*>& values);
  void Insert(const core::TableSpec& spec, const std::vector<const nlohmann::json*>& values);
  void DropClashingGlobalRows(const core::TableSpec& spec, const nlohmann::json& row);
  void RemoveProject(const std::string& id);
  bool ParentsPresent(const core::TableSpec& spec, const nlohmann::json& row);
  bool RowExists(const core::TableSpec& spec, const std::string& id);
  void SetFields(const core::TableSpec& spec, const std::string& id, const nlohmann::json& fields);
  void Reinsert(const core::TableSpec& spec, const std::string& id, const nlohmann::json& fields);
  const std::string& UpsertSql(const core::TableSpec& spec, bool insert_only);

  Store::Impl& s_;
  std::set<std::string> pending_;                             // "table:row key" with outbox entries
  std::set<std::string> projects_;                            // project ids in the mirror
  std::map<const core::TableSpec*, std::string> upsert_sql_;  // ON CONFLICT DO UPDATE
  std::map<const core::TableSpec*, std::string> insert_sql_;  // ON CONFLICT DO NOTHING
  // ApplyTables: the page's counted tables, and how many rows each scope of
  // them gained.
  std::set<const core::TableSpec*> paused_;
  std::map<std::pair<const core::TableSpec*, std::string>, long long> inserted_;
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_APPLIER_H_
