// Validation of write bodies against the model (core/model.h). It reports
// every problem at once, in the shape of the API's 422 body
// ({"detail": [{"loc": ["body", "title"], "msg": "...", "type": "..."}]}), and
// the client library runs the very same function, so the same bad input gets
// the same field errors offline as from the server. Pure; thread-safe.
#ifndef VEMAKIN_CORE_VALIDATION_H_
#define VEMAKIN_CORE_VALIDATION_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"

namespace vemakin::core {

struct FieldError {
  std::vector<std::string> loc;  // e.g. {"body", "equipment_ids", "2"}
  std::string msg;               // human-readable, no internals
  std::string type;              // machine-readable: "missing", "type", "enum", ...
  bool operator==(const FieldError& o) const {
    return loc == o.loc && msg == o.msg && type == o.type;
  }
};

enum class WriteKind { kCreate, kPatch };

// Checks `body` as a create or a PATCH of `table`. Empty result = valid.
// Rules: the body is a JSON object; no unknown fields; read-only fields are
// refused, create-only fields are refused on PATCH; required fields present on
// create; each value has its field's type, bound and allowed values; null only
// where nullable; text is valid UTF-8 without NUL characters.
[[nodiscard]] std::vector<FieldError> ValidateWrite(const TableSpec& table,
                                                    const nlohmann::json& body, WriteKind kind);

// Checks one value against one field (used by ValidateWrite and for query
// parameters such as list filters). `loc` prefixes the error locations.
[[nodiscard]] std::vector<FieldError> ValidateValue(const FieldSpec& field,
                                                    const nlohmann::json& value,
                                                    const std::vector<std::string>& loc);

// The 422 body's "detail" array.
nlohmann::json FieldErrorsToJson(const std::vector<FieldError>& errors);

bool IsValidUuid(std::string_view text);           // 8-4-4-4-12 hex digits, any case
std::string NormalizeUuid(std::string_view text);  // lower case
bool IsValidUtf8(std::string_view text);
std::size_t Utf8Length(std::string_view text);  // code points; text must be valid UTF-8

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_VALIDATION_H_
