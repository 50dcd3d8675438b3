// Support for the sync suites: a server for the suite, and "devices" (a
// store in a temporary folder with its SyncClient, signed in to an account).
#ifndef VEMAKIN_TESTS_E2E_SYNC_TEST_SUPPORT_H_
#define VEMAKIN_TESTS_E2E_SYNC_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/e2e/api_test_support.h"
#include "vemakin/client/store.h"
#include "vemakin/client/sync.h"

namespace vemakin::testing {

using client::Collection;
using client::Store;
using client::SyncClient;

constexpr char kPassword[] = "correct horse battery";

inline client::ListQuery ByProject(const std::string& project) {
  client::ListQuery q;
  q.filters["project_id"] = project;
  return q;
}

class SyncFixture : public ::testing::Test {
 public:
  static void SetUpTestSuite() { server_ = StartTestServer().release(); }
  static void TearDownTestSuite() {
    delete second_;
    second_ = nullptr;
    delete server_;
    server_ = nullptr;
  }
  // A second server instance over the same database schema (scale-out: the
  // order, the idempotency records and the live bell must hold across them).
  static std::string SecondUrl() {
    if (second_ == nullptr) {
      server::ServerOptions o;
      UseTestDatabase(o);
      o.schema = server_->schema();
      o.listen = "127.0.0.1:0";
      o.logger = std::make_shared<NullLogger>();
      second_ = new server::Server(o);
      second_->Start();
    }
    return "http://127.0.0.1:" + std::to_string(second_->port());
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vemakin-sync-" + std::to_string(::getpid()) + "-" + RandomUuid().substr(0, 8));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> OpenStore(const std::string& name) {
    client::ClientOptions o;
    o.path = dir_ / (name + "-" + RandomUuid().substr(0, 8) + ".db");
    return Store::Open(o);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // A store signed in as a fresh account (registered by the store itself).
  struct Device {
    std::unique_ptr<Store> store;
    std::unique_ptr<SyncClient> sync;
    std::string email;
    std::string user_id;
  };
  Device NewAccount(const std::string& name, const std::string& url = "") {
    Device d;
    d.store = OpenStore(name);
    d.sync = std::make_unique<SyncClient>(*d.store);
    d.email = name + "-" + RandomUuid().substr(0, 8) + "@example.com";
    d.user_id = d.sync->Register(url.empty() ? Url() : url, d.email, kPassword, name).at("id");
    return d;
  }
  Device SignIn(const std::string& name, const std::string& email) {
    Device d;
    d.store = OpenStore(name);
    d.sync = std::make_unique<SyncClient>(*d.store);
    d.email = email;
    d.user_id = d.sync->Login(Url(), email, kPassword).at("id");
    return d;
  }
  ApiClient Rest(const Device& d) {
    ApiClient c(server_->port());
    const Resp r = c.Post("/api/auth/login", {{"email", d.email}, {"password", kPassword}});
    EXPECT_EQ(r.status, 200) << r.raw;
    c.token = r.body.value("token", "");
    return c;
  }
  static void ExpectConverged(Device& d) {
    const client::VerifyReport v = d.sync->Verify();
    EXPECT_TRUE(v.equal) << v.ToJson().dump(2);
    EXPECT_EQ(v.pending_mutations, 0);
  }
  // An owner's project shared with `member` at `role`.
  std::string SharedProject(Device& owner, Device& member, const std::string& role) {
    const std::string project =
        owner.store->Create(Collection::kProjects, {{"name", "Shared"}})["id"];
    owner.sync->Sync();
    owner.sync->AddMember(project, member.email, role);
    member.sync->Sync();
    return project;
  }

  static TestServer* server_;
  static server::Server* second_;
  std::filesystem::path dir_;
};
inline TestServer* SyncFixture::server_ = nullptr;
inline server::Server* SyncFixture::second_ = nullptr;

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_E2E_SYNC_TEST_SUPPORT_H_
