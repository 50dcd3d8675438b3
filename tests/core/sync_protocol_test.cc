#include "core/sync_protocol.h"

#include <gtest/gtest.h>

namespace vemakin::core {
namespace {

using nlohmann::json;

TEST(Lsn, ParsesAndFormatsPostgresWalPositions) {
  EXPECT_EQ(ParseLsn("0/0"), 0u);
  EXPECT_EQ(ParseLsn("16/B374D848"), (std::uint64_t{0x16} << 32) | 0xB374D848u);
  EXPECT_EQ(ParseLsn("16/b374d848"), ParseLsn("16/B374D848"));
  EXPECT_EQ(ParseLsn("FFFFFFFF/FFFFFFFF"), ~std::uint64_t{0});
  EXPECT_EQ(FormatLsn(*ParseLsn("16/B374D848")), "16/B374D848");
  EXPECT_EQ(FormatLsn(0x300000010ULL), "3/10");
  EXPECT_LT(*ParseLsn("0/FFFFFFFF"), *ParseLsn("1/0"));
  for (const char* bad : {"", "/", "1/", "/1", "1", "1/2/3", "g/1", "123456789/0", "0/123456789",
                          " 0/1", "0/1 ", "-1/0"}) {
    EXPECT_EQ(ParseLsn(bad), std::nullopt) << bad;
  }
}

TEST(PullPosition, ParsesFormatsAndOrdersAsNumbers) {
  EXPECT_EQ(PullPosition::Parse("")->ToString(), "");
  EXPECT_TRUE(PullPosition::Parse("")->IsBeginning());
  const PullPosition a = *PullPosition::Parse("9.10");
  const PullPosition b = *PullPosition::Parse("10.2");
  EXPECT_EQ(a.txid(), 9u);
  EXPECT_EQ(a.seq(), 10u);
  // As numbers, not as text ("10" < "9" as strings).
  EXPECT_LT(a, b);
  EXPECT_FALSE(b < a);
  EXPECT_LT(*PullPosition::Parse("10.2"), *PullPosition::Parse("10.10"));
  EXPECT_LT(PullPosition(), a);
  EXPECT_EQ(b.ToString(), "10.2");
  EXPECT_EQ(PullPosition::Parse("007.01")->ToString(), "7.1");
  EXPECT_EQ(*PullPosition::Parse("7.1"), PullPosition(7, 1));
  EXPECT_LE(a, a);
}

TEST(PullPosition, RefusesAnythingElse) {
  for (const char* bad :
       {".", "1", "1.", ".1", "a.1", "1.b", "1.2.3", "-1.2", "1.-2", " 1.2", "1.2 ", "+1.2", "1,2",
        "99999999999999999999.1", "1.9223372036854775808", "0x1.2"}) {
    EXPECT_FALSE(PullPosition::Parse(bad).has_value()) << bad;
  }
  EXPECT_TRUE(PullPosition::Parse("9999999999999999999.9223372036854775807").has_value());
}

TEST(PullPosition, CarriesItsClusterWithoutComparingIt) {
  const PullPosition p = *PullPosition::Parse("12.3@00ff9a");
  EXPECT_EQ(p.cluster(), "00ff9a");
  EXPECT_EQ(p.ToString(), "12.3@00ff9a");
  EXPECT_EQ(p, PullPosition(12, 3));  // the order is the numbers'
  EXPECT_LT(PullPosition(12, 2), p);
  EXPECT_EQ(PullPosition::Parse("12.3")->cluster(), "");  // written before clusters
  EXPECT_EQ(PullPosition(5, 1).WithCluster("ab").ToString(), "5.1@ab");
  for (const char* bad : {"12.3@", "12.3@XYZ", "12.3@00FF", "12.3@0123456789abcdef0", "@ab",
                          "12.3@a@b", "12.3@a b"}) {
    EXPECT_FALSE(PullPosition::Parse(bad).has_value()) << bad;
  }
}

TEST(PullPosition, BelowAnXminIsAfterEveryEarlierTransaction) {
  EXPECT_EQ(PullPosition::Below(812).ToString(), "811.9223372036854775807");
  EXPECT_LT(PullPosition(811, 123456), PullPosition::Below(812));
  EXPECT_LT(PullPosition::Below(812), PullPosition(812, 0));
  EXPECT_TRUE(PullPosition::Below(0).IsBeginning());
}

TEST(PushRequest, RoundTripsThroughJson) {
  PushRequest request;
  request.client_id = "0b0e6f1e-2a1b-4c3d-8e9f-000000000001";
  request.mutations.push_back({"0b0e6f1e-2a1b-4c3d-8e9f-000000000002", "shots", MutationOp::kUpdate,
                               "0b0e6f1e-2a1b-4c3d-8e9f-000000000003", json{{"title", "Crane"}}});
  std::vector<FieldError> errors;
  const PushRequest back = PushRequest::Decode(request.ToJson(), &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(back.ToJson(), request.ToJson());
  EXPECT_EQ(back.mutations.at(0).op, MutationOp::kUpdate);
}

TEST(PushRequestWriter, WritesWhatToJsonWrites) {
  PushRequest request;
  request.client_id = "0b0e6f1e-2a1b-4c3d-8e9f-000000000001";
  request.mutations.push_back({"0b0e6f1e-2a1b-4c3d-8e9f-000000000002", "shots", MutationOp::kCreate,
                               "0b0e6f1e-2a1b-4c3d-8e9f-000000000003",
                               json{{"title", "Crane \"high\"\n"}, {"project_id", "p"}}});
  request.mutations.push_back({"0b0e6f1e-2a1b-4c3d-8e9f-000000000004", "notes", MutationOp::kDelete,
                               "0b0e6f1e-2a1b-4c3d-8e9f-000000000005", json::object()});
  PushRequestWriter writer(request.client_id);
  for (const Mutation& m : request.mutations) {
    writer.AddMutation(m.mutation_id, m.table, m.op, m.id, m.fields.dump());
  }
  const std::string body = writer.Finish();
  EXPECT_EQ(json::parse(body), request.ToJson()) << body;
  std::vector<FieldError> errors;
  EXPECT_EQ(PushRequest::Decode(json::parse(body), &errors).ToJson(), request.ToJson());
  EXPECT_TRUE(errors.empty());
}

TEST(PushRequestWriter, WritesAnEmptyList) {
  EXPECT_EQ(json::parse(PushRequestWriter("c").Finish()),
            (json{{"client_id", "c"}, {"mutations", json::array()}}));
}

TEST(PushResponse, ToTextSaysWhatToJsonSays) {
  PushResponse response;
  response.results.push_back(PushResult::Applied("0b0e6f1e-2a1b-4c3d-8e9f-000000000001"));
  response.results.push_back(PushResult::Applied("0b0e6f1e-2a1b-4c3d-8e9f-000000000002"));
  response.results.back().replayed = true;
  response.results.push_back(PushResult::Rejected("0b0e6f1e-2a1b-4c3d-8e9f-000000000003",
                                                  ErrorCode::kPermissionDenied,
                                                  json("viewers cannot write"), json{{"a", 1}}));
  EXPECT_EQ(json::parse(response.ToText()), response.ToJson());
  EXPECT_EQ(json::parse(PushResponse().ToText()), PushResponse().ToJson());
}

TEST(PushRequest, NormalisesIds) {
  const json body = {{"client_id", "0B0E6F1E-2A1B-4C3D-8E9F-00000000000A"},
                     {"mutations",
                      {{{"mutation_id", "0B0E6F1E-2A1B-4C3D-8E9F-00000000000B"},
                        {"table", "notes"},
                        {"op", "delete"},
                        {"id", "0B0E6F1E-2A1B-4C3D-8E9F-00000000000C"}}}}};
  std::vector<FieldError> errors;
  const PushRequest r = PushRequest::Decode(body, &errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(r.client_id, "0b0e6f1e-2a1b-4c3d-8e9f-00000000000a");
  EXPECT_EQ(r.mutations.at(0).id, "0b0e6f1e-2a1b-4c3d-8e9f-00000000000c");
  EXPECT_EQ(r.mutations.at(0).fields, json::object());
}

std::string Locs(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) {
    std::string loc;
    for (const std::string& part : e.loc) loc += (loc.empty() ? "" : ".") + part;
    out += loc + ";";
  }
  return out;
}

TEST(PushRequest, ReportsEveryProblemOfAHostileBody) {
  std::vector<FieldError> errors;
  PushRequest::Decode(json::array(), &errors);
  EXPECT_EQ(Locs(errors), "body;");

  errors.clear();
  PushRequest::Decode(json{{"client_id", 7}, {"mutations", "x"}}, &errors);
  EXPECT_EQ(Locs(errors), "body.client_id;body.mutations;");

  errors.clear();
  const json body = {{"client_id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000001"},
                     {"mutations",
                      {{{"mutation_id", "nope"},
                        {"table", "users"},
                        {"op", "drop"},
                        {"id", 3},
                        {"fields", json::array()}},
                       {{"mutation_id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000002"},
                        {"table", "project_members"},
                        {"op", "create"},
                        {"id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000003"}},
                       "not an object"}}};
  PushRequest::Decode(body, &errors);
  EXPECT_EQ(Locs(errors),
            "body.mutations.0.mutation_id;body.mutations.0.table;body.mutations.0.op;"
            "body.mutations.0.id;body.mutations.0.fields;body.mutations.1.table;"
            "body.mutations.2.mutation_id;body.mutations.2.table;body.mutations.2.op;"
            "body.mutations.2.id;body.mutations.2.fields;");

  errors.clear();
  json many = json::array();
  for (size_t i = 0; i <= PushRequest::kMaxMutations; ++i) many.push_back(json::object());
  PushRequest::Decode(
      json{{"client_id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000001"}, {"mutations", many}}, &errors);
  EXPECT_EQ(Locs(errors), "body.mutations;");
}

// The push allow-list is the model's: every table users write, nothing else.
TEST(PushRequest, AcceptsExactlyTheWritableTables) {
  for (const TableSpec* t : AllSpecs()) {
    std::vector<FieldError> errors;
    PushRequest::Decode(json{{"client_id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000001"},
                             {"mutations",
                              {{{"mutation_id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000002"},
                                {"table", t->name},
                                {"op", "delete"},
                                {"id", "0b0e6f1e-2a1b-4c3d-8e9f-000000000003"}}}}},
                        &errors);
    EXPECT_EQ(errors.empty(), t->UserWritable()) << t->name;
  }
}

TEST(PushResult, RoundTripsAndCarriesTheHttpStatusOfItsCode) {
  const PushResult r = PushResult::Rejected(
      "m1", ErrorCode::kPermissionDenied, "viewers cannot change this project", json{{"id", "x"}});
  const json j = r.ToJson();
  EXPECT_EQ(j.at("status"), "rejected");
  EXPECT_EQ(j.at("code"), "permission_denied");
  EXPECT_EQ(j.at("http_status"), 403);
  const std::optional<PushResult> back = PushResult::FromJson(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ToJson(), j);
  EXPECT_EQ(PushResult::Applied("m2").ToJson(),
            (json{{"mutation_id", "m2"}, {"status", "applied"}}));
  PushResult replayed = PushResult::Applied("m3");
  replayed.replayed = true;
  EXPECT_TRUE(PushResult::FromJson(replayed.ToJson())->replayed);
}

// A rejection's detail may quote the client's input; the server keeps it as
// jsonb, which refuses \u0000, so a NUL leaves the detail as U+FFFD.
TEST(PushResult, ARejectionsDetailCarriesNoNul) {
  const std::string nul_key("x\0y", 3);
  const PushResult r = PushResult::Rejected(
      "m", ErrorCode::kInvalidArgument,
      json::array({{{"loc", {"body", nul_key}}, {"msg", nul_key + " is not a field"}}}), nullptr);
  std::string text;
  r.AppendText(&text);
  EXPECT_EQ(text.find("\\u0000"), std::string::npos) << text;
  EXPECT_EQ(r.detail[0].at("loc")[1], "x\xEF\xBF\xBDy");
  EXPECT_EQ(r.detail[0].at("msg"), "x\xEF\xBF\xBDy is not a field");
}

// Results recorded by an earlier server version carry only http_status.
TEST(PushResult, ARecordWithoutACodeTakesTheCodeOfItsStatus) {
  const std::optional<PushResult> r = PushResult::FromJson(
      json{{"mutation_id", "m"}, {"status", "rejected"}, {"http_status", 404}, {"detail", "gone"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ErrorCode::kNotFound);
  EXPECT_TRUE(r->current.is_null());
}

TEST(PushResponse, RefusesWhatIsNotOne) {
  for (const json& bad :
       {json(), json::array(), json{{"results", 1}}, json{{"results", {{{"status", "applied"}}}}},
        json{{"results", {{{"mutation_id", "m"}, {"status", "maybe"}}}}}}) {
    EXPECT_FALSE(PushResponse::FromJson(bad).has_value()) << bad.dump();
  }
}

TEST(PullResponse, WriterOutputDecodesToTheSameChanges) {
  PullResponseWriter w;
  w.AddChange("shots", "a", ChangeOp::kUpsert, R"({"id":"a","title":"T \"1\""})");
  w.AddChange("notes", "b", ChangeOp::kDelete, std::nullopt);
  w.AddChange("project_members", "p:u", ChangeOp::kUpsert, R"({"role":"viewer"})", true);
  const std::string text = w.Finish(PullPosition(12, 3), true, false, PullPosition(15, 1));
  std::optional<PullResponse> r = PullResponse::FromJson(json::parse(text));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->changes.size(), 3u);
  EXPECT_FALSE(r->changes[0].begins_access);
  EXPECT_TRUE(r->changes[2].begins_access);
  EXPECT_EQ(r->changes[0].data.at("title"), "T \"1\"");
  EXPECT_EQ(r->changes[1].op, ChangeOp::kDelete);
  EXPECT_TRUE(r->changes[1].data.is_null());
  EXPECT_EQ(r->cursor, PullPosition(12, 3));
  EXPECT_EQ(r->latest, PullPosition(15, 1));
  EXPECT_TRUE(r->has_more);
  EXPECT_EQ(json::parse(text), r->ToJson());
}

TEST(PullResponse, RefusesHostileResponses) {
  for (const char* bad :
       {R"([])", R"({"changes":{}})", R"({"changes":[],"cursor":"x"})",
        R"({"changes":[1],"cursor":""})", R"({"changes":[{"table":"s","id":"a","op":"nuke"}]})",
        R"({"changes":[{"table":"s","id":"a","op":"upsert","data":null}]})",
        R"({"changes":[{"table":1,"id":"a","op":"delete"}]})"}) {
    EXPECT_FALSE(PullResponse::FromJson(json::parse(bad)).has_value()) << bad;
  }
  EXPECT_TRUE(PullResponse::FromJson(json::parse(R"({"changes":[]})")).has_value());
}

TEST(SnapshotPosition, EncodesEveryStageAndDecodesItBack) {
  const std::string p = "0b0e6f1e-2a1b-4c3d-8e9f-000000000001";
  using Stage = SnapshotPosition::Stage;
  std::vector<SnapshotPosition> positions = {
      {Stage::kCatalog, "", nullptr, ""},    {Stage::kNextProject, "", nullptr, ""},
      {Stage::kNextProject, p, nullptr, ""}, {Stage::kOneProject, p, nullptr, ""},
      {Stage::kMembers, p, nullptr, ""},
  };
  for (const TableSpec* t : SnapshotListSpecs()) {
    positions.push_back({Stage::kTable, t->InProject() ? p : "", t, "WyJ4Il0"});
  }
  for (const SnapshotPosition& pos : positions) {
    const std::optional<SnapshotPosition> back = SnapshotPosition::Decode(pos.Encode());
    ASSERT_TRUE(back) << pos.Encode();
    EXPECT_EQ(*back, pos) << pos.Encode();
  }
  // Protocol 1's spellings, which positions held by clients still use.
  EXPECT_EQ(positions.back().Encode(), "e~~WyJ4Il0");
  EXPECT_EQ(SnapshotPosition::Decode("s~" + p + "~")->table, &Spec(Entity::kShot));
  EXPECT_EQ(SnapshotPosition::Decode("t~" + p + "~")->table, &Spec(Entity::kPostprodTask));
  EXPECT_EQ(SnapshotPosition::Decode("n~" + p + "~")->table, &Spec(Entity::kNote));
}

TEST(SnapshotPosition, CarriesTheWalPositionLaterPagesMustBeReadAt) {
  const std::string p = "0b0e6f1e-2a1b-4c3d-8e9f-000000000001";
  SnapshotPosition pos{SnapshotPosition::Stage::kTable, p, &Spec(Entity::kShot), "WyJ4Il0"};
  pos.min_lsn = *ParseLsn("16/B374D848");
  EXPECT_EQ(pos.Encode(), "s~" + p + "@16/B374D848~WyJ4Il0");
  EXPECT_EQ(SnapshotPosition::Decode(pos.Encode()), pos);
  SnapshotPosition catalog;
  catalog.stage = SnapshotPosition::Stage::kNextProject;
  catalog.min_lsn = 5;
  EXPECT_EQ(SnapshotPosition::Decode(catalog.Encode()), catalog);
  const std::vector<std::string> bad_tokens = {
      "s~" + p + "@~", "s~" + p + "@0/0~", "s~" + p + "@zz~", "s~@1/2~", "p~" + p + "@1/2@3/4~"};
  for (const std::string& bad : bad_tokens) {
    EXPECT_EQ(SnapshotPosition::Decode(bad), std::nullopt) << bad;
  }
}

// Every table a snapshot pages has a stage letter: a table added to the model
// cannot be left out of snapshots.
TEST(SnapshotPosition, EveryListedTableHasAStage) {
  EXPECT_EQ(SnapshotListSpecs().size(), 4u);
  for (const TableSpec* t : SnapshotListSpecs()) {
    SnapshotPosition pos{SnapshotPosition::Stage::kTable, "0b0e6f1e-2a1b-4c3d-8e9f-000000000001", t,
                         ""};
    EXPECT_NE(pos.Encode()[0], 'x') << t->name;
  }
  for (const TableSpec* t : MirroredSpecs()) {
    const bool listed = std::find(SnapshotListSpecs().begin(), SnapshotListSpecs().end(), t) !=
                        SnapshotListSpecs().end();
    EXPECT_EQ(listed, t->scope == Scope::kProject ? t->InProject() : t->scope == Scope::kOwner)
        << t->name;
  }
}

TEST(SnapshotPosition, RefusesTokensNoServerMade) {
  const std::string p = "0b0e6f1e-2a1b-4c3d-8e9f-000000000001";
  for (const std::string& bad :
       {std::string(""), std::string("c"), std::string("c~"), std::string("x~~"),
        std::string("q~~"), std::string("cc~~"), std::string("s~~"), std::string("m~~"),
        std::string("P~~"), std::string("m~not-a-uuid~"), std::string("s~") + p,
        std::string("e~") + std::string(3000, 'a') + "~"}) {
    EXPECT_FALSE(SnapshotPosition::Decode(bad).has_value()) << bad;
  }
}

TEST(SnapshotPage, WriterOutputDecodes) {
  SnapshotPageWriter w;
  w.AddRows("shots", R"([{"id":"a"},{"id":"b"}])", 2);
  w.AddRows("notes", "[]", 0);
  EXPECT_EQ(w.rows(), 2);
  const std::optional<SnapshotPosition> next = SnapshotPosition::Decode("e~~");
  const std::string text = w.Finish(PullPosition::Below(9), 12, next);
  std::optional<SnapshotPage> page = SnapshotPage::FromJson(json::parse(text));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->cursor, PullPosition::Below(9));
  EXPECT_EQ(page->estimate, 12);
  ASSERT_EQ(page->tables.size(), 1u);
  EXPECT_EQ(page->tables[0].rows.size(), 2u);
  EXPECT_EQ(page->next, "e~~");
  EXPECT_EQ(json::parse(text), page->ToJson());

  SnapshotPageWriter last;
  EXPECT_FALSE(
      SnapshotPage::FromJson(json::parse(last.Finish(PullPosition(), std::nullopt, std::nullopt)))
          ->next);
}

TEST(SnapshotPage, RefusesHostilePages) {
  for (const char* bad :
       {R"({})", R"({"tables":[{"table":"s"}]})", R"({"tables":[{"table":"s","rows":{}}]})",
        R"({"tables":[],"next":3})", R"({"tables":[],"cursor":"1"})"}) {
    EXPECT_FALSE(SnapshotPage::FromJson(json::parse(bad)).has_value()) << bad;
  }
}

TEST(DigestResponse, RoundTrips) {
  DigestResponse d;
  d.cursor = PullPosition::Below(100);
  d.tables["shots"] = {{"count", 2}, {"digest", "ab"}};
  EXPECT_EQ(DigestResponse::FromJson(d.ToJson())->ToJson(), d.ToJson());
  EXPECT_FALSE(DigestResponse::FromJson(json{{"tables", json::array()}}).has_value());
}

}  // namespace
}  // namespace vemakin::core
