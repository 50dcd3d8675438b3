#include "core/model.h"

#include <gtest/gtest.h>

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

TEST(Model, ParentsComeBeforeChildren) {
  auto pos = [](const char* name) {
    for (size_t i = 0; i < AllSpecs().size(); ++i) {
      if (AllSpecs()[i]->name == name) return i;
    }
    return AllSpecs().size();
  };
  EXPECT_LT(pos("users"), pos("projects"));
  EXPECT_LT(pos("projects"), pos("project_members"));
  EXPECT_LT(pos("projects"), pos("shots"));
  EXPECT_LT(pos("shots"), pos("notes"));
  EXPECT_LT(pos("postprod_tasks"), pos("notes"));
  EXPECT_LT(pos("gear_categories"), pos("gear_catalog"));
  EXPECT_LT(pos("gear_brands"), pos("gear_catalog"));
  EXPECT_LT(pos("gear_catalog"), pos("equipment"));
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
