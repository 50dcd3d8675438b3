// A private PostgreSQL cluster run from the installed PostgreSQL binaries
// (initdb + pg_ctl): the embedded database of `vemakin-server --dev` and the
// throwaway cluster of the integration tests. It listens on 127.0.0.1 only, on
// a free port, with a random superuser password (scram-sha-256), and no Unix
// socket. PostgreSQL refuses to run as root, so when this process is root the
// cluster's files belong to an unprivileged account (`postgres`, else
// `nobody`) and its programs run as that account.
//
// Layout of `root_dir`: pgdata/ (the cluster), password (0600), port (last
// port used), postgres.log.
//
// Not thread-safe; one owner. The destructor stops a cluster this object
// started (unless Detach() was called).
#ifndef VEMAKIN_SERVER_PG_CLUSTER_H_
#define VEMAKIN_SERVER_PG_CLUSTER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "core/log.h"

namespace vemakin::server {

struct PgClusterOptions {
  std::filesystem::path root_dir;  // created when missing
  std::string database = "vemakin";
  std::string superuser = "vemakin";
  // Folder holding initdb/pg_ctl; empty = the newest /usr/lib/postgresql/*/bin,
  // else the folder `pg_config --bindir` names.
  std::filesystem::path bin_dir;
  // false for throwaway test clusters: fsync and synchronous commit off
  // (a crash loses the cluster, which a test never reuses).
  bool durable = true;
  // Non-empty: the cluster is created as a hot standby streaming from this
  // primary (a libpq URL of a superuser or replication role), by
  // pg_basebackup -R instead of initdb; its password file is
  // `standby_password` (the primary's, whose accounts it copies). Used by
  // the read-replica and failover tests.
  std::string standby_of;
  std::string standby_password;
  std::shared_ptr<Logger> logger;  // null = DefaultLogger()
};

class PgCluster {
 public:
  explicit PgCluster(PgClusterOptions options);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Creates the cluster on first use (initdb), starts it on a free loopback
  // port and creates the database. Throws Error(kUnavailable) with the tail of
  // the PostgreSQL log when a step fails.
  void Start();
  // Stops the cluster (fast shutdown). Safe to call twice.
  void Stop();
  // Adds `file` to the cluster's configuration (copied into its data folder
  // and named by an `include` line of postgresql.conf) and reloads it: how
  // the tests apply deploy/postgresql's files verbatim. Settings that need a
  // restart take effect at the next Start. Throws Error(kUnavailable) when
  // the copy or the reload fails.
  void IncludeConf(const std::filesystem::path& file);
  // Stops the cluster as a crash would (pg_ctl stop -m immediate: no
  // checkpoint, no goodbye to clients or standbys). For failover tests.
  void Crash();
  // Ends a standby's recovery: it becomes a primary (pg_ctl promote, waiting
  // until it accepts writes). Throws Error(kUnavailable) when that fails.
  void Promote();
  // Leaves the cluster running when this object is destroyed.
  void Detach() { detached_ = true; }

  bool running() const { return running_; }
  int port() const { return port_; }
  const std::string& password() const { return password_; }
  const PgClusterOptions& options() const { return options_; }
  // "postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE"
  std::string ConnectionUrl() const;
  std::string ConnectionUrl(const std::string& database) const;

  // Stops a cluster left running in `root_dir` by another process (used by the
  // test fixture's cleanup). No-op when nothing runs there.
  static void StopAt(const std::filesystem::path& root_dir,
                     const std::filesystem::path& bin_dir = {});

 private:
  void InitDb();
  void BaseBackup();
  void EnsureDatabase();

  PgClusterOptions options_;
  std::filesystem::path bin_dir_;
  std::string password_;
  int port_ = 0;
  bool running_ = false;
  bool detached_ = false;
};

// The folder of initdb/pg_ctl as PgClusterOptions::bin_dir describes.
std::filesystem::path FindPostgresBinDir();

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_PG_CLUSTER_H_
