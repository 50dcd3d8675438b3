// Fuzz target: list cursors (core::DecodeCursor and the page builder behind
// every list of both engines), the `cursor` query parameter of every list
// and the list cursor inside snapshot positions. The first byte picks the
// table; the rest is the cursor text. Beyond not crashing it proves: a cursor
// that decodes holds one value per order key, NULL only where the key is
// nullable; it encodes back to a cursor that decodes to the same values; and
// its values reach SQL only as parameters: the page query for this cursor is
// the very text of the query for any other cursor with the same NULLs, on
// both dialects, and every parameter it names is one it binds.
#include <regex>

#include "core/list_order.h"
#include "core/model.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace vemakin::core;
using vemakin::fuzz::Check;

// A value of the column's type other than the fuzzer's (DecodeCursor accepts it).
std::string Sample(const FieldSpec& field) {
  switch (field.type) {
    case FieldType::kUuid:
      return "00000000-0000-4000-8000-000000000000";
    case FieldType::kEnum:
      return field.allowed.front();
    case FieldType::kDate:
      return "2026-01-01";
    case FieldType::kTimeOfDay:
      return "12:00";
    case FieldType::kTimestamp:
      return "2026-01-01T00:00:00Z";
    default:
      return "x";
  }
}

const SqlDialect& Postgres() {
  static const SqlDialect d{[](const FieldSpec&, int n) { return "$" + std::to_string(n); },
                            [](int n) { return "$" + std::to_string(n) + "::bigint"; }, true};
  return d;
}

const SqlDialect& Sqlite() {
  static const SqlDialect d{[](const FieldSpec&, int n) { return "?" + std::to_string(n); },
                            [](int n) { return "?" + std::to_string(n); }, false};
  return d;
}

// Every parameter number the SQL names lies in [1, first_param + bound).
void CheckParameters(const PageSql& page, int first_param) {
  static const std::regex kParam(R"([$?]([0-9]+))");
  const int last = first_param + static_cast<int>(page.params.size()) - 1;
  for (auto it = std::sregex_iterator(page.sql.begin(), page.sql.end(), kParam);
       it != std::sregex_iterator(); ++it) {
    const int n = std::stoi((*it)[1].str());
    Check(n >= 1 && n <= last, "every named parameter is bound");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vemakin::fuzz::Input in(data, size);
  std::vector<const TableSpec*> lists;
  for (const TableSpec* t : MirroredSpecs()) lists.push_back(t);
  const TableSpec& spec = *lists[in.Byte() % lists.size()];
  const std::vector<OrderKey>& keys = ListOrder(spec.entity);
  const std::string cursor(in.Rest());
  const std::optional<CursorValues> values = DecodeCursor(cursor, spec, keys);
  if (!values) return 0;
  Check(values->size() == keys.size(), "one value per order key");
  CursorValues other;
  for (size_t i = 0; i < keys.size(); ++i) {
    const FieldSpec* field = spec.Find(keys[i].column);
    Check(field != nullptr, "order keys are columns");
    Check((*values)[i].has_value() || keys[i].nullable, "NULL only for nullable keys");
    other.push_back((*values)[i] ? std::optional<std::string>(Sample(*field)) : std::nullopt);
  }
  const std::optional<CursorValues> again = DecodeCursor(EncodeCursor(*values), spec, keys);
  Check(again.has_value() && *again == *values, "encode and decode round-trip");

  for (const SqlDialect* dialect : {&Postgres(), &Sqlite()}) {
    PageRequest page;
    page.limit = 100;
    page.cursor = cursor;
    const std::optional<PageSql> sql =
        BuildPageSql(spec, spec.name + " t", "t.id IS NOT NULL", keys, page, 3, *dialect);
    Check(sql.has_value(), "a decodable cursor builds a page");
    CheckParameters(*sql, 3);
    page.cursor = EncodeCursor(other);
    const std::optional<PageSql> same =
        BuildPageSql(spec, spec.name + " t", "t.id IS NOT NULL", keys, page, 3, *dialect);
    Check(same.has_value() && same->sql == sql->sql, "cursor values reach SQL only as parameters");
  }
  return 0;
}
