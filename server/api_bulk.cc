// The bulk reads (api_bulk.h), rendered as text around the pages the other
// units render.
#include "server/api_bulk.h"

#include <string>

#include "core/json_codec.h"
#include "server/api_accounts.h"
#include "server/api_projects.h"
#include "server/api_resources.h"
#include "server/rows.h"
#include "server/sql_builder.h"

namespace vemakin::server {

HttpResponse BulkApi::Initial(Ctx& ctx) {
  const std::shared_ptr<const CatalogRows> rows = catalog_.Rows();
  const CatalogRows& catalog = *rows;
  return api_.ReadAuthed(ctx, [&](Session& s) {
    const json user = SignedInUser(api_, s, ctx.user_id);
    Page page;
    page.limit = 1000;
    bool found = false;
    const PageText inventory = ResourcePage(api_, s, core::Spec(core::Entity::kEquipment),
                                            ctx.user_id, ctx.user_id, {}, page, &found);
    return TextResponse(
        200, "{\"user\":" + user.dump() +
                 ",\"projects\":" + ProjectsPage(api_, s, ctx.user_id, page).dump() +
                 ",\"inventory\":" + EnvelopeText(inventory, page) + ",\"catalog\":" +
                 json{{"categories", catalog.categories}, {"brands", catalog.brands}}.dump() + "}");
  });
}

HttpResponse BulkApi::Project(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return api_.ReadAuthed(ctx, [&](Session& s) {
    const core::TableSpec& ps = core::Spec(core::Entity::kProject);
    const pqxx::result p = s.Exec(
        api_.Stmt("SELECT m.role, " + ColumnList(ps, "t") +
                  " FROM projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = "
                  "$2::uuid WHERE t.id = $1::uuid"),
        {id, ctx.user_id});
    if (p.empty()) throw HttpError::Detail(404, "not found");
    Page page;
    page.limit = 1000;
    std::string out = "{\"project\":" + RowText(ps, p[0], 1) + ",\"role\":";
    core::AppendJsonString(p[0][0].c_str(), &out);
    out += ",\"members\":" + api_.writes().Members(s, id).dump();
    // Keyed by route: "shots", "notes", "postprod".
    for (core::Entity entity :
         {core::Entity::kShot, core::Entity::kNote, core::Entity::kPostprodTask}) {
      const core::TableSpec& spec = core::Spec(entity);
      bool found = false;
      out += ",\"" + spec.route + "\":" +
             EnvelopeText(ResourcePage(api_, s, spec, id, ctx.user_id, {}, page, &found), page);
    }
    return TextResponse(200, out + "}");
  });
}

void BulkApi::RegisterRoutes(Router& router) {
  router.Add("GET", "/api/bulk/initial", this, &BulkApi::Initial,
             "User, projects, inventory and catalog in one response");
  router.Add("GET", "/api/bulk/project/{id}", this, &BulkApi::Project,
             "A project with its members, shots, notes and tasks");
}

}  // namespace vemakin::server
