// The mirror invariant (see applier.h): server rows and tombstones written
// under the caller's transaction, pending entries re-applied on top, every
// table rule taken from core/model (keys, references, unique keys, scope).
#include "client/applier.h"

#include <algorithm>

#include "core/json_codec.h"

namespace vemakin::client {
namespace {

using nlohmann::json;

// The project table itself (its rows carry their own scope: scope_column `id`).
bool IsProjectRoot(const core::TableSpec& spec) {
  return spec.scope == core::Scope::kProject && spec.scope_column == "id";
}

// The parts of a RowKey(), one per key column (ids never contain ':').
std::vector<std::string> KeyParts(const core::TableSpec& spec, const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i < spec.key.size(); ++i) {
    const size_t colon = i + 1 < spec.key.size() ? key.find(':', start) : std::string::npos;
    parts.push_back(
        key.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    start = colon == std::string::npos ? key.size() : colon + 1;
  }
  return parts;
}

// "a = ?1 AND b = ?2": the key columns of `spec`, parameters from `first`.
std::string KeyWhere(const core::TableSpec& spec, int first) {
  std::string where;
  for (const std::string& k : spec.key) {
    where += (where.empty() ? "" : " AND ") + k + " = ?" + std::to_string(first++);
  }
  return where;
}

// The references of a table whose parents the mirror holds (users it does
// not), computed once per table: this runs for every applied row.
struct MirroredReference {
  const std::string* column;
  const core::TableSpec* parent;
};
const std::vector<MirroredReference>& MirroredReferences(const core::TableSpec& spec) {
  static const std::map<const core::TableSpec*, std::vector<MirroredReference>> all = [] {
    std::map<const core::TableSpec*, std::vector<MirroredReference>> out;
    for (const core::TableSpec* t : core::AllSpecs()) {
      for (const core::FieldSpec* f : t->References()) {
        const core::TableSpec* parent = core::FindSpec(f->reference->table);
        if (parent != nullptr && parent->Mirrored()) out[t].push_back({&f->name, parent});
      }
    }
    return out;
  }();
  static const std::vector<MirroredReference> kNone;
  const auto it = all.find(&spec);
  return it == all.end() ? kNone : it->second;
}

// The indexes of a table's fields in name order, computed once per table: a
// row's keys (a JSON object's, kept in that order) meet them in one walk.
const std::vector<size_t>& FieldsByName(const core::TableSpec& spec) {
  static const std::map<const core::TableSpec*, std::vector<size_t>> all = [] {
    std::map<const core::TableSpec*, std::vector<size_t>> out;
    for (const core::TableSpec* t : core::AllSpecs()) {
      std::vector<size_t>& order = out[t];
      for (size_t i = 0; i < t->fields.size(); ++i) order.push_back(i);
      std::sort(order.begin(), order.end(),
                [t](size_t a, size_t b) { return t->fields[a].name < t->fields[b].name; });
    }
    return out;
  }();
  return all.at(&spec);
}

// A row's value of each field of `spec`, in field order: nullptr where the
// row has none or null.
std::vector<const json*> FieldValues(const core::TableSpec& spec, const json& row) {
  std::vector<const json*> values(spec.fields.size(), nullptr);
  if (!row.is_object()) return values;
  auto it = row.begin();
  for (const size_t i : FieldsByName(spec)) {
    const std::string& name = spec.fields[i].name;
    while (it != row.end() && it.key() < name) ++it;
    if (it == row.end()) break;
    if (it.key() == name && !it->is_null()) values[i] = &*it;
  }
  return values;
}

}  // namespace

Applier::Applier(Store::Impl& store) : s_(store) {
  s_.db->Exec("PRAGMA defer_foreign_keys = ON");
  Query p = s_.db->Prepare("SELECT DISTINCT table_name || ':' || row_id FROM outbox");
  while (p.Step()) pending_.insert(std::string(*p.Text(0)));
  Query q = s_.db->Prepare("SELECT id FROM " + core::Spec(core::Entity::kProject).name);
  while (q.Step()) projects_.insert(std::string(*q.Text(0)));
}

void Applier::Upsert(const core::TableSpec& spec, const json& row, bool canonical) {
  if (!ParentsPresent(spec, row)) {
    // A project's row: fetch the project whole. A catalog reference: the
    // catalog changed behind this mirror's back, load a fresh snapshot.
    const auto project = row.find("project_id");
    if (spec.InProject() && project != row.end() && project->is_string()) {
      return LoadProjectWhole(project->get<std::string>());
    }
    needs_rebase = true;
    return;
  }
  // The row's values in field order, pointing into `row` (or, for a row
  // not yet canonical, into its canonical values): bound without a copy.
  std::vector<json> canonical_values;
  if (!canonical) canonical_values.reserve(spec.fields.size());
  std::vector<const json*> values = FieldValues(spec, row);
  for (size_t i = 0; i < values.size() && !canonical; ++i) {
    if (values[i] == nullptr) continue;
    canonical_values.push_back(core::CanonicalValue(spec.fields[i], *values[i]));
    values[i] = &canonical_values.back();
  }
  if (!Write(spec, row, values)) return;
  // The row's key is only needed below when something tracks it (most rows
  // of an initial load: nothing does).
  if (!IsProjectRoot(spec) && !track_seen && pending_.empty()) return;
  const std::string key = core::RowKey(spec, row);
  if (IsProjectRoot(spec)) projects_.insert(key);
  if (track_seen) {
    s_.db
        ->Prepare("INSERT OR IGNORE INTO snapshot_seen (table_name, row_id) VALUES (?1, ?2)",
                  {Value::Text(spec.name), Value::Text(key)})
        .Run();
  }
  if (pending_.count(spec.name + ":" + key)) Reapply(spec, key);
}

void Applier::Remove(const core::TableSpec& spec, const std::string& key) {
  const std::vector<std::string> parts = KeyParts(spec, key);
  if (IsProjectRoot(spec)) return RemoveProject(key);
  if (spec.scope == core::Scope::kMembership) {
    for (size_t i = 0; i < spec.key.size(); ++i) {
      // Access lost: the project leaves this device.
      if (spec.key[i] == "user_id" && parts[i] == s_.owner_id) {
        const auto project = std::find(spec.key.begin(), spec.key.end(), spec.scope_column);
        return RemoveProject(parts[static_cast<size_t>(project - spec.key.begin())]);
      }
    }
  }
  std::vector<Value> params;
  for (const std::string& p : parts) params.push_back(Value::Text(p));
  s_.db->Prepare("DELETE FROM " + spec.name + " WHERE " + KeyWhere(spec, 1), params).Run();
}

void Applier::Change(const core::Change& c) {
  const core::TableSpec* spec = core::FindSpec(c.table);
  if (spec == nullptr || !spec->Mirrored()) return;  // a table this client does not hold
  if (c.op == core::ChangeOp::kDelete) {
    Remove(*spec, c.id);
  } else {
    Upsert(*spec, c.data, false);
  }
  // Access begins: pulls carry nothing of the project from before it, so
  // the project comes whole from a one-project snapshot, whatever this
  // mirror holds of it. Even a mirror that holds it (its creator's device,
  // or a snapshot that included it) may lack rows of a transaction that
  // began before the membership and committed after it: their positions are
  // before the membership's, so no pull returns them, while the snapshot,
  // taken once every transaction below the membership has finished, does.
  if (c.begins_access && spec->InProject()) {
    const auto project = c.data.find(spec->scope_column);
    if (project != c.data.end() && project->is_string()) {
      LoadProjectWhole(project->get<std::string>());
    }
  }
}

void Applier::Reapply(const core::TableSpec& spec, const std::string& id) {
  Query q = s_.db->Prepare(
      "SELECT op, fields FROM outbox WHERE table_name = ?1 AND row_id = ?2 ORDER BY seq",
      {Value::Text(spec.name), Value::Text(id)});
  std::vector<std::pair<std::string, json>> entries;
  while (q.Step()) entries.emplace_back(std::string(*q.Text(0)), json::parse(*q.Text(1)));
  for (const auto& [op, fields] : entries) {
    if (op == "delete") {
      Remove(spec, id);
    } else if (RowExists(spec, id)) {
      SetFields(spec, id, fields);
    } else if (op == "create") {
      Reinsert(spec, id, fields);
    }  // an update of a row the server deleted: delete wins (the push is refused)
  }
}

// The list counters of a page's tables move once at its end instead of by a
// trigger per inserted row (a trigger's program costs a tenth of a row's
// apply): the page's counted tables' insert triggers are dropped inside the
// caller's transaction and re-created from their stored SQL before it ends
// (schema/sqlite/0007_counts_set_aside.sql); each row of them the page
// inserts (not one it updates: a row never changes scope, so no trigger
// counts updates either) adds one to its scope (Insert), and each scope's
// counter moves once by that sum. Deletes keep their trigger, so a row
// inserted and deleted within the page (a pending delete re-applied) nets to
// nothing. No other connection sees the triggers gone; a rollback restores them.
long long Applier::ApplyTables(const std::vector<core::SnapshotTable>& tables) {
  std::set<const core::TableSpec*> counted;
  for (const core::SnapshotTable& t : tables) {
    const core::TableSpec* spec = core::FindSpec(t.table);
    if (spec != nullptr && spec->Mirrored() && !spec->counter.empty() && !t.rows.empty()) {
      counted.insert(spec);
    }
  }
  std::vector<std::string> set_aside;  // the dropped triggers' SQL
  for (const core::TableSpec* spec : counted) {
    std::vector<std::pair<std::string, std::string>> triggers;  // name, SQL
    {
      Query q = s_.db->Prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 AND "
          "name LIKE '%\\_count\\_insert' ESCAPE '\\'",
          {Value::Text(spec->name)});
      while (q.Step()) triggers.emplace_back(*q.Text(0), *q.Text(1));
    }  // no statement of this connection is active while the schema changes
    for (const auto& [name, sql] : triggers) {
      s_.db->Exec("DROP TRIGGER " + name);
      set_aside.push_back(sql);
    }
    paused_.insert(spec);
  }
  auto restore = [&] {
    paused_.clear();
    inserted_.clear();
    for (const std::string& sql : set_aside) s_.db->Exec(sql);
    set_aside.clear();
  };
  long long n = 0;
  try {
    for (const core::SnapshotTable& t : tables) {
      const core::TableSpec* spec = core::FindSpec(t.table);
      if (spec == nullptr || !spec->Mirrored()) continue;
      for (const json& row : t.rows) {
        Upsert(*spec, row, true);
        ++n;
      }
    }
    for (const auto& [key, d] : inserted_) {
      if (d == 0) continue;
      s_.db
          ->Prepare(
              "INSERT INTO list_counts (table_name, scope_id, n) VALUES (?1, ?2, ?3) "
              "ON CONFLICT (table_name, scope_id) DO UPDATE SET n = n + excluded.n",
              {Value::Text(key.first->name), Value::Text(key.second), Value::Int(d)})
          .Run();
    }
  } catch (...) {
    // The caller's transaction rolls back, which restores the triggers; they
    // are re-created here too so that no commit could ever lose them. Not a
    // boundary: rethrown at once.
    restore();
    throw;
  }
  restore();
  return n;
}

