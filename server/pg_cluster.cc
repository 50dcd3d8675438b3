// Process handling for PgCluster: fork/exec with the privilege drop done in the
// child, the parent waiting for each short-lived program (initdb, pg_ctl).
#include "server/pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace vemakin::server {
namespace fs = std::filesystem;
namespace {

struct RunUser {
  uid_t uid;
  gid_t gid;
};

// The account PostgreSQL runs as: ourselves, or an unprivileged one when root.
std::optional<RunUser> UnprivilegedUser() {
  if (geteuid() != 0) return std::nullopt;
  for (const char* name : {"postgres", "nobody"}) {
    if (const passwd* pw = getpwnam(name)) return RunUser{pw->pw_uid, pw->pw_gid};
  }
  throw Error(ErrorCode::kFailedPrecondition,
              "running as root and no unprivileged account (postgres, nobody) exists");
}

// The account owning `path` when we are root (the cluster's files decide).
std::optional<RunUser> OwnerOf(const fs::path& path) {
  if (geteuid() != 0) return std::nullopt;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || st.st_uid == 0) return UnprivilegedUser();
  return RunUser{st.st_uid, st.st_gid};
}

void ChownTree(const fs::path& root, const RunUser& user) {
  auto chown_one = [&](const fs::path& p) {
    if (::lchown(p.c_str(), user.uid, user.gid) != 0) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "cannot chown " + p.string() + ": " + std::strerror(errno));
    }
  };
  chown_one(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) chown_one(entry.path());
}

// PostgreSQL, run as `user`, must be able to reach `dir` through each of its
// ancestors: a root-owned 0700 folder on the way fails initdb obscurely.
void CheckReachable(const fs::path& dir, const RunUser& user) {
  for (fs::path p = fs::absolute(dir).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0) {
      const bool ok = (st.st_mode & S_IXOTH) || (st.st_uid == user.uid && (st.st_mode & S_IXUSR)) ||
                      (st.st_gid == user.gid && (st.st_mode & S_IXGRP));
      if (!ok) {
        const passwd* pw = getpwuid(user.uid);
        throw Error(ErrorCode::kFailedPrecondition,
                    std::string("PostgreSQL runs as '") + (pw ? pw->pw_name : "?") +
                        "', which cannot enter " + p.string() +
                        "; choose a data folder it can reach (for example under /var/lib or /tmp)");
      }
    }
    if (p == p.root_path()) break;
  }
}

// Runs argv[0] with arguments, output appended to `log_file`, as `user` when
// given. Returns the exit status (-1 if it did not exit normally).
int Run(const std::vector<std::string>& argv, const std::optional<RunUser>& user,
        const fs::path& log_file) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    throw Error(ErrorCode::kFailedPrecondition, "cannot open " + log_file.string());
  }
  if (user && ::fchown(log_fd, user->uid, user->gid) != 0) {
    ::close(log_fd);
    throw Error(ErrorCode::kFailedPrecondition, "cannot chown " + log_file.string());
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw Error(ErrorCode::kUnavailable, "fork failed");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0) {
        ::_exit(126);
      }
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Tail(const fs::path& file, size_t max_lines = 15) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ErrorCode::kUnavailable, "socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port <= 0) throw Error(ErrorCode::kUnavailable, "no free loopback port");
  return port;
}

bool PortIsFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

void WriteFile(const fs::path& p, const std::string& content, mode_t mode) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 ||
      ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::kFailedPrecondition, "cannot write " + p.string());
  }
  ::close(fd);
}

std::string RandomPassword() {
  if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "libsodium failed to initialise");
  unsigned char bytes[24];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

}  // namespace

fs::path FindPostgresBinDir() {
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(entry.path() / "bin" / "pg_ctl")) candidates.push_back(entry.path() / "bin");
  }
  if (!candidates.empty()) {
    // Highest major version first ("15" > "13"; compare numerically).
    std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
      return std::stoi(a.parent_path().filename().string()) >
             std::stoi(b.parent_path().filename().string());
    });
    return candidates.front();
  }
  for (const char* dir : {"/usr/local/pgsql/bin", "/usr/bin", "/usr/local/bin"}) {
    if (fs::exists(fs::path(dir) / "pg_ctl") && fs::exists(fs::path(dir) / "initdb")) return dir;
  }
  throw Error(ErrorCode::kFailedPrecondition,
              "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql-15");
}

PgCluster::PgCluster(PgClusterOptions options) : options_(std::move(options)) {
  if (!options_.logger) options_.logger = DefaultLogger();
  bin_dir_ = options_.bin_dir.empty() ? FindPostgresBinDir() : options_.bin_dir;
}

