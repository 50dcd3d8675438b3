// The list contract shared by the server and the client mirror (SPEC.md
// section 2 "Lists"): which filters each list takes, its deterministic order
// (id always last), the cursor that resumes after a row, and the keyset
// predicates that find "rows after the cursor" with index range scans.
//
// Keyset pages: "rows after position p" is split into branches, one per key
// j: (k1 = p1 AND ... AND k(j-1) = p(j-1) AND kj strictly after pj), where
// "strictly after" on a NULLS LAST key splits again into (kj > pj) and
// (kj IS NULL). Each branch is an equality prefix plus one range, which an
// index in list order answers with a range scan starting at the cursor, so a
// deep page costs what the first page costs. Branches are disjoint.
// Pure (SQL text generation only); thread-safe.
#ifndef VEMAKIN_CORE_LIST_ORDER_H_
#define VEMAKIN_CORE_LIST_ORDER_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/model.h"

namespace vemakin::core {

struct OrderKey {
  std::string column;
  bool descending = false;
  bool nullable = false;  // NULLs sort last in either direction
};

// The order of the list of `entity` (projects, shots, notes, tasks, equipment,
// catalog tables).
const std::vector<OrderKey>& ListOrder(Entity entity);
// The query filters the list of `entity` accepts (field names).
const std::vector<std::string>& ListFilters(Entity entity);

// "ORDER BY" body for keys, columns prefixed by `alias.`; NULLS LAST written
// out (PostgreSQL and SQLite ≥ 3.30 both accept it).
std::string OrderBy(const std::vector<OrderKey>& keys, const std::string& alias);

// Keyset branches for a cursor whose key values are NULL where
// `null_pattern[i]`. `placeholder(field, n)` spells parameter n for a field in
// the target dialect; non-NULL cursor values are numbered from `first_param`
// in key order. Returns the branch predicates (each to be ANDed with the base
// filter); empty when nothing comes after the cursor.
std::vector<std::string> KeysetBranches(
    const TableSpec& spec, const std::vector<OrderKey>& keys, const std::vector<bool>& null_pattern,
    const std::string& alias, int first_param,
    const std::function<std::string(const FieldSpec&, int)>& placeholder);

// A cursor is the text form of the order-key values of the last row of a page
// (EncodeField's spelling, nullopt for NULL), as base64url JSON.
using CursorValues = std::vector<std::optional<std::string>>;
std::string EncodeCursor(const CursorValues& values);
// nullopt when `cursor` is not one EncodeCursor made for `keys` of `spec`
// (wrong length, NULL for a non-nullable key, values the columns cannot hold).
std::optional<CursorValues> DecodeCursor(const std::string& cursor, const TableSpec& spec,
                                         const std::vector<OrderKey>& keys);

// The cursor that resumes after `row` (a row of `spec` as JSON) in `keys` order.
std::string CursorAfter(const TableSpec& spec, const std::vector<OrderKey>& keys,
                        const nlohmann::json& row);

// "a.f1, a.f2, ..." for every field of the table, in field order (the column
// list every row reader of both engines selects).
std::string ColumnList(const TableSpec& spec, const std::string& alias);

// ------------------------------------------------------------ page queries
//
// One builder for every list page on both engines (the server's lists and
// bulk reads, the client's Store lists): a first page or one by skip is
// "ORDER BY keys LIMIT n+1 OFFSET skip"; a page after a cursor is the union
// of the keyset branches, each its own index range scan with its own LIMIT,
// ordered and limited again. One row more than the page is asked for, so the
// caller learns whether more follow.

// What differs between the engines' SQL.
struct SqlDialect {
  // Parameter n holding a value of `field` ("$3::date", "?3").
  std::function<std::string(const FieldSpec& field, int n)> placeholder;
  // Parameter n holding an integer (LIMIT and OFFSET).
  std::function<std::string(int n)> integer_placeholder;
  // An index in list order delivers "ASC NULLS LAST" (PostgreSQL). SQLite
  // sorts NULLs first, so there an index orders only the leading keys and
  // SQLite sorts each group of ties on the rest; sorting whole rows of a big
  // group is slow, so such pages find their ids on the covering index first
  // and then fetch only those rows (a deferred join).
  bool orders_nulls_last = true;
};

// The deepest `skip` a list accepts (both engines; larger is a 422): far
// beyond any list's length, and small enough that skip + limit + 1 can never
// overflow, nor lose precision in a JSON reader whose numbers are doubles.
// Deeper pages use the cursor, which costs what the first page costs.
inline constexpr long long kMaxSkip = 1000000000;

struct PageRequest {
  long long skip = 0;
  long long limit = 100;              // rows wanted (the query asks for one more)
  std::optional<std::string> cursor;  // resume after this cursor (then skip is 0)
};

using SqlParam = std::variant<long long, std::string>;

struct PageSql {
  std::string sql;               // selects ColumnList(spec, "t"), in list order
  std::vector<SqlParam> params;  // numbered from the builder's first_param, in order
};

// The page of `spec` rows (alias t) from `from` matching `where` (both may use
// parameters below `first_param`). nullopt when page.cursor is not a cursor
// of these keys (DecodeCursor).
std::optional<PageSql> BuildPageSql(const TableSpec& spec, const std::string& from,
                                    const std::string& where, const std::vector<OrderKey>& keys,
                                    const PageRequest& page, int first_param,
                                    const SqlDialect& dialect);

std::string Base64UrlEncode(const std::string& bytes);
std::optional<std::string> Base64UrlDecode(const std::string& text);

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_LIST_ORDER_H_
