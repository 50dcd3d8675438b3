#include "core/json_codec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/validation.h"

namespace vemakin::core {
namespace {

using nlohmann::json;

const FieldSpec& Field(Entity e, const char* name) { return *Spec(e).Find(name); }

TEST(DecodeField, ReadsPostgresTextOutput) {
  EXPECT_EQ(DecodeField(Field(Entity::kEquipment, "is_owned"), "t"), json(true));
  EXPECT_EQ(DecodeField(Field(Entity::kEquipment, "is_owned"), "f"), json(false));
  EXPECT_EQ(DecodeField(Field(Entity::kEquipment, "price_per_day"), "12.50"), json(12.5));
  EXPECT_EQ(DecodeField(Field(Entity::kEquipment, "quantity"), "3"), json(3));
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "created_at"), "2026-11-26 14:34:09.5+00"),
            json("2026-11-26T14:34:09.500000Z"));
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "project_id"), "0B6C1F8E-54B1-4A0E-9A5C-2F0A5C1D9E01"),
            json("0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01"));
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "equipment_ids"), "[]"), json::array());
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "date"), "2026-12-01"), json("2026-12-01"));
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "date"), std::nullopt), json(nullptr));
}

TEST(DecodeField, ReadsMirrorTextOutput) {
  EXPECT_EQ(DecodeField(Field(Entity::kEquipment, "is_owned"), "1"), json(true));
  EXPECT_EQ(DecodeField(Field(Entity::kShot, "updated_at"), "2026-11-26T14:34:09.000001Z"),
            json("2026-11-26T14:34:09.000001Z"));
}

TEST(DecodeField, ThrowsDataLossOnCorruptText) {
  try {
    DecodeField(Field(Entity::kEquipment, "quantity"), "three");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
  }
  EXPECT_THROW(DecodeField(Field(Entity::kShot, "date"), "2026-02-30"), Error);
  EXPECT_THROW(DecodeField(Field(Entity::kEquipment, "is_owned"), "yes"), Error);
  EXPECT_THROW(DecodeField(Field(Entity::kShot, "equipment_ids"), "{}"), Error);
  EXPECT_THROW(DecodeField(Field(Entity::kShot, "created_at"), "yesterday"), Error);
}

TEST(EncodeField, RoundTripsEveryFieldTypeThroughDecode) {
  const json shot = {{"id", "0B6C1F8E-54B1-4A0E-9A5C-2F0A5C1D9E01"},
                     {"title", "Crane \xf0\x9f\x8e\xac"},
                     {"date", "2026-12-01"},
                     {"start_time", "06:30"},
                     {"location_lat", 43.2965},
                     {"equipment_ids", {"7D3F6A2B-1C4E-4F5A-8B9C-0D1E2F3A4B5C"}},
                     {"created_at", "2026-11-26T15:34:09+01:00"}};
  const json equipment = {{"price_per_day", 149.999}, {"quantity", 2}, {"is_owned", false}};
  for (const auto& [entity, row] :
       {std::pair{Entity::kShot, shot}, {Entity::kEquipment, equipment}}) {
    for (auto it = row.begin(); it != row.end(); ++it) {
      const FieldSpec& f = *Spec(entity).Find(it.key());
      const std::optional<std::string> text = EncodeField(f, it.value());
      ASSERT_TRUE(text.has_value()) << it.key();
      EXPECT_EQ(DecodeField(f, *text), CanonicalValue(f, it.value())) << it.key();
    }
  }
  EXPECT_EQ(EncodeField(Field(Entity::kShot, "remarks"), nullptr), std::nullopt);
  EXPECT_EQ(EncodeField(Field(Entity::kEquipment, "is_owned"), true), "true");
}

TEST(CanonicalValue, NormalisesUuidsMoneyAndTimestamps) {
  EXPECT_EQ(CanonicalValue(Field(Entity::kEquipment, "price_per_day"), 10.005), json(10.01));
  EXPECT_EQ(CanonicalValue(Field(Entity::kShot, "created_at"), "2026-11-26T15:34:09+01:00"),
            json("2026-11-26T14:34:09.000000Z"));
  EXPECT_EQ(CanonicalValue(Field(Entity::kNote, "shot_id"), "ABCDEF01-0000-0000-0000-000000000000"),
            json("abcdef01-0000-0000-0000-000000000000"));
}

TEST(CompleteCreate, FillsDefaultsForAbsentFields) {
  const json body = {{"project_id", "0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01"}, {"title", "T"}};
  ASSERT_TRUE(ValidateWrite(Spec(Entity::kShot), body, WriteKind::kCreate).empty());
  const json row = CompleteCreate(Spec(Entity::kShot), body);
  EXPECT_EQ(
      row.dump(),
      R"({"date":null,"description":"","duration":"","equipment_ids":[],)"
      R"("location":"","location_lat":null,"location_lng":null,)"
      R"("prepared_equipment_ids":[],"project_id":"0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01",)"
      R"("remarks":null,"scene_number":null,"start_time":null,"status":"pending","title":"T"})");
}

TEST(CompleteCreate, KeepsClientChosenId) {
  const json row = CompleteCreate(Spec(Entity::kProject),
                                  {{"id", "7D3F6A2B-1C4E-4F5A-8B9C-0D1E2F3A4B5C"}, {"name", "N"}});
  EXPECT_EQ(row.at("id"), "7d3f6a2b-1c4e-4f5a-8b9c-0d1e2f3a4b5c");
}

TEST(CanonicalPatch, KeepsOnlyGivenFields) {
  const json patch =
      CanonicalPatch(Spec(Entity::kNote), {{"shot_id", "ABCDEF01-0000-0000-0000-000000000000"}});
  EXPECT_EQ(patch.dump(), R"({"shot_id":"abcdef01-0000-0000-0000-000000000000"})");
}

