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
  // nlohmann's lexer takes a NUL byte for the end of input, so
  // `{"a":1}\0<anything>` would parse as `{"a":1}`: what follows would go
  // unchecked. A raw NUL is never valid JSON, anywhere in a document.
  if (text.find('\0') != std::string_view::npos) {
    if (error) *error = "malformed JSON (NUL byte)";
    return std::nullopt;
  }
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

void AppendJsonString(std::string_view text, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of characters needing no escape
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(text.substr(run));
  out->push_back('"');
}

namespace {

// PostgreSQL's UTC output "YYYY-MM-DD HH:MM:SS[.f{1,6}]+00" rewritten to the
// canonical form by hand (the common case); anything else takes the general path.
bool AppendFastTimestamp(std::string_view s, std::string* out) {
  if (s.size() < 22 || s[10] != ' ' || s.substr(s.size() - 3) != "+00") return false;
  const std::string_view main = s.substr(0, 19);
  std::string_view frac;
  if (s.size() > 22) {
    if (s[19] != '.') return false;
    frac = s.substr(20, s.size() - 23);
    if (frac.empty() || frac.size() > 6) return false;
  } else if (s.size() != 22) {
    return false;
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return false;
  }
  out->push_back('"');
  out->append(main.substr(0, 10));
  out->push_back('T');
  out->append(main.substr(11));
  out->push_back('.');
  out->append(frac);
  out->append(6 - frac.size(), '0');
  out->append("Z\"");
  return true;
}

}  // namespace

void AppendFieldJson(const FieldSpec& f, std::optional<std::string_view> text, std::string* out) {
  if (!text) {
    out->append("null");
    return;
  }
  const std::string_view s = *text;
  switch (f.type) {
    case FieldType::kText:
    case FieldType::kEnum:
      AppendJsonString(s, out);
      return;
    case FieldType::kUuid: {
      // Checked and lower-cased in one pass, straight into `out` (a list
      // page holds several per row).
      if (!IsValidUuid(s)) Undecodable(f);
      const size_t at = out->size();
      out->push_back('"');
      out->append(s);
      out->push_back('"');
      for (size_t i = at + 1; i < out->size() - 1; ++i) {
        char& c = (*out)[i];
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
      }
      return;
    }
    case FieldType::kDate:
      if (!IsValidDate(s)) Undecodable(f);
      AppendJsonString(s, out);
      return;
    case FieldType::kBoolean:
      if (s == "t" || s == "true" || s == "1") {
        out->append("true");
      } else if (s == "f" || s == "false" || s == "0") {
        out->append("false");
      } else {
        Undecodable(f);
      }
      return;
    case FieldType::kInteger: {
      const bool digits =
          !s.empty() && s.find_first_not_of("-0123456789") == std::string_view::npos;
      if (!digits) Undecodable(f);
      out->append(s);
      return;
    }
    case FieldType::kNumber: {
      if (s.empty() || s.find_first_not_of("-+.0123456789eE") != std::string_view::npos) {
        Undecodable(f);
      }
      std::string_view n = s;
      if (n.find('.') != std::string_view::npos &&
          n.find_first_of("eE") == std::string_view::npos) {
        while (n.back() == '0') n.remove_suffix(1);
        if (n.back() == '.') n.remove_suffix(1);
      }
      out->append(n);
      return;
    }
    case FieldType::kTimestamp:
      if (AppendFastTimestamp(s, out)) return;
      break;
    case FieldType::kJsonObject:
    case FieldType::kUuidArray:
      out->append(s);
      return;
    case FieldType::kTimeOfDay:
      if (IsValidTimeOfDay(s)) {  // as stored: no escape needed, no tree
        out->push_back('"');
        out->append(s);
        out->push_back('"');
        return;
      }
      break;
  }
  out->append(DecodeField(f, s).dump());
}

bool HoldsValues(const nlohmann::json& row, const nlohmann::json& wanted) {
  for (auto it = wanted.begin(); it != wanted.end(); ++it) {
    const auto have = row.find(it.key());
    if (have == row.end() || *have != it.value()) return false;
  }
  return true;
}

}  // namespace vemakin::core
