// Encoding and decoding of the sync wire types (core/sync_protocol.h).
#include "core/sync_protocol.h"

#include <cstdio>

#include "core/json_codec.h"

namespace vemakin::core {

using nlohmann::json;

// ------------------------------------------------------------ positions

namespace {

// 1 to 19 decimal digits (below 10^19, which fits in 64 bits).
std::optional<std::uint64_t> Digits(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::optional<PullPosition> PullPosition::Parse(std::string_view text) {
  if (text.empty()) return PullPosition();
  std::string cluster;
  if (const size_t at = text.find('@'); at != std::string_view::npos) {
    const std::string_view c = text.substr(at + 1);
    if (c.empty() || c.size() > 16) return std::nullopt;
    for (char ch : c) {
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return std::nullopt;
    }
    cluster = std::string(c);
    text = text.substr(0, at);
  }
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::optional<std::uint64_t> txid = Digits(text.substr(0, dot));
  const std::optional<std::uint64_t> seq = Digits(text.substr(dot + 1));
  if (!txid || !seq || *seq > kMaxSeq) return std::nullopt;
  return PullPosition(*txid, *seq).WithCluster(std::move(cluster));
}

PullPosition PullPosition::Below(std::uint64_t xmin) {
  if (xmin == 0) return PullPosition();
  return PullPosition(xmin - 1, kMaxSeq);
}

std::string PullPosition::ToString() const {
  if (IsBeginning()) return "";
  return std::to_string(txid_) + "." + std::to_string(seq_) +
         (cluster_.empty() ? "" : "@" + cluster_);
}

// ------------------------------------------------------------ push

std::string_view MutationOpName(MutationOp op) {
  switch (op) {
    case MutationOp::kCreate:
      return "create";
    case MutationOp::kUpdate:
      return "update";
    case MutationOp::kDelete:
      return "delete";
  }
  return "create";
}

std::optional<MutationOp> ParseMutationOp(std::string_view name) {
  for (MutationOp op : {MutationOp::kCreate, MutationOp::kUpdate, MutationOp::kDelete}) {
    if (MutationOpName(op) == name) return op;
  }
  return std::nullopt;
}

json Mutation::ToJson() const {
  return {{"mutation_id", mutation_id},
          {"table", table},
          {"op", MutationOpName(op)},
          {"id", id},
          {"fields", fields}};
}

json PushRequest::ToJson() const {
  json list = json::array();
  for (const Mutation& m : mutations) list.push_back(m.ToJson());
  return {{"client_id", client_id}, {"mutations", std::move(list)}};
}

PushRequest PushRequest::Decode(json body, std::vector<FieldError>* errors) {
  PushRequest out;
  if (!body.is_object()) {
    errors->push_back({{"body"}, "must be a JSON object", "type"});
    return out;
  }
  // Members are read in place and the fields moved out: a body holds up to
  // kMaxMutations mutations, and copies of their trees cost more than the
  // checks.
  auto member = [](json& object, const char* key) -> json* {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  };
  const json* client = member(body, "client_id");
  if (client == nullptr || !client->is_string() ||
      !IsValidUuid(client->get_ref<const std::string&>())) {
    errors->push_back({{"body", "client_id"}, "must be a UUID", "type"});
  } else {
    out.client_id = NormalizeUuid(client->get_ref<const std::string&>());
  }
  json* list = member(body, "mutations");
  if (list == nullptr || !list->is_array() || list->size() > kMaxMutations) {
    errors->push_back(
        {{"body", "mutations"},
         "must be an array of at most " + std::to_string(kMaxMutations) + " mutations",
         "type"});
    return out;
  }
  out.mutations.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    json& m = (*list)[i];
    const std::string at = std::to_string(i);
    auto text = [&](const char* key) -> std::string {
      const json* v = m.is_object() ? member(m, key) : nullptr;
      return v != nullptr && v->is_string() ? v->get<std::string>() : "";
    };
    Mutation mutation;
    mutation.mutation_id = text("mutation_id");
    mutation.table = text("table");
    mutation.id = text("id");
    if (!m.is_object()) {
      mutation.fields = json();
    } else if (json* fields = member(m, "fields")) {
      mutation.fields = std::move(*fields);
    }
    if (!IsValidUuid(mutation.mutation_id)) {
      errors->push_back({{"body", "mutations", at, "mutation_id"}, "must be a UUID", "type"});
    }
    const TableSpec* spec = FindSpec(mutation.table);
    if (spec == nullptr || !spec->UserWritable()) {
      errors->push_back(
          {{"body", "mutations", at, "table"}, "is not a table a client writes", "enum"});
    }
    const std::optional<MutationOp> op = ParseMutationOp(text("op"));
    if (!op) {
      errors->push_back(
          {{"body", "mutations", at, "op"}, "must be create, update or delete", "enum"});
    } else {
      mutation.op = *op;
    }
    if (!IsValidUuid(mutation.id)) {
      errors->push_back({{"body", "mutations", at, "id"}, "must be a UUID", "type"});
    }
    if (!mutation.fields.is_object()) {
      errors->push_back({{"body", "mutations", at, "fields"}, "must be a JSON object", "type"});
    }
    mutation.mutation_id = NormalizeUuid(mutation.mutation_id);
    mutation.id = NormalizeUuid(mutation.id);
    out.mutations.push_back(std::move(mutation));
  }
  return out;
}

PushRequestWriter::PushRequestWriter(std::string_view client_id) {
  out_ = "{\"client_id\":";
  AppendJsonString(client_id, &out_);
  out_ += ",\"mutations\":[";
}

void PushRequestWriter::AddMutation(std::string_view mutation_id, std::string_view table,
                                    MutationOp op, std::string_view id,
                                    std::string_view fields_json) {
  if (!first_) out_ += ",";
  first_ = false;
  out_ += "{\"mutation_id\":";
  AppendJsonString(mutation_id, &out_);
  out_ += ",\"table\":";
  AppendJsonString(table, &out_);
  out_ += ",\"op\":";
  AppendJsonString(MutationOpName(op), &out_);
  out_ += ",\"id\":";
  AppendJsonString(id, &out_);
  out_ += ",\"fields\":";
  out_.append(fields_json.data(), fields_json.size());
  out_ += "}";
}

std::string PushRequestWriter::Finish() {
  out_ += "]}";
  return std::move(out_);
}

PushResult PushResult::Applied(std::string mutation_id) {
  PushResult r;
  r.mutation_id = std::move(mutation_id);
  return r;
}

namespace {

// `v` with every NUL in its strings and keys replaced by U+FFFD. A detail can
// quote the client's own input (an unknown field's name), and the server keeps
// each result as jsonb, which cannot hold \u0000: a NUL there failed the
// whole push, at every retry (SPEC.md 4.6).
json WithoutNul(json v) {
  auto scrub = [](std::string s) {
    for (size_t at = s.find('\0'); at != std::string::npos; at = s.find('\0', at)) {
      s.replace(at, 1, "\xEF\xBF\xBD");
    }
    return s;
  };
  if (v.is_string()) return scrub(v.get<std::string>());
  if (v.is_array()) {
    for (json& item : v) item = WithoutNul(std::move(item));
  } else if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[scrub(it.key())] = WithoutNul(it.value());
    return out;
  }
  return v;
}

}  // namespace

PushResult PushResult::Rejected(std::string mutation_id, ErrorCode code, json detail,
                                json current) {
  PushResult r;
  r.mutation_id = std::move(mutation_id);
  r.outcome = Outcome::kRejected;
  r.code = code;
  r.detail = WithoutNul(std::move(detail));
  r.current = std::move(current);
  return r;
}

json PushResult::ToJson() const {
  json out = {{"mutation_id", mutation_id},
              {"status", outcome == Outcome::kApplied ? "applied" : "rejected"}};
  if (outcome == Outcome::kRejected) {
    out["code"] = ErrorCodeName(code);
    out["http_status"] = HttpStatusFor(code);
    out["detail"] = detail;
    out["current"] = current;
  }
  if (replayed) out["replayed"] = true;
  return out;
}

void PushResult::AppendText(std::string* out) const {
  if (outcome == Outcome::kRejected) {
    *out += ToJson().dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  *out += "{\"mutation_id\":";
  AppendJsonString(mutation_id, out);
  *out += ",\"status\":\"applied\"";
  if (replayed) *out += ",\"replayed\":true";
  *out += "}";
}

std::optional<PushResult> PushResult::FromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const json id = j.value("mutation_id", json());
  const json status = j.value("status", json());
  if (!id.is_string() || !status.is_string()) return std::nullopt;
  PushResult r;
  r.mutation_id = id.get<std::string>();
  r.replayed = j.value("replayed", json(false)) == json(true);
  if (status == "applied") return r;
  if (status != "rejected") return std::nullopt;
  r.outcome = Outcome::kRejected;
  const json code = j.value("code", json());
  const std::optional<ErrorCode> named =
      code.is_string() ? ParseErrorCodeName(code.get<std::string>()) : std::nullopt;
  const json http = j.value("http_status", json());
  r.code =
      named ? *named : ErrorCodeForHttpStatus(http.is_number_integer() ? http.get<int>() : 422);
  r.detail = j.value("detail", json());
  r.current = j.value("current", json());
  return r;
}

json PushResponse::ToJson() const {
  json list = json::array();
  for (const PushResult& r : results) list.push_back(r.ToJson());
  return {{"results", std::move(list)}};
}

std::string PushResponse::ToText() const {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ",";
    results[i].AppendText(&out);
  }
  out += "]}";
  return out;
}