TEST(ParseUntrustedJson, RefusesDeepNestingBeforeParsing) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  std::string error;
  EXPECT_FALSE(ParseUntrustedJson(deep, 64, &error).has_value());
  EXPECT_EQ(error, "JSON nested deeper than 64 levels");
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ParseUntrustedJson(ok, 64, &error).has_value());
}

TEST(ParseUntrustedJson, IgnoresBracketsInsideStrings) {
  std::string error;
  const auto v = ParseUntrustedJson(R"({"title":"[[[[[[[[\"{{{{{{{{"})", 2, &error);
  ASSERT_TRUE(v.has_value()) << error;
  EXPECT_EQ(v->at("title"), "[[[[[[[[\"{{{{{{{{");
}

TEST(ParseUntrustedJson, RefusesMalformedTextAndInvalidUtf8) {
  std::string error;
  EXPECT_FALSE(ParseUntrustedJson("{\"a\":", 64, &error).has_value());
  EXPECT_EQ(error, "malformed JSON (or invalid UTF-8)");
  EXPECT_FALSE(ParseUntrustedJson("{\"a\":\"\xff\"}", 64, &error).has_value());
  EXPECT_FALSE(ParseUntrustedJson("", 64, &error).has_value());
}

TEST(ParseUntrustedJson, RefusesARawNulByteWhereverItIs) {
  std::string error;
  using namespace std::string_view_literals;
  EXPECT_FALSE(ParseUntrustedJson("{\"a\":1}\0{\"b\""sv, 64, &error).has_value());
  EXPECT_EQ(error, "malformed JSON (NUL byte)");
  EXPECT_FALSE(ParseUntrustedJson("{\"a\":\"x\0y\"}"sv, 64, &error).has_value());
  EXPECT_FALSE(ParseUntrustedJson("\0"sv, 64, &error).has_value());
  EXPECT_TRUE(ParseUntrustedJson("{\"a\":\"x\\u0000y\"}"sv, 64, &error).has_value());  // escaped
}

}  // namespace
}  // namespace vemakin::core

namespace vemakin::core {
namespace {

// The text fast path renders exactly the values DecodeField produces.
TEST(AppendFieldJson, AgreesWithDecodeFieldOnEveryType) {
  struct Case {
    Entity entity;
    const char* field;
    std::optional<std::string> text;
  };
  const Case cases[] = {
      {Entity::kShot, "title", "Quote \" backslash \\ newline \n tab \t ctrl \x01 \xc3\xa9"},
      {Entity::kShot, "id", "0B6C1F8E-54B1-4A0E-9A5C-2F0A5C1D9E01"},
      {Entity::kShot, "date", "2026-12-01"},
      {Entity::kShot, "start_time", "06:30"},
      {Entity::kShot, "location_lat", "43.2965"},
      {Entity::kShot, "location_lng", "-5"},
      {Entity::kShot, "equipment_ids", "[\"7d3f6a2b-1c4e-4f5a-8b9c-0d1e2f3a4b5c\"]"},
      {Entity::kShot, "created_at", "2026-11-26 14:34:09.5+00"},
      {Entity::kShot, "created_at", "2026-11-26 14:34:09+00"},
      {Entity::kShot, "created_at", "2026-11-26 14:34:09.123456+00"},
      {Entity::kShot, "updated_at", "2026-11-26T14:34:09.000001Z"},
      {Entity::kShot, "remarks", std::nullopt},
      {Entity::kEquipment, "price_per_day", "12.50"},
      {Entity::kEquipment, "price_per_day", "0.00"},
      {Entity::kEquipment, "quantity", "3"},
      {Entity::kEquipment, "is_owned", "t"},
      {Entity::kEquipment, "is_owned", "0"},
      {Entity::kUser, "settings", "{\"theme\": \"dark\", \"n\": [1, 2]}"},
  };
  for (const Case& c : cases) {
    const FieldSpec& f = *Spec(c.entity).Find(c.field);
    std::string text;
    AppendFieldJson(f, c.text ? std::optional<std::string_view>(*c.text) : std::nullopt, &text);
    const json parsed = json::parse(text, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << c.field << ": " << text;
    const json expected =
        DecodeField(f, c.text ? std::optional<std::string_view>(*c.text) : std::nullopt);
    if (expected.is_number()) {
      EXPECT_DOUBLE_EQ(parsed.get<double>(), expected.get<double>()) << c.field;
    } else {
      EXPECT_EQ(parsed, expected) << c.field << ": " << text;
    }
  }
}

TEST(AppendFieldJson, RefusesCorruptText) {
  std::string out;
  EXPECT_THROW(AppendFieldJson(*Spec(Entity::kEquipment).Find("quantity"), "three", &out), Error);
  EXPECT_THROW(AppendFieldJson(*Spec(Entity::kEquipment).Find("is_owned"), "yes", &out), Error);
  EXPECT_THROW(AppendFieldJson(*Spec(Entity::kShot).Find("id"), "nope", &out), Error);
}

TEST(AppendRowJson, RendersAWholeRowAsAnObject) {
  const TableSpec& spec = Spec(Entity::kGearBrand);
  const std::vector<std::optional<std::string>> row = {"0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01",
                                                       "Sony"};
  std::string out;
  AppendRowJson(
      spec,
      [&](size_t i) -> std::optional<std::string_view> {
        return row[i] ? std::optional<std::string_view>(*row[i]) : std::nullopt;
      },
      &out);
  EXPECT_EQ(out, R"({"id":"0b6c1f8e-54b1-4a0e-9a5c-2f0a5c1d9e01","name":"Sony"})");
}

}  // namespace
}  // namespace vemakin::core
