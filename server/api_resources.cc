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

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.body.clear();
  return r;
}

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

json CompleteWithId(const TableSpec& spec, const json& body) {
  json row = core::CompleteCreate(spec, body);
  if (!row.contains("id")) row["id"] = core::NewUuid();
  return row;
}

}  // namespace

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

// Many creates of one resource as one INSERT (a sync push's bulk upload):
// each body is checked as ApplyCreate checks it (validation, role) and a
// refused one gets its error in `outcome` without touching the database; the
// rest are inserted by one statement (the triggers that log changes still run
// per row). An id that already exists goes through ApplyCreate alone (an
// idempotent repeat, or 409). outcome[i] empty = applied.
void Api::Impl::ApplyCreates(Session& s, const ResourceDef& def, const std::string& user_id,
                             const std::vector<json>& bodies,
                             std::vector<std::optional<HttpError>>* outcome) {
  const TableSpec& spec = *def.spec;
  outcome->assign(bodies.size(), std::nullopt);
  std::string cols;
  for (const FieldSpec& f : spec.fields) {
    if (f.access != Access::kReadOnly) cols += (cols.empty() ? "" : ", ") + f.name;
  }
  if (!def.project_scoped) cols += ", user_id";
  json rows = json::array();
  std::map<std::string, size_t> index;  // id -> position in bodies
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::vector<core::FieldError> errors =
        core::ValidateWrite(spec, bodies[i], core::WriteKind::kCreate);
    if (!errors.empty()) {
      (*outcome)[i] = HttpError::Fields(errors);
      continue;
    }
    json row = CompleteWithId(spec, bodies[i]);
    if (def.project_scoped) {
      const std::optional<std::string> role = Role(s, row.at("project_id"), user_id);
      if (!role) {
        (*outcome)[i] = HttpError::Detail(404, "project not found");
        continue;
      }
      if (*role == "viewer") {
        (*outcome)[i] = HttpError::Detail(403, "viewers cannot change this project");
        continue;
      }
    } else {
      row["user_id"] = user_id;
    }
    index[row.at("id").get<std::string>()] = i;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  const pqxx::result inserted =
      s.Exec(Stmt("INSERT INTO " + spec.name + " (" + cols + ") SELECT " + cols +
                  " FROM jsonb_populate_recordset(NULL::" + spec.name +
                  ", $1::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id::text"),
             {rows.dump()});
  for (const pqxx::row& r : inserted) index.erase(r[0].c_str());
  for (const auto& [id, i] : index) {  // the id existed: as a single create would answer
    try {
      json body = bodies[i];
      body["id"] = id;
      ApplyCreate(s, def, user_id, body);
    } catch (const HttpError& e) {
      (*outcome)[i] = e;
    }
  }
}

HttpResponse Api::Impl::ApplyCreate(Session& s, const ResourceDef& def, const std::string& user_id,
                                    const json& body) {
  const TableSpec& spec = *def.spec;
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, body, core::WriteKind::kCreate);
  if (!errors.empty()) throw HttpError::Fields(errors);
  const json row = CompleteWithId(spec, body);
  std::string cols, values;
  Params params;
  int n = 1;
  for (const FieldSpec& f : spec.fields) {
    if (f.access == Access::kReadOnly || !row.contains(f.name)) continue;
    cols += (cols.empty() ? "" : ", ") + f.name;
    values += (values.empty() ? "" : ", ") + Placeholder(f, n++);
    params.push_back(core::EncodeField(f, row.at(f.name)));
  }
  if (!def.project_scoped) {
    cols += ", user_id";
    values += ", $" + std::to_string(n++) + "::uuid";
    params.push_back(user_id);
  }
  const std::string insert = "INSERT INTO " + spec.name + " AS t (" + cols + ") VALUES (" + values +
                             ") ON CONFLICT (id) DO NOTHING RETURNING " + ColumnList(spec, "t");
  if (def.project_scoped) {
    const std::optional<std::string> role = Role(s, row.at("project_id"), user_id);
    if (!role) throw HttpError::Detail(404, "project not found");
    if (*role == "viewer") throw HttpError::Detail(403, "viewers cannot change this project");
  }
  const pqxx::result r = s.Exec(Stmt(insert), params);
  if (!r.empty()) return JsonResponse(201, RowJson(spec, r[0], 0));
  // The id exists: an idempotent repeat returns the row; anything else conflicts.
  const std::string scope_check =
      def.project_scoped ? "t.project_id = $2::uuid" : "t.user_id = $2::uuid";
  const pqxx::result existing =
      s.Exec(Stmt("SELECT " + ColumnList(spec, "t") + " FROM " + spec.name +
                  " t WHERE t.id = $1::uuid AND " + scope_check),
             {row.at("id").get<std::string>(),
              def.project_scoped ? row.at("project_id").get<std::string>() : user_id});
  if (!existing.empty()) {
    const json current = RowJson(spec, existing[0], 0);
    if (core::HoldsValues(current, row)) return JsonResponse(200, current);
  }
  throw HttpError::Detail(409, "a row with this id already exists");
}

