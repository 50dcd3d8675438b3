// Routing, the error boundary, authentication, the account routes, the
// catalog cache, bulk reads and the operational routes.
#include "server/api.h"

#include <cstring>
#include <set>

#include "core/json_codec.h"
#include "core/time_format.h"
#include "core/uuid.h"
#include "server/api_internal.h"

namespace vemakin::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      const std::string key = PercentDecode(pair.substr(0, eq));
      const std::string value = eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1));
      out.emplace(key, value);  // the first occurrence wins
    }
    start = amp + 1;
  }
  return out;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

json UserJson(const pqxx::row& r, int offset) {
  return RowJson(core::Spec(core::Entity::kUser), r, offset);
}

// The account's columns (alias u), in the model's order.
const std::string& UserColumns() {
  static const std::string columns = ColumnList(core::Spec(core::Entity::kUser), "u");
  return columns;
}

}  // namespace

// ---------------------------------------------------------------- helpers

HttpResponse JsonResponse(int status, const json& body) {
  return HttpResponse::Json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse TextResponse(int status, std::string json_text) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

std::string RowText(const core::TableSpec& spec, const pqxx::row& row, int offset) {
  std::string out;
  out.reserve(512);
  core::AppendRowJson(
      spec,
      [&](size_t i) -> std::optional<std::string_view> {
        const pqxx::field f = row[static_cast<pqxx::row::size_type>(offset + i)];
        if (f.is_null()) return std::nullopt;
        return std::string_view(f.c_str(), f.size());
      },
      &out);
  return out;
}

std::string EnvelopeText(const PageText& p, const Page& page) {
  std::string out = "{\"items\":" + p.items + ",\"total\":" + std::to_string(p.total) +
                    ",\"skip\":" + std::to_string(page.skip) +
                    ",\"limit\":" + std::to_string(page.limit) +
                    ",\"has_more\":" + (p.has_more ? "true" : "false") + ",\"next_cursor\":";
  if (p.next_cursor) {
    core::AppendJsonString(*p.next_cursor, &out);
  } else {
    out += "null";
  }
  out += "}";
  return out;
}

json RowJson(const core::TableSpec& spec, const pqxx::row& row, int offset) {
  json out = json::object();
  int i = offset;
  for (const core::FieldSpec& f : spec.fields) {
    const pqxx::field field = row[i++];
    out[f.name] = core::DecodeField(
        f, field.is_null() ? std::nullopt : std::optional<std::string_view>(field.c_str()));
  }
  return out;
}

json ParseBody(const Ctx& ctx, int max_depth) {
  std::string error;
  if (ctx.http.body.empty()) throw HttpError::Detail(400, "a JSON body is required");
  std::optional<json> body = core::ParseUntrustedJson(ctx.http.body, max_depth, &error);
  if (!body) throw HttpError::Detail(400, error);
  return std::move(*body);
}

std::string RequireUuid(const std::string& value, const std::vector<std::string>& loc) {
  if (!core::IsValidUuid(value)) throw HttpError::Field(loc, "must be a UUID", "type");
  return core::NormalizeUuid(value);
}

long long ParseCount(const Ctx& ctx, const std::string& key, long long fallback, long long min) {
  const std::optional<std::string> v = ctx.Query(key);
  if (!v) return fallback;
  long long n = 0;
  size_t used = 0;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size()) {
    throw HttpError::Field({"query", key}, "must be an integer", "type");
  }
  if (n < min) {
    throw HttpError::Field({"query", key}, "must be at least " + std::to_string(min), "range");
  }
  return n;
}

Page ParsePage(const Ctx& ctx) {
  Page page;
  page.skip = ParseCount(ctx, "skip", 0, 0);
  page.limit = std::min<long long>(ParseCount(ctx, "limit", 100, 1), 1000);
  if (std::optional<std::string> c = ctx.Query("cursor"); c && !c->empty()) {
    if (page.skip != 0) {
      throw HttpError::Field({"query", "skip"}, "cannot be combined with cursor", "conflict");
    }
    page.cursor = *c;
  }
  return page;
}

