// The model's declared references (core/model.h) are exactly the FOREIGN KEYs
// of the migrated database, with the same ON DELETE rules, and its unique
// keys are the database's UNIQUE constraints: the client's
// parent checks and cascades, derived from the model, cannot drift from what
// PostgreSQL enforces. Read from the live catalog, not from the SQL text.
#include <gtest/gtest.h>

#include <set>

#include "core/model.h"
#include "tests/support/pg_test.h"

namespace vemakin::server {
namespace {

std::string Rule(core::OnDelete rule) {
  switch (rule) {
    case core::OnDelete::kCascade:
      return "CASCADE";
    case core::OnDelete::kSetNull:
      return "SET NULL";
    case core::OnDelete::kRestrict:
      return "RESTRICT";
  }
  return "?";
}

std::set<std::string> ModelTables() {
  std::set<std::string> out;
  for (const core::TableSpec* t : core::AllSpecs()) out.insert(t->name);
  return out;
}

TEST(ModelSchema, ReferencesAreTheDatabasesForeignKeys) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  pqxx::work tx(*conn);
  const std::set<std::string> model_tables = ModelTables();
  // "table.column -> parent ON DELETE rule" for every single-column foreign key
  // of a model table in this schema.
  std::set<std::string> live;
  for (const auto& row :
       tx.exec_params("SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, "
                      "CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' "
                      "WHEN 'r' THEN 'RESTRICT' WHEN 'a' THEN 'NO ACTION' ELSE 'SET DEFAULT' END "
                      "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
                      "AND a.attnum = c.conkey[1] JOIN pg_namespace n ON n.oid = c.connamespace "
                      "WHERE c.contype = 'f' AND n.nspname = $1",
                      schema.name())) {
    if (!model_tables.count(row[0].c_str())) continue;  // api_tokens, sync tables, counters
    live.insert(std::string(row[0].c_str()) + "." + row[1].c_str() + " -> " + row[2].c_str() + " " +
                row[3].c_str());
  }
  std::set<std::string> declared;
  for (const core::TableSpec* t : core::AllSpecs()) {
    for (const core::FieldSpec* f : t->References()) {
      declared.insert(t->name + "." + f->name + " -> " + f->reference->table + " " +
                      Rule(f->reference->on_delete));
    }
  }
  EXPECT_EQ(live, declared);
}

// The model's `unique` lists are the UNIQUE constraints of the live database
// (the client makes way for a catalog row by exactly these columns).
TEST(ModelSchema, UniqueKeysAreTheDatabasesUniqueConstraints) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  pqxx::work tx(*conn);
  const std::set<std::string> model_tables = ModelTables();
  std::set<std::string> live;  // "table(col, col)"
  for (const auto& row : tx.exec_params(
           "SELECT c.conrelid::regclass::text, (SELECT string_agg(a.attname, ', ' ORDER BY k.i) "
           "FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, i) JOIN pg_attribute a "
           "ON a.attrelid = c.conrelid AND a.attnum = k.attnum) FROM pg_constraint c "
           "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'u' AND n.nspname = $1",
           schema.name())) {
    if (!model_tables.count(row[0].c_str())) continue;
    live.insert(std::string(row[0].c_str()) + "(" + row[1].c_str() + ")");
  }
  std::set<std::string> declared;
  for (const core::TableSpec* t : core::AllSpecs()) {
    for (const std::vector<std::string>& columns : t->unique) {
      std::string list;
      for (const std::string& c : columns) list += (list.empty() ? "" : ", ") + c;
      declared.insert(t->name + "(" + list + ")");
    }
  }
  EXPECT_EQ(live, declared);
  EXPECT_FALSE(declared.empty());
}

}  // namespace
}  // namespace vemakin::server
