// The account routes (api_accounts.h): credentials checked field by field,
// argon2id hashing outside transactions, tokens stored only as hashes.
#include "server/api_accounts.h"

#include <cctype>

#include "core/uuid.h"
#include "server/rows.h"
#include "server/sql_builder.h"
#include "server/token_purge.h"

namespace vemakin::server {
namespace {

json UserJson(const pqxx::row& r, int offset) {
  return RowJson(core::Spec(core::Entity::kUser), r, offset);
}

// The account's columns (alias u), in the model's order.
const std::string& UserColumns() {
  static const std::string columns = ColumnList(core::Spec(core::Entity::kUser), "u");
  return columns;
}

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

AccountsApi::AccountsApi(ApiContext& api)
    : api_(api),
      hasher_(api.options().max_concurrent_hashes, 2 * api.options().max_concurrent_hashes,
              std::chrono::seconds(5)) {}

json SignedInUser(ApiContext& api, Session& s, const std::string& user_id) {
  const pqxx::result r = s.Exec(
      api.Stmt("SELECT " + UserColumns() + " FROM users u WHERE u.id = $1::uuid"), {user_id});
  if (r.empty()) throw HttpError::Detail(401, "account no longer exists");
  return UserJson(r[0], 0);
}

HttpResponse AccountsApi::Register(Ctx& ctx) {
  const std::string client = ClientKey(ctx.http.remote_address);
  if (!register_per_address_.Allow(client)) {
    throw HttpError::TooMany("too many registrations from this address; retry later",
                             register_per_address_.RetryAfter(client));
  }
  const json body = api_.ParseBody(ctx);
  std::string email, password, name;
  CheckCredentials(body, true, &email, &password, &name);
  const std::string hash = hasher_.Hash(password);  // before the transaction: no connection held
  const std::string token = NewToken();
  json user;
  api_.db().Write([&](Session& s) {
    const pqxx::result r =
        s.Exec(api_.Stmt("INSERT INTO users AS u (id, email, name, password_hash) "
                         "VALUES ($1::uuid, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING " +
                         UserColumns()),
               {core::NewUuid(), email, name, hash});
    if (r.empty()) throw HttpError::Detail(409, "an account with this email already exists");
    user = UserJson(r[0], 0);
    s.Exec(api_.Stmt("INSERT INTO api_tokens (token_hash, user_id, expires_at) "
                     "VALUES ($1::bytea, $2::uuid, now() + $3::interval)"),
           {TokenHashParam(token), user.at("id").get<std::string>(),
            std::to_string(api_.options().token_ttl.count()) + " hours"});
    PurgeSome(s);
  });
  return JsonResponse(201, json{{"user", user}, {"token", token}});
}

HttpResponse AccountsApi::Login(Ctx& ctx) {
  const json body = api_.ParseBody(ctx);
  std::string email, password, unused;
  CheckCredentials(body, false, &email, &password, &unused);
  // Wrong passwords are counted per email *and* address: only the address
  // that keeps failing is held off (for longer each time it fails again),
  // never the owner signing in from elsewhere, and a right password resets
  // its count. An attempt is reserved before the check, so guesses in flight
  // at once cannot exceed the budget either.
  // The exact address keys the failures (neighbours sharing an IPv6 /64 or
  // a NAT cannot push the owner into a day-long backoff), with a looser
  // backstop per /64 so one host cannot rotate through its 2^64 addresses.
  const std::string client = ClientKey(ctx.http.remote_address);
  const std::string failure_key = Lower(email) + "\n" + ctx.http.remote_address;
  const std::string network_key = Lower(email) + "\n" + client;
  if (!login_per_address_.Allow(client)) {
    throw HttpError::TooMany("too many sign-in attempts; retry later",
                             login_per_address_.RetryAfter(client));
  }
  RateLimiter::Reservation attempt = login_failures_.TryReserve(failure_key);
  if (!attempt) {
    throw HttpError::TooMany("too many sign-in attempts; retry later",
                             login_failures_.RetryAfter(failure_key));
  }
  RateLimiter::Reservation network_attempt = login_failures_per_network_.TryReserve(network_key);
  if (!network_attempt) {
    throw HttpError::TooMany("too many sign-in attempts; retry later",
                             login_failures_per_network_.RetryAfter(network_key));
  }
  std::optional<std::string> hash;
  json user;
  api_.db().Read([&](Session& s) {
    const pqxx::result r = s.Exec(api_.Stmt("SELECT " + UserColumns() +
                                            ", u.password_hash FROM users u WHERE lower(u.email) = "
                                            "lower($1)"),
                                  {email});
    if (!r.empty()) {
      user = UserJson(r[0], 0);
      hash = r[0][5].c_str();
    }
  });
  // Verify outside any transaction: no pooled connection waits on argon2.
  if (!hasher_.Verify(hash ? &*hash : nullptr, password)) {
    attempt.Keep();
    network_attempt.Keep();
    throw HttpError::Detail(401, "wrong email or password");
  }
  login_failures_.Reset(failure_key);
  login_failures_per_network_.Reset(network_key);
  const std::string token = NewToken();
  api_.db().Write([&](Session& s) {
    // Only while the verified hash is still the account's: a password change
    // that committed since (its other tokens revoked) must not be outlived
    // by a sign-in with the old password. FOR SHARE orders the two: a change
    // in progress is waited for and then seen; one that starts after waits
    // for this token and then revokes it.
    const pqxx::result r =
        s.Exec(api_.Stmt("INSERT INTO api_tokens (token_hash, user_id, expires_at, last_used_at) "
                         "SELECT $1::bytea, u.id, now() + $3::interval, now() FROM users u "
                         "WHERE u.id = $2::uuid AND u.password_hash = $4 FOR SHARE"),
               {TokenHashParam(token), user.at("id").get<std::string>(),
                std::to_string(api_.options().token_ttl.count()) + " hours", *hash});
    if (r.affected_rows() == 0) throw HttpError::Detail(401, "wrong email or password");
    PurgeSome(s);
  });
  return JsonResponse(200, json{{"user", user}, {"token", token}});
}

void AccountsApi::PurgeSome(Session& s) {
  s.Exec(api_.Stmt(kPurgeExpiredTokensSql), {std::to_string(kPurgeBatchPerSignIn)});
}

HttpResponse AccountsApi::ChangePassword(Ctx& ctx) {
  const json body = api_.ParseBody(ctx);
  if (!body.is_object()) throw HttpError::Field({"body"}, "must be a JSON object", "type");
  std::vector<core::FieldError> errors;
  std::string current, next;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"current_password", &current},
                          {"new_password", &next}}) {
    auto it = body.find(key);
    if (it == body.end()) {
      errors.push_back({{"body", key}, "field required", "missing"});
    } else if (!it->is_string()) {
      errors.push_back({{"body", key}, "must be a string", "type"});
    } else {
      *out = it->get<std::string>();
      if (out->find('\0') != std::string::npos) {
        errors.push_back({{"body", key}, "must not contain NUL characters", "nul"});
      } else if (out == &next && (next.size() < 8 || next.size() > 1024)) {
        errors.push_back({{"body", key}, "must be 8 to 1024 characters", "value"});
      }
    }
  }
  if (errors.empty() && current == next) {
    errors.push_back(
        {{"body", "new_password"}, "must differ from the current password", "unchanged"});
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "current_password" && it.key() != "new_password") {
      errors.push_back(
          {{"body", it.key()}, "is not a field of a password change", "unknown_field"});
    }
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
  // Who is asking, and the hash to check against (no connection is held
  // while argon2 runs).
  std::string stored;
  api_.db().Read([&](Session& s) {
    api_.Authenticate(s, ctx);
    const pqxx::result r =
        s.Exec(api_.Stmt("SELECT password_hash FROM users WHERE id = $1::uuid"), {ctx.user_id});
    if (r.empty()) throw HttpError::Detail(401, "account no longer exists");
    stored = r[0][0].c_str();
  });
  // Only a holder of one of the account's tokens gets here, so the counts
  // are per account (whatever addresses a stolen token is used from): every
  // change costs two argon2 runs, so changes are limited whatever their
  // outcome, wrong current passwords more tightly (reserved before the
  // check). The owner is never locked out of signing in by either, and
  // logout-all needs no password.
  RateLimiter::Reservation change = password_changes_.TryReserve(ctx.user_id);
  if (!change) {
    throw HttpError::TooMany("too many password changes; retry later",
                             password_changes_.RetryAfter(ctx.user_id));
  }
  RateLimiter::Reservation failure = password_failures_.TryReserve(ctx.user_id);
  if (!failure) {
    throw HttpError::TooMany("too many wrong current passwords; retry later",
                             password_failures_.RetryAfter(ctx.user_id));
  }
  const bool right = hasher_.Verify(&stored, current);
  change.Keep();  // argon2 ran: it counts, whatever follows
  if (!right) {
    failure.Keep();
    throw HttpError::Field({"body", "current_password"}, "is not the account's current password",
                           "credentials");
  }
  password_failures_.Reset(ctx.user_id);
  const std::string hash = hasher_.Hash(next);
  long long revoked = 0;
  api_.WriteAuthed(ctx, [&](Session& s) {
    // Only over the hash just verified: a concurrent change wins, this one
    // is refused rather than silently replacing it.
    const pqxx::result u = s.Exec(api_.Stmt("UPDATE users SET password_hash = $2 "
                                            "WHERE id = $1::uuid AND password_hash = $3"),
                                  {ctx.user_id, hash, stored});
    if (u.affected_rows() == 0) {
      throw HttpError::Detail(409, "the password was changed meanwhile; sign in again");
    }
    const pqxx::result r = s.Exec(api_.Stmt("DELETE FROM api_tokens WHERE user_id = $1::uuid "
                                            "AND token_hash <> $2::bytea"),
                                  {ctx.user_id, ctx.token_hash});
    revoked = static_cast<long long>(r.affected_rows());
    return HttpResponse();
  });
  return JsonResponse(200, json{{"revoked_tokens", revoked}});
}