// Writes a server row; false when the mirror refuses it. The catalog is the
// server's: a local catalog row that clashes on a unique key is stale and
// makes way. Any other refusal (a row the mirror's CHECKs reject, which
// schema parity should make impossible) is logged and skipped, so one bad
// row never jams the sync; `vemakin verify` then names its table.
bool Applier::Write(const core::TableSpec& spec, const json& row,
                    const std::vector<const json*>& values) {
  for (int attempt = 0;; ++attempt) {
    try {
      Insert(spec, values);
      return true;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kAlreadyExists && attempt == 0 &&
          spec.scope == core::Scope::kGlobal && !spec.unique.empty()) {
        DropClashingGlobalRows(spec, row);
        continue;
      }
      s_.options.logger->Log(LogLevel::kWarning, "sync", "a server row was not applied",
                             {{"table", spec.name}, {"error", e.what()}});
      return false;
    }
  }
}

// The upsert of `values` (field order, nullptr for NULL). In a paused table
// (ApplyTables) the row is first inserted if its key is new, and counted.
void Applier::Insert(const core::TableSpec& spec, const std::vector<const json*>& values) {
  auto run = [&](const std::string& sql) {
    Query q = s_.db->Prepare(sql);
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] != nullptr) q.Bind(static_cast<int>(i) + 1, spec.fields[i], *values[i]);
    }
    q.Run();
  };
  if (paused_.count(&spec)) {
    run(UpsertSql(spec, true));
    if (sqlite3_changes(s_.db->raw()) > 0) {
      const size_t scope = static_cast<size_t>(spec.Find(spec.scope_column) - spec.fields.data());
      if (values[scope] != nullptr && values[scope]->is_string()) {
        ++inserted_[{&spec, values[scope]->get_ref<const std::string&>()}];
      }
      return;
    }
  }
  run(UpsertSql(spec, false));
}

