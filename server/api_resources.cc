// The generic resources (api_resources.h): lists as one statement that
// checks membership, reads the list counter and the page together (rendered
// straight to text), and the single-row routes over the write rules.
#include "server/api_resources.h"

#include <optional>
#include <vector>

#include "core/list_order.h"
#include "server/rows.h"
#include "server/sql_builder.h"

namespace vemakin::server {
namespace {

using core::TableSpec;

// Parses and validates the list filters of `spec` from the query string.
std::map<std::string, std::string> ParseFilters(const TableSpec& spec, const Ctx& ctx) {
  std::map<std::string, std::string> out;
  std::vector<core::FieldError> errors;
  for (const std::string& name : core::ListFilters(spec.entity)) {
    std::optional<std::string> v = ctx.Query(name);
    if (!v) continue;
    for (auto& e : core::ValidateValue(*spec.Find(name), json(*v), {"query", name})) {
      errors.push_back(e);
    }
    out[name] = *v;
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
  return out;
}

// Rows whose image is at most this many bytes leave their list's big-row flag
// unset (schema/postgres/0012_big_rows.up.sql says the same number).
constexpr long long kSmallRowBytes = 4096;

// Renders the rows of a page statement whose item columns start at `first`.
// `sized`: each row ends with page_next (the statement cut the page by the
// budget and says whether a row follows); else the page is cut here, by the
// exact size of its JSON, once the rows before the next one reach `budget`.
PageText RenderPage(const TableSpec& spec, const std::vector<OrderKey>& order,
                    const pqxx::result& r, int first, const Page& page, long long budget,
                    bool sized) {
  PageText out;
  out.items = "[";
  long long rendered = 0;
  bool beyond = false;  // a row follows the last one rendered
  std::optional<pqxx::result::size_type> last;
  for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
    const pqxx::row row = r[i];
    out.total = row[1].as<long long>();
    if (row[first].is_null()) continue;  // the member row alone: no items on this page
    if (rendered == page.limit ||
        (!sized && rendered > 0 && static_cast<long long>(out.items.size()) - 1 >= budget)) {
      beyond = true;  // the one row more than the page, or the first past the budget
      break;
    }
    if (rendered++) out.items += ",";
    AppendRowText(spec, row, first, &out.items);
    if (sized) beyond = row[row.size() - 1].as<bool>();
    last = i;
  }
  out.items += "]";
  out.count = rendered;
  out.has_more = beyond;  // cut by the limit or by the byte budget
  if (out.has_more && last) {
    out.next_cursor = core::CursorAfter(spec, order, RowJson(spec, r[*last], first));
  }
  return out;
}

}  // namespace

std::string RowBytesSql(const TableSpec& spec, const std::string& alias) {
  // Evaluated for every row of every page, so it is kept lean: the fixed
  // part folded into one constant (fields of fixed size, and short text
  // fields at their longest), coalesce only for nullable columns.
  long long fixed = 64;
  std::string variable;
  for (const core::FieldSpec& f : spec.fields) {
    const std::string column = alias + "." + f.name;
    if (f.type == core::FieldType::kText && f.max_length > 0 && f.max_length <= 100) {
      fixed += 4 * f.max_length + 2;  // UTF-8 at its widest, and the quotes
    } else if (f.type == core::FieldType::kText) {
      variable += f.nullable ? " + coalesce(octet_length(" + column + "), 0)"
                             : " + octet_length(" + column + ")";
    } else if (f.type == core::FieldType::kJsonObject || f.type == core::FieldType::kUuidArray) {
      variable += f.nullable ? " + coalesce(pg_column_size(" + column + "), 0)"
                             : " + pg_column_size(" + column + ")";
    } else {
      fixed += 24;
    }
  }
  return std::to_string(fixed) + variable;
}

PageText ResourcePage(ApiContext& api, Session& s, const TableSpec& spec,
                      const std::string& scope_id, const std::string& user_id,
                      const std::map<std::string, std::string>& filters, const Page& page,
                      bool* found) {
  const bool project_scoped = spec.InProject();
  const std::string& scope_col = spec.scope_column;  // project_id, or the owner's user_id
  const std::vector<OrderKey>& order = core::ListOrder(spec.entity);
  Params params = {scope_id};
  std::string head;
  if (project_scoped) {
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
  const std::string total =
      filters.empty() ? "ps." + spec.counter
                      : "(SELECT count(*) FROM " + spec.name + " f WHERE " + count_where + ")";
  // The head of both page statements: the role and the total, then the items.
  auto select = [&](const std::string& total_sql) {
    return "SELECT " + std::string(project_scoped ? "m.role" : "NULL::text") + ", " + total_sql +
           ", ";
  };
  const std::string scope_row =
      " WHERE " + (project_scoped ? std::string("m.project_id = $1::uuid AND "
                                                "m.user_id = $2::uuid")
                                  : std::string("ps.user_id = $1::uuid"));
  const long long budget = page.max_bytes > 0 ? page.max_bytes : api.options().max_page_bytes;

  const PagedSelect sel = BuildPage(spec, spec.name + " t", where, order, page, n);
  params.insert(params.end(), sel.params.begin(), sel.params.end());

  // A list that never held a row over kSmallRowBytes (its flag, migration
  // 0012, read in the same statement) is read as it is: at most limit + 1
  // small rows, cut here by their exact size. The page query is gated on the
  // flag by a LIMIT 0 when it is set (nothing is read; a filter would cost a
  // node call per row scanned, or run the page query for nothing), and so is
  // a filtered list's count; a set flag sends the page to the sized
  // statement below, and is remembered, so later pages of that list go there
  // at once. So that no statement reads more than twice the page's budget,
  // reads whose row limit could make such a page big (a snapshot page asking
  // for thousands of rows, or with little of its budget left) take the sized
  // statement too.
  const std::string big = "ps." + spec.counter + "_big";
  const std::string big_key = spec.counter + ":" + scope_id;
  if (!spec.counter.empty() && (page.limit + 1) * kSmallRowBytes <= 2 * budget &&
      !api.KnownBigList(big_key)) {
    const std::string gated_total =
        filters.empty() ? total : "CASE WHEN " + big + " THEN NULL ELSE " + total + " END";
    const pqxx::result r =
        s.Exec(api.Stmt(select(gated_total) + big + ", x.* " + head +
                        " LEFT JOIN LATERAL (SELECT * FROM (" + sel.sql + ") p LIMIT CASE WHEN " +
                        big + " THEN 0 END) x ON true" + scope_row),
               params);
    *found = !r.empty();
    if (r.empty() || !r[0][2].as<bool>()) return RenderPage(spec, order, r, 3, page, budget, false);
    api.RememberBigList(big_key);
  }

  // The byte budget applied in PostgreSQL, so rows past it never reach this
  // process: each row carries the size of the rows before it on the page (a
  // window over the page's rows in the page's order, stated again rather
  // than trusted to survive the subquery) and whether the page query found a
  // row after it; rows whose predecessors already fill the budget are
  // dropped. The rest come back in list order: a LATERAL join is always a
  // nested loop, which emits the inner rows (the window's output, in its
  // order) as they come for the one outer row; an outer ORDER BY would cost
  // a sort per page for nothing. One window, one WindowAgg: a count(*)
  // OVER () beside it cost a second one.
  params.push_back(std::to_string(budget));
  const std::string budget_ph = "$" + std::to_string(n + static_cast<int>(sel.params.size()));
  const std::string sql =
      select(total) + "x.* " + head + " LEFT JOIN LATERAL (SELECT p.*, coalesce(sum(" +
      RowBytesSql(spec, "p") + ") OVER w, 0) AS page_before, lead(true, 1, false) OVER w AS " +
      "page_next FROM (" + sel.sql + ") p WINDOW w AS (ORDER BY " + core::OrderBy(order, "p") +
      " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) x ON true" + scope_row +
      " AND (x.page_before IS NULL OR x.page_before < " + budget_ph + "::bigint)";
  const pqxx::result r = s.Exec(api.Stmt(sql), params);
  *found = !r.empty();
  return RenderPage(spec, order, r, 2, page, budget, true);
}

HttpResponse ResourcesApi::List(const TableSpec& spec, Ctx& ctx) {
  std::string scope_id;
  if (spec.InProject()) {
    std::optional<std::string> p = ctx.Query("project_id");
    if (!p) throw HttpError::Field({"query", "project_id"}, "field required", "missing");
    scope_id = RequireUuid(*p, {"query", "project_id"});
  }
  const std::map<std::string, std::string> filters = ParseFilters(spec, ctx);
  const Page page = ParsePage(ctx);
  return api_.ReadAuthed(ctx, [&](Session& s) {
    bool found = false;
    const PageText out = ResourcePage(api_, s, spec, spec.InProject() ? scope_id : ctx.user_id,
                                      ctx.user_id, filters, page, &found);
    if (!found) throw HttpError::Detail(404, "project not found");
    return TextResponse(200, EnvelopeText(out, page));
  });
}

HttpResponse ResourcesApi::Create(const TableSpec& spec, Ctx& ctx) {
  const json body = api_.ParseBody(ctx);
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Create(s, spec, ctx.user_id, body), 201);
  });
}

