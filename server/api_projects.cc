// Projects and their members (api_projects.h): membership is checked in
// the statement that reads a project; writes go through the project's own
// write rules (server/writes.h: the creator becomes the owner).
#include "server/api_projects.h"

#include <optional>
#include <vector>

#include "core/list_order.h"
#include "core/uuid.h"
#include "server/rows.h"
#include "server/sql_builder.h"

namespace vemakin::server {

namespace {

using core::TableSpec;

const std::vector<OrderKey>& kProjectOrder = core::ListOrder(core::Entity::kProject);

}  // namespace

json ProjectsPage(ApiContext& api, Session& s, const std::string& user_id, const Page& page) {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  const PagedSelect sel = BuildPage(
      spec, "projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = $1::uuid",
      "true", kProjectOrder, page, 2);
  Params params = {user_id};
  params.insert(params.end(), sel.params.begin(), sel.params.end());
  const pqxx::result total =
      s.Exec(api.Stmt("SELECT count(*) FROM project_members WHERE user_id = $1::uuid"), {user_id});
  json items = json::array();
  for (const auto& row : s.Exec(api.Stmt(sel.sql), params)) items.push_back(RowJson(spec, row, 0));
  const bool has_more = static_cast<long long>(items.size()) > page.limit;
  if (has_more) items.erase(items.size() - 1);
  std::optional<std::string> next;
  if (has_more) next = core::CursorAfter(spec, kProjectOrder, items.back());
  return Envelope(std::move(items), total[0][0].as<long long>(), page, has_more, next);
}

HttpResponse ProjectsApi::List(Ctx& ctx) {
  const Page page = ParsePage(ctx);
  return api_.ReadAuthed(
      ctx, [&](Session& s) { return JsonResponse(200, ProjectsPage(api_, s, ctx.user_id, page)); });
}

HttpResponse ProjectsApi::Create(Ctx& ctx) {
  json body = api_.ParseBody(ctx);
  std::string id = core::NewUuid();
  if (body.is_object() && body.contains("id")) {
    if (!body.at("id").is_string() || !core::IsValidUuid(body.at("id").get<std::string>())) {
      throw HttpError::Field({"body", "id"}, "must be a UUID", "type");
    }
    id = core::NormalizeUuid(body.at("id").get<std::string>());
    body.erase("id");
  }
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Project(s, ctx.user_id, core::MutationOp::kCreate, id, body), 201);
  });
}

HttpResponse ProjectsApi::Get(Ctx& ctx) {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return api_.ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result r = s.Exec(
        api_.Stmt("SELECT " + ColumnList(spec, "t") +
                  " FROM projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = "
                  "$2::uuid WHERE t.id = $1::uuid"),
        {id, ctx.user_id});
    if (r.empty()) throw HttpError::Detail(404, "not found");
    return JsonResponse(200, RowJson(spec, r[0], 0));
  });
}

HttpResponse ProjectsApi::Patch(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = api_.ParseBody(ctx);
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Project(s, ctx.user_id, core::MutationOp::kUpdate, id, body), 200);
  });
}

HttpResponse ProjectsApi::Delete(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Project(s, ctx.user_id, core::MutationOp::kDelete, id, json()),
                   204);
  });
}

// ---------------------------------------------------------------- members

HttpResponse ProjectsApi::ListMembers(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return api_.ReadAuthed(ctx, [&](Session& s) {
    if (!api_.writes().Role(s, id, ctx.user_id)) throw HttpError::Detail(404, "not found");
    json items = api_.writes().Members(s, id);
    Page page;
    page.limit = 1000;
    const long long total = static_cast<long long>(items.size());
    return JsonResponse(200, Envelope(std::move(items), total, page, false, std::nullopt));
  });
}

