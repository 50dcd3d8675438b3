// Issue 11 (part 3): abuse limits that do not hurt the owner, and account
// hygiene. Against a real server on a socket over a real PostgreSQL; other
// clients are other loopback addresses (127.0.0.x).
// - Registration and member-add were not (or not per account) rate limited,
//   and member-add told anyone who owns a project, at full speed, whether an
//   email has an account: now both are limited, emails without an account
//   tightly, and a spent budget answers every add the same way.
// - `skip` near 2^63 wrapped `skip + limit` (the catalog's has_more said true
//   past the end): now skip above core::kMaxSkip is 422.
// - Push idempotency records were keyed by (client_id, mutation_id) only:
//   another account sending the same ids was answered with the first one's
//   record and its mutation silently dropped.
// - No password change, no "sign out everywhere", and expired tokens stayed
//   in api_tokens forever.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

constexpr char kPassword[] = "correct horse battery";  // ApiClient::Register's

class Issue11Accounts : public ServerSuite {
 protected:
  // Rows of `sql` (one column) in the server's schema, one per line.
  static std::string Lines(const std::string& sql) {
    auto conn = server_->Connect();
    pqxx::nontransaction tx(*conn);
    std::string out;
    for (const auto& row : tx.exec(sql)) out += std::string(row[0].c_str()) + "\n";
    return out;
  }
  static void Exec(const std::string& sql) {
    auto conn = server_->Connect();
    pqxx::work tx(*conn);
    tx.exec(sql);
    tx.commit();
  }
};

// One request sent from `source`, read to the end: its status, the
// Retry-After header ("" when absent) and the JSON body.
struct Reply {
  int status = 0;
  std::string retry_after;
  json body;
  std::string raw;
};

Reply Send(int port, const char* source, const std::string& method, const std::string& target,
           const std::string& token = "", const json& body = nullptr) {
  const std::string text = body.is_null() ? "" : body.dump();
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.is_null()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(text.size()) + "\r\n\r\n" + text;
  Reply r;
  r.raw = RawExchange(port, request, 10000, source);
  if (r.raw.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::stoi(r.raw.substr(9, 3));
  const size_t end = r.raw.find("\r\n\r\n");
  const std::string head = r.raw.substr(0, end);
  if (const size_t at = head.find("\r\nRetry-After: "); at != std::string::npos) {
    const size_t from = at + 15;
    r.retry_after = head.substr(from, head.find("\r\n", from) - from);
  }
  if (end != std::string::npos) r.body = json::parse(r.raw.substr(end + 4), nullptr, false);
  return r;
}

// `value` for a query string ('+' and ' ' escaped, as a browser would).
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) out += c == '+' ? "%2B" : c == ' ' ? "%20" : std::string(1, c);
  return out;
}

std::string NewEmail(const std::string& who) {
  return who + "-" + RandomUuid().substr(0, 8) + "@example.com";
}

// A 429 as the API promises it: a JSON detail, and Retry-After in seconds
// that the body repeats.
void ExpectRateLimited(const Reply& r) {
  EXPECT_EQ(r.status, 429) << r.raw;
  EXPECT_TRUE(r.body.is_object() && r.body.value("detail", json()).is_string()) << r.raw;
  ASSERT_FALSE(r.retry_after.empty()) << r.raw;
  EXPECT_GE(std::stoi(r.retry_after), 1);
  EXPECT_EQ(r.body.value("retry_after", 0), std::stoi(r.retry_after)) << r.raw;
}

// ------------------------------------------------------------ rate limits

TEST_F(Issue11Accounts, RegistrationsFromOneAddressAreLimited) {
  for (int i = 0; i < 30; ++i) {
    const Reply r = Send(port(), "127.0.0.3", "POST", "/api/auth/register", "",
                         {{"email", NewEmail("reg")}, {"password", kPassword}, {"name", "R"}});
    ASSERT_EQ(r.status, 201) << i << " " << r.raw;
  }
  const std::string email = NewEmail("reg-31st");
  ExpectRateLimited(Send(port(), "127.0.0.3", "POST", "/api/auth/register", "",
                         {{"email", email}, {"password", kPassword}, {"name", "R"}}));
  EXPECT_EQ(Lines("SELECT count(*) FROM users WHERE email = '" + email + "'"), "0\n");
  // Someone else, elsewhere, registers as usual.
  const Reply elsewhere =
      Send(port(), "127.0.0.13", "POST", "/api/auth/register", "",
           {{"email", NewEmail("elsewhere")}, {"password", kPassword}, {"name", "E"}});
  EXPECT_EQ(elsewhere.status, 201) << elsewhere.raw;
}

