// vemakin-test-pg: the CTest fixture that owns the throwaway PostgreSQL of a
// test run. `start STATE_DIR` creates a cluster in a fresh /tmp folder (so an
// unprivileged account can reach it even when the build tree is under a
// private home), starts it and writes STATE_DIR/pg.env; `stop STATE_DIR`
// stops it and deletes the folder. CTest runs `stop` even when tests fail.
//
// `start-replica STATE_DIR` adds a hot standby of that cluster (pg_basebackup
// -R, streaming) and writes STATE_DIR/replica.env; `stop-replica` removes it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "server/pg_cluster.h"

namespace fs = std::filesystem;

namespace {

// KEY=VALUE lines of an env file.
std::map<std::string, std::string> ReadEnv(const fs::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// Stops the cluster whose root `root_key` names in `env_file`, and removes both.
int StopRoot(const fs::path& env_file, const std::string& root_key) {
  std::ifstream in(env_file);
  fs::path root;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(root_key, 0) == 0) root = line.substr(root_key.size());
  }
  if (root.empty()) {
    std::cout << "no cluster recorded in " << env_file << "\n";
    return 0;
  }
  vemakin::server::PgCluster::StopAt(root);
  fs::remove_all(root);
  fs::remove(env_file);
  std::cout << "cluster in " << root << " stopped and removed\n";
  return 0;
}

int StartReplica(const fs::path& state_dir) {
  const auto primary = ReadEnv(state_dir / "pg.env");
  if (primary.count("PGPORT") == 0) throw std::runtime_error("no test PostgreSQL to replicate");
  if (fs::exists(state_dir / "replica.env"))
    StopRoot(state_dir / "replica.env", "VEMAKIN_TEST_REPLICA_ROOT=");
  char tmpl[] = "/tmp/vemakin-test-replica-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  vemakin::server::PgClusterOptions options;
  options.root_dir = tmpl;
  options.durable = false;
  options.standby_of = "postgresql://" + primary.at("PGUSER") + ":" + primary.at("PGPASSWORD") +
                       "@127.0.0.1:" + primary.at("PGPORT") + "/" + primary.at("PGDATABASE");
  options.standby_password = primary.at("PGPASSWORD");
  vemakin::server::PgCluster cluster(options);
  cluster.Start();
  cluster.Detach();
  // The deployment's standby settings, verbatim (docs/deployment.md).
  cluster.IncludeConf(fs::path(VEMAKIN_SOURCE_DIR) / "deploy/postgresql/standby.conf");
  std::ofstream out(state_dir / "replica.env");
  out << "PGHOST=127.0.0.1\nPGPORT=" << cluster.port() << "\nPGUSER=" << primary.at("PGUSER")
      << "\nPGPASSWORD=" << primary.at("PGPASSWORD") << "\nPGDATABASE=" << primary.at("PGDATABASE")
      << "\nVEMAKIN_TEST_REPLICA_ROOT=" << tmpl << "\n";
  std::cout << "test replica on 127.0.0.1:" << cluster.port() << " in " << tmpl << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc == 3 ? argv[1] : "";
  if (command != "start" && command != "stop" && command != "start-replica" &&
      command != "stop-replica") {
    std::cerr << "usage: vemakin-test-pg start|stop|start-replica|stop-replica STATE_DIR\n";
    return 2;
  }
  const fs::path state_dir = argv[2];
  const fs::path env_file = state_dir / "pg.env";
  try {
    if (command == "start-replica") return StartReplica(state_dir);
    if (command == "stop-replica")
      return StopRoot(state_dir / "replica.env", "VEMAKIN_TEST_REPLICA_ROOT=");
    if (command == "start") {
      fs::create_directories(state_dir);
      if (fs::exists(env_file)) {  // a previous run died before its cleanup
        std::ifstream in(env_file);
        for (std::string line; std::getline(in, line);) {
          if (line.rfind("VEMAKIN_TEST_PG_ROOT=", 0) == 0) {
            const fs::path old_root = line.substr(21);
            vemakin::server::PgCluster::StopAt(old_root);
            fs::remove_all(old_root);
          }
        }
      }
      char tmpl[] = "/tmp/vemakin-test-pg-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
      vemakin::server::PgClusterOptions options;
      options.root_dir = tmpl;
      options.durable = false;
      vemakin::server::PgCluster cluster(options);
      cluster.Start();
      cluster.Detach();
      std::ofstream out(env_file);
      out << "PGHOST=127.0.0.1\nPGPORT=" << cluster.port() << "\nPGUSER=" << options.superuser
          << "\nPGPASSWORD=" << cluster.password() << "\nPGDATABASE=" << options.database
          << "\nVEMAKIN_TEST_PG_ROOT=" << tmpl << "\n";
      std::cout << "test PostgreSQL on 127.0.0.1:" << cluster.port() << " in " << tmpl << "\n";
      return 0;
    }
    std::ifstream in(env_file);
    fs::path root;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VEMAKIN_TEST_PG_ROOT=", 0) == 0) root = line.substr(21);
    }
    if (root.empty()) {
      std::cout << "no test PostgreSQL recorded in " << env_file << "\n";
      return 0;
    }
    vemakin::server::PgCluster::StopAt(root);
    fs::remove_all(root);
    fs::remove(env_file);
    std::cout << "test PostgreSQL stopped and removed\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vemakin-test-pg " << command << ": " << e.what() << "\n";
    return 1;
  }
}
