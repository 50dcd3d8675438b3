#include "tests/e2e/api_test_support.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "server/catalog_seed.h"

namespace vemakin::testing {

std::string TestApplicationName() { return "vemakin-test-" + std::to_string(::getpid()); }

void UseTestDatabase(server::ServerOptions& options) {
  options.database_url = TestDatabaseUrl();
  if (const std::string pooler = TestPoolerUrl(); !pooler.empty()) {
    // The suite runs through PgBouncer in transaction mode; the bell (LISTEN)
    // stays on a direct connection, as deployed.
    if (options.listen_database_url.empty()) options.listen_database_url = options.database_url;
    // Named after this test process, so PgBouncer's SHOW CLIENTS tells its
    // connections from those of tests running beside it.
    options.database_url = pooler + " application_name=" + TestApplicationName();
    options.transaction_pooler = true;
  }
}

std::unique_ptr<TestServer> StartTestServer(server::ServerOptions options) {
  try {
    return std::make_unique<TestServer>(std::move(options));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the test server did not start: %s\n", e.what());
    std::fflush(stderr);
    std::_Exit(1);
  }
}

TestServer::TestServer(server::ServerOptions options) {
  schema_.MigrateUp();
  {
    auto conn = schema_.Connect();
    server::SeedCatalog(*conn);
  }
  UseTestDatabase(options);
  options.schema = schema_.name();
  options.listen = "127.0.0.1:0";
  if (!options.logger) options.logger = std::make_shared<NullLogger>();
  server_ = std::make_unique<server::Server>(options);
  server_->Start();
}

TestServer::~TestServer() { server_->Stop(); }

ApiClient::ApiClient(int port) : http_("127.0.0.1", port) {
  http_.set_keep_alive(true);
  http_.set_read_timeout(30, 0);
}

httplib::Headers ApiClient::Headers() const {
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return h;
}

Resp ApiClient::Wrap(const httplib::Result& r) {
  Resp out;
  EXPECT_TRUE(r || through_outages) << "no response: " << httplib::to_string(r.error());
  if (!r) return out;
  out.status = r->status;
  out.raw = r->body;
  out.headers = r->headers;
  out.body = json::parse(r->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  if (through_outages && (out.status == 502 || out.status == 503 || out.status == 504)) {
    // The proxy's own answer (the instance died under this request), or the
    // server's while its database is away.
    if (r->has_header("X-Request-Id")) {
      EXPECT_TRUE(r->has_header("X-Request-Time")) << out.raw;
    }
    return out;
  }
  // Every response carries these, whatever its status.
  EXPECT_TRUE(r->has_header("X-Request-Id")) << out.raw;
  EXPECT_TRUE(r->has_header("X-Request-Time")) << out.raw;
  EXPECT_LT(out.status, 500) << out.raw;
  return out;
}

Resp ApiClient::Get(const std::string& path) { return Wrap(http_.Get(path, Headers())); }
Resp ApiClient::Post(const std::string& path, const json& body) {
  return Wrap(http_.Post(path, Headers(), body.dump(), "application/json"));
}
Resp ApiClient::PostRaw(const std::string& path, const std::string& body) {
  return Wrap(http_.Post(path, Headers(), body, "application/json"));
}
Resp ApiClient::Patch(const std::string& path, const json& body) {
  return Wrap(http_.Patch(path, Headers(), body.dump(), "application/json"));
}
Resp ApiClient::Delete(const std::string& path) { return Wrap(http_.Delete(path, Headers())); }

json ApiClient::Register(const std::string& name) {
  static std::atomic<int> counter{0};
  email = "crew" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "@example.com";
  token.clear();
  const Resp r = Post("/api/auth/register",
                      {{"email", email}, {"password", "correct horse battery"}, {"name", name}});
  EXPECT_EQ(r.status, 201) << r.raw;
  token = r.body.value("token", "");
  return r.body.value("user", json::object());
}

int ConnectTcp(int port, const char* source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (source != nullptr) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string RawExchange(int port, const std::string& request, int timeout_ms, const char* source) {
  const int fd = ConnectTcp(port, source);
  if (fd < 0) return "";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  pollfd pfd{fd, POLLIN, 0};
  while (::poll(&pfd, 1, timeout_ms) > 0) {
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

double MetricOf(int port, const std::string& name) {
  return MetricAt("http://127.0.0.1:" + std::to_string(port), name);
}

double MetricAt(const std::string& base, const std::string& name, const std::string& ca_file) {
  httplib::Client http(base);
  if (!ca_file.empty()) {
    http.set_ca_cert_path(ca_file);
    http.enable_server_certificate_verification(true);
  }
  const auto r = http.Get("/metrics");
  if (!r) return -1;
  const size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(r->body.c_str() + at + name.size() + 2);
}

bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string RandomUuid() {
  static std::mutex mu;
  static std::mt19937_64 gen{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  char buf[40];
  const unsigned long long a = gen(), b = gen();
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx", a >> 32,
                (a >> 16) & 0xffff, a & 0xfff, (b >> 48) & 0xfff, b & 0xffffffffffffULL);
  return buf;
}

long RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace vemakin::testing
