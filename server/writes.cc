// The write rules (server/writes.h). Membership is checked in the same
// statement that writes where possible; a row the user may not see is
// kNotFound, exactly as a row that does not exist.
#include "server/writes.h"

#include <map>

#include "core/json_codec.h"
#include "core/uuid.h"
#include "server/rows.h"
#include "server/sql_builder.h"

namespace vemakin::server {
namespace {

using core::Access;
using core::FieldSpec;
using core::TableSpec;
using nlohmann::json;

bool InProject(const TableSpec& spec) { return spec.scope == core::Scope::kProject; }

json CompleteWithId(const TableSpec& spec, const json& body) {
  json row = core::CompleteCreate(spec, body);
  if (!row.contains("id")) row["id"] = core::NewUuid();
  return row;
}

// The rows of `spec` (alias t) this user ($2) may change.
std::string AccessClause(const TableSpec& spec) {
  return InProject(spec) ? "m.project_id = t.project_id AND m.user_id = $2::uuid AND m.role <> "
                           "'viewer'"
                         : "t." + spec.scope_column + " = $2::uuid";
}

WriteOutcome NotFound(const char* what = "not found") {
  return WriteOutcome::Rejected(ErrorCode::kNotFound, what);
}

WriteOutcome Denied(const char* why) {
  return WriteOutcome::Rejected(ErrorCode::kPermissionDenied, why);
}

}  // namespace

std::optional<std::string> Writes::Role(Session& s, const std::string& project_id,
                                        const std::string& user_id) const {
  if (s.role_memo) {
    auto it = s.role_memo->find(project_id);
    if (it != s.role_memo->end()) return it->second;
  }
  const pqxx::result r = s.Exec(
      Stmt("SELECT role FROM project_members WHERE project_id = $1::uuid AND user_id = $2::uuid"),
      {project_id, user_id});
  if (r.empty()) return std::nullopt;  // not remembered: the project may be created next
  if (s.role_memo) (*s.role_memo)[project_id] = r[0][0].c_str();
  return std::string(r[0][0].c_str());
}

std::optional<WriteOutcome> Writes::RequireEditor(Session& s, const std::string& project_id,
                                                  const std::string& user_id) const {
  const std::optional<std::string> role = Role(s, project_id, user_id);
  if (!role) return NotFound("project not found");
  if (*role == "viewer") return Denied("viewers cannot change this project");
  return std::nullopt;
}

WriteOutcome Writes::Create(Session& s, const TableSpec& spec, const std::string& user_id,
                            const json& body) const {
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, body, core::WriteKind::kCreate);
  if (!errors.empty()) return WriteOutcome::Invalid(errors);
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
  if (!InProject(spec)) {
    cols += ", " + spec.scope_column;
    values += ", $" + std::to_string(n++) + "::uuid";
    params.push_back(user_id);
  }
  const std::string insert = "INSERT INTO " + spec.name + " AS t (" + cols + ") VALUES (" + values +
                             ") ON CONFLICT (id) DO NOTHING RETURNING " + ColumnList(spec, "t");
  if (InProject(spec)) {
    if (auto refused = RequireEditor(s, row.at("project_id"), user_id)) return *refused;
  }
  const pqxx::result r = s.Exec(Stmt(insert), params);
  if (!r.empty()) return WriteOutcome::Created(RowJson(spec, r[0], 0));
  // The id exists: an idempotent repeat returns the row; anything else conflicts.
  const std::string scope_check = "t." + spec.scope_column + " = $2::uuid";
  const pqxx::result existing =
      s.Exec(Stmt("SELECT " + ColumnList(spec, "t") + " FROM " + spec.name +
                  " t WHERE t.id = $1::uuid AND " + scope_check),
             {row.at("id").get<std::string>(),
              InProject(spec) ? row.at("project_id").get<std::string>() : user_id});
  if (!existing.empty()) {
    json current = RowJson(spec, existing[0], 0);
    if (core::HoldsValues(current, row)) return WriteOutcome::Applied(std::move(current));
  }
  return IdClash(s, row.at("id").get<std::string>(), "a row");
}

WriteOutcome Writes::IdClash(Session& s, const std::string& id, const std::string& what) const {
  const pqxx::result retired = s.Exec(Stmt("SELECT 1 FROM retired_ids WHERE id = $1::uuid"), {id});
  if (!retired.empty()) {
    return WriteOutcome::Rejected(ErrorCode::kAlreadyExists,
                                  "this id belonged to a deleted row; ids are never reused");
  }
  return WriteOutcome::Rejected(ErrorCode::kAlreadyExists, what + " with this id already exists");
}

