#include "server/sql_builder.h"

namespace vemakin::server {

using core::FieldType;

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

}  // namespace vemakin::server