HttpResponse AccountsApi::LogoutAll(Ctx& ctx) {
  return api_.WriteAuthed(ctx, [&](Session& s) {
    const pqxx::result r =
        s.Exec(api_.Stmt("DELETE FROM api_tokens WHERE user_id = $1::uuid"), {ctx.user_id});
    return JsonResponse(200, json{{"revoked_tokens", static_cast<long long>(r.affected_rows())}});
  });
}

HttpResponse AccountsApi::Logout(Ctx& ctx) {
  return api_.WriteAuthed(ctx, [&](Session& s) {
    s.Exec(api_.Stmt("DELETE FROM api_tokens WHERE token_hash = $1::bytea"), {ctx.token_hash});
    HttpResponse r;
    r.status = 204;
    return r;
  });
}

HttpResponse AccountsApi::GetMe(Ctx& ctx) {
  return api_.ReadAuthed(
      ctx, [&](Session& s) { return JsonResponse(200, SignedInUser(api_, s, ctx.user_id)); });
}

HttpResponse AccountsApi::PatchMe(Ctx& ctx) {
  const json body = api_.ParseBody(ctx);
  const core::TableSpec& spec = core::Spec(core::Entity::kUser);
  std::vector<core::FieldError> errors = core::ValidateWrite(spec, body, core::WriteKind::kPatch);
  if (!errors.empty()) throw HttpError::Fields(errors);
  return api_.WriteAuthed(ctx, [&](Session& s) {
    const bool set_name = body.contains("name"), set_settings = body.contains("settings");
    const pqxx::result r =
        s.Exec(api_.Stmt("UPDATE users u SET name = CASE WHEN $2::boolean THEN $3 ELSE u.name END, "
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

// ---------------------------------------------------------------- routes

void AccountsApi::RegisterRoutes(Router& router) {
  router.Add("POST", "/api/auth/register", this, &AccountsApi::Register,
             "Create an account; returns {user, token}");
  router.Add("POST", "/api/auth/login", this, &AccountsApi::Login,
             "Sign in; returns {user, token}");
  router.Add("POST", "/api/auth/logout", this, &AccountsApi::Logout, "Revoke the presented token");
  router.Add("POST", "/api/auth/logout-all", this, &AccountsApi::LogoutAll,
             "Sign out everywhere: revoke every token of the account, this one included");
  router.Add("GET", "/api/users/me", this, &AccountsApi::GetMe, "The signed-in user's profile");
  router.Add("PATCH", "/api/users/me", this, &AccountsApi::PatchMe, "Change name or settings");
  router.Add("POST", "/api/users/me/password", this, &AccountsApi::ChangePassword,
             "Change the password {current_password, new_password}; every other token of the "
             "account is revoked, the presented one stays valid");
}

}  // namespace vemakin::server
