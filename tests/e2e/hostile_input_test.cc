// Malformed and hostile input against a real listener: every answer is a
// 4xx with a JSON body (never a 5xx, never a crash), slow clients are cut
// off, and memory returns to normal afterwards.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <mutex>

#include "tests/e2e/api_test_support.h"
#include "tests/support/process.h"

namespace vemakin::testing {
namespace {

using namespace std::chrono_literals;

int StatusOf(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return -1;
  return std::stoi(raw.substr(9, 3));
}

class Hostile : public ServerSuite {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.request_timeout = 1500ms;  // slowloris cut-off
    o.max_body_bytes = 1 << 20;
    StartServer(o);
  }
};

class HostileApi : public Hostile {
 protected:
  void SetUp() override {
    client_ = std::make_unique<ApiClient>(port());
    client_->Register();
    project_ = client_->Post("/api/projects", {{"name", "P"}}).body.at("id");
  }
  std::unique_ptr<ApiClient> client_;
  std::string project_;
};

TEST_F(HostileApi, WrongTypesGet422ListingEveryField) {
  const Resp r = client_->Post("/api/shots", {{"project_id", project_},
                                              {"title", 42},
                                              {"location_lat", "north"},
                                              {"equipment_ids", "all"},
                                              {"status", true}});
  ASSERT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body.at("detail").size(), 4u);
}

TEST_F(HostileApi, BadSyncParametersGetClear4xx) {
  const std::string uuid = RandomUuid();
  for (const std::string& path :
       {std::string("/api/sync/pull?cursor=abc"), std::string("/api/sync/pull?cursor=1.-2"),
        std::string("/api/sync/pull?cursor=99999999999999999999.1"),
        std::string("/api/sync/pull?wait=-1"), std::string("/api/sync/pull?limit=0"),
        std::string("/api/sync/snapshot?after=zzz"), std::string("/api/sync/snapshot?after=s~x~"),
        "/api/sync/snapshot?after=s~" + project_ + "~not-a-cursor",
        std::string("/api/sync/snapshot?project=42"), std::string("/api/sync/snapshot?limit=abc"),
        "/api/sync/snapshot?project=" + project_ + "&after=s~" + uuid + "~"}) {
    const Resp r = client_->Get(path);
    EXPECT_EQ(r.status, 422) << path << " " << r.raw;
    EXPECT_TRUE(r.body.contains("detail")) << path;
  }
  EXPECT_EQ(client_->Get("/api/sync/snapshot?project=" + uuid).status, 404);
  EXPECT_EQ(client_->PostRaw("/api/sync/push", "{\"client_id\": 1, \"mutations\": {}}").status,
            422);
  const Resp huge =
      client_->Post("/api/sync/push", {{"client_id", RandomUuid()}, {"mutations", json::array()}});
  EXPECT_EQ(huge.status, 200) << huge.raw;  // an empty push is fine
}

TEST_F(HostileApi, MalformedJsonAndInvalidUtf8Get400) {
  EXPECT_EQ(client_->PostRaw("/api/shots", "{\"title\": ").status, 400);
  EXPECT_EQ(
      client_->PostRaw("/api/shots", "{\"project_id\":\"" + project_ + "\",\"title\":\"\xff\xfe\"}")
          .status,
      400);
  EXPECT_EQ(client_->PostRaw("/api/shots", "").status, 400);
  EXPECT_EQ(client_->PostRaw("/api/shots", "[]").status, 422);
  EXPECT_EQ(client_->PostRaw("/api/projects", "[]").status, 422);
  EXPECT_EQ(client_->PostRaw("/api/projects", "\"name\"").status, 422);
}

TEST_F(HostileApi, NulCharactersGet422) {
  const Resp r = client_->PostRaw(
      "/api/shots", "{\"project_id\":\"" + project_ + "\",\"title\":\"bad\\u0000title\"}");
  EXPECT_EQ(r.status, 422) << r.raw;
}

// nlohmann's lexer stops at a raw NUL byte: without a check, the text after
// it would go unread and the body before it would be accepted.
TEST_F(HostileApi, RawNulByteAnywhereInABodyGets400) {
  std::string body = "{\"name\":\"P\"}";
  body += '\0';
  body += "garbage that must not be ignored";
  const Resp after = client_->PostRaw("/api/projects", body);
  EXPECT_EQ(after.status, 400) << after.raw;
  std::string inside = "{\"name\":\"P";
  inside += '\0';
  inside += "\"}";
  EXPECT_EQ(client_->PostRaw("/api/projects", inside).status, 400);
  EXPECT_EQ(client_->Get("/api/projects").body.at("total"), 1);  // only SetUp's project
}

