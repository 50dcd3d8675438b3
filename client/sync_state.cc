// The sync_state table as a SyncState record (see sync_state.h for the keys).
#include "client/sync_state.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace vemakin::client {
namespace {

using nlohmann::json;

constexpr const char* kSessionKeys[] = {
    "server_url",     "token",         "account_email",  "cursor",
    "last_sync_at",   "snapshot_mode", "snapshot_after", "snapshot_cursor",
    "snapshot_total", "snapshot_done", "backfill",       "backfill_after",
};

std::optional<long long> ParseCount(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  long long v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + (text[i] - '0');
  }
  return text[0] == '-' ? -v : v;
}

}  // namespace

SyncState SyncState::Load(SqliteDb& db) {
  std::map<std::string, std::string> kv;
  Query q = db.Prepare("SELECT key, value FROM sync_state");
  while (q.Step()) kv.emplace(std::string(*q.Text(0)), std::string(*q.Text(1)));
  auto get = [&kv](const char* key) -> std::optional<std::string> {
    auto it = kv.find(key);
    if (it == kv.end()) return std::nullopt;
    return it->second;
  };
  SyncState s;
  s.server_url = get("server_url");
  s.token = get("token");
  s.account_email = get("account_email");
  s.cursor = get("cursor");
  s.last_sync_at = get("last_sync_at");
  if (const std::optional<std::string> mode = get("snapshot_mode")) {
    SnapshotState snap;
    snap.mode = *mode == "rebase" ? SnapshotState::Mode::kRebase : SnapshotState::Mode::kInitial;
    snap.after = get("snapshot_after");
    snap.cursor = get("snapshot_cursor");
    snap.total = ParseCount(get("snapshot_total").value_or("")).value_or(-1);
    snap.done = ParseCount(get("snapshot_done").value_or("")).value_or(0);
    s.snapshot = snap;
  }
  if (const std::optional<std::string> list = get("backfill")) {
    const json parsed = json::parse(*list, nullptr, false);
    if (parsed.is_array()) {
      for (const json& p : parsed) {
        if (p.is_string()) s.backfill.push_back(p.get<std::string>());
      }
    }
  }
  s.backfill_after = get("backfill_after");
  return s;
}

void SyncState::Save(SqliteDb& db) const {
  std::map<std::string, std::optional<std::string>> kv;
  kv["server_url"] = server_url;
  kv["token"] = token;
  kv["account_email"] = account_email;
  kv["cursor"] = cursor;
  kv["last_sync_at"] = last_sync_at;
  if (snapshot) {
    kv["snapshot_mode"] = snapshot->mode == SnapshotState::Mode::kRebase ? "rebase" : "initial";
    kv["snapshot_after"] = snapshot->after;
    kv["snapshot_cursor"] = snapshot->cursor;
    if (snapshot->total >= 0) kv["snapshot_total"] = std::to_string(snapshot->total);
    kv["snapshot_done"] = std::to_string(snapshot->done);
  }
  if (!backfill.empty()) kv["backfill"] = json(backfill).dump();
  kv["backfill_after"] = backfill_after;
  for (const char* key : kSessionKeys) {
    const auto it = kv.find(key);
    if (it == kv.end() || !it->second) {
      db.Prepare("DELETE FROM sync_state WHERE key = ?1", {Value::Text(key)}).Run();
    } else {
      db.Prepare(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {Value::Text(key), Value::Text(*it->second)})
          .Run();
    }
  }
}

void SyncState::AddBackfill(const std::string& project) {
  if (std::find(backfill.begin(), backfill.end(), project) == backfill.end()) {
    backfill.push_back(project);
  }
}

void SyncState::StartSnapshot(SnapshotState::Mode mode) {
  snapshot = SnapshotState();
  snapshot->mode = mode;
}

}  // namespace vemakin::client
