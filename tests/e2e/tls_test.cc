// HTTPS (issue 12): the listener serves TLS 1.2 and 1.3 itself with a
// certificate from a private CA made here by the openssl command; the client
// verifies the server against that CA (--ca-file) and refuses an unknown one;
// SIGHUP makes the real binary use a renewed certificate, and keeps the old
// one when the new files are unusable.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/sync_test_support.h"
#include "tests/support/deployment.h"
#include "tests/support/process.h"

namespace vemakin::testing {
namespace {

namespace fs = std::filesystem;

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vemakin-tls-" + RandomUuid().substr(0, 8));
    fs::create_directories(dir_);
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", Path("ca.key"), "-out", Path("ca.pem"), "-days", "2", "-subj",
             "/CN=Vemakin Test CA"});
    IssueServerCertificate("one");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string Path(const std::string& name) { return (dir_ / name).string(); }
  static RunResult Openssl(const std::vector<std::string>& args,
                           const std::optional<std::string>& input = std::string()) {
    std::vector<std::string> argv = {"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunWithInput(argv, input);
    return r;
  }
  // server.pem/server.key for 127.0.0.1 and localhost, named `cn`, signed by the CA.
  static void IssueServerCertificate(const std::string& cn) {
    std::ofstream(dir_ / "ext.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    const RunResult csr =
        Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 Path("next.key"), "-out", Path("next.csr"), "-subj", "/CN=" + cn});
    ASSERT_EQ(csr.exit_code, 0) << csr.err;
    const RunResult sign = Openssl({"x509", "-req", "-in", Path("next.csr"), "-CA", Path("ca.pem"),
                                    "-CAkey", Path("ca.key"), "-CAcreateserial", "-out",
                                    Path("next.pem"), "-days", "2", "-extfile", Path("ext.cnf")});
    ASSERT_EQ(sign.exit_code, 0) << sign.err;
    // In place as a renewal would land: each file replaced whole.
    fs::rename(dir_ / "next.key", dir_ / "server.key");
    fs::rename(dir_ / "next.pem", dir_ / "server.pem");
  }
  // What `openssl s_client` makes of the server on `port` with `flags`.
  static RunResult Probe(int port, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {
        "s_client", "-connect",     "127.0.0.1:" + std::to_string(port),
        "-CAfile",  Path("ca.pem"), "-verify_return_error"};
    args.insert(args.end(), flags.begin(), flags.end());
    return Openssl(args, std::string("Q\n"));
  }
  static server::ServerOptions WithTls() {
    server::ServerOptions o;
    o.tls_cert_file = Path("server.pem");
    o.tls_key_file = Path("server.key");
    return o;
  }

  static inline fs::path dir_;
};

