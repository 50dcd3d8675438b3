#include "core/list_order.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_codec.h"
#include "core/validation.h"

namespace vemakin::core {

const std::vector<OrderKey>& ListOrder(Entity entity) {
  static const std::vector<OrderKey> kProjects = {{"created_at", true, false},
                                                  {"id", false, false}};
  static const std::vector<OrderKey> kShots = {
      {"date", true, true}, {"start_time", false, true}, {"id", false, false}};
  static const std::vector<OrderKey> kNotes = {{"updated_at", true, false}, {"id", false, false}};
  static const std::vector<OrderKey> kTasks = {{"status", false, false},
                                               {"priority", false, false},
                                               {"due_date", false, true},
                                               {"id", false, false}};
  static const std::vector<OrderKey> kEquipment = {
      {"category", false, false}, {"name", false, false}, {"id", false, false}};
  static const std::vector<OrderKey> kByName = {{"name", false, false}, {"id", false, false}};
  static const std::vector<OrderKey> kMembers = {{"created_at", false, false},
                                                 {"user_id", false, false}};
  switch (entity) {
    case Entity::kProject:
      return kProjects;
    case Entity::kShot:
      return kShots;
    case Entity::kNote:
      return kNotes;
    case Entity::kPostprodTask:
      return kTasks;
    case Entity::kEquipment:
      return kEquipment;
    case Entity::kProjectMember:
      return kMembers;
    default:
      return kByName;
  }
}

const std::vector<std::string>& ListFilters(Entity entity) {
  static const std::vector<std::string> kNone;
  static const std::vector<std::string> kShots = {"status", "date"};
  static const std::vector<std::string> kNotes = {"shot_id", "task_id"};
  static const std::vector<std::string> kTasks = {"status", "priority", "category"};
  static const std::vector<std::string> kEquipment = {"status", "category"};
  static const std::vector<std::string> kCatalog = {"category_id", "brand_id"};
  switch (entity) {
    case Entity::kShot:
      return kShots;
    case Entity::kNote:
      return kNotes;
    case Entity::kPostprodTask:
      return kTasks;
    case Entity::kEquipment:
      return kEquipment;
    case Entity::kGearCatalogItem:
      return kCatalog;
    default:
      return kNone;
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

std::vector<std::string> KeysetBranches(
    const TableSpec& spec, const std::vector<OrderKey>& keys, const std::vector<bool>& null_pattern,
    const std::string& alias, int first_param,
    const std::function<std::string(const FieldSpec&, int)>& placeholder) {
  std::vector<std::string> placeholders(keys.size());
  int next = first_param;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (null_pattern[i]) continue;
    const FieldSpec* f = spec.Find(keys[i].column);
    if (f == nullptr) throw Error(ErrorCode::kInternal, "unknown order column " + keys[i].column);
    placeholders[i] = placeholder(*f, next++);
  }
  std::vector<std::string> branches;
  // Deepest branch first: rows sharing the longest prefix come first in order.
  for (size_t j = keys.size(); j-- > 0;) {
    if (null_pattern[j]) continue;  // nothing sorts after NULL (NULLS LAST)
    std::string prefix;
    for (size_t i = 0; i < j; ++i) {
      const std::string col = alias + "." + keys[i].column;
      prefix += (null_pattern[i] ? col + " IS NULL" : col + " = " + placeholders[i]) + " AND ";
    }
    const std::string col = alias + "." + keys[j].column;
    branches.push_back(prefix + col + (keys[j].descending ? " < " : " > ") + placeholders[j]);
    if (keys[j].nullable) branches.push_back(prefix + col + " IS NULL");
  }
  return branches;
}

std::string ColumnList(const TableSpec& spec, const std::string& alias) {
  std::string out;
  for (const FieldSpec& f : spec.fields) {
    if (!out.empty()) out += ", ";
    out += alias + "." + f.name;
  }
  return out;
}

std::string CursorAfter(const TableSpec& spec, const std::vector<OrderKey>& keys,
                        const nlohmann::json& row) {
  CursorValues values;
  for (const OrderKey& k : keys)
    values.push_back(EncodeField(*spec.Find(k.column), row.at(k.column)));
  return EncodeCursor(values);
}

std::optional<PageSql> BuildPageSql(const TableSpec& spec, const std::string& from,
                                    const std::string& where, const std::vector<OrderKey>& keys,
                                    const PageRequest& page, int first_param,
                                    const SqlDialect& dialect) {
  PageSql out;
  int n = first_param;
  const std::string cols = ColumnList(spec, "t");
  const std::string order = OrderBy(keys, "t");
  bool deferred = false;
  if (!dialect.orders_nulls_last) {
    for (const OrderKey& k : keys) deferred = deferred || (k.nullable && !k.descending);
  }
  // A page by skip finds its ids first, past the skipped rows on the list's
  // index alone (an index-only scan: no heap read per skipped row), then
  // reads only the page's rows by id: at skip 99,950 of 100,000 shots 21 ms
  // instead of 147 ms for the best plan over whole rows (issue 13). Its text
  // differs from the first page's, so a prepared statement's cached plan,
  // chosen for first pages, is never the one a deep page runs.
  if (!page.cursor && page.skip > 0) deferred = true;
  const std::string limit = dialect.integer_placeholder(n++);
  out.params.emplace_back(page.limit + 1);  // one more: has_more
  if (!page.cursor) {
    const std::string offset = dialect.integer_placeholder(n++);
    out.params.emplace_back(page.skip);
    out.sql = "SELECT " + std::string(deferred ? "t.id" : cols) + " FROM " + from + " WHERE " +
              where + " ORDER BY " + order + " LIMIT " + limit + " OFFSET " + offset;
  } else {
    const std::optional<CursorValues> values = DecodeCursor(*page.cursor, spec, keys);
    if (!values) return std::nullopt;
    std::vector<bool> nulls;
    for (const std::optional<std::string>& v : *values) {
      nulls.push_back(!v.has_value());
      if (v) out.params.emplace_back(*v);
    }
    const std::vector<std::string> branches =
        KeysetBranches(spec, keys, nulls, "t", n, dialect.placeholder);
    if (branches.empty()) {
      out.sql =
          "SELECT " + std::string(deferred ? "t.id" : cols) + " FROM " + from + " WHERE 1 = 0";
    } else {
      // A deferred page carries only its keys through the union.
      std::string branch_cols = cols;
      if (deferred) {
        branch_cols = "t.id";
        for (const OrderKey& k : keys) {
          if (k.column != "id") branch_cols += ", t." + k.column;
        }
      }
      std::string u;
      int b = 0;
      for (const std::string& branch : branches) {
        if (!u.empty()) u += " UNION ALL ";
        u += "SELECT * FROM (SELECT " + branch_cols + " FROM " + from + " WHERE " + where +
             " AND " + branch + " ORDER BY " + order + " LIMIT " + limit + ") AS b" +
             std::to_string(b++);
      }
      out.sql = "SELECT " + std::string(deferred ? "t.id" : "t.*") + " FROM (" + u +
                ") t ORDER BY " + order + " LIMIT " + limit;
    }
  }
  if (deferred) {
    out.sql = "SELECT " + cols + " FROM " + spec.name + " t WHERE t.id IN (" + out.sql +
              ") ORDER BY " + order;
  }
  return out;
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string Base64UrlEncode(const std::string& bytes) {
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(value >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(value << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> Base64UrlDecode(const std::string& text) {
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Sextet(c);
    if (v < 0) return std::nullopt;
    value = (value << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  if (bits >= 6 || (value & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

std::string EncodeCursor(const CursorValues& values) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& v : values) arr.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  return Base64UrlEncode(arr.dump());
}

std::optional<CursorValues> DecodeCursor(const std::string& cursor, const TableSpec& spec,
                                         const std::vector<OrderKey>& keys) {
  if (cursor.size() > 4096) return std::nullopt;
  const std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw) return std::nullopt;
  const nlohmann::json values = nlohmann::json::parse(*raw, nullptr, false);
  if (!values.is_array() || values.size() != keys.size()) return std::nullopt;
  CursorValues out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const nlohmann::json& v = values[i];
    if (v.is_null()) {
      if (!keys[i].nullable) return std::nullopt;
      out.push_back(std::nullopt);
      continue;
    }
    if (!v.is_string()) return std::nullopt;
    const FieldSpec* f = spec.Find(keys[i].column);
    if (f == nullptr) return std::nullopt;
    const std::string& text = v.get_ref<const std::string&>();
    // The value must be one the column can hold, else the store refuses it.
    nlohmann::json probe = text;
    if (f->type == FieldType::kText || f->type == FieldType::kEnum || f->type == FieldType::kUuid ||
        f->type == FieldType::kDate || f->type == FieldType::kTimeOfDay ||
        f->type == FieldType::kTimestamp) {
      FieldSpec relaxed = *f;
      relaxed.min_length = 0;
      relaxed.max_length = 0;
      if (!ValidateValue(relaxed, probe, {"cursor"}).empty()) return std::nullopt;
    } else {
      return std::nullopt;  // no list orders by other types
    }
    out.push_back(text);
  }
  return out;
}

}  // namespace vemakin::core