// The issue's oracle: a project owner learning, email by email and at full
// speed, which addresses have an account.
TEST_F(Issue11Accounts, MemberAddCannotBeUsedAsAnAccountOracle) {
  ApiClient prober(port());
  prober.Register();
  ApiClient victim(port());
  victim.Register();
  const std::string project = prober.Post("/api/projects", {{"name", "Bait"}}).body.at("id");
  const std::string members = "/api/projects/" + project + "/members";
  // The owner gets a clear answer for a mistyped email...
  for (int i = 0; i < 10; ++i) {
    const Reply r = Send(port(), "127.0.0.4", "POST", members, prober.token,
                         {{"email", NewEmail("nobody")}, {"role", "viewer"}});
    ASSERT_EQ(r.status, 404) << i << " " << r.raw;
    EXPECT_NE(r.raw.find("no account with this email"), std::string::npos) << r.raw;
  }
  // ...ten times an hour. Then every add answers alike, whether or not the
  // email has an account: nothing more is learnt.
  const Reply unknown = Send(port(), "127.0.0.4", "POST", members, prober.token,
                             {{"email", NewEmail("nobody")}, {"role", "viewer"}});
  const Reply known = Send(port(), "127.0.0.4", "POST", members, prober.token,
                           {{"email", victim.email}, {"role", "viewer"}});
  ExpectRateLimited(unknown);
  ExpectRateLimited(known);
  EXPECT_EQ(unknown.body.at("detail"), known.body.at("detail"));
  EXPECT_EQ(prober.Get(members).body.at("total"), 1);  // the victim was not added
  // Another address does not reset the account's budget...
  ExpectRateLimited(Send(port(), "127.0.0.14", "POST", members, prober.token,
                         {{"email", victim.email}, {"role", "viewer"}}));
  // One account's spent budget does not stop a neighbour behind the same
  // address (an office, a NAT, a film set's uplink)...
  ApiClient neighbour(port());
  neighbour.Register();
  const std::string other = neighbour.Post("/api/projects", {{"name", "B2"}}).body.at("id");
  const Reply next_door = Send(port(), "127.0.0.4", "POST", "/api/projects/" + other + "/members",
                               neighbour.token, {{"email", victim.email}, {"role", "viewer"}});
  EXPECT_EQ(next_door.status, 201) << next_door.raw;
  // ...and a real owner elsewhere adds the same person as usual.
  ApiClient owner(port());
  owner.Register();
  const std::string real = owner.Post("/api/projects", {{"name", "Feature"}}).body.at("id");
  const Resp added = owner.Post("/api/projects/" + real + "/members",
                                {{"email", victim.email}, {"role", "editor"}});
  EXPECT_EQ(added.status, 201) << added.raw;
}

// A prober with many accounts behind one address: past the address's
// backstop (30 emails without an account an hour), every add from there
// answers alike.
TEST_F(Issue11Accounts, ManyAccountsAtOneAddressShareABackstopOfUnknownEmails) {
  ApiClient victim(port());
  victim.Register();
  std::vector<std::unique_ptr<ApiClient>> probers;
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    probers.push_back(std::make_unique<ApiClient>(port()));
    probers.back()->Register();
    paths.push_back(
        "/api/projects/" +
        probers.back()->Post("/api/projects", {{"name", "P"}}).body.at("id").get<std::string>() +
        "/members");
  }
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < 10; ++i) {
      const Reply r = Send(port(), "127.0.0.21", "POST", paths[p], probers[p]->token,
                           {{"email", NewEmail("nobody")}, {"role", "viewer"}});
      ASSERT_EQ(r.status, 404) << p << " " << i << " " << r.raw;
    }
  }
  const Reply unknown = Send(port(), "127.0.0.21", "POST", paths[3], probers[3]->token,
                             {{"email", NewEmail("nobody")}, {"role", "viewer"}});
  const Reply known = Send(port(), "127.0.0.21", "POST", paths[3], probers[3]->token,
                           {{"email", victim.email}, {"role", "viewer"}});
  ExpectRateLimited(unknown);
  ExpectRateLimited(known);
  EXPECT_EQ(unknown.body.at("detail"), known.body.at("detail"));
  EXPECT_NE(known.raw.find("from this address"), std::string::npos) << known.raw;
}

