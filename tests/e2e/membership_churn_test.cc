// Model-based membership churn (issue 10): many seeds of random invitations,
// removals, re-invitations, role changes, renames, project deletions, id
// reuse attempts, compactions, offline writes and syncs between an owner and
// two members. The checker is stricter than the code:
// - every pull and snapshot response a device received carried only rows its
//   user could read at that moment (a project's rows only while a member;
//   membership rows of others only in such projects);
// - at the end, after everyone synced, each mirror holds exactly what its
//   user may read on the server: the same projects, and in each the same
//   shots, notes and members, row for row (no missing row, no extra project),
//   and `verify` agrees.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <set>

#include "client/transport.h"
#include "server/sync_history.h"
#include "tests/e2e/sync_test_support.h"

namespace vemakin::testing {
namespace {

using client::Collection;

// Passes requests to HTTP and keeps the sync responses for the checker.
class RecordingTransport : public client::Transport {
 public:
  explicit RecordingTransport(std::vector<std::string>* bodies)
      : http_(client::NewHttpTransport(std::chrono::seconds(30))), bodies_(bodies) {}
  client::TransportResponse Exchange(const client::TransportRequest& request) override {
    client::TransportResponse r = http_->Exchange(request);
    const bool sync_read = request.path.rfind("/api/sync/pull", 0) == 0 ||
                           request.path.rfind("/api/sync/snapshot", 0) == 0;
    if (sync_read && r.status == 200) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_->push_back(r.body);
    }
    return r;
  }

 private:
  std::unique_ptr<client::Transport> http_;
  std::mutex mu_;
  std::vector<std::string>* bodies_;
};

class MembershipChurn : public SyncFixture {
 protected:
  struct Member {
    Device device;
    std::vector<std::string> responses;  // of the sync in progress
  };

  void Attach(Member& m) {
    m.device.sync->TestOnlySetTransport(std::make_unique<RecordingTransport>(&m.responses));
  }

  // Project ids this user can read now (the server's word).
  std::set<std::string> Readable(ApiClient& as) {
    std::set<std::string> out;
    const Resp r = as.Get("/api/projects?limit=1000");
    EXPECT_EQ(r.status, 200) << r.raw;
    for (const json& p : r.body.at("items")) out.insert(p.at("id").get<std::string>());
    return out;
  }

  // Every row of the recorded responses is one this user may read now.
  void CheckResponses(Member& m, ApiClient& as, const std::string& where) {
    const std::set<std::string> readable = Readable(as);
    for (const std::string& body : m.responses) {
      const json j = json::parse(body);
      auto check_row = [&](const std::string& table, const json& row) {
        std::string project;
        if (table == "projects") project = row.value("id", "");
        if (row.contains("project_id")) project = row.value("project_id", "");
        if (project.empty()) return;  // the inventory, the catalog
        if (table == "project_members" && row.value("user_id", "") == m.device.user_id) {
          return;  // its own membership rows, past or present
        }
        EXPECT_TRUE(readable.count(project)) << where << ": " << table << " row of a project "
                                             << m.device.email << " cannot read: " << row.dump();
      };
      if (j.contains("changes")) {
        for (const json& c : j.at("changes")) {
          if (c.at("data").is_object()) check_row(c.at("table"), c.at("data"));
        }
      } else {
        for (const json& t : j.at("tables")) {
          for (const json& row : t.at("rows")) check_row(t.at("table"), row);
        }
      }
    }
    m.responses.clear();
  }

  // Row ids of a list on the server and in a mirror.
  static std::set<std::string> ServerIds(ApiClient& as, const std::string& path) {
    std::set<std::string> out;
    const Resp r = as.Get(path);
    EXPECT_EQ(r.status, 200) << r.raw;
    const json& items = r.body.is_array() ? r.body : r.body.at("items");
    for (const json& row : items) {
      out.insert(row.contains("id")
                     ? row.at("id").get<std::string>()
                     : row.at("user_id").get<std::string>() + ":" + row.value("role", ""));
    }
    return out;
  }
  static std::set<std::string> MirrorIds(Store& store, Collection c, const std::string& project) {
    std::set<std::string> out;
    client::ListQuery q;
    if (!project.empty()) q.filters["project_id"] = project;
    q.limit = 1000;
    for (const json& row : store.List(c, q).items) out.insert(row.at("id").get<std::string>());
    return out;
  }

