// The database itself refuses what the model forbids (SPEC.md section 1:
// "enforced by the database, not only by code"): bad rows inserted straight
// into PostgreSQL, bypassing every line of C++, must fail with the right
// SQLSTATE; every value the model allows must be accepted.
#include <gtest/gtest.h>

#include "core/model.h"
#include "tests/support/pg_test.h"

namespace vemakin::server {
namespace {

constexpr char kUser[] = "00000000-0000-4000-8000-000000000001";
constexpr char kProject[] = "00000000-0000-4000-8000-000000000002";
constexpr char kShot[] = "00000000-0000-4000-8000-000000000003";
constexpr char kTask[] = "00000000-0000-4000-8000-000000000004";
constexpr char kCategory[] = "00000000-0000-4000-8000-000000000005";
constexpr char kBrand[] = "00000000-0000-4000-8000-000000000006";
constexpr char kItem[] = "00000000-0000-4000-8000-000000000007";
constexpr char kMissing[] = "00000000-0000-4000-8000-0000000000ff";
constexpr char kNew[] = "00000000-0000-4000-8000-000000000100";

constexpr char kCheck[] = "23514";
constexpr char kNotNull[] = "23502";
constexpr char kForeignKey[] = "23503";
constexpr char kUnique[] = "23505";
constexpr char kDateOutOfRange[] = "22008";

class Constraints : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.MigrateUp();
    conn_ = schema_.Connect();
    pqxx::work tx(*conn_);
    tx.exec_params(
        "INSERT INTO users (id, email, name, password_hash) "
        "VALUES ($1, 'Owner@Example.com', 'Owner', '$argon2id$v=19$x')",
        kUser);
    tx.exec_params("INSERT INTO projects (id, user_id, name) VALUES ($1, $2, 'Neon Paradox')",
                   kProject, kUser);
    tx.exec_params("INSERT INTO shots (id, project_id, title) VALUES ($1, $2, 'Opening')", kShot,
                   kProject);
    tx.exec_params(
        "INSERT INTO postprod_tasks (id, project_id, category, title) "
        "VALUES ($1, $2, 'Color', 'Grade')",
        kTask, kProject);
    tx.exec_params("INSERT INTO gear_categories (id, name, slug) VALUES ($1, 'Camera', 'camera')",
                   kCategory);
    tx.exec_params("INSERT INTO gear_brands (id, name) VALUES ($1, 'Sony')", kBrand);
    tx.exec_params(
        "INSERT INTO gear_catalog (id, category_id, brand_id, name) "
        "VALUES ($1, $2, $3, 'FX3')",
        kItem, kCategory, kBrand);
    tx.commit();
  }

  // SQLSTATE of running `sql` (with $1 = kUser, $2 = kProject, ... bound), "ok" on success.
  // Each statement runs in its own rolled-back transaction.
  std::string Try(const std::string& sql) {
    pqxx::work tx(*conn_);
    try {
      tx.exec(sql);
      return "ok";
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate();
    }
  }

  std::string Sub(std::string sql) {
    const std::pair<const char*, const char*> names[] = {
        {"{user}", kUser}, {"{project}", kProject},   {"{shot}", kShot},
        {"{task}", kTask}, {"{category}", kCategory}, {"{brand}", kBrand},
        {"{item}", kItem}, {"{missing}", kMissing},   {"{new}", kNew}};
    for (const auto& [key, value] : names) {
      for (size_t pos; (pos = sql.find(key)) != std::string::npos;) {
        sql.replace(pos, std::string(key).size(), std::string("'") + value + "'");
      }
    }
    return sql;
  }

  std::string Count(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<std::string>();
  }

  testing::TestSchema schema_;
  std::unique_ptr<pqxx::connection> conn_;
};

struct Case {
  const char* what;
  const char* sql;
  const char* sqlstate;
};