HttpResponse Api::Impl::CreateResource(const ResourceDef& def, Ctx& ctx) {
  const json body = ParseBody(ctx, options.max_json_depth);
  return WriteAuthed(ctx, [&](Session& s) { return ApplyCreate(s, def, ctx.user_id, body); });
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

namespace {

// Why a write on a project-scoped row matched nothing: 403 for a viewer, else 404.
[[noreturn]] void ExplainMiss(Api::Impl& impl, Session& s, const TableSpec& spec,
                              const std::string& id, const std::string& user_id) {
  const pqxx::result r =
      s.Exec(impl.Stmt("SELECT m.role FROM " + spec.name +
                       " t JOIN project_members m ON m.project_id = t.project_id AND m.user_id = "
                       "$2::uuid WHERE t.id = $1::uuid"),
             {id, user_id});
  if (!r.empty()) throw HttpError::Detail(403, "viewers cannot change this project");
  throw HttpError::Detail(404, "not found");
}

std::string AccessClause(const ResourceDef& def) {
  return def.project_scoped ? "m.project_id = t.project_id AND m.user_id = $2::uuid AND m.role <> "
                              "'viewer'"
                            : "t.user_id = $2::uuid";
}

}  // namespace

HttpResponse Api::Impl::ApplyPatch(Session& s, const ResourceDef& def, const std::string& user_id,
                                   const std::string& id, const json& body) {
  const TableSpec& spec = *def.spec;
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, body, core::WriteKind::kPatch);
  if (!errors.empty()) throw HttpError::Fields(errors);
  const json patch = core::CanonicalPatch(spec, body);
  // One statement per table: each writable column is set only when its flag is true.
  std::string sets;
  Params params = {id, user_id};
  int n = 3;
  for (const FieldSpec& f : spec.fields) {
    if (f.access != Access::kWritable) continue;
    const bool given = patch.contains(f.name);
    sets += f.name + " = CASE WHEN $" + std::to_string(n) + "::boolean THEN " +
            Placeholder(f, n + 1) + " ELSE t." + f.name + " END, ";
    params.push_back(given ? "true" : "false");
    params.push_back(given ? core::EncodeField(f, patch.at(f.name)) : std::nullopt);
    n += 2;
  }
  sets.erase(sets.size() - 2);
  if (spec.Find("updated_at")) sets += ", updated_at = now()";
  const std::string sql = "UPDATE " + spec.name + " t SET " + sets +
                          (def.project_scoped ? " FROM project_members m" : "") +
                          " WHERE t.id = $1::uuid AND " + AccessClause(def) + " RETURNING " +
                          ColumnList(spec, "t");
  const pqxx::result r = s.Exec(Stmt(sql), params);
  if (r.empty()) {
    if (def.project_scoped) ExplainMiss(*this, s, spec, id, user_id);
    throw HttpError::Detail(404, "not found");
  }
  return JsonResponse(200, RowJson(spec, r[0], 0));
}

