// The sync wire protocol (docs/sync-protocol.md) as types with encode and
// decode, used by the server's sync routes, the client's sync session and the
// tests: positions in the one total order (PullPosition), pushes (Mutation,
// PushRequest, PushResult), pulls (Change, PullResponse), snapshots
// (SnapshotPosition, SnapshotPage) and digests. The server renders its hot
// responses with the writers below, which take rows already rendered as JSON
// text (no JSON tree per row); everything else goes through ToJson/FromJson.
// Decoders never throw on hostile input: they return nullopt or field errors.
// Pure; thread-safe.
#ifndef VEMAKIN_CORE_SYNC_PROTOCOL_H_
#define VEMAKIN_CORE_SYNC_PROTOCOL_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "core/validation.h"

namespace vemakin::core {

// ------------------------------------------------------------ positions

// A position in the server's one total order of changes: the (txid, seq) of
// the last change a client holds, compared as numbers. The default position
// is the beginning (before every change), spelled "" on the wire; any other
// is "<txid>.<seq>", optionally followed by "@<cluster>": the identity of the
// database the position belongs to (a hash of the cluster's system
// identifier, the database and the schema, 16 hex digits), so that a cursor
// from another database (a dump restored elsewhere, a rebuilt server) is
// recognised and rebased instead of silently stalling. Comparisons ignore it.
class PullPosition {
 public:
  static constexpr std::uint64_t kMaxSeq = 9223372036854775807ULL;  // bigint's maximum

  PullPosition() = default;
  PullPosition(std::uint64_t txid, std::uint64_t seq) : txid_(txid), seq_(seq) {}

  // "" (the beginning) or "<txid>.<seq>[@<cluster>]", each number 1 to 19
  // decimal digits, seq at most kMaxSeq, the cluster 1 to 16 lower-case hex
  // digits; nullopt for anything else.
  static std::optional<PullPosition> Parse(std::string_view text);
  // After every change of every transaction below `xmin` (a snapshot's
  // xmin: all of those had finished when it was taken): (xmin - 1, kMaxSeq);
  // the beginning for xmin 0.
  static PullPosition Below(std::uint64_t xmin);

  // "" for the beginning, else "<txid>.<seq>" and "@<cluster>" when known.
  std::string ToString() const;
  bool IsBeginning() const { return txid_ == 0 && seq_ == 0; }
  std::uint64_t txid() const { return txid_; }
  std::uint64_t seq() const { return seq_; }
  // "" when the position does not say (positions written before it existed).
  const std::string& cluster() const { return cluster_; }
  PullPosition WithCluster(std::string cluster) const {
    PullPosition p = *this;
    p.cluster_ = std::move(cluster);
    return p;
  }

  friend bool operator<(const PullPosition& a, const PullPosition& b) {
    return a.txid_ != b.txid_ ? a.txid_ < b.txid_ : a.seq_ < b.seq_;
  }
  friend bool operator==(const PullPosition& a, const PullPosition& b) {
    return a.txid_ == b.txid_ && a.seq_ == b.seq_;
  }
  friend bool operator!=(const PullPosition& a, const PullPosition& b) { return !(a == b); }
  friend bool operator<=(const PullPosition& a, const PullPosition& b) { return !(b < a); }

 private:
  std::uint64_t txid_ = 0;
  std::uint64_t seq_ = 0;
  std::string cluster_;
};

// ------------------------------------------------------------ push

enum class MutationOp { kCreate, kUpdate, kDelete };
std::string_view MutationOpName(MutationOp op);  // "create", "update", "delete"
std::optional<MutationOp> ParseMutationOp(std::string_view name);

// One local write, as the outbox holds it and a push carries it.
struct Mutation {
  std::string mutation_id;  // the client's id of this mutation (a UUID)
  std::string table;        // one of WritableSpecs()
  MutationOp op = MutationOp::kCreate;
  std::string id;                                    // the row's id
  nlohmann::json fields = nlohmann::json::object();  // all fields of a create; the changed ones
                                                     // of an update; {} for a delete
  nlohmann::json ToJson() const;
};

struct PushRequest {
  static constexpr std::size_t kMaxMutations = 1000;

  std::string client_id;
  std::vector<Mutation> mutations;