json Envelope(json items, long long total, const Page& page, bool has_more,
              std::optional<std::string> next_cursor) {
  return json{{"items", std::move(items)},
              {"total", total},
              {"skip", page.skip},
              {"limit", page.limit},
              {"has_more", has_more},
              {"next_cursor", next_cursor ? json(*next_cursor) : json(nullptr)}};
}

// ---------------------------------------------------------------- Impl basics

Api::Impl::Impl(ApiOptions o, Db& d, Metrics& m)
    : options(std::move(o)),
      db(d),
      metrics(m),
      hasher(options.max_concurrent_hashes, std::chrono::seconds(10)) {
  if (!options.logger) options.logger = DefaultLogger();
  RegisterRoutes();
  RegisterResourceRoutes();
}

const Statement& Api::Impl::Stmt(const std::string& sql) {
  std::lock_guard<std::mutex> lock(statements_mu);
  auto it = statements.find(sql);
  if (it == statements.end()) {
    const std::string name = "v" + std::to_string(statements.size());
    it = statements.emplace(sql, Statement{name, sql}).first;
  }
  return it->second;
}

void Api::Impl::AddRoute(const std::string& method, const std::string& pattern, Handler h,
                         const std::string& summary) {
  routes.push_back({method, pattern, Split(pattern), std::move(h), summary});
}

HttpResponse Api::Impl::Dispatch(const HttpRequest& request, std::string* route_label) {
  const std::vector<std::string> segments = Split(request.path);
  bool path_matched = false;
  std::vector<std::string> allowed;
  for (Route& route : routes) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& p = route.segments[i];
      if (!p.empty() && p.front() == '{') {
        if (segments[i].empty()) match = false;
        params.push_back(PercentDecode(segments[i]));
      } else if (p != segments[i]) {
        match = false;
      }
    }
    if (!match) continue;
    path_matched = true;
    *route_label = route.pattern;
    allowed.push_back(route.method);
    if (route.method != request.method) continue;
    Ctx ctx{request, std::move(params), ParseQuery(request.query), "", ""};
    return route.handler(*this, ctx);
  }
  if (path_matched) {
    if (request.method == "OPTIONS") {  // CORS preflight
      HttpResponse r;
      r.status = 204;
      std::string methods;
      for (const std::string& m : allowed) methods += (methods.empty() ? "" : ", ") + m;
      r.headers.emplace_back("Access-Control-Allow-Methods", methods + ", OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return r;
    }
    HttpError e = HttpError::Detail(405, "method not allowed");
    throw e;
  }
  *route_label = "unmatched";
  throw HttpError::Detail(404, "not found");
}

// ---------------------------------------------------------------- auth

void Api::Impl::Authenticate(Session& s, Ctx& ctx) {
  const std::string header = ctx.http.Header("Authorization");
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    HttpError e = HttpError::Detail(401, "not authenticated");
    e.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw e;
  }
  ctx.token_hash = TokenHashParam(header.substr(prefix.size()));
  const pqxx::result r = s.Exec(
      Stmt("SELECT user_id, last_used_at IS NULL OR last_used_at < now() - interval '10 minutes' "
           "FROM api_tokens WHERE token_hash = $1::bytea AND expires_at > now()"),
      {ctx.token_hash});
  if (r.empty()) {
    HttpError e = HttpError::Detail(401, "invalid or expired token");
    e.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw e;
  }
  ctx.user_id = r[0][0].c_str();
  if (r[0][1].as<bool>()) {  // refresh last_used_at at most every 10 minutes
    s.Exec(Stmt("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1::bytea"),
           {ctx.token_hash});
  }
}

HttpResponse Api::Impl::ReadAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn) {
  HttpResponse out;
  db.Read([&](Session& s) {
    Authenticate(s, ctx);
    out = fn(s);
  });
  return out;
}

HttpResponse Api::Impl::WriteAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn) {
  HttpResponse out;
  db.Write([&](Session& s) {
    Authenticate(s, ctx);
    out = fn(s);
  });
  return out;
}