HttpResponse Api::Impl::PatchResource(const ResourceDef& def, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = ParseBody(ctx, options.max_json_depth);
  return WriteAuthed(ctx, [&](Session& s) { return ApplyPatch(s, def, ctx.user_id, id, body); });
}

HttpResponse Api::Impl::ApplyDelete(Session& s, const ResourceDef& def, const std::string& user_id,
                                    const std::string& id) {
  const TableSpec& spec = *def.spec;
  const std::string sql = "DELETE FROM " + spec.name + " t" +
                          (def.project_scoped ? " USING project_members m" : "") +
                          " WHERE t.id = $1::uuid AND " + AccessClause(def) + " RETURNING t.id";
  const pqxx::result r = s.Exec(Stmt(sql), {id, user_id});
  if (r.empty()) {
    if (def.project_scoped) ExplainMiss(*this, s, spec, id, user_id);
    throw HttpError::Detail(404, "not found");
  }
  return NoContent();
}

HttpResponse Api::Impl::DeleteResource(const ResourceDef& def, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return WriteAuthed(ctx, [&](Session& s) { return ApplyDelete(s, def, ctx.user_id, id); });
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
  return WriteAuthed(ctx,
                     [&](Session& s) { return ApplyProject(s, ctx.user_id, "create", id, body); });
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
  return WriteAuthed(ctx,
                     [&](Session& s) { return ApplyProject(s, ctx.user_id, "update", id, body); });
}

HttpResponse Api::Impl::DeleteProject(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return WriteAuthed(ctx,
                     [&](Session& s) { return ApplyProject(s, ctx.user_id, "delete", id, {}); });
}

HttpResponse Api::Impl::ApplyProject(Session& s, const std::string& user_id, const std::string& op,
                                     const std::string& id, const json& fields) {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  if (op == "create") {
    if (!fields.is_object()) throw HttpError::Field({"body"}, "must be a JSON object", "type");
    json body = fields;
    body["id"] = id;
    const std::vector<core::FieldError> errors =
        core::ValidateWrite(spec, body, core::WriteKind::kCreate);
    if (!errors.empty()) throw HttpError::Fields(errors);
    const pqxx::result r =
        s.Exec(Stmt("INSERT INTO projects AS t (id, user_id, name) VALUES ($1::uuid, $2::uuid, $3) "
                    "ON CONFLICT (id) DO NOTHING RETURNING " +
                    ColumnList(spec, "t")),
               {id, user_id, body.at("name").get<std::string>()});
    if (r.empty()) {
      // The id exists: the same project again (a retried create) is returned as is.
      const pqxx::result existing =
          s.Exec(Stmt("SELECT " + ColumnList(spec, "t") +
                      " FROM projects t WHERE t.id = $1::uuid AND t.user_id = $2::uuid"),
                 {id, user_id});
      if (!existing.empty()) {
        const json current = RowJson(spec, existing[0], 0);
        if (core::HoldsValues(current, core::CompleteCreate(spec, body)))
          return JsonResponse(200, current);
      }
      throw HttpError::Detail(409, "a project with this id already exists");
    }
    s.Exec(Stmt("INSERT INTO project_members (project_id, user_id, role) "
                "VALUES ($1::uuid, $2::uuid, 'owner')"),
           {id, user_id});
    return JsonResponse(201, RowJson(spec, r[0], 0));
  }
  const std::optional<std::string> role = Role(s, id, user_id);
  if (op == "delete") {
    if (!role) throw HttpError::Detail(404, "not found");
    if (*role != "owner") throw HttpError::Detail(403, "only the owner can delete a project");
    s.Exec(Stmt("DELETE FROM projects WHERE id = $1::uuid"), {id});
    if (s.role_memo) s.role_memo->erase(id);
    return NoContent();
  }
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, fields, core::WriteKind::kPatch);
  if (!errors.empty()) throw HttpError::Fields(errors);
  if (!role) throw HttpError::Detail(404, "not found");
  if (*role == "viewer") throw HttpError::Detail(403, "viewers cannot change this project");
  const pqxx::result r = s.Exec(
      Stmt("UPDATE projects t SET name = COALESCE($2, t.name), updated_at = now() "
           "WHERE t.id = $1::uuid RETURNING " +
           ColumnList(spec, "t")),
      {id, fields.contains("name") ? Param(fields.at("name").get<std::string>()) : std::nullopt});
  return JsonResponse(200, RowJson(spec, r[0], 0));
}

