#include "core/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace vemakin::core {
namespace {

using nlohmann::json;

const char kProject[] = "0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01";
const char kOther[] = "7d3f6a2b-1c4e-4f5a-8b9c-0d1e2f3a4b5c";

// Renders errors as "loc.path: type" lines: readable in a failure message.
std::string Render(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) {
    std::string loc;
    for (const std::string& part : e.loc) loc += (loc.empty() ? "" : ".") + part;
    out += loc + ": " + e.type + "\n";
  }
  return out;
}

json ValidShot() { return {{"project_id", kProject}, {"title", "Opening crane shot"}}; }

TEST(ValidateValue, JsonObjectsRefuseNumbersPostgresWouldPrintHuge) {
  const FieldSpec& settings = *Spec(Entity::kUser).Find("settings");
  EXPECT_EQ(Render(ValidateValue(settings, json::parse(R"({"a":[{"b":1e308}]})"), {"body"})),
            "body: range\n");
  EXPECT_EQ(Render(ValidateValue(settings, json::parse(R"({"a":1e-12})"), {"body"})),
            "body: range\n");
  EXPECT_EQ(Render(ValidateValue(
                settings, json::parse(R"({"zoom":1.25,"n":-3,"big":9007199254740993,"z":0.0})"),
                {"body"})),
            "");
}

TEST(ValidateWrite, AcceptsMinimalShot) {
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), ValidShot(), WriteKind::kCreate)), "");
}

TEST(ValidateWrite, AcceptsFullShot) {
  json shot = ValidShot();
  shot.update({{"id", kOther},
               {"description", "Wide"},
               {"status", "done"},
               {"date", "2026-12-01"},
               {"start_time", "06:30"},
               {"duration", "2m"},
               {"location", "Harbour"},
               {"location_lat", 43.29},
               {"location_lng", 5.37},
               {"remarks", nullptr},
               {"scene_number", "12A"},
               {"equipment_ids", {kOther}},
               {"prepared_equipment_ids", json::array()}});
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), shot, WriteKind::kCreate)), "");
}

TEST(ValidateWrite, ReportsEveryMissingRequiredField) {
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), json::object(), WriteKind::kCreate)),
            "body.project_id: missing\nbody.title: missing\n");
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kPostprodTask), json::object(), WriteKind::kCreate)),
            "body.project_id: missing\nbody.category: missing\nbody.title: missing\n");
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kEquipment), json::object(), WriteKind::kCreate)),
            "body.name: missing\nbody.category: missing\n");
}

TEST(ValidateWrite, PatchNeedsNoRequiredFields) {
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), {{"status", "done"}}, WriteKind::kPatch)),
            "");
}

TEST(ValidateWrite, ReportsAllProblemsAtOnce) {
  const json body = {{"project_id", "nope"}, {"title", ""},           {"status", "wrapped"},
                     {"date", "2026-02-30"}, {"start_time", "25:00"}, {"location_lat", 91},
                     {"equipment_ids", {1}}, {"colour", "red"}};
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), body, WriteKind::kCreate)),
            "body.colour: unknown_field\n"
            "body.date: type\n"
            "body.equipment_ids.0: type\n"
            "body.location_lat: range\n"
            "body.project_id: type\n"
            "body.start_time: type\n"
            "body.status: enum\n"
            "body.title: too_short\n");
}

TEST(ValidateWrite, RefusesNonObjectBody) {
  for (const json& body : {json::array(), json("x"), json(3), json(nullptr)}) {
    EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kNote), body, WriteKind::kCreate)), "body: type\n");
  }
}

TEST(ValidateWrite, RefusesServerManagedFields) {
  json body = ValidShot();
  body["created_at"] = "2026-01-01T00:00:00Z";
  body["updated_at"] = "2026-01-01T00:00:00Z";
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), body, WriteKind::kCreate)),
            "body.created_at: read_only\nbody.updated_at: read_only\n");
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kProject), {{"name", "A"}, {"user_id", kOther}},
                                 WriteKind::kCreate)),
            "body.user_id: read_only\n");
}

TEST(ValidateWrite, RefusesMovingRowsOnPatch) {
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kShot), {{"project_id", kOther}, {"id", kOther}},
                                 WriteKind::kPatch)),
            "body.id: immutable\nbody.project_id: immutable\n");
}

TEST(ValidateWrite, RefusesCatalogWrites) {
  EXPECT_EQ(Render(ValidateWrite(Spec(Entity::kGearBrand), {{"name", "Acme"}}, WriteKind::kCreate)),
            "body.name: read_only\n");
}

TEST(ValidateValue, AcceptsEveryAllowedEnumValueAndRefusesOthers) {
  int checked = 0;
  for (const TableSpec* table : AllSpecs()) {
    for (const FieldSpec& f : table->fields) {
      if (f.type != FieldType::kEnum) continue;
      for (const std::string& v : f.allowed) {
        EXPECT_TRUE(ValidateValue(f, v, {"body", f.name}).empty()) << table->name << "." << v;
        ++checked;
      }
      for (const char* bad : {"", "bogus", "DONE"}) {
        if (std::find(f.allowed.begin(), f.allowed.end(), bad) != f.allowed.end()) continue;
        EXPECT_EQ(Render(ValidateValue(f, bad, {f.name})), f.name + ": enum\n") << table->name;
      }
      EXPECT_EQ(Render(ValidateValue(f, 3, {f.name})), f.name + ": type\n");
    }
  }
  // 2 shot statuses + 5 categories + 4 statuses + 4 priorities + 13 + 5 + 5 + 3 roles.
  EXPECT_EQ(checked, 41);
}