std::optional<PushResponse> PushResponse::FromJson(const json& j) {
  if (!j.is_object() || !j.contains("results") || !j.at("results").is_array()) {
    return std::nullopt;
  }
  PushResponse out;
  for (const json& r : j.at("results")) {
    std::optional<PushResult> result = PushResult::FromJson(r);
    if (!result) return std::nullopt;
    out.results.push_back(std::move(*result));
  }
  return out;
}

// ------------------------------------------------------------ pull

std::string_view ChangeOpName(ChangeOp op) { return op == ChangeOp::kDelete ? "delete" : "upsert"; }

std::optional<ChangeOp> ParseChangeOp(std::string_view name) {
  if (name == "upsert") return ChangeOp::kUpsert;
  if (name == "delete") return ChangeOp::kDelete;
  return std::nullopt;
}

namespace {

std::optional<PullPosition> PositionField(const json& j, const char* key) {
  const json v = j.value(key, json(""));
  if (!v.is_string()) return std::nullopt;
  return PullPosition::Parse(v.get_ref<const std::string&>());
}

}  // namespace

json PullResponse::ToJson() const {
  json list = json::array();
  for (const Change& c : changes) {
    list.push_back(
        {{"table", c.table}, {"id", c.id}, {"op", ChangeOpName(c.op)}, {"data", c.data}});
    if (c.begins_access) list.back()["begins_access"] = true;
  }
  return {{"changes", std::move(list)},
          {"cursor", cursor.ToString()},
          {"has_more", has_more},
          {"pending", pending},
          {"latest", latest.ToString()}};
}

