// The REST API through a real socket against a real PostgreSQL: every route,
// the error codes, roles, cross-user isolation, idempotent creates and paging.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

class Api : public ServerSuite {
 protected:
  // A user with a project; returns the project id.
  static std::string NewProject(ApiClient& c, const std::string& name = "Neon Paradox") {
    const Resp r = c.Post("/api/projects", {{"name", name}});
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("id", "");
  }
};

const char kFixedId[] = "5d1c0f3e-9a6b-4c2d-8e7f-0a1b2c3d4e5f";

// ------------------------------------------------------------------ auth

TEST_F(Api, RegisterLoginLogout) {
  ApiClient a(port());
  const json user = a.Register("Ana");
  EXPECT_EQ(user.at("name"), "Ana");
  EXPECT_FALSE(user.contains("password_hash"));
  EXPECT_EQ(a.Get("/api/users/me").body.at("email"), a.email);

  ApiClient b(port());
  Resp login =
      b.Post("/api/auth/login", {{"email", a.email}, {"password", "correct horse battery"}});
  ASSERT_EQ(login.status, 200) << login.raw;
  b.token = login.body.at("token");
  EXPECT_NE(b.token, a.token);
  EXPECT_EQ(b.Get("/api/users/me").status, 200);
  EXPECT_EQ(b.Post("/api/auth/logout", json::object()).status, 204);
  EXPECT_EQ(b.Get("/api/users/me").status, 401);  // that token is revoked
  EXPECT_EQ(a.Get("/api/users/me").status, 200);  // the other one is not
}

