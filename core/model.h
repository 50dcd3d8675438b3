// The entity model of SPEC.md section 1 as data: every table the API exposes,
// its columns, their wire types, nullability, defaults, allowed values, bounds
// and who may write them. Validation (core/validation.h), the JSON codec
// (core/json_codec.h), the server's SQL builders and the client's mirror all
// read these descriptions, so a rule lives in exactly one place in C++ (and is
// repeated as a CHECK in schema/, which the constraint tests hold equal).
// Immutable after static initialisation: safe from any thread.
#ifndef VEMAKIN_CORE_MODEL_H_
#define VEMAKIN_CORE_MODEL_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vemakin::core {

enum class FieldType {
  kUuid,        // lower-case UUID text
  kText,        // UTF-8 string, length in code points
  kEnum,        // one of FieldSpec::allowed
  kInteger,     // JSON integer
  kNumber,      // JSON number (finite), optionally rounded to `decimals`
  kBoolean,     // JSON true/false
  kDate,        // "YYYY-MM-DD"
  kTimeOfDay,   // "HH:MM"
  kTimestamp,   // ISO 8601 UTC with Z
  kJsonObject,  // any JSON object
  kUuidArray,   // JSON array of distinct UUIDs
};

std::string_view FieldTypeName(FieldType type);

// Who sets a field through the API.
enum class Access {
  kWritable,    // on create and on PATCH
  kCreateOnly,  // on create only (id, project_id): a PATCH may not move a row
  kReadOnly,    // set by the server (user_id, created_at, updated_at)
};

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kText;
  bool nullable = false;
  bool required = false;  // must be given on create
  Access access = Access::kWritable;
  nlohmann::json default_value;      // used on create when absent and not required
  std::vector<std::string> allowed;  // kEnum
  std::size_t min_length = 0;        // kText, code points
  std::size_t max_length = 0;        // kText, code points; 0 = unbounded
  std::optional<double> min_value;   // kInteger / kNumber
  std::optional<double> max_value;
  int decimals = -1;          // kNumber: digits kept after the point; -1 = all
  std::size_t max_items = 0;  // kUuidArray

  // Builder helpers keep the table definitions readable.
  FieldSpec& Required() {
    required = true;
    return *this;
  }
  FieldSpec& Nullable() {
    nullable = true;
    return *this;
  }
  FieldSpec& CreateOnly() {
    access = Access::kCreateOnly;
    return *this;
  }
  FieldSpec& ReadOnly() {
    access = Access::kReadOnly;
    return *this;
  }
  FieldSpec& Default(nlohmann::json v) {
    default_value = std::move(v);
    return *this;
  }
  FieldSpec& Length(std::size_t lo, std::size_t hi) {
    min_length = lo;
    max_length = hi;
    return *this;
  }
  FieldSpec& Range(double lo, double hi) {
    min_value = lo;
    max_value = hi;
    return *this;
  }
};

enum class Entity {
  kUser,
  kProject,
  kProjectMember,
  kShot,
  kNote,
  kPostprodTask,
  kEquipment,
  kGearCategory,
  kGearBrand,
  kGearCatalogItem,
};

struct TableSpec {
  Entity entity;
  std::string name;  // SQL table name, also the sync table name
  std::vector<FieldSpec> fields;
  bool user_writable = true;  // false for the global catalog
  bool mirrored = true;       // held in the client's SQLite mirror

  // nullptr when the table has no such field.
  const FieldSpec* Find(std::string_view field) const;
};

const TableSpec& Spec(Entity entity);
// nullptr for an unknown table name.
const TableSpec* FindSpec(std::string_view table_name);
// Every table of the model, parents before children (the order a batch of
// inserts must follow to satisfy foreign keys).
const std::vector<const TableSpec*>& AllSpecs();

// Allowed values, exported for CLIs and docs.
extern const std::vector<std::string> kShotStatuses;
extern const std::vector<std::string> kTaskCategories;
extern const std::vector<std::string> kTaskStatuses;
extern const std::vector<std::string> kTaskPriorities;
extern const std::vector<std::string> kEquipmentCategories;
extern const std::vector<std::string> kEquipmentStatuses;
extern const std::vector<std::string> kRentalFrequencies;
extern const std::vector<std::string> kMemberRoles;

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_MODEL_H_