TEST_F(HostileApi, DeeplyNestedJsonGets400) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(client_->PostRaw("/api/shots", deep).status, 400);
  const std::string deep_obj = "{\"project_id\":\"" + project_ +
                               "\",\"title\":\"t\",\"x\":" + std::string(10000, '[') +
                               std::string(10000, ']') + "}";
  EXPECT_EQ(client_->PostRaw("/api/shots", deep_obj).status, 400);
}

// PostgreSQL's jsonb prints every digit of a number: "1e308" in settings
// would read back as 309 characters, a 1 MiB body of them as 50 MB on every
// read of the profile. Such numbers are refused; ordinary ones are kept.
TEST_F(HostileApi, SettingsNumbersThatWouldPrintHugeGet422) {
  for (const char* n : {"1e308", "-1e300", "1e-300", "1e15"}) {
    const json settings = {{"a", json::array({1, {{"b", json::parse(n)}}})}};
    const Resp patch = client_->Patch("/api/users/me", {{"settings", settings}});
    EXPECT_EQ(patch.status, 422) << n << " " << patch.raw;
  }
  const Resp ok = client_->Patch("/api/users/me",
                                 {{"settings", {{"zoom", 1.25}, {"big", 123456789012345678}}}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(client_->Get("/api/users/me").body.at("settings").at("zoom"), 1.25);
}

TEST_F(HostileApi, SqlInjectionStringsAreStoredVerbatim) {
  const std::string evil = "'; DROP TABLE shots; -- \" OR 1=1 /* $1 \\";
  const Resp r = client_->Post("/api/shots", {{"project_id", project_}, {"title", evil}});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(client_->Get("/api/shots/" + r.body.at("id").get<std::string>()).body.at("title"),
            evil);
  EXPECT_EQ(client_->Get("/api/shots?project_id=" + project_ + "&status=%27%20OR%201%3D1").status,
            422);
}

TEST_F(Hostile, OversizedBodyGets413) {
  ApiClient c(port());
  c.Register();
  const std::string body = "{\"name\":\"" + std::string(5 << 20, 'x') + "\"}";
  EXPECT_EQ(c.PostRaw("/api/projects", body).status, 413);
}

TEST_F(Hostile, ChunkedHundredMegabyteBodyGets413) {
  const int fd = ConnectTcp(port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\n\r\n";
  ASSERT_GT(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), 0);
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
  std::string response;
  for (size_t sent = 0; sent < (100u << 20) && response.empty(); sent += 0x10000) {
    if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) response.assign(buf, static_cast<size_t>(n));
    }
  }
  if (response.empty()) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) > 0) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) response.assign(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  EXPECT_EQ(StatusOf(response), 413) << response.substr(0, 200);
}

TEST_F(Hostile, AmbiguousFramingGets400) {
  const std::string two_lengths =
      "POST /api/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}";
  EXPECT_EQ(StatusOf(RawExchange(port(), two_lengths)), 400);
  const std::string length_and_chunked =
      "POST /api/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
      "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), length_and_chunked)), 400);
  EXPECT_EQ(StatusOf(RawExchange(port(), "GARBAGE\r\n\r\n")), 400);
}

// Beast reads a request whose Transfer-Encoding does not end in chunked as
// bodiless, so its body would be parsed as a second, smuggled request (one a
// front proxy never saw): any coding but plain chunked is refused, and the
// connection closes without reading on.
TEST_F(Hostile, TransferEncodingOtherThanChunkedGets400AndSmugglesNothing) {
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string coding : {"gzip", "chunked, gzip", "gzip, chunked", "identity", "x"}) {
    const std::string raw =
        "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + "\r\n\r\n" +
        smuggled;
    const std::string response = RawExchange(port(), raw);
    EXPECT_EQ(StatusOf(response), 400) << coding << ": " << response.substr(0, 200);
    EXPECT_EQ(response.find("HTTP/1.1 ", 1), std::string::npos) << coding << ": two responses";
  }
  const std::string twice =
      "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), twice)), 400);
  const std::string http10 =
      "POST /api/projects HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n";
  const std::string answer10 = RawExchange(port(), http10);
  EXPECT_NE(answer10.find(" 400 "), std::string::npos) << answer10.substr(0, 200);
  // Plain chunked still works (an unauthenticated create: 401, not 400).
  const std::string chunked =
      "POST /api/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n"
      "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), chunked)), 401);
}