// ---------------------------------------------------------------- members

json Api::Impl::MembersJson(Session& s, const std::string& project_id) {
  json items = json::array();
  for (const auto& r :
       s.Exec(Stmt("SELECT m.project_id, m.user_id, u.email, u.name, m.role, m.created_at "
                   "FROM project_members m JOIN users u ON u.id = m.user_id "
                   "WHERE m.project_id = $1::uuid ORDER BY m.created_at, m.user_id"),
              {project_id})) {
    const core::TableSpec& ms = core::Spec(core::Entity::kProjectMember);
    items.push_back({{"project_id", r[0].c_str()},
                     {"user_id", r[1].c_str()},
                     {"email", r[2].c_str()},
                     {"name", r[3].c_str()},
                     {"role", r[4].c_str()},
                     {"created_at", core::DecodeField(*ms.Find("created_at"), r[5].c_str())}});
  }
  return items;
}

HttpResponse Api::Impl::ListMembers(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return ReadAuthed(ctx, [&](Session& s) {
    if (!Role(s, id, ctx.user_id)) throw HttpError::Detail(404, "not found");
    json items = MembersJson(s, id);
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
    const std::optional<std::string> my_role = Role(s, id, ctx.user_id);
    if (!my_role) throw HttpError::Detail(404, "not found");
    if (*my_role != "owner") throw HttpError::Detail(403, "only the owner manages members");
    const pqxx::result u =
        s.Exec(Stmt("SELECT id FROM users WHERE lower(email) = lower($1)"), {email});
    if (u.empty()) throw HttpError::Detail(404, "no account with this email");
    const std::string user_id = u[0][0].c_str();
    if (user_id == ctx.user_id) throw HttpError::Detail(409, "the owner is already a member");
    const pqxx::result r =
        s.Exec(Stmt("INSERT INTO project_members (project_id, user_id, role) "
                    "VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT (project_id, user_id) "
                    "DO UPDATE SET role = EXCLUDED.role RETURNING (xmax = 0)"),
               {id, user_id, role.get<std::string>()});
    const bool inserted = r[0][0].as<bool>();
    for (const json& m : MembersJson(s, id)) {
      if (m.at("user_id") == user_id) return JsonResponse(inserted ? 201 : 200, m);
    }
    throw Error(ErrorCode::kInternal, "member vanished");
  });
}

HttpResponse Api::Impl::RemoveMember(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const std::string user_id = RequireUuid(ctx.path.at(1), {"path", "user_id"});
  return WriteAuthed(ctx, [&](Session& s) {
    const std::optional<std::string> my_role = Role(s, id, ctx.user_id);
    if (!my_role) throw HttpError::Detail(404, "not found");
    if (*my_role != "owner") throw HttpError::Detail(403, "only the owner manages members");
    if (user_id == ctx.user_id) throw HttpError::Detail(409, "the owner cannot be removed");
    const pqxx::result r = s.Exec(Stmt("DELETE FROM project_members WHERE project_id = $1::uuid "
                                       "AND user_id = $2::uuid RETURNING user_id"),
                                  {id, user_id});
    if (r.empty()) throw HttpError::Detail(404, "not a member");
    return NoContent();
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
