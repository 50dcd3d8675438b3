// Rows read from PostgreSQL in the API's canonical JSON (rows.h): a JSON
// value through the model's field decoders, or text appended field by field
// for the list and sync hot paths.
#include "server/rows.h"

#include <optional>
#include <string_view>

#include "core/json_codec.h"

namespace vemakin::server {

void AppendRowText(const core::TableSpec& spec, const pqxx::row& row, int offset,
                   std::string* out) {
  // One field iterator walked along the row: indexing the row would make a
  // pqxx::field per column, each copying (and releasing) the result's
  // shared handle.
  pqxx::row::const_iterator field = row.begin();
  field += offset;
  size_t at = 0;  // the field of `spec` the iterator is on
  core::AppendRowJson(
      spec,
      [&](size_t i) -> std::optional<std::string_view> {
        field += static_cast<pqxx::row::difference_type>(i) -
                 static_cast<pqxx::row::difference_type>(at);
        at = i;
        if (field->is_null()) return std::nullopt;
        return std::string_view(field->c_str(), field->size());
      },
      out);
}

std::string RowText(const core::TableSpec& spec, const pqxx::row& row, int offset) {
  std::string out;
  out.reserve(512);
  AppendRowText(spec, row, offset, &out);
  return out;
}

nlohmann::json RowJson(const core::TableSpec& spec, const pqxx::row& row, int offset) {
  nlohmann::json out = nlohmann::json::object();
  int i = offset;
  for (const core::FieldSpec& f : spec.fields) {
    const pqxx::field field = row[i++];
    out[f.name] = core::DecodeField(
        f, field.is_null() ? std::nullopt : std::optional<std::string_view>(field.c_str()));
  }
  return out;
}

}  // namespace vemakin::server
