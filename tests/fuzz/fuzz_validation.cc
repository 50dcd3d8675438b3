// Fuzz target: write validation (core::ValidateWrite) and the canonical
// codec behind it, run by the server on every REST write and push and by the
// client on every local write. The first byte picks the table and whether the
// body is a create or a PATCH; the rest is the JSON body. Beyond not crashing
// it proves: every refusal is located under "body" and renders as the API's
// 422 list; a body that passes completes and canonicalises without throwing;
// and each completed value stored as text (EncodeField, what PostgreSQL and
// the SQLite mirror hold) decodes back to the same canonical value through
// both decoders (DecodeField for JSON trees, AppendFieldJson for the list hot
// path), so a row reads the same from either store and either path.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_codec.h"
#include "core/model.h"
#include "core/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using vemakin::core::FieldSpec;
using vemakin::fuzz::Check;

void CheckStoredRoundTrip(const FieldSpec& field, const nlohmann::json& value) {
  const std::optional<std::string> text = vemakin::core::EncodeField(field, value);
  Check(text.has_value() == !value.is_null(), "only null is stored as NULL");
  const nlohmann::json decoded = vemakin::core::DecodeField(field, text);
  Check(decoded == value, "a stored value decodes to its canonical value");
  std::string rendered;
  vemakin::core::AppendFieldJson(field, text, &rendered);
  const nlohmann::json reparsed = nlohmann::json::parse(rendered, nullptr, false);
  Check(!reparsed.is_discarded(), "the hot path renders valid JSON");
  Check(reparsed == decoded, "both decoders agree");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vemakin::core;
  vemakin::fuzz::Input in(data, size);
  const std::uint8_t selector = in.Byte();
  const auto& tables = WritableSpecs();
  const TableSpec& table = *tables[(selector >> 1) % tables.size()];
  const WriteKind kind = (selector & 1) ? WriteKind::kPatch : WriteKind::kCreate;
  std::string error;
  const std::optional<nlohmann::json> body = ParseUntrustedJson(in.Rest(), 64, &error);
  if (!body) return 0;
  const std::vector<FieldError> errors = ValidateWrite(table, *body, kind);
  if (!errors.empty()) {
    for (const FieldError& e : errors) {
      Check(!e.loc.empty() && e.loc[0] == "body", "errors are located in the body");
      Check(!e.msg.empty() && !e.type.empty(), "errors say what and why");
    }
    const std::string rendered = FieldErrorsToJson(errors).dump();  // throws on bad UTF-8
    Check(!rendered.empty(), "errors render");
    return 0;
  }
  Check(body->is_object(), "only an object is a valid body");
  if (kind == WriteKind::kPatch) {
    const nlohmann::json patch = CanonicalPatch(table, *body);
    for (const auto& [name, value] : patch.items()) {
      const FieldSpec* field = table.Find(name);
      Check(field != nullptr, "a patch holds only the table's fields");
      CheckStoredRoundTrip(*field, value);
    }
    return 0;
  }
  const nlohmann::json row = CompleteCreate(table, *body);
  for (const FieldSpec& field : table.fields) {
    if (!row.contains(field.name)) continue;  // server-set (user_id, created_at, ...)
    CheckStoredRoundTrip(field, row.at(field.name));
  }
  Check(HoldsValues(row, CompleteCreate(table, row)), "completing twice changes nothing");
  return 0;
}