TEST_F(Api, LoginIsCaseInsensitiveOnEmailAndRefusesWrongPasswords) {
  ApiClient a(port());
  a.Register();
  ApiClient b(port());
  std::string upper = a.email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(
      b.Post("/api/auth/login", {{"email", upper}, {"password", "correct horse battery"}}).status,
      200);
  const Resp wrong = b.Post("/api/auth/login", {{"email", a.email}, {"password", "nope nope"}});
  EXPECT_EQ(wrong.status, 401);
  const Resp unknown =
      b.Post("/api/auth/login", {{"email", "ghost@example.com"}, {"password", "nope nope"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);  // the same answer: no account enumeration
}

TEST_F(Api, RegisterRefusesDuplicatesAndInvalidInput) {
  ApiClient a(port());
  a.Register();
  ApiClient b(port());
  std::string upper = a.email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(b.Post("/api/auth/register",
                   {{"email", upper}, {"password", "another secret"}, {"name", "B"}})
                .status,
            409);
  const Resp bad = b.Post("/api/auth/register", {{"email", "no-at-sign"}, {"password", "short"}});
  ASSERT_EQ(bad.status, 422) << bad.raw;
  std::set<std::string> locs;
  for (const json& e : bad.body.at("detail")) locs.insert(e.at("loc").back().get<std::string>());
  EXPECT_EQ(locs, (std::set<std::string>{"email", "password", "name"}));
}

TEST_F(Api, RefusesMissingAndForgedTokens) {
  ApiClient c(port());
  Resp r = c.Get("/api/projects");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.at("detail"), "not authenticated");
  c.token = "forged-token";
  EXPECT_EQ(c.Get("/api/projects").status, 401);
  EXPECT_EQ(c.Get("/api/catalog/categories").status, 401);
}

TEST_F(Api, RateLimitsRepeatedFailedLoginsPerEmail) {
  ApiClient a(port());
  a.Register();
  ApiClient b(port());
  int last = 0;
  for (int i = 0; i < 11; ++i) {
    last = b.Post("/api/auth/login", {{"email", a.email}, {"password", "wrong guess"}}).status;
  }
  EXPECT_EQ(last, 429);
  const Resp r = b.Post("/api/auth/login", {{"email", a.email}, {"password", "wrong guess"}});
  EXPECT_FALSE(r.headers.find("Retry-After") == r.headers.end());
}

TEST_F(Api, UpdatesTheProfileAndRefusesMassAssignment) {
  ApiClient a(port());
  const json me = a.Register();
  Resp r = a.Patch("/api/users/me", {{"name", "Renamed"}, {"settings", {{"theme", "dark"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.at("settings").at("theme"), "dark");
  r = a.Patch("/api/users/me", {{"email", "x@y.z"}, {"id", kFixedId}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(a.Get("/api/users/me").body.at("email"), me.at("email"));
}

// ------------------------------------------------------------------ projects

TEST_F(Api, ProjectCrudAndIdempotentCreate) {
  ApiClient a(port());
  a.Register();
  const json mine = {{"id", RandomUuid()}, {"name", "Neon Paradox"}};
  Resp created = a.Post("/api/projects", mine);
  ASSERT_EQ(created.status, 201) << created.raw;
  Resp again = a.Post("/api/projects", mine);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, created.body);
  json changed = mine;
  changed["name"] = "Other";
  EXPECT_EQ(a.Post("/api/projects", changed).status, 409);
  const std::string id = mine["id"];
  EXPECT_EQ(a.Get("/api/projects/" + id).body.at("name"), "Neon Paradox");
  Resp list = a.Get("/api/projects");
  EXPECT_EQ(list.body.at("total"), 1);
  EXPECT_EQ(list.body.at("items").size(), 1u);
  EXPECT_EQ(a.Patch("/api/projects/" + id, {{"name", "Neon Paradox II"}}).body.at("name"),
            "Neon Paradox II");
  EXPECT_EQ(a.Delete("/api/projects/" + id).status, 204);
  EXPECT_EQ(a.Get("/api/projects/" + id).status, 404);
}

TEST_F(Api, DeletingAProjectDeletesItsShotsNotesAndTasks) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const std::string shot = a.Post("/api/shots", {{"project_id", p}, {"title", "S"}}).body.at("id");
  const std::string note = a.Post("/api/notes", {{"project_id", p}, {"title", "N"}}).body.at("id");
  const std::string task =
      a.Post("/api/postprod", {{"project_id", p}, {"title", "T"}, {"category", "VFX"}})
          .body.at("id");
  EXPECT_EQ(a.Delete("/api/projects/" + p).status, 204);
  EXPECT_EQ(a.Get("/api/shots/" + shot).status, 404);
  EXPECT_EQ(a.Get("/api/notes/" + note).status, 404);
  EXPECT_EQ(a.Get("/api/postprod/" + task).status, 404);
  auto conn = server_->Connect();
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM shots WHERE project_id = $1", p)[0][0].as<int>(),
            0);
}

// ------------------------------------------------------------------ resources

TEST_F(Api, ShotCrudPatchesOnlyTheGivenFields) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  Resp created = a.Post("/api/shots", {{"project_id", p},
                                       {"title", "Opening crane"},
                                       {"date", "2026-12-01"},
                                       {"start_time", "06:30"},
                                       {"location_lat", 43.2965},
                                       {"equipment_ids", {kFixedId}}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const json& shot = created.body;
  EXPECT_EQ(shot.at("status"), "pending");
  EXPECT_EQ(shot.at("description"), "");
  const std::string id = shot.at("id");
  Resp patched = a.Patch("/api/shots/" + id, {{"status", "done"}});
  ASSERT_EQ(patched.status, 200);
  json expected = shot;
  expected["status"] = "done";
  expected["updated_at"] = patched.body.at("updated_at");
  EXPECT_EQ(patched.body, expected);
  EXPECT_GT(patched.body.at("updated_at").get<std::string>(),
            shot.at("updated_at").get<std::string>());
  EXPECT_EQ(a.Patch("/api/shots/" + id, {{"remarks", nullptr}, {"date", nullptr}}).body.at("date"),
            nullptr);
  EXPECT_EQ(a.Delete("/api/shots/" + id).status, 204);
  EXPECT_EQ(a.Get("/api/shots/" + id).status, 404);
  EXPECT_EQ(a.Delete("/api/shots/" + id).status, 404);
}

TEST_F(Api, NotesLinkToShotsAndTasksAndLoseTheLinkWhenTheyGo) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const std::string shot = a.Post("/api/shots", {{"project_id", p}, {"title", "S"}}).body.at("id");
  const std::string task =
      a.Post("/api/postprod", {{"project_id", p}, {"title", "T"}, {"category", "Sound"}})
          .body.at("id");
  Resp note =
      a.Post("/api/notes",
             {{"project_id", p}, {"title", "Wind noise"}, {"shot_id", shot}, {"task_id", task}});
  ASSERT_EQ(note.status, 201) << note.raw;
  const std::string id = note.body.at("id");
  EXPECT_EQ(a.Get("/api/notes?project_id=" + p + "&shot_id=" + shot).body.at("total"), 1);
  EXPECT_EQ(a.Get("/api/notes?project_id=" + p + "&task_id=" + task).body.at("total"), 1);
  a.Delete("/api/shots/" + shot);
  a.Delete("/api/postprod/" + task);
  const Resp after = a.Get("/api/notes/" + id);
  EXPECT_EQ(after.body.at("shot_id"), nullptr);
  EXPECT_EQ(after.body.at("task_id"), nullptr);
}

// A note links only to a shot or task of its own project: a link into another
// project (even one the user owns) is refused, on create and on update.
TEST_F(Api, NotesCannotLinkIntoAnotherProject) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const std::string other = NewProject(a);
  const std::string shot =
      a.Post("/api/shots", {{"project_id", other}, {"title", "Elsewhere"}}).body.at("id");
  const Resp create = a.Post("/api/notes", {{"project_id", p}, {"title", "N"}, {"shot_id", shot}});
  EXPECT_EQ(create.status, 422) << create.raw;
  const Resp ok = a.Post("/api/notes", {{"project_id", p}, {"title", "N"}});
  ASSERT_EQ(ok.status, 201) << ok.raw;
  const Resp patch =
      a.Patch("/api/notes/" + ok.body.at("id").get<std::string>(), {{"shot_id", shot}});
  EXPECT_EQ(patch.status, 422) << patch.raw;
  EXPECT_EQ(a.Get("/api/notes/" + ok.body.at("id").get<std::string>()).body.at("shot_id"), nullptr);
}

TEST_F(Api, TasksListFiltersAndOrder) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  for (const auto& [status, priority, category] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"todo", "high", "VFX"},
           {"done", "low", "Color"},
           {"todo", "critical", "Sound"},
           {"review", "medium", "VFX"}}) {
    ASSERT_EQ(a.Post("/api/postprod", {{"project_id", p},
                                       {"title", status + "/" + priority},
                                       {"status", status},
                                       {"priority", priority},
                                       {"category", category}})
                  .status,
              201);
  }
  Resp all = a.Get("/api/postprod?project_id=" + p);
  std::vector<std::string> titles;
  for (const json& t : all.body.at("items")) titles.push_back(t.at("title"));
  EXPECT_EQ(titles,
            (std::vector<std::string>{"done/low", "review/medium", "todo/critical", "todo/high"}));
  EXPECT_EQ(a.Get("/api/postprod?project_id=" + p + "&status=todo").body.at("total"), 2);
  EXPECT_EQ(a.Get("/api/postprod?project_id=" + p + "&category=VFX&status=todo").body.at("total"),
            1);
  EXPECT_EQ(a.Get("/api/postprod?project_id=" + p + "&priority=urgent").status, 422);
}