  nlohmann::json ToJson() const;
  // Decodes and checks a push body. Every problem is appended to `errors`
  // (locations under "body", the API's 422 detail); the result is only
  // meaningful when none was. Ids come back normalised (lower case). The
  // body is taken by value: pass it with std::move, and the mutations'
  // fields are moved out of it instead of copied.
  static PushRequest Decode(nlohmann::json body, std::vector<FieldError>* errors);
};

// Renders a PushRequest's body from mutations whose fields are already JSON
// text (the client's hot path: its outbox stores each mutation's fields as
// the text written with it), without a JSON tree: the same wire format as
// PushRequest::ToJson.
class PushRequestWriter {
 public:
  explicit PushRequestWriter(std::string_view client_id);
  // `fields_json` must be a JSON object's text.
  void AddMutation(std::string_view mutation_id, std::string_view table, MutationOp op,
                   std::string_view id, std::string_view fields_json);
  // The body, closed; call once, after the last AddMutation.
  std::string Finish();

 private:
  std::string out_;
  bool first_ = true;
};

// What the server did with one mutation.
struct PushResult {
  enum class Outcome { kApplied, kRejected };

  std::string mutation_id;
  Outcome outcome = Outcome::kApplied;
  bool replayed = false;  // recorded by an earlier push; nothing was applied now
  // Rejected only: why, in the domain's terms, and the user-facing reason
  // (a string, or the validation errors as the API's 422 list).
  ErrorCode code = ErrorCode::kInvalidArgument;
  nlohmann::json detail;
  // Rejected only: the row as this user may see it now (null: no such row),
  // so the client can restore it.
  nlohmann::json current;

  static PushResult Applied(std::string mutation_id);
  // A NUL in `detail`'s strings or keys becomes U+FFFD.
  static PushResult Rejected(std::string mutation_id, ErrorCode code, nlohmann::json detail,
                             nlohmann::json current);

  // Also carries "http_status" (HttpStatusFor(code)), which clients of the
  // first protocol version read.
  nlohmann::json ToJson() const;
  // ToJson's text appended to `out`; an applied result (nearly every one)
  // is written without a JSON tree. Invalid UTF-8 in a detail is replaced.
  void AppendText(std::string* out) const;
  // nullopt when `j` is not a push result. A result recorded before results
  // carried "code" gets the code of its "http_status".
  static std::optional<PushResult> FromJson(const nlohmann::json& j);
};

struct PushResponse {
  std::vector<PushResult> results;
  nlohmann::json ToJson() const;
  // ToJson's text (PushResult::AppendText for each result).
  std::string ToText() const;
  static std::optional<PushResponse> FromJson(const nlohmann::json& j);
};

// ------------------------------------------------------------ pull

enum class ChangeOp { kUpsert, kDelete };
std::string_view ChangeOpName(ChangeOp op);  // "upsert", "delete"
std::optional<ChangeOp> ParseChangeOp(std::string_view name);

// One change of the log: a row image (the row as PostgreSQL renders it; the
// client canonicalises it) or a tombstone.
struct Change {
  std::string table;
  std::string id;  // RowKey(): "<project_id>:<user_id>" for members
  ChangeOp op = ChangeOp::kUpsert;
  nlohmann::json data;  // null for a delete
  // This user's own membership row as it began (an invitation, a
  // re-invitation): the client loads the project whole (a one-project
  // snapshot), since pulls carry nothing from before it. On the wire
  // `"begins_access": true`, present only when set.
  bool begins_access = false;
};

struct PullResponse {
  std::vector<Change> changes;
  PullPosition cursor;    // where the next pull starts
  bool has_more = false;  // more changes are waiting: pull again now
  bool pending = false;   // committed changes are still held back by the horizon
  PullPosition latest;    // the newest change the server had committed (beginning: none)

  nlohmann::json ToJson() const;
  // nullopt when `j` is not a pull response. Moves the row images out of `j`.
  static std::optional<PullResponse> FromJson(nlohmann::json&& j);
};

// Renders a PullResponse from rows already rendered as JSON text (the
// server's hot path: a change's data is jsonb text straight from PostgreSQL).
class PullResponseWriter {
 public:
  // `data_json` must be valid JSON (or nullopt for a tombstone).
  void AddChange(std::string_view table, std::string_view id, ChangeOp op,
                 std::optional<std::string_view> data_json, bool begins_access = false);
  std::string Finish(const PullPosition& cursor, bool has_more, bool pending,
                     const PullPosition& latest);

