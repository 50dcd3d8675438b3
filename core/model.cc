// The table definitions. Bounds here equal the CHECKs in
// schema/postgres/0001_core_tables.up.sql and schema/sqlite/0001_mirror_tables.sql.
#include "core/model.h"

namespace vemakin::core {

const std::vector<std::string> kShotStatuses = {"pending", "done"};
const std::vector<std::string> kTaskCategories = {"Script", "Editing", "Sound", "VFX", "Color"};
const std::vector<std::string> kTaskStatuses = {"todo", "progress", "review", "done"};
const std::vector<std::string> kTaskPriorities = {"low", "medium", "high", "critical"};
const std::vector<std::string> kEquipmentCategories = {
    "Camera", "Lens",       "Light",    "Filter", "Audio", "Tripod", "Stabilizer",
    "Grip",   "Monitoring", "Wireless", "Drone",  "Props", "Other"};
const std::vector<std::string> kEquipmentStatuses = {"operational", "maintenance", "broken", "lost",
                                                     "sold"};
const std::vector<std::string> kRentalFrequencies = {"hour", "day", "week", "month", "year"};
const std::vector<std::string> kMemberRoles = {"owner", "editor", "viewer"};

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kUuid:
      return "uuid";
    case FieldType::kText:
      return "string";
    case FieldType::kEnum:
      return "enum";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kNumber:
      return "number";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kDate:
      return "date";
    case FieldType::kTimeOfDay:
      return "time";
    case FieldType::kTimestamp:
      return "timestamp";
    case FieldType::kJsonObject:
      return "object";
    case FieldType::kUuidArray:
      return "array";
  }
  return "string";
}

namespace {

FieldSpec F(std::string name, FieldType type) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  return f;
}
FieldSpec Uuid(std::string name) { return F(std::move(name), FieldType::kUuid); }
FieldSpec Text(std::string name) { return F(std::move(name), FieldType::kText); }
FieldSpec Enum(std::string name, const std::vector<std::string>& allowed) {
  FieldSpec f = F(std::move(name), FieldType::kEnum);
  f.allowed = allowed;
  return f;
}
FieldSpec Id() { return Uuid("id").CreateOnly(); }
FieldSpec Stamp(std::string name) { return F(std::move(name), FieldType::kTimestamp).ReadOnly(); }
FieldSpec Money(std::string name) {
  FieldSpec f = F(std::move(name), FieldType::kNumber).Range(0, 9999999999.99);
  f.decimals = 2;
  return f;
}
FieldSpec IdList(std::string name) {
  FieldSpec f = F(std::move(name), FieldType::kUuidArray).Default(nlohmann::json::array());
  f.max_items = 1000;
  return f;
}

// A table with its scope; names and keys are set by the caller where they differ.
TableSpec Table(Entity entity, std::string name, Scope scope, std::string scope_column,
                std::vector<FieldSpec> fields) {
  TableSpec t;
  t.entity = entity;
  t.name = std::move(name);
  t.scope = scope;
  t.scope_column = std::move(scope_column);
  t.fields = std::move(fields);
  t.key = {"id"};
  return t;
}

// REST route, client collection and list counter names.
TableSpec Named(TableSpec t, std::string route, std::string collection, std::string counter) {
  t.route = std::move(route);
  t.collection = std::move(collection);
  t.counter = std::move(counter);
  return t;
}

FieldSpec ProjectId() {
  return Uuid("project_id").Required().CreateOnly().References("projects", OnDelete::kCascade);
}
FieldSpec Owner() { return Uuid("user_id").ReadOnly().References("users", OnDelete::kCascade); }

