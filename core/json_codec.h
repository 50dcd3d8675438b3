// The codec between stored rows and the wire (SPEC.md section 1): snake_case
// JSON objects whose values have canonical spellings (lower-case UUIDs,
// timestamps with six fraction digits and Z, money rounded to cents), so the
// server and every client render one row identically. Stores speak text:
// PostgreSQL's text output and the SQLite mirror's columns both decode here.
// Pure; thread-safe.
#ifndef VEMAKIN_CORE_JSON_CODEC_H_
#define VEMAKIN_CORE_JSON_CODEC_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace vemakin::core {

// Canonical wire value of a field from its stored text (nullopt = SQL NULL).
// Accepts PostgreSQL's output ("t"/"f", "2026-01-02 03:04:05.5+00", "12.50",
// jsonb text) and the mirror's ("1"/"0", ISO timestamps). Throws
// Error(kDataLoss) when the text cannot be a value of the field's type.
nlohmann::json DecodeField(const FieldSpec& field, std::optional<std::string_view> text);

// Text to store for a wire value that passed validation (nullopt = NULL).
// Booleans become "true"/"false", JSON values their compact dump.
std::optional<std::string> EncodeField(const FieldSpec& field, const nlohmann::json& value);

// The canonical form of a validated value: lower-case UUIDs, money rounded to
// `decimals`, timestamps re-spelled canonically. Other values are unchanged.
nlohmann::json CanonicalValue(const FieldSpec& field, const nlohmann::json& value);

// A validated create body made complete: every writable field present, absent
// optional ones set to their default (or null), values canonical.
nlohmann::json CompleteCreate(const TableSpec& table, const nlohmann::json& body);

// True when `row` already holds every value of `wanted`: a create repeated
// with the same id and body (an idempotent replay, answered with the row),
// as opposed to a different row under a taken id (a conflict). Both are
// canonical JSON (CompleteCreate, DecodeField).
bool HoldsValues(const nlohmann::json& row, const nlohmann::json& wanted);

// A validated PATCH body with canonical values (fields not given stay absent).
nlohmann::json CanonicalPatch(const TableSpec& table, const nlohmann::json& body);

// Appends the canonical JSON text of one stored field value (as DecodeField
// would produce, rendered) to `out`, without building a JSON tree: the hot path
// of list responses. jsonb/JSON text from the store is trusted to be valid
// JSON (PostgreSQL's jsonb output, the mirror's CHECKed text). Numbers are
// written as stored with trailing fraction zeros removed ("12.50" -> "12.5").
// Throws Error(kDataLoss) as DecodeField does.
void AppendFieldJson(const FieldSpec& field, std::optional<std::string_view> text,
                     std::string* out);

// Appends {"field": value, ...} for a whole row; `get(i)` returns the stored
// text of the i-th field of `table` (nullopt = NULL).
template <class Get>
void AppendRowJson(const TableSpec& table, Get&& get, std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < table.fields.size(); ++i) {
    if (i) out->push_back(',');
    out->push_back('"');
    out->append(table.fields[i].name);
    out->append("\":");
    AppendFieldJson(table.fields[i], get(i), out);
  }
  out->push_back('}');
}

// Appends `text` as a JSON string literal (quotes and escapes included).
void AppendJsonString(std::string_view text, std::string* out);

// Parses untrusted JSON text, refusing documents nested deeper than
// `max_depth` before the recursive parser sees them (nlohmann parses
// recursively: 10,000 levels would exhaust the stack). Returns nullopt on
// malformed JSON, invalid UTF-8 or excessive depth; `error` gets a short,
// safe reason.
std::optional<nlohmann::json> ParseUntrustedJson(std::string_view text, int max_depth,
                                                 std::string* error);

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_JSON_CODEC_H_