TEST_F(Api, InventoryBelongsToItsOwner) {
  ApiClient a(port());
  a.Register();
  Resp e = a.Post(
      "/api/inventory",
      {{"name", "FX3 body"}, {"category", "Camera"}, {"price_per_day", 89.5}, {"quantity", 2}});
  ASSERT_EQ(e.status, 201) << e.raw;
  EXPECT_EQ(e.body.at("is_owned"), true);
  EXPECT_EQ(e.body.at("status"), "operational");
  a.Post("/api/inventory", {{"name", "Aputure 600d"}, {"category", "Light"}, {"status", "broken"}});
  EXPECT_EQ(a.Get("/api/inventory").body.at("total"), 2);
  EXPECT_EQ(a.Get("/api/inventory?status=broken").body.at("total"), 1);
  EXPECT_EQ(a.Get("/api/inventory?category=Camera").body.at("items")[0].at("name"), "FX3 body");
  const Resp bad =
      a.Post("/api/inventory", {{"name", "X"}, {"category", "Spaceship"}, {"price_per_day", -1}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.body.at("detail").size(), 2u);
  ApiClient b(port());
  b.Register();
  EXPECT_EQ(b.Get("/api/inventory").body.at("total"), 0);
  EXPECT_EQ(b.Get("/api/inventory/" + e.body.at("id").get<std::string>()).status, 404);
}

TEST_F(Api, IdempotentCreateOfAShotWithAClientChosenId) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const json body = {{"id", RandomUuid()}, {"project_id", p}, {"title", "Retry me"}};
  const Resp first = a.Post("/api/shots", body);
  ASSERT_EQ(first.status, 201) << first.raw;
  const Resp second = a.Post("/api/shots", body);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(a.Get("/api/shots?project_id=" + p).body.at("total"), 1);
  json different = body;
  different["title"] = "Something else";
  EXPECT_EQ(a.Post("/api/shots", different).status, 409);
}

