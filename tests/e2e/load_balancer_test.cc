// Several instances behind a load balancer (issue 12, SPEC.md section 6):
// three vemakin-server binaries over one database behind Debian's HAProxy
// with the repository's configuration (deploy/haproxy/vemakin.cfg). Health
// checks take a killed instance out and bring it back; a watcher hears
// writes that land on every instance; the client's address reaches rate
// limits through the proxy, and is taken from forwarding headers only when a
// configured trusted proxy sent them.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/convergence_world.h"
#include "tests/support/deployment.h"

namespace vemakin::testing {
namespace {

// The request-id prefix of the instance that answered (random per process).
std::string InstanceOf(const httplib::Result& r) {
  if (!r) return "";
  const std::string id = r->get_header_value("X-Request-Id");
  return id.substr(0, id.find('-'));
}

class LoadBalancer : public SyncFixture {
 public:
  static void SetUpTestSuite() {
    SyncFixture::SetUpTestSuite();
    dir_ = std::filesystem::temp_directory_path() /
           ("vemakin-lb-" + std::to_string(::getpid()) + "-" + RandomUuid().substr(0, 8));
    std::filesystem::create_directories(dir_);
    std::vector<int> ports;
    for (int i = 0; i < 3; ++i) {
      ports.push_back(FreePort());
      instances_.push_back(std::make_unique<ServerProcess>(
          server_->schema(), ports.back(), dir_ / ("server-" + std::to_string(i + 1) + ".log"),
          std::vector<std::string>{"--trusted-proxy", "127.0.0.1"}));
      instances_.back()->Start();
    }
    proxy_ = std::make_unique<HaProxy>(dir_, ports);
  }
  static void TearDownTestSuite() {
    proxy_.reset();
    instances_.clear();
    std::filesystem::remove_all(dir_);
    SyncFixture::TearDownTestSuite();
  }

 protected:
  static ApiClient LoginAt(int port, const Device& d) {
    ApiClient c(port);
    const Resp r = c.Post("/api/auth/login", {{"email", d.email}, {"password", kPassword}});
    EXPECT_EQ(r.status, 200) << r.raw;
    c.token = r.body.value("token", "");
    return c;
  }
  // The instances that answered `n` GET /health through the proxy; every
  // answer must be 200.
  static std::set<std::string> InstancesAnswering(int n) {
    httplib::Client http("127.0.0.1", proxy_->port());
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) {
      const auto r = http.Get("/health");
      EXPECT_TRUE(r && r->status == 200) << (r ? r->body : httplib::to_string(r.error()));
      seen.insert(InstanceOf(r));
    }
    return seen;
  }
  static std::string PrefixOf(int instance) {
    httplib::Client http("127.0.0.1", instances_[static_cast<size_t>(instance)]->port());
    return InstanceOf(http.Get("/health"));
  }

  static inline std::filesystem::path dir_;
  static inline std::vector<std::unique_ptr<ServerProcess>> instances_;
  static inline std::unique_ptr<HaProxy> proxy_;
};

TEST_F(LoadBalancer, HealthChecksTakeAKilledInstanceOutAndBringItBackAfterARestart) {
  const std::set<std::string> all = {PrefixOf(0), PrefixOf(1), PrefixOf(2)};
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(InstancesAnswering(9), all);  // round robin over the three

  const std::string killed = PrefixOf(1);
  instances_[1]->Kill();
  // Before the checks notice, a refused connection is retried on another
  // instance: no request fails.
  std::set<std::string> seen = InstancesAnswering(9);
  EXPECT_EQ(seen.count(killed), 0u);
  ASSERT_TRUE(proxy_->WaitForBackend(1, "DOWN", std::chrono::seconds(15)))
      << proxy_->BackendStatus(1);
  seen = InstancesAnswering(9);
  EXPECT_EQ(seen, (std::set<std::string>{PrefixOf(0), PrefixOf(2)}));

  instances_[1]->Start();  // the same port, a new process
  ASSERT_TRUE(proxy_->WaitForBackend(1, "UP", std::chrono::seconds(15)))
      << proxy_->BackendStatus(1);
  const std::string restarted = PrefixOf(1);
  EXPECT_NE(restarted, killed);
  EXPECT_EQ(InstancesAnswering(9), (std::set<std::string>{PrefixOf(0), restarted, PrefixOf(2)}));
}

// The randomized convergence run (tests/e2e/convergence_world.h) with every
// party behind the proxy. Part-way through, another thread kills one
// instance (SIGKILL, at whatever point the run is: sometimes with a request in
// flight); the run goes on while the proxy's health checks take it out, and
// it is restarted on its port later. Syncs that fail meanwhile are taken up by
// the next; at the end every mirror must equal the server exactly.
TEST_F(LoadBalancer, RandomOfflineEditsConvergeWhileAnInstanceIsKilledAndRestarted) {
  int failed_syncs = 0;
  size_t created_rows = 0;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    WorldOptions options;
    options.urls = {proxy_->url(), proxy_->url(), proxy_->url()};
    options.rest_port = proxy_->port();
    options.outages = true;
    World world(*this, rng, options);
    world.Build();
    ServerProcess& doomed = *instances_[seed % 3];
    std::mutex mu;
    std::condition_variable cv;
    bool go = false;
    std::thread killer([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return go; });
      doomed.Kill();
    });
    const auto release = [&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        go = true;
      }
      cv.notify_all();
    };
    try {
      for (int i = 0; i < 250; ++i) {
        if (i == 60) release();
        if (i == 120) {
          // The rest of the run until 190 goes on with the instance out of
          // the proxy's rotation.
          killer.join();
          ASSERT_FALSE(doomed.running());
          ASSERT_TRUE(
              proxy_->WaitForBackend(static_cast<int>(seed % 3), "DOWN", std::chrono::seconds(15)));
        }
        if (i == 190) doomed.Start();  // back in once two checks pass
        world.Step();
      }
    } catch (...) {
      release();
      if (killer.joinable()) killer.join();
      throw;
    }
    ASSERT_TRUE(proxy_->WaitForBackend(static_cast<int>(seed % 3), "UP", std::chrono::seconds(15)));
    world.Converge();
    world.Check();
    failed_syncs += world.failed_syncs();
    created_rows += world.created_rows();
    if (HasFailure()) break;
  }
  RecordProperty("failed_syncs", failed_syncs);
  RecordProperty("created_rows", static_cast<int>(created_rows));
}

