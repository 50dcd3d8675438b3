// The randomized, model-checked world of the convergence tests (SPEC.md
// section 4.5), shared by tests/e2e/sync_convergence_test.cc and the
// load-balancer run of tests/e2e/load_balancer_test.cc: three devices of
// three accounts share a project; for each seed they make hundreds of random
// creates, updates and deletes, go offline for random stretches and sync (or
// only pull) at random points, sometimes writing while a sync runs, while a
// REST client writes too and the server now and then compacts its history
// (forcing rebases). Check() then demands that every mirror equals the
// server table by table (digests), that no outbox holds anything, and that
// the model's promises hold: a row whose create succeeded and that nobody
// deleted exists everywhere, with the value of each field that only one
// writer ever touched.
#ifndef VEMAKIN_TESTS_E2E_CONVERGENCE_WORLD_H_
#define VEMAKIN_TESTS_E2E_CONVERGENCE_WORLD_H_

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "server/sync_history.h"
#include "tests/e2e/sync_test_support.h"

namespace vemakin::testing {

struct Model {
  // Row id -> collection, for rows some device or REST created.
  std::map<std::string, Collection> created;
  std::set<std::string> deleted;  // ids someone deleted (locally or by REST)
  // (row id, field) -> writers and the last value each wrote.
  std::map<std::pair<std::string, std::string>, std::map<int, json>> writes;
};

// Where a World's parties talk to, and what may happen to the servers.
struct WorldOptions {
  // The server URL of devices a, b and c ("" = the suite's server).
  std::vector<std::string> urls = {"", "", ""};
  int rest_port = 0;  // the REST client's server (0 = the suite's)
  // Server instances may be down for a while: a sync or a REST write may
  // then fail (and is tried again later by the next one), and a REST write
  // that failed may still have committed.
  bool outages = false;
  // Called in the middle of some syncs (after their first batch).
  std::function<void()> mid_sync;
};

class World {
 public:
  World(SyncFixture& fixture, std::mt19937& rng, WorldOptions options = {})
      : f_(fixture), rng_(rng), options_(std::move(options)) {}

  void Build() {
    const char* names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i) devices_.push_back(f_.NewAccount(names[i], options_.urls[i]));
    project_ = devices_[0].store->Create(Collection::kProjects, {{"name", "Random"}})["id"];
    devices_[0].sync->Sync();
    devices_[0].sync->AddMember(project_, devices_[1].email, "editor");
    devices_[0].sync->AddMember(project_, devices_[2].email, "editor");
    for (auto& d : devices_) d.sync->Sync();
    rest_ = std::make_unique<ApiClient>(options_.rest_port ? options_.rest_port
                                                           : SyncFixture::server_->port());
    const Resp login =
        rest_->Post("/api/auth/login", {{"email", devices_[0].email}, {"password", kPassword}});
    EXPECT_EQ(login.status, 200) << login.raw;
    rest_->token = login.body.value("token", "");
    rest_->through_outages = options_.outages;
  }

  // Syncs that failed because a server was down, and rows created so far.
  int failed_syncs() const { return failed_syncs_; }
  size_t created_rows() const { return model_.created.size(); }

  void Step() {
    if (Chance(0.01)) {
      // The server compacts all its history: clients behind it rebase onto a
      // fresh snapshot and keep their pending work.
      auto conn = SyncFixture::server_->Connect();
      server::CompactSyncHistory(*conn, std::chrono::seconds(0));
      return;
    }
    const int who = Pick(4);  // 3 = the REST client (owner's web session)
    if (who < 3 && Chance(0.15)) {
      // Mostly full syncs; sometimes pull-only (pending work stays on top),
      // sometimes with a local write landing while the sync runs.
      SyncFixture::Device& d = devices_[who];
      try {
        if (Chance(0.3)) {
          d.sync->PullOnly();
        } else if (Chance(0.3)) {
          SyncClient hooked(*d.store, Hooked(who));
          hooked.Sync();
        } else {
          d.sync->Sync();
        }
      } catch (const Error& e) {
        // An instance down is an unreachable server or its proxy's 502/503;
        // anything else is a failure.
        if (!options_.outages || e.code() != ErrorCode::kUnavailable) throw;
        ++failed_syncs_;  // the next sync takes it up
      }
      return;
    }
    const int kind = Pick(10);
    const Collection c = kind < 5   ? Collection::kShots
                         : kind < 7 ? Collection::kNotes
                         : kind < 9 ? Collection::kTasks
                                    : Collection::kInventory;
    const int op = Pick(10);  // 0-3 create, 4-8 update, 9 delete
    try {
      if (op < 4) {
        Create(who, c);
      } else if (op < 9) {
        Update(who, c);
      } else {
        Delete(who, c);
      }
    } catch (const Error&) {
      // A row this device no longer has, a link to a deleted shot: refused
      // locally, nothing changes.
    }
  }

