// Running the real binaries from tests: a finished run with its output, or a
// started child whose stderr lines can be awaited (with a deadline, never a
// sleep) and which is killed on destruction if still running.
#ifndef VEMAKIN_TESTS_SUPPORT_PROCESS_H_
#define VEMAKIN_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vemakin::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv to completion (stdin is /dev/null).
RunResult Run(const std::vector<std::string>& argv);
// Runs argv to completion with `input` as its stdin (a pipe, closed after it;
// at most a pipe's buffer, 64 KiB), or /dev/null when nullopt.
RunResult RunWithInput(const std::vector<std::string>& argv,
                       const std::optional<std::string>& input);

// A run on a pseudo-terminal: everything the terminal showed (stdout and
// stderr, plus whatever the terminal echoed of what was typed).
struct TerminalRun {
  int exit_code = -1;
  std::string screen;
  bool timed_out = false;
};
// Runs argv with a pseudo-terminal as stdin, stdout and stderr. For each
// (prompt, reply) of `script`, waits until `prompt` is shown, then types
// `reply`; then reads until the program closes the terminal. The child is
// killed when `timeout` passes first (timed_out).
TerminalRun RunOnTerminal(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& script,
                          std::chrono::milliseconds timeout);

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // SIGKILL + reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stderr until a line containing `needle` arrives; returns that line,
  // or nullopt at EOF or when `timeout` passes.
  std::optional<std::string> WaitForStderrLine(const std::string& needle,
                                               std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // Everything read from stderr so far.
  const std::string& stderr_text() const { return err_; }
  // Sends `sig` and waits for exit (reading the rest of stderr); returns the exit code.
  int SignalAndWait(int sig);

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
  size_t scanned_ = 0;
};

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_SUPPORT_PROCESS_H_
