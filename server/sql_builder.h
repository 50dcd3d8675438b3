// SQL text generated from the model (core/model.h) in PostgreSQL's dialect,
// so each table's column list and parameter casts are written once.
// Everything built here is parameterised: values only ever travel as $n
// parameters; names come from the model, never from a request. List orders
// and keyset predicates live in core/list_order.h (shared with the client).
#ifndef VEMAKIN_SERVER_SQL_BUILDER_H_
#define VEMAKIN_SERVER_SQL_BUILDER_H_

#include <string>
#include <vector>

#include "core/list_order.h"
#include "core/model.h"

namespace vemakin::server {

using core::ColumnList;  // "t.id, t.project_id, ...": one column list for both engines
using core::OrderKey;

// "$n::uuid" etc.: the parameter placeholder with the cast its column needs.
std::string Placeholder(const core::FieldSpec& field, int n);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_SQL_BUILDER_H_