std::optional<PullResponse> PullResponse::FromJson(json&& j) {
  if (!j.is_object() || !j.contains("changes") || !j.at("changes").is_array()) {
    return std::nullopt;
  }
  PullResponse out;
  const std::optional<PullPosition> cursor = PositionField(j, "cursor");
  const std::optional<PullPosition> latest = PositionField(j, "latest");
  if (!cursor || !latest) return std::nullopt;
  out.cursor = *cursor;
  out.latest = *latest;
  out.has_more = j.value("has_more", json(false)) == json(true);
  out.pending = j.value("pending", json(false)) == json(true);
  json& changes = j.at("changes");
  out.changes.reserve(changes.size());
  for (json& c : changes) {
    if (!c.is_object()) return std::nullopt;
    const json table = c.value("table", json());
    const json id = c.value("id", json());
    const json op = c.value("op", json());
    if (!table.is_string() || !id.is_string() || !op.is_string()) return std::nullopt;
    const std::optional<ChangeOp> parsed = ParseChangeOp(op.get<std::string>());
    if (!parsed) return std::nullopt;
    Change change{table.get<std::string>(), id.get<std::string>(), *parsed, json()};
    change.begins_access = c.value("begins_access", json(false)) == json(true);
    if (*parsed == ChangeOp::kUpsert) {
      auto data = c.find("data");
      if (data == c.end() || !data->is_object()) return std::nullopt;
      change.data = std::move(*data);
    }
    out.changes.push_back(std::move(change));
  }
  return out;
}

void PullResponseWriter::AddChange(std::string_view table, std::string_view id, ChangeOp op,
                                   std::optional<std::string_view> data_json, bool begins_access) {
  if (!first_) out_ += ",";
  first_ = false;
  out_ += "{\"table\":";
  AppendJsonString(table, &out_);
  out_ += ",\"id\":";
  AppendJsonString(id, &out_);
  out_ += ",\"op\":";
  AppendJsonString(ChangeOpName(op), &out_);
  out_ += ",\"data\":";
  if (data_json) {
    out_.append(data_json->data(), data_json->size());
  } else {
    out_ += "null";
  }
  if (begins_access) out_ += ",\"begins_access\":true";
  out_ += "}";
}