// Compressed request bodies: gzip only (sync pushes use it), inflated no
// further than the body cap; a bomb gets 413, broken gzip 400, others 415.
TEST_F(Hostile, CompressedBodiesAreBoundedOrRefused) {
  auto post = [&](const std::string& encoding, const std::string& body) {
    return StatusOf(RawExchange(
        port(),
        "POST /api/projects HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Encoding: " +
            encoding + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  };
  EXPECT_EQ(post("gzip", std::string("\x1f\x8b\x08\x00", 4)), 400);  // truncated
  EXPECT_EQ(post("br", "abc"), 415);
  // 64 MiB of zeros, about 64 KiB compressed.
  std::string bomb;
  {
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    const std::string zeros(1 << 20, '\0');
    char out[1 << 16];
    for (int i = 0; i < 64; ++i) {
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
      z.avail_in = static_cast<uInt>(zeros.size());
      do {
        z.next_out = reinterpret_cast<Bytef*>(out);
        z.avail_out = sizeof out;
        deflate(&z, i == 63 ? Z_FINISH : Z_NO_FLUSH);
        bomb.append(out, sizeof out - z.avail_out);
      } while (z.avail_out == 0);
    }
    deflateEnd(&z);
  }
  ASSERT_LT(bomb.size(), 1u << 20);
  EXPECT_EQ(post("gzip", bomb), 413);
  // A well-formed gzip'd body is an ordinary request (401 here: no token).
  httplib::Client http("127.0.0.1", port());
  http.set_compress(true);
  const auto r = http.Post("/api/projects", R"({"name": "P"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << r->body;
}

TEST_F(Hostile, OversizedHeadersAndUrlsGet431And414) {
  const std::string big_header =
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), big_header)), 431);
  const std::string long_path =
      "GET /api/" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port(), long_path)), 414);
}

TEST_F(Hostile, SlowlorisClientsAreDisconnected) {
  const int fd = ConnectTcp(port());
  ASSERT_GE(fd, 0);
  const std::string start = "GET /health HTTP/1.1\r\nHost: x\r\n";
  ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
  bool closed = false;
  // One header line every 250 ms, for at most 10 s; the deadline is 1.5 s.
  for (int i = 0; i < 40 && !closed; ++i) {
    const std::string line = "X-Slow-" + std::to_string(i) + ": y\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) <= 0) {
      closed = true;
      break;
    }
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 250) > 0) {
      char buf[256];
      closed = ::recv(fd, buf, sizeof buf, 0) <= 0;
    }
  }
  ::close(fd);
  EXPECT_TRUE(closed);
}

TEST_F(Hostile, ThousandIdleKeepAliveConnectionsDoNotBlockANewRequest) {
  rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 4096 && lim.rlim_max >= 4096) {
    lim.rlim_cur = 4096;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::vector<int> idle;
  const std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 1000; ++i) {
    // From several loopback addresses: one address may hold 512 at most.
    const std::string source = "127.0.1." + std::to_string(1 + i / 250);
    const int fd = ConnectTcp(port(), source.c_str());
    ASSERT_GE(fd, 0) << "connection " << i;
    ASSERT_GT(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), 0);
    idle.push_back(fd);
  }
  // Each got its answer and now sits idle, kept alive.
  int answered = 0;
  for (int fd : idle) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10000) > 0) {
      char buf[1024];
      if (::recv(fd, buf, sizeof buf, 0) > 0 && std::string(buf, 12) == "HTTP/1.1 200") ++answered;
    }
  }
  EXPECT_EQ(answered, 1000);
  ApiClient fresh(port());
  EXPECT_EQ(fresh.Get("/health").status, 200);
  for (int fd : idle) ::close(fd);
}

