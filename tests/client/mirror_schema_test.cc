#include "client/mirror_schema.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "core/error.h"
#include "core/model.h"
#include "schema/embedded.h"

namespace vemakin::client {
namespace {

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

Db OpenMemory() {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
  Db db(raw);
  sqlite3_exec(db.get(), "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
  return db;
}

std::string Query(sqlite3* db, const std::string& sql) {
  std::string out;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* acc, int n, char** values, char**) {
        auto* s = static_cast<std::string*>(acc);
        for (int i = 0; i < n; ++i)
          *s += std::string(i ? "|" : "") + (values[i] ? values[i] : "NULL");
        *s += "\n";
        return 0;
      },
      &out, nullptr);
  return out;
}

int Exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

TEST(MirrorSchema, CreatesEveryTableAndRecordsTheVersion) {
  Db db = OpenMemory();
  EXPECT_EQ(ApplyMirrorSchema(db.get()), LatestMirrorVersion());
  EXPECT_EQ(Query(db.get(), "PRAGMA user_version"), std::to_string(LatestMirrorVersion()) + "\n");
  EXPECT_EQ(
      Query(db.get(),
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"),
      "client_config\nconflict_log\nequipment\ngear_brands\ngear_catalog\ngear_categories\n"
      "list_counts\nnotes\noutbox\npostprod_tasks\nproject_members\n"
      "projects\nshots\nsnapshot_seen\nsync_state\n");
}

TEST(MirrorSchema, IsIdempotent) {
  Db db = OpenMemory();
  ApplyMirrorSchema(db.get());
  EXPECT_EQ(ApplyMirrorSchema(db.get()), 0);
}

TEST(MirrorSchema, UpgradesAnOlderFileInPlace) {
  Db db = OpenMemory();
  ASSERT_EQ(Exec(db.get(), schema::SqliteMigrations()[0].contents), SQLITE_OK);
  ASSERT_EQ(Exec(db.get(), "PRAGMA user_version = 1"), SQLITE_OK);
  ASSERT_EQ(Exec(db.get(),
                 "INSERT INTO projects VALUES ('0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01', "
                 "'7d3f6a2b-1c4e-4f5a-8b9c-0d1e2f3a4b5c', 'Kept', '2026-01-01T00:00:00.000000Z', "
                 "'2026-01-01T00:00:00.000000Z')"),
            SQLITE_OK);
  EXPECT_EQ(ApplyMirrorSchema(db.get()), LatestMirrorVersion() - 1);
  EXPECT_EQ(Query(db.get(), "SELECT name FROM projects"), "Kept\n");
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM outbox"), "0\n");
}

TEST(MirrorSchema, RefusesAFileFromANewerClient) {
  Db db = OpenMemory();
  ASSERT_EQ(Exec(db.get(), "PRAGMA user_version = 999"), SQLITE_OK);
  try {
    ApplyMirrorSchema(db.get());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
}

TEST(MirrorSchema, EnforcesTheServersConstraints) {
  Db db = OpenMemory();
  ApplyMirrorSchema(db.get());
  const std::string project = "'0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01'";
  const std::string now = "'2026-01-01T00:00:00.000000Z'";
  ASSERT_EQ(Exec(db.get(), "INSERT INTO projects VALUES (" + project +
                               ", '7d3f6a2b-1c4e-4f5a-8b9c-0d1e2f3a4b5c', 'P', " + now + ", " +
                               now + ")"),
            SQLITE_OK);
  auto shot = [&](const std::string& id, const std::string& extra_cols,
                  const std::string& extra_vals) {
    return "INSERT INTO shots (id, project_id, title, created_at, updated_at" + extra_cols +
           ") VALUES ('" + id + "', " + project + ", 'T', " + now + ", " + now + extra_vals + ")";
  };
  const std::string id = "11111111-2222-4333-8444-555555555555";
  EXPECT_EQ(Exec(db.get(), shot(id, ", status", ", 'wrapped'")), SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot(id, ", date", ", '2026-02-30'")), SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot(id, ", start_time", ", '24:00'")), SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot(id, ", location_lat", ", 91.0")), SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot(id, ", equipment_ids", ", '{}'")), SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot("NOT-A-UUID-AT-ALL-0000000000000000000", "", "")),
            SQLITE_CONSTRAINT);
  EXPECT_EQ(Exec(db.get(), shot(id, "", "")), SQLITE_OK);
  // Foreign keys: a shot in a missing project, and the cascade on delete.
  EXPECT_EQ(Exec(db.get(),
                 "INSERT INTO shots (id, project_id, title, created_at, updated_at) "
                 "VALUES ('21111111-2222-4333-8444-555555555555', "
                 "'99999999-2222-4333-8444-555555555555', 'T', " +
                     now + ", " + now + ")"),
            SQLITE_CONSTRAINT);
  ASSERT_EQ(Exec(db.get(), "DELETE FROM projects"), SQLITE_OK);
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM shots"), "0\n");
}

// The mirror's UNIQUE constraints are the model's `unique` keys (the Applier
// makes way for a server catalog row by exactly these columns), table by table.
TEST(MirrorSchema, UniqueConstraintsAreTheModelsUniqueKeys) {
  Db db = OpenMemory();
  ApplyMirrorSchema(db.get());
  std::set<std::string> live, declared;
  for (const core::TableSpec* t : core::MirroredSpecs()) {
    for (const std::vector<std::string>& columns : t->unique) {
      std::string list;
      for (const std::string& c : columns) list += (list.empty() ? "" : ",") + c;
      declared.insert(t->name + "(" + list + ")");
    }
    const std::string indexes =
        Query(db.get(), "SELECT name FROM pragma_index_list('" + t->name + "') WHERE origin = 'u'");
    size_t start = 0;
    while (start < indexes.size()) {
      const size_t end = indexes.find('\n', start);
      const std::string index = indexes.substr(start, end - start);
      start = end + 1;
      std::string columns = Query(db.get(),
                                  "SELECT group_concat(name, ',') FROM (SELECT name "
                                  "FROM pragma_index_info('" +
                                      index + "') ORDER BY seqno)");
      columns.pop_back();  // the row's newline
      live.insert(t->name + "(" + columns + ")");
    }
  }
  EXPECT_EQ(live, declared);
  EXPECT_FALSE(declared.empty());
}

}  // namespace
}  // namespace vemakin::client
