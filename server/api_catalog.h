// The gear catalog of the API: its read-only routes (categories, brands,
// items, one item) and the in-memory copy they serve. The catalog is global
// and written only by the seed (server/catalog_seed.h, run by `migrate up`),
// so the copy is read once and reloaded only when the catalog's version row
// changed: checked at most once a second, a catalog update reaches every
// instance within about a second. The bulk reads and sync snapshots send the
// same copy; clients receive the changes themselves by pull.
#ifndef VEMAKIN_SERVER_API_CATALOG_H_
#define VEMAKIN_SERVER_API_CATALOG_H_

#include <chrono>
#include <memory>
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

// Thread-safe: Rows() checks and reloads under a mutex; a copy, once
// handed out, is never changed (a reload makes a new one).
class CatalogApi {
 public:
  // `api` must outlive the CatalogApi.
  explicit CatalogApi(ApiContext& api) : api_(api) {}
  CatalogApi(const CatalogApi&) = delete;
  CatalogApi& operator=(const CatalogApi&) = delete;

  // /api/catalog/{categories,brands,items,items/{id}}.
  void RegisterRoutes(Router& router);

  // The catalog as of at most a second ago (a failed check or load throws
  // what Db::Read throws and leaves the next call to try again).
  std::shared_ptr<const CatalogRows> Rows();
  // The catalog as `s` sees it (its snapshot), reloaded in `s` when its
  // version moved: a sync snapshot's catalog matches the snapshot's cursor.
  std::shared_ptr<const CatalogRows> Rows(Session& s);

 private:
  HttpResponse Categories(Ctx& ctx);
  HttpResponse Brands(Ctx& ctx);
  HttpResponse Items(Ctx& ctx);
  HttpResponse Item(Ctx& ctx);

  ApiContext& api_;
  void Refresh(Session& s);  // mu_ held

  static constexpr std::chrono::seconds kRecheck{1};
  std::mutex mu_;  // guards the three below
  std::shared_ptr<const CatalogRows> rows_;
  long long version_ = -1;
  std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_CATALOG_H_