std::vector<TableSpec> BuildSpecs() {
  std::vector<TableSpec> t;
  t.push_back(Table(Entity::kUser, "users", Scope::kAccount, "",
                    {Uuid("id").ReadOnly(), Text("email").Required().Length(3, 320).CreateOnly(),
                     Text("name").Required().Length(1, 200),
                     F("settings", FieldType::kJsonObject).Default(nlohmann::json::object()),
                     Stamp("created_at")}));
  t.push_back(Named(Table(Entity::kProject, "projects", Scope::kProject, "id",
                          {Id(), Owner(), Text("name").Required().Length(1, 200),
                           Stamp("created_at"), Stamp("updated_at")}),
                    "projects", "projects", ""));
  TableSpec members = Table(
      Entity::kProjectMember, "project_members", Scope::kMembership, "project_id",
      {ProjectId(), Uuid("user_id").Required().CreateOnly().References("users", OnDelete::kCascade),
       Enum("role", kMemberRoles).Required(), Stamp("created_at")});
  members.key = {"project_id", "user_id"};
  t.push_back(std::move(members));
  t.push_back(Table(Entity::kGearCategory, "gear_categories", Scope::kGlobal, "",
                    {Uuid("id").ReadOnly(), Text("name").Length(1, 100).ReadOnly(),
                     Text("slug").Length(1, 100).ReadOnly()}));
  t.back().unique = {{"name"}, {"slug"}};
  t.push_back(Table(Entity::kGearBrand, "gear_brands", Scope::kGlobal, "",
                    {Uuid("id").ReadOnly(), Text("name").Length(1, 100).ReadOnly()}));
  t.back().unique = {{"name"}};
  t.push_back(
      Table(Entity::kGearCatalogItem, "gear_catalog", Scope::kGlobal, "",
            {Uuid("id").ReadOnly(),
             Uuid("category_id").ReadOnly().References("gear_categories", OnDelete::kRestrict),
             Uuid("brand_id").ReadOnly().References("gear_brands", OnDelete::kRestrict),
             Text("name").Length(1, 200).ReadOnly(), Text("description").Nullable().ReadOnly(),
             Text("image_url").Nullable().ReadOnly(), F("specs", FieldType::kJsonObject).ReadOnly(),
             Stamp("created_at")}));
  t.back().unique = {{"brand_id", "name"}};
  t.push_back(Named(
      Table(
          Entity::kShot, "shots", Scope::kProject, "project_id",
          {Id(), ProjectId(), Text("title").Required().Length(1, 500),
           Text("description").Length(0, 20000).Default(""),
           Enum("status", kShotStatuses).Default("pending"), F("date", FieldType::kDate).Nullable(),
           F("start_time", FieldType::kTimeOfDay).Nullable(),
           Text("duration").Length(0, 100).Default(""), Text("location").Length(0, 500).Default(""),
           F("location_lat", FieldType::kNumber).Nullable().Range(-90, 90),
           F("location_lng", FieldType::kNumber).Nullable().Range(-180, 180),
           Text("remarks").Nullable().Length(0, 20000),
           Text("scene_number").Nullable().Length(0, 50), IdList("equipment_ids"),
           IdList("prepared_equipment_ids"), Stamp("created_at"), Stamp("updated_at")}),
      "shots", "shots", "shots"));
  t.push_back(Named(
      Table(Entity::kPostprodTask, "postprod_tasks", Scope::kProject, "project_id",
            {Id(), ProjectId(), Enum("category", kTaskCategories).Required(),
             Text("title").Required().Length(1, 500), Enum("status", kTaskStatuses).Default("todo"),
             Enum("priority", kTaskPriorities).Default("medium"),
             F("due_date", FieldType::kDate).Nullable(),
             Text("description").Nullable().Length(0, 20000), Stamp("created_at"),
             Stamp("updated_at")}),
      "postprod", "tasks", "tasks"));
  t.push_back(
      Named(Table(Entity::kNote, "notes", Scope::kProject, "project_id",
                  {Id(), ProjectId(), Text("title").Required().Length(1, 500),
                   Text("content").Length(0, 100000).Default(""),
                   Uuid("shot_id").Nullable().References("shots", OnDelete::kSetNull).SameProject(),
                   Uuid("task_id")
                       .Nullable()
                       .References("postprod_tasks", OnDelete::kSetNull)
                       .SameProject(),
                   Stamp("created_at"), Stamp("updated_at")}),
            "notes", "notes", "notes"));
  t.push_back(Named(
      Table(Entity::kEquipment, "equipment", Scope::kOwner, "user_id",
            {Id(), Owner(), Text("name").Required().Length(1, 200),
             Uuid("catalog_item_id").Nullable().References("gear_catalog", OnDelete::kSetNull),
             Text("custom_name").Nullable().Length(0, 200),
             Text("serial_number").Nullable().Length(0, 100),
             Enum("category", kEquipmentCategories).Required(), Money("price_per_day").Default(0),
             Money("rental_price").Nullable(),
             Enum("rental_frequency", kRentalFrequencies).Nullable(),
             F("quantity", FieldType::kInteger).Range(1, 1000000).Default(1),
             F("is_owned", FieldType::kBoolean).Default(true),
             Enum("status", kEquipmentStatuses).Default("operational"), Stamp("created_at"),
             Stamp("updated_at")}),
      "inventory", "inventory", "equipment"));
  return t;
}