TEST_F(LoadBalancer, AWatcherParkedOnOneInstanceIsWokenByAWriteOnAnother) {
  Device a = NewAccount("a", proxy_->url());
  Device b = NewAccount("b", proxy_->url());
  const std::string project = SharedProject(a, b, "editor");
  for (int round_no = 0; round_no < 3; ++round_no) {
    client::SyncReport round;
    std::thread watcher([&] { round = b.sync->WatchRound(std::chrono::seconds(30)); });
    // Find the instance b's long poll parked on (through the proxy: any).
    int parked = -1;
    PollUntil(
        [&] {
          for (int i = 0; i < 3; ++i) {
            const int port = instances_[static_cast<size_t>(i)]->port();
            if (MetricOf(port, "vemakin_sync_pulls_waiting") >= 1) parked = i;
          }
          return parked >= 0;
        },
        std::chrono::seconds(15));
    if (parked < 0) {
      watcher.join();
      FAIL() << "the watcher's pull never parked";
    }
    const int parked_port = instances_[static_cast<size_t>(parked)]->port();
    const double woken = MetricOf(parked_port, "vemakin_sync_pulls_woken_total");
    // The write goes to another instance, directly.
    const int writer = (parked + 1 + round_no % 2) % 3;
    ApiClient rest = LoginAt(instances_[static_cast<size_t>(writer)]->port(), a);
    const auto start = std::chrono::steady_clock::now();
    const Resp created = rest.Post(
        "/api/notes", {{"project_id", project}, {"title", "On " + std::to_string(writer + 1)}});
    watcher.join();
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(created.status, 201) << created.raw;
    EXPECT_GE(round.pulled, 1);
    EXPECT_LT(took, std::chrono::seconds(15));  // woken, not timed out (30 s)
    EXPECT_EQ(MetricOf(parked_port, "vemakin_sync_pulls_woken_total"), woken + 1);
    EXPECT_EQ(b.store->Get(Collection::kNotes, created.body.at("id")).at("title"),
              "On " + std::to_string(writer + 1));
  }
  ExpectConverged(b);
}