// Requests that are not signed in spend nothing: a stranger cannot use up
// an address's member-add budget with 401s.
TEST_F(Issue11Accounts, UnauthenticatedMemberAddsSpendNoBudget) {
  ApiClient owner(port());
  owner.Register();
  ApiClient crew(port());
  crew.Register();
  const std::string path =
      "/api/projects/" +
      owner.Post("/api/projects", {{"name", "P"}}).body.at("id").get<std::string>() + "/members";
  for (int i = 0; i < 250; ++i) {
    const Reply r = Send(port(), "127.0.0.22", "POST", path, i % 2 ? "not-a-token" : "",
                         {{"email", NewEmail("nobody")}, {"role", "viewer"}});
    ASSERT_EQ(r.status, 401) << i << " " << r.raw;
  }
  const Reply mine = Send(port(), "127.0.0.22", "POST", path, owner.token,
                          {{"email", crew.email}, {"role", "viewer"}});
  EXPECT_EQ(mine.status, 201) << mine.raw;
}

TEST_F(Issue11Accounts, MemberAddsAreLimitedPerAccountAndPerAddress) {
  ApiClient crew(port());
  crew.Register();
  std::vector<std::unique_ptr<ApiClient>> owners;
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) {
    owners.push_back(std::make_unique<ApiClient>(port()));
    owners.back()->Register();
    paths.push_back(
        "/api/projects/" +
        owners.back()->Post("/api/projects", {{"name", "P"}}).body.at("id").get<std::string>() +
        "/members");
  }
  auto add = [&](int owner, int i) {
    return Send(port(), "127.0.0.6", "POST", paths[owner], owners[owner]->token,
                {{"email", crew.email}, {"role", i % 2 ? "editor" : "viewer"}});
  };
  for (int i = 0; i < 100; ++i) ASSERT_LT(add(0, i).status, 300) << i;
  const Reply per_account = add(0, 100);
  ExpectRateLimited(per_account);
  EXPECT_NE(per_account.raw.find("by this account"), std::string::npos) << per_account.raw;
  // Another account at the same address still has its own, up to the
  // address's 200 attempts (the refused one above did not count there).
  for (int i = 0; i < 100; ++i) ASSERT_LT(add(1, i).status, 300) << i;
  const Reply per_address = add(2, 0);
  ExpectRateLimited(per_address);
  EXPECT_NE(per_address.raw.find("from this address"), std::string::npos) << per_address.raw;
  // From its own address, that account adds as usual.
  const Resp mine = owners[2]->Post(paths[2], {{"email", crew.email}, {"role", "viewer"}});
  EXPECT_EQ(mine.status, 201) << mine.raw;
}

// ------------------------------------------------------------ paging

TEST_F(Issue11Accounts, HugeSkipValuesAreRefusedNeverWrapped) {
  ApiClient a(port());
  a.Register();
  const std::string project = a.Post("/api/projects", {{"name", "P"}}).body.at("id");
  for (const std::string& list :
       std::vector<std::string>{"/api/projects?", "/api/shots?project_id=" + project + "&",
                                "/api/catalog/items?", "/api/inventory?"}) {
    for (const char* skip : {"9223372036854775807", "9223372036854775808", "99999999999999999999",
                             "1e30", "1000000001", "-1", "+5", " 5", "0x10", ""}) {
      const Resp r = a.Get(list + "skip=" + Escape(skip) + "&limit=1000");
      EXPECT_EQ(r.status, 422) << list << skip << " " << r.raw;
      ASSERT_TRUE(r.body.is_object() && r.body.at("detail").is_array()) << r.raw;
      EXPECT_EQ(r.body.at("detail")[0].at("loc"), json::array({"query", "skip"})) << r.raw;
    }
    // The deepest accepted page is past the end, and says so.
    const Resp deepest = a.Get(list + "skip=1000000000&limit=1000");
    ASSERT_EQ(deepest.status, 200) << list << " " << deepest.raw;
    EXPECT_EQ(deepest.body.at("items"), json::array()) << list;
    EXPECT_EQ(deepest.body.at("has_more"), false) << list;
    // A huge limit is capped, as documented.
    const Resp capped = a.Get(list + "limit=99999999999999999999");
    ASSERT_EQ(capped.status, 200) << list << " " << capped.raw;
    EXPECT_EQ(capped.body.at("limit"), 1000) << list;
  }
}

// ------------------------------------------------------------ push records

