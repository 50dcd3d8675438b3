#include "server/sql_builder.h"

#include "core/error.h"

namespace vemakin::server {

using core::FieldType;

std::string ColumnList(const core::TableSpec& spec, const std::string& alias) {
  std::string out;
  for (const core::FieldSpec& f : spec.fields) {
    if (!out.empty()) out += ", ";
    out += alias + "." + f.name;
  }
  return out;
}

std::string Placeholder(const core::FieldSpec& f, int n) {
  const std::string p = "$" + std::to_string(n);
  switch (f.type) {
    case FieldType::kUuid:
      return p + "::uuid";
    case FieldType::kInteger:
      return p + "::integer";
    case FieldType::kNumber:
      return f.decimals >= 0 ? p + "::numeric" : p + "::float8";
    case FieldType::kBoolean:
      return p + "::boolean";
    case FieldType::kDate:
      return p + "::date";
    case FieldType::kTimestamp:
      return p + "::timestamptz";
    case FieldType::kJsonObject:
    case FieldType::kUuidArray:
      return p + "::jsonb";
    default:
      return p + "::text";
  }
}

std::string OrderBy(const std::vector<OrderKey>& keys, const std::string& alias) {
  std::string out;
  for (const OrderKey& k : keys) {
    if (!out.empty()) out += ", ";
    out += alias + "." + k.column + (k.descending ? " DESC" : " ASC");
    if (k.nullable) out += " NULLS LAST";
  }
  return out;
}

std::vector<std::string> KeysetBranches(const core::TableSpec& spec,
                                        const std::vector<OrderKey>& keys,
                                        const std::vector<bool>& null_pattern,
                                        const std::string& alias, int first_param) {
  std::vector<std::string> placeholders(keys.size());
  int next = first_param;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (null_pattern[i]) continue;
    const core::FieldSpec* f = spec.Find(keys[i].column);
    if (f == nullptr) throw Error(ErrorCode::kInternal, "unknown order column " + keys[i].column);
    placeholders[i] = Placeholder(*f, next++);
  }
  std::vector<std::string> branches;
  // Deepest branch first: rows sharing the longest prefix come first in order.
  for (size_t j = keys.size(); j-- > 0;) {
    std::string prefix;
    for (size_t i = 0; i < j; ++i) {
      const std::string col = alias + "." + keys[i].column;
      prefix += (null_pattern[i] ? col + " IS NULL" : col + " = " + placeholders[i]) + " AND ";
    }
    const std::string col = alias + "." + keys[j].column;
    if (null_pattern[j]) continue;  // nothing sorts after NULL (NULLS LAST)
    branches.push_back(prefix + col + (keys[j].descending ? " < " : " > ") + placeholders[j]);
    if (keys[j].nullable) branches.push_back(prefix + col + " IS NULL");
  }
  return branches;
}

}  // namespace vemakin::server