namespace {

std::string NormalizeEmail(std::string email) {
  const size_t a = email.find_first_not_of(" \t");
  const size_t b = email.find_last_not_of(" \t");
  email = a == std::string::npos ? "" : email.substr(a, b - a + 1);
  return email;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void CheckCredentials(const json& body, bool need_name, std::string* email, std::string* password,
                      std::string* name) {
  std::vector<core::FieldError> errors;
  if (!body.is_object()) throw HttpError::Field({"body"}, "must be a JSON object", "type");
  // Each field is checked on its own so that every problem is reported at once.
  auto text = [&](const char* key, std::string* out) -> bool {
    auto it = body.find(key);
    if (it == body.end()) {
      errors.push_back({{"body", key}, "field required", "missing"});
      return false;
    }
    if (!it->is_string()) {
      errors.push_back({{"body", key}, "must be a string", "type"});
      return false;
    }
    *out = it->get<std::string>();
    return true;
  };
  if (text("email", email)) {
    *email = NormalizeEmail(*email);
    const size_t at = email->find('@');
    if (email->size() < 3 || email->size() > 320 || at == std::string::npos || at == 0 ||
        at + 1 >= email->size() || email->find_first_of(" \t\r\n") != std::string::npos ||
        !core::IsValidUtf8(*email) || email->find('\0') != std::string::npos) {
      errors.push_back({{"body", "email"}, "must be an email address", "value"});
    }
  }
  if (text("password", password)) {
    if (need_name && (password->size() < 8 || password->size() > 1024)) {
      errors.push_back({{"body", "password"}, "must be 8 to 1024 characters", "value"});
    } else if (password->find('\0') != std::string::npos) {
      errors.push_back({{"body", "password"}, "must not contain NUL characters", "nul"});
    }
  }
  if (need_name && text("name", name)) {
    const core::FieldSpec& f = *core::Spec(core::Entity::kUser).Find("name");
    for (auto& e : core::ValidateValue(f, *name, {"body", "name"})) errors.push_back(e);
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
}

}  // namespace

HttpResponse Api::Impl::Register(Ctx& ctx) {
  if (!register_per_address.Allow(ctx.http.remote_address)) {
    HttpError e = HttpError::Detail(429, "too many registrations from this address");
    e.headers.emplace_back(
        "Retry-After", std::to_string(register_per_address.RetryAfter(ctx.http.remote_address)));
    throw e;
  }
  const json body = ParseBody(ctx, options.max_json_depth);
  std::string email, password, name;
  CheckCredentials(body, true, &email, &password, &name);
  const std::string hash = hasher.Hash(password);  // before the transaction: no connection held
  const std::string token = NewToken();
  json user;
  db.Write([&](Session& s) {
    const pqxx::result r =
        s.Exec(Stmt("INSERT INTO users AS u (id, email, name, password_hash) "
                    "VALUES ($1::uuid, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING " +
                    UserColumns()),
               {core::NewUuid(), email, name, hash});
    if (r.empty()) throw HttpError::Detail(409, "an account with this email already exists");
    user = UserJson(r[0], 0);
    s.Exec(Stmt("INSERT INTO api_tokens (token_hash, user_id, expires_at) "
                "VALUES ($1::bytea, $2::uuid, now() + $3::interval)"),
           {TokenHashParam(token), user.at("id").get<std::string>(),
            std::to_string(options.token_ttl.count()) + " hours"});
  });
  return JsonResponse(201, json{{"user", user}, {"token", token}});
}

HttpResponse Api::Impl::Login(Ctx& ctx) {
  const json body = ParseBody(ctx, options.max_json_depth);
  std::string email, password, unused;
  CheckCredentials(body, false, &email, &password, &unused);
  const std::string email_key = Lower(email);
  const bool address_ok = login_per_address.Allow(ctx.http.remote_address);
  if (!address_ok || !login_per_email.Allow(email_key)) {
    HttpError e = HttpError::Detail(429, "too many sign-in attempts; retry later");
    e.headers.emplace_back(
        "Retry-After",
        std::to_string(address_ok ? login_per_email.RetryAfter(email_key)
                                  : login_per_address.RetryAfter(ctx.http.remote_address)));
    throw e;
  }
  std::optional<std::string> hash;
  json user;
  db.Read([&](Session& s) {
    const pqxx::result r = s.Exec(Stmt("SELECT " + UserColumns() +
                                       ", u.password_hash FROM users u WHERE lower(u.email) = "
                                       "lower($1)"),
                                  {email});
    if (!r.empty()) {
      user = UserJson(r[0], 0);
      hash = r[0][5].c_str();
    }
  });
  // Verify outside any transaction: no pooled connection waits on argon2.
  if (!hasher.Verify(hash ? &*hash : nullptr, password)) {
    throw HttpError::Detail(401, "wrong email or password");
  }
  login_per_email.Reset(email_key);
  const std::string token = NewToken();
  db.Write([&](Session& s) {
    s.Exec(Stmt("INSERT INTO api_tokens (token_hash, user_id, expires_at, last_used_at) "
                "VALUES ($1::bytea, $2::uuid, now() + $3::interval, now())"),
           {TokenHashParam(token), user.at("id").get<std::string>(),
            std::to_string(options.token_ttl.count()) + " hours"});
  });
  return JsonResponse(200, json{{"user", user}, {"token", token}});
}

HttpResponse Api::Impl::Logout(Ctx& ctx) {
  return WriteAuthed(ctx, [&](Session& s) {
    s.Exec(Stmt("DELETE FROM api_tokens WHERE token_hash = $1::bytea"), {ctx.token_hash});
    HttpResponse r;
    r.status = 204;
    return r;
  });
}

HttpResponse Api::Impl::GetMe(Ctx& ctx) {
  return ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result r = s.Exec(
        Stmt("SELECT " + UserColumns() + " FROM users u WHERE u.id = $1::uuid"), {ctx.user_id});
    if (r.empty()) throw HttpError::Detail(401, "account no longer exists");
    return JsonResponse(200, UserJson(r[0], 0));
  });
}