// ------------------------------------------------------------------ roles

TEST_F(Api, ViewersReadEditorsWriteOnlyOwnersManage) {
  ApiClient owner(port()), editor(port()), viewer(port()), stranger(port());
  owner.Register();
  const json editor_user = editor.Register();
  const json viewer_user = viewer.Register();
  stranger.Register();
  const std::string p = NewProject(owner);
  EXPECT_EQ(
      owner.Post("/api/projects/" + p + "/members", {{"email", editor.email}, {"role", "editor"}})
          .status,
      201);
  EXPECT_EQ(
      owner.Post("/api/projects/" + p + "/members", {{"email", viewer.email}, {"role", "viewer"}})
          .status,
      201);
  EXPECT_EQ(owner.Get("/api/projects/" + p + "/members").body.at("total"), 3);
  // Editors write.
  Resp shot = editor.Post("/api/shots", {{"project_id", p}, {"title", "By the editor"}});
  ASSERT_EQ(shot.status, 201);
  const std::string sid = shot.body.at("id");
  EXPECT_EQ(editor.Patch("/api/shots/" + sid, {{"status", "done"}}).status, 200);
  EXPECT_EQ(editor.Patch("/api/projects/" + p, {{"name", "Renamed by editor"}}).status, 200);
  // Viewers read, never write.
  EXPECT_EQ(viewer.Get("/api/shots/" + sid).status, 200);
  EXPECT_EQ(viewer.Get("/api/shots?project_id=" + p).body.at("total"), 1);
  EXPECT_EQ(viewer.Post("/api/shots", {{"project_id", p}, {"title", "No"}}).status, 403);
  EXPECT_EQ(viewer.Patch("/api/shots/" + sid, {{"title", "No"}}).status, 403);
  EXPECT_EQ(viewer.Delete("/api/shots/" + sid).status, 403);
  EXPECT_EQ(viewer.Patch("/api/projects/" + p, {{"name", "No"}}).status, 403);
  EXPECT_EQ(editor.Get("/api/shots/" + sid).body.at("title"), "By the editor");
  // Only the owner manages members and deletes the project.
  EXPECT_EQ(editor.Post("/api/projects/" + p + "/members", {{"email", stranger.email}}).status,
            403);
  EXPECT_EQ(editor.Delete("/api/projects/" + p).status, 403);
  EXPECT_EQ(
      owner.Delete("/api/projects/" + p + "/members/" + viewer_user.at("id").get<std::string>())
          .status,
      204);
  EXPECT_EQ(viewer.Get("/api/shots/" + sid).status, 404);  // access gone with membership
  EXPECT_EQ(owner.Post("/api/projects/" + p + "/members", {{"email", "ghost@example.com"}}).status,
            404);
  EXPECT_EQ(owner.Post("/api/projects/" + p + "/members", {{"email", owner.email}}).status, 409);
  EXPECT_EQ(
      owner.Post("/api/projects/" + p + "/members", {{"email", editor.email}, {"role", "owner"}})
          .status,
      422);
  (void)editor_user;
}

