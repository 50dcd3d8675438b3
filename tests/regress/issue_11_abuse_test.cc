// Issue 11 (first part): abuse that hurt the owner or grew the server.
// - The login limiter counted wrong passwords per email, before checking
//   them: 11 wrong attempts by anyone locked the real owner out for 15
//   minutes. Now failures count per (email, client address).
// - Every made-up HTTP method (no login needed) added permanent label sets
//   to /metrics: 300 of them grew it from 39 KB to 600 KB.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

class Issue11 : public ServerSuite {};

// A sign-in sent from `source` (another client on loopback); its status.
int LoginFrom(int port, const char* source, const std::string& email, const std::string& password) {
  const std::string body = json{{"email", email}, {"password", password}}.dump();
  const std::string reply =
      RawExchange(port,
                  "POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  "Connection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body,
                  10000, source);
  if (reply.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(reply.substr(9, 3));
}

TEST_F(Issue11, WrongPasswordsFromAStrangerDoNotLockTheOwnerOut) {
  ApiClient owner(port());
  owner.Register();
  int last = 0;
  for (int i = 0; i < 11; ++i) last = LoginFrom(port(), "127.0.0.2", owner.email, "wrong guess");
  EXPECT_EQ(last, 429);  // the stranger's address is held off...
  EXPECT_EQ(LoginFrom(port(), "127.0.0.2", owner.email, "correct horse battery"), 429);
  // ...while the owner, from their own address, signs in.
  const Resp mine = owner.Post("/api/auth/login",
                               {{"email", owner.email}, {"password", "correct horse battery"}});
  EXPECT_EQ(mine.status, 200) << mine.raw;
}

TEST_F(Issue11, MadeUpMethodsLeaveTheMetricsBounded) {
  ApiClient c(port());
  const size_t before = c.Get("/metrics").raw.size();
  for (int i = 0; i < 300; ++i) {
    RawExchange(port(), "M" + std::to_string(i) + "X /api/x" + std::to_string(i) +
                            " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  }
  const std::string after = c.Get("/metrics").raw;
  EXPECT_LT(after.size(), before + 4096) << after.substr(0, 2000);
  EXPECT_EQ(after.find("M17X"), std::string::npos);
  EXPECT_NE(after.find("method=\"other\""), std::string::npos) << after.substr(0, 2000);
}

}  // namespace
}  // namespace vemakin::testing
