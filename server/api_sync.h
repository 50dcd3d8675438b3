// The sync routes of the API (docs/sync-protocol.md): push (a client's
// mutations applied in order, each at most once, through the write rules of
// server/writes.h), pull (changes after a cursor in the one total order, with
// a long poll woken by the ApiOptions' ChangeBell), snapshot (every row the
// user may read, page by page, in an order that keeps foreign keys valid) and
// digest (an order-independent hash of each synced table in the user's
// scope). Which rows a user may read comes from each table's scope in the
// model.
#ifndef VEMAKIN_SERVER_API_SYNC_H_
#define VEMAKIN_SERVER_API_SYNC_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "server/api_catalog.h"
#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// Thread-safe (its state: the function it was given, the database's
// identity, read once, and the parked-pull counts, each under a mutex).
class SyncApi {
 public:
  // `api` and `catalog` must outlive the SyncApi. `handle_again` runs a whole
  // request again (Api::Handle): a parked long poll resumes through it, on a
  // worker thread.
  SyncApi(ApiContext& api, CatalogApi& catalog,
          std::function<HttpResponse(const HttpRequest&)> handle_again);
  SyncApi(const SyncApi&) = delete;
  SyncApi& operator=(const SyncApi&) = delete;

  // /api/sync/{push,pull,snapshot,digest}.
  void RegisterRoutes(Router& router);

 private:
  HttpResponse Pull(Ctx& ctx);
  HttpResponse Push(Ctx& ctx);
  HttpResponse Snapshot(Ctx& ctx);
  HttpResponse Digest(Ctx& ctx);
  // The row of `table` (a sync table name) with this id that the user can
  // read, as its API JSON text; nullopt when there is none (a rejected
  // push's `current`).
  std::optional<std::string> VisibleRowText(Session& s, const std::string& table,
                                            const std::string& id, const std::string& user_id);
  // The identity every position this server hands out carries
  // (core::PullPosition::cluster): a hash of the cluster's system identifier
  // (when this role may read it), the database and the schema.
  const std::string& ClusterId(Session& s);

  // A parked long poll's place under the caps (ApiOptions::max_parked_pulls,
  // max_parked_pulls_per_user), given back when the last copy goes.
  struct ParkedSlot {
    SyncApi* owner = nullptr;
    std::string user_id;
    ~ParkedSlot();
  };
  // Null when a cap is reached.
  std::shared_ptr<ParkedSlot> ClaimParking(const std::string& user_id);
  int ParkedBy(const std::string& user_id);

  ApiContext& api_;
  CatalogApi& catalog_;
  std::function<HttpResponse(const HttpRequest&)> handle_again_;
  std::mutex cluster_mu_;
  std::optional<std::string> cluster_id_;
  std::mutex parked_mu_;
  std::unordered_map<std::string, int> parked_;  // parked pulls per user
  int parked_total_ = 0;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_SYNC_H_
