// The OpenAPI document (api_openapi.h): path parameters from the patterns,
// the generic resources' list parameters and body schemas from their tables,
// one schema per model table.
#include "server/api_openapi.h"

#include <cctype>
#include <string>

#include "core/list_order.h"
#include "core/model.h"

namespace vemakin::server {
namespace {

json FieldSchema(const core::FieldSpec& f) {
  json s;
  switch (f.type) {
    case core::FieldType::kUuid:
      s = {{"type", "string"}, {"format", "uuid"}};
      break;
    case core::FieldType::kText:
      s = {{"type", "string"}};
      break;
    case core::FieldType::kEnum:
      s = {{"type", "string"}, {"enum", f.allowed}};
      break;
    case core::FieldType::kInteger:
      s = {{"type", "integer"}};
      break;
    case core::FieldType::kNumber:
      s = {{"type", "number"}};
      break;
    case core::FieldType::kBoolean:
      s = {{"type", "boolean"}};
      break;
    case core::FieldType::kDate:
      s = {{"type", "string"}, {"format", "date"}};
      break;
    case core::FieldType::kTimeOfDay:
      s = {{"type", "string"}, {"pattern", "^([01][0-9]|2[0-3]):[0-5][0-9]$"}};
      break;
    case core::FieldType::kTimestamp:
      s = {{"type", "string"}, {"format", "date-time"}};
      break;
    case core::FieldType::kJsonObject:
      s = {{"type", "object"}};
      break;
    case core::FieldType::kUuidArray:
      s = {{"type", "array"}, {"items", {{"type", "string"}, {"format", "uuid"}}}};
      break;
  }
  if (f.max_length > 0) s["maxLength"] = f.max_length;
  if (f.min_length > 0) s["minLength"] = f.min_length;
  if (f.min_value) s["minimum"] = *f.min_value;
  if (f.max_value) s["maximum"] = *f.max_value;
  if (f.nullable) s["nullable"] = true;
  if (!f.default_value.is_null()) s["default"] = f.default_value;
  if (f.access == core::Access::kReadOnly) s["readOnly"] = true;
  return s;
}

json TableSchema(const core::TableSpec& t) {
  json props = json::object();
  json required = json::array();
  for (const core::FieldSpec& f : t.fields) {
    props[f.name] = FieldSchema(f);
    if (f.required) required.push_back(f.name);
  }
  json s = {{"type", "object"}, {"properties", props}};
  if (!required.empty()) s["required"] = required;
  return s;
}

// The bodies of the routes that are not a model table's (accounts, members).
json PlainBody(const std::string& method, const std::string& pattern) {
  const json text = {{"type", "string"}};
  const json password = {{"type", "string"}, {"minLength", 8}, {"maxLength", 1024}};
  auto object = [](json props, json required) {
    return json{{"type", "object"}, {"properties", std::move(props)}, {"required", required}};
  };
  if (method != "POST") return nullptr;
  if (pattern == "/api/auth/register") {
    return object({{"email", text}, {"password", password}, {"name", text}},
                  {"email", "password", "name"});
  }
  if (pattern == "/api/auth/login") {
    return object({{"email", text}, {"password", text}}, {"email", "password"});
  }
  if (pattern == "/api/users/me/password") {
    return object({{"current_password", text}, {"new_password", password}},
                  {"current_password", "new_password"});
  }
  if (pattern == "/api/projects/{id}/members") {
    return object(
        {{"email", text},
         {"role", {{"type", "string"}, {"enum", {"editor", "viewer"}}, {"default", "viewer"}}}},
        {"email"});
  }
  return nullptr;
}

}  // namespace

json OpenApiDocument(const Router& router) {
  json paths = json::object();
  for (const Router::Route& r : router.routes()) {
    json op = {{"summary", r.summary}, {"responses", json::object()}};
    json params = json::array();
    for (const std::string& seg : r.segments) {
      if (!seg.empty() && seg.front() == '{') {
        params.push_back({{"name", seg.substr(1, seg.size() - 2)},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
      }
    }
    if (const core::TableSpec* spec = r.resource) {
      const std::string base = "/api/" + spec->route;
      if (r.method == "GET" && r.pattern == base) {
        if (spec->InProject()) {
          params.push_back({{"name", "project_id"},
                            {"in", "query"},
                            {"required", true},
                            {"schema", {{"type", "string"}, {"format", "uuid"}}}});
        }
        for (const std::string& f : core::ListFilters(spec->entity)) {
          params.push_back({{"name", f}, {"in", "query"}, {"schema", FieldSchema(*spec->Find(f))}});
        }
        params.push_back(
            {{"name", "skip"},
             {"in", "query"},
             {"schema", {{"type", "integer"}, {"minimum", 0}, {"maximum", core::kMaxSkip}}}});
        params.push_back({{"name", "limit"},
                          {"in", "query"},
                          {"description", "rows per page; larger values are capped at 1000"},
                          {"schema", {{"type", "integer"}, {"minimum", 1}, {"default", 100}}}});
        params.push_back({{"name", "cursor"}, {"in", "query"}, {"schema", {{"type", "string"}}}});
      }
      if ((r.method == "POST" && r.pattern == base) ||
          (r.method == "PATCH" && r.pattern == base + "/{id}")) {
        op["requestBody"] = {{"required", true},
                             {"content",
                              {{"application/json",
                                {{"schema", {{"$ref", "#/components/schemas/" + spec->name}}}}}}}};
      }
    }
    if (json body = PlainBody(r.method, r.pattern); !body.is_null()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", body}}}}}};
    }
    if (!params.empty()) op["parameters"] = params;
    const bool open = r.pattern.rfind("/api/auth/register", 0) == 0 ||
                      r.pattern.rfind("/api/auth/login", 0) == 0 || r.pattern.rfind("/api", 0) != 0;
    if (!open) op["security"] = json::array({{{"bearer", json::array()}}});
    op["responses"]["default"] = {
        {"description", "error: {\"detail\": ...}"},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    op["responses"]["200"] = {{"description", "success"}};
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[r.pattern][method] = op;
  }
  json schemas = json::object();
  for (const core::TableSpec* t : core::AllSpecs()) schemas[t->name] = TableSchema(*t);
  schemas["Error"] = {{"type", "object"}, {"properties", {{"detail", json::object()}}}};
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Vemakin Sync API"}, {"version", "0.1.0"}}},
          {"paths", paths},
          {"components",
           {{"schemas", schemas},
            {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

}  // namespace vemakin::server
