// A realistic data set for demos and benchmarks (`vemakin-admin seed
// --users N --shots N`): accounts with a project each, shots spread over a
// shooting schedule, notes, post-production tasks and an inventory taken
// from the starter catalog. Every account's password is the one given (one
// argon2id hash, computed once). Each account is one transaction, so an
// interrupted seed leaves whole accounts only.
#ifndef VEMAKIN_SERVER_DEMO_SEED_H_
#define VEMAKIN_SERVER_DEMO_SEED_H_

#include <functional>
#include <pqxx/pqxx>
#include <string>

namespace vemakin::server {

struct DemoSeedOptions {
  int users = 10;
  int shots_per_user = 1000;
  std::string password = "vemakin-demo";
  std::string email_domain = "demo.vemakin.test";
};

struct DemoSeedResult {
  int users = 0;
  long long shots = 0;
};

// `progress(done, total)` is called after each account.
DemoSeedResult SeedDemoData(pqxx::connection& conn, const DemoSeedOptions& options,
                            const std::function<void(int, int)>& progress = {});

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_DEMO_SEED_H_
