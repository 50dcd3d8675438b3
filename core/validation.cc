#include "core/validation.h"

#include <cmath>
#include <set>

#include "core/time_format.h"

namespace vemakin::core {
namespace {

std::vector<std::string> Append(std::vector<std::string> loc, std::string part) {
  loc.push_back(std::move(part));
  return loc;
}

// Builds the error location only when there is an error: validation runs on
// every write, and almost every value is valid.
class LazyLoc {
 public:
  LazyLoc(const std::vector<std::string>& prefix, const std::string* key)
      : prefix_(prefix), key_(key) {}
  operator std::vector<std::string>() const {  // NOLINT: implicit by design
    std::vector<std::string> loc = prefix_;
    if (key_) loc.push_back(*key_);
    return loc;
  }

 private:
  const std::vector<std::string>& prefix_;
  const std::string* key_;
};

std::string FormatBound(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

std::string JoinAllowed(const std::vector<std::string>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i) out += i + 1 == allowed.size() ? " or " : ", ";
    out += "'" + allowed[i] + "'";
  }
  return out;
}

void CheckText(const FieldSpec& f, const std::string& s, const LazyLoc& loc,
               std::vector<FieldError>* errors) {
  if (!IsValidUtf8(s)) {
    errors->push_back({loc, "must be valid UTF-8 text", "utf8"});
    return;
  }
  if (s.find('\0') != std::string::npos) {
    errors->push_back({loc, "must not contain NUL (\\u0000) characters", "nul"});
    return;
  }
  const size_t n = Utf8Length(s);
  if (f.min_length > 0 && n < f.min_length) {
    errors->push_back({loc,
                       f.min_length == 1
                           ? "must not be empty"
                           : "must be at least " + std::to_string(f.min_length) + " characters",
                       "too_short"});
  } else if (f.min_length > 0 && s.find_first_not_of(" \t\r\n") == std::string::npos) {
    errors->push_back({loc, "must not be blank", "too_short"});
  }
  if (f.max_length > 0 && n > f.max_length) {
    errors->push_back(
        {loc, "must be at most " + std::to_string(f.max_length) + " characters", "too_long"});
  }
}

void CheckNumber(const FieldSpec& f, double v, const LazyLoc& loc,
                 std::vector<FieldError>* errors) {
  if (!std::isfinite(v)) {
    errors->push_back({loc, "must be a finite number", "type"});
    return;
  }
  if ((f.min_value && v < *f.min_value) || (f.max_value && v > *f.max_value)) {
    std::string msg = "must be";
    if (f.min_value && f.max_value) {
      msg += " between " + FormatBound(*f.min_value) + " and " + FormatBound(*f.max_value);
    } else if (f.min_value) {
      msg += " at least " + FormatBound(*f.min_value);
    } else {
      msg += " at most " + FormatBound(*f.max_value);
    }
    errors->push_back({loc, msg, "range"});
  }
}

}  // namespace

bool IsValidUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string NormalizeUuid(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    unsigned cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

void ValidateInto(const FieldSpec& f, const nlohmann::json& v, const LazyLoc& lazy,
                  std::vector<FieldError>* out);

}  // namespace

std::vector<FieldError> ValidateValue(const FieldSpec& f, const nlohmann::json& v,
                                      const std::vector<std::string>& loc) {
  std::vector<FieldError> errors;
  ValidateInto(f, v, LazyLoc(loc, nullptr), &errors);
  return errors;
}