TEST_F(Constraints, RefusesBadRows) {
  const Case cases[] = {
      {"email without @",
       "INSERT INTO users (id,email,name,password_hash) VALUES ({new},'nobody','N','$argon2id$x')",
       kCheck},
      {"email differing only in case",
       "INSERT INTO users (id,email,name,password_hash) VALUES "
       "({new},'owner@EXAMPLE.com','N','$argon2id$x')",
       kUnique},
      {"plain-text password",
       "INSERT INTO users (id,email,name,password_hash) VALUES ({new},'n@x.io','N','hunter2')",
       kCheck},
      {"settings not an object",
       "INSERT INTO users (id,email,name,password_hash,settings) VALUES "
       "({new},'n@x.io','N','$argon2id$x','[]')",
       kCheck},
      {"user without name",
       "INSERT INTO users (id,email,password_hash) VALUES ({new},'n@x.io','$argon2id$x')",
       kNotNull},
      {"token hash not 32 bytes",
       "INSERT INTO api_tokens (token_hash,user_id,expires_at) VALUES "
       "('\\x00ff',{user},now()+interval '1 day')",
       kCheck},
      {"token expiring before creation",
       "INSERT INTO api_tokens (token_hash,user_id,expires_at) VALUES "
       "(sha256('t'),{user},now()-interval '1 day')",
       kCheck},
      {"token of a missing user",
       "INSERT INTO api_tokens (token_hash,user_id,expires_at) VALUES "
       "(sha256('t'),{missing},now()+interval '1 day')",
       kForeignKey},
      {"empty project name", "INSERT INTO projects (id,user_id,name) VALUES ({new},{user},'')",
       kCheck},
      {"project without name", "INSERT INTO projects (id,user_id) VALUES ({new},{user})", kNotNull},
      {"project of a missing user",
       "INSERT INTO projects (id,user_id,name) VALUES ({new},{missing},'P')", kForeignKey},
      {"duplicate project id",
       "INSERT INTO projects (id,user_id,name) VALUES ({project},{user},'P')", kUnique},
      {"member role admin",
       "INSERT INTO project_members (project_id,user_id,role) VALUES ({project},{user},'admin')",
       kCheck},
      {"member of a missing project",
       "INSERT INTO project_members (project_id,user_id,role) VALUES ({missing},{user},'viewer')",
       kForeignKey},
      {"shot status wrapped",
       "INSERT INTO shots (id,project_id,title,status) VALUES ({new},{project},'S','wrapped')",
       kCheck},
      {"shot status NULL",
       "INSERT INTO shots (id,project_id,title,status) VALUES ({new},{project},'S',NULL)",
       kNotNull},
      {"shot without title", "INSERT INTO shots (id,project_id) VALUES ({new},{project})",
       kNotNull},
      {"shot with empty title",
       "INSERT INTO shots (id,project_id,title) VALUES ({new},{project},'')", kCheck},
      {"shot start 24:00",
       "INSERT INTO shots (id,project_id,title,start_time) VALUES ({new},{project},'S','24:00')",
       kCheck},
      {"shot start 7:00",
       "INSERT INTO shots (id,project_id,title,start_time) VALUES ({new},{project},'S','7:00')",
       kCheck},
      {"shot start with seconds",
       "INSERT INTO shots (id,project_id,title,start_time) VALUES ({new},{project},'S','07:00:00')",
       kCheck},
      {"shot on 30 February",
       "INSERT INTO shots (id,project_id,title,date) VALUES ({new},{project},'S','2026-02-30')",
       kDateOutOfRange},
      {"shot latitude 91",
       "INSERT INTO shots (id,project_id,title,location_lat) VALUES ({new},{project},'S',91)",
       kCheck},
      {"shot longitude -181",
       "INSERT INTO shots (id,project_id,title,location_lng) VALUES ({new},{project},'S',-181)",
       kCheck},
      {"shot equipment_ids object",
       "INSERT INTO shots (id,project_id,title,equipment_ids) VALUES ({new},{project},'S','{}')",
       kCheck},
      {"shot prepared ids string",
       "INSERT INTO shots (id,project_id,title,prepared_equipment_ids) VALUES "
       "({new},{project},'S','\"x\"')",
       kCheck},
      {"shot in a missing project",
       "INSERT INTO shots (id,project_id,title) VALUES ({new},{missing},'S')", kForeignKey},
      {"shot description NULL",
       "INSERT INTO shots (id,project_id,title,description) VALUES ({new},{project},'S',NULL)",
       kNotNull},
      {"task category Audio",
       "INSERT INTO postprod_tasks (id,project_id,category,title) VALUES "
       "({new},{project},'Audio','T')",
       kCheck},
      {"task status blocked",
       "INSERT INTO postprod_tasks (id,project_id,category,title,status) VALUES "
       "({new},{project},'VFX','T','blocked')",
       kCheck},
      {"task priority urgent",
       "INSERT INTO postprod_tasks (id,project_id,category,title,priority) VALUES "
       "({new},{project},'VFX','T','urgent')",
       kCheck},
      {"task without category",
       "INSERT INTO postprod_tasks (id,project_id,title) VALUES ({new},{project},'T')", kNotNull},
      {"note with empty title",
       "INSERT INTO notes (id,project_id,title) VALUES ({new},{project},'')", kCheck},
      {"note on a missing shot",
       "INSERT INTO notes (id,project_id,title,shot_id) VALUES ({new},{project},'N',{missing})",
       kForeignKey},
      {"note on a missing task",
       "INSERT INTO notes (id,project_id,title,task_id) VALUES ({new},{project},'N',{missing})",
       kForeignKey},
      {"equipment category Spaceship",
       "INSERT INTO equipment (id,user_id,name,category) VALUES ({new},{user},'E','Spaceship')",
       kCheck},
      {"equipment negative price",
       "INSERT INTO equipment (id,user_id,name,category,price_per_day) VALUES "
       "({new},{user},'E','Lens',-1)",
       kCheck},
      {"equipment negative rental",
       "INSERT INTO equipment (id,user_id,name,category,rental_price) VALUES "
       "({new},{user},'E','Lens',-5)",
       kCheck},
      {"equipment quantity 0",
       "INSERT INTO equipment (id,user_id,name,category,quantity) VALUES "
       "({new},{user},'E','Lens',0)",
       kCheck},
      {"equipment fortnightly",
       "INSERT INTO equipment (id,user_id,name,category,rental_frequency) VALUES "
       "({new},{user},'E','Lens','fortnight')",
       kCheck},
      {"equipment stolen",
       "INSERT INTO equipment (id,user_id,name,category,status) VALUES "
       "({new},{user},'E','Lens','stolen')",
       kCheck},
      {"equipment is_owned NULL",
       "INSERT INTO equipment (id,user_id,name,category,is_owned) VALUES "
       "({new},{user},'E','Lens',NULL)",
       kNotNull},
      {"equipment of a missing catalog item",
       "INSERT INTO equipment (id,user_id,name,category,catalog_item_id) VALUES "
       "({new},{user},'E','Lens',{missing})",
       kForeignKey},
      {"category slug with spaces",
       "INSERT INTO gear_categories (id,name,slug) VALUES ({new},'Cranes','Big Cranes')", kCheck},
      {"duplicate category slug",
       "INSERT INTO gear_categories (id,name,slug) VALUES ({new},'Cams','camera')", kUnique},
      {"catalog specs array",
       "INSERT INTO gear_catalog (id,category_id,brand_id,name,specs) VALUES "
       "({new},{category},{brand},'X','[]')",
       kCheck},
      {"catalog image over ftp",
       "INSERT INTO gear_catalog (id,category_id,brand_id,name,image_url) VALUES "
       "({new},{category},{brand},'X','ftp://x')",
       kCheck},
      {"duplicate brand model",
       "INSERT INTO gear_catalog (id,category_id,brand_id,name) VALUES "
       "({new},{category},{brand},'FX3')",
       kUnique},
      {"change op merge",
       "INSERT INTO sync_changes (seq,table_name,row_id,op) VALUES (1,'shots','x','merge')",
       kCheck},
      {"delete change with data",
       "INSERT INTO sync_changes (seq,table_name,row_id,op,data) VALUES "
       "(1,'shots','x','delete','{}')",
       kCheck},
      {"upsert change without data",
       "INSERT INTO sync_changes (seq,table_name,row_id,op) VALUES (1,'shots','x','upsert')",
       kCheck},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Try(Sub(c.sql)), c.sqlstate) << c.what;
  }
}