TEST_F(Issue11Accounts, PushRecordsOfOneAccountAreInvisibleToAnother) {
  ApiClient first(port()), second(port());
  first.Register();
  second.Register();
  const std::string client_id = RandomUuid(), mutation_id = RandomUuid();
  auto push = [&](ApiClient& who, const std::string& project, const std::string& name) {
    return who.Post("/api/sync/push",
                    {{"client_id", client_id},
                     {"mutations", json::array({{{"mutation_id", mutation_id},
                                                 {"table", "projects"},
                                                 {"op", "create"},
                                                 {"id", project},
                                                 {"fields", {{"name", name}}}}})}});
  };
  const std::string p1 = RandomUuid(), p2 = RandomUuid();
  const Resp one = push(first, p1, "First's");
  ASSERT_EQ(one.status, 200) << one.raw;
  EXPECT_EQ(one.body.at("results")[0].at("status"), "applied");
  // The same ids from another account: its own mutation, applied.
  const Resp two = push(second, p2, "Second's");
  ASSERT_EQ(two.status, 200) << two.raw;
  EXPECT_EQ(two.body.at("results")[0].at("status"), "applied") << two.raw;
  EXPECT_EQ(two.body.at("results")[0].value("replayed", false), false) << two.raw;
  EXPECT_EQ(second.Get("/api/projects/" + p2).body.value("name", ""), "Second's");
  // Each account's retry replays its own record, applying nothing again.
  const Resp again = push(second, p2, "Second's");
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body.at("results")[0].value("replayed", false), true) << again.raw;
  EXPECT_EQ(Lines("SELECT count(*) FROM sync_mutations WHERE client_id = '" + client_id + "'"),
            "2\n");
  EXPECT_EQ(first.Get("/api/projects/" + p2).status, 404);
}

// ------------------------------------------------------------ password, sign-out

TEST_F(Issue11Accounts, ChangingThePasswordRevokesEveryOtherToken) {
  ApiClient here(port()), laptop(port()), phone(port());
  here.Register();
  for (ApiClient* other : {&laptop, &phone}) {
    const Resp r = other->Post("/api/auth/login", {{"email", here.email}, {"password", kPassword}});
    ASSERT_EQ(r.status, 200) << r.raw;
    other->token = r.body.at("token");
  }
  ApiClient stranger(port());
  stranger.Register();
  const Resp changed = here.Post("/api/users/me/password",
                                 {{"current_password", kPassword}, {"new_password", "new horse!"}});
  ASSERT_EQ(changed.status, 200) << changed.raw;
  EXPECT_EQ(changed.body.at("revoked_tokens"), 2);
  EXPECT_EQ(here.Get("/api/users/me").status, 200);  // the device that changed it stays in
  EXPECT_EQ(laptop.Get("/api/users/me").status, 401);
  EXPECT_EQ(phone.Get("/api/users/me").status, 401);
  EXPECT_EQ(stranger.Get("/api/users/me").status, 200);  // nobody else's tokens
  ApiClient login(port());
  EXPECT_EQ(login.Post("/api/auth/login", {{"email", here.email}, {"password", kPassword}}).status,
            401);
  EXPECT_EQ(
      login.Post("/api/auth/login", {{"email", here.email}, {"password", "new horse!"}}).status,
      200);
}

TEST_F(Issue11Accounts, ChangePasswordChecksItsBodyAndItsToken) {
  ApiClient a(port());
  a.Register();
  const Resp empty = a.Post("/api/users/me/password", json::object());
  ASSERT_EQ(empty.status, 422) << empty.raw;
  EXPECT_EQ(empty.body.at("detail").size(), 2u) << empty.raw;
  const Resp short_one = a.Post("/api/users/me/password",
                                {{"current_password", kPassword}, {"new_password", "short"}});
  ASSERT_EQ(short_one.status, 422) << short_one.raw;
  EXPECT_EQ(short_one.body.at("detail")[0].at("loc"), json::array({"body", "new_password"}));
  const Resp extra = a.Post(
      "/api/users/me/password",
      {{"current_password", kPassword}, {"new_password", "long enough"}, {"email", "x@y.z"}});
  EXPECT_EQ(extra.status, 422) << extra.raw;
  const Reply anonymous = Send(port(), nullptr, "POST", "/api/users/me/password", "",
                               {{"current_password", kPassword}, {"new_password", "long enough"}});
  EXPECT_EQ(anonymous.status, 401) << anonymous.raw;
  // Nothing changed: the old password still signs in.
  ApiClient login(port());
  EXPECT_EQ(login.Post("/api/auth/login", {{"email", a.email}, {"password", kPassword}}).status,
            200);
}

