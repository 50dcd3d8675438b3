// The catalog routes and cache (api_catalog.h). Lists page by skip/limit
// over the cached arrays; filters are applied to the cached rows.
#include "server/api_catalog.h"

#include <set>

#include "server/rows.h"
#include "server/sql_builder.h"

namespace vemakin::server {

std::shared_ptr<const CatalogRows> CatalogApi::Rows() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (rows_ && now < next_check_) return rows_;
  api_.db().Read([&](Session& s) { Refresh(s); });
  next_check_ = now + kRecheck;
  return rows_;
}

std::shared_ptr<const CatalogRows> CatalogApi::Rows(Session& s) {
  std::lock_guard<std::mutex> lock(mu_);
  Refresh(s);
  return rows_;
}

// Reads the version and, when it moved, the three tables, all in `s`; the
// cache changes only once everything was read (a retried unit of work
// starts again from nothing).
void CatalogApi::Refresh(Session& s) {
  // One row, bumped by every statement that writes a catalog table
  // (schema/postgres/0007): the copy is reloaded only when it changed.
  const long long version =
      s.Exec(api_.Stmt("SELECT version FROM catalog_version WHERE id = 1"))[0][0].as<long long>();
  // Never backwards: a snapshot page read on a lagging replica sees an older
  // version, and keeps the newer copy (a snapshot page may be newer than its
  // cursor: the pull that follows carries what changed).
  if (rows_ && version <= version_) return;
  auto fresh = std::make_shared<CatalogRows>();
  const core::TableSpec& cs = core::Spec(core::Entity::kGearCategory);
  const core::TableSpec& bs = core::Spec(core::Entity::kGearBrand);
  const core::TableSpec& is = core::Spec(core::Entity::kGearCatalogItem);
  for (const auto& r : s.Exec(api_.Stmt("SELECT " + ColumnList(cs, "t") +
                                        " FROM gear_categories t ORDER BY t.name, t.id"))) {
    fresh->categories.push_back(RowJson(cs, r, 0));
  }
  for (const auto& r : s.Exec(api_.Stmt("SELECT " + ColumnList(bs, "t") +
                                        " FROM gear_brands t ORDER BY t.name, t.id"))) {
    fresh->brands.push_back(RowJson(bs, r, 0));
  }
  for (const auto& r : s.Exec(api_.Stmt("SELECT " + ColumnList(is, "t") +
                                        " FROM gear_catalog t ORDER BY t.name, t.id"))) {
    fresh->items.push_back(RowJson(is, r, 0));
  }
  rows_ = std::move(fresh);
  version_ = version;
}

namespace {

HttpResponse PageOf(const json& all, const Page& page) {
  json out = json::array();
  const long long total = static_cast<long long>(all.size());
  for (long long i = page.skip; i < total && i < page.skip + page.limit; ++i) out.push_back(all[i]);
  return JsonResponse(
      200, Envelope(std::move(out), total, page, page.skip + page.limit < total, std::nullopt));
}

Page OffsetOnly(const Ctx& ctx) {
  Page page = ParsePage(ctx);
  if (page.cursor) {
    throw HttpError::Field({"query", "cursor"}, "the catalog pages by skip/limit", "cursor");
  }
  return page;
}

std::optional<std::string> UuidFilter(const Ctx& ctx, const std::string& key) {
  std::optional<std::string> v = ctx.Query(key);
  if (!v) return std::nullopt;
  return RequireUuid(*v, {"query", key});
}

}  // namespace

HttpResponse CatalogApi::Categories(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  api_.ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  const std::shared_ptr<const CatalogRows> rows = Rows();
  const CatalogRows& catalog = *rows;
  return PageOf(catalog.categories, page);
}

HttpResponse CatalogApi::Brands(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  const std::optional<std::string> category = UuidFilter(ctx, "category_id");
  api_.ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  const std::shared_ptr<const CatalogRows> rows = Rows();
  const CatalogRows& catalog = *rows;
  if (!category) return PageOf(catalog.brands, page);
  std::set<std::string> in_category;
  for (const json& item : catalog.items) {
    if (item.at("category_id") == *category) in_category.insert(item.at("brand_id"));
  }
  json filtered = json::array();
  for (const json& b : catalog.brands) {
    if (in_category.count(b.at("id").get<std::string>())) filtered.push_back(b);
  }
  return PageOf(filtered, page);
}

HttpResponse CatalogApi::Items(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  const std::optional<std::string> category = UuidFilter(ctx, "category_id");
  const std::optional<std::string> brand = UuidFilter(ctx, "brand_id");
  api_.ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  const std::shared_ptr<const CatalogRows> rows = Rows();
  const CatalogRows& catalog = *rows;
  if (!category && !brand) return PageOf(catalog.items, page);
  json filtered = json::array();
  for (const json& item : catalog.items) {
    if (category && item.at("category_id") != *category) continue;
    if (brand && item.at("brand_id") != *brand) continue;
    filtered.push_back(item);
  }
  return PageOf(filtered, page);
}

HttpResponse CatalogApi::Item(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  api_.ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  const std::shared_ptr<const CatalogRows> rows = Rows();
  const CatalogRows& catalog = *rows;
  for (const json& item : catalog.items) {
    if (item.at("id") == id) return JsonResponse(200, item);
  }
  throw HttpError::Detail(404, "not found");
}

void CatalogApi::RegisterRoutes(Router& router) {
  router.Add("GET", "/api/catalog/categories", this, &CatalogApi::Categories, "Gear categories");
  router.Add("GET", "/api/catalog/brands", this, &CatalogApi::Brands,
             "Gear brands (filter: category_id)");
  router.Add("GET", "/api/catalog/items", this, &CatalogApi::Items,
             "Catalog items (filters: category_id, brand_id)");
  router.Add("GET", "/api/catalog/items/{id}", this, &CatalogApi::Item, "One catalog item");
}

}  // namespace vemakin::server