// Each body is checked as Create checks it (validation, role), a refused one
// gets its outcome without touching the database, and the rest are inserted
// by one statement (the triggers that log changes still run per row). An id
// that already exists goes through Create alone (an idempotent repeat, or a
// clash). Applied creates report no row: a push needs none.
std::vector<WriteOutcome> Writes::CreateMany(Session& s, const TableSpec& spec,
                                             const std::string& user_id,
                                             const std::vector<json>& bodies) const {
  std::vector<WriteOutcome> outcomes(bodies.size(), WriteOutcome::Created(nullptr));
  std::string cols;
  for (const FieldSpec& f : spec.fields) {
    if (f.access != Access::kReadOnly) cols += (cols.empty() ? "" : ", ") + f.name;
  }
  if (!InProject(spec)) cols += ", " + spec.scope_column;
  json rows = json::array();
  std::map<std::string, size_t> index;  // id -> position in bodies
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::vector<core::FieldError> errors =
        core::ValidateWrite(spec, bodies[i], core::WriteKind::kCreate);
    if (!errors.empty()) {
      outcomes[i] = WriteOutcome::Invalid(errors);
      continue;
    }
    json row = CompleteWithId(spec, bodies[i]);
    if (InProject(spec)) {
      if (auto refused = RequireEditor(s, row.at("project_id"), user_id)) {
        outcomes[i] = *refused;
        continue;
      }
    } else {
      row[spec.scope_column] = user_id;
    }
    index[row.at("id").get<std::string>()] = i;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return outcomes;
  const pqxx::result inserted =
      s.Exec(Stmt("INSERT INTO " + spec.name + " (" + cols + ") SELECT " + cols +
                  " FROM jsonb_populate_recordset(NULL::" + spec.name +
                  ", $1::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id::text"),
             {rows.dump()});
  for (const pqxx::row& r : inserted) index.erase(r[0].c_str());
  for (const auto& [id, i] : index) {  // the id existed: as a single create would answer
    json body = bodies[i];
    body["id"] = id;
    outcomes[i] = Create(s, spec, user_id, body);
  }
  return outcomes;
}

WriteOutcome Writes::ExplainMiss(Session& s, const TableSpec& spec, const std::string& id,
                                 const std::string& user_id) const {
  if (!InProject(spec)) return NotFound();
  const pqxx::result r =
      s.Exec(Stmt("SELECT m.role FROM " + spec.name +
                  " t JOIN project_members m ON m.project_id = t.project_id AND m.user_id = "
                  "$2::uuid WHERE t.id = $1::uuid"),
             {id, user_id});
  if (!r.empty()) return Denied("viewers cannot change this project");
  return NotFound();
}

WriteOutcome Writes::Patch(Session& s, const TableSpec& spec, const std::string& user_id,
                           const std::string& id, const json& body) const {
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, body, core::WriteKind::kPatch);
  if (!errors.empty()) return WriteOutcome::Invalid(errors);
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
                          (InProject(spec) ? " FROM project_members m" : "") +
                          " WHERE t.id = $1::uuid AND " + AccessClause(spec) + " RETURNING " +
                          ColumnList(spec, "t");
  const pqxx::result r = s.Exec(Stmt(sql), params);
  if (r.empty()) return ExplainMiss(s, spec, id, user_id);
  return WriteOutcome::Applied(RowJson(spec, r[0], 0));
}

WriteOutcome Writes::Delete(Session& s, const TableSpec& spec, const std::string& user_id,
                            const std::string& id) const {
  const std::string sql = "DELETE FROM " + spec.name + " t" +
                          (InProject(spec) ? " USING project_members m" : "") +
                          " WHERE t.id = $1::uuid AND " + AccessClause(spec) + " RETURNING t.id";
  const pqxx::result r = s.Exec(Stmt(sql), {id, user_id});
  if (r.empty()) return ExplainMiss(s, spec, id, user_id);
  return WriteOutcome::Applied();
}

