// The resources: shots, notes, post-production tasks and inventory (one
// generic implementation driven by ResourceDef and the model), projects and
// their members. Membership is checked in the same statement that reads or
// writes the data; a row the user may not see answers 404, exactly as a row
// that does not exist.
#include <variant>

#include "core/json_codec.h"
#include "core/uuid.h"
#include "server/api_internal.h"

namespace vemakin::server {
namespace {

using core::Access;
using core::FieldSpec;
using core::TableSpec;

// PostgreSQL's spelling of a page query (core/list_order.h builds it).
const core::SqlDialect& Postgres() {
  static const core::SqlDialect dialect{
      Placeholder, [](int n) { return "$" + std::to_string(n) + "::bigint"; }, true};
  return dialect;
}

// A paged SELECT over `spec` (alias t) from `from` matching `where`; its
// parameters follow the caller's own, numbered from `first_param`.
struct PagedSelect {
  std::string sql;
  Params params;
};

PagedSelect BuildPage(const TableSpec& spec, const std::string& from, const std::string& where,
                      const std::vector<OrderKey>& keys, const Page& page, int first_param) {
  const std::optional<core::PageSql> built = core::BuildPageSql(
      spec, from, where, keys, {page.skip, page.limit, page.cursor}, first_param, Postgres());
  if (!built) {
    throw HttpError::Field({"query", "cursor"}, "is not a cursor of this list", "cursor");
  }
  PagedSelect out{built->sql, {}};
  for (const core::SqlParam& p : built->params) {
    out.params.push_back(std::holds_alternative<long long>(p)
                             ? std::to_string(std::get<long long>(p))
                             : std::get<std::string>(p));
  }
  return out;
}

// Parses and validates the list filters of `def` from the query string.
std::map<std::string, std::string> ParseFilters(const ResourceDef& def, const Ctx& ctx) {
  std::map<std::string, std::string> out;
  std::vector<core::FieldError> errors;
  for (const std::string& name : def.filters) {
    std::optional<std::string> v = ctx.Query(name);
    if (!v) continue;
    for (auto& e : core::ValidateValue(*def.spec->Find(name), json(*v), {"query", name})) {
      errors.push_back(e);
    }
    out[name] = *v;
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
  return out;
}

}  // namespace

// A write's outcome as REST answers it: `done` (201 for a new row, 200, or
// 204 with no body) for what was applied; the code's status and the detail
// for a rejection.
HttpResponse Respond(const WriteOutcome& outcome, int done) {
  if (outcome.rejected()) {
    throw HttpError(HttpStatusFor(outcome.code), json{{"detail", outcome.detail}}, outcome.code);
  }
  if (done == 204) {
    HttpResponse r;
    r.status = 204;
    r.body.clear();
    return r;
  }
  const int status = done == 201 && outcome.kind != WriteOutcome::Kind::kCreated ? 200 : done;
  return JsonResponse(status, outcome.row);
}

const ResourceDef& Api::Impl::Resource(const std::string& name) const {
  for (const ResourceDef& d : resources) {
    if (d.name == name) return d;
  }
  throw Error(ErrorCode::kInternal, "no resource " + name);
}

PageText Api::Impl::ResourcePage(Session& s, const ResourceDef& def, const std::string& scope_id,
                                 const std::string& user_id,
                                 const std::map<std::string, std::string>& filters,
                                 const Page& page, bool* found) {
  const TableSpec& spec = *def.spec;
  const std::string scope_col = def.project_scoped ? "project_id" : "user_id";
  Params params = {scope_id};
  std::string head;
  if (def.project_scoped) {
    params.push_back(user_id);
    head = " FROM project_members m JOIN project_stats ps ON ps.project_id = m.project_id";
  } else {
    head = " FROM user_stats ps";
  }
  std::string where = "t." + scope_col + " = $1::uuid";
  std::string count_where = "f." + scope_col + " = $1::uuid";
  int n = static_cast<int>(params.size()) + 1;
  for (const auto& [name, value] : filters) {
    const std::string ph = Placeholder(*spec.Find(name), n++);
    where += " AND t." + name + " = " + ph;
    count_where += " AND f." + name + " = " + ph;
    params.push_back(value);
  }
  const PagedSelect sel = BuildPage(spec, spec.name + " t", where, def.order, page, n);
  params.insert(params.end(), sel.params.begin(), sel.params.end());
  const std::string total =
      filters.empty() ? "ps." + def.counter
                      : "(SELECT count(*) FROM " + spec.name + " f WHERE " + count_where + ")";
  const std::string sql = "SELECT " + std::string(def.project_scoped ? "m.role" : "NULL::text") +
                          ", " + total + ", x.* " + head + " LEFT JOIN LATERAL (" + sel.sql +
                          ") x ON true WHERE " +
                          (def.project_scoped ? "m.project_id = $1::uuid AND m.user_id = $2::uuid"
                                              : "ps.user_id = $1::uuid");
  const pqxx::result r = s.Exec(Stmt(sql), params);
  *found = !r.empty();
  PageText out;
  out.items = "[";
  long long rendered = 0;
  std::optional<pqxx::result::size_type> last;
  for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
    const pqxx::row row = r[i];
    out.total = row[1].as<long long>();
    if (row[2].is_null()) continue;  // the member row alone: no items on this page
    if (rendered == page.limit) {
      out.has_more = true;
      break;
    }
    if (rendered++) out.items += ",";
    out.items += RowText(spec, row, 2);
    last = i;
  }
  out.items += "]";
  out.count = rendered;
  if (out.has_more && last) {
    out.next_cursor = core::CursorAfter(spec, def.order, RowJson(spec, r[*last], 2));
  }
  return out;
}

HttpResponse Api::Impl::ListResource(const ResourceDef& def, Ctx& ctx) {
  std::string scope_id;
  if (def.project_scoped) {
    std::optional<std::string> p = ctx.Query("project_id");
    if (!p) throw HttpError::Field({"query", "project_id"}, "field required", "missing");
    scope_id = RequireUuid(*p, {"query", "project_id"});
  }
  const std::map<std::string, std::string> filters = ParseFilters(def, ctx);
  const Page page = ParsePage(ctx);
  return ReadAuthed(ctx, [&](Session& s) {
    bool found = false;
    const PageText out = ResourcePage(s, def, def.project_scoped ? scope_id : ctx.user_id,
                                      ctx.user_id, filters, page, &found);
    if (!found) throw HttpError::Detail(404, "project not found");
    return TextResponse(200, EnvelopeText(out, page));
  });
}

HttpResponse Api::Impl::CreateResource(const ResourceDef& def, Ctx& ctx) {
  const json body = ParseBody(ctx, options.max_json_depth);
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.Create(s, *def.spec, ctx.user_id, body), 201);
  });
}

