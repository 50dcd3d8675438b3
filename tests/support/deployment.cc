#include "tests/support/deployment.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/pg_test.h"

namespace vemakin::testing {

namespace fs = std::filesystem;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

Child::~Child() { Kill(9); }

void Child::Spawn(const std::vector<std::string>& argv, const fs::path& log,
                  const std::vector<std::string>& env) {
  if (running()) throw std::runtime_error("already running: " + argv.at(0));
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) throw std::runtime_error("cannot open " + log.string());
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built before fork: the child of a threaded process
  // may only call async-signal-safe functions.
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const std::string& kv : env) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Killed with the test (a CTest timeout) instead of left running.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out);
  close(in);
  pid_ = pid;
}

bool Child::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

void Child::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool WaitForHealthy(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1);
  http.set_read_timeout(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = http.Get("/health"); r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll, with a deadline
  }
  return false;
}

ServerProcess::ServerProcess(std::string schema, int port, fs::path log,
                             std::vector<std::string> extra)
    : schema_(std::move(schema)), port_(port), log_(std::move(log)), extra_(std::move(extra)) {}

void ServerProcess::Start() {
  std::vector<std::string> argv = {VEMAKIN_SERVER_BIN,
                                   "--database-url",
                                   TestDatabaseUrl(),
                                   "--schema",
                                   schema_,
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--pool-size",
                                   "3",
                                   "--max-overflow",
                                   "3",
                                   "--log-level",
                                   "warning"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  child_.Spawn(argv, log_);
  // Healthy, and ours: a free port can be taken by another test's process
  // before our child binds it (it then exits: the port is taken).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool healthy = false;
  while (!healthy && !child_.Exited() && std::chrono::steady_clock::now() < deadline) {
    healthy = WaitForHealthy(port_, std::chrono::milliseconds(200));
  }
  if (!healthy || child_.Exited()) {
    child_.Kill(9);
    throw std::runtime_error("vemakin-server on port " + std::to_string(port_) +
                             " did not become healthy; see " + log_.string());
  }
}

HaProxy::HaProxy(const fs::path& dir, const std::vector<int>& backend_ports)
    : socket_(dir / "haproxy-admin.sock"), port_(FreePort()) {
  if (backend_ports.size() != 3) throw std::invalid_argument("the configuration names three");
  // The global section Debian's haproxy.cfg would give, reduced to what the
  // test reads: the admin socket.
  const fs::path global = dir / "haproxy-global.cfg";
  {
    std::ofstream out(global);
    out << "global\n    stats socket " << socket_.string() << " mode 600 level admin\n";
  }
  std::vector<std::string> env = {"VEMAKIN_LB_BIND=127.0.0.1:" + std::to_string(port_)};
  for (size_t i = 0; i < backend_ports.size(); ++i) {
    env.push_back("VEMAKIN_BACKEND_" + std::to_string(i + 1) +
                  "=127.0.0.1:" + std::to_string(backend_ports[i]));
  }
  const std::string config = std::string(VEMAKIN_SOURCE_DIR) + "/deploy/haproxy/vemakin.cfg";
  child_.Spawn({"/usr/sbin/haproxy", "-db", "-f", global.string(), "-f", config},
               dir / "haproxy.log", env);
  // Up when its frontend accepts and its checks found a healthy backend.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && !child_.Exited()) {
    if (WaitForHealthy(port_, std::chrono::milliseconds(200)) && !child_.Exited()) return;
  }
  child_.Kill(9);
  throw std::runtime_error("HAProxy did not start; see " + (dir / "haproxy.log").string());
}

std::string HaProxy::Command(const std::string& command) const {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot reach HAProxy's admin socket " + socket_.string());
  }
  const std::string line = command + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    throw std::runtime_error("cannot write to HAProxy's admin socket");
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string HaProxy::BackendStatus(int i) const {
  // CSV with a "# pxname,svname,...,status,..." header line.
  std::istringstream csv(Command("show stat"));
  std::string line;
  std::vector<std::string> header;
  const std::string name = "s" + std::to_string(i + 1);
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (line.rfind("# ", 0) == 0) {
      header = cells;
      continue;
    }
    if (cells.size() < 2 || cells[0] != "vemakin_servers" || cells[1] != name) continue;
    for (size_t c = 0; c < header.size() && c < cells.size(); ++c) {
      if (header[c] == "status") return cells[c];
    }
  }
  return "";
}

bool HaProxy::WaitForBackend(int i, const std::string& status,
                             std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // "UP 1/2" while rising, "DOWN 1/2" while falling: only the settled state counts.
    if (BackendStatus(i) == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll, with a deadline
  }
  return false;
}

}  // namespace vemakin::testing
