// The client store on SQLite: CRUD with the outbox, validation shared with
// the server, lists (filters, order, skip and cursor), guest mode, the
// indexes the list queries use, and concurrent use from several threads.
#include "vemakin/client/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

namespace vemakin::client {
namespace {

using nlohmann::json;

std::unique_ptr<Store> Memory() {
  ClientOptions o;
  o.path = ":memory:";
  o.logger = std::make_shared<NullLogger>();
  return Store::Open(o);
}

ListQuery InProject(const std::string& project) {
  ListQuery q;
  q.filters["project_id"] = project;
  return q;
}

std::string Render(const std::vector<OutboxEntry>& entries) {
  std::string out;
  for (const OutboxEntry& e : entries) {
    out += e.op + " " + e.table + " " + e.fields.dump() + "\n";
  }
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Memory();
    project_ = store_->Create(Collection::kProjects, {{"name", "Neon Paradox"}}).at("id");
  }
  json Shot(json extra = json::object()) {
    json body = {{"project_id", project_}, {"title", "Shot"}};
    body.update(extra);
    return store_->Create(Collection::kShots, body);
  }
  std::unique_ptr<Store> store_;
  std::string project_;
};

TEST_F(StoreTest, GuestModeWorksAtOnceWithTheStarterCatalog) {
  const StoreStatus s = store_->Status();
  EXPECT_TRUE(core::IsValidUuid(s.client_id));
  EXPECT_TRUE(core::IsValidUuid(s.owner_id));
  EXPECT_FALSE(s.account.has_value());
  EXPECT_EQ(store_->Get(Collection::kProjects, project_).at("user_id"), s.owner_id);
  EXPECT_EQ(store_->Catalog(core::Entity::kGearCategory, {}).total, 13);
  EXPECT_GE(store_->Catalog(core::Entity::kGearBrand, {}).total, 40);
  EXPECT_GE(store_->Catalog(core::Entity::kGearCatalogItem, {}).total, 150);
}

TEST_F(StoreTest, EveryWriteAppendsItsMutationWithOnlyTheChangedFields) {
  const json shot = Shot({{"id", "11111111-2222-4333-8444-555555555555"}, {"date", "2026-12-01"}});
  store_->Update(Collection::kShots, shot.at("id"), {{"status", "done"}});
  store_->Delete(Collection::kShots, shot.at("id"));
  const std::vector<OutboxEntry> outbox = store_->Outbox();
  ASSERT_EQ(outbox.size(), 4u);
  EXPECT_EQ(outbox[0].op + " " + outbox[0].table, "create projects");
  EXPECT_EQ(outbox[1].fields.at("date"), "2026-12-01");
  EXPECT_EQ(outbox[1].fields.at("status"), "pending");  // defaults travel with the create
  EXPECT_FALSE(outbox[1].fields.contains("created_at"));
  EXPECT_EQ(Render({outbox[2], outbox[3]}),
            "update shots {\"status\":\"done\"}\ndelete shots {}\n");
  std::set<std::string> ids;
  for (const OutboxEntry& e : outbox) ids.insert(e.mutation_id);
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(store_->Status().pending_mutations, 4);
}

TEST_F(StoreTest, RefusedWritesChangeNothing) {
  const size_t before = store_->Outbox().size();
  EXPECT_THROW(Shot({{"status", "wrapped"}}), ValidationError);
  EXPECT_THROW(
      store_->Create(Collection::kShots,
                     {{"project_id", "99999999-2222-4333-8444-555555555555"}, {"title", "x"}}),
      Error);
  EXPECT_EQ(store_->Outbox().size(), before);
  EXPECT_EQ(store_->List(Collection::kShots, InProject(project_)).total, 0);
}

TEST_F(StoreTest, ValidationErrorsAreTheServersFieldErrors) {
  const json body = {{"project_id", project_}, {"title", ""}, {"start_time", "25:00"}, {"nope", 1}};
  try {
    store_->Create(Collection::kShots, body);
    FAIL() << "expected a validation error";
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.errors(), core::ValidateWrite(CollectionSpec(Collection::kShots), body,
                                              core::WriteKind::kCreate));
    EXPECT_EQ(e.errors().size(), 3u);
  }
}

TEST_F(StoreTest, UpdateChangesOnlyTheGivenFields) {
  const json shot = Shot({{"location", "Harbour"}, {"date", "2026-12-01"}});
  const json updated = store_->Update(Collection::kShots, shot.at("id"), {{"title", "Renamed"}});
  json expected = shot;
  expected["title"] = "Renamed";
  expected["updated_at"] = updated.at("updated_at");
  EXPECT_EQ(updated, expected);
  EXPECT_THROW(store_->Update(Collection::kShots, shot.at("id"), {{"project_id", project_}}),
               ValidationError);
}