HttpResponse Api::Impl::PatchMe(Ctx& ctx) {
  const json body = ParseBody(ctx, options.max_json_depth);
  const core::TableSpec& spec = core::Spec(core::Entity::kUser);
  std::vector<core::FieldError> errors = core::ValidateWrite(spec, body, core::WriteKind::kPatch);
  if (!errors.empty()) throw HttpError::Fields(errors);
  return WriteAuthed(ctx, [&](Session& s) {
    const bool set_name = body.contains("name"), set_settings = body.contains("settings");
    const pqxx::result r =
        s.Exec(Stmt("UPDATE users u SET name = CASE WHEN $2::boolean THEN $3 ELSE u.name END, "
                    "settings = CASE WHEN $4::boolean THEN $5::jsonb ELSE u.settings END "
                    "WHERE u.id = $1::uuid RETURNING " +
                    UserColumns()),
               {ctx.user_id, set_name ? "true" : "false",
                set_name ? Param(body.at("name").get<std::string>()) : Param("x"),
                set_settings ? "true" : "false",
                set_settings ? Param(body.at("settings").dump()) : Param("{}")});
    if (r.empty()) throw HttpError::Detail(401, "account no longer exists");
    return JsonResponse(200, UserJson(r[0], 0));
  });
}

// ---------------------------------------------------------------- catalog

void Api::Impl::EnsureCatalog() {
  std::lock_guard<std::mutex> lock(catalog_mu);
  if (catalog_loaded) return;
  json cats = json::array(), brs = json::array(), its = json::array();
  db.Read([&](Session& s) {
    const core::TableSpec& cs = core::Spec(core::Entity::kGearCategory);
    const core::TableSpec& bs = core::Spec(core::Entity::kGearBrand);
    const core::TableSpec& is = core::Spec(core::Entity::kGearCatalogItem);
    for (const auto& r : s.Exec(Stmt("SELECT " + ColumnList(cs, "t") +
                                     " FROM gear_categories t ORDER BY t.name, t.id"))) {
      cats.push_back(RowJson(cs, r, 0));
    }
    for (const auto& r : s.Exec(
             Stmt("SELECT " + ColumnList(bs, "t") + " FROM gear_brands t ORDER BY t.name, t.id"))) {
      brs.push_back(RowJson(bs, r, 0));
    }
    for (const auto& r : s.Exec(Stmt("SELECT " + ColumnList(is, "t") +
                                     " FROM gear_catalog t ORDER BY t.name, t.id"))) {
      its.push_back(RowJson(is, r, 0));
    }
  });
  catalog_categories = std::move(cats);
  catalog_brands = std::move(brs);
  catalog_items = std::move(its);
  catalog_loaded = true;
}

