// Fuzz target: snapshot positions (core::SnapshotPosition::Decode), the
// `after` token of GET /api/sync/snapshot that a client hands back verbatim.
// Beyond not crashing it proves: a token that decodes names a stage that has
// what it needs (a project where the stage walks one, a table only at the
// table stage, a table a snapshot pages through), and encodes back to a token
// that decodes to the same position, so a resumed snapshot continues exactly
// where the server said.
#include <algorithm>

#include "core/sync_protocol.h"
#include "core/validation.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vemakin::core::SnapshotPosition;
  using vemakin::fuzz::Check;
  using Stage = SnapshotPosition::Stage;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const std::optional<SnapshotPosition> p = SnapshotPosition::Decode(token);
  if (!p) return 0;
  Check(p->stage != Stage::kDone, "no token decodes to the end");
  if (p->stage == Stage::kOneProject || p->stage == Stage::kMembers) {
    Check(vemakin::core::IsValidUuid(p->project), "a project stage names a project");
  }
  if (!p->project.empty()) {
    Check(vemakin::core::IsValidUuid(p->project), "a project is a UUID");
    Check(vemakin::core::NormalizeUuid(p->project) == p->project, "a project is lower case");
  }
  if (p->stage == Stage::kTable) {
    const auto& tables = vemakin::core::SnapshotListSpecs();
    Check(p->table != nullptr, "the table stage names a table");
    Check(std::find(tables.begin(), tables.end(), p->table) != tables.end(),
          "the table is one a snapshot pages through");
    Check(p->table->InProject() != p->project.empty(), "a project exactly for project tables");
  } else {
    Check(p->table == nullptr && p->cursor.empty(), "only the table stage has a table and cursor");
  }
  if (p->stage == Stage::kCatalog) Check(p->project.empty(), "the catalog stage has no project");
  const std::string encoded = p->Encode();
  const std::optional<SnapshotPosition> again = SnapshotPosition::Decode(encoded);
  Check(again.has_value(), "an encoded position decodes");
  Check(*again == *p, "encode and decode round-trip");
  return 0;
}