PgCluster::~PgCluster() {
  if (running_ && !detached_) {
    try {
      Stop();
    } catch (const std::exception& e) {
      options_.logger->Log(LogLevel::kError, "db", "stopping PostgreSQL failed",
                           {{"error", e.what()}});
    }
  }
}

std::string PgCluster::ConnectionUrl() const { return ConnectionUrl(options_.database); }

std::string PgCluster::ConnectionUrl(const std::string& database) const {
  return "postgresql://" + options_.superuser + ":" + password_ +
         "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PgCluster::InitDb() {
  const fs::path root = options_.root_dir;
  const fs::path pgdata = root / "pgdata";
  const fs::path log = root / "postgres.log";
  const fs::path pwfile = root / "password";
  const std::optional<RunUser> user = UnprivilegedUser();
  options_.logger->Log(LogLevel::kInfo, "db", "creating PostgreSQL cluster",
                       {{"data_dir", pgdata.string()}});
  if (user) CheckReachable(root, *user);
  WriteFile(pwfile, RandomPassword() + "\n", 0600);
  if (user) ChownTree(root, *user);
  const int rc =
      Run({(bin_dir_ / "initdb").string(), "-D", pgdata.string(), "-U", options_.superuser,
           "--pwfile=" + pwfile.string(), "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"},
          user, log);
  if (rc != 0) {
    std::error_code ec;
    fs::remove_all(pgdata, ec);
    throw Error(ErrorCode::kUnavailable,
                "initdb failed (exit " + std::to_string(rc) + "):" + Tail(log));
  }
  // Loopback TCP only, no Unix socket (its path could exceed the 107-byte limit).
  std::ofstream conf(pgdata / "postgresql.conf", std::ios::app);
  conf << "\n# Added by vemakin (server/pg_cluster.cc)\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = ''\n"
       << "max_connections = 200\n"
       << "shared_buffers = 256MB\n"
       << "log_min_messages = warning\n";
  if (!options_.durable) {
    conf << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  }
}

void PgCluster::Start() {
  if (running_) return;
  const fs::path root = options_.root_dir;
  const fs::path pgdata = root / "pgdata";
  const fs::path log = root / "postgres.log";
  fs::create_directories(root);
  ::chmod(root.c_str(), 0700);
  if (!fs::exists(pgdata / "PG_VERSION")) {
    if (options_.standby_of.empty()) {
      InitDb();
    } else {
      BaseBackup();
    }
  }
  password_ = ReadFile(root / "password");
  const std::optional<RunUser> user = OwnerOf(pgdata);
  if (fs::exists(pgdata / "postmaster.pid") &&
      Run({(bin_dir_ / "pg_ctl").string(), "status", "-D", pgdata.string()}, user, log) == 0) {
    // It runs. If the process that started it is alive (a second
    // `vemakin-server --dev`?), refuse: stopping the cluster would break that
    // process, and sharing it would let whichever stops first pull it from
    // under the other. If that process died (a crash), the cluster is an
    // orphan: stop it and start afresh.
    long owner = 0;
    try {
      owner = std::stol(ReadFile(root / "owner_pid"));
    } catch (const std::exception&) {
      owner = 0;
    }
    if (owner > 0 && owner != ::getpid() && ::kill(static_cast<pid_t>(owner), 0) == 0) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "a PostgreSQL server already runs in " + pgdata.string() + " for process " +
                      std::to_string(owner) +
                      " (another vemakin-server --dev?); stop it or choose another --data-dir");
    }
    Run({(bin_dir_ / "pg_ctl").string(), "stop", "-D", pgdata.string(), "-m", "fast", "-w"}, user,
        log);
  }
  // A stale postmaster.pid left by a crash is cleared by pg_ctl start itself.
  int preferred = 0;
  if (fs::exists(root / "port")) {
    try {
      preferred = std::stoi(ReadFile(root / "port"));
    } catch (const std::exception&) {
      preferred = 0;
    }
  }
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
    port_ = attempt == 0 && preferred > 0 && PortIsFree(preferred) ? preferred : FreeLoopbackPort();
    const int rc = Run({(bin_dir_ / "pg_ctl").string(), "start", "-D", pgdata.string(), "-w", "-t",
                        "60", "-l", log.string(), "-o", "-p " + std::to_string(port_)},
                       user, log);
    running_ = rc == 0;
  }
  if (!running_) {
    throw Error(ErrorCode::kUnavailable, "PostgreSQL did not start:" + Tail(log));
  }
  WriteFile(root / "port", std::to_string(port_) + "\n", 0644);
  WriteFile(root / "owner_pid", std::to_string(::getpid()) + "\n", 0644);
  options_.logger->Log(LogLevel::kInfo, "db", "PostgreSQL started",
                       {{"port", port_}, {"data_dir", pgdata.string()}});
  if (options_.standby_of.empty()) EnsureDatabase();  // a standby copies the primary's
}

