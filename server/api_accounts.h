// The account routes of the API: registration, sign-in and sign-out (bearer
// tokens, server/auth.h), signing out everywhere, the signed-in user's own
// profile and password change. Passwords are hashed and verified outside any
// transaction, so no pooled connection waits on argon2; sign-in and
// registration attempts are rate-limited per address and per (email,
// address), wrong current passwords per account. Sign-ins purge a bounded
// batch of expired tokens (server/token_purge.h).
#ifndef VEMAKIN_SERVER_API_ACCOUNTS_H_
#define VEMAKIN_SERVER_API_ACCOUNTS_H_

#include <chrono>

#include "server/api_context.h"
#include "server/api_router.h"
#include "server/auth.h"

namespace vemakin::server {

// Thread-safe (the hasher and the rate limiters lock; the rest is the
// ApiContext's).
class AccountsApi {
 public:
  // `api` must outlive the AccountsApi.
  explicit AccountsApi(ApiContext& api);
  AccountsApi(const AccountsApi&) = delete;
  AccountsApi& operator=(const AccountsApi&) = delete;

  // /api/auth/{register,login,logout,logout-all}, /api/users/me[/password].
  void RegisterRoutes(Router& router);

 private:
  HttpResponse Register(Ctx& ctx);
  HttpResponse Login(Ctx& ctx);
  HttpResponse Logout(Ctx& ctx);
  HttpResponse GetMe(Ctx& ctx);
  HttpResponse PatchMe(Ctx& ctx);
  HttpResponse ChangePassword(Ctx& ctx);
  HttpResponse LogoutAll(Ctx& ctx);
  // Deletes a bounded batch of expired tokens (server/token_purge.h).
  void PurgeSome(Session& s);

  ApiContext& api_;
  PasswordHasher hasher_;
  // Wrong passwords per (email, client address): a stranger elsewhere
  // cannot lock the owner out by failing on purpose. 10 per 15 minutes, then
  // windows of 30, 60, ... minutes (up to a day) while the failures go on.
  RateLimiter login_failures_{10, std::chrono::seconds(900), std::chrono::seconds(86400)};
  // The same per (email, ClientKey): an IPv6 host's /64 as one.
  RateLimiter login_failures_per_network_{50, std::chrono::seconds(900),
                                          std::chrono::seconds(86400)};
  RateLimiter login_per_address_{60, std::chrono::seconds(60)};
  RateLimiter register_per_address_{30, std::chrono::seconds(3600)};
  // Password changes per account, whatever their outcome (each costs two
  // argon2 runs), and wrong current passwords (with the login's backoff).
  RateLimiter password_changes_{20, std::chrono::seconds(3600)};
  RateLimiter password_failures_{10, std::chrono::seconds(900), std::chrono::seconds(86400)};
};

// The account of `user_id` as JSON (GET /api/users/me, the bulk reads);
// throws HttpError 401 when it no longer exists.
json SignedInUser(ApiContext& api, Session& s, const std::string& user_id);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_ACCOUNTS_H_
