// The shipped starter catalog is data both the server (seed) and the client
// (guest mode) load; these checks keep it complete and internally consistent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/model.h"
#include "core/validation.h"
#include "schema/embedded.h"

namespace vemakin {
namespace {

using nlohmann::json;

json Catalog() { return json::parse(schema::StarterCatalogJson()); }

TEST(StarterCatalog, HasTheAdvertisedSize) {
  const json c = Catalog();
  EXPECT_GE(c.at("categories").size(), 12u);
  EXPECT_GE(c.at("brands").size(), 40u);
  EXPECT_GE(c.at("items").size(), 150u);
}

TEST(StarterCatalog, IdsAreUniqueLowerCaseUuids) {
  const json c = Catalog();
  std::set<std::string> ids;
  for (const char* section : {"categories", "brands", "items"}) {
    for (const json& row : c.at(section)) {
      const std::string id = row.at("id");
      EXPECT_TRUE(core::IsValidUuid(id)) << id;
      EXPECT_EQ(core::NormalizeUuid(id), id);
      EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
    }
  }
}

TEST(StarterCatalog, ItemsReferToKnownCategoriesAndBrands) {
  const json c = Catalog();
  std::set<std::string> categories, brands, names;
  for (const json& r : c.at("categories")) categories.insert(r.at("id").get<std::string>());
  for (const json& r : c.at("brands")) brands.insert(r.at("id").get<std::string>());
  for (const json& item : c.at("items")) {
    EXPECT_EQ(categories.count(item.at("category_id").get<std::string>()), 1u) << item;
    EXPECT_EQ(brands.count(item.at("brand_id").get<std::string>()), 1u) << item;
    EXPECT_FALSE(item.at("name").get<std::string>().empty());
    EXPECT_TRUE(item.at("specs").is_object());
    EXPECT_FALSE(item.at("specs").empty()) << item.at("name");
    EXPECT_TRUE(
        names.insert(item.at("brand_id").get<std::string>() + item.at("name").get<std::string>())
            .second)
        << "duplicate (brand, name): " << item.at("name");
  }
}

TEST(StarterCatalog, CategoriesCoverEveryEquipmentCategory) {
  const json catalog = Catalog();
  std::set<std::string> names;
  for (const json& r : catalog.at("categories")) names.insert(r.at("name").get<std::string>());
  for (const std::string& category : core::kEquipmentCategories) {
    EXPECT_EQ(names.count(category), 1u) << category;
  }
}

}  // namespace
}  // namespace vemakin