// Every route, called by a stranger with another user's ids, answers 404 and
// changes nothing.
TEST_F(Api, AnotherUsersRowsAreInvisibleOnEveryRoute) {
  ApiClient a(port()), b(port());
  a.Register();
  b.Register();
  const std::string p = NewProject(a);
  const std::string shot =
      a.Post("/api/shots", {{"project_id", p}, {"title", "Secret"}}).body.at("id");
  const std::string note =
      a.Post("/api/notes", {{"project_id", p}, {"title", "Secret"}}).body.at("id");
  const std::string task =
      a.Post("/api/postprod", {{"project_id", p}, {"title", "Secret"}, {"category", "VFX"}})
          .body.at("id");
  const std::string gear =
      a.Post("/api/inventory", {{"name", "Secret"}, {"category", "Lens"}}).body.at("id");
  const std::vector<std::pair<std::string, std::string>> rows = {{"/api/shots/", shot},
                                                                 {"/api/notes/", note},
                                                                 {"/api/postprod/", task},
                                                                 {"/api/inventory/", gear},
                                                                 {"/api/projects/", p}};
  for (const auto& [base, id] : rows) {
    EXPECT_EQ(b.Get(base + id).status, 404) << base;
    // A body with a field this resource lacks fails validation before any lookup.
    EXPECT_EQ(b.Patch(base + id, {{"title", "Pwned"}, {"name", "Pwned"}}).status, 422) << base;
    const std::string field =
        base == "/api/projects/" || base == "/api/inventory/" ? "name" : "title";
    EXPECT_EQ(b.Patch(base + id, {{field, "Pwned"}}).status, 404) << base;
    EXPECT_EQ(b.Delete(base + id).status, 404) << base;
  }
  for (const char* list : {"/api/shots", "/api/notes", "/api/postprod"}) {
    EXPECT_EQ(b.Get(std::string(list) + "?project_id=" + p).status, 404) << list;
    json body = {{"project_id", p}, {"title", "Injected"}};
    if (std::string(list) == "/api/postprod") body["category"] = "VFX";
    EXPECT_EQ(b.Post(list, body).status, 404) << list;
  }
  EXPECT_EQ(b.Get("/api/projects/" + p + "/members").status, 404);
  EXPECT_EQ(b.Post("/api/projects/" + p + "/members", {{"email", b.email}}).status, 404);
  EXPECT_EQ(b.Get("/api/bulk/project/" + p).status, 404);
  EXPECT_EQ(b.Get("/api/projects").body.at("total"), 0);
  // Nothing changed for the owner.
  for (const auto& [base, id] : rows) {
    const Resp r = a.Get(base + id);
    EXPECT_EQ(r.status, 200) << base;
    EXPECT_EQ(r.body.value("title", r.body.value("name", "")),
              base == "/api/projects/" ? "Neon Paradox" : "Secret");
  }
  EXPECT_EQ(a.Get("/api/shots?project_id=" + p).body.at("total"), 1);
}

TEST_F(Api, MassAssignmentIsRefused) {
  ApiClient a(port()), b(port());
  a.Register();
  b.Register();
  const std::string p = NewProject(a);
  const std::string other = NewProject(b);
  const Resp shot = a.Post("/api/shots", {{"project_id", p}, {"title", "Mine"}});
  const std::string id = shot.body.at("id");
  const Resp r = a.Patch("/api/shots/" + id, {{"id", kFixedId},
                                              {"project_id", other},
                                              {"created_at", "2000-01-01T00:00:00Z"},
                                              {"title", "Changed"}});
  ASSERT_EQ(r.status, 422) << r.raw;
  std::set<std::string> locs;
  for (const json& e : r.body.at("detail")) locs.insert(e.at("loc").back().get<std::string>());
  EXPECT_EQ(locs, (std::set<std::string>{"id", "project_id", "created_at"}));
  EXPECT_EQ(a.Get("/api/shots/" + id).body, shot.body);
  EXPECT_EQ(a.Post("/api/projects", {{"name", "X"}, {"user_id", kFixedId}}).status, 422);
}

// ------------------------------------------------------------------ paging