HttpResponse Api::Impl::GetResource(const ResourceDef& def, Ctx& ctx) {
  const TableSpec& spec = *def.spec;
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const std::string sql =
      "SELECT " + ColumnList(spec, "t") + " FROM " + spec.name + " t " +
      (def.project_scoped ? "JOIN project_members m ON m.project_id = t.project_id AND m.user_id "
                            "= $2::uuid WHERE t.id = $1::uuid"
                          : "WHERE t.id = $1::uuid AND t.user_id = $2::uuid");
  return ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result r = s.Exec(Stmt(sql), {id, ctx.user_id});
    if (r.empty()) throw HttpError::Detail(404, "not found");
    return TextResponse(200, RowText(spec, r[0], 0));
  });
}

HttpResponse Api::Impl::PatchResource(const ResourceDef& def, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = ParseBody(ctx, options.max_json_depth);
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.Patch(s, *def.spec, ctx.user_id, id, body), 200);
  });
}

HttpResponse Api::Impl::DeleteResource(const ResourceDef& def, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return WriteAuthed(
      ctx, [&](Session& s) { return Respond(writes.Delete(s, *def.spec, ctx.user_id, id), 204); });
}

// ---------------------------------------------------------------- projects

namespace {

const std::vector<OrderKey>& kProjectOrder = core::ListOrder(core::Entity::kProject);

}  // namespace

json Api::Impl::ProjectsPage(Session& s, const std::string& user_id, const Page& page) {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  const PagedSelect sel = BuildPage(
      spec, "projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = $1::uuid",
      "true", kProjectOrder, page, 2);
  Params params = {user_id};
  params.insert(params.end(), sel.params.begin(), sel.params.end());
  const pqxx::result total =
      s.Exec(Stmt("SELECT count(*) FROM project_members WHERE user_id = $1::uuid"), {user_id});
  json items = json::array();
  for (const auto& row : s.Exec(Stmt(sel.sql), params)) items.push_back(RowJson(spec, row, 0));
  const bool has_more = static_cast<long long>(items.size()) > page.limit;
  if (has_more) items.erase(items.size() - 1);
  std::optional<std::string> next;
  if (has_more) next = core::CursorAfter(spec, kProjectOrder, items.back());
  return Envelope(std::move(items), total[0][0].as<long long>(), page, has_more, next);
}

HttpResponse Api::Impl::ListProjects(Ctx& ctx) {
  const Page page = ParsePage(ctx);
  return ReadAuthed(
      ctx, [&](Session& s) { return JsonResponse(200, ProjectsPage(s, ctx.user_id, page)); });
}

