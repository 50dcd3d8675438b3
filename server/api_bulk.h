// The bulk reads of the API: what a client needs at sign-in (the user, the
// projects, the inventory and the catalog) and a whole project (the project,
// the caller's role, its members and its shots, notes and tasks), each in one
// response read on one connection. They compose the pages the other units
// serve (server/api_accounts.h, api_projects.h, api_resources.h,
// api_catalog.h), each capped at 1,000 rows.
#ifndef VEMAKIN_SERVER_API_BULK_H_
#define VEMAKIN_SERVER_API_BULK_H_

#include "server/api_catalog.h"
#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// Thread-safe (no state of its own).
class BulkApi {
 public:
  // `api` and `catalog` must outlive the BulkApi.
  BulkApi(ApiContext& api, CatalogApi& catalog) : api_(api), catalog_(catalog) {}
  BulkApi(const BulkApi&) = delete;
  BulkApi& operator=(const BulkApi&) = delete;

  // /api/bulk/initial, /api/bulk/project/{id}.
  void RegisterRoutes(Router& router);

 private:
  HttpResponse Initial(Ctx& ctx);
  HttpResponse Project(Ctx& ctx);

  ApiContext& api_;
  CatalogApi& catalog_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_BULK_H_
