// Fuzz target: pull positions (core::PullPosition::Parse), the `cursor` and
// `upto` of GET /api/sync/pull and the cursor of every stored sync state.
// Beyond not crashing it proves: a position that parses renders to text that
// parses back to the same position and cluster (so a client that stores the
// rendering resumes exactly there), sequence numbers never exceed bigint's
// range (they are bound as SQL bigint; txids are xid8, all of 64 bits), and
// Below() of any txid is ordered before every change of that transaction.
#include "core/sync_protocol.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vemakin::core::PullPosition;
  using vemakin::fuzz::Check;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<PullPosition> p = PullPosition::Parse(text);
  if (!p) return 0;
  Check(p->seq() <= PullPosition::kMaxSeq, "seq fits a bigint");
  const std::string rendered = p->ToString();
  Check(rendered.empty() == p->IsBeginning(), "only the beginning renders as \"\"");
  const std::optional<PullPosition> again = PullPosition::Parse(rendered);
  Check(again.has_value(), "a rendered position parses");
  Check(*again == *p, "render and parse round-trip");
  // The beginning belongs to no database ("" carries no cluster).
  Check(p->IsBeginning() || again->cluster() == p->cluster(), "the cluster survives");
  Check(again->ToString() == rendered, "rendering is canonical");
  if (p->txid() > 0) {
    const PullPosition below = PullPosition::Below(p->txid());
    Check(below < PullPosition(p->txid(), 0), "Below(x) precedes every change of x");
  }
  return 0;
}