// 23 shots with ties on every key and NULL dates/times: walking by skip and
// by cursor must visit each exactly once, in the one deterministic order.
TEST_F(Api, PagingBySkipAndByCursorVisitsEveryRowOnceInOrder) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const std::vector<json> dates = {"2026-12-01", "2026-12-02", nullptr};
  const std::vector<json> times = {"06:30", "09:00", nullptr};
  for (int i = 0; i < 23; ++i) {
    ASSERT_EQ(a.Post("/api/shots", {{"project_id", p},
                                    {"title", "Shot " + std::to_string(i)},
                                    {"date", dates[i % 3]},
                                    {"start_time", times[(i / 3) % 3]}})
                  .status,
              201);
  }
  const Resp one = a.Get("/api/shots?project_id=" + p + "&limit=1000");
  ASSERT_EQ(one.body.at("total"), 23);
  std::vector<std::string> expected;
  for (const json& s : one.body.at("items")) expected.push_back(s.at("id"));
  // The order is date DESC NULLS LAST, start_time ASC NULLS LAST, id.
  std::vector<json> sorted(one.body.at("items").begin(), one.body.at("items").end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const json& x, const json& y) {
    auto key = [](const json& s) {
      return std::make_tuple(
          s.at("date").is_null(),
          s.at("date").is_null() ? std::string() : s.at("date").get<std::string>(),
          s.at("start_time").is_null(),
          s.at("start_time").is_null() ? std::string() : s.at("start_time").get<std::string>(),
          s.at("id").get<std::string>());
    };
    auto kx = key(x), ky = key(y);
    if (std::get<0>(kx) != std::get<0>(ky)) return !std::get<0>(kx);
    if (std::get<1>(kx) != std::get<1>(ky)) return std::get<1>(kx) > std::get<1>(ky);
    if (std::get<2>(kx) != std::get<2>(ky)) return !std::get<2>(kx);
    if (std::get<3>(kx) != std::get<3>(ky)) return std::get<3>(kx) < std::get<3>(ky);
    return std::get<4>(kx) < std::get<4>(ky);
  });
  std::vector<std::string> sorted_ids;
  for (const json& s : sorted) sorted_ids.push_back(s.at("id"));
  EXPECT_EQ(expected, sorted_ids);

  std::vector<std::string> by_skip;
  for (int skip = 0; skip < 30; skip += 7) {
    const Resp r = a.Get("/api/shots?project_id=" + p + "&limit=7&skip=" + std::to_string(skip));
    EXPECT_EQ(r.body.at("total"), 23);
    EXPECT_EQ(r.body.at("has_more"), skip + 7 < 23);
    for (const json& s : r.body.at("items")) by_skip.push_back(s.at("id"));
  }
  EXPECT_EQ(by_skip, expected);

  std::vector<std::string> by_cursor;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const Resp r = a.Get("/api/shots?project_id=" + p + "&limit=7" +
                         (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.raw;
    for (const json& s : r.body.at("items")) by_cursor.push_back(s.at("id"));
    if (!r.body.at("has_more").get<bool>()) {
      EXPECT_EQ(r.body.at("next_cursor"), nullptr);
      break;
    }
    cursor = r.body.at("next_cursor");
  }
  EXPECT_EQ(by_cursor, expected);
}

TEST_F(Api, PagingParametersAreValidated) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  const std::string base = "/api/shots?project_id=" + p;
  EXPECT_EQ(a.Get(base + "&limit=-1").status, 422);
  EXPECT_EQ(a.Get(base + "&skip=-5").status, 422);
  EXPECT_EQ(a.Get(base + "&limit=abc").status, 422);
  EXPECT_EQ(a.Get(base + "&limit=5000").body.at("limit"), 1000);
  EXPECT_EQ(a.Get(base + "&cursor=not-a-cursor").status, 422);
  EXPECT_EQ(a.Get(base + "&cursor=WyJ4Il0").status, 422);  // ["x"]: wrong shape
  EXPECT_EQ(a.Get("/api/shots").status, 422);              // project_id required
  EXPECT_EQ(a.Get("/api/shots?project_id=nope").status, 422);
  EXPECT_EQ(a.Get(base + "&status=wrapped").status, 422);
  EXPECT_EQ(a.Get(base + "&date=2026-02-30").status, 422);
}

// ------------------------------------------------------------------ catalog, bulk, ops

