// The generic resources of the API: one table each, every table users write
// but projects (shots, notes, post-production tasks, inventory), served by
// one implementation driven by the model (core/model.h: scope, counter,
// route; core/list_order.h: filters, order). Membership or ownership is
// checked in the same statement that reads the data, and the writes go
// through the write rules (server/writes.h); a row the user may not see
// answers 404, exactly as a row that does not exist.
#ifndef VEMAKIN_SERVER_API_RESOURCES_H_
#define VEMAKIN_SERVER_API_RESOURCES_H_

#include <map>
#include <string>

#include "core/model.h"
#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// Thread-safe (no state of its own).
class ResourcesApi {
 public:
  // `api` must outlive the ResourcesApi.
  explicit ResourcesApi(ApiContext& api) : api_(api) {}
  ResourcesApi(const ResourcesApi&) = delete;
  ResourcesApi& operator=(const ResourcesApi&) = delete;

  // /api/<route> (list, create) and /api/<route>/{id} (get, patch, delete)
  // for each table of core::WritableSpecs() but projects.
  void RegisterRoutes(Router& router);

 private:
  HttpResponse List(const core::TableSpec& spec, Ctx& ctx);
  HttpResponse Create(const core::TableSpec& spec, Ctx& ctx);
  HttpResponse Get(const core::TableSpec& spec, Ctx& ctx);
  HttpResponse Patch(const core::TableSpec& spec, Ctx& ctx);
  HttpResponse Delete(const core::TableSpec& spec, Ctx& ctx);

  ApiContext& api_;
};

// SQL for about how many bytes a row of `spec` (alias `alias`) takes as
// JSON: its text columns' lengths (octet_length reads a stored value's size
// from its header, without decompressing it; pg_column_size would give the
// compressed size), its JSON columns' stored size, and a constant for the
// rest. What byte budgets are measured in.
std::string RowBytesSql(const core::TableSpec& spec, const std::string& alias);

// One page of the rows of `spec` (a generic resource) in its list order,
// rendered as text, for lists, bulk reads and snapshots: rows of the project
// `scope_id` when the user `user_id` is a member (scope kProject), else of
// the owner `scope_id` (kOwner), matching `filters` (field -> value, already
// validated). *found is false when the user is not a member of the project
// (or, for owned rows, has no counters row). Throws HttpError 422 for a
// cursor of another list.
PageText ResourcePage(ApiContext& api, Session& s, const core::TableSpec& spec,
                      const std::string& scope_id, const std::string& user_id,
                      const std::map<std::string, std::string>& filters, const Page& page,
                      bool* found);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_RESOURCES_H_
