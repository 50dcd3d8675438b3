#include "server/catalog_seed.h"

#include <gtest/gtest.h>

#include "tests/support/pg_test.h"

namespace vemakin::server {
namespace {

std::string Counts(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const pqxx::row r = tx.exec1(
      "SELECT (SELECT count(*) FROM gear_categories) || '/' || (SELECT count(*) FROM gear_brands) "
      "|| '/' || (SELECT count(*) FROM gear_catalog)");
  return r[0].as<std::string>();
}

TEST(SeedCatalog, LoadsTheWholeStarterCatalogIdempotently) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  const CatalogSeedResult first = SeedCatalog(*conn);
  EXPECT_GE(first.categories, 12);
  EXPECT_GE(first.brands, 40);
  EXPECT_GE(first.items, 150);
  const std::string expected = std::to_string(first.categories) + "/" +
                               std::to_string(first.brands) + "/" + std::to_string(first.items);
  EXPECT_EQ(Counts(*conn), expected);
  SeedCatalog(*conn);
  EXPECT_EQ(Counts(*conn), expected);
}

TEST(SeedCatalog, StoresSpecsAsJsonObjects) {
  testing::TestSchema schema;
  schema.MigrateUp();
  auto conn = schema.Connect();
  SeedCatalog(*conn);
  pqxx::nontransaction tx(*conn);
  const pqxx::row r = tx.exec1(
      "SELECT c.specs->>'mount', b.name, g.slug FROM gear_catalog c "
      "JOIN gear_brands b ON b.id = c.brand_id JOIN gear_categories g ON g.id = c.category_id "
      "WHERE c.name = 'FX3'");
  EXPECT_EQ(r[0].as<std::string>() + "|" + r[1].as<std::string>() + "|" + r[2].as<std::string>(),
            "Sony E|Sony|camera");
}

}  // namespace
}  // namespace vemakin::server