  void Converge() {
    for (int round = 0; round < 2; ++round) {
      for (auto& d : devices_) d.sync->Sync();
    }
  }

  void Check() {
    for (auto& d : devices_) {
      const client::VerifyReport v = d.sync->Verify();
      EXPECT_TRUE(v.equal) << d.email << ": " << v.ToJson().dump(2);
      EXPECT_EQ(v.pending_mutations, 0);
    }
    // Rows created and never deleted exist on the server and on every device
    // that can see them, and fields with a single writer kept its value.
    for (const auto& [id, c] : model_.created) {
      if (model_.deleted.count(id)) continue;
      const Resp r = rest_->Get(Path(c) + "/" + id);
      if (c == Collection::kInventory) continue;  // private to its owner
      ASSERT_EQ(r.status, 200) << "lost row " << id << ": " << r.raw;
      for (auto& d : devices_) {
        const json local = d.store->Get(c, id);
        EXPECT_EQ(local, r.body) << d.email;
      }
      for (const auto& [key, writers] : model_.writes) {
        if (key.first != id || writers.size() != 1 || writers.count(kUncertain)) continue;
        // Only one writer: nobody else could override it.
        EXPECT_EQ(r.body.at(key.second), writers.begin()->second) << id << "." << key.second;
      }
    }
  }