// Deletes the rows of `spec` other than `row` that hold one of its unique
// values, with the rows that refer to them and may not lose their parent
// (ON DELETE RESTRICT; the other rules are the database's to apply).
void Applier::DropClashingGlobalRows(const core::TableSpec& spec, const json& row) {
  std::string any;
  std::vector<Value> params;
  for (const std::vector<std::string>& columns : spec.unique) {
    std::string all;
    for (const std::string& c : columns) {
      params.push_back(Value::Text(row.value(c, "")));
      all += (all.empty() ? "" : " AND ") + c + " = ?" + std::to_string(params.size());
    }
    any += (any.empty() ? "(" : " OR (") + all + ")";
  }
  params.push_back(Value::Text(row.value("id", "")));
  const std::string clash = "SELECT id FROM " + spec.name + " WHERE (" + any + ") AND id <> ?" +
                            std::to_string(params.size());
  for (const core::TableSpec* child : core::MirroredSpecs()) {
    for (const core::FieldSpec* f : child->References()) {
      if (f->reference->table != spec.name || f->reference->on_delete != core::OnDelete::kRestrict)
        continue;
      s_.db
          ->Prepare("DELETE FROM " + child->name + " WHERE " + f->name + " IN (" + clash + ")",
                    params)
          .Run();
    }
  }
  s_.db->Prepare("DELETE FROM " + spec.name + " WHERE id IN (" + clash + ")", params).Run();
}