HttpResponse ResourcesApi::Get(const TableSpec& spec, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const std::string sql =
      "SELECT " + ColumnList(spec, "t") + " FROM " + spec.name + " t " +
      (spec.InProject() ? "JOIN project_members m ON m.project_id = t.project_id AND m.user_id "
                          "= $2::uuid WHERE t.id = $1::uuid"
                        : "WHERE t.id = $1::uuid AND t.user_id = $2::uuid");
  return api_.ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result r = s.Exec(api_.Stmt(sql), {id, ctx.user_id});
    if (r.empty()) throw HttpError::Detail(404, "not found");
    return TextResponse(200, RowText(spec, r[0], 0));
  });
}

HttpResponse ResourcesApi::Patch(const TableSpec& spec, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  const json body = api_.ParseBody(ctx);
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Patch(s, spec, ctx.user_id, id, body), 200);
  });
}

HttpResponse ResourcesApi::Delete(const TableSpec& spec, Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return api_.WriteAuthed(ctx, [&](Session& s) {
    return Respond(api_.writes().Delete(s, spec, ctx.user_id, id), 204);
  });
}

void ResourcesApi::RegisterRoutes(Router& router) {
  // One generic resource per table users write, other than projects (whose
  // routes, server/api_projects.h, also manage the owner's membership).
  for (const TableSpec* spec : core::WritableSpecs()) {
    if (spec->entity == core::Entity::kProject) continue;
    const std::string base = "/api/" + spec->route;
    const std::string& name = spec->route;
    router.Add(
        "GET", base, [this, spec](Ctx& ctx) { return List(*spec, ctx); }, "List " + name, spec);
    router.Add(
        "POST", base, [this, spec](Ctx& ctx) { return Create(*spec, ctx); },
        "Create " + name + " (idempotent with a client-chosen id)", spec);
    router.Add(
        "GET", base + "/{id}", [this, spec](Ctx& ctx) { return Get(*spec, ctx); }, "One of " + name,
        spec);
    router.Add(
        "PATCH", base + "/{id}", [this, spec](Ctx& ctx) { return Patch(*spec, ctx); },
        "Change the given fields of one of " + name, spec);
    router.Add(
        "DELETE", base + "/{id}", [this, spec](Ctx& ctx) { return Delete(*spec, ctx); },
        "Delete one of " + name, spec);
  }
}

}  // namespace vemakin::server