 private:
  std::string out_ = "{\"changes\":[";
  bool first_ = true;
};

// ------------------------------------------------------------ snapshot

// Where a snapshot continues. A snapshot walks: the catalog; then each
// member project by id (the project, its members, then each of its child
// tables in ProjectChildSpecs() order, by list order); then the user's own
// tables (the inventory); then it is done. A one-project snapshot
// (?project=) walks one project and ends.
struct SnapshotPosition {
  enum class Stage {
    kCatalog,      // nothing sent yet
    kNextProject,  // the member project after `project` ("" = the first)
    kOneProject,   // `project` itself (a one-project snapshot's start)
    kMembers,      // `project`'s members
    kTable,        // `table` (of `project`, or the user's own), after list cursor `cursor`
    kDone,
  };
  Stage stage = Stage::kCatalog;
  std::string project;               // a project id, or ""
  const TableSpec* table = nullptr;  // kTable only
  std::string cursor;                // kTable: the list cursor of the last row sent ("" = none)
  // With read replicas: a WAL position the rest of the snapshot must be read
  // at or past (the first page's state), so that no later page comes from an
  // older copy than the first, however the client resumes (0 = none).
  std::uint64_t min_lsn = 0;

  // The wire token ("<stage>~<project>[@<lsn>]~<list cursor>"); kDone has none.
  std::string Encode() const;
  // nullopt for a token no server made (unknown stage, malformed project id,
  // a stage that needs a project without one or has one it cannot use, a
  // list cursor outside a table stage, oversized).
  static std::optional<SnapshotPosition> Decode(std::string_view token);

  friend bool operator==(const SnapshotPosition& a, const SnapshotPosition& b) {
    return a.stage == b.stage && a.project == b.project && a.table == b.table &&
           a.cursor == b.cursor && a.min_lsn == b.min_lsn;
  }
};

// The tables a snapshot pages through by list order (project children other
// than members, then owner tables): each has a stage letter on the wire.
const std::vector<const TableSpec*>& SnapshotListSpecs();

struct SnapshotTable {
  std::string table;
  nlohmann::json rows = nlohmann::json::array();  // canonical rows
};

struct SnapshotPage {
  PullPosition cursor;                // where to pull from once the whole snapshot is applied
  std::optional<long long> estimate;  // first page only: rows in the whole snapshot (approximate)
  std::vector<SnapshotTable> tables;
  std::optional<std::string> next;  // the position token of the next page; nullopt = last page

  nlohmann::json ToJson() const;
  // nullopt when `j` is not a snapshot page. Moves the rows out of `j`.
  static std::optional<SnapshotPage> FromJson(nlohmann::json&& j);
};

// Renders a SnapshotPage from rows already rendered as a JSON array's text.
class SnapshotPageWriter {
 public:
  // `rows_json` is a JSON array of `count` rows; nothing is written for 0.
  void AddRows(std::string_view table, std::string_view rows_json, long long count);
  long long rows() const { return rows_; }
  std::size_t bytes() const { return tables_.size(); }  // of row JSON so far
  std::string Finish(const PullPosition& cursor, std::optional<long long> estimate,
                     const std::optional<SnapshotPosition>& next);

 private:
  std::string tables_;
  long long rows_ = 0;
};

// ------------------------------------------------------------ freshness

// With read replicas, sync responses carry `X-Vemakin-Lsn`: a WAL position
// at or past the state the response was read from (a push: its commit), and
// a client sends the highest it has seen back as `X-Vemakin-Min-Lsn`, so
// that no later read comes from a replica that has not replayed as far
// (docs/sync-protocol.md "Read replicas").
inline constexpr const char* kLsnHeader = "X-Vemakin-Lsn";
inline constexpr const char* kMinLsnHeader = "X-Vemakin-Min-Lsn";
// PostgreSQL's pg_lsn text ("16/B374D848": two hex numbers of at most 8
// digits) as one number; nullopt for anything else.
std::optional<std::uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(std::uint64_t lsn);

// ------------------------------------------------------------ digest

struct DigestResponse {
  PullPosition cursor;
  // No transaction was in progress when the digest's snapshot was taken, so
  // it holds exactly the changes up to `cursor`. When false (or unknown: a
  // server that does not say), a transaction that committed while an older
  // one was open may be in it but after `cursor`.
  bool exact = false;
  std::map<std::string, nlohmann::json> tables;  // table -> {"count", "digest"}

  nlohmann::json ToJson() const;
  static std::optional<DigestResponse> FromJson(const nlohmann::json& j);
};

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_SYNC_PROTOCOL_H_