void Applier::LoadProjectWhole(const std::string& project) {
  if (std::find(backfill.begin(), backfill.end(), project) == backfill.end()) {
    backfill.push_back(project);
  }
}

void Applier::RemoveProject(const std::string& id) {
  s_.db
      ->Prepare("DELETE FROM " + core::Spec(core::Entity::kProject).name + " WHERE id = ?1",
                {Value::Text(id)})
      .Run();
  projects_.erase(id);
}

// Every row `row` refers to through a foreign key is in the mirror. The
// model's references name the parents; those of tables the mirror does not
// hold (users) are the server's concern.
bool Applier::ParentsPresent(const core::TableSpec& spec, const json& row) {
  for (const MirroredReference& ref : MirroredReferences(spec)) {
    const auto it = row.find(*ref.column);
    if (it != row.end() && it->is_string() &&
        !RowExists(*ref.parent, it->get_ref<const std::string&>())) {
      return false;
    }
  }
  return true;
}

bool Applier::RowExists(const core::TableSpec& spec, const std::string& id) {
  if (IsProjectRoot(spec)) return projects_.count(id) > 0;
  Query q = s_.db->Prepare("SELECT 1 FROM " + spec.name + " WHERE id = ?1", {Value::Text(id)});
  return q.Step();
}

void Applier::SetFields(const core::TableSpec& spec, const std::string& id, const json& fields) {
  std::string sets;
  std::vector<Value> params;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const core::FieldSpec* f = spec.Find(it.key());
    if (f == nullptr || f->name == "id") continue;
    sets += (sets.empty() ? "" : ", ") + f->name + " = ?" + std::to_string(params.size() + 1);
    params.push_back(ToValue(*f, it.value()));
  }
  if (sets.empty()) return;
  params.push_back(Value::Text(id));
  s_.db
      ->Prepare(
          "UPDATE " + spec.name + " SET " + sets + " WHERE id = ?" + std::to_string(params.size()),
          params)
      .Run();
}

// A pending create whose row the server does not have (yet): written again
// as the user made it, if its parents are here.
void Applier::Reinsert(const core::TableSpec& spec, const std::string& id, const json& fields) {
  json row = fields;
  row["id"] = id;
  if (!ParentsPresent(spec, row)) return;
  const std::string now = Now();
  if (spec.Find("user_id")) row["user_id"] = s_.owner_id;
  if (spec.Find("created_at")) row["created_at"] = now;
  if (spec.Find("updated_at")) row["updated_at"] = now;
  Insert(spec, FieldValues(spec, row));
  if (IsProjectRoot(spec)) {
    projects_.insert(id);
    s_.AddOwnerMembership(id, now);
  }
}

const std::string& Applier::UpsertSql(const core::TableSpec& spec, bool insert_only) {
  std::map<const core::TableSpec*, std::string>& cache = insert_only ? insert_sql_ : upsert_sql_;
  auto it = cache.find(&spec);
  if (it != cache.end()) return it->second;
  std::string cols, marks, sets;
  int n = 0;
  std::string key;
  for (const std::string& k : spec.key) key += (key.empty() ? "" : ", ") + k;
  for (const core::FieldSpec& f : spec.fields) {
    cols += (n ? ", " : "") + f.name;
    marks += (n ? ", ?" : "?") + std::to_string(n + 1);
    ++n;
    const bool in_key = std::find(spec.key.begin(), spec.key.end(), f.name) != spec.key.end();
    if (!in_key) sets += (sets.empty() ? "" : ", ") + f.name + " = excluded." + f.name;
  }
  // An upsert, never INSERT OR REPLACE: a replace deletes first, and the
  // delete would cascade to the row's children. DO NOTHING names the key:
  // any other constraint the row breaks still fails the statement.
  const std::string sql = "INSERT INTO " + spec.name + " (" + cols + ") VALUES (" + marks +
                          ") ON CONFLICT (" + key + ") DO " +
                          (insert_only ? "NOTHING" : "UPDATE SET " + sets);
  return cache.emplace(&spec, sql).first->second;
}

}  // namespace vemakin::client
