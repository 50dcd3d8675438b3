#include "tools/vemakin/password_input.h"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "core/error.h"

namespace vemakin::cli {
namespace {

// The terminal's settings while a prompt has echo off, for the signal
// handler that puts them back (tcsetattr is async-signal-safe).
termios g_saved;
volatile std::sig_atomic_t g_echo_off = 0;

void RestoreAndReraise(int sig) {
  if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Echo off for its lifetime, on the terminal that is stdin.
class QuietTerminal {
 public:
  QuietTerminal() {
    if (tcgetattr(STDIN_FILENO, &g_saved) != 0) return;
    for (size_t i = 0; i < kSignalCount; ++i) old_[i] = std::signal(kSignals[i], RestoreAndReraise);
    termios quiet = g_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON;
    g_echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    active_ = true;
  }
  ~QuietTerminal() {
    if (!active_) return;
    if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    g_echo_off = 0;
    for (size_t i = 0; i < kSignalCount; ++i) std::signal(kSignals[i], old_[i]);
  }
  QuietTerminal(const QuietTerminal&) = delete;
  QuietTerminal& operator=(const QuietTerminal&) = delete;

 private:
  static constexpr size_t kSignalCount = 4;
  static constexpr int kSignals[kSignalCount] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  void (*old_[kSignalCount])(int) = {};
  bool active_ = false;
};

// One line of stdin without its line ending; nullopt at end of input.
std::optional<std::string> ReadLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string Prompt(const std::string& text) {
  std::optional<std::string> line;
  {
    // Echo goes off before the prompt shows: nothing typed after it appears
    // is ever echoed (and what was typed before it is discarded).
    QuietTerminal quiet;
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
    line = ReadLine();
  }
  std::fputs("\n", stderr);  // the Enter the terminal did not echo
  if (!line) throw Error(ErrorCode::kInvalidArgument, "no password entered");
  return *line;
}

}  // namespace

std::string ReadPassword(const PasswordFlags& flags, bool confirm) {
  if (flags.password) return *flags.password;
  return ReadSecret(flags.from_stdin, "Password", confirm);
}

std::string ReadSecret(bool from_stdin, const std::string& prompt, bool confirm) {
  if (from_stdin) {
    std::optional<std::string> line = ReadLine();
    if (!line || line->empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "--password-stdin: standard input holds no password line");
    }
    return *line;
  }
  if (!isatty(STDIN_FILENO)) {
    throw Error(ErrorCode::kInvalidArgument,
                "no password: use --password-stdin to read it from standard input, or run on a "
                "terminal to be asked for it");
  }
  std::string password = Prompt(prompt + ": ");
  if (confirm && Prompt(prompt + " (again): ") != password) {
    throw Error(ErrorCode::kInvalidArgument, "the two passwords differ; nothing was sent");
  }
  return password;
}

}  // namespace vemakin::cli
