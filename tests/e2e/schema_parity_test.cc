// The client's SQLite mirror and PostgreSQL carry the same secondary indexes
// (names, tables, columns) and the same columns for every mirrored table,
// proven by reading both live catalogs: pg_index/pg_attribute and
// sqlite_master/PRAGMA index_info, on a real SQLite file.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "client/mirror_schema.h"
#include "core/model.h"
#include "tests/support/pg_test.h"

namespace vemakin {
namespace {

std::set<std::string> MirroredTables() {
  std::set<std::string> out;
  for (const core::TableSpec* t : core::AllSpecs()) {
    if (t->Mirrored()) out.insert(t->name);
  }
  return out;
}

// index name -> "table(col,col,...)"
using IndexMap = std::map<std::string, std::string>;

IndexMap PostgresIndexes(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec(
      "SELECT c.relname, t.relname, string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
      "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
      "WHERE n.nspname = current_schema() "
      "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid) "
      "GROUP BY c.relname, t.relname");
  const std::set<std::string> mirrored = MirroredTables();
  IndexMap out;
  for (const auto& row : r) {
    if (mirrored.count(row[1].as<std::string>())) {
      out[row[0].as<std::string>()] =
          row[1].as<std::string>() + "(" + row[2].as<std::string>() + ")";
    }
  }
  return out;
}

struct SqliteFile {
  SqliteFile() {
    char tmpl[] = "/tmp/vemakin-parity-XXXXXX";
    dir = mkdtemp(tmpl);
    EXPECT_EQ(sqlite3_open((dir / "mirror.db").c_str(), &db), SQLITE_OK);
    client::ApplyMirrorSchema(db);
  }
  ~SqliteFile() {
    sqlite3_close_v2(db);
    std::filesystem::remove_all(dir);
  }
  std::vector<std::vector<std::string>> Query(const std::string& sql) const {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* v = sqlite3_column_text(stmt, i);
        row.push_back(v ? reinterpret_cast<const char*>(v) : "NULL");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(stmt);
    return rows;
  }
  std::filesystem::path dir;
  sqlite3* db = nullptr;
};

IndexMap SqliteIndexes(const SqliteFile& f) {
  const std::set<std::string> mirrored = MirroredTables();
  IndexMap out;
  // sql IS NULL for the automatic indexes behind PRIMARY KEY / UNIQUE constraints.
  for (const auto& row : f.Query("SELECT name, tbl_name FROM sqlite_master "
                                 "WHERE type = 'index' AND sql IS NOT NULL")) {
    if (!mirrored.count(row[1])) continue;
    std::string cols;
    for (const auto& c :
         f.Query("SELECT name FROM pragma_index_info('" + row[0] + "') ORDER BY seqno")) {
      cols += (cols.empty() ? "" : ",") + c[0];
    }
    out[row[0]] = row[1] + "(" + cols + ")";
  }
  return out;
}

std::string Render(const IndexMap& m) {
  std::string out;
  for (const auto& [name, def] : m) out += name + " " + def + "\n";
  return out;
}

TEST(SchemaParity, SqliteMirrorHasTheSameIndexesAsPostgres) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  SqliteFile sqlite;
  const IndexMap pg = PostgresIndexes(*conn);
  const IndexMap lite = SqliteIndexes(sqlite);
  EXPECT_EQ(Render(lite), Render(pg));
  for (const char* name :
       {"idx_projects_user_created", "idx_shots_project_status_date", "idx_shots_project_date_time",
        "idx_equipment_user_status_category", "idx_notes_project_updated",
        "idx_tasks_project_status_priority", "idx_gear_catalog_category_brand", "idx_shots_status",
        "idx_tasks_status", "idx_tasks_priority"}) {
    EXPECT_EQ(pg.count(name), 1u) << name;
    EXPECT_EQ(lite.count(name), 1u) << name;
  }
}

TEST(SchemaParity, MirroredTablesHaveTheSameColumnsInBothEngines) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  SqliteFile sqlite;
  for (const std::string& table : MirroredTables()) {
    std::string pg_cols, lite_cols;
    pqxx::nontransaction tx(*conn);
    for (const auto& row :
         tx.exec_params("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND table_name = $1 ORDER BY ordinal_position",
                        table)) {
      pg_cols += row[0].as<std::string>() + ",";
    }
    for (const auto& row :
         sqlite.Query("SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid")) {
      lite_cols += row[0] + ",";
    }
    EXPECT_EQ(lite_cols, pg_cols) << table;
  }
}

// The C++ model describes exactly the columns PostgreSQL has (users also keep
// password_hash, which never leaves the server).
TEST(SchemaParity, ModelFieldsAreThePostgresColumns) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  for (const core::TableSpec* t : core::AllSpecs()) {
    std::set<std::string> pg_cols, model_cols;
    pqxx::nontransaction tx(*conn);
    for (const auto& row :
         tx.exec_params("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND table_name = $1",
                        t->name)) {
      pg_cols.insert(row[0].as<std::string>());
    }
    for (const core::FieldSpec& f : t->fields) model_cols.insert(f.name);
    if (t->name == "users") model_cols.insert("password_hash");
    EXPECT_EQ(model_cols, pg_cols) << t->name;
  }
}

}  // namespace
}  // namespace vemakin
