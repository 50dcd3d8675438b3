// vemakin-test-pgbouncer: the CTest fixture that puts a real PgBouncer (the
// Debian package, /usr/sbin/pgbouncer) in transaction mode in front of the
// test cluster. `start STATE_DIR` reads STATE_DIR/pg.env (written by
// vemakin-test-pg), starts PgBouncer on a free loopback port with a config of
// its own in a fresh /tmp folder (as an unprivileged account when root:
// PgBouncer refuses to run as root), waits until it accepts, and writes
// STATE_DIR/pgbouncer.env: the cluster's PG* lines plus PGBOUNCER_PORT. Tests
// given that file (VEMAKIN_TEST_PG_ENV) reach PostgreSQL directly for their
// own set-up and through PgBouncer for the server under test
// (tests/support/pg_test.h, TestPoolerUrl). `stop STATE_DIR` stops it.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> ReadEnv(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::map<std::string, std::string> out;
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Runs PgBouncer in the background (-d), as `user` when we are root; returns
// its exit status (it exits once the daemon is started).
int RunPgBouncer(const fs::path& ini, const passwd* user) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (user != nullptr && (::setgroups(0, nullptr) != 0 || ::setgid(user->pw_gid) != 0 ||
                            ::setuid(user->pw_uid) != 0)) {
      ::_exit(126);
    }
    ::execl("/usr/sbin/pgbouncer", "pgbouncer", "-d", "-q", ini.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Stop(const fs::path& root) {
  std::ifstream in(root / "pgbouncer.pid");
  pid_t pid = 0;
  if (in >> pid && pid > 0 && ::kill(pid, SIGTERM) == 0) {
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));  // polling an exit
    }
  }
  fs::remove_all(root);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::cerr << "usage: vemakin-test-pgbouncer start|stop STATE_DIR\n";
    return 2;
  }
  const std::string command = argv[1];
  const fs::path state_dir = argv[2];
  const fs::path env_file = state_dir / "pgbouncer.env";
  try {
    if (fs::exists(env_file)) {  // stop, or a previous run that died before its cleanup
      const auto old = ReadEnv(env_file);
      if (old.count("VEMAKIN_TEST_PGBOUNCER_ROOT")) Stop(old.at("VEMAKIN_TEST_PGBOUNCER_ROOT"));
      fs::remove(env_file);
    }
    if (command == "stop") {
      std::cout << "test PgBouncer stopped\n";
      return 0;
    }
    const auto pg = ReadEnv(state_dir / "pg.env");
    char tmpl[] = "/tmp/vemakin-test-pgbouncer-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    const fs::path root = tmpl;
    const passwd* user = nullptr;
    if (::geteuid() == 0) {
      user = ::getpwnam("postgres");
      if (user == nullptr) user = ::getpwnam("nobody");
      if (user == nullptr) throw std::runtime_error("running as root and no unprivileged account");
    }
    const int port = FreePort();
    {
      std::ofstream users(root / "userlist.txt");
      users << "\"" << pg.at("PGUSER") << "\" \"" << pg.at("PGPASSWORD") << "\"\n";
      std::ofstream ini(root / "pgbouncer.ini");
      ini << "[databases]\n"
          << pg.at("PGDATABASE") << " = host=" << pg.at("PGHOST") << " port=" << pg.at("PGPORT")
          << " dbname=" << pg.at("PGDATABASE") << "\n\n"
          << "[pgbouncer]\n"
          << "listen_addr = 127.0.0.1\nlisten_port = " << port << "\n"
          << "unix_socket_dir =\n"
          << "auth_type = scram-sha-256\nauth_file = " << (root / "userlist.txt").string() << "\n"
          << "admin_users = " << pg.at("PGUSER") << "\n"
          << "logfile = " << (root / "pgbouncer.log").string() << "\n"
          << "pidfile = " << (root / "pgbouncer.pid").string()
          << "\n"
          // The deployment's own settings, as docs/deployment.md gives them
          // (copied beside the rest: PgBouncer runs as another account).
          << "%include " << (root / "vemakin.ini").string() << "\n";
      fs::copy_file(fs::path(VEMAKIN_SOURCE_DIR) / "deploy/pgbouncer/vemakin.ini",
                    root / "vemakin.ini", fs::copy_options::overwrite_existing);
    }
    ::chmod((root / "userlist.txt").c_str(), 0600);
    if (user != nullptr) {
      for (const fs::path& p :
           {root, root / "userlist.txt", root / "pgbouncer.ini", root / "vemakin.ini"}) {
        if (::chown(p.c_str(), user->pw_uid, user->pw_gid) != 0) {
          throw std::runtime_error("cannot chown " + p.string());
        }
      }
    }
    const int rc = RunPgBouncer(root / "pgbouncer.ini", user);
    bool up = false;
    for (int i = 0; i < 400 && rc == 0 && !(up = Accepts(port)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));  // polling a daemon's start
    }
    if (!up) {
      std::ifstream log(root / "pgbouncer.log");
      std::cerr << "PgBouncer did not start (exit " << rc << "):\n" << log.rdbuf() << "\n";
      Stop(root);
      return 1;
    }
    std::ofstream out(env_file);
    for (const char* key : {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}) {
      out << key << "=" << pg.at(key) << "\n";
    }
    out << "PGBOUNCER_PORT=" << port << "\nVEMAKIN_TEST_PGBOUNCER_ROOT=" << root.string() << "\n";
    std::cout << "test PgBouncer (transaction mode) on 127.0.0.1:" << port << " in " << root
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vemakin-test-pgbouncer " << command << ": " << e.what() << "\n";
    return 1;
  }
}
