// Fuzz target: the sync envelopes. The first byte picks the decoder: a push
// body (core::PushRequest::Decode, what POST /api/sync/push accepts from any
// signed-in user), or one of the responses a client decodes from a server
// (push results, pull pages, snapshot pages, digests): a client must survive
// a hostile or broken server too. The rest is JSON text. Beyond not crashing
// it proves: a push that decodes without errors is within its mutation cap,
// names writable tables and lower-case UUIDs, and re-encodes to a body that
// decodes to the same push; every error is located under "body"; a response
// that decodes re-encodes to one that decodes to the same rendering.
#include <nlohmann/json.hpp>

#include "core/json_codec.h"
#include "core/model.h"
#include "core/sync_protocol.h"
#include "core/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace vemakin::core;
using vemakin::fuzz::Check;

void FuzzPush(const nlohmann::json& body) {
  std::vector<FieldError> errors;
  const PushRequest push = PushRequest::Decode(body, &errors);
  if (!errors.empty()) {
    for (const FieldError& e : errors) {
      Check(!e.loc.empty() && e.loc[0] == "body", "errors are located in the body");
    }
    Check(!FieldErrorsToJson(errors).dump().empty(), "errors render");
    return;
  }
  Check(push.mutations.size() <= PushRequest::kMaxMutations, "the mutation cap holds");
  for (const Mutation& m : push.mutations) {
    const TableSpec* table = FindSpec(m.table);
    Check(table != nullptr && table->UserWritable(), "mutations name writable tables");
    Check(IsValidUuid(m.mutation_id) && NormalizeUuid(m.mutation_id) == m.mutation_id,
          "mutation ids are lower-case UUIDs");
    Check(m.fields.is_object(), "fields are an object");
  }
  std::vector<FieldError> again_errors;
  const PushRequest again = PushRequest::Decode(push.ToJson(), &again_errors);
  Check(again_errors.empty(), "an encoded push decodes");
  Check(again.ToJson() == push.ToJson(), "encode and decode round-trip");
}

// Decodes `j` with `decode`, then checks the re-encoding decodes alike.
template <class Decode>
void FuzzResponse(nlohmann::json j, Decode decode) {
  const auto first = decode(std::move(j));
  if (!first) return;
  const nlohmann::json rendered = first->ToJson();
  const auto second = decode(nlohmann::json(rendered));
  Check(second.has_value(), "an encoded response decodes");
  Check(second->ToJson() == rendered, "encode and decode round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vemakin::fuzz::Input in(data, size);
  const std::uint8_t which = in.Byte() % 6;
  std::string error;
  std::optional<nlohmann::json> j = ParseUntrustedJson(in.Rest(), 64, &error);
  if (!j) return 0;
  switch (which) {
    case 0:
    case 1:
      FuzzPush(*j);
      break;
    case 2:
      FuzzResponse(std::move(*j), [](nlohmann::json&& v) { return PushResponse::FromJson(v); });
      break;
    case 3:
      FuzzResponse(std::move(*j),
                   [](nlohmann::json&& v) { return PullResponse::FromJson(std::move(v)); });
      break;
    case 4:
      FuzzResponse(std::move(*j),
                   [](nlohmann::json&& v) { return SnapshotPage::FromJson(std::move(v)); });
      break;
    default:
      FuzzResponse(std::move(*j), [](nlohmann::json&& v) { return DigestResponse::FromJson(v); });
      break;
  }
  return 0;
}