std::string PullResponseWriter::Finish(const PullPosition& cursor, bool has_more, bool pending,
                                       const PullPosition& latest) {
  std::string out = std::move(out_);
  out += "],\"cursor\":";
  AppendJsonString(cursor.ToString(), &out);
  out += std::string(",\"has_more\":") + (has_more ? "true" : "false");
  out += std::string(",\"pending\":") + (pending ? "true" : "false");
  out += ",\"latest\":";
  AppendJsonString(latest.ToString(), &out);
  out += "}";
  out_ = "{\"changes\":[";
  first_ = true;
  return out;
}

// ------------------------------------------------------------ snapshot

namespace {

// The stage letters of protocol 1. A table stage's letter is fixed per table
// (positions outlive server upgrades); SnapshotListSpecs() must have one each.
struct TableLetter {
  const char* table;
  char letter;
};
constexpr TableLetter kTableLetters[] = {
    {"shots", 's'}, {"postprod_tasks", 't'}, {"notes", 'n'}, {"equipment", 'e'}};

std::optional<char> LetterOf(const TableSpec* table) {
  for (const TableLetter& t : kTableLetters) {
    if (table != nullptr && table->name == t.table) return t.letter;
  }
  return std::nullopt;
}

const TableSpec* TableOfLetter(char letter) {
  for (const TableLetter& t : kTableLetters) {
    if (t.letter == letter) return FindSpec(t.table);
  }
  return nullptr;
}

}  // namespace

const std::vector<const TableSpec*>& SnapshotListSpecs() {
  static const std::vector<const TableSpec*> specs = [] {
    std::vector<const TableSpec*> v;
    for (const TableSpec* t : ProjectChildSpecs()) {
      if (t->scope == Scope::kProject) v.push_back(t);
    }
    for (const TableSpec* t : MirroredSpecs()) {
      if (t->scope == Scope::kOwner) v.push_back(t);
    }
    return v;
  }();
  return specs;
}

std::string SnapshotPosition::Encode() const {
  char letter = 'x';
  switch (stage) {
    case Stage::kCatalog:
      letter = 'c';
      break;
    case Stage::kNextProject:
      letter = 'p';
      break;
    case Stage::kOneProject:
      letter = 'P';
      break;
    case Stage::kMembers:
      letter = 'm';
      break;
    case Stage::kTable:
      letter = LetterOf(table).value_or('x');
      break;
    case Stage::kDone:
      letter = 'x';
      break;
  }
  return std::string(1, letter) + "~" + project + (min_lsn ? "@" + FormatLsn(min_lsn) : "") + "~" +
         cursor;
}

std::optional<SnapshotPosition> SnapshotPosition::Decode(std::string_view token) {
  const size_t a = token.find('~');
  const size_t b = a == std::string_view::npos ? a : token.find('~', a + 1);
  if (token.size() > 2048 || a != 1 || b == std::string_view::npos) return std::nullopt;
  SnapshotPosition pos;
  pos.project = std::string(token.substr(2, b - 2));
  pos.cursor = std::string(token.substr(b + 1));
  if (const size_t at = pos.project.find('@'); at != std::string::npos) {
    const std::optional<std::uint64_t> lsn = ParseLsn(std::string_view(pos.project).substr(at + 1));
    if (!lsn || *lsn == 0) return std::nullopt;
    pos.min_lsn = *lsn;
    pos.project.resize(at);
  }
  switch (token[0]) {
    case 'c':
      pos.stage = Stage::kCatalog;
      break;
    case 'p':
      pos.stage = Stage::kNextProject;
      break;
    case 'P':
      pos.stage = Stage::kOneProject;
      break;
    case 'm':
      pos.stage = Stage::kMembers;
      break;
    default:
      pos.stage = Stage::kTable;
      pos.table = TableOfLetter(token[0]);
      if (pos.table == nullptr) return std::nullopt;
  }
  if (!pos.project.empty()) {
    if (!IsValidUuid(pos.project)) return std::nullopt;
    pos.project = NormalizeUuid(pos.project);
  }
  const bool needs_project = pos.stage == Stage::kOneProject || pos.stage == Stage::kMembers ||
                             (pos.stage == Stage::kTable && pos.table->InProject());
  if (needs_project && pos.project.empty()) return std::nullopt;
  // Nor what no server writes: a project where the stage has none (the
  // catalog, the user's own tables), a list cursor outside a table.
  const bool takes_project =
      pos.stage != Stage::kCatalog && (pos.stage != Stage::kTable || pos.table->InProject());
  if (!takes_project && !pos.project.empty()) return std::nullopt;
  if (pos.stage != Stage::kTable && !pos.cursor.empty()) return std::nullopt;
  return pos;
}

