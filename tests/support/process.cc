#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace vemakin::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, int in_fd = -1) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY), 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

RunResult Run(const std::vector<std::string>& argv) { return RunWithInput(argv, std::nullopt); }

RunResult RunWithInput(const std::vector<std::string>& argv,
                       const std::optional<std::string>& input) {
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      (input && pipe2(in_pipe, O_CLOEXEC) != 0)) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = Spawn(argv, out_pipe[1], err_pipe[1], in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (input) {
    close(in_pipe[0]);
    // Small inputs: the pipe's buffer holds them, so this never waits on the child.
    for (size_t sent = 0; sent < input->size();) {
      const ssize_t n = write(in_pipe[1], input->data() + sent, input->size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(in_pipe[1]);
  }
  RunResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

TerminalRun RunOnTerminal(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& script,
                          std::chrono::milliseconds timeout) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) throw std::runtime_error("forkpty failed");
  if (pid == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  TerminalRun result;
  // Reads what the terminal shows until `needle` appears after `from` (or,
  // for an empty needle, until the child closes it); false at the deadline.
  auto read_until = [&](const std::string& needle, size_t from) {
    for (;;) {
      if (!needle.empty() && result.screen.find(needle, from) != std::string::npos) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{master, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) return needle.empty();  // EIO: every holder of the terminal closed it
      result.screen.append(buf, static_cast<size_t>(n));
    }
  };
  size_t from = 0;
  for (const auto& [prompt, reply] : script) {
    if (!read_until(prompt, from)) {
      result.timed_out = true;
      break;
    }
    from = result.screen.find(prompt, from) + prompt.size();
    // Typed once the prompt is shown: a prompt is shown after echo goes off.
    if (write(master, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) break;
  }
  if (!result.timed_out && !read_until("", 0)) result.timed_out = true;
  if (result.timed_out) kill(pid, SIGKILL);
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const int null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = Spawn(argv, null_out, err_pipe[1]);
  close(null_out);
  close(err_pipe[1]);
  err_fd_ = err_pipe[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (err_fd_ >= 0) close(err_fd_);
}

std::optional<std::string> ChildProcess::WaitForStderrLine(const std::string& needle,
                                                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Look for a complete line holding the needle in what has not been scanned.
    size_t line_start = scanned_;
    for (size_t nl; (nl = err_.find('\n', line_start)) != std::string::npos; line_start = nl + 1) {
      const std::string line = err_.substr(line_start, nl - line_start);
      scanned_ = nl + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || err_fd_ < 0) return std::nullopt;
    pollfd pfd = {err_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n <= 0) {
      close(err_fd_);
      err_fd_ = -1;
      return std::nullopt;
    }
    err_.append(buf, static_cast<size_t>(n));
  }
}

int ChildProcess::SignalAndWait(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  if (err_fd_ >= 0) {
    char buf[4096];
    for (ssize_t n; (n = read(err_fd_, buf, sizeof buf)) > 0;)
      err_.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

}  // namespace vemakin::testing