TEST_F(StoreTest, CreateIsIdempotentForTheSameIdAndValues) {
  const json body = {
      {"id", "21111111-2222-4333-8444-555555555555"}, {"project_id", project_}, {"title", "Once"}};
  const json first = store_->Create(Collection::kShots, body);
  EXPECT_EQ(store_->Create(Collection::kShots, body), first);
  json other = body;
  other["title"] = "Twice";
  try {
    store_->Create(Collection::kShots, other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
  }
  EXPECT_EQ(store_->Outbox().size(), 2u);  // the project and one shot
}

TEST_F(StoreTest, DeletingAProjectCascadesLocally) {
  const json shot = Shot();
  const json note = store_->Create(
      Collection::kNotes, {{"project_id", project_}, {"title", "N"}, {"shot_id", shot.at("id")}});
  store_->Delete(Collection::kShots, shot.at("id"));
  EXPECT_EQ(store_->Get(Collection::kNotes, note.at("id")).at("shot_id"), nullptr);
  store_->Delete(Collection::kProjects, project_);
  EXPECT_THROW(store_->Get(Collection::kNotes, note.at("id")), Error);
  EXPECT_EQ(store_->Outbox().back().op, "delete");
}

TEST_F(StoreTest, NotesLinkOnlyToRowsOfTheirProject) {
  const std::string other = store_->Create(Collection::kProjects, {{"name", "Other"}}).at("id");
  const json foreign_shot =
      store_->Create(Collection::kShots, {{"project_id", other}, {"title", "Elsewhere"}});
  EXPECT_THROW(store_->Create(
                   Collection::kNotes,
                   {{"project_id", project_}, {"title", "N"}, {"shot_id", foreign_shot.at("id")}}),
               ValidationError);
}

TEST_F(StoreTest, ListsFilterOrderAndPageBySkipAndCursor) {
  const std::vector<json> dates = {"2026-12-01", "2026-12-02", nullptr};
  const std::vector<json> times = {"06:30", "09:00", nullptr};
  for (int i = 0; i < 23; ++i) {
    Shot({{"title", "S" + std::to_string(i)},
          {"date", dates[i % 3]},
          {"start_time", times[(i / 3) % 3]},
          {"status", i % 4 == 0 ? "done" : "pending"}});
  }
  ListQuery all;
  all.filters["project_id"] = project_;
  all.limit = 1000;
  const ListPage page = store_->List(Collection::kShots, all);
  ASSERT_EQ(page.total, 23);
  std::vector<std::string> expected;
  for (const json& s : page.items) expected.push_back(s.at("id"));
  // date DESC NULLS LAST, start_time ASC NULLS LAST, id.
  for (size_t i = 1; i < page.items.size(); ++i) {
    const json &a = page.items[i - 1], &b = page.items[i];
    if (a.at("date") != b.at("date")) {
      EXPECT_TRUE(b.at("date").is_null() ||
                  (!a.at("date").is_null() && a.at("date") > b.at("date")));
    } else if (a.at("start_time") != b.at("start_time")) {
      EXPECT_TRUE(b.at("start_time").is_null() ||
                  (!a.at("start_time").is_null() && a.at("start_time") < b.at("start_time")));
    } else {
      EXPECT_LT(a.at("id").get<std::string>(), b.at("id").get<std::string>());
    }
  }
  std::vector<std::string> by_skip, by_cursor;
  for (long long skip = 0; skip < 23; skip += 5) {
    ListQuery q;
    q.filters["project_id"] = project_;
    q.limit = 5;
    q.skip = skip;
    for (const json& s : store_->List(Collection::kShots, q).items) by_skip.push_back(s.at("id"));
  }
  EXPECT_EQ(by_skip, expected);
  ListQuery q;
  q.filters["project_id"] = project_;
  q.limit = 5;
  for (int i = 0; i < 10; ++i) {
    const ListPage p = store_->List(Collection::kShots, q);
    for (const json& s : p.items) by_cursor.push_back(s.at("id"));
    if (!p.next_cursor) break;
    q.cursor = *p.next_cursor;
  }
  EXPECT_EQ(by_cursor, expected);
  ListQuery done;
  done.filters = {{"project_id", project_}, {"status", "done"}};
  EXPECT_EQ(store_->List(Collection::kShots, done).total, 6);
  done.filters["status"] = "wrapped";
  EXPECT_THROW(store_->List(Collection::kShots, done), ValidationError);
  ListQuery bad_cursor;
  bad_cursor.filters["project_id"] = project_;
  bad_cursor.cursor = "garbage";
  EXPECT_THROW(store_->List(Collection::kShots, bad_cursor), ValidationError);
}

// Each list query is answered from its index, in index order where the index
// can order it (SQLite sorts NULLs first in ascending order, so for shots and
// tasks only the rows sharing a date, or a status and priority, are sorted).
TEST_F(StoreTest, ListQueriesUseTheirIndexes) {
  struct Case {
    Collection c;
    std::map<std::string, std::string> filters;
    std::string index;
    bool fully_ordered;
  };
  const std::vector<Case> cases = {
      {Collection::kShots, {{"project_id", project_}}, "idx_shots_project_date_time", false},
      {Collection::kNotes, {{"project_id", project_}}, "idx_notes_project_updated", true},
      {Collection::kTasks, {{"project_id", project_}}, "idx_tasks_project_status_priority", false},
      {Collection::kInventory, {}, "idx_equipment_user_category_name", true},
  };
  for (const Case& c : cases) {
    ListQuery q;
    q.filters = c.filters;
    const std::string plan = store_->TestOnlyExplainList(c.c, q);
    EXPECT_NE(plan.find("INDEX " + c.index), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN "), std::string::npos) << plan;
    if (c.fully_ordered) {
      EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    } else {
      // The page's ids come off the covering index (ties sorted per group),
      // then only those rows are fetched by primary key and put in order.
      EXPECT_NE(plan.find("COVERING INDEX " + c.index), std::string::npos) << plan;
      EXPECT_NE(plan.find("USING INDEX sqlite_autoindex_"), std::string::npos) << plan;
    }
  }
  // A cursor page is answered by index range scans too.
  for (int i = 0; i < 3; ++i) Shot({{"date", "2026-12-0" + std::to_string(i + 1)}});
  ListQuery q;
  q.filters["project_id"] = project_;
  q.limit = 1;
  q.cursor = *store_->List(Collection::kShots, q).next_cursor;
  const std::string plan = store_->TestOnlyExplainList(Collection::kShots, q);
  EXPECT_NE(plan.find("INDEX idx_shots_project_date_time"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN shots"), std::string::npos) << plan;
}

TEST_F(StoreTest, BatchIsAllOrNothing) {
  EXPECT_THROW(store_->Batch([&] {
    Shot({{"title", "kept?"}});
    Shot({{"status", "invalid"}});
  }),
               ValidationError);
  EXPECT_EQ(store_->List(Collection::kShots, InProject(project_)).total, 0);
  store_->Batch([&] {
    for (int i = 0; i < 10; ++i) Shot();
  });
  EXPECT_EQ(store_->List(Collection::kShots, InProject(project_)).total, 10);
}

TEST_F(StoreTest, CatalogFilters) {
  std::string camera;
  for (const json& c : store_->Catalog(core::Entity::kGearCategory, {}).items) {
    if (c.at("slug") == "camera") camera = c.at("id");
  }
  ListQuery brands;
  brands.filters["category_id"] = camera;
  EXPECT_GE(store_->Catalog(core::Entity::kGearBrand, brands).total, 8);
  ListQuery items;
  items.filters["category_id"] = camera;
  items.limit = 1000;
  const ListPage page = store_->Catalog(core::Entity::kGearCatalogItem, items);
  EXPECT_GE(page.total, 20);
  for (const json& i : page.items) EXPECT_EQ(i.at("category_id"), camera);
  EXPECT_EQ(store_->CatalogItem(page.items[0].at("id")).at("name"), page.items[0].at("name"));
  ListQuery bad;
  bad.filters["category_id"] = "nope";
  EXPECT_THROW(store_->Catalog(core::Entity::kGearBrand, bad), ValidationError);
}

TEST(StoreFile, SurvivesReopenAndSharesOneFileBetweenThreads) {
  char tmpl[] = "/tmp/vemakin-store-XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  ClientOptions o;
  o.path = dir / "store.db";
  o.logger = std::make_shared<NullLogger>();
  std::string project, client_id;
  {
    auto store = Store::Open(o);
    client_id = store->Status().client_id;
    project = store->Create(Collection::kProjects, {{"name", "Shared"}}).at("id");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          store->Create(
              Collection::kShots,
              {{"project_id", project}, {"title", std::to_string(t) + "/" + std::to_string(i)}});
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  auto reopened = Store::Open(o);
  EXPECT_EQ(reopened->Status().client_id, client_id);
  EXPECT_EQ(reopened->List(Collection::kShots, InProject(project)).total, 100);
  EXPECT_EQ(reopened->Status().pending_mutations, 101);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vemakin::client