namespace {

HttpResponse PageOf(const json& all, const Page& page) {
  json out = json::array();
  const long long total = static_cast<long long>(all.size());
  for (long long i = page.skip; i < total && i < page.skip + page.limit; ++i) out.push_back(all[i]);
  return JsonResponse(
      200, Envelope(std::move(out), total, page, page.skip + page.limit < total, std::nullopt));
}

Page OffsetOnly(const Ctx& ctx) {
  Page page = ParsePage(ctx);
  if (page.cursor) {
    throw HttpError::Field({"query", "cursor"}, "the catalog pages by skip/limit", "cursor");
  }
  return page;
}

std::optional<std::string> UuidFilter(const Ctx& ctx, const std::string& key) {
  std::optional<std::string> v = ctx.Query(key);
  if (!v) return std::nullopt;
  return RequireUuid(*v, {"query", key});
}

}  // namespace

HttpResponse Api::Impl::CatalogCategories(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  EnsureCatalog();
  return PageOf(catalog_categories, page);
}

HttpResponse Api::Impl::CatalogBrands(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  const std::optional<std::string> category = UuidFilter(ctx, "category_id");
  ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  EnsureCatalog();
  if (!category) return PageOf(catalog_brands, page);
  std::set<std::string> in_category;
  for (const json& item : catalog_items) {
    if (item.at("category_id") == *category) in_category.insert(item.at("brand_id"));
  }
  json filtered = json::array();
  for (const json& b : catalog_brands) {
    if (in_category.count(b.at("id").get<std::string>())) filtered.push_back(b);
  }
  return PageOf(filtered, page);
}

HttpResponse Api::Impl::CatalogItems(Ctx& ctx) {
  const Page page = OffsetOnly(ctx);
  const std::optional<std::string> category = UuidFilter(ctx, "category_id");
  const std::optional<std::string> brand = UuidFilter(ctx, "brand_id");
  ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  EnsureCatalog();
  if (!category && !brand) return PageOf(catalog_items, page);
  json filtered = json::array();
  for (const json& item : catalog_items) {
    if (category && item.at("category_id") != *category) continue;
    if (brand && item.at("brand_id") != *brand) continue;
    filtered.push_back(item);
  }
  return PageOf(filtered, page);
}

HttpResponse Api::Impl::CatalogItem(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  ReadAuthed(ctx, [](Session&) { return HttpResponse(); });
  EnsureCatalog();
  for (const json& item : catalog_items) {
    if (item.at("id") == id) return JsonResponse(200, item);
  }
  throw HttpError::Detail(404, "not found");
}

// ---------------------------------------------------------------- bulk

HttpResponse Api::Impl::BulkInitial(Ctx& ctx) {
  EnsureCatalog();
  return ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result u = s.Exec(
        Stmt("SELECT " + UserColumns() + " FROM users u WHERE u.id = $1::uuid"), {ctx.user_id});
    if (u.empty()) throw HttpError::Detail(401, "account no longer exists");
    Page page;
    page.limit = 1000;
    bool found = false;
    const PageText inventory =
        ResourcePage(s, Resource("inventory"), ctx.user_id, ctx.user_id, {}, page, &found);
    return TextResponse(
        200, "{\"user\":" + UserJson(u[0], 0).dump() +
                 ",\"projects\":" + ProjectsPage(s, ctx.user_id, page).dump() +
                 ",\"inventory\":" + EnvelopeText(inventory, page) + ",\"catalog\":" +
                 json{{"categories", catalog_categories}, {"brands", catalog_brands}}.dump() + "}");
  });
}

