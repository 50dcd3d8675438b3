#include "tools/vemakin/sync_commands.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "tools/vemakin/password_input.h"
#include "vemakin/client/sync.h"

namespace vemakin::cli {

namespace {

using client::SyncClient;
using client::SyncClientOptions;
using client::SyncProgress;
using client::SyncReport;
using nlohmann::json;

// A one-line progress display on stderr when it is a terminal (and not --json).
class ProgressLine {
 public:
  explicit ProgressLine(const Global& g) : on_(!g.json && isatty(STDERR_FILENO)) {}
  ~ProgressLine() { Finish(); }

  void Update(const SyncProgress& p) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.phase == phase_ && now - last_ < std::chrono::milliseconds(100)) return;
    if (p.phase != phase_) start_ = now;
    phase_ = p.phase;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
    std::string bar;
    if (p.total > 0) {
      const int filled = static_cast<int>(
          30.0 * std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total)));
      bar = "[" + std::string(filled, '#') + std::string(30 - filled, '.') + "] ";
    }
    std::fprintf(stderr, "\r\033[K%-8s %s%lld%s  %.0f/s", p.phase.c_str(), bar.c_str(), p.done,
                 p.total > 0 ? (" of " + std::to_string(p.total)).c_str() : "", rate);
    shown_ = true;
  }

  void Finish() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool on_;
  bool shown_ = false;
  std::string phase_;
  std::chrono::steady_clock::time_point start_, last_;
};

// Pushes local writes that other processes make on the same store file while
// `sync --watch` waits on the server: inotify wakes it when the file or its
// WAL changes (no polling), and it pushes whatever the outbox then holds.
// Its own SyncClient shares the Store (whose mutex serialises the file).
class LocalPusher {
 public:
  LocalPusher(client::Store& store, const std::filesystem::path& db,
              const SyncClientOptions& options)
      : sync_(store, options), store_(store) {
    const std::filesystem::path path = std::filesystem::absolute(db);
    names_ = {path.filename().string(), path.filename().string() + "-wal"};
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0 || pipe2(wake_, O_CLOEXEC) != 0 ||
        inotify_add_watch(fd_, path.parent_path().c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
      std::cerr << "warning: cannot watch " << path.string()
                << " for local changes; they are pushed every round instead\n";
      return;
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~LocalPusher() {
    if (thread_.joinable()) {
      const char x = 0;
      if (write(wake_[1], &x, 1) < 0) {
        // The thread is stuck in a push; joining still ends with it.
      }
      thread_.join();
    }
    for (int fd : {fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) close(fd);
    }
  }
  LocalPusher(const LocalPusher&) = delete;
  LocalPusher& operator=(const LocalPusher&) = delete;

 private:
  void Run() {
    alignas(inotify_event) char buf[4096];
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents) return;
      bool ours = false;
      for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) {
        for (char* p = buf; p < buf + n;) {
          const auto* e = reinterpret_cast<const inotify_event*>(p);
          if (e->len && std::find(names_.begin(), names_.end(), e->name) != names_.end()) {
            ours = true;
          }
          p += sizeof(inotify_event) + e->len;
        }
      }
      if (!ours || store_.Status().pending_mutations == 0) continue;
      try {
        const SyncReport r = sync_.PushOnly();
        if (r.pushed || r.rejected) {
          std::cerr << "pushed " << r.pushed << " change(s)"
                    << (r.rejected ? ", " + std::to_string(r.rejected) + " rejected" : "")
                    << std::endl;
        }
      } catch (const Error& e) {
        std::cerr << "warning: " << e.what() << " (pushed at the next round)\n";
      }
    }
  }

  SyncClient sync_;
  client::Store& store_;
  std::vector<std::string> names_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

// The options every command's SyncClient starts from.
SyncClientOptions BaseOptions(const Global& g) {
  SyncClientOptions options;
  options.ca_file = g.ca_file;
  return options;
}

// --server of register and login ("" when not given).
std::string& server_flag() {
  static std::string server;
  return server;
}

// A password about to travel in clear text to another machine: say so (a
// server on this machine, or one behind a TLS-terminating proxy on it, is fine).
void WarnIfPlainHttp(const Global& g, const std::string& server) {
  if (server.rfind("http://", 0) != 0) return;
  std::string host = server.substr(7);
  host = host.substr(0, host.find('/'));
  if (!host.empty() && host[0] == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0) return;
  const std::string warning = "sending the password over plain HTTP to " + host +
                              ": anyone on the network can read it; use https://";
  if (g.json) {
    std::cerr << json{{"warning", warning}}.dump() << "\n";
  } else {
    std::cerr << "warning: " << warning << "\n";
  }
}