json SnapshotPage::ToJson() const {
  json out = {{"cursor", cursor.ToString()}};
  if (estimate) out["estimate"] = *estimate;
  json list = json::array();
  for (const SnapshotTable& t : tables) list.push_back({{"table", t.table}, {"rows", t.rows}});
  out["tables"] = std::move(list);
  out["next"] = next ? json(*next) : json();
  return out;
}

std::optional<SnapshotPage> SnapshotPage::FromJson(json&& j) {
  if (!j.is_object() || !j.contains("tables") || !j.at("tables").is_array()) return std::nullopt;
  SnapshotPage out;
  const std::optional<PullPosition> cursor = PositionField(j, "cursor");
  if (!cursor) return std::nullopt;
  out.cursor = *cursor;
  if (auto e = j.find("estimate"); e != j.end() && e->is_number_integer()) {
    out.estimate = e->get<long long>();
  }
  const json next = j.value("next", json());
  if (next.is_string()) {
    out.next = next.get<std::string>();
  } else if (!next.is_null()) {
    return std::nullopt;
  }
  for (json& t : j.at("tables")) {
    if (!t.is_object()) return std::nullopt;
    const json table = t.value("table", json());
    auto rows = t.find("rows");
    if (!table.is_string() || rows == t.end() || !rows->is_array()) return std::nullopt;
    out.tables.push_back({table.get<std::string>(), std::move(*rows)});
  }
  return out;
}

void SnapshotPageWriter::AddRows(std::string_view table, std::string_view rows_json,
                                 long long count) {
  if (count == 0) return;
  tables_ += tables_.empty() ? "{\"table\":" : ",{\"table\":";
  AppendJsonString(table, &tables_);
  tables_ += ",\"rows\":";
  tables_.append(rows_json.data(), rows_json.size());
  tables_ += "}";
  rows_ += count;
}

std::string SnapshotPageWriter::Finish(const PullPosition& cursor,
                                       std::optional<long long> estimate,
                                       const std::optional<SnapshotPosition>& next) {
  std::string out = "{\"cursor\":";
  AppendJsonString(cursor.ToString(), &out);
  if (estimate) out += ",\"estimate\":" + std::to_string(*estimate);
  out += ",\"tables\":[" + tables_ + "],\"next\":";
  if (next && next->stage != SnapshotPosition::Stage::kDone) {
    AppendJsonString(next->Encode(), &out);
  } else {
    out += "null";
  }
  out += "}";
  return out;
}

// ------------------------------------------------------------ digest

json DigestResponse::ToJson() const {
  json t = json::object();
  for (const auto& [name, digest] : tables) t[name] = digest;
  return {{"cursor", cursor.ToString()}, {"exact", exact}, {"tables", std::move(t)}};
}

std::optional<DigestResponse> DigestResponse::FromJson(const json& j) {
  if (!j.is_object() || !j.contains("tables") || !j.at("tables").is_object()) {
    return std::nullopt;
  }
  DigestResponse out;
  const std::optional<PullPosition> cursor = PositionField(j, "cursor");
  if (!cursor) return std::nullopt;
  out.cursor = *cursor;
  out.exact = j.value("exact", json(false)) == json(true);  // older servers: unknown
  for (auto it = j.at("tables").begin(); it != j.at("tables").end(); ++it) {
    out.tables[it.key()] = it.value();
  }
  return out;
}

std::optional<std::uint64_t> ParseLsn(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
      text.size() - slash - 1 > 8) {
    return std::nullopt;
  }
  std::uint64_t parts[2] = {0, 0};
  const std::string_view halves[2] = {text.substr(0, slash), text.substr(slash + 1)};
  for (int i = 0; i < 2; ++i) {
    for (char c : halves[i]) {
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) return std::nullopt;
      parts[i] = parts[i] * 16 + static_cast<std::uint64_t>(digit);
    }
  }
  return (parts[0] << 32) | parts[1];
}

std::string FormatLsn(std::uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

}  // namespace vemakin::core
