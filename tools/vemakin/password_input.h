// Where the CLI's `register` and `login` get a password, so that it need not
// sit in argv (visible to every local user in /proc and the shell history):
// `--password-stdin` reads one line from standard input; with neither flag, a
// terminal prompts for it without echo (termios). `--password P` still works
// for scripts that accept the exposure.
#ifndef VEMAKIN_TOOLS_VEMAKIN_PASSWORD_INPUT_H_
#define VEMAKIN_TOOLS_VEMAKIN_PASSWORD_INPUT_H_

#include <optional>
#include <string>

namespace vemakin::cli {

struct PasswordFlags {
  std::optional<std::string> password;  // --password
  bool from_stdin = false;              // --password-stdin
};

// The password of `flags`: the flag's value; else one line of stdin (its
// trailing "\n" or "\r\n" removed); else, when stdin is a terminal, what is
// typed at a prompt on stderr with echo off (twice when `confirm`, as for a
// new account), the terminal restored afterwards even on Ctrl-C. Throws
// Error(kInvalidArgument) when stdin has no line, the two entries differ,
// or there is no terminal to prompt on.
std::string ReadPassword(const PasswordFlags& flags, bool confirm);

// One secret without the flag: the next line of stdin when `from_stdin`,
// else typed at `prompt` as above (twice when `confirm`). Throws as above.
std::string ReadSecret(bool from_stdin, const std::string& prompt, bool confirm);

}  // namespace vemakin::cli

#endif  // VEMAKIN_TOOLS_VEMAKIN_PASSWORD_INPUT_H_
