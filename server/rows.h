// Rows read from PostgreSQL rendered in the API's canonical JSON
// (core/json_codec.h): as a JSON value, or straight to text for the list hot
// path. Pure functions of their arguments; thread-safe.
#ifndef VEMAKIN_SERVER_ROWS_H_
#define VEMAKIN_SERVER_ROWS_H_

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>

#include "core/model.h"

namespace vemakin::server {

// The row of `spec` whose first column is column `offset` of `row`.
nlohmann::json RowJson(const core::TableSpec& spec, const pqxx::row& row, int offset);
// The same row's JSON text, rendered without a JSON tree.
std::string RowText(const core::TableSpec& spec, const pqxx::row& row, int offset);
// Appends that text to `out` (a page renders its rows into one buffer).
void AppendRowText(const core::TableSpec& spec, const pqxx::row& row, int offset, std::string* out);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_ROWS_H_