TEST_F(Tls, TheListenerSpeaksTls12And13AndNothingOlder) {
  auto s = StartTestServer(WithTls());
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const RunResult r = Probe(s->port(), {version});
    EXPECT_EQ(r.exit_code, 0) << version << r.out << r.err;
    EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;
  }
  // A client that offers TLS 1.1 at most (allowed on its side) is refused.
  const RunResult old = Probe(s->port(), {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  EXPECT_NE(old.exit_code, 0) << old.out;
  // Plain HTTP on the TLS port is not answered as HTTP; the server goes on.
  const std::string plain =
      RawExchange(s->port(), "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000);
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;
  EXPECT_EQ(Probe(s->port(), {"-tls1_3"}).exit_code, 0);
}

TEST_F(Tls, TheClientSyncsOverHttpsWithItsCaAndRefusesAServerItCannotVerify) {
  auto s = StartTestServer(WithTls());
  const std::string url = "https://127.0.0.1:" + std::to_string(s->port());
  const fs::path store_dir = dir_ / ("stores-" + RandomUuid().substr(0, 8));
  fs::create_directories(store_dir);
  client::ClientOptions co;
  co.path = store_dir / "trusting.db";
  auto store = Store::Open(co);
  client::SyncClientOptions so;
  so.ca_file = Path("ca.pem");
  SyncClient sync(*store, so);
  const std::string email = "tls-" + RandomUuid().substr(0, 8) + "@example.com";
  sync.Register(url, email, kPassword, "TLS");
  store->Create(Collection::kProjects, {{"name", "Encrypted"}});
  sync.Sync();
  const client::VerifyReport v = sync.Verify();
  EXPECT_TRUE(v.equal) << v.ToJson().dump(2);

  // Without the private CA the certificate cannot be verified: no sign-in.
  co.path = store_dir / "wary.db";
  auto other = Store::Open(co);
  SyncClient wary(*other);
  try {
    wary.Login(url, email, kPassword);
    ADD_FAILURE() << "signed in over a connection it could not verify";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
  }
}

// A watch parked in a long poll over HTTPS, stopped from another thread, in
// a process whose SIGPIPE is at its default action (killing it): the cut
// TLS connection's writes must neither kill the process nor leave a signal
// for it, and the watch returns well before its poll would.
TEST_F(Tls, StoppingAWatchOverHttpsNeitherRaisesSigpipeNorWaitsForThePoll) {
  signal(SIGPIPE, SIG_DFL);
  auto s = StartTestServer(WithTls());
  const std::string url = "https://127.0.0.1:" + std::to_string(s->port());
  const fs::path store_dir = dir_ / ("watch-" + RandomUuid().substr(0, 8));
  fs::create_directories(store_dir);
  client::ClientOptions co;
  co.path = store_dir / "watching.db";
  auto store = Store::Open(co);
  client::SyncClientOptions so;
  so.ca_file = Path("ca.pem");
  SyncClient sync(*store, so);
  sync.Register(url, "tls-watch-" + RandomUuid().substr(0, 8) + "@example.com", kPassword, "W");
  for (int round = 0; round < 2; ++round) {
    std::chrono::steady_clock::time_point returned;
    std::thread watcher([&] {
      sync.Watch(std::chrono::seconds(30), [](const client::SyncReport&) { return true; });
      returned = std::chrono::steady_clock::now();
    });
    const bool was_parked =
        PollUntil([&] { return MetricAt(url, "vemakin_sync_pulls_waiting", Path("ca.pem")) >= 1; },
                  std::chrono::seconds(20));
    const auto stopped = std::chrono::steady_clock::now();
    sync.StopWatch();
    watcher.join();
    ASSERT_TRUE(was_parked) << "the watch never parked";
    EXPECT_LT(returned - stopped, std::chrono::seconds(10));
    sigset_t pending;
    sigpending(&pending);
    EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "a SIGPIPE was left pending";
  }
  EXPECT_EQ(sync.Sync().pushed, 0);  // and the connection is usable again
}

TEST_F(Tls, TheCliWarnsBeforeSendingAPasswordOverPlainHttpToAnotherHost) {
  const fs::path db = dir_ / ("cli-" + RandomUuid().substr(0, 8) + ".db");
  const RunResult r =
      RunWithInput({VEMAKIN_CLI_BIN, "--db", db.string(), "login", "--server", "http://0.0.0.0:1",
                    "--email", "x@example.com", "--password-stdin"},
                   std::string("secret password\n"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("plain HTTP"), std::string::npos) << r.err;
  const RunResult local =
      RunWithInput({VEMAKIN_CLI_BIN, "--db", db.string(), "login", "--server", "http://127.0.0.1:1",
                    "--email", "x@example.com", "--password-stdin"},
                   std::string("secret password\n"));
  EXPECT_EQ(local.err.find("plain HTTP"), std::string::npos) << local.err;
}

TEST_F(Tls, SighupMakesTheServerUseARenewedCertificateAndKeepsItWhenTheNewOneIsBroken) {
  const int port = FreePort();
  ChildProcess server({VEMAKIN_SERVER_BIN, "--database-url", TestDatabaseUrl(), "--listen",
                       "127.0.0.1:" + std::to_string(port), "--tls-cert", Path("server.pem"),
                       "--tls-key", Path("server.key"), "--log-level", "info"});
  ASSERT_TRUE(server.WaitForStderrLine("listening on https://", std::chrono::seconds(30)))
      << server.stderr_text();
  auto subject = [&] {
    const RunResult r = Probe(port, {"-tls1_3"});
    const size_t at = r.out.find("subject=");
    return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
  };
  EXPECT_NE(subject().find("one"), std::string::npos);
  IssueServerCertificate("two");
  ::kill(server.pid(), SIGHUP);
  ASSERT_TRUE(server.WaitForStderrLine("TLS certificate reloaded", std::chrono::seconds(10)))
      << server.stderr_text();
  EXPECT_NE(subject().find("two"), std::string::npos);
  // A broken renewal: the server says so and goes on with what it had.
  std::ofstream(dir_ / "server.pem") << "not a certificate\n";
  ::kill(server.pid(), SIGHUP);
  ASSERT_TRUE(server.WaitForStderrLine("not reloaded", std::chrono::seconds(10)))
      << server.stderr_text();
  EXPECT_NE(subject().find("two"), std::string::npos);
  IssueServerCertificate("one");  // for the other tests of the suite
  EXPECT_EQ(server.SignalAndWait(SIGTERM), 0);
}

}  // namespace
}  // namespace vemakin::testing
