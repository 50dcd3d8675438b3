// vemakin-test-pg: the CTest fixture that owns the throwaway PostgreSQL of a
// test run. `start STATE_DIR` creates a cluster in a fresh /tmp folder (so an
// unprivileged account can reach it even when the build tree is under a
// private home), starts it and writes STATE_DIR/pg.env; `stop STATE_DIR`
// stops it and deletes the folder. CTest runs `stop` even when tests fail.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "server/pg_cluster.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::cerr << "usage: vemakin-test-pg start|stop STATE_DIR\n";
    return 2;
  }
  const std::string command = argv[1];
  const fs::path state_dir = argv[2];
  const fs::path env_file = state_dir / "pg.env";
  try {
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