HttpResponse Api::Impl::CreateProject(Ctx& ctx) {
  json body = ParseBody(ctx, options.max_json_depth);
  std::string id = core::NewUuid();
  if (body.is_object() && body.contains("id")) {
    if (!body.at("id").is_string() || !core::IsValidUuid(body.at("id").get<std::string>())) {
      throw HttpError::Field({"body", "id"}, "must be a UUID", "type");
    }
    id = core::NormalizeUuid(body.at("id").get<std::string>());
    body.erase("id");
  }
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.Project(s, ctx.user_id, core::MutationOp::kCreate, id, body), 201);
  });
}

HttpResponse Api::Impl::GetProject(Ctx& ctx) {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result r = s.Exec(
        Stmt("SELECT " + ColumnList(spec, "t") +
             " FROM projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = "
             "$2::uuid WHERE t.id = $1::uuid"),
        {id, ctx.user_id});
    if (r.empty()) throw HttpError::Detail(404, "not found");
    return JsonResponse(200, RowJson(spec, r[0], 0));
  });
}

HttpResponse Api::Impl::PatchProject(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = ParseBody(ctx, options.max_json_depth);
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.Project(s, ctx.user_id, core::MutationOp::kUpdate, id, body), 200);
  });
}

HttpResponse Api::Impl::DeleteProject(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.Project(s, ctx.user_id, core::MutationOp::kDelete, id, json()), 204);
  });
}

// ---------------------------------------------------------------- members

HttpResponse Api::Impl::ListMembers(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return ReadAuthed(ctx, [&](Session& s) {
    if (!Role(s, id, ctx.user_id)) throw HttpError::Detail(404, "not found");
    json items = writes.Members(s, id);
    Page page;
    page.limit = 1000;
    const long long total = static_cast<long long>(items.size());
    return JsonResponse(200, Envelope(std::move(items), total, page, false, std::nullopt));
  });
}

HttpResponse Api::Impl::AddMember(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = ParseBody(ctx, options.max_json_depth);
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
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.AddMember(s, ctx.user_id, id, email, role.get<std::string>()), 201);
  });
}

HttpResponse Api::Impl::RemoveMember(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const std::string user_id = RequireUuid(ctx.path.at(1), {"path", "user_id"});
  return WriteAuthed(ctx, [&](Session& s) {
    return Respond(writes.RemoveMember(s, ctx.user_id, id, user_id), 204);
  });
}

// ---------------------------------------------------------------- routes

void Api::Impl::RegisterResourceRoutes() {
  // One generic resource per table users write, other than projects (whose
  // routes below also manage the owner's membership).
  for (const TableSpec* spec : core::WritableSpecs()) {
    if (spec->entity == core::Entity::kProject) continue;
    resources.push_back({spec->route, "/api/" + spec->route, spec,
                         spec->scope == core::Scope::kProject, spec->counter,
                         core::ListFilters(spec->entity), core::ListOrder(spec->entity)});
  }
  for (size_t i = 0; i < resources.size(); ++i) {
    const std::string& base = resources[i].path;
    const std::string& name = resources[i].name;
    AddRoute(
        "GET", base,
        [i](Impl& impl, Ctx& ctx) { return impl.ListResource(impl.resources[i], ctx); },
        "List " + name);
    AddRoute(
        "POST", base,
        [i](Impl& impl, Ctx& ctx) { return impl.CreateResource(impl.resources[i], ctx); },
        "Create " + name + " (idempotent with a client-chosen id)");
    AddRoute(
        "GET", base + "/{id}",
        [i](Impl& impl, Ctx& ctx) { return impl.GetResource(impl.resources[i], ctx); },
        "One of " + name);
    AddRoute(
        "PATCH", base + "/{id}",
        [i](Impl& impl, Ctx& ctx) { return impl.PatchResource(impl.resources[i], ctx); },
        "Change the given fields of one of " + name);
    AddRoute(
        "DELETE", base + "/{id}",
        [i](Impl& impl, Ctx& ctx) { return impl.DeleteResource(impl.resources[i], ctx); },
        "Delete one of " + name);
  }
  AddMethodRoute("GET", "/api/projects", &Impl::ListProjects, "Projects the user is a member of");
  AddMethodRoute("POST", "/api/projects", &Impl::CreateProject,
                 "Create a project (the caller owns it)");
  AddMethodRoute("GET", "/api/projects/{id}", &Impl::GetProject, "One project");
  AddMethodRoute("PATCH", "/api/projects/{id}", &Impl::PatchProject,
                 "Rename a project (owner, editor)");
  AddMethodRoute("DELETE", "/api/projects/{id}", &Impl::DeleteProject,
                 "Delete a project and its shots, notes and tasks (owner)");
  AddMethodRoute("GET", "/api/projects/{id}/members", &Impl::ListMembers, "The project's members");
  AddMethodRoute("POST", "/api/projects/{id}/members", &Impl::AddMember,
                 "Add a member by email with a role (owner)");
  AddMethodRoute("DELETE", "/api/projects/{id}/members/{user_id}", &Impl::RemoveMember,
                 "Remove a member (owner)");
}

}  // namespace vemakin::server