// `sign_in` for the server it will use, resolved before any password is
// asked for: --server, else the server this store is signed in to, else the
// one it remembers (`vemakin config`), which is named on stderr so that a
// password never goes to a server the user did not see; then the plain-HTTP
// warning.
Action ResolvingTheServer(
    const Global& g, Action sign_in,
    std::function<bool(const client::StoreStatus&)> sign_in_again = [](const client::StoreStatus&) {
      return false;
    }) {
  return [&g, sign_in, sign_in_again](client::Store& store) {
    const client::StoreStatus status = store.Status();
    if (status.account && !sign_in_again(status)) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "already signed in as " + *status.account + "; run `vemakin logout` first");
    }
    std::string& server = server_flag();
    if (server.empty()) {
      server = status.server_url.value_or(store.Setting("server").value_or(""));
      if (server.empty()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "no server: give --server URL, or remember one with `vemakin config set "
                    "server URL`");
      }
      const std::string note = "signing in to " + server + " (remembered; see `vemakin config`)";
      std::cerr << (g.json ? json{{"note", note}}.dump() : note) << "\n";
    }
    WarnIfPlainHttp(g, server);
    sign_in(store);
  };
}

void PrintReport(const Global& g, const SyncReport& r) {
  if (g.json) {
    std::cout << r.ToJson().dump() << "\n";
    return;
  }
  std::cout << "pushed " << r.pushed << " mutation(s)";
  if (r.rejected) std::cout << ", " << r.rejected << " rejected (see `vemakin conflicts`)";
  std::cout << "; received " << r.snapshot_rows + r.pulled << " row(s)";
  if (r.rebased) std::cout << " (rebased onto a fresh snapshot)";
  std::cout << "; up to date\n";
}

}  // namespace