 private:
  // Sync options whose progress callback makes one random local write of
  // device `who` mid-sync (after its first push or pull batch).
  client::SyncClientOptions Hooked(int who) {
    client::SyncClientOptions o;
    auto fired = std::make_shared<bool>(false);
    o.progress = [this, who, fired](const client::SyncProgress&) {
      if (*fired) return;
      *fired = true;
      if (options_.mid_sync) options_.mid_sync();
      try {
        Pick(2) ? Update(who, Collection::kShots) : Create(who, Collection::kNotes);
      } catch (const Error&) {
      }
    };
    return o;
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::string Word() {
    static const char* kWords[] = {"dolly", "crane", "wide", "close", "insert", "golden",
                                   "night", "rain",  "pier", "van",   "drone",  "slate"};
    return std::string(kWords[Pick(12)]) + " " + std::to_string(Pick(1000));
  }
  static std::string Path(Collection c) {
    switch (c) {
      case Collection::kShots:
        return "/api/shots";
      case Collection::kNotes:
        return "/api/notes";
      case Collection::kTasks:
        return "/api/postprod";
      default:
        return "/api/inventory";
    }
  }

  // A random existing row of `c` as `who` sees it (the REST client asks the server).
  std::optional<std::string> AnyRow(int who, Collection c) {
    std::vector<std::string> ids;
    for (const auto& [id, coll] : model_.created) {
      if (coll == c && !model_.deleted.count(id)) ids.push_back(id);
    }
    if (ids.empty()) return std::nullopt;
    (void)who;
    return ids[static_cast<size_t>(Pick(static_cast<int>(ids.size())))];
  }

  json Fields(Collection c, bool create) {
    json f = json::object();
    switch (c) {
      case Collection::kShots:
        if (create || Chance(0.5)) f["title"] = Word();
        if (Chance(0.4)) f["status"] = Chance(0.5) ? "done" : "pending";
        if (Chance(0.3)) f["location"] = Word();
        if (Chance(0.2))
          f["date"] = "2026-0" + std::to_string(1 + Pick(9)) + "-1" + std::to_string(Pick(9));
        break;
      case Collection::kNotes:
        if (create || Chance(0.5)) f["title"] = Word();
        if (Chance(0.5)) f["content"] = Word();
        break;
      case Collection::kTasks:
        if (create) f["category"] = "Editing";
        if (create || Chance(0.4)) f["title"] = Word();
        if (Chance(0.4))
          f["status"] = std::vector<std::string>{"todo", "progress", "review", "done"}[Pick(4)];
        if (Chance(0.4)) f["priority"] = std::vector<std::string>{"low", "medium", "high"}[Pick(3)];
        break;
      default:
        if (create || Chance(0.5)) f["name"] = Word();
        if (create) f["category"] = "Camera";
        if (Chance(0.4)) f["quantity"] = 1 + Pick(5);
        break;
    }
    if (f.empty())
      f = c == Collection::kInventory ? json{{"name", Word()}} : json{{"title", Word()}};
    return f;
  }

  void Record(int who, const std::string& id, const json& fields) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.key() == "project_id" || it.key() == "category") continue;
      model_.writes[{id, it.key()}][who] = it.value();
    }
  }

  void Create(int who, Collection c) {
    json body = Fields(c, true);
    if (c != Collection::kInventory) body["project_id"] = project_;
    std::string id;
    if (who == 3) {
      if (c == Collection::kInventory) return;
      const Resp r = rest_->Post(Path(c), body);
      if (Lost(r)) return;  // an id nobody knows: not in the model
      ASSERT_EQ(r.status, 201) << r.raw;
      id = r.body.at("id");
    } else {
      if (c == Collection::kInventory) return;  // inventories are private: kept out of the model
      id = devices_[who].store->Create(c, body)["id"];
    }
    model_.created[id] = c;
    Record(who, id, body);
  }

  void Update(int who, Collection c) {
    if (c == Collection::kInventory) return;
    const std::optional<std::string> id = AnyRow(who, c);
    if (!id) return;
    const json fields = Fields(c, false);
    if (who == 3) {
      const Resp r = rest_->Patch(Path(c) + "/" + *id, fields);
      if (r.status == 404) return;  // deleted by a device's push already
      if (Lost(r)) {
        // It may have committed before the answer was lost: these fields no
        // longer have a writer whose value is certain.
        for (auto it = fields.begin(); it != fields.end(); ++it) {
          model_.writes[{*id, it.key()}][kUncertain] = it.value();
        }
        return;
      }
      ASSERT_EQ(r.status, 200) << r.raw;
    } else {
      devices_[who].store->Update(c, *id, fields);
    }
    Record(who, *id, fields);
  }

  void Delete(int who, Collection c) {
    if (c == Collection::kInventory) return;
    const std::optional<std::string> id = AnyRow(who, c);
    if (!id) return;
    if (who == 3) {
      const Resp r = rest_->Delete(Path(c) + "/" + *id);
      if (Lost(r)) {
        model_.deleted.insert(*id);  // maybe deleted: no longer checked
        return;
      }
      if (r.status != 204 && r.status != 404) FAIL() << r.raw;
    } else {
      devices_[who].store->Delete(c, *id);
    }
    model_.deleted.insert(*id);
  }

  // A REST write whose answer was lost to an outage (none, or a 5xx from the proxy).
  bool Lost(const Resp& r) const {
    return options_.outages &&
           (r.status == 0 || r.status == 502 || r.status == 503 || r.status == 504);
  }

  static constexpr int kUncertain = -1;  // a writer whose write may or may not have landed

  SyncFixture& f_;
  std::mt19937& rng_;
  WorldOptions options_;
  int failed_syncs_ = 0;
  std::vector<SyncFixture::Device> devices_;
  std::unique_ptr<ApiClient> rest_;
  std::string project_;
  Model model_;
};

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_E2E_CONVERGENCE_WORLD_H_