TEST_F(Api, CatalogIsServedWithFilters) {
  ApiClient a(port());
  a.Register();
  const Resp cats = a.Get("/api/catalog/categories");
  ASSERT_EQ(cats.status, 200);
  EXPECT_EQ(cats.body.at("total"), 13);
  std::string camera;
  for (const json& c : cats.body.at("items")) {
    if (c.at("slug") == "camera") camera = c.at("id");
  }
  const Resp brands = a.Get("/api/catalog/brands?category_id=" + camera);
  EXPECT_GE(brands.body.at("total").get<int>(), 8);
  const Resp items = a.Get("/api/catalog/items?category_id=" + camera + "&limit=1000");
  EXPECT_GE(items.body.at("total").get<int>(), 20);
  for (const json& i : items.body.at("items")) EXPECT_EQ(i.at("category_id"), camera);
  const std::string one = items.body.at("items")[0].at("id");
  EXPECT_EQ(a.Get("/api/catalog/items/" + one).body.at("id"), one);
  EXPECT_EQ(a.Get("/api/catalog/items/" + std::string(kFixedId)).status, 404);
  EXPECT_GE(a.Get("/api/catalog/items").body.at("total").get<int>(), 150);
}

TEST_F(Api, BulkReadsReturnEverythingAScreenNeeds) {
  ApiClient a(port());
  a.Register();
  const std::string p = NewProject(a);
  a.Post("/api/shots", {{"project_id", p}, {"title", "S"}});
  a.Post("/api/notes", {{"project_id", p}, {"title", "N"}});
  a.Post("/api/inventory", {{"name", "E"}, {"category", "Grip"}});
  const Resp initial = a.Get("/api/bulk/initial");
  ASSERT_EQ(initial.status, 200) << initial.raw;
  EXPECT_EQ(initial.body.at("user").at("email"), a.email);
  EXPECT_EQ(initial.body.at("projects").at("total"), 1);
  EXPECT_EQ(initial.body.at("inventory").at("total"), 1);
  EXPECT_EQ(initial.body.at("catalog").at("categories").size(), 13u);
  const Resp project = a.Get("/api/bulk/project/" + p);
  ASSERT_EQ(project.status, 200) << project.raw;
  EXPECT_EQ(project.body.at("role"), "owner");
  EXPECT_EQ(project.body.at("shots").at("total"), 1);
  EXPECT_EQ(project.body.at("notes").at("total"), 1);
  EXPECT_EQ(project.body.at("postprod").at("total"), 0);
  EXPECT_EQ(project.body.at("members").size(), 1u);
}

TEST_F(Api, OperationalRoutes) {
  ApiClient a(port());
  EXPECT_EQ(a.Get("/health").body.at("database"), "ok");
  const Resp pool = a.Get("/admin/pool-status");
  ASSERT_EQ(pool.status, 200);
  for (const char* key : {"size", "checked_in", "checked_out", "overflow", "waiters"}) {
    EXPECT_TRUE(pool.body.contains(key)) << key;
  }
  const Resp metrics = a.Get("/metrics");
  EXPECT_NE(metrics.raw.find("vemakin_http_requests_total{method=\"GET\",route=\"/health\""),
            std::string::npos);
  EXPECT_NE(metrics.raw.find("vemakin_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.raw.find("vemakin_pool_checked_out"), std::string::npos);
  const Resp spec = a.Get("/openapi.json");
  ASSERT_EQ(spec.status, 200);
  for (const char* path : {"/api/auth/register",
                           "/api/auth/login",
                           "/api/auth/logout",
                           "/api/users/me",
                           "/api/projects",
                           "/api/projects/{id}",
                           "/api/projects/{id}/members",
                           "/api/projects/{id}/members/{user_id}",
                           "/api/shots",
                           "/api/shots/{id}",
                           "/api/notes",
                           "/api/notes/{id}",
                           "/api/postprod",
                           "/api/postprod/{id}",
                           "/api/inventory",
                           "/api/inventory/{id}",
                           "/api/catalog/categories",
                           "/api/catalog/brands",
                           "/api/catalog/items",
                           "/api/catalog/items/{id}",
                           "/api/bulk/initial",
                           "/api/bulk/project/{id}",
                           "/health",
                           "/admin/pool-status",
                           "/metrics"}) {
    EXPECT_TRUE(spec.body.at("paths").contains(path)) << path;
  }
  EXPECT_EQ(a.Get("/nope").status, 404);
  EXPECT_EQ(a.Delete("/health").status, 405);
}

TEST_F(Api, AnswersCorsPreflights) {
  httplib::Client http("127.0.0.1", port());
  const auto r = http.Options(
      "/api/shots", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_NE(r->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);
  EXPECT_NE(r->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

}  // namespace
}  // namespace vemakin::testing
