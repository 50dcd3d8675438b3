// The OpenAPI 3.0 document of the API, generated from the route table
// (server/api_router.h: methods, patterns, summaries, the generic resources'
// tables) and the model's schemas (core/model.h), so it cannot drift from
// what the server does. Served at /openapi.json (server/api_ops.h) and by
// Api::OpenApiJson.
#ifndef VEMAKIN_SERVER_API_OPENAPI_H_
#define VEMAKIN_SERVER_API_OPENAPI_H_

#include <nlohmann/json.hpp>

#include "server/api_router.h"

namespace vemakin::server {

// The document describing `router`'s routes. A pure function of the route
// table and the model; thread-safe once the table is built.
nlohmann::json OpenApiDocument(const Router& router);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_OPENAPI_H_
