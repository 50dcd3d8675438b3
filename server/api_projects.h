// Projects and their members in the API: the projects the user belongs to,
// a project's own routes (create makes the caller its owner; rename for
// owner and editors; delete for the owner, with everything under it) and the
// members routes (the owner adds by email with a role, and removes). A
// project the user is not a member of answers 404, as one that does not
// exist.
//
// Adding a member names an account by email, so the answer says whether the
// email has one ("no account with this email", 404) — the owner needs that
// answer, and registration says as much (409). What keeps it from being an
// account oracle is its pace: every project owner may probe, so adds are
// limited per user and per client address, and emails without an account
// much more tightly; once those are used up, *every* add from that user or
// address answers 429 until the window ends, whether or not the email has an
// account (docs/api.md, "Rate limits").
#ifndef VEMAKIN_SERVER_API_PROJECTS_H_
#define VEMAKIN_SERVER_API_PROJECTS_H_

#include <chrono>
#include <string>

#include "server/api_context.h"
#include "server/api_router.h"
#include "server/auth.h"

namespace vemakin::server {

// Thread-safe (the rate limiters lock; the rest is the ApiContext's).
class ProjectsApi {
 public:
  // `api` must outlive the ProjectsApi.
  explicit ProjectsApi(ApiContext& api) : api_(api) {}
  ProjectsApi(const ProjectsApi&) = delete;
  ProjectsApi& operator=(const ProjectsApi&) = delete;

  // /api/projects, /api/projects/{id}, /api/projects/{id}/members[/{user_id}].
  void RegisterRoutes(Router& router);

 private:
  HttpResponse List(Ctx& ctx);
  HttpResponse Create(Ctx& ctx);
  HttpResponse Get(Ctx& ctx);
  HttpResponse Patch(Ctx& ctx);
  HttpResponse Delete(Ctx& ctx);
  HttpResponse ListMembers(Ctx& ctx);
  HttpResponse AddMember(Ctx& ctx);
  HttpResponse RemoveMember(Ctx& ctx);

  ApiContext& api_;
  // Member adds of any outcome by signed-in accounts, and those naming an
  // email with no account: 10 per account, and per address (ClientKey) a
  // backstop against one prober with many accounts, large enough that one
  // account's typos never stop its neighbours behind the same NAT.
  RateLimiter member_adds_per_user_{100, std::chrono::seconds(3600)};
  RateLimiter member_adds_per_address_{200, std::chrono::seconds(3600)};
  RateLimiter unknown_emails_per_user_{10, std::chrono::seconds(3600)};
  RateLimiter unknown_emails_per_address_{30, std::chrono::seconds(3600)};
};

// One page of the projects `user_id` is a member of, in list order, as the
// list envelope (GET /api/projects, the bulk reads). Throws HttpError 422 for
// a cursor of another list.
json ProjectsPage(ApiContext& api, Session& s, const std::string& user_id, const Page& page);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_PROJECTS_H_