TEST(ValidateValue, NullOnlyWhereNullable) {
  const TableSpec& shots = Spec(Entity::kShot);
  EXPECT_TRUE(ValidateValue(*shots.Find("date"), nullptr, {"date"}).empty());
  EXPECT_TRUE(ValidateValue(*shots.Find("remarks"), nullptr, {"remarks"}).empty());
  EXPECT_EQ(Render(ValidateValue(*shots.Find("title"), nullptr, {"title"})), "title: null\n");
  EXPECT_EQ(Render(ValidateValue(*shots.Find("status"), nullptr, {"status"})), "status: null\n");
}

TEST(ValidateValue, ChecksTextContent) {
  const FieldSpec& title = *Spec(Entity::kShot).Find("title");
  EXPECT_EQ(Render(ValidateValue(title, std::string("a\0b", 3), {"t"})), "t: nul\n");
  EXPECT_EQ(Render(ValidateValue(title, std::string("\xff\xfe"), {"t"})), "t: utf8\n");
  EXPECT_EQ(Render(ValidateValue(title, "   ", {"t"})), "t: too_short\n");
  EXPECT_EQ(Render(ValidateValue(title, std::string(501, 'x'), {"t"})), "t: too_long\n");
  // Length counts characters, not bytes: 500 two-byte characters fit.
  std::string accents;
  for (int i = 0; i < 500; ++i) accents += "\xc3\xa9";
  EXPECT_TRUE(ValidateValue(title, accents, {"t"}).empty());
  EXPECT_EQ(Render(ValidateValue(title, 12, {"t"})), "t: type\n");
}

TEST(ValidateValue, ChecksNumbersAndBounds) {
  const TableSpec& eq = Spec(Entity::kEquipment);
  const FieldSpec& qty = *eq.Find("quantity");
  EXPECT_TRUE(ValidateValue(qty, 1, {"q"}).empty());
  EXPECT_EQ(Render(ValidateValue(qty, 0, {"q"})), "q: range\n");
  EXPECT_EQ(Render(ValidateValue(qty, 1.5, {"q"})), "q: type\n");
  EXPECT_EQ(Render(ValidateValue(qty, "2", {"q"})), "q: type\n");
  EXPECT_EQ(Render(ValidateValue(qty, true, {"q"})), "q: type\n");
  const FieldSpec& price = *eq.Find("price_per_day");
  EXPECT_TRUE(ValidateValue(price, 0, {"p"}).empty());
  EXPECT_TRUE(ValidateValue(price, 149.99, {"p"}).empty());
  EXPECT_EQ(Render(ValidateValue(price, -0.01, {"p"})), "p: range\n");
  EXPECT_EQ(ValidateValue(price, -1, {"p"}).front().msg, "must be between 0 and 9999999999.99");
  const FieldSpec& lng = *Spec(Entity::kShot).Find("location_lng");
  EXPECT_TRUE(ValidateValue(lng, -180, {"l"}).empty());
  EXPECT_EQ(Render(ValidateValue(lng, 180.5, {"l"})), "l: range\n");
  EXPECT_EQ(Render(ValidateValue(*eq.Find("is_owned"), 1, {"o"})), "o: type\n");
}

TEST(ValidateValue, ChecksUuidsAndUuidArrays) {
  const TableSpec& shots = Spec(Entity::kShot);
  const FieldSpec& ids = *shots.Find("equipment_ids");
  EXPECT_TRUE(ValidateValue(ids, json::array({kProject, kOther}), {"e"}).empty());
  EXPECT_EQ(Render(ValidateValue(ids, json::array({kProject, "x", kProject}), {"e"})),
            "e.1: type\ne.2: duplicate\n");
  EXPECT_EQ(Render(ValidateValue(ids, kProject, {"e"})), "e: type\n");
  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back(kProject);
  EXPECT_EQ(Render(ValidateValue(ids, many, {"e"})), "e: too_long\n");
  const FieldSpec& project = *shots.Find("project_id");
  EXPECT_TRUE(ValidateValue(project, "0B6C1F8E-54B1-4A0E-9A5C-2F0A5C1D9E01", {"p"}).empty());
  EXPECT_EQ(Render(ValidateValue(project, "0b6c1f8e54b14a0e9a5c2f0a5c1d9e01", {"p"})), "p: type\n");
}

TEST(FieldErrorsToJson, MatchesTheApiDetailShape) {
  const json detail = FieldErrorsToJson({{{"body", "title"}, "field required", "missing"}});
  EXPECT_EQ(detail.dump(), R"([{"loc":["body","title"],"msg":"field required","type":"missing"}])");
}

TEST(IsValidUtf8, RejectsOverlongSurrogatesAndTruncation) {
  EXPECT_TRUE(IsValidUtf8("plain \xe2\x82\xac \xf0\x9f\x8e\xac"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
}

}  // namespace
}  // namespace vemakin::core