HttpResponse ProjectsApi::AddMember(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = api_.ParseBody(ctx);
  std::vector<core::FieldError> errors;
  if (!body.is_object()) throw HttpError::Field({"body"}, "must be a JSON object", "type");
  if (!body.contains("email") || !body.at("email").is_string()) {
    errors.push_back({{"body", "email"}, "field required (a string)", "missing"});
  }
  const json role = body.value("role", json("viewer"));
  if (!role.is_string() || (role != "editor" && role != "viewer")) {
    errors.push_back({{"body", "role"}, "must be one of 'editor' or 'viewer'", "enum"});
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "email" && it.key() != "role") {
      errors.push_back({{"body", it.key()}, "is not a field of a member", "unknown_field"});
    }
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
  const std::string email = body.at("email").get<std::string>();
  if (!core::IsValidUtf8(email) || email.find('\0') != std::string::npos) {
    throw HttpError::Field({"body", "email"}, "must be an email address");
  }
  // The budgets are spent only by a signed-in account (a request without a
  // valid token costs nothing). An email without an account spends one of
  // the account's (and, as a backstop against many accounts, the
  // address's): a unit is reserved before the lookup and given back when the
  // email has an account, so a spent budget refuses every add alike and a
  // 429 says nothing about the email.
  const std::string client = ClientKey(ctx.http.remote_address);
  RateLimiter::Reservation user_unit, client_unit;  // kept only for an unknown email
  bool no_account = false;
  bool counted = false;  // the unit of work may run again: count the add once
  WriteOutcome outcome;
  api_.WriteAuthed(ctx, [&](Session& s) {
    if (!counted) {
      counted = true;
      if (!member_adds_per_user_.Allow(ctx.user_id)) {
        throw HttpError::TooMany("too many member additions by this account; retry later",
                                 member_adds_per_user_.RetryAfter(ctx.user_id));
      }
      if (!member_adds_per_address_.Allow(client)) {
        throw HttpError::TooMany("too many member additions from this address; retry later",
                                 member_adds_per_address_.RetryAfter(client));
      }
      user_unit = unknown_emails_per_user_.TryReserve(ctx.user_id);
      if (!user_unit) {
        throw HttpError::TooMany(
            "too many member additions naming emails without an account; retry later",
            unknown_emails_per_user_.RetryAfter(ctx.user_id));
      }
      client_unit = unknown_emails_per_address_.TryReserve(client);
      if (!client_unit) {
        throw HttpError::TooMany(
            "too many member additions naming emails without an account from this address; "
            "retry later",
            unknown_emails_per_address_.RetryAfter(client));
      }
    }
    outcome =
        api_.writes().AddMember(s, ctx.user_id, id, email, role.get<std::string>(), &no_account);
    if (no_account) {
      user_unit.Keep();
      client_unit.Keep();
    }
    return HttpResponse();
  });
  return Respond(outcome, 201);
}

HttpResponse ProjectsApi::RemoveMember(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const std::string user_id = RequireUuid(ctx.path.at(1), {"path", "user_id"});
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().RemoveMember(s, ctx.user_id, id, user_id), 204);
  });
}

// ---------------------------------------------------------------- routes

void ProjectsApi::RegisterRoutes(Router& router) {
  router.Add("GET", "/api/projects", this, &ProjectsApi::List, "Projects the user is a member of");
  router.Add("POST", "/api/projects", this, &ProjectsApi::Create,
             "Create a project (the caller owns it)");
  router.Add("GET", "/api/projects/{id}", this, &ProjectsApi::Get, "One project");
  router.Add("PATCH", "/api/projects/{id}", this, &ProjectsApi::Patch,
             "Rename a project (owner, editor)");
  router.Add("DELETE", "/api/projects/{id}", this, &ProjectsApi::Delete,
             "Delete a project and its shots, notes and tasks (owner)");
  router.Add("GET", "/api/projects/{id}/members", this, &ProjectsApi::ListMembers,
             "The project's members");
  router.Add("POST", "/api/projects/{id}/members", this, &ProjectsApi::AddMember,
             "Add a member by email with a role (owner)");
  router.Add("DELETE", "/api/projects/{id}/members/{user_id}", this, &ProjectsApi::RemoveMember,
             "Remove a member (owner)");
}

}  // namespace vemakin::server