HttpResponse Api::Impl::BulkProject(Ctx& ctx) {
  const std::string id = RequireUuid(ctx.path.at(0), {"path", "id"});
  return ReadAuthed(ctx, [&](Session& s) {
    const core::TableSpec& ps = core::Spec(core::Entity::kProject);
    const pqxx::result p = s.Exec(
        Stmt("SELECT m.role, " + ColumnList(ps, "t") +
             " FROM projects t JOIN project_members m ON m.project_id = t.id AND m.user_id = "
             "$2::uuid WHERE t.id = $1::uuid"),
        {id, ctx.user_id});
    if (p.empty()) throw HttpError::Detail(404, "not found");
    Page page;
    page.limit = 1000;
    std::string out = "{\"project\":" + RowText(ps, p[0], 1) + ",\"role\":";
    core::AppendJsonString(p[0][0].c_str(), &out);
    out += ",\"members\":" + writes.Members(s, id).dump();
    for (const char* name : {"shots", "notes", "postprod"}) {
      bool found = false;
      out += std::string(",\"") + name + "\":" +
             EnvelopeText(ResourcePage(s, Resource(name), id, ctx.user_id, {}, page, &found), page);
    }
    return TextResponse(200, out + "}");
  });
}

// ---------------------------------------------------------------- operations

HttpResponse Api::Impl::Health(Ctx&) {
  try {
    db.Read([&](Session& s) { s.Exec(Stmt("SELECT 1")); });
    return JsonResponse(200, json{{"status", "ok"}, {"database", "ok"}});
  } catch (const Error&) {
    return JsonResponse(503, json{{"status", "unavailable"}, {"database", "unreachable"}});
  }
}

// Loopback only: the pool's state is for operators (a sidecar, a port-forward,
// the admin tool on the host), and the model has no admin role to check.
HttpResponse Api::Impl::PoolStatus(Ctx& ctx) {
  if (!IsLoopback(ctx.http.remote_address)) throw HttpError::Detail(404, "not found");
  const server::PoolStatus st = db.pool().Status();
  return JsonResponse(200,
                      json{{"size", st.size},
                           {"checked_in", st.checked_in},
                           {"checked_out", st.checked_out},
                           {"overflow", st.overflow},
                           {"max_overflow", db.pool().options().max_overflow},
                           {"waiters", st.waiters},
                           {"opened", st.opened},
                           {"invalidated", st.invalidated},
                           {"timeouts", st.timeouts},
                           {"open_http_connections", open_connections ? open_connections() : 0}});
}

HttpResponse Api::Impl::MetricsText(Ctx&) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics.RenderPrometheus();
  return r;
}

// ---------------------------------------------------------------- routes