  // The mirror holds exactly what the server lets its user read.
  void CheckMirror(Member& m, ApiClient& as, const std::string& where) {
    const std::set<std::string> readable = Readable(as);
    ASSERT_EQ(MirrorIds(*m.device.store, Collection::kProjects, ""), readable)
        << where << ": projects of " << m.device.email;
    for (const std::string& p : readable) {
      EXPECT_EQ(MirrorIds(*m.device.store, Collection::kShots, p),
                ServerIds(as, "/api/shots?limit=1000&project_id=" + p))
          << where << ": shots of " << p;
      EXPECT_EQ(MirrorIds(*m.device.store, Collection::kNotes, p),
                ServerIds(as, "/api/notes?limit=1000&project_id=" + p))
          << where << ": notes of " << p;
      EXPECT_EQ(m.device.store->Get(Collection::kProjects, p).at("name"),
                as.Get("/api/projects/" + p).body.at("name"))
          << where;
    }
  }
};

TEST_F(MembershipChurn, MirrorsHoldExactlyWhatTheirUserMayReadForManySeeds) {
  constexpr int kSeeds = 6;
  constexpr int kSteps = 45;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(static_cast<unsigned>(seed));
    auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
    std::vector<Member> people;
    for (const char* name : {"owner", "b", "c"}) people.push_back({NewAccount(name), {}});
    for (Member& m : people) Attach(m);
    std::vector<ApiClient> rest;
    for (Member& m : people) rest.push_back(Rest(m.device));
    std::vector<std::string> deleted;  // project ids deleted on the server
    std::vector<std::string> log;      // the steps taken, for the failure message
    auto owned = [&]() {               // the owner's projects on the server
      std::vector<std::string> out;
      for (const std::string& p : Readable(rest[0])) out.push_back(p);
      return out;
    };
    for (int step = 0; step < kSteps && !HasFatalFailure(); ++step) {
      const int action = static_cast<int>(pick(10));
      const std::string where = "step " + std::to_string(step);
      if (action == 0 || owned().empty()) {
        people[0].device.store->Create(Collection::kProjects,
                                       {{"name", "P" + std::to_string(step)}});
        people[0].device.sync->Sync();
        CheckResponses(people[0], rest[0], where);
        log.push_back("create project");
        continue;
      }
      const std::vector<std::string> projects = owned();
      const std::string project = projects[pick(projects.size())];
      const size_t who = 1 + pick(2);
      Member& member = people[who];
      switch (action) {
        case 1:
        case 2: {  // invite (or re-invite, or change the role by remove + add)
          const std::string role = pick(2) ? "editor" : "viewer";
          const Resp r = rest[0].Post("/api/projects/" + project + "/members",
                                      {{"email", member.device.email}, {"role", role}});
          if (r.status == 409) {
            rest[0].Delete("/api/projects/" + project + "/members/" + member.device.user_id);
            EXPECT_EQ(rest[0]
                          .Post("/api/projects/" + project + "/members",
                                {{"email", member.device.email}, {"role", role}})
                          .status,
                      201);
            log.push_back("role change " + std::to_string(who) + " " + role);
          } else {
            // 201: a new membership; 200: a member already, the role changed.
            EXPECT_TRUE(r.status == 201 || r.status == 200) << r.raw;
            log.push_back((r.status == 201 ? "invite " : "role ") + std::to_string(who) + " " +
                          role);
          }
          break;
        }
        case 3:
          rest[0].Delete("/api/projects/" + project + "/members/" + member.device.user_id);
          log.push_back("remove " + std::to_string(who));
          break;
        case 4:
          EXPECT_EQ(rest[0]
                        .Patch("/api/projects/" + project, {{"name", "R" + std::to_string(step)}})
                        .status,
                    200);
          log.push_back("rename");
          break;
        case 5:
          if (pick(3) == 0) {
            EXPECT_EQ(rest[0].Delete("/api/projects/" + project).status, 204);
            deleted.push_back(project);
            log.push_back("delete project");
          } else {
            rest[0].Post("/api/shots",
                         {{"project_id", project}, {"title", "S" + std::to_string(step)}});
            rest[0].Post("/api/notes",
                         {{"project_id", project}, {"title", "N" + std::to_string(step)}});
            log.push_back("owner writes");
          }
          break;
        case 6: {  // a member writes offline in a project it holds
          const std::set<std::string> held =
              MirrorIds(*member.device.store, Collection::kProjects, "");
          if (held.empty()) break;
          auto it = held.begin();
          std::advance(it, static_cast<long>(pick(held.size())));
          try {
            member.device.store->Create(
                Collection::kShots, {{"project_id", *it}, {"title", "M" + std::to_string(step)}});
            log.push_back("member writes " + std::to_string(who));
          } catch (const Error&) {
            log.push_back("member is a viewer " + std::to_string(who));
          }
          break;
        }
        case 7:
          if (!deleted.empty()) {  // id reuse attempt by the other account
            const Resp r = rest[who].Post(
                "/api/projects", {{"id", deleted[pick(deleted.size())]}, {"name", "Reuse"}});
            EXPECT_EQ(r.status, 409) << r.raw;
            log.push_back("reuse attempt");
          } else {
            auto conn = server_->Connect();
            server::CompactSyncHistory(*conn, std::chrono::seconds(0));
            log.push_back("compact");
          }
          break;
        default: {  // someone syncs
          Member& syncer = people[pick(3)];
          try {
            syncer.device.sync->Sync();
          } catch (const Error& e) {
            ADD_FAILURE() << where << ": sync failed: " << e.what();
          }
          CheckResponses(syncer, rest[static_cast<size_t>(&syncer - &people[0])], where);
          log.push_back("sync");
          break;
        }
      }
    }
    // Quiet: everyone syncs (twice: pushes of one may be pulls of another).
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < people.size(); ++i) {
        people[i].device.sync->Sync();
        CheckResponses(people[i], rest[i], "final sync");
      }
    }
    std::string steps;
    for (const std::string& s : log) steps += s + "; ";
    for (size_t i = 0; i < people.size(); ++i) {
      SCOPED_TRACE(steps);
      CheckMirror(people[i], rest[i], "end");
      EXPECT_EQ(people[i].device.store->Status().pending_mutations, 0);
      const client::VerifyReport v = people[i].device.sync->Verify();
      EXPECT_TRUE(v.equal) << v.ToJson().dump();
    }
    if (HasFailure()) break;  // one seed's story is enough to read
  }
}

}  // namespace
}  // namespace vemakin::testing