WriteOutcome Writes::Project(Session& s, const std::string& user_id, core::MutationOp op,
                             const std::string& id, const json& fields) const {
  const TableSpec& spec = core::Spec(core::Entity::kProject);
  if (op == core::MutationOp::kCreate) {
    if (!fields.is_object()) {
      return WriteOutcome::Invalid({{{"body"}, "must be a JSON object", "type"}});
    }
    json body = fields;
    body["id"] = id;
    const std::vector<core::FieldError> errors =
        core::ValidateWrite(spec, body, core::WriteKind::kCreate);
    if (!errors.empty()) return WriteOutcome::Invalid(errors);
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
        json current = RowJson(spec, existing[0], 0);
        if (core::HoldsValues(current, core::CompleteCreate(spec, body))) {
          return WriteOutcome::Applied(std::move(current));
        }
      }
      return IdClash(s, id, "a project");
    }
    s.Exec(Stmt("INSERT INTO project_members (project_id, user_id, role) "
                "VALUES ($1::uuid, $2::uuid, 'owner')"),
           {id, user_id});
    return WriteOutcome::Created(RowJson(spec, r[0], 0));
  }
  const std::optional<std::string> role = Role(s, id, user_id);
  if (op == core::MutationOp::kDelete) {
    if (!role) return NotFound();
    if (*role != "owner") return Denied("only the owner can delete a project");
    s.Exec(Stmt("DELETE FROM projects WHERE id = $1::uuid"), {id});
    if (s.role_memo) s.role_memo->erase(id);
    return WriteOutcome::Applied();
  }
  const std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, fields, core::WriteKind::kPatch);
  if (!errors.empty()) return WriteOutcome::Invalid(errors);
  if (!role) return NotFound();
  if (*role == "viewer") return Denied("viewers cannot change this project");
  const pqxx::result r = s.Exec(
      Stmt("UPDATE projects t SET name = COALESCE($2, t.name), updated_at = now() "
           "WHERE t.id = $1::uuid RETURNING " +
           ColumnList(spec, "t")),
      {id, fields.contains("name") ? Param(fields.at("name").get<std::string>()) : std::nullopt});
  return WriteOutcome::Applied(RowJson(spec, r[0], 0));
}

json Writes::Members(Session& s, const std::string& project_id) const {
  const core::TableSpec& ms = core::Spec(core::Entity::kProjectMember);
  json items = json::array();
  for (const auto& r :
       s.Exec(Stmt("SELECT m.project_id, m.user_id, u.email, u.name, m.role, m.created_at "
                   "FROM project_members m JOIN users u ON u.id = m.user_id "
                   "WHERE m.project_id = $1::uuid ORDER BY m.created_at, m.user_id"),
              {project_id})) {
    items.push_back({{"project_id", r[0].c_str()},
                     {"user_id", r[1].c_str()},
                     {"email", r[2].c_str()},
                     {"name", r[3].c_str()},
                     {"role", r[4].c_str()},
                     {"created_at", core::DecodeField(*ms.Find("created_at"), r[5].c_str())}});
  }
  return items;
}

WriteOutcome Writes::AddMember(Session& s, const std::string& owner_id,
                               const std::string& project_id, const std::string& email,
                               const std::string& role, bool* no_account) const {
  if (no_account) *no_account = false;
  const std::optional<std::string> my_role = Role(s, project_id, owner_id);
  if (!my_role) return NotFound();
  if (*my_role != "owner") return Denied("only the owner manages members");
  const pqxx::result u =
      s.Exec(Stmt("SELECT id FROM users WHERE lower(email) = lower($1)"), {email});
  if (u.empty()) {
    if (no_account) *no_account = true;
    return NotFound("no account with this email; they must register first");
  }
  const std::string user_id = u[0][0].c_str();
  if (user_id == owner_id) {
    return WriteOutcome::Rejected(ErrorCode::kAlreadyExists, "the owner is already a member");
  }
  const pqxx::result r =
      s.Exec(Stmt("INSERT INTO project_members (project_id, user_id, role) "
                  "VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT (project_id, user_id) "
                  "DO UPDATE SET role = EXCLUDED.role RETURNING (xmax = 0)"),
             {project_id, user_id, role});
  const bool inserted = r[0][0].as<bool>();
  for (json& m : Members(s, project_id)) {
    if (m.at("user_id") == user_id) {
      return inserted ? WriteOutcome::Created(std::move(m)) : WriteOutcome::Applied(std::move(m));
    }
  }
  throw Error(ErrorCode::kInternal, "member vanished");
}

WriteOutcome Writes::RemoveMember(Session& s, const std::string& owner_id,
                                  const std::string& project_id, const std::string& user_id) const {
  const std::optional<std::string> my_role = Role(s, project_id, owner_id);
  if (!my_role) return NotFound();
  if (*my_role != "owner") return Denied("only the owner manages members");
  if (user_id == owner_id) {
    return WriteOutcome::Rejected(ErrorCode::kAlreadyExists, "the owner cannot be removed");
  }
  const pqxx::result r = s.Exec(Stmt("DELETE FROM project_members WHERE project_id = $1::uuid "
                                     "AND user_id = $2::uuid RETURNING user_id"),
                                {project_id, user_id});
  if (r.empty()) return NotFound("not a member");
  return WriteOutcome::Applied();
}

}  // namespace vemakin::server