void Api::Impl::RegisterRoutes() {
  AddMethodRoute("POST", "/api/auth/register", &Impl::Register,
                 "Create an account; returns {user, token}");
  AddMethodRoute("POST", "/api/auth/login", &Impl::Login, "Sign in; returns {user, token}");
  AddMethodRoute("POST", "/api/auth/logout", &Impl::Logout, "Revoke the presented token");
  AddMethodRoute("GET", "/api/users/me", &Impl::GetMe, "The signed-in user's profile");
  AddMethodRoute("PATCH", "/api/users/me", &Impl::PatchMe, "Change name or settings");
  AddMethodRoute("GET", "/api/catalog/categories", &Impl::CatalogCategories, "Gear categories");
  AddMethodRoute("GET", "/api/catalog/brands", &Impl::CatalogBrands,
                 "Gear brands (filter: category_id)");
  AddMethodRoute("GET", "/api/catalog/items", &Impl::CatalogItems,
                 "Catalog items (filters: category_id, brand_id)");
  AddMethodRoute("GET", "/api/catalog/items/{id}", &Impl::CatalogItem, "One catalog item");
  AddMethodRoute("GET", "/api/bulk/initial", &Impl::BulkInitial,
                 "User, projects, inventory and catalog in one response");
  AddMethodRoute("GET", "/api/bulk/project/{id}", &Impl::BulkProject,
                 "A project with its members, shots, notes and tasks");
  AddMethodRoute("POST", "/api/sync/push", &Impl::SyncPush,
                 "Apply a client's mutations, each at most once (docs/sync-protocol.md)");
  AddMethodRoute("GET", "/api/sync/pull", &Impl::SyncPull,
                 "Changes after a cursor, in the one total order; ?wait=S long-polls "
                 "(docs/sync-protocol.md)");
  AddMethodRoute("GET", "/api/sync/snapshot", &Impl::SyncSnapshot,
                 "Every row the user can read, in pages, with the cursor to pull from after");
  AddMethodRoute("GET", "/api/sync/digest", &Impl::SyncDigest,
                 "Order-independent digest of each synced table in the user's scope");
  AddMethodRoute("GET", "/health", &Impl::Health, "Liveness and database check");
  AddMethodRoute("GET", "/admin/pool-status", &Impl::PoolStatus,
                 "Connection pool state (loopback only)");
  AddMethodRoute("GET", "/metrics", &Impl::MetricsText, "Prometheus metrics");
  AddRoute(
      "GET", "/openapi.json", [](Impl& impl, Ctx&) { return JsonResponse(200, impl.OpenApi()); },
      "This API described (OpenAPI 3.0)");
}

// ---------------------------------------------------------------- Api

Api::Api(ApiOptions options, Db& db, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), db, metrics)) {
  impl_->handle_again = [this](const HttpRequest& request) { return Handle(request); };
}

Api::~Api() = default;

void Api::SetConnectionGauge(std::function<int()> open_connections) {
  impl_->open_connections = std::move(open_connections);
}

std::string Api::OpenApiJson() const { return impl_->OpenApi().dump(); }

HttpResponse Api::Handle(const HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  HttpResponse response;
  try {
    if (request.received_at.time_since_epoch().count() != 0 &&
        start - request.received_at > impl_->options.queue_timeout) {
      throw Error(ErrorCode::kUnavailable, "server busy; retry shortly");
    }
    response = impl_->Dispatch(request, &route);
  } catch (const HttpError& e) {
    response = JsonResponse(e.status(), e.body());
    response.headers = e.headers;
  } catch (const Error& e) {
    const int status = HttpStatusFor(e.code());
    if (status >= 500 && e.code() != ErrorCode::kUnavailable &&
        e.code() != ErrorCode::kDeadlineExceeded && e.code() != ErrorCode::kAborted) {
      response = JsonResponse(status, json{{"detail", "internal server error"}});
    } else if (status == 422) {
      response = JsonResponse(422, json{{"detail", json::array({{{"loc", json::array({"body"})},
                                                                 {"msg", e.what()},
                                                                 {"type", "value"}}})}});
    } else {
      response = JsonResponse(status, json{{"detail", e.what()}});
    }
    if (status == 503) response.headers.emplace_back("Retry-After", "1");
  } catch (const std::exception& e) {
    impl_->options.logger->Log(LogLevel::kError, "http", "unhandled error",
                               {{"request_id", request.request_id}, {"error", e.what()}});
    response = JsonResponse(500, json{{"detail", "internal server error"}});
  }
  if (!impl_->options.cors_origin.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", impl_->options.cors_origin);
    response.headers.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, X-Request-Time");
  }
  if (response.defer) return response;  // parked: counted and logged when it answers
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl_->metrics.RecordRequest(request.method, route, response.status, seconds);
  Logger& log = *impl_->options.logger;
  const bool slow = seconds * 1000 >= impl_->options.slow_request.count();
  const LogLevel level = slow ? LogLevel::kWarning : LogLevel::kInfo;
  if (log.Enabled(level)) {
    log.Log(level, "http", slow ? "slow request" : "request",
            {{"request_id", request.request_id},
             {"method", request.method},
             {"route", route},
             {"status", response.status},
             {"duration_ms", seconds * 1000},
             {"remote", request.remote_address}});
  }
  return response;
}

}  // namespace vemakin::server
