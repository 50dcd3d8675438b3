#include "core/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/validation.h"

namespace vemakin::core {
namespace {

TEST(Model, EveryEntityHasItsOwnSpec) {
  std::set<std::string> names;
  for (Entity e : {Entity::kUser, Entity::kProject, Entity::kProjectMember, Entity::kShot,
                   Entity::kNote, Entity::kPostprodTask, Entity::kEquipment, Entity::kGearCategory,
                   Entity::kGearBrand, Entity::kGearCatalogItem}) {
    EXPECT_EQ(Spec(e).entity, e);
    names.insert(Spec(e).name);
  }
  EXPECT_EQ(names.size(), 10u);
  EXPECT_EQ(AllSpecs().size(), 10u);
  EXPECT_EQ(FindSpec("shots"), &Spec(Entity::kShot));
  EXPECT_EQ(FindSpec("nope"), nullptr);
}

// Parents before children, for every reference the model declares (so a
// batch applied in AllSpecs() order never violates a foreign key).
TEST(Model, ParentsComeBeforeChildren) {
  auto pos = [](const std::string& name) {
    for (size_t i = 0; i < AllSpecs().size(); ++i) {
      if (AllSpecs()[i]->name == name) return i;
    }
    return AllSpecs().size();
  };
  int references = 0;
  for (const TableSpec* t : AllSpecs()) {
    for (const FieldSpec* f : t->References()) {
      ++references;
      EXPECT_LT(pos(f->reference->table), pos(t->name)) << t->name << "." << f->name;
    }
  }
  EXPECT_EQ(references, 12);  // every FOREIGN KEY of the model tables in schema/
}

TEST(Model, ReferencesNameAnIdOfAnotherTable) {
  for (const TableSpec* t : AllSpecs()) {
    for (const FieldSpec* f : t->References()) {
      const TableSpec* parent = FindSpec(f->reference->table);
      ASSERT_NE(parent, nullptr) << t->name << "." << f->name;
      EXPECT_EQ(f->type, FieldType::kUuid) << t->name << "." << f->name;
      EXPECT_EQ(parent->key, std::vector<std::string>{"id"}) << f->reference->table;
      if (f->reference->on_delete == OnDelete::kSetNull) {
        EXPECT_TRUE(f->nullable) << t->name << "." << f->name;
      }
      if (f->reference->same_project) {
        EXPECT_TRUE(t->InProject() && parent->InProject()) << t->name << "." << f->name;
      }
    }
  }
}

// Every table's scope is coherent with its columns: the scope column exists
// and refers to what the scope says, keys name fields, and the names the
// routes, the client and the counters use are unique.
TEST(Model, ScopesNamesAndKeysAreCoherent) {
  std::set<std::string> routes, collections;
  for (const TableSpec* t : AllSpecs()) {
    SCOPED_TRACE(t->name);
    for (const std::string& k : t->key) EXPECT_NE(t->Find(k), nullptr) << k;
    switch (t->scope) {
      case Scope::kProject:
      case Scope::kMembership: {
        const FieldSpec* f = t->Find(t->scope_column);
        ASSERT_NE(f, nullptr);
        if (t->name == "projects") {
          EXPECT_EQ(t->scope_column, "id");
        } else {
          ASSERT_TRUE(f->reference.has_value());
          EXPECT_EQ(f->reference->table, "projects");
          EXPECT_EQ(f->reference->on_delete, OnDelete::kCascade);
        }
        break;
      }
      case Scope::kOwner: {
        const FieldSpec* f = t->Find(t->scope_column);
        ASSERT_NE(f, nullptr);
        ASSERT_TRUE(f->reference.has_value());
        EXPECT_EQ(f->reference->table, "users");
        break;
      }
      case Scope::kGlobal:
        for (const FieldSpec& f : t->fields) EXPECT_EQ(f.access, Access::kReadOnly) << f.name;
        [[fallthrough]];
      case Scope::kAccount:
        EXPECT_TRUE(t->scope_column.empty());
        break;
    }
    if (!t->route.empty()) {
      EXPECT_TRUE(routes.insert(t->route).second) << t->route;
    }
    if (!t->collection.empty()) {
      EXPECT_TRUE(collections.insert(t->collection).second) << t->collection;
    }
    // Users write exactly the tables the REST API and the client expose.
    EXPECT_EQ(t->UserWritable(), !t->route.empty() && !t->collection.empty());
    if (t->UserWritable()) {
      EXPECT_EQ(FindByRoute(t->route), t);
      EXPECT_EQ(FindByCollection(t->collection), t);
    }
  }
}

std::vector<std::string> Names(const std::vector<const TableSpec*>& specs) {
  std::vector<std::string> out;
  for (const TableSpec* t : specs) out.push_back(t->name);
  return out;
}

// The derived lists, spelled out once here: a table added to the model shows
// up in each list its scope puts it in, or this test says which list moved.
TEST(Model, DerivedListsFollowTheScopes) {
  EXPECT_EQ(
      Names(MirroredSpecs()),
      (std::vector<std::string>{"projects", "project_members", "gear_categories", "gear_brands",
                                "gear_catalog", "shots", "postprod_tasks", "notes", "equipment"}));
  EXPECT_EQ(Names(WritableSpecs()), (std::vector<std::string>{"projects", "shots", "postprod_tasks",
                                                              "notes", "equipment"}));
  EXPECT_EQ(Names(ProjectChildSpecs()),
            (std::vector<std::string>{"project_members", "shots", "postprod_tasks", "notes"}));
  for (const TableSpec* t : AllSpecs()) {
    const bool mirrored =
        std::find(MirroredSpecs().begin(), MirroredSpecs().end(), t) != MirroredSpecs().end();
    EXPECT_EQ(mirrored, t->scope != Scope::kAccount) << t->name;
  }
  EXPECT_EQ(FindByRoute("postprod"), &Spec(Entity::kPostprodTask));
  EXPECT_EQ(FindByCollection("tasks"), &Spec(Entity::kPostprodTask));
  EXPECT_EQ(FindByRoute("nope"), nullptr);
}

TEST(Model, RowKeysJoinTheKeyColumns) {
  EXPECT_EQ(RowKey(Spec(Entity::kShot), {{"id", "a"}, {"project_id", "p"}}), "a");
  EXPECT_EQ(RowKey(Spec(Entity::kProjectMember), {{"project_id", "p"}, {"user_id", "u"}}), "p:u");
}

// A create that omits an optional NOT NULL field must still produce a value the
// database accepts: such fields need a default, and defaults must validate.
TEST(Model, OptionalNotNullFieldsHaveValidDefaults) {
  for (const TableSpec* t : AllSpecs()) {
    for (const FieldSpec& f : t->fields) {
      if (f.access == Access::kReadOnly || f.required || f.name == "id") continue;
      if (!f.nullable) {
        EXPECT_FALSE(f.default_value.is_null()) << t->name << "." << f.name;
      }
      if (!f.default_value.is_null()) {
        EXPECT_TRUE(ValidateValue(f, f.default_value, {f.name}).empty())
            << t->name << "." << f.name;
      }
    }
  }
}

TEST(Model, RequiredFieldsHaveNoDefault) {
  for (const TableSpec* t : AllSpecs()) {
    for (const FieldSpec& f : t->fields) {
      if (f.required) {
        EXPECT_TRUE(f.default_value.is_null()) << t->name << "." << f.name;
      }
    }
  }
}

TEST(Model, EveryTableHasAnIdentity) {
  for (const TableSpec* t : AllSpecs()) {
    const bool has_id = t->Find("id") != nullptr;
    const bool is_member = t->name == "project_members";
    EXPECT_TRUE(has_id || is_member) << t->name;
  }
}

}  // namespace
}  // namespace vemakin::core
