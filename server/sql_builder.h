// SQL text generated from the model (core/model.h), so each table's column
// list, parameter casts and list orders are written once. Everything built
// here is parameterised: values only ever travel as $n parameters; names
// come from the model, never from a request.
//
// Keyset pages: a list order is a sequence of keys (column, direction, NULLS
// LAST) ending with the id. "Rows after position p" is split into branches,
// one per key j: (k1 = p1 AND ... AND k(j-1) = p(j-1) AND kj strictly after pj),
// with "strictly after" on a NULLS LAST key split again into (kj > pj) and
// (kj IS NULL). Each branch is an equality prefix plus one range on an index
// whose columns follow the order, so every branch is an index range scan that
// starts at the cursor: a deep page costs what the first page costs. The
// branches are disjoint and each is LIMITed, so the union sorts at most
// branches × limit rows.
#ifndef VEMAKIN_SERVER_SQL_BUILDER_H_
#define VEMAKIN_SERVER_SQL_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace vemakin::server {

struct OrderKey {
  std::string column;
  bool descending = false;
  bool nullable = false;  // NULLs sort last in either direction
};

// "t.id, t.project_id, ..." (every field of the spec), prefixed by `alias.`.
std::string ColumnList(const core::TableSpec& spec, const std::string& alias);
// "$n::uuid" etc.: the parameter placeholder with the cast its column needs.
std::string Placeholder(const core::FieldSpec& field, int n);
// "ORDER BY" body for keys, columns prefixed by `alias.`.
std::string OrderBy(const std::vector<OrderKey>& keys, const std::string& alias);

// One keyset branch set. `null_pattern[i]` says whether the cursor's value for
// key i is NULL (placeholders are omitted for NULL values). Parameters for the
// non-NULL cursor values are numbered from `first_param` in key order.
// Returns the SQL predicates of the branches (each to be ANDed with the base
// filter). Empty result: nothing comes after the cursor.
std::vector<std::string> KeysetBranches(const core::TableSpec& spec,
                                        const std::vector<OrderKey>& keys,
                                        const std::vector<bool>& null_pattern,
                                        const std::string& alias, int first_param);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_SQL_BUILDER_H_