// Like the login lockout: a thief holding a token cannot guess the current
// password at speed, from any number of addresses, and the owner is never
// kept from signing in or from signing everyone out.
TEST_F(Issue11Accounts, WrongCurrentPasswordsAreLimitedPerAccount) {
  ApiClient owner(port());
  owner.Register();
  const json wrong = {{"current_password", "a wild guess"}, {"new_password", "stolen account"}};
  for (int i = 0; i < 10; ++i) {
    const Reply r = Send(port(), "127.0.0.8", "POST", "/api/users/me/password", owner.token, wrong);
    ASSERT_EQ(r.status, 422) << i << " " << r.raw;
    EXPECT_EQ(r.body.at("detail")[0].at("loc"), json::array({"body", "current_password"}));
  }
  ExpectRateLimited(
      Send(port(), "127.0.0.18", "POST", "/api/users/me/password", owner.token, wrong));
  // Even the right password waits now...
  ExpectRateLimited(Send(port(), "127.0.0.8", "POST", "/api/users/me/password", owner.token,
                         {{"current_password", kPassword}, {"new_password", "new horse!"}}));
  // ...but signing in and signing out everywhere do not.
  ApiClient login(port());
  EXPECT_EQ(login.Post("/api/auth/login", {{"email", owner.email}, {"password", kPassword}}).status,
            200);
  const Reply out = Send(port(), "127.0.0.8", "POST", "/api/auth/logout-all", owner.token);
  EXPECT_EQ(out.status, 200) << out.raw;
}

// Every change costs two argon2 runs, so changes are limited whatever their
// outcome (a right password too), and a "change" to the same password is
// refused before any hashing.
TEST_F(Issue11Accounts, PasswordChangesAreLimitedWhateverTheirOutcome) {
  ApiClient owner(port());
  owner.Register();
  const Reply same = Send(port(), "127.0.0.23", "POST", "/api/users/me/password", owner.token,
                          {{"current_password", kPassword}, {"new_password", kPassword}});
  ASSERT_EQ(same.status, 422) << same.raw;
  EXPECT_EQ(same.body.at("detail")[0].at("loc"), json::array({"body", "new_password"}));
  const std::string passwords[2] = {kPassword, "another horse battery"};
  for (int i = 0; i < 20; ++i) {  // (the refusal above hashed nothing and counted nothing)
    const Reply r =
        Send(port(), "127.0.0.23", "POST", "/api/users/me/password", owner.token,
             {{"current_password", passwords[i % 2]}, {"new_password", passwords[(i + 1) % 2]}});
    ASSERT_EQ(r.status, 200) << i << " " << r.raw;
  }
  ExpectRateLimited(Send(port(), "127.0.0.24", "POST", "/api/users/me/password", owner.token,
                         {{"current_password", passwords[0]}, {"new_password", "third horse!"}}));
  // Signing in is not held back by it.
  ApiClient login(port());
  EXPECT_EQ(
      login.Post("/api/auth/login", {{"email", owner.email}, {"password", passwords[0]}}).status,
      200);
}

// A sign-in that checked the old password before a change committed, and
// stored its token after, must not leave a token of the old password alive.
TEST_F(Issue11Accounts, NoSignInWithTheOldPasswordOutlivesAPasswordChange) {
  ApiClient owner(port());
  owner.Register();
  std::atomic<bool> changed{false};
  std::atomic<int> before{0};
  std::mutex mu;
  std::vector<std::string> tokens;  // issued to sign-ins with the old password
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string source = "127.0.1." + std::to_string(30 + t);
      for (int after = 0; after < 3;) {
        if (changed) ++after;
        const Reply r = Send(port(), source.c_str(), "POST", "/api/auth/login", "",
                             {{"email", owner.email}, {"password", kPassword}});
        if (r.status != 200) continue;  // 503 (hashing busy), 401 once changed
        std::lock_guard<std::mutex> lock(mu);
        tokens.push_back(r.body.at("token"));
        ++before;
      }
    });
  }
  while (before < 8) std::this_thread::yield();  // sign-ins under way
  Reply change;
  do {
    change = Send(port(), "127.0.1.29", "POST", "/api/users/me/password", owner.token,
                  {{"current_password", kPassword}, {"new_password", "the new horse battery"}});
  } while (change.status == 503);
  changed = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(change.status, 200) << change.raw;
  ASSERT_GE(tokens.size(), 8u);
  int alive = 0;
  for (const std::string& token : tokens) {
    alive += Send(port(), "127.0.1.29", "GET", "/api/users/me", token).status == 200;
  }
  EXPECT_EQ(alive, 0) << "of " << tokens.size() << " tokens of the old password";
  EXPECT_EQ(Send(port(), "127.0.1.29", "GET", "/api/users/me", owner.token).status, 200);
}

