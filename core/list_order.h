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
#include <optional>
#include <string>
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

std::string Base64UrlEncode(const std::string& bytes);
std::optional<std::string> Base64UrlDecode(const std::string& text);

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_LIST_ORDER_H_