void PgCluster::BaseBackup() {
  const fs::path root = options_.root_dir;
  const fs::path pgdata = root / "pgdata";
  const fs::path log = root / "postgres.log";
  const std::optional<RunUser> user = UnprivilegedUser();
  options_.logger->Log(LogLevel::kInfo, "db", "creating a standby by pg_basebackup",
                       {{"data_dir", pgdata.string()}});
  if (user) CheckReachable(root, *user);
  WriteFile(root / "password", options_.standby_password + "\n", 0600);
  if (user) ChownTree(root, *user);
  // -R writes primary_conninfo and standby.signal: it starts streaming.
  const int rc = Run({(bin_dir_ / "pg_basebackup").string(), "-d", options_.standby_of, "-D",
                      pgdata.string(), "-R", "-X", "stream", "-c", "fast"},
                     user, log);
  if (rc != 0) {
    std::error_code ec;
    fs::remove_all(pgdata, ec);
    throw Error(ErrorCode::kUnavailable,
                "pg_basebackup failed (exit " + std::to_string(rc) + "):" + Tail(log));
  }
}

void PgCluster::IncludeConf(const fs::path& file) {
  const fs::path pgdata = options_.root_dir / "pgdata";
  const fs::path copy = pgdata / file.filename();
  std::error_code ec;
  fs::copy_file(file, copy, fs::copy_options::overwrite_existing, ec);
  if (ec)
    throw Error(ErrorCode::kUnavailable, "cannot copy " + file.string() + ": " + ec.message());
  ::chmod(copy.c_str(), 0600);
  const std::optional<RunUser> user = OwnerOf(pgdata);
  if (user && ::chown(copy.c_str(), user->uid, user->gid) != 0) {
    throw Error(ErrorCode::kUnavailable, "cannot chown " + copy.string());
  }
  std::ofstream(pgdata / "postgresql.conf", std::ios::app)
      << "include '" << file.filename().string() << "'\n";
  if (!running_) return;
  const int rc = Run({(bin_dir_ / "pg_ctl").string(), "reload", "-D", pgdata.string()}, user,
                     options_.root_dir / "postgres.log");
  if (rc != 0) {
    throw Error(ErrorCode::kUnavailable,
                "pg_ctl reload failed:" + Tail(options_.root_dir / "postgres.log"));
  }
}

void PgCluster::Crash() {
  if (!running_) return;
  const fs::path pgdata = options_.root_dir / "pgdata";
  const int rc = Run({(bin_dir_ / "pg_ctl").string(), "stop", "-D", pgdata.string(), "-m",
                      "immediate", "-w", "-t", "60"},
                     OwnerOf(pgdata), options_.root_dir / "postgres.log");
  if (rc != 0) {
    throw Error(ErrorCode::kUnavailable,
                "pg_ctl stop -m immediate failed:" + Tail(options_.root_dir / "postgres.log"));
  }
  running_ = false;
}

void PgCluster::Promote() {
  const fs::path pgdata = options_.root_dir / "pgdata";
  const int rc =
      Run({(bin_dir_ / "pg_ctl").string(), "promote", "-D", pgdata.string(), "-w", "-t", "60"},
          OwnerOf(pgdata), options_.root_dir / "postgres.log");
  if (rc != 0) {
    throw Error(ErrorCode::kUnavailable,
                "pg_ctl promote failed:" + Tail(options_.root_dir / "postgres.log"));
  }
}

void PgCluster::EnsureDatabase() {
  pqxx::connection conn(ConnectionUrl("postgres"));
  pqxx::nontransaction tx(conn);
  const pqxx::result r =
      tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", options_.database);
  if (r.empty()) tx.exec("CREATE DATABASE " + tx.quote_name(options_.database));
}

void PgCluster::Stop() {
  if (!running_) return;
  StopAt(options_.root_dir, bin_dir_);
  running_ = false;
  options_.logger->Log(LogLevel::kInfo, "db", "PostgreSQL stopped");
}

void PgCluster::StopAt(const fs::path& root_dir, const fs::path& bin_dir) {
  const fs::path pgdata = root_dir / "pgdata";
  if (!fs::exists(pgdata / "postmaster.pid")) return;
  const fs::path bin = bin_dir.empty() ? FindPostgresBinDir() : bin_dir;
  const int rc = Run(
      {(bin / "pg_ctl").string(), "stop", "-D", pgdata.string(), "-m", "fast", "-w", "-t", "60"},
      OwnerOf(pgdata), root_dir / "postgres.log");
  if (rc != 0) {
    throw Error(ErrorCode::kUnavailable, "pg_ctl stop failed:" + Tail(root_dir / "postgres.log"));
  }
}

}  // namespace vemakin::server