// Every enum value of the C++ model is accepted by the database's CHECK.
TEST_F(Constraints, AcceptsEveryValueTheModelAllows) {
  using core::Entity;
  struct Target {
    Entity entity;
    const char* field;
    const char* insert_prefix;  // the value is appended, then ")"
  };
  const Target targets[] = {
      {Entity::kShot, "status",
       "INSERT INTO shots (id,project_id,title,status) VALUES ({new},{project},'S',"},
      {Entity::kPostprodTask, "category",
       "INSERT INTO postprod_tasks (id,project_id,title,category) VALUES ({new},{project},'T',"},
      {Entity::kPostprodTask, "status",
       "INSERT INTO postprod_tasks (id,project_id,title,category,status) VALUES "
       "({new},{project},'T','VFX',"},
      {Entity::kPostprodTask, "priority",
       "INSERT INTO postprod_tasks (id,project_id,title,category,priority) VALUES "
       "({new},{project},'T','VFX',"},
      {Entity::kEquipment, "category",
       "INSERT INTO equipment (id,user_id,name,category) VALUES ({new},{user},'E',"},
      {Entity::kEquipment, "status",
       "INSERT INTO equipment (id,user_id,name,category,status) VALUES ({new},{user},'E','Lens',"},
      {Entity::kEquipment, "rental_frequency",
       "INSERT INTO equipment (id,user_id,name,category,rental_frequency) VALUES "
       "({new},{user},'E','Lens',"},
      {Entity::kProjectMember, "role",
       "INSERT INTO project_members (project_id,user_id,role) VALUES ({project},{user},"},
  };
  int accepted = 0;
  for (const Target& t : targets) {
    const core::FieldSpec* f = core::Spec(t.entity).Find(t.field);
    ASSERT_NE(f, nullptr) << t.field;
    for (const std::string& value : f->allowed) {
      EXPECT_EQ(Try(Sub(t.insert_prefix) + "'" + value + "')"), "ok") << t.field << "=" << value;
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, 41);
}

TEST_F(Constraints, AcceptsBoundaryValues) {
  EXPECT_EQ(
      Try(Sub("INSERT INTO shots (id,project_id,title,start_time,date,location_lat,location_lng) "
              "VALUES ({new},{project},'S','23:59','2024-02-29',-90,180)")),
      "ok");
  EXPECT_EQ(Try(Sub("INSERT INTO equipment (id,user_id,name,category,price_per_day,quantity) "
                    "VALUES ({new},{user},'E','Lens',0,1)")),
            "ok");
}

TEST_F(Constraints, DeletingAProjectDeletesItsShotsNotesAndTasks) {
  pqxx::work tx(*conn_);
  tx.exec(
      Sub("INSERT INTO notes (id,project_id,title,shot_id,task_id) "
          "VALUES ({new},{project},'N',{shot},{task})"));
  tx.exec(Sub(
      "INSERT INTO project_members (project_id,user_id,role) VALUES ({project},{user},'owner')"));
  tx.exec(Sub("DELETE FROM projects WHERE id = {project}"));
  tx.commit();
  EXPECT_EQ(Count("SELECT (SELECT count(*) FROM shots) + (SELECT count(*) FROM notes) + "
                  "(SELECT count(*) FROM postprod_tasks) + (SELECT count(*) FROM project_members)"),
            "0");
}

TEST_F(Constraints, DeletingAShotOrTaskClearsTheNoteLink) {
  pqxx::work tx(*conn_);
  tx.exec(
      Sub("INSERT INTO notes (id,project_id,title,shot_id,task_id) "
          "VALUES ({new},{project},'N',{shot},{task})"));
  tx.exec(Sub("DELETE FROM shots WHERE id = {shot}"));
  tx.exec(Sub("DELETE FROM postprod_tasks WHERE id = {task}"));
  tx.commit();
  EXPECT_EQ(
      Count("SELECT coalesce(shot_id::text, 'null') || '/' || coalesce(task_id::text, 'null') "
            "FROM notes"),
      "null/null");
}

TEST_F(Constraints, DeletingACatalogItemKeepsTheEquipment) {
  pqxx::work tx(*conn_);
  tx.exec(
      Sub("INSERT INTO equipment (id,user_id,name,category,catalog_item_id) "
          "VALUES ({new},{user},'My FX3','Camera',{item})"));
  tx.exec(Sub("DELETE FROM gear_catalog WHERE id = {item}"));
  tx.commit();
  EXPECT_EQ(Count("SELECT count(*) || '/' || count(catalog_item_id) FROM equipment"), "1/0");
}

TEST_F(Constraints, DeletingAUserDeletesTheirProjectsAndInventory) {
  pqxx::work tx(*conn_);
  tx.exec(Sub("INSERT INTO equipment (id,user_id,name,category) VALUES ({new},{user},'E','Lens')"));
  tx.exec(Sub("DELETE FROM users WHERE id = {user}"));
  tx.commit();
  EXPECT_EQ(Count("SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM equipment) + "
                  "(SELECT count(*) FROM shots)"),
            "0");
}

// List totals come from counters kept by statement-level triggers; they must
// equal count(*) after bulk inserts, deletes and cascades.
TEST_F(Constraints, ListCountersStayExact) {
  pqxx::work tx(*conn_);
  tx.exec(
      Sub("INSERT INTO shots (id, project_id, title) SELECT gen_random_uuid(), {project}, "
          "'S' || g FROM generate_series(1, 500) g"));
  tx.exec(
      Sub("INSERT INTO notes (id, project_id, title) SELECT gen_random_uuid(), {project}, "
          "'N' || g FROM generate_series(1, 3) g"));
  tx.exec(Sub("DELETE FROM shots WHERE id IN (SELECT id FROM shots WHERE id <> {shot} LIMIT 100)"));
  tx.exec(
      Sub("INSERT INTO equipment (id, user_id, name, category) SELECT gen_random_uuid(), "
          "{user}, 'E' || g, 'Lens' FROM generate_series(1, 7) g"));
  tx.exec(Sub("DELETE FROM postprod_tasks WHERE id = {task}"));
  tx.commit();
  EXPECT_EQ(Count("SELECT shots || '/' || notes || '/' || tasks FROM project_stats"),
            Count("SELECT (SELECT count(*) FROM shots) || '/' || (SELECT count(*) FROM notes) || "
                  "'/' || (SELECT count(*) FROM postprod_tasks)"));
  EXPECT_EQ(Count("SELECT shots FROM project_stats"), "401");
  EXPECT_EQ(Count("SELECT equipment FROM user_stats"), "7");
  pqxx::work del(*conn_);
  del.exec(Sub("DELETE FROM projects WHERE id = {project}"));
  del.commit();
  EXPECT_EQ(Count("SELECT count(*) FROM project_stats"), "0");
}

}  // namespace
}  // namespace vemakin::server