TEST_F(Hostile, MemoryReturnsToNormalAfterAbuse) {
  // Under AddressSanitizer freed memory waits in its quarantine (256 MiB by
  // default) before it is reused: the bound allows for it.
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kSlackKiB = (64 + 256 + 64) * 1024;
#else
  constexpr long kSlackKiB = 64 * 1024;
#endif
  ApiClient c(port());
  c.Register();
  const std::string big = "{\"name\":\"" + std::string(900 << 10, 'x') + "\"}";
  c.PostRaw("/api/projects", big);  // warm up allocator pools
  const long before = RssKiB();
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(c.PostRaw("/api/projects", big).status, 422);  // too long a name
    EXPECT_EQ(c.PostRaw("/api/projects", std::string(2 << 20, '[')).status, 413);
  }
  const long after = RssKiB();
  EXPECT_LT(after - before, kSlackKiB) << "RSS grew from " << before << " to " << after << " KiB";
  EXPECT_EQ(c.Get("/health").status, 200);
}

// One JSON access line per request; requests over the threshold are logged as slow.
TEST(ServerLogs, WritesAnAccessLineAndFlagsSlowRequests) {
  class Capture : public Logger {
   public:
    void Log(LogLevel level, std::string_view domain, std::string_view message,
             const nlohmann::json& fields) override {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(nlohmann::json::parse(FormatLogLine(level, domain, message, fields)));
    }
    bool Enabled(LogLevel) const override { return true; }
    std::mutex mu;
    std::vector<nlohmann::json> lines;
  };
  auto capture = std::make_shared<Capture>();
  server::ServerOptions o;
  o.logger = capture;
  o.slow_request = 0ms;
  {
    TestServer ts(o);
    ApiClient c(ts.port());
    EXPECT_EQ(c.Get("/api/projects").status, 401);
  }
  bool found = false;
  std::lock_guard<std::mutex> lock(capture->mu);
  for (const nlohmann::json& line : capture->lines) {
    if (line.value("route", "") != "/api/projects") continue;
    found = true;
    EXPECT_EQ(line.at("msg"), "slow request");
    EXPECT_EQ(line.at("level"), "warning");
    EXPECT_EQ(line.at("status"), 401);
    EXPECT_FALSE(line.at("request_id").get<std::string>().empty());
    EXPECT_TRUE(line.at("duration_ms").is_number());
    EXPECT_TRUE(line.contains("time"));
  }
  EXPECT_TRUE(found);
}

TEST(AdminPoolStatus, PrintsARunningServersPool) {
  TestServer ts;
  const RunResult r = testing::Run(
      {VEMAKIN_ADMIN_BIN, "pool-status", "http://127.0.0.1:" + std::to_string(ts.port())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* key : {"size", "checked_in", "checked_out", "overflow", "waiters"}) {
    EXPECT_NE(r.out.find(key), std::string::npos) << r.out;
  }
  const RunResult down = testing::Run({VEMAKIN_ADMIN_BIN, "pool-status", "http://127.0.0.1:1"});
  EXPECT_EQ(down.exit_code, 2);
  EXPECT_NE(down.err.find("cannot reach"), std::string::npos) << down.err;
}

// A database that cannot be reached gives 503, a statement timeout 504.
TEST(ServerFailures, DatabaseDownGives503) {
  server::ServerOptions o;
  o.database_url = "postgresql://nobody@127.0.0.1:1/none";
  o.connect_timeout = 2s;
  o.listen = "127.0.0.1:0";
  o.logger = std::make_shared<NullLogger>();
  server::Server s(o);
  s.Start();
  httplib::Client http("127.0.0.1", s.port());
  const auto r = http.Get("/api/projects", {{"Authorization", "Bearer x"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  EXPECT_EQ(r->body.find("postgres"), std::string::npos);
  const auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
}

TEST(ServerFailures, StatementTimeoutGives504) {
  server::ServerOptions o;
  o.statement_timeout = 300ms;
  TestServer ts(o);
  ApiClient c(ts.port());
  c.Register();
  const std::string p = c.Post("/api/projects", {{"name", "P"}}).body.at("id");
  // Another session holds the project's counter row: the insert trigger waits on it.
  auto conn = ts.Connect();
  pqxx::work lock(*conn);
  lock.exec_params("SELECT * FROM project_stats WHERE project_id = $1 FOR UPDATE", p);
  httplib::Client http("127.0.0.1", ts.port());
  const auto r =
      http.Post("/api/shots", {{"Authorization", "Bearer " + c.token}},
                json{{"project_id", p}, {"title", "Blocked"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_EQ(json::parse(r->body).at("detail"), "the query took too long");
  lock.abort();
  EXPECT_EQ(c.Post("/api/shots", {{"project_id", p}, {"title", "Free"}}).status, 201);
}

}  // namespace
}  // namespace vemakin::testing
