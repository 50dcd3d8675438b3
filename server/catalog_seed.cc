#include "server/catalog_seed.h"

#include <nlohmann/json.hpp>

#include "schema/embedded.h"

namespace vemakin::server {

CatalogSeedResult SeedCatalog(pqxx::connection& conn) {
  const nlohmann::json catalog = nlohmann::json::parse(schema::StarterCatalogJson());
  CatalogSeedResult result;
  pqxx::work tx(conn);
  for (const nlohmann::json& c : catalog.at("categories")) {
    tx.exec_params(
        "INSERT INTO gear_categories (id, name, slug) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, slug = EXCLUDED.slug",
        c.at("id").get<std::string>(), c.at("name").get<std::string>(),
        c.at("slug").get<std::string>());
    ++result.categories;
  }
  for (const nlohmann::json& b : catalog.at("brands")) {
    tx.exec_params(
        "INSERT INTO gear_brands (id, name) VALUES ($1, $2) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        b.at("id").get<std::string>(), b.at("name").get<std::string>());
    ++result.brands;
  }
  for (const nlohmann::json& i : catalog.at("items")) {
    const std::string description = i.value("description", "");
    const std::string image_url = i.value("image_url", "");
    tx.exec_params(
        "INSERT INTO gear_catalog (id, category_id, brand_id, name, description, image_url, specs) "
        "VALUES ($1, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), $7::jsonb) "
        "ON CONFLICT (id) DO UPDATE SET category_id = EXCLUDED.category_id, "
        "brand_id = EXCLUDED.brand_id, name = EXCLUDED.name, description = EXCLUDED.description, "
        "image_url = EXCLUDED.image_url, specs = EXCLUDED.specs",
        i.at("id").get<std::string>(), i.at("category_id").get<std::string>(),
        i.at("brand_id").get<std::string>(), i.at("name").get<std::string>(), description,
        image_url, i.value("specs", nlohmann::json::object()).dump());
    ++result.items;
  }
  tx.commit();
  return result;
}

}  // namespace vemakin::server
