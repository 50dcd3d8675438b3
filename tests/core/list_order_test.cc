#include "core/list_order.h"

#include <gtest/gtest.h>

#include <set>

#include "core/json_codec.h"
#include "core/uuid.h"
#include "core/validation.h"

namespace vemakin::core {
namespace {

using nlohmann::json;

SqlDialect Postgres() {
  return {[](const FieldSpec&, int n) { return "$" + std::to_string(n); },
          [](int n) { return "$" + std::to_string(n) + "::bigint"; }, true};
}

SqlDialect Sqlite() {
  return {[](const FieldSpec&, int n) { return "?" + std::to_string(n); },
          [](int n) { return "?" + std::to_string(n); }, false};
}

std::string Params(const std::vector<SqlParam>& params) {
  std::string out;
  for (const SqlParam& p : params) {
    out += std::holds_alternative<long long>(p) ? std::to_string(std::get<long long>(p))
                                                : "'" + std::get<std::string>(p) + "'";
    out += ";";
  }
  return out;
}

TEST(BuildPageSql, AFirstPageAsksForOneRowMoreAfterTheCallersParameters) {
  const TableSpec& notes = Spec(Entity::kNote);
  PageRequest page;
  page.skip = 40;
  page.limit = 20;
  const std::optional<PageSql> sql = BuildPageSql(notes, "notes t", "t.project_id = $1",
                                                  ListOrder(Entity::kNote), page, 2, Postgres());
  ASSERT_TRUE(sql);
  EXPECT_EQ(sql->sql, "SELECT " + ColumnList(notes, "t") +
                          " FROM notes t WHERE t.id IN (SELECT t.id FROM notes t WHERE "
                          "t.project_id = $1 ORDER BY t.updated_at DESC, t.id ASC LIMIT $2::bigint "
                          "OFFSET $3::bigint) ORDER BY t.updated_at DESC, t.id ASC");
  EXPECT_EQ(Params(sql->params), "21;40;");
}

TEST(BuildPageSql, ACursorPageIsAUnionOfKeysetBranches) {
  const TableSpec& notes = Spec(Entity::kNote);
  PageRequest page;
  page.limit = 5;
  page.cursor = EncodeCursor({std::string("2026-01-02T03:04:05.000000Z"),
                              std::string("0b0e6f1e-2a1b-4c3d-8e9f-000000000001")});
  const std::optional<PageSql> sql =
      BuildPageSql(notes, "notes t", "true", ListOrder(Entity::kNote), page, 1, Postgres());
  ASSERT_TRUE(sql);
  EXPECT_EQ(Params(sql->params),
            "6;'2026-01-02T03:04:05.000000Z';'0b0e6f1e-2a1b-4c3d-8e9f-000000000001';");
  EXPECT_NE(sql->sql.find("t.updated_at = $2 AND t.id > $3"), std::string::npos) << sql->sql;
  EXPECT_NE(sql->sql.find(" UNION ALL "), std::string::npos);
  EXPECT_NE(sql->sql.find("t.updated_at < $2"), std::string::npos);
}

// SQLite cannot deliver ASC NULLS LAST from an index: such a list finds the
// page's ids first and fetches only those rows.
TEST(BuildPageSql, SqliteDefersTheJoinWhenAnAscendingKeyIsNullable) {
  PageRequest page;
  const std::optional<PageSql> shots = BuildPageSql(Spec(Entity::kShot), "shots t", "1",
                                                    ListOrder(Entity::kShot), page, 1, Sqlite());
  ASSERT_TRUE(shots);
  EXPECT_EQ(shots->sql.rfind("SELECT " + ColumnList(Spec(Entity::kShot), "t") +
                                 " FROM shots t WHERE t.id IN (SELECT t.id FROM shots t",
                             0),
            0u)
      << shots->sql;
  const std::optional<PageSql> notes = BuildPageSql(Spec(Entity::kNote), "notes t", "1",
                                                    ListOrder(Entity::kNote), page, 1, Sqlite());
  EXPECT_EQ(notes->sql.find("t.id IN"), std::string::npos) << notes->sql;
  const std::optional<PageSql> pg = BuildPageSql(Spec(Entity::kShot), "shots t", "true",
                                                 ListOrder(Entity::kShot), page, 1, Postgres());
  EXPECT_EQ(pg->sql.find("t.id IN"), std::string::npos) << pg->sql;
}

// A page by skip, in either engine, finds its ids on the index first (a
// deferred join); the first page reads rows directly.
TEST(BuildPageSql, APageBySkipFindsItsIdsFirst) {
  PageRequest page;
  page.skip = 50000;
  for (const SqlDialect& dialect : {Postgres(), Sqlite()}) {
    const std::optional<PageSql> notes = BuildPageSql(Spec(Entity::kNote), "notes t", "true",
                                                      ListOrder(Entity::kNote), page, 1, dialect);
    ASSERT_TRUE(notes);
    EXPECT_EQ(notes->sql.rfind("SELECT " + ColumnList(Spec(Entity::kNote), "t") +
                                   " FROM notes t WHERE t.id IN (SELECT t.id FROM notes t",
                               0),
              0u)
        << notes->sql;
    EXPECT_NE(notes->sql.find(" OFFSET "), std::string::npos) << notes->sql;
  }
  page.skip = 0;
  const std::optional<PageSql> first = BuildPageSql(Spec(Entity::kNote), "notes t", "true",
                                                    ListOrder(Entity::kNote), page, 1, Postgres());
  EXPECT_EQ(first->sql.find("t.id IN"), std::string::npos) << first->sql;
}

TEST(BuildPageSql, RefusesACursorOfAnotherList) {
  PageRequest page;
  page.cursor = EncodeCursor({std::string("x")});
  EXPECT_FALSE(BuildPageSql(Spec(Entity::kShot), "shots t", "true", ListOrder(Entity::kShot), page,
                            1, Postgres()));
  page.cursor = "!!";
  EXPECT_FALSE(BuildPageSql(Spec(Entity::kNote), "notes t", "true", ListOrder(Entity::kNote), page,
                            1, Postgres()));
}

TEST(CursorAfter, EncodesTheOrderKeysOfTheRow) {
  const json row = {
      {"id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000001"}, {"date", nullptr}, {"start_time", "09:30"}};
  const std::optional<CursorValues> values =
      DecodeCursor(CursorAfter(Spec(Entity::kShot), ListOrder(Entity::kShot), row),
                   Spec(Entity::kShot), ListOrder(Entity::kShot));
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, (CursorValues{std::nullopt, std::string("09:30"),
                                   std::string("0b0e6f1e-2a1b-4c3d-8e9f-000000000001")}));
}

TEST(NewUuid, IsAVersion4UuidAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {  // more than one 4 KiB pool of random bytes
    const std::string id = NewUuid();
    ASSERT_TRUE(IsValidUuid(id)) << id;
    EXPECT_EQ(id, NormalizeUuid(id));
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(HoldsValues, TellsARepeatedCreateFromAClash) {
  const json row = {{"id", "a"}, {"title", "T"}, {"status", "pending"}};
  EXPECT_TRUE(HoldsValues(row, json{{"id", "a"}, {"title", "T"}}));
  EXPECT_FALSE(HoldsValues(row, json{{"id", "a"}, {"title", "U"}}));
  EXPECT_FALSE(HoldsValues(row, json{{"id", "a"}, {"remarks", nullptr}}));
}

}  // namespace
}  // namespace vemakin::core
