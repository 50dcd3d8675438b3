// Test support for deployments as users run them (issue 12): vemakin-server
// binaries as child processes on ports of their own, and Debian's HAProxy in
// front of them with the repository's own configuration
// (deploy/haproxy/vemakin.cfg, read verbatim). Each child's output goes to a
// file in the test's folder (a pipe nobody reads would block a chatty child);
// every child is killed and reaped when its object goes, and dies with the
// test process if that is killed first.
#ifndef VEMAKIN_TESTS_SUPPORT_DEPLOYMENT_H_
#define VEMAKIN_TESTS_SUPPORT_DEPLOYMENT_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace vemakin::testing {

// A port on 127.0.0.1 that was free a moment ago (bound, read, released).
int FreePort();

// One child process; stdout and stderr appended to `log`.
class Child {
 public:
  Child() = default;
  ~Child();  // SIGKILL + reap when running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void Spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
             const std::vector<std::string>& env = {});  // env: extra "KEY=VALUE"
  void Kill(int sig = 9);                                // sends `sig`, waits for the exit
  bool running() const { return pid_ > 0; }
  // True (and reaped) when the child has exited on its own.
  bool Exited();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// The vemakin-server binary over `schema` of the test database, on `port`,
// with `extra` flags. Start() returns once GET /health answers.
class ServerProcess {
 public:
  ServerProcess(std::string schema, int port, std::filesystem::path log,
                std::vector<std::string> extra = {});
  void Start();
  void Kill() { child_.Kill(9); }  // as a crash would: no clean shutdown
  bool running() const { return child_.running(); }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string schema_;
  int port_;
  std::filesystem::path log_;
  std::vector<std::string> extra_;
  Child child_;
};

// HAProxy with deploy/haproxy/vemakin.cfg in front of three backends, and an
// admin socket to read the state its health checks give each one.
class HaProxy {
 public:
  HaProxy(const std::filesystem::path& dir, const std::vector<int>& backend_ports);
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "UP", "DOWN", ... of backend `i` (0-based) as HAProxy's `show stat` says.
  std::string BackendStatus(int i) const;
  // Waits until backend `i` has `status`; false when `timeout` passes first.
  bool WaitForBackend(int i, const std::string& status, std::chrono::milliseconds timeout) const;
  // The answer of one command on the admin socket.
  std::string Command(const std::string& command) const;

 private:
  std::filesystem::path socket_;
  int port_ = 0;
  Child child_;
};

// Waits until GET /health on 127.0.0.1:port answers 200; false at the deadline.
bool WaitForHealthy(int port, std::chrono::milliseconds timeout);

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_SUPPORT_DEPLOYMENT_H_