TEST_F(Issue11Accounts, ARightCurrentPasswordResetsTheCount) {
  ApiClient owner(port());
  owner.Register();
  const json wrong = {{"current_password", "a typo"}, {"new_password", "whatever long"}};
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(owner.Post("/api/users/me/password", wrong).status, 422) << i;
  }
  ASSERT_EQ(owner
                .Post("/api/users/me/password",
                      {{"current_password", kPassword}, {"new_password", "second horse"}})
                .status,
            200);
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(owner.Post("/api/users/me/password", wrong).status, 422) << i;
  }
}

TEST_F(Issue11Accounts, LogoutAllRevokesEveryTokenOfTheAccountOnly) {
  ApiClient a(port()), a2(port()), b(port());
  a.Register();
  b.Register();
  const Resp r = a2.Post("/api/auth/login", {{"email", a.email}, {"password", kPassword}});
  ASSERT_EQ(r.status, 200) << r.raw;
  a2.token = r.body.at("token");
  const Resp out = a.Post("/api/auth/logout-all", json::object());
  ASSERT_EQ(out.status, 200) << out.raw;
  EXPECT_EQ(out.body.at("revoked_tokens"), 2);
  EXPECT_EQ(a.Get("/api/users/me").status, 401);
  EXPECT_EQ(a2.Get("/api/users/me").status, 401);
  EXPECT_EQ(b.Get("/api/users/me").status, 200);
  EXPECT_EQ(a.Post("/api/auth/logout-all", json::object()).status, 401);
}

// ------------------------------------------------------------ expired tokens

TEST_F(Issue11Accounts, ExpiredTokensAreRefusedAndPurgedInBatchesAtSignIn) {
  ApiClient a(port());
  const std::string id = a.Register().at("id");
  // 150 tokens of this account that expired yesterday, one of them known.
  Exec(
      "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) "
      "SELECT sha256(('expired-' || g)::bytea), '" +
      id +
      "', now() - interval '31 days', now() - interval '1 day' "
      "FROM generate_series(1, 150) g");
  const std::string expired = "expired-1";  // its SHA-256 is stored: a real bearer token
  const Reply refused = Send(port(), nullptr, "GET", "/api/users/me", expired);
  EXPECT_EQ(refused.status, 401) << refused.raw;
  const std::string count =
      "SELECT count(*) FROM api_tokens WHERE user_id = '" + id + "' AND expires_at <= now()";
  ASSERT_EQ(Lines(count), "150\n");
  ApiClient login(port());
  ASSERT_EQ(login.Post("/api/auth/login", {{"email", a.email}, {"password", kPassword}}).status,
            200);
  EXPECT_EQ(Lines(count), "50\n");  // one bounded batch per sign-in
  ASSERT_EQ(login.Post("/api/auth/login", {{"email", a.email}, {"password", kPassword}}).status,
            200);
  EXPECT_EQ(Lines(count), "0\n");
  // The live ones stay.
  EXPECT_EQ(a.Get("/api/users/me").status, 200);
}

TEST_F(Issue11Accounts, OpenApiDescribesTheNewAccountRoutes) {
  ApiClient a(port());
  const Resp spec = a.Get("/openapi.json");
  ASSERT_EQ(spec.status, 200);
  const json& paths = spec.body.at("paths");
  ASSERT_TRUE(paths.contains("/api/users/me/password")) << spec.raw.substr(0, 500);
  const json& change = paths.at("/api/users/me/password").at("post");
  EXPECT_TRUE(change.contains("security"));
  EXPECT_EQ(
      change.at("requestBody").at("content").at("application/json").at("schema").at("required"),
      json::array({"current_password", "new_password"}));
  ASSERT_TRUE(paths.contains("/api/auth/logout-all"));
  EXPECT_TRUE(paths.at("/api/auth/logout-all").at("post").contains("security"));
  EXPECT_FALSE(paths.at("/api/auth/login").at("post").contains("security"));
}

}  // namespace
}  // namespace vemakin::testing