void AddSyncCommands(CLI::App& app, const Global& g, Action& action) {
  std::string& server = server_flag();
  static std::string email, name, project, role = "viewer";
  static PasswordFlags password;
  static bool watch = false, discard = false, everywhere = false;
  auto with_client = [&g](const std::function<void(SyncClient&)>& fn) {
    return [&g, fn](client::Store& store) {
      ProgressLine line(g);
      SyncClientOptions options = BaseOptions(g);
      options.progress = [&line](const SyncProgress& p) { line.Update(p); };
      // Crash tests interrupt the real binary at exact points (docs/sync-protocol.md).
      if (const char* fault = std::getenv("VEMAKIN_FAILPOINT")) options.fault_point = fault;
      SyncClient sync(store, options);
      fn(sync);
    };
  };
  auto print_user = [&g](const json& user, const char* verb, const SyncReport& report) {
    if (g.json) {
      std::cout << json{{"user", user}, {"sync", report.ToJson()}}.dump() << "\n";
    } else {
      std::cout << verb << " " << user.value("email", "") << "; local data synced\n";
    }
  };

  CLI::App* reg = app.add_subcommand("register", "create an account; this store's data joins it");
  reg->fallthrough();
  reg->add_option("--server", server,
                  "server URL, e.g. http://127.0.0.1:8000 (default: the one remembered, see "
                  "`vemakin config`)");
  reg->add_option("--email", email, "email")->required();
  // The password: prompted for on a terminal, or --password-stdin, or (seen
  // by every local user while it runs) --password.
  auto password_flags = [](CLI::App* cmd, const char* help) {
    CLI::Option* in_argv = cmd->add_option("--password", password.password, help);
    cmd->add_flag("--password-stdin", password.from_stdin,
                  "read the password from the first line of standard input")
        ->excludes(in_argv);
  };
  password_flags(reg, "password (at least 8 characters); prefer the prompt or --password-stdin");
  reg->add_option("--name", name, "your name")->required();
  reg->callback([&, with_client, print_user] {
    action = ResolvingTheServer(g, with_client([print_user](SyncClient& c) {
                                  const std::string secret = ReadPassword(password, true);
                                  print_user(c.Register(server_flag(), email, secret, name),
                                             "registered", c.last_report());
                                }));
  });

  CLI::App* login =
      app.add_subcommand("login", "sign in; this store's guest data joins the account");
  login->fallthrough();
  login->add_option("--server", server, "server URL (default: the one remembered)");
  login->add_option("--email", email, "email")->required();
  password_flags(login, "password; prefer the prompt or --password-stdin");
  login->callback([&, with_client, print_user] {
    action = ResolvingTheServer(g, with_client([print_user](SyncClient& c) {
                                  const std::string secret = ReadPassword(password, false);
                                  print_user(c.Login(server_flag(), email, secret), "signed in as",
                                             c.last_report());
                                }),
                                [](const client::StoreStatus& st) {
                                  return st.account && *st.account == email;  // again
                                });
  });

  CLI::App* logout = app.add_subcommand("logout", "sign out and empty this store");
  logout->fallthrough();
  logout->add_flag("--discard", discard, "drop local changes not yet synced");
  logout->add_flag("--everywhere", everywhere,
                   "revoke every sign-in of the account (other devices too), then sign out here");
  logout->callback([&, with_client] {
    action = with_client([&g](SyncClient& c) {
      c.Logout(discard, everywhere);
      const char* done =
          everywhere ? "signed out everywhere; store emptied" : "signed out; store emptied";
      std::cout << (g.json ? json{{"signed_out", true}, {"everywhere", everywhere}}.dump() : done)
                << "\n";
    });
  });

  static bool passwords_from_stdin = false;
  CLI::App* passwd = app.add_subcommand(
      "password", "change the account's password; other devices are signed out, this one stays");
  passwd->fallthrough();
  passwd->add_flag("--password-stdin", passwords_from_stdin,
                   "read the current password, then the new one, one line each from standard "
                   "input (default: prompt on the terminal)");
  passwd->callback([&, with_client] {
    action = with_client([&g](SyncClient& c) {
      const std::string current = ReadSecret(passwords_from_stdin, "Current password", false);
      const std::string next = ReadSecret(passwords_from_stdin, "New password", true);
      const long long revoked = c.ChangePassword(current, next);
      if (g.json) {
        std::cout << json{{"password_changed", true}, {"revoked_tokens", revoked}}.dump() << "\n";
      } else {
        std::cout << "password changed; " << revoked << " other sign-in(s) revoked\n";
      }
    });
  });

  CLI::App* sync = app.add_subcommand("sync", "push local changes, then pull until up to date");
  sync->fallthrough();
  sync->add_flag("--watch", watch, "keep running: apply others' changes as they happen");
  sync->callback([&, with_client] {
    action = [&g, with_client](client::Store& store) {
      with_client([&g, &store](SyncClient& c) {
        PrintReport(g, c.Sync());
        if (!watch) return;
        LocalPusher pusher(store, g.db, BaseOptions(g));
        std::cerr << "watching for changes (Ctrl-C to stop)" << std::endl;
        c.Watch(
            std::chrono::seconds(20),
            [&g](const SyncReport& r) {
              PrintReport(g, r);
              std::cerr << "applied " << r.pulled + r.snapshot_rows << " change(s), pushed "
                        << r.pushed << std::endl;
              return true;
            },
            [](const Error& e, std::chrono::seconds wait) {
              std::cerr << "warning: " << e.what() << "; retrying in " << wait.count() << " s\n";
            });
      })(store);
    };
  });

  CLI::App* conflicts = app.add_subcommand("conflicts", "mutations the server rejected, and why");
  conflicts->fallthrough();
  conflicts->callback([&] {
    action = [&g](client::Store& store) {
      SyncClient c(store, BaseOptions(g));
      json all = json::array();
      for (const client::Conflict& x : c.Conflicts()) {
        if (g.json) {
          all.push_back(x.ToJson());
        } else {
          std::cout << x.created_at << "  " << x.kind << "  " << x.detail.value("op", "") << " "
                    << x.table << " " << x.row_id << ": " << x.reason << "\n";
        }
      }
      if (g.json) std::cout << all.dump() << "\n";
    };
  });

  CLI::App* verify = app.add_subcommand("verify", "compare this store's digests with the server's");
  verify->fallthrough();
  verify->callback([&, with_client] {
    action = with_client([&g](SyncClient& c) {
      const client::VerifyReport r = c.Verify();
      if (g.json) {
        std::cout << r.ToJson().dump() << "\n";
      } else {
        for (auto it = r.tables.begin(); it != r.tables.end(); ++it) {
          const bool same = it.value().at("local") == it.value().at("server");
          std::cout << (same ? "ok        " : "MISMATCH  ") << it.key() << "  "
                    << it.value().at("local").at("count") << " local / "
                    << it.value().at("server").at("count") << " server rows\n";
        }
        if (r.pending_mutations) {
          std::cout << r.pending_mutations << " local mutation(s) not yet pushed\n";
        }
      }
      if (!r.equal) {
        std::string tables;
        for (const std::string& t : r.mismatched) tables += (tables.empty() ? "" : ", ") + t;
        throw Error(ErrorCode::kDataLoss, "this store differs from the server in: " + tables);
      }
    });
  });

  CLI::App* member = app.add_subcommand("member", "project members (on the server)");
  member->require_subcommand(1);
  member->fallthrough();
  CLI::App* add = member->add_subcommand("add", "give someone access to a project you own");
  add->fallthrough();
  add->add_option("--project", project, "project id")->required();
  add->add_option("--email", email, "their account's email")->required();
  add->add_option("--role", role, "editor or viewer")
      ->check(CLI::IsMember({"editor", "viewer"}))
      ->capture_default_str();
  add->callback([&, with_client] {
    action = with_client([&g](SyncClient& c) {
      const json m = c.AddMember(project, email, role);
      std::cout << (g.json ? m.dump() : "added " + email + " as " + role) << "\n";
    });
  });
}

}  // namespace vemakin::cli
