#include "core/json_codec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "core/time_format.h"
#include "core/validation.h"

namespace vemakin::core {
namespace {

[[noreturn]] void Undecodable(const FieldSpec& f) {
  throw Error(ErrorCode::kDataLoss, "stored value of " + f.name + " is not a valid " +
                                        std::string(FieldTypeName(f.type)));
}

double RoundTo(double v, int decimals) {
  if (decimals < 0) return v;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

// Maximum nesting depth of `text`, counting brackets outside strings; stops
// counting as soon as `limit` is exceeded.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

nlohmann::json DecodeField(const FieldSpec& f, std::optional<std::string_view> text) {
  if (!text) return nullptr;
  const std::string s(*text);
  switch (f.type) {
    case FieldType::kUuid:
      if (!IsValidUuid(s)) Undecodable(f);
      return NormalizeUuid(s);
    case FieldType::kText:
    case FieldType::kEnum:
      return s;
    case FieldType::kDate:
      if (!IsValidDate(s)) Undecodable(f);
      return s;
    case FieldType::kTimeOfDay:
      // PostgreSQL's `time` would print seconds; the column is text, but be lenient.
      if (s.size() == 8 && IsValidTimeOfDay(s.substr(0, 5))) return s.substr(0, 5);
      if (!IsValidTimeOfDay(s)) Undecodable(f);
      return s;
    case FieldType::kTimestamp: {
      std::optional<UnixMicros> t = ParseTimestamp(s);
      if (!t) Undecodable(f);
      return FormatTimestamp(*t);
    }
    case FieldType::kInteger: {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno == ERANGE) Undecodable(f);
      return static_cast<std::int64_t>(v);
    }
    case FieldType::kNumber: {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) Undecodable(f);
      return RoundTo(v, f.decimals);
    }
    case FieldType::kBoolean:
      if (s == "t" || s == "true" || s == "1") return true;
      if (s == "f" || s == "false" || s == "0") return false;
      Undecodable(f);
    case FieldType::kJsonObject:
    case FieldType::kUuidArray: {
      nlohmann::json v = nlohmann::json::parse(s, nullptr, false);
      if (v.is_discarded()) Undecodable(f);
      if (f.type == FieldType::kJsonObject ? !v.is_object() : !v.is_array()) Undecodable(f);
      return CanonicalValue(f, v);
    }
  }
  Undecodable(f);
}

nlohmann::json CanonicalValue(const FieldSpec& f, const nlohmann::json& v) {
  if (v.is_null()) return v;
  switch (f.type) {
    case FieldType::kUuid:
      return NormalizeUuid(v.get<std::string>());
    case FieldType::kUuidArray: {
      nlohmann::json out = nlohmann::json::array();
      for (const nlohmann::json& item : v) {
        out.push_back(item.is_string() ? nlohmann::json(NormalizeUuid(item.get<std::string>()))
                                       : item);
      }
      return out;
    }
    case FieldType::kNumber:
      return RoundTo(v.get<double>(), f.decimals);
    case FieldType::kTimestamp: {
      std::optional<UnixMicros> t = ParseTimestamp(v.get<std::string>());
      return t ? nlohmann::json(FormatTimestamp(*t)) : v;
    }
    default:
      return v;
  }
}

std::optional<std::string> EncodeField(const FieldSpec& f, const nlohmann::json& value) {
  if (value.is_null()) return std::nullopt;
  const nlohmann::json v = CanonicalValue(f, value);
  switch (f.type) {
    case FieldType::kBoolean:
      return std::string(v.get<bool>() ? "true" : "false");
    case FieldType::kInteger:
    case FieldType::kNumber:
    case FieldType::kJsonObject:
    case FieldType::kUuidArray:
      return v.dump();
    default:
      return v.get<std::string>();
  }
}

nlohmann::json CompleteCreate(const TableSpec& table, const nlohmann::json& body) {
  nlohmann::json out = nlohmann::json::object();
  for (const FieldSpec& f : table.fields) {
    if (f.access == Access::kReadOnly) continue;
    auto it = body.find(f.name);
    if (it != body.end()) {
      out[f.name] = CanonicalValue(f, *it);
    } else if (!f.required && f.name != "id") {
      out[f.name] = f.default_value;  // null when the field has no default
    }
  }
  return out;
}

nlohmann::json CanonicalPatch(const TableSpec& table, const nlohmann::json& body) {
  nlohmann::json out = nlohmann::json::object();
  for (auto it = body.begin(); it != body.end(); ++it) {
    const FieldSpec* f = table.Find(it.key());
    if (f != nullptr) out[it.key()] = CanonicalValue(*f, it.value());
  }
  return out;
}

std::optional<nlohmann::json> ParseUntrustedJson(std::string_view text, int max_depth,
                                                 std::string* error) {
  if (NestingDepth(text, max_depth) > max_depth) {
    if (error) *error = "JSON nested deeper than " + std::to_string(max_depth) + " levels";
    return std::nullopt;
  }
  nlohmann::json v = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (v.is_discarded()) {
    if (error) *error = "malformed JSON (or invalid UTF-8)";
    return std::nullopt;
  }
  return v;
}

}  // namespace vemakin::core
