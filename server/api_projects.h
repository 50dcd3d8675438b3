// Projects and their members in the API: the projects the user belongs to,
// a project's own routes (create makes the caller its owner; rename for
// owner and editors; delete for the owner, with everything under it) and the
// members routes (the owner adds by email with a role, and removes). A
// project the user is not a member of answers 404, as one that does not
// exist.
#ifndef VEMAKIN_SERVER_API_PROJECTS_H_
#define VEMAKIN_SERVER_API_PROJECTS_H_

#include <string>

#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// Thread-safe (no state of its own).
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
};

// One page of the projects `user_id` is a member of, in list order, as the
// list envelope (GET /api/projects, the bulk reads). Throws HttpError 422 for
// a cursor of another list.
json ProjectsPage(ApiContext& api, Session& s, const std::string& user_id, const Page& page);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_PROJECTS_H_
