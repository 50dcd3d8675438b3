// The entity model of SPEC.md section 1 as data: every table the API exposes,
// its columns, their wire types, nullability, defaults, allowed values, bounds
// and who may write them; each table's scope (who may read it, by which
// column), its names (SQL table, REST route, client collection, list counter)
// and each column's reference to a parent (table, on-delete rule).
// Validation (core/validation.h), the JSON codec (core/json_codec.h), the
// server's SQL builders, routes, sync scoping and push allow-list, and the
// client's mirror, parent checks and cascades all read these descriptions, so
// a fact lives in exactly one place in C++ (and is repeated as a CHECK or
// FOREIGN KEY in schema/, which the constraint tests hold equal). Adding a
// table is one entry here plus its migrations; tests/core/model_test.cc fails
// when a derived list disagrees.
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

// What happens to a row when the parent it refers to is deleted (the FOREIGN
// KEY's ON DELETE rule, on both engines).
enum class OnDelete { kCascade, kSetNull, kRestrict };

// A column that refers to another table's `id`.
struct Reference {
  std::string table;  // the parent table
  OnDelete on_delete = OnDelete::kRestrict;
  // The parent must belong to the same project as the referring row (a note's
  // shot and task); enforced by both engines and checked before writing.
  bool same_project = false;
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
  std::optional<Reference> reference;

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
  FieldSpec& References(std::string table, OnDelete on_delete) {
    reference = Reference{std::move(table), on_delete, false};
    return *this;
  }
  FieldSpec& SameProject() {
    if (reference) reference->same_project = true;
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

// Who may read a table's rows (SPEC.md section 4 "Scoped"), and through
// which column (TableSpec::scope_column).
enum class Scope {
  kAccount,     // users: the account itself; never synced or mirrored
  kProject,     // a project and the rows under it: its members read them,
                // owner and editors write (scope_column names the project:
                // `id` for projects itself, `project_id` for its children)
  kMembership,  // project_members: read by the project's members, written
                // only by its owner through the members routes (never pushed)
  kOwner,       // one user's own rows (scope_column `user_id`): the inventory
  kGlobal,      // read by every user, written by none: the gear catalog
};

std::string_view ScopeName(Scope scope);

struct TableSpec {
  Entity entity;
  std::string name;  // SQL table name, also the sync table name
  std::vector<FieldSpec> fields;
  Scope scope = Scope::kGlobal;
  std::string scope_column;      // see Scope; "" for kGlobal and kAccount
  std::vector<std::string> key;  // primary key columns
  // UNIQUE constraints besides the key, each its columns ("users" has its
  // case-insensitive email index, which is not a column constraint).
  std::vector<std::vector<std::string>> unique;
  std::string route;       // REST collection under /api ("postprod"); "" = none
  std::string collection;  // the client's and CLI's name ("tasks"); "" = none
  std::string counter;     // column of project_stats / user_stats ("tasks"); "" = none

  // nullptr when the table has no such field.
  const FieldSpec* Find(std::string_view field) const;
  // Held in the client's SQLite mirror and delivered by sync (every scope but kAccount).
  bool Mirrored() const { return scope != Scope::kAccount; }
  // Users create, change and delete its rows (REST writes and sync pushes).
  bool UserWritable() const { return scope == Scope::kProject || scope == Scope::kOwner; }
  // A child row of a project (scope kProject through `project_id`).
  bool InProject() const {
    return (scope == Scope::kProject || scope == Scope::kMembership) &&
           scope_column == "project_id";
  }
  // The columns that refer to other tables, in field order.
  std::vector<const FieldSpec*> References() const;
};

const TableSpec& Spec(Entity entity);
// nullptr for an unknown table name.
const TableSpec* FindSpec(std::string_view table_name);
// Every table of the model, parents before children (the order a batch of
// inserts must follow to satisfy foreign keys).
const std::vector<const TableSpec*>& AllSpecs();

// Derived lists, each in AllSpecs() order (parents first):
// the tables a client mirrors and sync delivers;
const std::vector<const TableSpec*>& MirroredSpecs();
// the tables users write (REST resources and the sync push allow-list);
const std::vector<const TableSpec*>& WritableSpecs();
// the child tables of a project (project_id), members first.
const std::vector<const TableSpec*>& ProjectChildSpecs();
// nullptr when no table has that REST route / client collection name.
const TableSpec* FindByRoute(std::string_view route);
const TableSpec* FindByCollection(std::string_view collection);
// The primary key of `row` (a row of `spec` as JSON) as one string: the id,
// or the key columns joined by ':' ("<project_id>:<user_id>" for members).
std::string RowKey(const TableSpec& spec, const nlohmann::json& row);

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