const std::vector<TableSpec>& Specs() {
  static const std::vector<TableSpec> specs = BuildSpecs();
  return specs;
}

}  // namespace

const FieldSpec* TableSpec::Find(std::string_view field) const {
  for (const FieldSpec& f : fields) {
    if (f.name == field) return &f;
  }
  return nullptr;
}

const TableSpec& Spec(Entity entity) {
  for (const TableSpec& t : Specs()) {
    if (t.entity == entity) return t;
  }
  return Specs().front();  // unreachable: every Entity has a spec (tested)
}

const TableSpec* FindSpec(std::string_view table_name) {
  for (const TableSpec& t : Specs()) {
    if (t.name == table_name) return &t;
  }
  return nullptr;
}

const std::vector<const TableSpec*>& AllSpecs() {
  static const std::vector<const TableSpec*> all = [] {
    std::vector<const TableSpec*> v;
    for (const TableSpec& t : Specs()) v.push_back(&t);
    return v;
  }();
  return all;
}

namespace {

template <class Pred>
std::vector<const TableSpec*> SpecsWhere(Pred pred) {
  std::vector<const TableSpec*> out;
  for (const TableSpec* t : AllSpecs()) {
    if (pred(*t)) out.push_back(t);
  }
  return out;
}

}  // namespace

const std::vector<const TableSpec*>& MirroredSpecs() {
  static const auto v = SpecsWhere([](const TableSpec& t) { return t.Mirrored(); });
  return v;
}

const std::vector<const TableSpec*>& WritableSpecs() {
  static const auto v = SpecsWhere([](const TableSpec& t) { return t.UserWritable(); });
  return v;
}

const std::vector<const TableSpec*>& ProjectChildSpecs() {
  static const auto v = SpecsWhere([](const TableSpec& t) { return t.InProject(); });
  return v;
}

const TableSpec* FindByRoute(std::string_view route) {
  for (const TableSpec& t : Specs()) {
    if (!t.route.empty() && t.route == route) return &t;
  }
  return nullptr;
}

const TableSpec* FindByCollection(std::string_view collection) {
  for (const TableSpec& t : Specs()) {
    if (!t.collection.empty() && t.collection == collection) return &t;
  }
  return nullptr;
}

std::vector<const FieldSpec*> TableSpec::References() const {
  std::vector<const FieldSpec*> out;
  for (const FieldSpec& f : fields) {
    if (f.reference) out.push_back(&f);
  }
  return out;
}

std::string RowKey(const TableSpec& spec, const nlohmann::json& row) {
  std::string out;
  for (const std::string& column : spec.key) {
    if (!out.empty()) out += ':';
    const auto it = row.find(column);
    if (it != row.end() && it->is_string()) out += it->get<std::string>();
  }
  return out;
}

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kAccount:
      return "account";
    case Scope::kProject:
      return "project";
    case Scope::kMembership:
      return "membership";
    case Scope::kOwner:
      return "owner";
    case Scope::kGlobal:
      return "global";
  }
  return "global";
}

}  // namespace vemakin::core