std::string LoginRequest(const std::string& email, const std::string& extra_headers = "") {
  const std::string body = json{{"email", email}, {"password", "not the password at all"}}.dump();
  return "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

int StatusOf(const std::string& raw) {
  return raw.size() > 12 ? std::atoi(raw.substr(9, 3).c_str()) : 0;
}

// Wrong passwords are limited per (email, client address). Behind the proxy
// every connection comes from 127.0.0.1; the instances trust it and count
// the address it forwards, so a client that keeps failing (127.0.0.2) is held
// off while another (127.0.0.3) is not, and what a client writes in
// X-Forwarded-For itself changes nothing.
TEST_F(LoadBalancer, RateLimitsCountTheClientTheTrustedProxyForwards) {
  Device owner = NewAccount("owner", proxy_->url());
  // Limits live in each instance (10 failures each, docs/deployment.md):
  // 40 failures reach all three past their budget.
  int last = 0;
  for (int i = 0; i < 40; ++i) {
    last = StatusOf(RawExchange(proxy_->port(),
                                LoginRequest(owner.email, "X-Forwarded-For: 127.0.0.9\r\n"), 10000,
                                "127.0.0.2"));
    ASSERT_TRUE(last == 401 || last == 429) << last;
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(StatusOf(RawExchange(proxy_->port(), LoginRequest(owner.email), 10000, "127.0.0.2")),
              429);
  }
  // Another client is not held off, nor is the address .2 claimed to forward for.
  for (const char* source : {"127.0.0.3", "127.0.0.9"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(StatusOf(RawExchange(proxy_->port(), LoginRequest(owner.email), 10000, source)),
                401)
          << source;
    }
  }
}

// The same rules on an in-process server, with the test as the proxy.
class TrustedProxy : public ::testing::Test {
 protected:
  static std::string Get(int port, const std::string& path, const std::string& headers,
                         const char* source) {
    return RawExchange(
        port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "Connection: close\r\n\r\n",
        10000, source);
  }
};

TEST_F(TrustedProxy, TheAdminRouteIsLocalOnlyForAClientThatIsLocal) {
  server::ServerOptions o;
  o.trusted_proxies = {"127.0.0.1"};
  auto trusting = StartTestServer(o);
  const int port = trusting->port();
  EXPECT_EQ(StatusOf(Get(port, "/admin/pool-status", "", "127.0.0.1")), 200);
  // A loopback proxy relaying a remote client.
  EXPECT_EQ(
      StatusOf(Get(port, "/admin/pool-status", "X-Forwarded-For: 198.51.100.7\r\n", "127.0.0.1")),
      404);
  // A local client behind the local proxy.
  EXPECT_EQ(
      StatusOf(Get(port, "/admin/pool-status", "X-Forwarded-For: 127.0.0.5\r\n", "127.0.0.1")),
      200);
  // A peer we do not trust, with forwarding headers: relayed by a proxy
  // nobody told us about.
  EXPECT_EQ(
      StatusOf(Get(port, "/admin/pool-status", "X-Forwarded-For: 127.0.0.1\r\n", "127.0.0.2")),
      404);
  auto plain = StartTestServer();
  for (const char* h : {"X-Forwarded-For: 127.0.0.1\r\n", "Forwarded: for=127.0.0.1\r\n",
                        "X-Real-IP: 127.0.0.1\r\n"}) {
    EXPECT_EQ(StatusOf(Get(plain->port(), "/admin/pool-status", h, "127.0.0.1")), 404) << h;
  }
  EXPECT_EQ(StatusOf(Get(plain->port(), "/admin/pool-status", "", "127.0.0.1")), 200);
}

TEST_F(TrustedProxy, LoginFailuresCountTheForwardedClientAndOnlyFromATrustedPeer) {
  server::ServerOptions o;
  o.trusted_proxies = {"127.0.0.1"};
  auto s = StartTestServer(o);
  ApiClient api(s->port());
  api.Register();
  const std::string email = api.email;
  const auto attempt = [&](const char* xff, const char* source) {
    return StatusOf(
        RawExchange(s->port(), LoginRequest(email, std::string("X-Forwarded-For: ") + xff + "\r\n"),
                    10000, source));
  };
  for (int i = 0; i < 10; ++i) ASSERT_EQ(attempt("198.51.100.7", "127.0.0.1"), 401);
  EXPECT_EQ(attempt("198.51.100.7", "127.0.0.1"), 429);
  EXPECT_EQ(attempt("198.51.100.8", "127.0.0.1"), 401);  // another client behind the proxy
  // An untrusted peer's header is its own words: its failures count for it.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(attempt("198.51.100.9", "127.0.0.2"), 401);
  EXPECT_EQ(attempt("198.51.100.9", "127.0.0.2"), 429);
  EXPECT_EQ(attempt("198.51.100.9", "127.0.0.1"), 401);
}

TEST_F(TrustedProxy, TheConnectionCapPerAddressSparesTrustedProxies) {
  server::ServerOptions o;
  o.trusted_proxies = {"127.0.0.1"};
  o.max_connections_per_address = 2;
  auto s = StartTestServer(o);
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) held.push_back(ConnectTcp(s->port(), "127.0.0.2"));
  for (int i = 0; i < 4; ++i) held.push_back(ConnectTcp(s->port(), "127.0.0.1"));
  EXPECT_EQ(StatusOf(Get(s->port(), "/health", "", "127.0.0.2")), 429);
  EXPECT_EQ(StatusOf(Get(s->port(), "/health", "", "127.0.0.1")), 200);
  for (int fd : held) ::close(fd);
}

}  // namespace
}  // namespace vemakin::testing