namespace {

// Whether a JSON document holds a floating-point number that PostgreSQL
// would print far longer than it was sent: jsonb keeps numbers as numeric
// and prints every digit, so "1e308" (5 bytes) reads back as 309, and a
// 1 MiB settings object of them as 50 MB on every read of the row. Integers
// print as sent. The nesting was capped before parsing.
bool HoldsOverlongNumber(const nlohmann::json& v) {
  if (v.is_number_float()) {
    const double a = std::fabs(v.get<double>());
    return a != 0 && (a < 1e-9 || a >= 1e15);
  }
  if (v.is_structured()) {
    for (const nlohmann::json& item : v) {
      if (HoldsOverlongNumber(item)) return true;
    }
  }
  return false;
}

void ValidateInto(const FieldSpec& f, const nlohmann::json& v, const LazyLoc& lazy,
                  std::vector<FieldError>* out) {
  std::vector<FieldError>& errors = *out;
  if (v.is_null()) {
    if (!f.nullable) errors.push_back({lazy, "must not be null", "null"});
    return;
  }
  auto type_error = [&](const std::string& what) {
    errors.push_back({lazy, "must be " + what, "type"});
  };
  switch (f.type) {
    case FieldType::kUuid:
      if (!v.is_string() || !IsValidUuid(v.get_ref<const std::string&>())) type_error("a UUID");
      break;
    case FieldType::kText:
      if (!v.is_string()) {
        type_error("a string");
      } else {
        CheckText(f, v.get_ref<const std::string&>(), lazy, &errors);
      }
      break;
    case FieldType::kEnum:
      if (!v.is_string()) {
        type_error("a string");
      } else {
        bool ok = false;
        for (const std::string& a : f.allowed) ok = ok || a == v.get_ref<const std::string&>();
        if (!ok) errors.push_back({lazy, "must be one of " + JoinAllowed(f.allowed), "enum"});
      }
      break;
    case FieldType::kInteger:
      if (!v.is_number_integer()) {
        type_error("an integer");
      } else {
        const double d = v.is_number_unsigned() ? static_cast<double>(v.get<std::uint64_t>())
                                                : static_cast<double>(v.get<std::int64_t>());
        CheckNumber(f, d, lazy, &errors);
      }
      break;
    case FieldType::kNumber:
      if (!v.is_number()) {
        type_error("a number");
      } else {
        CheckNumber(f, v.get<double>(), lazy, &errors);
      }
      break;
    case FieldType::kBoolean:
      if (!v.is_boolean()) type_error("true or false");
      break;
    case FieldType::kDate:
      if (!v.is_string() || !IsValidDate(v.get_ref<const std::string&>())) {
        type_error("a date (YYYY-MM-DD)");
      }
      break;
    case FieldType::kTimeOfDay:
      if (!v.is_string() || !IsValidTimeOfDay(v.get_ref<const std::string&>())) {
        type_error("a time of day (HH:MM, 00:00 to 23:59)");
      }
      break;
    case FieldType::kTimestamp:
      if (!v.is_string() || !ParseTimestamp(v.get_ref<const std::string&>())) {
        type_error("an ISO 8601 timestamp with a time zone");
      }
      break;
    case FieldType::kJsonObject:
      if (!v.is_object()) {
        type_error("a JSON object");
      } else if (HoldsOverlongNumber(v)) {
        errors.push_back({lazy,
                          "numbers with a fraction or exponent must be 0 or of magnitude "
                          "1e-9 to 1e15 (use a string for others)",
                          "range"});
      }
      break;
    case FieldType::kUuidArray: {
      if (!v.is_array()) {
        type_error("an array of UUIDs");
        break;
      }
      if (f.max_items > 0 && v.size() > f.max_items) {
        errors.push_back(
            {lazy, "must have at most " + std::to_string(f.max_items) + " items", "too_long"});
        break;
      }
      std::set<std::string> seen;
      for (size_t i = 0; i < v.size(); ++i) {
        const nlohmann::json& item = v[i];
        if (!item.is_string() || !IsValidUuid(item.get_ref<const std::string&>())) {
          errors.push_back({Append(lazy, std::to_string(i)), "must be a UUID", "type"});
        } else if (!seen.insert(NormalizeUuid(item.get_ref<const std::string&>())).second) {
          errors.push_back({Append(lazy, std::to_string(i)), "is a duplicate", "duplicate"});
        }
      }
      break;
    }
  }
}

}  // namespace

std::vector<FieldError> ValidateWrite(const TableSpec& table, const nlohmann::json& body,
                                      WriteKind kind) {
  std::vector<FieldError> errors;
  const std::vector<std::string> root = {"body"};
  if (!body.is_object()) {
    errors.push_back({root, "must be a JSON object", "type"});
    return errors;
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    const LazyLoc loc(root, &it.key());
    const FieldSpec* f = table.Find(it.key());
    if (f == nullptr) {
      errors.push_back({loc, "is not a field of " + table.name, "unknown_field"});
      continue;
    }
    if (f->access == Access::kReadOnly) {
      errors.push_back({loc, "is set by the server and cannot be written", "read_only"});
      continue;
    }
    if (f->access == Access::kCreateOnly && kind == WriteKind::kPatch) {
      errors.push_back({loc, "cannot be changed after creation", "immutable"});
      continue;
    }
    ValidateInto(*f, it.value(), loc, &errors);
  }
  if (kind == WriteKind::kCreate) {
    for (const FieldSpec& f : table.fields) {
      if (f.required && f.access != Access::kReadOnly && !body.contains(f.name)) {
        errors.push_back({Append(root, f.name), "field required", "missing"});
      }
    }
  }
  return errors;
}

nlohmann::json FieldErrorsToJson(const std::vector<FieldError>& errors) {
  nlohmann::json out = nlohmann::json::array();
  for (const FieldError& e : errors) {
    out.push_back({{"loc", e.loc}, {"msg", e.msg}, {"type", e.type}});
  }
  return out;
}

}  // namespace vemakin::core
