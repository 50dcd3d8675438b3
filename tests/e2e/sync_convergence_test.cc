// Randomized, model-checked convergence (SPEC.md section 4.5): three devices
// of three accounts share a project, one of them through a second server
// instance; for each seed they make hundreds of random creates, updates and
// deletes, go offline for random stretches and sync (or only pull) at random
// points, sometimes writing while a sync runs, while a REST client writes too
// and the server now and then compacts its history (forcing rebases). At the end, after
// everyone has synced, every mirror must equal the server table by table
// (digests), no outbox may hold anything, and the model's promises hold: a
// row whose create succeeded and that nobody deleted exists everywhere, with
// the value of each field that only one writer ever touched.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "server/sync_history.h"
#include "tests/e2e/sync_test_support.h"

namespace vemakin::testing {
namespace {

using SyncConvergence = SyncFixture;

struct Model {
  // Row id -> collection, for rows some device or REST created.
  std::map<std::string, Collection> created;
  std::set<std::string> deleted;  // ids someone deleted (locally or by REST)
  // (row id, field) -> writers and the last value each wrote.
  std::map<std::pair<std::string, std::string>, std::map<int, json>> writes;
};

class World {
 public:
  World(SyncConvergence& fixture, std::mt19937& rng) : f_(fixture), rng_(rng) {}

  void Build() {
    // c talks to a second server instance over the same database.
    devices_.push_back(f_.NewAccount("a"));
    devices_.push_back(f_.NewAccount("b"));
    devices_.push_back(f_.NewAccount("c", SyncFixture::SecondUrl()));
    project_ = devices_[0].store->Create(Collection::kProjects, {{"name", "Random"}})["id"];
    devices_[0].sync->Sync();
    devices_[0].sync->AddMember(project_, devices_[1].email, "editor");
    devices_[0].sync->AddMember(project_, devices_[2].email, "editor");
    for (auto& d : devices_) d.sync->Sync();
    rest_ = std::make_unique<ApiClient>(f_.Rest(devices_[0]));
  }

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
      if (Chance(0.3)) {
        d.sync->PullOnly();
      } else if (Chance(0.3)) {
        SyncClient hooked(*d.store, Hooked(who));
        hooked.Sync();
      } else {
        d.sync->Sync();
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
        if (key.first != id || writers.size() != 1) continue;
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
      if (r.status != 204 && r.status != 404) FAIL() << r.raw;
    } else {
      devices_[who].store->Delete(c, *id);
    }
    model_.deleted.insert(*id);
  }

  SyncConvergence& f_;
  std::mt19937& rng_;
  std::vector<SyncFixture::Device> devices_;
  std::unique_ptr<ApiClient> rest_;
  std::string project_;
  Model model_;
};

TEST_F(SyncConvergence, RandomOfflineEditsConvergeToTheServerForManySeeds) {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    World world(*this, rng);
    world.Build();
    for (int i = 0; i < 250; ++i) world.Step();
    world.Converge();
    world.Check();
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace vemakin::testing
