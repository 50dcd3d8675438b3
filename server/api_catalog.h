// The gear catalog of the API: its read-only routes (categories, brands,
// items, one item) and the in-memory copy they serve. The catalog is global
// and written only by the seed (server/catalog_seed.h), so it is read from
// the database once, on first use, and never again; the bulk reads and sync
// snapshots send the same copy.
#ifndef VEMAKIN_SERVER_API_CATALOG_H_
#define VEMAKIN_SERVER_API_CATALOG_H_

#include <mutex>

#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// The catalog tables as JSON arrays, each in list order (name, id).
struct CatalogRows {
  json categories = json::array();
  json brands = json::array();
  json items = json::array();
};

// Thread-safe: the first Rows() loads under a mutex; the rows are read-only
// after.
class CatalogApi {
 public:
  // `api` must outlive the CatalogApi.
  explicit CatalogApi(ApiContext& api) : api_(api) {}
  CatalogApi(const CatalogApi&) = delete;
  CatalogApi& operator=(const CatalogApi&) = delete;

  // /api/catalog/{categories,brands,items,items/{id}}.
  void RegisterRoutes(Router& router);

  // The catalog, loaded on the first call (which throws what Db::Read throws,
  // and leaves it to load again on the next). The reference is valid for the
  // CatalogApi's life.
  const CatalogRows& Rows();

 private:
  HttpResponse Categories(Ctx& ctx);
  HttpResponse Brands(Ctx& ctx);
  HttpResponse Items(Ctx& ctx);
  HttpResponse Item(Ctx& ctx);

  ApiContext& api_;
  std::mutex mu_;
  bool loaded_ = false;  // guarded by mu_; rows_ is read-only once it is set
  CatalogRows rows_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_CATALOG_H_
